"""The TG study --quick through a real Dask cluster (scheduler + 2 worker processes on 127.0.0.1)
gives the archive of the process-pool run: identical results, every point present (issue 11)."""

import os
import subprocess
import sys
from pathlib import Path

import distributed  # CI installs the [distributed] extra: a missing Dask fails, never skips
import numpy as np
import pytest
import xarray as xr

from crossbar.archive import read_dataset
from crossbar.tgsum import quick_config

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "studies" / "tg_current_summing.py"
TIMING = ("elapsed", "engine_task_elapsed")
VOLATILE = ("executor", "wall_time_s", "created_utc", "command")


def _run(*argv):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--no-progress", *argv], capture_output=True,
                         text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stderr
    return res.stdout


def _comparable(ds):
    ds = ds.drop_vars([v for v in TIMING if v in ds.variables])
    ds.attrs = {k: v for k, v in ds.attrs.items() if k not in VOLATILE}
    return ds


def test_quick_study_on_a_dask_cluster_equals_the_process_pool(tmp_path):
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        dask_out = _run("--scheduler", address, "--out", str(tmp_path / "dask.h5"))
        n_workers = len(cluster.scheduler_info["workers"])
    pool_out = _run("--jobs", "2", "--out", str(tmp_path / "pool.h5"))
    assert n_workers == 2
    d, p = read_dataset(tmp_path / "dask.h5"), read_dataset(tmp_path / "pool.h5")
    assert d.attrs["executor"] == f"Dask scheduler {address}" and p.attrs["executor"] == "2 local processes"
    points = quick_config().points()
    assert d.sizes["point"] == len(points) and set(d["status"].values) == {"ok"}
    assert set(d["engine_task_status"].values) == {"ok"}
    xr.testing.assert_identical(_comparable(d), _comparable(p))
    assert np.isfinite(d["err_worst"].sel(tg_set=0).values).all()
    summary = lambda text: [ln for ln in text.splitlines() if not ln.startswith(("archive:", "figures:", "total"))]  # noqa: E731
    assert summary(dask_out) == summary(pool_out)
