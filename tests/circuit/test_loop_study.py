"""The study script end to end (one data set, one preset, one feedback epoch), archive and --plot-only."""

import numpy as np
import xarray as xr

from crossbar.archive import read_dataset
from tests.scripts import load_study


def _script():
    return load_study("basisn_hardware_loop")


def test_study_runs_archives_and_replots(tmp_path, capsys):
    study = _script()
    out = tmp_path / "loop.h5"
    assert study.main(["--quick", "--only", "digits", "--presets", "lowbit", "--d", "16", "--feedback-epochs", "1",
                       "--n-spot", "0", "--no-progress", "--jobs", "1", "--eval-chips", "2", "--drift-times", "1", "3600",
                       "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "(c) naive, eval chips" in text and "540 test samples" in text
    ds = read_dataset(out)
    for name, var in ds.variables.items():
        assert "units" in var.attrs, f"{name} has no units"
    assert 0.5 < float(ds["acc_ideal"].sel(dataset="digits").mean()) <= 1.0
    for var in ("acc_after", "acc_before", "acc_after_adc", "acc_drift", "res_model", "acc_train_chip"):
        assert np.isfinite(ds[var]).all(), var
    assert ds.sizes["chip"] == 2 and ds.sizes["time"] == 2
    assert ds.attrs["study"] == "basisn_hardware_loop"
    assert study.main(["--plot-only", str(out)]) == 0
    assert (tmp_path / "loop_accuracy.png").exists() and (tmp_path / "loop_adc.png").exists()
    xr.testing.assert_identical(read_dataset(out), ds)
