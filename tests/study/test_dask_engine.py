"""The engine on a real Dask cluster (scheduler + 2 worker processes on 127.0.0.1)."""

import distributed  # CI installs the [distributed] extra: a missing Dask fails, never skips
import pytest
import xarray as xr

from crossbar.study import run
from crossbar.study.demo import Powers, PowersConfig

pytestmark = pytest.mark.distributed


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as c:
        yield c


def test_dask_run_equals_the_serial_run(tmp_path, cluster):
    cfg = PowersConfig(n=6, fail_x=4)
    a = run(Powers(), cfg, tmp_path / "serial.h5", progress=False)
    b = run(Powers(), cfg, tmp_path / "dask.h5", scheduler=cluster.scheduler_address, progress=False)
    assert b.dataset.attrs["executor"] == f"Dask scheduler {cluster.scheduler_address}"
    assert a.failed == b.failed and len(b.failed) == 3
    keep = lambda ds: ds.drop_vars("engine_task_elapsed").assign_attrs(  # noqa: E731
        executor="", wall_time_s=0, created_utc="")
    xr.testing.assert_identical(keep(a.dataset), keep(b.dataset))
