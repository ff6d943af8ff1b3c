"""The study engine: a study declares *what* to compute, the engine decides *how* it runs.

A study (a subclass of :class:`Study`) declares

* its config: a validated (frozen) dataclass built by :meth:`Study.config_from_args`,
* its tasks: :class:`Task` objects with a stable key, picklable parameters, a cost
  estimate (expensive tasks start first) and an optional memory hint,
* a pure ``run_task(config, task) -> xarray.Dataset``,
* how results combine (default: ``xr.concat`` along :attr:`Study.concat_dim`, else ``xr.merge``),
* its summary (text) and figures.

The engine owns execution (serial, ``--jobs N`` local processes, or a Dask cluster with
``--scheduler tcp://host:port`` / ``--scheduler local:N``), progress (tqdm), checkpoints by
time and by finished work, ``--resume`` from the archive itself (settings checked), failed
tasks recorded without stopping the run, atomic archive writes with provenance, a lock per
archive, and the common command line.

``Study``, ``Task``          what a study declares (:mod:`crossbar.study.core`)
``run(study, config, out)``  run and archive (:mod:`crossbar.study.runner`)
``open_archive(study, path)`` read an archive, refusing another study's
``main(study, argv)``        the common command line (:mod:`crossbar.study.cli`)
``make_executor``            serial / process pool / Dask (:mod:`crossbar.study.execute`)

Examples
--------
>>> import tempfile, pathlib, xarray as xr
>>> class Cubes(Study):
...     name = "cubes"
...     concat_dim = "x"
...     def tasks(self, config):
...         return [Task(f"x={x}", params=x) for x in range(config["n"])]
...     def run_task(self, config, task):
...         return xr.Dataset({"y": ("x", [task.params ** 3])}, coords={"x": [task.params]})
>>> with tempfile.TemporaryDirectory() as tmp:
...     out = pathlib.Path(tmp) / "cubes.h5"
...     first = run(Cubes(), {"n": 3}, out, progress=False)
...     again = run(Cubes(), {"n": 3}, out, resume=True, progress=False)
...     back = open_archive(Cubes(), out)
>>> back["y"].values.tolist(), again.ran, back.attrs["study"]
([0, 1, 8], 0, 'cubes')
"""

from crossbar.study.cli import build_parser, float_arg, int_arg, main
from crossbar.study.core import ENGINE_VARS, Study, Task, strip_engine_vars
from crossbar.study.execute import Outcome, make_executor, parse_scheduler
from crossbar.study.runner import RunResult, open_archive, run

__all__ = ["Study", "Task", "run", "RunResult", "open_archive", "main", "build_parser", "make_executor",
           "parse_scheduler", "Outcome", "ENGINE_VARS", "strip_engine_vars", "int_arg", "float_arg"]
