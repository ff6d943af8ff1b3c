"""A complete, tiny study on the engine: polynomial values on a grid of (x, power) tasks.

It shows the whole protocol in ~60 lines and serves the engine's own tests (it is
importable by worker processes and Dask workers).

    python -m crossbar.study.demo --out /tmp/demo.h5 --n 8 --jobs 2

Examples
--------
>>> import tempfile, pathlib
>>> from crossbar.study import run
>>> with tempfile.TemporaryDirectory() as tmp:
...     ds = run(Powers(), PowersConfig(n=3, powers=(1, 2)), pathlib.Path(tmp) / "p.h5", progress=False).dataset
>>> ds["value"].sel(power=2).values.tolist()
[0.0, 1.0, 4.0]
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import xarray as xr

from crossbar.study.cli import int_arg, main
from crossbar.study.core import Study, Task
from devices._check import integer, nonnegative
from devices.errors import ParameterError

__all__ = ["PowersConfig", "Powers"]


@dataclasses.dataclass(frozen=True)
class PowersConfig:
    """Settings of the demo study."""

    n: int = 4
    """Grid points x = 0 .. n-1."""
    powers: tuple = (1, 2, 3)
    """Powers computed for each x."""
    sleep_s: float = 0.0
    """Seconds each task sleeps (to test interruption and checkpoints), s."""
    fail_x: int = -1
    """Tasks with this x raise (to test failure records); -1: none."""
    trace: str = ""
    """File each finished task appends its key to (to test checkpoints); "": none."""

    def __post_init__(self):
        object.__setattr__(self, "n", integer("PowersConfig", "n", self.n, 1, 100_000))
        if not self.powers:
            raise ParameterError("PowersConfig.powers must list at least one power")
        object.__setattr__(self, "powers", tuple(integer("PowersConfig", "powers", p, 0, 64) for p in self.powers))
        object.__setattr__(self, "sleep_s", nonnegative("PowersConfig", "sleep_s", self.sleep_s, unit="s"))
        object.__setattr__(self, "fail_x", integer("PowersConfig", "fail_x", self.fail_x, -1, 100_000))


class Powers(Study):
    """x ** p for x in range(n) and p in powers; one task per (x, p), combined with ``xr.merge``."""

    name = "powers_demo"
    description = "Demo study of the engine: x ** p on a grid."
    resume_keys = ("powers",)  # a resumed run may extend the grid (n) and change the test knobs

    def add_arguments(self, parser):
        parser.add_argument("--n", type=int_arg(1, 100_000), default=4, help="grid points")
        parser.add_argument("--sleep", type=float, default=0.0, help="seconds per task")
        parser.add_argument("--fail-x", type=int, default=-1, help="x whose tasks fail")
        parser.add_argument("--trace", default="", help="file each finished task appends its key to")

    def config_from_args(self, args):
        return PowersConfig(n=2 if args.quick else args.n, sleep_s=args.sleep, fail_x=args.fail_x, trace=args.trace)

    def tasks(self, config):
        return [Task(f"x={x}/p={p}", params=(x, p), cost=1.0 + p) for x in range(config.n) for p in config.powers]

    def run_task(self, config, task):
        x, p = task.params
        if config.sleep_s:
            time.sleep(config.sleep_s)
        if x == config.fail_x:
            raise ParameterError(f"x = {x} fails on purpose")
        ds = xr.Dataset({"value": (("x", "power"), np.array([[float(x) ** p]]), {"units": "1"})},
                        coords={"x": [x], "power": [p]})
        if config.trace:
            with open(config.trace, "a") as f:
                f.write(task.key + "\n")
        return ds

    def summary(self, ds):
        return "\n".join(f"p={int(p)}: " + " ".join(f"{v:g}" for v in ds["value"].sel(power=p).values)
                         for p in ds["power"].values)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(Powers(), prog="powers_demo"))
