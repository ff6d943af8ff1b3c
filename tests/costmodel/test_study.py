"""The study script: a quick run, --plot-only from the archive, clean errors."""

import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "studies"))
import paper_figures  # noqa: E402

QUICK = ["--networks", "digits-mlp", "--d", "64", "--bits", "1", "2", "--max-crossbars", "100"]


def test_quick_run_and_plot_only(tmp_path, capsys, monkeypatch):
    out = tmp_path / "pf.h5"
    import basisn.paper_study as study

    monkeypatch.setattr(study, "plot", lambda ds, folder: [])  # figures once, below
    assert paper_figures.main([*QUICK, "--out", str(out), "--no-progress"]) == 0
    monkeypatch.undo()
    assert out.is_file()
    from crossbar.archive import read_dataset

    ds = read_dataset(out)
    missing = [k for k, v in ds.variables.items() if "units" not in v.attrs and v.dtype.kind in "iuf"]
    assert missing == []
    assert ds.attrs["git_commit"] is not None and ds.attrs["chip_n_crossbars"] == 48
    assert not (tmp_path / "table1.md").exists()
    assert paper_figures.main(["--plot-only", str(out)]) == 0
    assert "| DenseNet-ImageNet | 466 | 480 | 480 |" in capsys.readouterr().out
    md = (tmp_path / "table1.md").read_text()
    assert "| DenseNet-ImageNet | 466 | 480 | 480 |" in md
    for name in ("cycles_digits-mlp.png", "fig2a_slowdown.png", "crossbars_vs_d.png"):
        assert (tmp_path / name).stat().st_size > 1000


@pytest.mark.parametrize("args, needle", [
    (["--d", "0"], "d = 0"),
    (["--n-crossbars", "0"], "n_crossbars = 0"),
    (["--networks", "vgg"], "unknown network 'vgg'"),
    (["--convention", "magic"], "unknown mapping convention 'magic'"),
    (["--seed", "-1"], "--seed: -1 is outside the allowed range"),
    (["--max-crossbars", "0"], "--max-crossbars: 0 is outside the allowed range"),
    (["--bits", "0"], "bits = 0"),
    (["--row-cycles", "nan"], "--row-cycles: must be finite"),
    (["--programming-parallelism", "-2"], "--programming-parallelism = -2"),
    (["--param", "energy.nothing=1"], "expected MODEL.FIELD=VALUE"),
    (["--jobs", "0"], "--jobs: 0 is outside"),
])
def test_bad_input_is_one_message(tmp_path, capsys, args, needle):
    assert paper_figures.main([*QUICK, *args, "--out", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and err.count("\n") == 1


def test_exit_code_from_the_shell(tmp_path):
    r = subprocess.run([sys.executable, str(REPO / "studies" / "paper_figures.py"), "--d", "-8",
                        "--out", str(tmp_path / "x.h5")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "d = -8" in r.stderr and "Traceback" not in r.stderr


def test_one_network_alone_has_its_numbers_of_the_full_sweep():
    """The engine runs one task per network; the crossbar grid is shared so that a network
    computed alone equals its slice of the all-network sweep."""
    from basisn.costmodel import cycle_sweep
    from basisn.costmodel.tables import sweep_grid

    nets, ds = ["digits-mlp", "resnet34-cifar100"], [64, 128]
    both = cycle_sweep(nets, ds, [1, 2], max_crossbars=100)
    alone = cycle_sweep(["digits-mlp"], ds, [1, 2], max_crossbars=100, crossbars=sweep_grid(nets, ds, max_crossbars=100))
    xr.testing.assert_identical(alone, both.sel(network=["digits-mlp"]).assign_attrs(alone.attrs))
