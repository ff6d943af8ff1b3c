"""What a study declares: :class:`Task` and the :class:`Study` base class.

A study is a small class.  The engine (:mod:`crossbar.study.runner`,
:mod:`crossbar.study.cli`) owns everything else: execution (serial, processes, Dask),
progress, checkpoints, resume, the archive and the command line.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Sequence

import xarray as xr

from devices.errors import ArchiveError, ParameterError

__all__ = ["Task", "Study", "ENGINE_VARS", "strip_engine_vars"]

#: Variables the engine adds to every archive (one entry per task, dim ``engine_task``).
ENGINE_VARS = ("engine_task_key", "engine_task_status", "engine_task_message", "engine_task_elapsed")


@dataclasses.dataclass(frozen=True)
class Task:
    """One independent piece of a study's work.

    Equality and hash use ``key`` alone, so tasks can be set members whatever ``params``
    holds.

    Examples
    --------
    >>> a = Task("seed=1", params={"seed": 1}, cost=2.0)
    >>> a == Task("seed=1", params={"seed": 1}), a.cost
    (True, 2.0)
    """

    key: str
    """Unique, stable name of the task (a few words, e.g. ``"digits/seed=0"``); the archive
    records each task's status under it and ``--resume`` skips finished keys."""
    params: Any = dataclasses.field(default=None, compare=False)
    """What ``run_task`` needs besides the study's config; picklable (tuples, dicts, numbers, text)."""
    cost: float = dataclasses.field(default=1.0, compare=False)
    """Relative cost estimate (any unit, > 0): the engine starts expensive tasks first."""
    memory: float | None = dataclasses.field(default=None, compare=False)
    """Peak memory estimate, bytes (optional); on a Dask cluster whose workers declare a
    ``MEMORY`` resource, the task reserves this much."""

    def __post_init__(self):
        if not isinstance(self.key, str) or not self.key:
            raise ParameterError(f"Task.key must be a non-empty string, got {self.key!r}")
        if not (isinstance(self.cost, (int, float)) and math.isfinite(self.cost) and self.cost > 0):
            raise ParameterError(f"Task.cost must be a finite number > 0, got {self.cost!r}")
        if self.memory is not None and not (isinstance(self.memory, (int, float)) and self.memory > 0):
            raise ParameterError(f"Task.memory must be None or a number of bytes > 0, got {self.memory!r}")


def strip_engine_vars(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` without the engine's task table."""
    drop = [v for v in ENGINE_VARS if v in ds.variables]
    ds = ds.drop_vars(drop)
    if "engine_task" in ds.dims and not any("engine_task" in ds[v].dims for v in ds.variables):
        ds = ds.drop_dims("engine_task", errors="ignore")
    return ds


class Study:
    """Base class of a study.  Subclasses set :attr:`name` and override the methods marked
    *required*; the rest have defaults.

    The instance must be picklable (module-level class, plain attributes): it travels to
    worker processes and Dask workers with every task.

    Examples
    --------
    A complete study: squares of a few integers, one task per integer, combined along ``x``.

    >>> import xarray as xr
    >>> from crossbar.study import Study, Task, run
    >>> class Squares(Study):
    ...     name = "squares"
    ...     concat_dim = "x"
    ...     def config_from_args(self, args):
    ...         return {"xs": [1, 2, 3]}
    ...     def tasks(self, config):
    ...         return [Task(f"x={x}", params=x, cost=x) for x in config["xs"]]
    ...     def run_task(self, config, task):
    ...         return xr.Dataset({"y": ("x", [task.params ** 2])}, coords={"x": [task.params]})
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     result = run(Squares(), {"xs": [1, 2, 3]}, pathlib.Path(tmp) / "sq.h5", progress=False)
    >>> result.dataset["y"].values.tolist(), result.failed
    ([1, 4, 9], {})
    """

    name: str = "study"
    """Short name; written as the archive's ``study`` attribute and checked by ``--resume``/``--plot-only``."""
    description: str = ""
    """One paragraph for ``--help``."""
    default_out: Path | None = None
    """Default archive path (``--out``); None: ``results/<name>.h5``."""
    concat_dim: str | None = None
    """If set, the default :meth:`combine` concatenates task results along this dim; else it merges them."""
    resume_keys: Sequence[str] | None = None
    """Settings (keys of :meth:`settings`) that must match for ``--resume``; None: all of them."""
    blas_threads: int | None = 1
    """BLAS/OpenMP threads while a task runs (None: leave them alone).  One thread per task
    makes every executor compute the same bits: a Dask worker starts with one BLAS thread,
    a process-pool worker with as many as the machine has cores, and a multi-threaded
    BLAS rounds differently; with one worker process per core it is also the fastest."""

    # ------------------------------------------------------------------ command line
    def add_arguments(self, parser) -> None:
        """Add the study's own options to ``parser`` (the engine adds the common ones)."""

    def config_from_args(self, args):
        """*Required.* The validated config from parsed arguments (``args.quick`` is set by
        the engine); raise :class:`devices.errors.ParameterError` naming a bad value."""
        raise NotImplementedError

    def check_environment(self, config, args) -> None:
        """Check what the run needs besides arguments (e.g. ngspice) before any work."""

    # ------------------------------------------------------------------ work
    def tasks(self, config) -> Sequence[Task]:
        """*Required.* The tasks of a run, in the order results are combined."""
        raise NotImplementedError

    def run_task(self, config, task: Task) -> xr.Dataset:
        """*Required.* Compute one task: a pure function of ``config`` and ``task``."""
        raise NotImplementedError

    def order(self, config, tasks: Sequence[Task]) -> list:
        """The order tasks start in (default: expensive first, by :attr:`Task.cost`).

        Only scheduling depends on it, never the archive: results are combined in the
        order of :meth:`tasks`.  A study whose results are saved in groups (the TG study
        saves a point once its four circuits are done) can start the tasks of one group
        together, so that a checkpoint keeps more of the finished work.
        """
        return sorted(tasks, key=lambda t: -t.cost)  # stable: equal costs keep the study's order

    def combine(self, config, results: dict, failures: dict, previous: xr.Dataset | None, final: bool) -> xr.Dataset:
        """The study's Dataset from task results.

        Parameters
        ----------
        config
            The run's config.
        results : dict
            Task key -> Dataset for the tasks finished in this run, in task order.
        failures : dict
            Task key -> error message for tasks that raised.
        previous : xarray.Dataset or None
            What a resumed archive already holds (engine variables removed).
        final : bool
            False for a checkpoint (some tasks still running).

        The default concatenates along :attr:`concat_dim` (or merges) ``previous`` and the
        results.
        """
        parts = ([previous] if previous is not None else []) + list(results.values())
        if not parts:
            return xr.Dataset()
        if self.concat_dim:
            return xr.concat(parts, dim=self.concat_dim, combine_attrs="override", data_vars="all")
        return xr.merge(parts, combine_attrs="override", compat="no_conflicts", join="outer")

    def completed(self, config, previous: xr.Dataset) -> set:
        """Keys of the tasks a resumed archive already holds (default: those the engine
        recorded with status ``ok``)."""
        if "engine_task_key" not in previous:
            return set()
        keys = previous["engine_task_key"].values
        status = previous["engine_task_status"].values
        return {str(k) for k, s in zip(keys, status) if s == "ok"}

    # ------------------------------------------------------------------ archive and output
    def settings(self, config) -> dict:
        """The config as a JSON-able dict (stored as the ``settings_json`` attribute)."""
        if dataclasses.is_dataclass(config):
            return dataclasses.asdict(config)
        return dict(config)

    def attrs(self, config) -> dict:
        """Extra archive attributes (units and descriptions of settings, seeds, ...)."""
        return {}

    def recognizes(self, ds: xr.Dataset) -> bool:
        """Whether ``ds`` is an archive of this study (default: its ``study`` attribute)."""
        return ds.attrs.get("study") == self.name

    def check_resume(self, config, previous: xr.Dataset) -> None:
        """Refuse to resume an archive made with other settings (:class:`ArchiveError`)."""
        try:
            prev = json.loads(previous.attrs["settings_json"])
        except (KeyError, ValueError, TypeError):
            raise ArchiveError("cannot resume: the archive records no settings (settings_json)") from None
        now = json.loads(json.dumps(self.settings(config), default=str))
        keys = self.resume_keys if self.resume_keys is not None else sorted(set(prev) | set(now))
        diff = [k for k in keys if prev.get(k) != now.get(k)]
        if diff:
            shown = "; ".join(f"{k}: archive {prev.get(k)!r}, now {now.get(k)!r}" for k in diff[:4])
            raise ArchiveError(f"cannot resume: the archive was made with other settings ({shown}); "
                               "use another --out or drop --resume")

    def summary(self, ds: xr.Dataset) -> str:
        """The printed summary of an archive."""
        return f"{self.name}: {dict(ds.sizes)}"

    def figures(self, ds: xr.Dataset, folder: Path, stem: str) -> list:
        """Write the figures of an archive into ``folder`` (names starting with ``stem``); return their paths."""
        return []

    def failed_count(self, ds: xr.Dataset) -> int:
        """How many results of the archive failed (exit status 1 when > 0)."""
        if "engine_task_status" in ds:
            return int((ds["engine_task_status"].values == "failed").sum())
        return 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
