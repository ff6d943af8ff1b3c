"""The TG sweep on the study engine (:mod:`crossbar.study`).

``TGRun``                     a sweep plus how it is solved (backend, ngspice validation)
``TGStudy``                   the :class:`crossbar.study.Study`: tasks, combine, resume, summary, figures
``run_study(config, out)``    run a sweep from Python (serial, ``jobs`` processes or ``scheduler``)

Resume works on points: tasks are the circuits of the points the archive does not hold
with status ``ok``; a checkpoint keeps the points whose circuits have all finished.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging

import xarray as xr

from crossbar.study import Study, run
from crossbar.tgsum import tasks as T
from crossbar.tgsum.analysis import contest_demo
from crossbar.tgsum.assemble import assemble, merge, points_of
from crossbar.tgsum.config import BACKENDS, StudyConfig, check_backend
from crossbar.tgsum.report import summary_text
from devices.errors import ArchiveError, ParameterError

__all__ = ["TGRun", "TGStudy", "run_study", "PHYSICS_KEYS"]

log = logging.getLogger(__name__)

#: Settings a resumed archive must share with the run (the sweep's grids may grow).
PHYSICS_KEYS = ("samples", "seed", "v_max", "r_access", "calibrate_access", "validate_samples")
TITLE = "TG current-summing study"


@dataclasses.dataclass(frozen=True)
class TGRun:
    """A TG sweep and how it is solved."""

    sweep: StudyConfig
    """The sweep (validated)."""
    backend: str = "native"
    """Solver of the study's circuits: ``"native"`` or ``"ngspice"``."""
    validate: bool = True
    """Re-solve the points with ``N <= sweep.validate_max_n`` on both backends (if ngspice is available)."""

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ParameterError(f"unknown backend {self.backend!r}; choose one of {list(BACKENDS)}")
        self.sweep.validate()
        check_backend(self.sweep, self.backend)


@functools.lru_cache(maxsize=1)
def _ngspice_available() -> bool:
    from crossbar.ngspice import available

    return available()


def _has_points(ds) -> bool:
    return ds is not None and "point" in ds.dims and "status" in ds


class TGStudy(Study):
    """The TG current-summing study (issue 3) as an engine study; see :mod:`crossbar.tgsum`."""

    name = "tg_current_summing"
    description = ("TG current-summing study: sweep crossbar size, TG sets, wire/TG/summing-line resistances, "
                   "cells, access transistors and column density; measure each TG set's output against the "
                   "ideal sum (error, wire/TG split, crosstalk, superposition); validate against ngspice; "
                   "write an HDF5 archive, PNG figures and a summary.")

    # ------------------------------------------------------------------ command line
    def add_arguments(self, parser):
        from crossbar.tgsum.cli import add_arguments

        add_arguments(parser)

    def config_from_args(self, args) -> TGRun:
        from crossbar.tgsum.cli import run_from_args

        return run_from_args(args)

    def check_environment(self, config: TGRun, args) -> None:
        from devices.errors import BackendError

        if config.backend == "ngspice" or getattr(args, "validate_ngspice", False):
            if not _ngspice_available():
                flag = "--backend ngspice" if config.backend == "ngspice" else "--validate-ngspice"
                raise BackendError(f"ngspice is not available (install ngspice and libngspice0, see README); {flag} needs it")
        self._validating(config, quiet=False)  # says once that validation is skipped without ngspice

    # ------------------------------------------------------------------ work
    def _validating(self, config: TGRun, quiet: bool = True) -> bool:
        if not (config.validate and config.sweep.validate_max_n > 0):
            return False
        if not _ngspice_available():
            if not quiet:
                log.info("ngspice is not available: no validation against ngspice in this run")
            return False
        return True

    def tasks(self, config: TGRun):
        return T.circuit_tasks(config.sweep, config.sweep.points(), config.backend, self._validating(config))

    def run_task(self, config: TGRun, task) -> xr.Dataset:
        return T.run_task(config.sweep, config.backend, task)

    def order(self, config: TGRun, tasks):
        """Point by point, the most expensive points first: a checkpoint saves the points whose
        circuits are all done, so starting a point's circuits together loses little on a kill
        (expensive-first alone left the cheap reference circuits of every point to the end)."""
        by_key = {t.key: t for t in tasks}
        ordered, seen = [], set()

        def needs(pt):
            keys = [T.circuit_key(k) for k, _, _ in T.circuits_of(pt).values()] + [T.validate_key(pt)]
            return sorted((by_key[k] for k in keys if k in by_key), key=lambda t: -t.cost)

        points = [(pt, needs(pt)) for pt in config.sweep.points()]
        for pt, ts in sorted(points, key=lambda item: -max((t.cost for t in item[1]), default=0.0)):
            for t in ts:
                if t.key not in seen:
                    seen.add(t.key)
                    ordered.append(t)
        return ordered + [t for t in tasks if t.key not in seen]

    def completed(self, config: TGRun, previous) -> set:
        """Every task except those the points not yet ``ok`` in ``previous`` need."""
        if not _has_points(previous):
            return set()
        ok = {pt for pt, st in zip(points_of(previous), previous["status"].values) if st == "ok"}
        todo = [pt for pt in config.sweep.points() if pt not in ok]
        needed = {t.key for t in T.circuit_tasks(config.sweep, todo, config.backend, validate=True)}
        return {t.key for t in self.tasks(config)} - needed

    def combine(self, config: TGRun, results, failures, previous, final):
        sweep = config.sweep
        ok = set()
        if _has_points(previous):
            ok = {pt for pt, st in zip(points_of(previous), previous["status"].values) if st == "ok"}
        todo = [pt for pt in sweep.points() if pt not in ok]
        res, errs, timing = {}, {}, {}
        for key, ds in results.items():
            kind, _, _ = key.partition(" ")
            pkey = tuple(json.loads(key.partition(" ")[2]))
            res[(kind, pkey)] = T.circuit_outputs(ds) if kind == "circuit" else T.validation_outputs(ds)
            timing[(kind, pkey)] = float(ds.attrs.get("elapsed", 0.0))
        for key, msg in failures.items():
            kind, _, rest = key.partition(" ")
            pkey = tuple(json.loads(rest))
            errs[(kind, pkey)] = msg
            timing[(kind, pkey)] = 0.0
        validating = {pt for pt in todo if pt[0] <= sweep.validate_max_n} if self._validating(config) else set()

        def finished(pt):
            circ = all(("circuit", key) in timing for key, _, _ in T.circuits_of(pt).values())
            return circ and (pt not in validating or ("validate", pt) in timing)

        pts = todo if final else [pt for pt in todo if finished(pt)]
        if not pts:
            return previous if previous is not None else xr.Dataset(attrs={"title": TITLE})
        ds = assemble(sweep, pts, res, errs, timing, backend=config.backend)
        if _has_points(previous):
            ds = merge(previous, ds, sweep)
        return ds

    # ------------------------------------------------------------------ archive and output
    def settings(self, config: TGRun) -> dict:
        return {"sweep": json.loads(config.sweep.to_json()), "backend": config.backend, "validate": config.validate}

    def attrs(self, config: TGRun) -> dict:
        from crossbar import HAVE_CHOLMOD

        return {"backend": config.backend, "config_json": config.sweep.to_json(),
                "seeds": f"conductances/assignments/inputs from seed {config.sweep.seed}",
                "basis_contest_refusal": contest_demo(),
                "native_factorization": "cholmod" if HAVE_CHOLMOD else "superlu"}

    def recognizes(self, ds) -> bool:
        return ds.attrs.get("study") == self.name or (ds.attrs.get("title") == TITLE and "config_json" in ds.attrs)

    def check_resume(self, config: TGRun, previous) -> None:
        try:
            prev = json.loads(previous.attrs["config_json"])
        except (KeyError, ValueError, TypeError):
            raise ArchiveError("cannot resume: the archive has no config_json attribute (not made by this study)") from None
        now = json.loads(config.sweep.to_json())
        diff = [k for k in PHYSICS_KEYS if prev.get(k) != now.get(k)]
        for name, c in now["cells"].items():
            if name in prev.get("cells", {}) and prev["cells"][name] != c:
                diff.append(f"cells[{name!r}]")
        if _has_points(previous) and previous.attrs.get("backend", config.backend) != config.backend:
            diff.append(f"backend: archive {previous.attrs.get('backend')!r} vs now {config.backend!r}")
        if diff:
            shown = ", ".join(f"{k}: archive {prev.get(k)!r} vs now {now.get(k)!r}" if k in PHYSICS_KEYS else k
                              for k in diff)
            raise ArchiveError(f"cannot resume: the archive was made with different settings ({shown}); "
                               "use another --out or drop --resume")

    def summary(self, ds) -> str:
        if not _has_points(ds):
            return f"{TITLE}: no finished points in this archive yet"
        return summary_text(ds)

    def figures(self, ds, folder, stem):
        if not _has_points(ds):
            return []
        from crossbar.tgsum.figures import make_figures

        return make_figures(ds, folder, stem)

    def failed_count(self, ds) -> int:
        if not _has_points(ds):
            return super().failed_count(ds)
        return int((ds["status"].values != "ok").sum())


def run_study(config: StudyConfig, out, *, backend: str = "native", jobs: int = 1, scheduler: str | None = None,
              resume: bool = False, progress: bool = True, validate: bool = True,
              checkpoint_s: float = 60.0, checkpoint_fraction: float = 0.05) -> xr.Dataset:
    """Evaluate the sweep on the engine, write the archive atomically, return the Dataset.

    Parameters
    ----------
    config : StudyConfig
    out : path of the ``.h5`` archive.
    backend : "native" or "ngspice"
    jobs : worker processes (1: in this process); ``scheduler``: a Dask scheduler address or ``local:N``.
    resume : skip points whose status is ``"ok"`` in an existing archive at ``out``.
    validate : re-solve points with ``N <= config.validate_max_n`` with the other backend.
    checkpoint_s, checkpoint_fraction : write the finished points every this many seconds or
        this fraction of the work (attribute ``complete = 0``), and again on Ctrl-C.
    """
    result = run(TGStudy(), TGRun(config, backend, validate), out, resume=resume, jobs=jobs, scheduler=scheduler,
                 progress=progress, checkpoint_s=checkpoint_s, checkpoint_fraction=checkpoint_fraction)
    return result.dataset
