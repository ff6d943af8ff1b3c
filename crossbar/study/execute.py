"""Where tasks run: in this process, in a local process pool, or on a Dask cluster.

``make_executor(jobs=1, scheduler=None)``
    ``scheduler=None``: serial (``jobs == 1``) or a :class:`concurrent.futures.ProcessPoolExecutor`
    of ``jobs`` processes.  ``scheduler="tcp://host:port"``: an existing ``dask.distributed``
    cluster; ``scheduler="local:N"``: a ``LocalCluster`` of N single-threaded worker
    processes started (and stopped) here.  Dask is imported only then (extra ``[distributed]``).
``parse_scheduler(text)``
    Checks a ``--scheduler`` value before any work.

Every executor yields :class:`Outcome` objects as tasks finish; a task that raises becomes
an outcome with an error message, never an exception of the run.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
import traceback
import uuid

from devices.errors import BackendError, ParameterError

__all__ = ["Outcome", "execute_task", "make_executor", "parse_scheduler", "SerialExecutor", "PoolExecutor",
           "DaskExecutor"]

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Outcome:
    """The result of one task: ``dataset`` or ``error`` (one line), and the time it took (s)."""

    key: str
    dataset: object = None
    error: str | None = None
    elapsed: float = 0.0
    worker: str = ""


def execute_task(study, config, task) -> Outcome:
    """Run ``study.run_task(config, task)``; an exception becomes ``Outcome.error``."""
    import os
    import socket

    from crossbar.native.options import blas_threads

    t0 = time.perf_counter()
    where = f"{socket.gethostname()}:{os.getpid()}"
    try:
        with blas_threads(study.blas_threads):
            ds = study.run_task(config, task)
        import xarray as xr

        if not isinstance(ds, xr.Dataset):
            raise TypeError(f"{type(study).__name__}.run_task must return an xarray.Dataset, got {type(ds).__name__}")
        return Outcome(task.key, dataset=ds, elapsed=time.perf_counter() - t0, worker=where)
    except Exception as exc:  # recorded per task; the sweep goes on
        log.debug("task %s failed:\n%s", task.key, traceback.format_exc())
        msg = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        return Outcome(task.key, error=msg, elapsed=time.perf_counter() - t0, worker=where)


_ADDRESS = re.compile(r"^(tcp|tls|inproc|ws|wss|ucx)://[A-Za-z0-9_.\-\[\]:]+$")


def parse_scheduler(text: str):
    """``("local", N)`` for ``local:N``, ``("address", text)`` for ``tcp://host:port``.

    Raises
    ------
    ParameterError
        For anything else, naming the two accepted forms.

    Examples
    --------
    >>> parse_scheduler("local:2"), parse_scheduler("tcp://127.0.0.1:8786")
    (('local', 2), ('address', 'tcp://127.0.0.1:8786'))
    """
    m = re.fullmatch(r"local:(\d{1,4})", text or "")
    if m:
        n = int(m.group(1))
        if not 1 <= n <= 1024:
            raise ParameterError(f"--scheduler local:N needs 1 <= N <= 1024 worker processes, got {text!r}")
        return "local", n
    if text and _ADDRESS.match(text):
        return "address", text
    raise ParameterError(f"--scheduler must be a Dask scheduler address such as tcp://10.0.0.5:8786 or local:N "
                         f"(N worker processes on this machine), got {text!r}")


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise BackendError("--scheduler needs dask.distributed; install the extra: pip install '.[distributed]'") from None
    return distributed


class SerialExecutor:
    """Tasks one after the other in this process."""

    description = "serial"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, study, config, tasks):
        for t in tasks:
            yield execute_task(study, config, t)


class PoolExecutor:
    """A local process pool; tasks are submitted in the given (expensive-first) order."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.description = f"{jobs} local processes"
        self._pool = None

    def __enter__(self):
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(max_workers=self.jobs)
        return self

    def __exit__(self, exc_type, *exc):
        if self._pool is not None:
            self._pool.shutdown(wait=exc_type is None, cancel_futures=True)
        return False

    def run(self, study, config, tasks):
        from concurrent.futures import as_completed

        futs = {self._pool.submit(execute_task, study, config, t): t for t in tasks}
        for f in as_completed(futs):
            try:
                yield f.result()
            except Exception as exc:  # a worker process died (e.g. killed): record and go on
                yield Outcome(futs[f].key, error=f"worker process failed: {type(exc).__name__}: {exc}")


class DaskExecutor:
    """Tasks on a ``dask.distributed`` cluster: an existing one (``address``) or a local one (``n_local``).

    Task priorities follow the given order (expensive first); a task with a ``memory`` hint
    reserves that many bytes of a ``MEMORY`` resource when the workers declare one
    (``dask worker ADDRESS --resources MEMORY=8e9``).
    """

    def __init__(self, address: str | None = None, n_local: int | None = None):
        self.address, self.n_local = address, n_local
        self.description = f"Dask scheduler {address}" if address else f"Dask LocalCluster, {n_local} processes"
        self._client = self._cluster = None

    def __enter__(self):
        distributed = _import_distributed()
        try:
            if self.address:
                self._client = distributed.Client(self.address, timeout="20s")
            else:
                self._cluster = distributed.LocalCluster(n_workers=self.n_local, threads_per_worker=1, processes=True,
                                                         dashboard_address=None)
                self._client = distributed.Client(self._cluster)
        except OSError as exc:
            self.__exit__(None)
            raise BackendError(f"cannot reach the Dask scheduler {self.address or 'local'}: {exc}") from None
        return self

    def __exit__(self, *exc):
        for obj in (self._client, self._cluster):
            if obj is not None:
                try:
                    obj.close()
                except Exception:  # closing after an error must not hide it
                    pass
        self._client = self._cluster = None
        return False

    def run(self, study, config, tasks):
        distributed = _import_distributed()
        client = self._client
        workers = client.scheduler_info().get("workers", {})
        has_memory = bool(workers) and all("MEMORY" in w.get("resources", {}) for w in workers.values())
        [study_f, config_f] = client.scatter([study, config], broadcast=True, hash=False)
        futs = {}
        n = len(tasks)
        run_id = uuid.uuid4().hex[:12]
        for i, t in enumerate(tasks):
            kw = {}
            if has_memory and t.memory:
                kw["resources"] = {"MEMORY": float(t.memory)}
            f = client.submit(execute_task, study_f, config_f, t, priority=n - i, pure=False,
                              key=f"{study.name}-{i}-{run_id}", **kw)
            futs[f] = t
        try:
            for f in distributed.as_completed(futs):
                try:
                    yield f.result()
                except Exception as exc:  # the worker died or the task could not be sent
                    yield Outcome(futs[f].key, error=f"Dask task failed: {type(exc).__name__}: {exc}")
        finally:
            client.cancel(list(futs))


def make_executor(jobs: int = 1, scheduler: str | None = None):
    """The executor for ``--jobs``/``--scheduler`` (see the module docstring).

    Examples
    --------
    >>> make_executor(1).description, make_executor(2).description
    ('serial', '2 local processes')
    """
    if scheduler:
        kind, value = parse_scheduler(scheduler)
        _import_distributed()
        return DaskExecutor(address=value) if kind == "address" else DaskExecutor(n_local=value)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"--jobs must be an integer >= 1, got {jobs!r}")
    return SerialExecutor() if jobs == 1 else PoolExecutor(jobs)
