"""The command line every study shares.

``main(study, argv)`` parses the common options plus the study's own
(:meth:`Study.add_arguments`), checks every argument, the output path, the archive to
resume and the executor *before any work*, runs the study, prints its summary and writes
its figures next to the archive (summary and figures see the archive without the
engine's task table).

Common options: ``--out PATH``, ``--resume``, ``--plot-only ARCHIVE``, ``--jobs N``,
``--scheduler ADDRESS|local:N``, ``--no-progress``, ``--quick``.

Exit status: 0 done; 1 done but some tasks failed (recorded in the archive); 2 bad
arguments, unusable output or archive (one line on stderr); 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from crossbar.study.core import Study, strip_engine_vars
from crossbar.study.execute import make_executor, parse_scheduler
from devices.errors import XbarError

__all__ = ["main", "build_parser", "UsageError", "int_arg", "float_arg"]


class UsageError(Exception):
    """A command-line error (printed as one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        raise UsageError(message)


def int_arg(low: int | None = None, high: int | None = None):
    """An argparse ``type`` accepting integers in ``[low, high]`` (message names the range).

    Examples
    --------
    >>> int_arg(1, 8)("3")
    3
    """
    def conv(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if (low is not None and v < low) or (high is not None and v > high):
            rng = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
            raise argparse.ArgumentTypeError(f"{v} is outside the allowed range {rng}")
        return v
    conv.__name__ = "integer"
    return conv


def float_arg(low: float | None = None, high: float | None = None, *, low_open: bool = False, allow_inf: bool = False):
    """An argparse ``type`` accepting finite floats in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    import math

    def conv(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if math.isnan(v) or (math.isinf(v) and not allow_inf):
            raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
        if (low is not None and (v < low or (low_open and v == low))) or (high is not None and v > high):
            lo = "-inf" if low is None else f"{low:g}"
            raise argparse.ArgumentTypeError(f"{v:g} is outside the allowed range {'(' if low_open else '['}{lo}, "
                                             f"{'inf' if high is None else f'{high:g}'}]")
        return v
    conv.__name__ = "number"
    return conv


def build_parser(study: Study, prog: str | None = None, quick_help: str | None = None) -> argparse.ArgumentParser:
    """The parser: the common options, then the study's."""
    prog = prog or study.name
    default_out = study.default_out or Path("results") / f"{study.name}.h5"
    p = _Parser(prog=prog, description=study.description or None,
                epilog="Exit status: 0 done; 1 some tasks failed (recorded in the archive); 2 bad arguments; "
                       "130 interrupted.")
    c = p.add_argument_group("common study options")
    c.add_argument("--out", type=Path, default=default_out, help=f"archive to write (default {default_out})")
    c.add_argument("--resume", action="store_true",
                   help="continue from the archive at --out: tasks it holds are not run again (settings must match)")
    c.add_argument("--plot-only", metavar="ARCHIVE", type=Path,
                   help="only print the summary and write the figures of ARCHIVE, without computing")
    c.add_argument("--jobs", type=int_arg(1, 4096), default=min(2, os.cpu_count() or 1), metavar="N",
                   help="local worker processes (default %(default)s; 1: in this process)")
    c.add_argument("--scheduler", metavar="ADDRESS", type=str,
                   help="run the tasks on a Dask cluster: tcp://host:port of a running scheduler, or local:N "
                        "to start N worker processes here (needs the [distributed] extra)")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.add_argument("--quick", action="store_true", help=quick_help or "a small, fast version of the study")
    study.add_arguments(p)
    return p


def main(study: Study, argv=None, prog: str | None = None, quick_help: str | None = None) -> int:
    """Run ``study`` from the command line ``argv``; return the exit status."""
    from crossbar.study.runner import open_archive, run

    prog = prog or study.name
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format=f"{prog}: %(message)s", stream=sys.stderr)
    parser = build_parser(study, prog, quick_help)
    try:
        args = parser.parse_args(argv)
        if args.plot_only is not None:
            ds = strip_engine_vars(open_archive(study, args.plot_only))
            print(study.summary(ds))
            paths = study.figures(ds, args.plot_only.parent, args.plot_only.stem)
            if paths:
                print("\nfigures: " + ", ".join(str(x) for x in paths))
            return 0
        if args.scheduler is not None:
            parse_scheduler(args.scheduler)
        config = study.config_from_args(args)
        executor = make_executor(args.jobs, args.scheduler)
        from crossbar.archive import ArchiveLock, check_writable

        check_writable(args.out)
        with ArchiveLock(args.out):
            if args.resume and args.out.exists():
                study.check_resume(config, open_archive(study, args.out))
            study.check_environment(config, args)
            logging.getLogger(prog).info("%d tasks, %s, archive %s", len(study.tasks(config)), executor.description,
                                         args.out)
            result = run(study, config, args.out, resume=args.resume, executor=executor,
                         progress=not args.no_progress, lock=False)
        ds = result.dataset
        status = ds["engine_task_status"].values if "engine_task_status" in ds else ()
        if len(status) and not (status == "ok").any():  # nothing to summarize or plot
            first = str(ds["engine_task_message"].values[0]) if "engine_task_message" in ds else ""
            print(f"{prog}: every task failed ({len(status)}), recorded in {args.out}; first: {first}", file=sys.stderr)
            return 1
        print(study.summary(strip_engine_vars(ds)))
        paths = study.figures(strip_engine_vars(ds), args.out.parent, args.out.stem)
        print(f"\narchive: {args.out}" + ("\nfigures: " + ", ".join(str(x) for x in paths) if paths else ""))
        print(f"total time: {result.wall_time_s:.1f} s")
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except (XbarError, OSError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    failed = study.failed_count(ds)
    if failed:
        print(f"{prog}: {failed} result(s) failed; their messages are in the archive", file=sys.stderr)
        return 1
    return 0
