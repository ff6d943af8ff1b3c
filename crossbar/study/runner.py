"""Running a study: order, execute, checkpoint, resume, archive.

``run(study, config, out, ...)`` is the one entry point (the command line of
:mod:`crossbar.study.cli` calls it).  Rules it keeps:

* tasks start expensive-first (:attr:`Task.cost`); results are combined in the order
  :meth:`Study.tasks` lists them, whatever order they finish in, so every executor gives
  the same archive;
* a failed task is recorded (``engine_task_status = "failed"`` and its message) and the
  run goes on;
* checkpoints: the archive is rewritten when ``checkpoint_s`` seconds passed or a
  ``checkpoint_fraction`` of the work finished since the last write (and again on
  Ctrl-C), so a killed run loses at most about that fraction; ``resume=True`` continues
  from the archive itself after checking it belongs to this study and these settings;
* the archive is written atomically (:func:`crossbar.archive.write_dataset`) under an
  exclusive lock (:class:`crossbar.archive.ArchiveLock`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

import numpy as np
import xarray as xr

from crossbar.archive import (ArchiveLock, check_writable, decode_dataset, encode_dataset, provenance, read_dataset,
                              write_dataset)
from crossbar.study.core import ENGINE_VARS, Study, strip_engine_vars
from crossbar.study.execute import make_executor
from devices.errors import ArchiveError, ParameterError

__all__ = ["run", "RunResult", "open_archive"]

log = logging.getLogger(__name__)


@dataclasses.dataclass
class RunResult:
    """What :func:`run` returns."""

    dataset: xr.Dataset
    """The archive's content (with the engine's task table)."""
    path: Path
    """The archive."""
    failed: dict
    """Task key -> error message, for the tasks that failed in this run."""
    ran: int
    """Tasks run now (resumed tasks not counted)."""
    wall_time_s: float
    """Wall time of the run, s."""


def open_archive(study: Study, path) -> xr.Dataset:
    """Read ``path`` and check that it is an archive of ``study``.

    Raises
    ------
    ArchiveError
        One line saying what the file is not (missing, not HDF5/netCDF, or another study's).
    """
    ds = read_dataset(path)
    if not study.recognizes(ds):
        what = ds.attrs.get("study") or ds.attrs.get("title") or "no study attribute"
        raise ArchiveError(f"{str(path)!r} is not a {study.name} archive (it records: {what})")
    return ds


def _check_tasks(tasks):
    seen = set()
    for t in tasks:
        if t.key in seen:
            raise ParameterError(f"two tasks share the key {t.key!r}; task keys must be unique")
        seen.add(t.key)


def run(study: Study, config, out, *, resume: bool = False, jobs: int = 1, scheduler: str | None = None,
        executor=None, progress: bool = True, checkpoint_s: float = 60.0, checkpoint_fraction: float = 0.05,
        extra_attrs: dict | None = None, lock: bool = True) -> RunResult:
    """Run ``study`` with ``config`` and write the archive ``out``.

    Parameters
    ----------
    study : Study
    config
        The study's validated config.
    out : path
        The ``.h5`` archive (checked writable and locked before any work).
    resume : bool
        Continue from ``out`` if it exists: tasks it holds are not run again.
    jobs : int
        Local worker processes (1: in this process).  Ignored with ``scheduler``/``executor``.
    scheduler : str, optional
        ``tcp://host:port`` of a Dask scheduler, or ``local:N``.
    executor : optional
        An executor object (see :mod:`crossbar.study.execute`); overrides ``jobs``/``scheduler``.
    progress : bool
        Show a tqdm bar.
    checkpoint_s, checkpoint_fraction : float
        Write the archive when this many seconds passed (0: never by time) or this fraction of
        the work finished since the last write.
    extra_attrs : dict, optional
        More archive attributes.
    lock : bool
        Take the archive's :class:`~crossbar.archive.ArchiveLock` (False: the caller holds it).

    Returns
    -------
    RunResult

    Examples
    --------
    See :class:`crossbar.study.Study`.
    """
    if not (isinstance(checkpoint_fraction, (int, float)) and 0 < checkpoint_fraction <= 1):
        raise ParameterError(f"checkpoint_fraction must be in (0, 1], got {checkpoint_fraction!r}")
    out = check_writable(out)
    executor = executor or make_executor(jobs, scheduler)
    kw = dict(resume=resume, executor=executor, progress=progress, checkpoint_s=checkpoint_s,
              checkpoint_fraction=checkpoint_fraction, extra_attrs=extra_attrs or {})
    if not lock:
        return _run_locked(study, config, out, **kw)
    with ArchiveLock(out):
        return _run_locked(study, config, out, **kw)


def _run_locked(study, config, out, *, resume, executor, progress, checkpoint_s, checkpoint_fraction, extra_attrs):
    from tqdm import tqdm

    t_start = time.perf_counter()
    tasks = list(study.tasks(config))
    _check_tasks(tasks)
    previous, prev_table, done = None, {}, set()
    if resume and out.exists():
        old = open_archive(study, out)
        study.check_resume(config, old)
        done = set(study.completed(config, old)) & {t.key for t in tasks}
        if "engine_task_key" in old:
            prev_table = {str(k): (str(s), str(m), float(e)) for k, s, m, e in
                          zip(*(old[v].values for v in ENGINE_VARS))}
        previous = strip_engine_vars(old)
    pending = [t for t in tasks if t.key not in done]
    if previous is not None and not pending:
        log.info("resume: all %d tasks are in %s; nothing to do", len(tasks), out)
        return RunResult(old, out, {}, 0, time.perf_counter() - t_start)
    order = list(study.order(config, pending))
    if sorted(t.key for t in order) != sorted(t.key for t in pending):
        raise ParameterError(f"{type(study).__name__}.order must return the tasks it was given, each once")
    total_cost = sum(t.cost for t in pending) or 1.0
    cost_of = {t.key: t.cost for t in pending}
    results, failures, elapsed = {}, {}, {}
    state = {"last": time.perf_counter(), "cost": 0.0, "count": 0, "write_s": 0.0}
    settings_json = json.dumps(study.settings(config), sort_keys=True, default=str)

    def save(final: bool):
        t0 = time.perf_counter()
        res = {t.key: results[t.key] for t in pending if t.key in results}
        fail = {t.key: failures[t.key] for t in pending if t.key in failures}
        ds = study.combine(config, res, fail, previous, final)
        ds = _with_task_table(ds, tasks, done, prev_table, results, failures, elapsed)
        complete = final and len(res) + len(fail) == len(pending)
        attrs = provenance(study=study.name, settings_json=settings_json, executor=executor.description,
                           wall_time_s=round(time.perf_counter() - t_start, 3), wall_time_units="s",
                           complete=int(complete), tasks_total=len(tasks), tasks_failed=len(fail),
                           **study.attrs(config), **extra_attrs)
        ds.attrs.update(attrs)
        ds = decode_dataset(encode_dataset(ds))  # what the archive holds (JSON attributes, Conventions)
        write_dataset(ds, out)
        state.update(last=time.perf_counter(), cost=0.0, count=0, write_s=time.perf_counter() - t0)
        return ds

    bar = tqdm(total=len(pending), desc=study.name, unit="task", dynamic_ncols=True, disable=not progress)
    try:
        with executor:
            for oc in executor.run(study, config, order):
                elapsed[oc.key] = oc.elapsed
                if oc.error is None:
                    results[oc.key] = oc.dataset
                else:
                    failures[oc.key] = oc.error
                    log.warning("task %s failed: %s", oc.key, oc.error)
                bar.update(1)
                state["cost"] += cost_of.get(oc.key, 0.0) / total_cost
                state["count"] += 1 / len(pending)
                since = time.perf_counter() - state["last"]
                by_time = checkpoint_s and since >= checkpoint_s
                by_work = max(state["cost"], state["count"]) >= checkpoint_fraction and since >= 2 * state["write_s"]
                if (by_time or by_work) and len(results) + len(failures) < len(pending):
                    save(False)  # finished work survives a crash or Ctrl-C for --resume
    except KeyboardInterrupt:
        bar.close()
        if results or failures:
            save(False)
        raise
    finally:
        bar.close()
    ds = save(True)
    return RunResult(ds, out, dict(failures), len(results) + len(failures), time.perf_counter() - t_start)


def _with_task_table(ds, tasks, done, prev_table, results, failures, elapsed):
    keys, status, message, secs = [], [], [], []
    for t in tasks:
        keys.append(t.key)
        if t.key in results:
            status.append("ok"), message.append(""), secs.append(elapsed.get(t.key, np.nan))
        elif t.key in failures:
            status.append("failed"), message.append(failures[t.key]), secs.append(elapsed.get(t.key, np.nan))
        elif t.key in done:
            s, m, e = prev_table.get(t.key, ("ok", "", np.nan))
            status.append(s), message.append(m), secs.append(e)
        else:
            status.append("pending"), message.append(""), secs.append(np.nan)
    ds = strip_engine_vars(ds).copy()
    ds["engine_task_key"] = ("engine_task", np.array(keys, dtype=object).astype(str),
                             {"long_name": "task key (Study.tasks)", "units": ""})
    ds["engine_task_status"] = ("engine_task", np.array(status, dtype=object).astype(str),
                                {"long_name": "ok, failed or pending", "units": ""})
    ds["engine_task_message"] = ("engine_task", np.array(message, dtype=object).astype(str),
                                 {"long_name": "error message of a failed task", "units": ""})
    ds["engine_task_elapsed"] = ("engine_task", np.array(secs, float),
                                 {"long_name": "time the task took on its worker", "units": "s"})
    return ds
