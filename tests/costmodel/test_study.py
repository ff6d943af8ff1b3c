"""The study script: a quick run, --plot-only from the archive, clean errors."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "studies"))
import paper_figures  # noqa: E402

QUICK = ["--networks", "digits-mlp", "--d", "64", "--bits", "1", "2", "--max-crossbars", "100"]


def test_quick_run_and_plot_only(tmp_path, capsys, monkeypatch):
    out = tmp_path / "pf.h5"
    real_plot = paper_figures.plot
    monkeypatch.setattr(paper_figures, "plot", lambda ds, folder: [])  # figures once, below
    assert paper_figures.main([*QUICK, "--out", str(out)]) == 0
    monkeypatch.setattr(paper_figures, "plot", real_plot)
    assert out.is_file()
    from crossbar.archive import read_dataset

    ds = read_dataset(out)
    missing = [k for k, v in ds.variables.items() if "units" not in v.attrs and v.dtype.kind in "iuf"]
    assert missing == []
    assert ds.attrs["git_commit"] is not None and ds.attrs["chip_n_crossbars"] == 48
    assert not (tmp_path / "table1.md").exists()
    assert paper_figures.main(["--plot-only", str(out)]) == 0
    md = (tmp_path / "table1.md").read_text()
    assert "| DenseNet-ImageNet | 466 | 480 | 480 |" in md
    for name in ("cycles_digits-mlp.png", "fig2a_slowdown.png", "crossbars_vs_d.png"):
        assert (tmp_path / name).stat().st_size > 1000


@pytest.mark.parametrize("args, needle", [
    (["--d", "0"], "d = 0"),
    (["--n-crossbars", "0"], "n_crossbars = 0"),
    (["--networks", "vgg"], "unknown network 'vgg'"),
    (["--convention", "magic"], "unknown mapping convention 'magic'"),
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
