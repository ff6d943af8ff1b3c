"""The BasisN accuracy study on the engine (:mod:`crossbar.study`).

One task per (data set, seed): :func:`basisn.experiments.run_seed` with the data set's
protocol.  Tasks run serially, in processes (``--jobs``) or on a Dask cluster
(``--scheduler``) and are combined with ``xr.concat`` along ``seed``, then ``dataset``.
A seed gives the same numbers whichever way it runs (each task owns its random
generators; BLAS runs one thread per task).

``AccuracyRun``        what one run computes (sweep, quick, data sets)
``AccuracyStudy``      the engine study (tasks, combine, resume, summary, figures)
``run_study``          the same from Python
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import xarray as xr

from basisn.experiments import DATASETS, SEED_MAX, StudyConfig, count_runs, protocols, run_seed
from crossbar.study import Study, Task
from devices.errors import ArchiveError, ParameterError

__all__ = ["AccuracyRun", "AccuracyStudy", "run_study"]


@dataclass(frozen=True)
class AccuracyRun:
    """What one run of the accuracy study computes."""

    sweep: StudyConfig
    """The sweep (bits, sizes, seeds, K, regularizer)."""
    quick: bool = False
    """Short protocols (see :func:`protocols`)."""
    datasets: tuple = DATASETS
    """Data sets to run, a subset of :data:`DATASETS`."""

    def __post_init__(self):
        if not isinstance(self.sweep, StudyConfig):
            raise ParameterError(f"AccuracyRun.sweep must be a StudyConfig, got {type(self.sweep).__name__}")
        if not self.datasets or any(d not in DATASETS for d in self.datasets) or len(set(self.datasets)) != len(self.datasets):
            raise ParameterError(f"datasets = {self.datasets!r}: give distinct names out of {list(DATASETS)}")
        object.__setattr__(self, "datasets", tuple(d for d in DATASETS if d in self.datasets))


#: Relative cost of one training run per data set (the MNIST-1D CNN is slower than the digits MLP).
_COST = {"digits": 1.0, "mnist1d": 3.0}


class AccuracyStudy(Study):
    """The BasisN accuracy study (paper figs. 5 and 6) on the engine: one task per (data set, seed)."""

    name = "basisn_accuracy"
    description = ("BasisN accuracy study: coefficient bits x crossbar size (paper fig. 5), cell bits (fig. 6), "
                   "contest regularizer parallelism, float baseline; digits MLP and MNIST-1D CNN.")
    blas_threads = 1  # small matrices: BLAS threads only fight over the cores

    def add_arguments(self, parser):
        from crossbar.study import float_arg, int_arg

        g = parser.add_argument_group("accuracy study")
        g.add_argument("--seeds", type=int_arg(0, SEED_MAX), nargs="+",
                       help="seeds (default: 0 with --quick, else 0 1 2)")
        g.add_argument("--only", nargs="+", choices=list(DATASETS), help="run only these data sets")
        g.add_argument("--K", type=int_arg(1, 1024), default=4, help="TG sets per crossbar for the scheduler (default 4)")
        g.add_argument("--contest-power", type=float_arg(), default=16.0,
                       help="column power-mean exponent of the 'balanced' regularizer, 1-64 (default 16)")
        g.add_argument("--contest-density", type=float_arg(), default=0.5,
                       help="pattern-density weight of the 'balanced' regularizer, >= 0 (default 0.5)")

    def config_from_args(self, args):
        seeds = tuple(args.seeds) if args.seeds else ((0,) if args.quick else (0, 1, 2))
        cfg = StudyConfig(seeds=seeds, K=args.K, contest_power=args.contest_power,
                          contest_density=args.contest_density)
        return AccuracyRun(cfg, quick=bool(args.quick), datasets=tuple(args.only or DATASETS))

    def tasks(self, config):
        protos = {p.name: p for p in protocols(config.quick)}
        return [Task(f"{name}/seed={seed}", params=(name, int(seed)),
                     cost=_COST[name] * count_runs(protos[name], config.sweep))
                for name in config.datasets for seed in config.sweep.seeds]

    def run_task(self, config, task):
        name, seed = task.params
        proto = {p.name: p for p in protocols(config.quick)}[name]
        return run_seed(proto, config.sweep, seed).expand_dims(dataset=[name])

    def combine(self, config, results, failures, previous, final):
        pieces = {}
        if previous is not None and "dataset" in previous.dims:
            for name in previous["dataset"].values:
                for seed in previous["seed"].values:
                    part = previous.sel(dataset=[name], seed=[seed])
                    if np.isfinite(part["float_accuracy"].values).all():
                        pieces[f"{name}/seed={int(seed)}"] = part
        pieces.update(results)
        per_set = []
        for name in config.datasets:
            parts = [pieces[f"{name}/seed={s}"] for s in config.sweep.seeds if f"{name}/seed={s}" in pieces]
            if parts:
                per_set.append(xr.concat(parts, dim="seed", combine_attrs="override"))
        if not per_set:
            return xr.Dataset()
        attrs = {}
        for part in per_set:
            attrs.update({k: v for k, v in part.attrs.items() if k.split("_")[0] in DATASETS})
        ds = xr.concat(per_set, dim="dataset", combine_attrs="override")  # variable attrs of the first set
        ds = ds.assign_coords(dataset=("dataset", list(ds["dataset"].values), {"units": ""}))
        ds.attrs = attrs
        return ds

    def settings(self, config):
        return {"sweep": asdict(config.sweep), "quick": config.quick, "datasets": list(config.datasets)}

    resume_keys = ("quick",)

    def check_resume(self, config, previous):
        super().check_resume(config, previous)
        prev = json.loads(previous.attrs["settings_json"])["sweep"]
        now = asdict(config.sweep)
        diff = [k for k in now if k != "seeds" and json.dumps(prev.get(k)) != json.dumps(now[k])]
        if diff:
            raise ArchiveError(f"cannot resume: the archive was made with other settings ({', '.join(diff)}); "
                               "use another --out or drop --resume")

    def attrs(self, config):
        cfg = config.sweep
        return {"K": cfg.K, "ref_d": cfg.ref_d, "ref_bits": cfg.ref_bits, "sigma": cfg.sigma,
                "quick": int(config.quick), "contest_power": cfg.contest_power,
                "contest_density": cfg.contest_density,
                "accuracy_units_note": "accuracies are fractions 0-1 of the fixed test split"}

    def recognizes(self, ds):
        if ds.attrs.get("study"):
            return ds.attrs["study"] == self.name
        return "dataset" in ds.dims and "accuracy" in ds and "ref_d" in ds.attrs  # archives before the engine

    def summary(self, ds):
        from basisn.accuracy_report import summary

        return summary(ds)

    def figures(self, ds, folder, stem):
        from basisn.accuracy_report import plot

        return plot(ds, folder, stem)


def run_study(cfg: StudyConfig, quick: bool, out, *, only=None, jobs: int = 1, scheduler: str | None = None,
              progress: bool = True, resume: bool = False) -> xr.Dataset:
    """Run every protocol through the engine and write the archive ``out``.

    Parameters
    ----------
    cfg : StudyConfig
    quick : bool
        Short protocols (see :func:`protocols`).
    out : path
        The ``.h5`` archive.
    only : sequence of str, optional
        Data set names to run (default: all).
    jobs, scheduler, progress, resume
        As :func:`crossbar.study.run`.
    """
    from crossbar.study import run

    config = AccuracyRun(cfg, quick=quick, datasets=tuple(only or DATASETS))
    return run(AccuracyStudy(), config, out, jobs=jobs, scheduler=scheduler, progress=progress,
               resume=resume).dataset
