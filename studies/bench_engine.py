#!/usr/bin/env python
"""Benchmark of the study engine: the TG study's default sweep on a local process pool of 2
and on a Dask cluster of 2 single-threaded worker processes, in one run.

    python studies/bench_engine.py            # default sweep, about 2 x 40 s on 2 cores
    python studies/bench_engine.py --quick    # the quick sweep (seconds)

Prints both wall times and the ratio Dask / process pool (target <= 1.2), and checks that
the two archives hold identical results.  The Dask cluster is started before the timed
run (as a user's running cluster would be); its start-up time is printed separately.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="the quick sweep instead of the default one")
    p.add_argument("--workers", type=int, default=2, choices=range(1, 65), metavar="N",
                   help="processes of each executor (default 2)")
    args = p.parse_args(argv)

    import distributed
    import xarray as xr

    from crossbar.study import run
    from crossbar.study.execute import DaskExecutor, PoolExecutor
    from crossbar.tgsum import TGRun, TGStudy, default_config, quick_config

    config = TGRun((quick_config() if args.quick else default_config()).validate())
    study = TGStudy()
    n_tasks = len(study.tasks(config))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        pool = run(study, config, tmp / "pool.h5", executor=PoolExecutor(args.workers), progress=False)
        t_pool = time.perf_counter() - t0

        t0 = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        t_start = time.perf_counter() - t0
        try:
            t0 = time.perf_counter()
            dask = run(study, config, tmp / "dask.h5", executor=DaskExecutor(address=cluster.scheduler_address),
                       progress=False)
            t_dask = time.perf_counter() - t0
        finally:
            cluster.close()
        drop = ["elapsed", "engine_task_elapsed"]
        a = pool.dataset.drop_vars(drop)
        b = dask.dataset.drop_vars(drop)
        a.attrs, b.attrs = {}, {}
        xr.testing.assert_identical(a, b)
    sweep = "quick" if args.quick else "default"
    print(f"TG {sweep} sweep, {n_tasks} tasks, {args.workers} workers each")
    print(f"  process pool ({args.workers}):        {t_pool:7.1f} s")
    print(f"  Dask cluster ({args.workers} workers):  {t_dask:7.1f} s   (cluster start-up {t_start:.1f} s, not included)")
    print(f"  ratio Dask / process pool: {t_dask / t_pool:.2f}  (target <= 1.2); results identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
