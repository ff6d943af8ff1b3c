#!/usr/bin/env python
"""TG current-summing study (issue 3): K transmission-gate sets under one RRAM crossbar.

    python studies/tg_current_summing.py                  # default sweep, native solver, ~3 min on 2 cores
    python studies/tg_current_summing.py --quick          # small sweep, well under a minute
    python studies/tg_current_summing.py --full           # larger sweep, ngspice up to N = 64
    python studies/tg_current_summing.py --config my.json # keys override the default sweep
    python studies/tg_current_summing.py --plot-only results/tg_current_summing.h5

Writes ``results/tg_current_summing.h5`` (one xarray Dataset, see
:mod:`crossbar.tgsum.sweep`) and PNG figures next to it, and prints a summary table.
The study itself lives in :mod:`crossbar.tgsum`; this script parses arguments.

Exit status: 0 done; 1 done but some points failed (recorded in the archive); 2 bad
arguments or unusable output path; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from crossbar.archive import check_writable, read_dataset  # noqa: E402
from crossbar.tgsum import sweep  # noqa: E402
from crossbar.tgsum.figures import make_figures  # noqa: E402
from devices.errors import BackendError, ParameterError, XbarError  # noqa: E402

DEFAULT_OUT = Path("results") / "tg_current_summing.h5"
PROG = "tg_current_summing"


def _resistance(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a resistance in ohm: {text!r}") from None


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog=PROG,
        description="TG current-summing study: sweep crossbar size, TG sets, wire/TG/summing-line resistances, "
                    "cells, access transistors and column density; measure each TG set's output against the "
                    "ideal sum (error, wire/TG split, crosstalk, superposition); validate against ngspice; "
                    "write an HDF5 archive, PNG figures and a summary.",
        epilog="Sweep overrides (--n, --k, --r-wire, ...) make every point use the given values: a single value "
               "replaces the baseline everywhere, several values become an axis of every group.")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sweep (N = 16-32, 4 inputs)")
    size.add_argument("--full", action="store_true", help="larger sweep (finer grids, sizes x densities, ngspice up to N = 64; about 7 minutes)")
    size.add_argument("--config", metavar="FILE", type=Path, help="JSON file whose keys override the default sweep")
    p.add_argument("--backend", choices=sweep.BACKENDS, default="native", help="solver (default native)")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), metavar="N",
                   help="worker processes (default %(default)s)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"archive to write (default {DEFAULT_OUT})")
    p.add_argument("--resume", action="store_true", help="skip points already in the archive with status ok")
    p.add_argument("--plot-only", metavar="ARCHIVE", type=Path,
                   help="regenerate the figures and the summary from an archive, without solving")
    val = p.add_mutually_exclusive_group()
    val.add_argument("--validate-ngspice", action="store_true",
                     help="re-solve every point with N <= 64 with ngspice (default: the smallest sizes, N <= 32)")
    val.add_argument("--no-validate", action="store_true", help="no ngspice validation")
    p.add_argument("--samples", type=int, help="random input vectors per point")
    p.add_argument("--seed", type=int, help="seed of conductances, assignments and inputs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    o = p.add_argument_group("sweep overrides")
    o.add_argument("--n", type=int, nargs="+", metavar="N", help="crossbar sizes")
    o.add_argument("--k", type=int, nargs="+", metavar="K", help="numbers of TG sets")
    o.add_argument("--r-wire", type=_resistance, nargs="+", metavar="OHM", help="wordline/bitline segment resistances")
    o.add_argument("--r-on", type=_resistance, nargs="+", metavar="OHM", help="TG on-resistances")
    o.add_argument("--r-off", type=_resistance, nargs="+", metavar="OHM", help="TG off-resistances (inf: open)")
    o.add_argument("--r-summing", type=_resistance, nargs="+", metavar="OHM", help="summing-line segment resistances")
    o.add_argument("--density", type=float, nargs="+", help="fractions of columns switched on")
    o.add_argument("--access", nargs="+", choices=sweep.ACCESS_MODELS, help="access transistor models")
    return p.parse_args(argv)


def build_config(args) -> sweep.StudyConfig:
    if args.quick:
        config = sweep.quick_config()
    elif args.full:
        config = sweep.full_config()
    elif args.config:
        config = sweep.load_config(args.config)
    else:
        config = sweep.default_config()
    import dataclasses

    changes = {}
    if args.samples is not None:
        changes["samples"] = args.samples
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.validate_ngspice:
        changes["validate_max_n"] = max(config.validate_max_n, 64)
    if args.no_validate:
        changes["validate_max_n"] = 0
    config = dataclasses.replace(config, **changes)
    config = config.with_overrides(n=args.n, k=args.k, r_wire=args.r_wire, r_on=args.r_on, r_off=args.r_off,
                                   r_summing=args.r_summing, density=args.density, access=args.access)
    return config.validate()


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.plot_only is not None:
            ds = read_dataset(args.plot_only)
            paths = make_figures(ds, args.plot_only.parent, args.plot_only.stem)
            print(sweep.summary_text(ds))
            print("\nfigures: " + ", ".join(str(x) for x in paths))
            return 0
        if args.jobs < 1:
            raise ParameterError(f"--jobs must be >= 1, got {args.jobs}")
        config = build_config(args)
        sweep.check_backend(config, args.backend)
        check_writable(args.out)
        if args.backend == "ngspice" or args.validate_ngspice:
            from crossbar.ngspice import available

            if not available():
                raise BackendError("ngspice is not available (install ngspice and libngspice0, see README); "
                                   f"{'--backend ngspice' if args.backend == 'ngspice' else '--validate-ngspice'} needs it")
        t0 = time.perf_counter()
        n_points = len(config.points())
        print(f"{PROG}: {n_points} points, backend {args.backend}, {args.jobs} process(es), archive {args.out}",
              file=sys.stderr)
        ds = sweep.run_study(config, args.out, backend=args.backend, jobs=args.jobs, resume=args.resume,
                             progress=not args.no_progress, log=lambda m: print(m, file=sys.stderr))
        paths = make_figures(ds, args.out.parent, args.out.stem)
        print(sweep.summary_text(ds))
        print(f"\narchive: {args.out}\nfigures: " + ", ".join(str(x) for x in paths))
        print(f"total time: {time.perf_counter() - t0:.1f} s")
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (XbarError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    failed = int((ds["status"].values != "ok").sum())
    if failed:
        print(f"{PROG}: {failed} point(s) failed; their messages are in the archive (variable 'message')", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
