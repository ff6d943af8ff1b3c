"""Benchmark the native solver against ngspice, and the circuit-exact loop (prints tables, archives to HDF5).

    python studies/bench_solver.py                 # N = 32..512, ngspice up to N=128, then the loop at d = 256 (2-4 minutes)
    python studies/bench_solver.py --big           # adds N = 1024
    python studies/bench_solver.py --sizes 32 64 --ngspice-max 64 --loop-d 0 --out /tmp/b.h5
    python studies/bench_solver.py --loop-only --direct-steps 20   # only the loop benchmark (issue 13)

The loop section (issue 13, the same measurement as studies/bench_loop.py): one MNIST-1D
BasisN network written into one chip (d = 256, K = 4, differential columns, neurram
preset); the median time of one scheduled step of the fast path, the circuit-exact
evaluation of 1000 test samples by the fast path against a direct re-solve of every step
(--direct-steps of them solved, evenly spaced, the rest counted at their measured mean),
their ratio and the largest relative difference. Targets: step <= 50 ms median, ratio >= 20x.

Speed targets are judged from ratios and figures measured in this run, on this machine.
"""

from __future__ import annotations

import argparse
import os
import sys

import xarray as xr

from basisn.circuit.bench import bench_exact_evaluation, exact_evaluation_report, exact_evaluation_verdicts
from basisn.circuit.preset import PRESETS
from crossbar.archive import check_writable, provenance, write_dataset
from crossbar.benchmark import TARGETS, measure_mvm, run, verdicts
from devices.errors import XbarError


def _loop_benchmark(args) -> dict:
    """The issue-13 loop benchmark with the script's options (progress printed)."""
    return bench_exact_evaluation(args.loop_d, args.loop_K, PRESETS[args.loop_preset], args.loop_samples,
                                  args.direct_steps or None, args.seed, log=lambda msg: print(f"loop: {msg}", flush=True))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128, 256, 512], help="crossbar sizes N")
    ap.add_argument("--big", action="store_true", help="also measure N=1024")
    ap.add_argument("--repeat", type=int, default=3, help="repeats per timing for N <= 256 (median)")
    ap.add_argument("--mos-max", type=int, default=256, help="largest N for the level-1 MOS solve")
    ap.add_argument("--ngspice-max", type=int, default=128, help="largest N run through ngspice (N=128 takes ~1 min)")
    ap.add_argument("--ngspice-mos-max", type=int, default=64, help="largest N of the MOS deck run through ngspice")
    ap.add_argument("--out", default="results/bench_solver.h5", help="HDF5 archive")
    ap.add_argument("--mvm-n", type=int, default=32, help="crossbar size of the mvm-vs-solve comparison (0: skip)")
    loop = ap.add_argument_group("circuit-exact loop (issue 13)")
    loop.add_argument("--loop-d", type=int, default=256, help="crossbar size d of the loop benchmark (default 256; 0: skip)")
    loop.add_argument("--loop-K", type=int, default=4, help="TG sets of the loop benchmark (default 4)")
    loop.add_argument("--loop-preset", default="neurram", help=f"hardware preset of the loop benchmark, one of {sorted(PRESETS)}")
    loop.add_argument("--loop-samples", type=int, default=1000, help="MNIST-1D test samples evaluated (default 1000)")
    loop.add_argument("--direct-steps", type=int, default=5,
                      help="steps re-solved directly, the rest counted at their mean (default 5; 1-6 s each at d = 256, "
                           "depending on the load; 0: every step, 331 of them at d = 256)")
    loop.add_argument("--seed", type=int, default=0, help="seed of the loop benchmark's network and chip")
    loop.add_argument("--loop-only", action="store_true", help="skip the native-vs-ngspice table, run only the loop benchmark")
    args = ap.parse_args(argv)
    sizes = [] if args.loop_only else sorted(set(args.sizes + ([1024] if args.big else [])))
    if any(n < 2 for n in sizes) or args.repeat < 1 or args.mvm_n < 0 or args.mvm_n == 1:
        print("bench_solver: sizes must be >= 2, --repeat >= 1 and --mvm-n 0 or >= 2", file=sys.stderr)
        return 2
    if args.loop_d < 0 or args.loop_d == 1 or args.loop_K < 1 or args.loop_samples < 1 or args.direct_steps < 0:
        print(f"bench_solver: --loop-d must be 0 or >= 2 (got {args.loop_d}), --loop-K >= 1 (got {args.loop_K}), "
              f"--loop-samples >= 1 (got {args.loop_samples}) and --direct-steps >= 0 (got {args.direct_steps})",
              file=sys.stderr)
        return 2
    if args.loop_preset not in PRESETS:
        print(f"bench_solver: unknown --loop-preset {args.loop_preset!r}; allowed: {sorted(PRESETS)}", file=sys.stderr)
        return 2
    if args.loop_only and not args.loop_d:
        print("bench_solver: --loop-only with --loop-d 0 leaves nothing to measure", file=sys.stderr)
        return 2
    if args.loop_only:
        args.mvm_n = 0
    try:
        check_writable(args.out)
        load_before = os.getloadavg()[0]
        if sizes:
            ds = run(sizes, repeat=args.repeat, mos_max=args.mos_max, ngspice_max=args.ngspice_max,
                     ngspice_mos_max=args.ngspice_mos_max, progress=lambda n: print(f"measuring N={n} ...", flush=True))
        else:
            ds = xr.Dataset()
        mv = measure_mvm(args.mvm_n) if args.mvm_n else None
        if mv is not None:
            ds.attrs.update({f"mvm_{k}": v for k, v in mv.items()})
        lp = _loop_benchmark(args) if args.loop_d else None
        if lp is not None:
            ds.attrs.update({f"loop_{k}": int(v) if isinstance(v, bool) else v for k, v in lp.items()})
        ds.attrs.update(provenance(benchmark="native vs ngspice, 1T1R K=4, 2.5 ohm segments; circuit-exact loop (issue 13)",
                                   loadavg_1min_before=load_before, loadavg_1min_after=os.getloadavg()[0],
                                   cpus=os.cpu_count()))
        write_dataset(ds, args.out)
    except XbarError as exc:
        print(f"bench_solver: {exc}", file=sys.stderr)
        return 1
    cols = [("N", "N", "{:.0f}"), ("unknowns_native", "unknowns", "{:.0f}"), ("prepare_s", "prepare s", "{:.3f}"),
            ("factor_s", "factor s", "{:.3f}"), ("solve_s", "solve s", "{:.4f}"), ("op_total_s", "op total s", "{:.3f}"),
            ("transfer_s", "T(K=4) s", "{:.3f}"), ("batch64_s", "64 inputs s", "{:.3f}"), ("mos_s", "MOS s", "{:.2f}"),
            ("peak_rss_op_GiB", "op peak GiB", "{:.2f}"), ("peak_rss_GiB", "run peak GiB", "{:.2f}"), ("ngspice_s", "ngspice s", "{:.2f}"),
            ("speedup_vs_ngspice", "speedup", "{:.0f}x"), ("ngspice_rel_diff", "max rel diff", "{:.1e}"),
            ("ngspice_mos_rel_diff", "MOS rel diff", "{:.1e}")]
    if sizes:
        print()
        print(" | ".join(h for _, h, _ in cols))
    for k in range(ds.sizes.get("N", 0)):
        row = ds.isel(N=k)
        if str(row.error.item()):
            print(f"{int(row.N)} | failed: {row.error.item()}")
            continue
        cells = []
        for var, _, fmt in cols:
            v = float(row[var]) if var != "N" else float(row.N)
            cells.append("-" if v != v else fmt.format(v))
        print(" | ".join(cells))
    if sizes:
        print()
    if mv is not None:
        print(f"\nmvm at N={mv['N']} (same circuit, one input vector): crossbar.mvm {mv['mvm_s'] * 1e3:.2f} ms, "
              f"build netlist + crossbar.solve {mv['solve_s'] * 1e3:.2f} ms ({mv['ratio']:.1f}x the mvm call), "
              f"prepared solve {mv['prepared_solve_s'] * 1e3:.2f} ms; max rel diff {mv['max_rel_diff']:.1e}")
    if lp is not None:
        print("\ncircuit-exact loop (issue 13; same measurement as studies/bench_loop.py):")
        for line in exact_evaluation_report(lp):
            print(line)
    print()
    for text, value, ok in verdicts(ds) if sizes else []:
        print(f"target: {text}: {value} [{ok}]")
    for text, value, ok in exact_evaluation_verdicts(lp) if lp is not None else []:
        print(f"target: {text}: {value} [{ok}]")
    if mv is not None and mv["N"] == 32:
        text, lim = TARGETS["mvm_32"]
        print(f"target: {text}: {mv['mvm_s'] * 1e3:.2f} ms [{'met' if mv['mvm_s'] <= lim else 'MISSED'}]")
    print(f"\nmachine: {ds.attrs['cpus']} cpus, 1-min load average {ds.attrs['loadavg_1min_before']:.1f} before, "
          f"{ds.attrs['loadavg_1min_after']:.1f} after (timings are wall clock)")
    print(f"archive: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
