"""Benchmark the circuit-exact loop at d = 64-256: one scheduled step, and 1000 MNIST-1D samples.

    python studies/bench_loop.py                      # d = 256, K = 4, neurram, every step re-solved directly
    python studies/bench_loop.py --direct-steps 10    # direct re-solve of 10 steps, the rest at their mean
    python studies/bench_loop.py --d 128 --samples 500

Prints, measured in this run: the median time of one scheduled step of the fast path
(port model + Woodbury, each step timed uncached), the circuit-exact evaluation of the
samples by the fast path (including the chip's one factorization) and by a direct
re-solve of every step, their ratio, and the largest difference between the two.
Targets (issue 13): step <= 50 ms median at d = 256, ratio >= 20.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from basisn.circuit.bench import bench_exact_evaluation, exact_evaluation_report
from basisn.circuit.preset import PRESETS
from devices.errors import XbarError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--d", type=int, default=256, help="crossbar size (default 256)")
    ap.add_argument("--K", type=int, default=4, help="TG sets (default 4)")
    ap.add_argument("--preset", default="neurram", help=f"hardware preset, one of {sorted(PRESETS)}")
    ap.add_argument("--samples", type=int, default=1000, help="MNIST-1D test samples (default 1000)")
    ap.add_argument("--direct-steps", type=int, default=None, help="steps re-solved directly (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.preset not in PRESETS:
        print(f"bench_loop: unknown preset {args.preset!r}; allowed: {sorted(PRESETS)}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    load0 = os.getloadavg()[0]
    try:
        r = bench_exact_evaluation(args.d, args.K, PRESETS[args.preset], args.samples, args.direct_steps, args.seed,
                                   log=logging.getLogger("bench_loop").info)
    except XbarError as exc:
        print(f"bench_loop: {exc}", file=sys.stderr)
        return 2
    load1 = os.getloadavg()[0]
    print()
    for line in exact_evaluation_report(r):
        print(line)
    print(f"machine: {os.cpu_count()} cpus, 1-min load average {load0:.1f} before, {load1:.1f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
