"""Benchmark the native solver against ngspice (prints a table, archives to HDF5).

    python studies/bench_solver.py                 # N = 32..512, ngspice up to N=128 (about 2-3 minutes)
    python studies/bench_solver.py --big           # adds N = 1024
    python studies/bench_solver.py --sizes 32 64 --ngspice-max 64 --out /tmp/b.h5

Speed targets are judged from ratios and figures measured in this run, on this machine.
"""

from __future__ import annotations

import argparse
import os
import sys

from crossbar.archive import check_writable, provenance, write_dataset
from crossbar.benchmark import TARGETS, measure_mvm, run, verdicts
from devices.errors import XbarError


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
    args = ap.parse_args(argv)
    sizes = sorted(set(args.sizes + ([1024] if args.big else [])))
    if any(n < 2 for n in sizes) or args.repeat < 1 or args.mvm_n < 0 or args.mvm_n == 1:
        print("bench_solver: sizes must be >= 2, --repeat >= 1 and --mvm-n 0 or >= 2", file=sys.stderr)
        return 2
    try:
        check_writable(args.out)
        load_before = os.getloadavg()[0]
        ds = run(sizes, repeat=args.repeat, mos_max=args.mos_max, ngspice_max=args.ngspice_max,
                 ngspice_mos_max=args.ngspice_mos_max, progress=lambda n: print(f"measuring N={n} ...", flush=True))
        mv = measure_mvm(args.mvm_n) if args.mvm_n else None
        if mv is not None:
            ds.attrs.update({f"mvm_{k}": v for k, v in mv.items()})
        ds.attrs.update(provenance(benchmark="native vs ngspice, 1T1R K=4, 2.5 ohm segments",
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
    print()
    print(" | ".join(h for _, h, _ in cols))
    for k in range(ds.sizes["N"]):
        row = ds.isel(N=k)
        if str(row.error.item()):
            print(f"{int(row.N)} | failed: {row.error.item()}")
            continue
        cells = []
        for var, _, fmt in cols:
            v = float(row[var]) if var != "N" else float(row.N)
            cells.append("-" if v != v else fmt.format(v))
        print(" | ".join(cells))
    print()
    if mv is not None:
        print(f"\nmvm at N={mv['N']} (same circuit, one input vector): crossbar.mvm {mv['mvm_s'] * 1e3:.2f} ms, "
              f"build netlist + crossbar.solve {mv['solve_s'] * 1e3:.2f} ms ({mv['ratio']:.1f}x the mvm call), "
              f"prepared solve {mv['prepared_solve_s'] * 1e3:.2f} ms; max rel diff {mv['max_rel_diff']:.1e}")
    for text, value, ok in verdicts(ds):
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
