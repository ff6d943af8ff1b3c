"""Benchmark the loop's per-step measurement of a nonlinear chip (sinh cells, level-1 NMOS) vs the linear path.

    python studies/bench_nonlinear_loop.py                 # d = 32, K = 4, v_read = 0.2 V
    python studies/bench_nonlinear_loop.py --v-read 0.5 --steps 40

Prints, measured in this run, the median time of one step (uncached, random patterns):
the linear chip (the same chip with linear cells and a linear access transistor of the
NMOS's small-signal resistance), the loop's nonlinear path (chord model at v_read / 2),
a per-step operating-point linearisation (one Newton solve + one transfer), and the exact
path (a Newton solve per input); their ratios to the linear path; and the linearisation
errors against the exact Newton solve. Target (issue 12): loop's nonlinear step <= 10x linear.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from basisn.circuit.bench import bench_nonlinear_steps
from devices.errors import XbarError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--d", type=int, default=32, help="crossbar size (default 32)")
    ap.add_argument("--K", type=int, default=4, help="TG sets (default 4)")
    ap.add_argument("--v-read", type=float, default=0.2, help="full-scale read voltage, volt (default 0.2)")
    ap.add_argument("--steps", type=int, default=20, help="steps timed per path (default 20)")
    ap.add_argument("--inputs", type=int, default=8, help="inputs per exact step (default 8)")
    ap.add_argument("--exact-steps", type=int, default=3, help="steps solved exactly (default 3)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    load0 = os.getloadavg()[0]
    try:
        r = bench_nonlinear_steps(args.d, args.K, args.v_read, args.steps, args.inputs, args.exact_steps, args.seed)
    except XbarError as exc:
        print(f"bench_nonlinear_loop: {exc}", file=sys.stderr)
        return 2
    ms = 1e3
    print(f"d={r['d']} K={r['K']} v_read={r['v_read']:g} V, load average {load0:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"setup (one factorization): linear {r['setup_linear']:.3f} s, nonlinear chord {r['setup_nonlinear']:.3f} s")
    print(f"step, linear path:                      {ms * r['step_linear']:8.2f} ms")
    print(f"step, loop's nonlinear path (chord):    {ms * r['step_nonlinear']:8.2f} ms  ratio {r['ratio_loop']:.2f}x "
          f"(target <= 10x: {'met' if r['ratio_loop'] <= 10 else 'MISSED'})")
    print(f"step, operating-point linearisation:    {ms * r['step_op']:8.2f} ms  ratio {r['ratio_op']:.1f}x")
    print(f"step, exact Newton ({r['n_inputs']} inputs):        {ms * r['step_exact']:8.2f} ms  ratio {r['ratio_exact']:.1f}x")
    print(f"linearisation error vs exact Newton (max |diff| / max |exact|): chip chord {r['err_chip_max']:.3g}, "
          f"per-step operating point {r['err_op_max']:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
