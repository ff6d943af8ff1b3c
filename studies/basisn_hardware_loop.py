#!/usr/bin/env python
"""Closed loop: BasisN basis in circuit-level crossbars, circuit-exact accuracy before and
after feedback training, per hardware preset; digits MLP and MNIST-1D CNN.

    python studies/basisn_hardware_loop.py --quick         # < 15 min on 2 cores
    python studies/basisn_hardware_loop.py                 # longer training, 20 feedback epochs
    python studies/basisn_hardware_loop.py --plot-only results/basisn_hardware_loop/basisn_hardware_loop.h5

Writes an HDF5 archive (xarray, atomic, provenance), regenerates the figures and the
table from it. The loop lives in :mod:`basisn.circuit.loop`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Small matrices: BLAS threads only fight over the two shared cores.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root

import argparse  # noqa: E402
import time  # noqa: E402

from crossbar.archive import provenance, read_dataset, write_dataset  # noqa: E402

DEFAULT_OUT = Path("results") / "basisn_hardware_loop" / "basisn_hardware_loop.h5"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short training (quick protocols, 10 feedback epochs)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"archive path (default {DEFAULT_OUT})")
    p.add_argument("--plot-only", type=Path, metavar="ARCHIVE", help="only regenerate figures and table from ARCHIVE")
    p.add_argument("--only", nargs="+", choices=["digits", "mnist1d"], help="run only these data sets")
    p.add_argument("--presets", nargs="+", default=["ideal", "neurram", "lowbit", "weak_tg", "binary"],
                   help="hardware presets (basisn.circuit.preset.PRESETS): ideal neurram lowbit weak_tg binary facts")
    p.add_argument("--d", type=int, default=32, help="crossbar size (default 32)")
    p.add_argument("--K", type=int, default=4, help="TG sets per crossbar (default 4)")
    p.add_argument("--coeff-bits", type=int, default=4, help="coefficient bits (default 4)")
    p.add_argument("--encoding", choices=["differential", "reference"], help="override every preset's encoding")
    p.add_argument("--feedback-epochs", type=int, help="feedback epochs (default 10 with --quick, else 20)")
    p.add_argument("--no-exact-refresh", action="store_true",
                   help="feedback under the error model alone (no exact correction per epoch)")
    p.add_argument("--n-spot", type=int, default=3, help="steps per preset spot-checked against ngspice (0: none)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds; seed s uses chip chip_seed + s")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from basisn.circuit.loop import LoopConfig, make_figures, run_loop, summary_table

    if args.plot_only is not None:
        ds = read_dataset(args.plot_only)
        archive = args.plot_only
    else:
        overrides = {"encoding": args.encoding} if args.encoding else {}
        cfg = LoopConfig(datasets=tuple(args.only or ("digits", "mnist1d")), presets=tuple(args.presets), d=args.d,
                         K=args.K, coeff_bits=args.coeff_bits, seeds=tuple(args.seeds), quick=args.quick,
                         feedback_epochs=args.feedback_epochs, n_spot=args.n_spot,
                         exact_refresh=not args.no_exact_refresh, overrides=overrides)
        t0 = time.time()
        ds = run_loop(cfg, progress=not args.no_progress)
        ds.attrs.update(provenance(study="basisn_hardware_loop", wall_time_s=round(time.time() - t0, 1)))
        archive = write_dataset(ds, args.out)
        print(f"archive: {archive}  ({time.time() - t0:.0f} s)")
    for path in make_figures(ds, Path(archive).parent, Path(archive).stem):
        print(f"figure: {path}")
    print(summary_table(ds))
    print("\ntiming (mean over seeds):")
    m = ds.mean("seed", keep_attrs=True) if "seed" in ds.dims else ds
    for name in m["dataset"].values:
        r = m.sel(dataset=name)
        n = int(r["n_test"])
        for p in m["preset"].values:
            q = r.sel(preset=p)
            print(f"- {name} {p}: circuit-exact evaluation of {n} test samples (d={ds.attrs['d']}, "
                  f"{float(q['steps_before']):.0f} steps, incl. factorization) {float(q['t_exact_before']):.1f} s; "
                  f"feedback training {float(q['t_feedback']):.1f} s; chip set-up {float(q['t_setup']):.2f} s")
    if "wall_time_s" in ds.attrs:
        print(f"- total wall time {ds.attrs['wall_time_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
