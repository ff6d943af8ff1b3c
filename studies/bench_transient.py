"""Benchmark the native transient solver against ngspice's .tran (prints the target lines).

    python studies/bench_transient.py                          # N=64 and 128 vs ngspice, N=256 TG step
    python studies/bench_transient.py --ngspice-steps 1000     # ngspice over all 1000 steps (very slow at N>=64)
    python studies/bench_transient.py --sizes 32 --large 0     # quick

Each line is one run on this machine; ratios compare runs made in the same invocation.
Wall-clock and CPU seconds are both printed: on a shared machine the wall clock mostly
measures the other jobs, the process's CPU time (ngspice runs in-process; one BLAS
thread) what each solver costs.
ngspice's cost per time point at N >= 64 makes a 1000-step run take a long time on 2
shared cores, so by default it runs twice (10 and 30 steps) and its 1000-step time is
extrapolated as fixed cost + 1000 x marginal cost per point (said so in the output).
"""

from __future__ import annotations

import argparse
import os
import sys

from crossbar.transient.benchmark import time_input_step, time_tg_step
from devices.errors import XbarError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128], help="N for native vs ngspice")
    ap.add_argument("--steps", type=int, default=1000, help="native time steps")
    ap.add_argument("--ngspice-steps", type=int, nargs="+", default=[10, 30],
                    help="ngspice runs (step counts); with two, the 1000-step time is extrapolated")
    ap.add_argument("--large", type=int, default=256, help="N of the TG-step run (0: skip)")
    args = ap.parse_args(argv)
    if args.steps < 1 or any(n < 2 for n in args.sizes):
        print("bench_transient: --steps >= 1 and sizes >= 2", file=sys.stderr)
        return 2
    print(f"machine: {os.cpu_count()} cpus, 1-min load average {os.getloadavg()[0]:.1f} (wall-clock timings)")
    try:
        for n in args.sizes:
            r = time_input_step(n, args.steps, ngspice_steps=args.ngspice_steps)
            print(f"N={n} input step, trap, {args.steps} steps: native {r['native_s']:.2f} s wall / "
                  f"{r['native_cpu_s']:.2f} s CPU ({r['factorizations']} factorizations), ngspice "
                  f"{r['ngspice_1000_s']:.1f} s wall / {r['ngspice_1000_cpu_s']:.1f} s CPU "
                  f"({r['ngspice_estimate']}; longest run {r['ngspice_s']:.1f} s over {r['ngspice_points']} points); "
                  f"speed-up {r['speedup']:.1f}x wall, {r['speedup_cpu']:.1f}x CPU "
                  f"[target >= 100x: {'met' if min(r['speedup'], r['speedup_cpu']) >= 100 else 'missed'}]; "
                  f"outputs agree to {r['rel_diff']:.1e} of peak on ngspice's time points "
                  f"[target <= 1e-6: {'met' if r['rel_diff'] <= 1e-6 else 'missed'}]", flush=True)
        if args.large:
            r = time_tg_step(args.large, args.steps)
            print(f"N={args.large} one TG pattern switch, trap, {args.steps} steps: native {r['native_s']:.2f} s wall, "
                  f"{r['native_cpu_s']:.2f} s CPU ({r['unknowns']} nodes, {r['factorizations']} factorizations) "
                  f"[target <= 10 s: wall {'met' if r['native_s'] <= 10 else 'missed'}, "
                  f"CPU {'met' if r['native_cpu_s'] <= 10 else 'missed'}]", flush=True)
    except XbarError as exc:
        print(f"bench_transient: {exc}", file=sys.stderr)
        return 1
    print(f"1-min load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
