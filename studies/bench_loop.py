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

from basisn.circuit.bench import bench_exact_evaluation
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
    ext = (f"{r['direct_steps_measured']} of {r['n_steps']} steps re-solved, the rest counted at their mean"
           if r["extrapolated"] else f"all {r['n_steps']} steps re-solved")
    print(f"\nd = {r['d']}, K = {r['K']}, preset {r['preset']}, {r['n_samples']} MNIST-1D test samples, "
          f"{r['n_steps']} distinct scheduled steps")
    print(f"one scheduled step (fast path, {r['n_timed_steps']} steps timed uncached): median {1e3 * r['step_median_s']:.1f} ms "
          f"wall, {1e3 * r['step_median_cpu_s']:.1f} ms CPU (max {1e3 * r['step_max_s']:.1f} ms) [target <= 50 ms: "
          f"{'met' if r['step_median_s'] <= 0.05 else 'NOT met'}]")
    print(f"one full step (all {r['d']} columns closed over {r['K']} sets, 10 timed): median "
          f"{1e3 * r['full_step_median_s']:.1f} ms wall, {1e3 * r['full_step_median_cpu_s']:.1f} ms CPU [target <= 50 ms: "
          f"{'met' if r['full_step_median_s'] <= 0.05 else 'NOT met'}]")
    print(f"fast exact evaluation: {r['fast_total_s']:.2f} s wall ({r['setup_s']:.2f} s chip factorization + "
          f"{r['eval_fast_s']:.2f} s steps and batching), {r['fast_total_cpu_s']:.2f} s CPU")
    print(f"direct re-solve of every step: {r['direct_total_s']:.1f} s wall, {r['direct_total_cpu_s']:.1f} s CPU "
          f"({r['direct_per_step_s']:.2f} s per step; {ext})")
    print(f"ratio direct / fast: {r['ratio']:.1f}x wall, {r['ratio_cpu']:.1f}x CPU [target >= 20x: "
          f"{'met' if r['ratio'] >= 20 else 'NOT met'}]")
    print(f"largest relative difference fast vs direct: {r['max_rel_diff']:.1e}")
    print(f"accuracy on these samples: ideal BasisN {100 * r['acc_ideal']:.1f} %, circuit-exact {100 * r['acc_exact']:.1f} % "
          "(network converted without fine-tuning: timing, not accuracy)")
    print(f"machine: {os.cpu_count()} cpus, 1-min load average {load0:.1f} before, {load1:.1f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
