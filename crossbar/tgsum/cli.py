"""Command line of the TG study: its own options on top of the engine's common ones.

    python studies/tg_current_summing.py                  # default sweep, native solver, ~40 s on 2 cores
    python studies/tg_current_summing.py --quick          # small sweep, seconds
    python studies/tg_current_summing.py --full           # larger sweep, ngspice up to N = 64
    python studies/tg_current_summing.py --config my.json # keys override the default sweep
    python studies/tg_current_summing.py --plot-only results/tg_current_summing.h5
    python studies/tg_current_summing.py --scheduler tcp://10.0.0.5:8786   # on a Dask cluster

``main(argv)`` is the script's entry point (:func:`crossbar.study.main` with :class:`TGStudy`).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from crossbar.study.cli import int_arg
from crossbar.tgsum.config import ACCESS_MODELS, BACKENDS, load_config
from crossbar.tgsum.presets import default_config, full_config, quick_config
from devices.errors import ParameterError

__all__ = ["add_arguments", "run_from_args", "main", "PROG"]

PROG = "tg_current_summing"


def _resistance(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a resistance in ohm: {text!r}") from None


def _number(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The TG study's options (the engine adds --out, --resume, --plot-only, --jobs, --scheduler, ...)."""
    p.epilog = ("Sweep overrides (--n, --k, --r-wire, ...) make every point use the given values: a single value "
                "replaces the baseline everywhere, several values become an axis of every group. " + (p.epilog or ""))
    s = p.add_argument_group("TG sweep")
    s.add_argument("--full", action="store_true",
                   help="larger sweep (finer grids, sizes x densities, ngspice up to N = 64; about 7 minutes)")
    s.add_argument("--config", metavar="FILE", type=Path, help="JSON file whose keys override the default sweep")
    s.add_argument("--backend", choices=BACKENDS, default="native", help="solver (default native)")
    val = s.add_mutually_exclusive_group()
    val.add_argument("--validate-ngspice", action="store_true",
                     help="re-solve every point with N <= 64 with ngspice (default: the smallest sizes, N <= 32)")
    val.add_argument("--no-validate", action="store_true", help="no ngspice validation")
    s.add_argument("--samples", type=int_arg(1, 10_000), help="random input vectors per point")
    s.add_argument("--seed", type=int_arg(0, 2**63 - 1), help="seed of conductances, assignments and inputs")
    o = p.add_argument_group("sweep overrides")
    o.add_argument("--n", type=int, nargs="+", metavar="N", help="crossbar sizes")
    o.add_argument("--k", type=int, nargs="+", metavar="K", help="numbers of TG sets")
    o.add_argument("--r-wire", type=_resistance, nargs="+", metavar="OHM", help="wordline/bitline segment resistances")
    o.add_argument("--r-on", type=_resistance, nargs="+", metavar="OHM", help="TG on-resistances")
    o.add_argument("--r-off", type=_resistance, nargs="+", metavar="OHM", help="TG off-resistances (inf: open)")
    o.add_argument("--r-summing", type=_resistance, nargs="+", metavar="OHM", help="summing-line segment resistances")
    o.add_argument("--density", type=_number, nargs="+", help="fractions of columns switched on")
    o.add_argument("--access", nargs="+", choices=ACCESS_MODELS, help="access transistor models")


def run_from_args(args):
    """The validated :class:`crossbar.tgsum.study.TGRun` of parsed arguments."""
    from crossbar.tgsum.study import TGRun

    chosen = [flag for flag, on in (("--quick", args.quick), ("--full", args.full), ("--config", args.config))
              if on]
    if len(chosen) > 1:
        raise ParameterError(f"{' and '.join(chosen)} exclude each other; give at most one")
    if args.quick:
        config = quick_config()
    elif args.full:
        config = full_config()
    elif args.config:
        config = load_config(args.config)
    else:
        config = default_config()
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
    return TGRun(config.validate(), backend=args.backend, validate=not args.no_validate)


def main(argv=None) -> int:
    """Run the TG study from the command line; return the exit status (0, 1 failed points, 2, 130)."""
    from crossbar.study import main as study_main
    from crossbar.tgsum.study import TGStudy

    return study_main(TGStudy(), argv, prog=PROG, quick_help="small sweep (N = 16-32, 4 inputs)")
