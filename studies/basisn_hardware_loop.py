#!/usr/bin/env python
"""Closed loop: BasisN basis in circuit-level crossbars, accuracy on fresh evaluation chips
before and after feedback training on a separate training chip, per hardware preset;
digits MLP and MNIST-1D CNN.

    python studies/basisn_hardware_loop.py --quick         # one seed, 5 evaluation chips
    python studies/basisn_hardware_loop.py --quick --seeds 0 1 2 --jobs 2
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

from crossbar.archive import check_writable, provenance, read_dataset, write_dataset  # noqa: E402
from devices.errors import ParameterError, XbarError  # noqa: E402

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
    p.add_argument("--model-only", action="store_true", help="also run feedback on the error model alone")
    p.add_argument("--eval-chips", type=int, default=5, help="evaluation chips per seed and preset (default 5)")
    p.add_argument("--adc-axis", type=int, nargs="+", default=[4, 5, 6, 8, 0],
                   help="ADC resolutions evaluated on every chip, bit (0 = no ADC; default 4 5 6 8 0)")
    p.add_argument("--adc-bits", type=int, help="main readout ADC bits for every preset (default: the preset's, 8; 0 = none)")
    p.add_argument("--drift-times", type=float, nargs="*", default=[1.0, 3600.0, 86400.0, 2592000.0],
                   help="read times after programming, s (default 1 s, 1 h, 1 day, 30 days; none: no drift axis)")
    p.add_argument("--no-read-noise", action="store_true", help="exact reads (no read noise)")
    p.add_argument("--jobs", type=int, default=1, help="processes for the (seed, data set) tasks (default 1)")
    p.add_argument("--n-spot", type=int, default=3, help="steps per preset spot-checked against ngspice (0: none)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds; seed s uses chip chip_seed + s")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.plot_only is not None:
            ds = read_dataset(args.plot_only)
            archive = args.plot_only
        else:
            from basisn.circuit.loop import LoopConfig, run_loop
            from devices import Readout

            if args.jobs < 1:
                raise ParameterError(f"--jobs must be >= 1, got {args.jobs}")
            overrides = {"encoding": args.encoding} if args.encoding else {}
            if args.adc_bits is not None:
                overrides["readout"] = Readout(adc_bits=args.adc_bits or None)
            cfg = LoopConfig(datasets=tuple(args.only or ("digits", "mnist1d")), presets=tuple(args.presets), d=args.d,
                             K=args.K, coeff_bits=args.coeff_bits, seeds=tuple(args.seeds), quick=args.quick,
                             feedback_epochs=args.feedback_epochs, n_spot=args.n_spot,
                             exact_refresh=not args.no_exact_refresh, model_only=args.model_only,
                             n_eval_chips=args.eval_chips, adc_axis=tuple(args.adc_axis),
                             drift_times=tuple(args.drift_times), read_noise=not args.no_read_noise,
                             overrides=overrides)
            check_writable(args.out)  # before the run, not after it
            t0 = time.time()
            ds = run_loop(cfg, progress=not args.no_progress, jobs=args.jobs)
            ds.attrs.update(provenance(study="basisn_hardware_loop", wall_time_s=round(time.time() - t0, 1),
                                       command="python studies/basisn_hardware_loop.py " + " ".join(
                                           sys.argv[1:] if argv is None else argv), jobs=args.jobs))
            archive = write_dataset(ds, args.out)
            print(f"archive: {archive}  ({time.time() - t0:.0f} s)")
    except XbarError as exc:
        print(f"basisn_hardware_loop: error: {exc}", file=sys.stderr)
        return 2
    from basisn.circuit.loop import make_figures, summary_table

    for path in make_figures(ds, Path(archive).parent, Path(archive).stem):
        print(f"figure: {path}")
    print(summary_table(ds))
    print("\ntiming (mean over seeds and chips):")
    for name in ds["dataset"].values:
        r = ds.sel(dataset=name)
        n = int(r["n_test"])
        for p in ds["preset"].values:
            q = r.sel(preset=p)
            print(f"- {name} {p}: one evaluation chip (write, factorization, calibration, {ds.sizes['adc']} ADC settings, "
                  f"{n} test samples) {float(q['t_exact_after'].mean()):.1f} s; feedback training "
                  f"{float(q['t_feedback'].mean()):.1f} s; training chip set-up {float(q['t_setup'].mean()):.2f} s")
    if "wall_time_s" in ds.attrs:
        print(f"- total wall time {ds.attrs['wall_time_s']} s")
    return 0


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the loop's per-preset lines
    sys.exit(main())
