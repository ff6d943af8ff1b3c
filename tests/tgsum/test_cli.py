"""The script's command line: bad arguments exit non-zero with one message, no traceback;
a tiny run through the real entry point writes the archive and the figures."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "studies" / "tg_current_summing.py"

sys.path.insert(0, str(SCRIPT.parent))
import tg_current_summing as cli  # noqa: E402


@pytest.mark.parametrize("argv, match", [
    (["--quick", "--r-on", "-5"], "baseline.r_on must be a resistance in [1e-12, 1e+18] ohm, got -5.0"),
    (["--quick", "--r-wire", "-0.5"], "r_wire must be 0 or a resistance in"),
    (["--quick", "--r-summing", "-1"], "r_summing must be 0 or a resistance in"),
    (["--quick", "--n", "16", "--k", "32"], "larger than the number of columns"),
    (["--quick", "--jobs", "0"], "--jobs: 0 is outside the allowed range [1, 4096]"),
    (["--quick", "--full"], "--quick and --full exclude each other"),
    (["--quick", "--samples", "0"], "--samples: 0 is outside"),
    (["--quick", "--scheduler", "10.0.0.1"], "--scheduler must be a Dask scheduler address"),
    (["--quick", "--density", "x"], "not a number: 'x'"),
    (["--backend", "ngspice"], "N = 128, 256 is too large for it"),
])
def test_bad_values_exit_2_with_one_message(tmp_path, capsys, argv, match):
    code = cli.main(argv + ["--out", str(tmp_path / "x.h5"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert match in err
    assert "Traceback" not in err
    assert not (tmp_path / "x.h5").exists()


def test_unwritable_output_exits_2(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code = cli.main(["--quick", "--out", str(blocker / "sub" / "x.h5"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot create folder" in err and "Traceback" not in err


def test_missing_plot_only_archive_exits_2(tmp_path, capsys):
    code = cli.main(["--plot-only", str(tmp_path / "none.h5")])
    err = capsys.readouterr().err
    assert code == 2 and "does not exist" in err


def test_unknown_backend_through_the_interpreter():
    bad = subprocess.run([sys.executable, str(SCRIPT), "--backend", "spice"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert "invalid choice: 'spice'" in bad.stderr and "Traceback" not in bad.stderr


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for option in ("--quick", "--full", "--config", "--backend", "--jobs", "--out", "--resume", "--plot-only",
                   "--validate-ngspice"):
        assert option in text


def test_tiny_run_end_to_end_with_processes(tmp_path, tiny_dict):
    cfg = tmp_path / "tiny.json"
    tiny_dict["validate_max_n"] = 0
    cfg.write_text(json.dumps(tiny_dict))
    out = tmp_path / "res" / "tg.h5"
    run = subprocess.run([sys.executable, str(SCRIPT), "--config", str(cfg), "--out", str(out), "--jobs", "2"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "Error vs N and K" in run.stdout and "Design rule" in run.stdout
    assert out.exists()
    pngs = sorted(p.name for p in out.parent.glob("*.png"))
    assert pngs == ["tg_crosstalk_vs_k.png", "tg_error_vs_n.png", "tg_heatmap.png", "tg_split.png"]
    for p in out.parent.glob("*.png"):
        p.unlink()
    assert cli.main(["--plot-only", str(out)]) == 0
    assert len(list(out.parent.glob("*.png"))) == 4


@pytest.mark.parametrize("text, match", [
    ("{not json", "is not valid JSON"),
    ('{"baseline": [1, 2]}', "baseline must be a JSON object"),
    ('{"groups": {"g": {"r_on": [-10]}}}', "group 'g'.r_on must be a resistance in"),
])
def test_bad_config_file_exits_2(tmp_path, capsys, text, match):
    cfg = tmp_path / "bad.json"
    cfg.write_text(text)
    code = cli.main(["--config", str(cfg), "--out", str(tmp_path / "x.h5"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and match in err and "Traceback" not in err


def test_single_value_override_runs_and_replots(tmp_path, tiny_dict, capsys):
    """Issue 10, section 6: ``--r-on 10`` leaves the r_wire x r_on group sweeping r_wire alone;
    the summary and --plot-only crashed with "cannot unstack" after the archive was written."""
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(tiny_dict))
    out = tmp_path / "ron.h5"
    assert cli.main(["--config", str(cfg), "--r-on", "10", "--no-validate", "--jobs", "1", "--out", str(out),
                     "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "Design rule (wire_tg): not computed (group 'wire_tg' must sweep r_on and r_wire" in text
    assert cli.main(["--plot-only", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == text.splitlines()[0]
    from crossbar.archive import read_dataset
    from crossbar.tgsum import group_grid

    grid = group_grid(read_dataset(out), "wire_tg")
    assert grid["err_worst"].dims == ("r_wire", "tg_set") and grid["r_wire"].values.tolist() == [0.0, 1.0]


def test_foreign_archive_is_refused_in_one_line(tmp_path, capsys):
    import xarray as xr

    from crossbar.archive import write_dataset

    other = write_dataset(xr.Dataset({"a": ("x", [1.0])}, attrs={"study": "basisn_accuracy"}), tmp_path / "o.h5")
    for argv in (["--plot-only", str(other)], ["--quick", "--resume", "--out", str(other)]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "is not a tg_current_summing archive (it records: basisn_accuracy)" in err[0]


def test_plot_only_reads_an_archive_written_before_the_engine(tmp_path, tiny_dict, capsys):
    """Old archives: written with invalid_netcdf=True (booleans as xarray's int8 + dtype='bool'),
    no study, settings or Conventions attributes, no task table."""
    from crossbar.archive import read_dataset
    from crossbar.study import strip_engine_vars
    from crossbar.tgsum import run_study
    from crossbar.tgsum.config import config_from_dict

    tiny_dict["validate_max_n"] = 0
    new = tmp_path / "new.h5"
    run_study(config_from_dict(tiny_dict), new, progress=False)
    ds = strip_engine_vars(read_dataset(new))
    ds.attrs = {k: v for k, v in ds.attrs.items() if k not in ("study", "settings_json")}
    old = tmp_path / "old.h5"
    ds.to_netcdf(old, engine="h5netcdf", invalid_netcdf=True)
    import h5py

    with h5py.File(old) as f:
        assert f["member"].attrs["dtype"] == "bool" and "flag_meanings" not in f["member"].attrs
        assert "Conventions" not in f.attrs and "study" not in f.attrs
    assert cli.main(["--plot-only", str(new)]) == 0
    expected = capsys.readouterr().out.split("\nfigures:")[0]
    assert cli.main(["--plot-only", str(old)]) == 0
    assert capsys.readouterr().out.split("\nfigures:")[0] == expected
