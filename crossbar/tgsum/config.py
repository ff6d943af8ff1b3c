"""Configuration of the TG current-summing sweep: parameters, groups, validation, JSON.

A sweep is a set of *groups*; each group is a full grid over a few parameters, the
others held at the *baseline*.  Points shared by several groups are computed once.

``PARAMS``                       the swept parameters (units, description)
``StudyConfig``                  the frozen, validated description of a sweep
``config_from_dict``, ``load_config``   JSON (``"inf"`` for an infinite resistance)
``check_backend``                refuses crossbars too large for ngspice

The shipped sweeps are in :mod:`crossbar.tgsum.presets`.

Examples
--------
>>> from crossbar.tgsum.presets import quick_config
>>> cfg = quick_config().with_overrides(r_on=[10.0]).validate()
>>> len(cfg.points()), cfg.baseline["r_on"]
(15, 10.0)
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from devices import LinearAccessTransistor, RRAMCell
from devices._check import finite, integer, number, positive, resistance
from devices.errors import ParameterError

__all__ = ["PARAMS", "NUMERIC", "INTS", "ACCESS_MODELS", "BACKENDS", "NGSPICE_MAX_N", "StudyConfig",
           "config_from_dict", "load_config", "check_backend"]

BACKENDS = ("native", "ngspice")

PARAMS = {
    # name: (units, long name)
    "n": ("1", "crossbar size N (N rows x N columns)"),
    "k": ("1", "number of TG sets K"),
    "r_wire": ("ohm", "wordline and bitline resistance per segment"),
    "r_on": ("ohm", "TG on-resistance"),
    "r_off": ("ohm", "TG off-resistance (inf: open)"),
    "r_summing": ("ohm", "summing-line resistance per segment"),
    "cell": ("", "RRAM cell (conductance range and bits, see cell_* coords)"),
    "access": ("", "access transistor model"),
    "density": ("1", "fraction of the columns switched on (shared out among the K sets)"),
}
NUMERIC = ("n", "k", "r_wire", "r_on", "r_off", "r_summing", "density")
INTS = ("n", "k")
ACCESS_MODELS = ("linear", "nmos")


# ====================================================================== configuration
@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """Everything that defines a sweep (JSON-serializable through :meth:`to_json`)."""

    baseline: dict
    """Parameter -> value held when a group does not sweep it (keys: :data:`PARAMS`)."""
    groups: dict
    """Group name -> {parameter: list of values}; each group is the full grid over its lists."""
    cells: dict
    """Cell name -> {"g_min": S, "g_max": S, "bits": int, "sigma": 1}."""
    samples: int = 8
    """Random input vectors per point."""
    seed: int = 20240601
    """Seed of conductances, TG assignments and inputs (common to all points of the same size)."""
    v_max: float = 0.2
    """Inputs are uniform in [0, v_max], volt."""
    r_access: float = 1e3
    """On-resistance of the linear access transistor, ohm (the level-1 NMOS is devices.presets.ACCESS_NMOS)."""
    calibrate_access: bool = True
    """Program each RRAM so that its 1T1R cell conducts the target (write-verify reads the whole cell)."""
    validate_max_n: int = 32
    """Points with N <= this are re-solved by the other backend (ngspice for a native run); 0: none."""
    validate_samples: int = 2
    """Input vectors per validated point."""
    threshold: float = 0.01
    """Error threshold of the design rule, dimensionless."""

    def to_json(self) -> str:
        """The config as JSON text (``"inf"`` for infinite resistances)."""
        d = dataclasses.asdict(self)
        return json.dumps(_jsonable(d), sort_keys=True)

    # -------------------------------------------------------------- validation
    def validate(self) -> "StudyConfig":
        """Check every value; raise :class:`ParameterError` naming the bad one."""
        _check_int("samples", self.samples, 1, 10_000)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        _check_int("validate_max_n", self.validate_max_n, 0, 100_000)
        _check_int("validate_samples", self.validate_samples, 1, 10_000)
        positive("StudyConfig", "v_max", self.v_max, unit="V")
        if not 0 < finite("StudyConfig", "threshold", self.threshold) < 1:
            raise ParameterError(f"StudyConfig.threshold must be in (0, 1), got {self.threshold!r}")
        LinearAccessTransistor(r_on=self.r_access)  # raises ParameterError naming r_on
        if not self.cells:
            raise ParameterError("cells: give at least one cell definition")
        for name, c in self.cells.items():
            _cell(name, c)
        missing = set(PARAMS) - set(self.baseline)
        extra = set(self.baseline) - set(PARAMS)
        if missing or extra:
            raise ParameterError(f"baseline must give exactly the parameters {list(PARAMS)}; "
                                 f"missing {sorted(missing)}, unknown {sorted(extra)}")
        if not self.groups:
            raise ParameterError("groups: give at least one group")
        for g, axes in self.groups.items():
            if not isinstance(axes, dict):
                raise ParameterError(f"group {g!r} must map parameter names to lists of values, got {axes!r}")
            bad = set(axes) - set(PARAMS)
            if bad:
                raise ParameterError(f"group {g!r}: unknown parameter(s) {sorted(bad)}; allowed: {list(PARAMS)}")
            for p, values in axes.items():
                if not isinstance(values, (list, tuple)) or not values:
                    raise ParameterError(f"group {g!r}: {p} must be a non-empty list, got {values!r}")
        for p, v in self.baseline.items():
            _check_value(p, v, self.cells, where="baseline")
        for g, axes in self.groups.items():
            for p, values in axes.items():
                for v in values:
                    _check_value(p, v, self.cells, where=f"group {g!r}")
        for point in self.points():
            _check_point(point)
        return self

    # -------------------------------------------------------------- points
    def points(self) -> list:
        """Unique points (tuples in :data:`PARAMS` order), in the order the groups list them."""
        seen, out = set(), []
        for g in self.groups:
            for pt in self.group_points(g):
                if pt not in seen:
                    seen.add(pt)
                    out.append(pt)
        return out

    def group_points(self, group: str) -> list:
        """The grid of one group, as point tuples."""
        axes = self.groups[group]
        out = [()]
        for p in PARAMS:
            values = axes.get(p, [self.baseline[p]])
            out = [o + (_norm(p, _float_inf(v)),) for o in out for v in values]
        return out

    def with_overrides(self, **overrides) -> "StudyConfig":
        """Every point uses the given values of a parameter: they replace the group axis
        where a group sweeps it and become an axis of every other group."""
        groups = copy.deepcopy(self.groups)
        baseline = dict(self.baseline)
        for p, values in overrides.items():
            if values is None:
                continue
            values = list(values)
            if len(values) == 1:
                baseline[p] = values[0]
                for axes in groups.values():
                    axes.pop(p, None)
            else:
                for axes in groups.values():
                    axes[p] = values
        return dataclasses.replace(self, groups=groups, baseline=baseline)



PARAMS_LIST = list(PARAMS)


def _jsonable(x):
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


def _norm(p, v):
    if p in INTS:
        return int(v)
    if p in NUMERIC:
        return float(v)
    return str(v)



def _check_int(name, v, lo, hi):
    integer("StudyConfig", name, v, lo, hi, exact=True)  # a sample count or seed given as 3.0 is a typo


def _check_value(p, v, cells, where):
    """One parameter value of the baseline or a group (``where`` names which)."""
    if p in NUMERIC:
        v = _float_inf(v)
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or math.isnan(v):
            raise ParameterError(f"{where}: {p} must be a number, got {v!r}")
    if p in INTS:
        integer(where, p, v, 1, 4096)
    elif p in ("r_wire", "r_summing"):
        resistance(where, p, v, allow_zero=True)
    elif p == "r_on":
        resistance(where, p, v)
    elif p == "r_off":
        resistance(where, p, v, allow_inf=True)
    elif p == "density":
        number(where, p, v, lo=0.0, lo_open=True, hi=1.0, what="a fraction")
    elif p == "cell":
        if v not in cells:
            raise ParameterError(f"{where}: unknown cell {v!r}; defined cells: {sorted(cells)}")
    elif p == "access":
        if v not in ACCESS_MODELS:
            raise ParameterError(f"{where}: unknown access model {v!r}; choose one of {list(ACCESS_MODELS)}")


def _check_point(pt):
    d = dict(zip(PARAMS, pt))
    if d["k"] > d["n"]:
        raise ParameterError(f"K = {d['k']} TG sets is larger than the number of columns N = {d['n']}")
    m = int(round(d["density"] * d["n"]))
    if m < d["k"]:
        raise ParameterError(f"density {d['density']:g} switches on {m} of N = {d['n']} columns, fewer than "
                             f"K = {d['k']} TG sets (each set needs a column)")
    if not d["r_on"] < d["r_off"]:
        raise ParameterError(f"TG r_on = {d['r_on']:g} ohm must be < r_off = {d['r_off']:g} ohm")


def _cell(name, c) -> RRAMCell:
    if not isinstance(c, dict):
        raise ParameterError(f"cell {name!r} must be a dict with g_min, g_max, bits (and sigma), got {c!r}")
    bad = set(c) - {"g_min", "g_max", "bits", "sigma"}
    if bad:
        raise ParameterError(f"cell {name!r}: unknown field(s) {sorted(bad)}; allowed g_min, g_max, bits, sigma")
    return RRAMCell(**c)


def _float_inf(x):
    return math.inf if isinstance(x, str) and x.strip().lower() in ("inf", "infinity") else x



def load_config(path, base: StudyConfig | None = None) -> StudyConfig:
    """A JSON file whose keys override ``base`` (default: the default sweep; ``groups`` replaces all groups).

    ``"inf"`` stands for an infinite resistance.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ParameterError(f"cannot read config file {str(path)!r}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ParameterError(f"config file {str(path)!r} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ParameterError(f"config file {str(path)!r} must hold a JSON object")
    return config_from_dict(data, base=base)


def config_from_dict(data: dict, base: StudyConfig | None = None) -> StudyConfig:
    """A config from a JSON-like dict whose keys override ``base`` (default: the default sweep)."""
    if base is None:
        from crossbar.tgsum.presets import default_config

        base = default_config()
    fields = {f.name for f in dataclasses.fields(StudyConfig)}
    bad = set(data) - fields
    if bad:
        raise ParameterError(f"unknown config key(s) {sorted(bad)}; allowed: {sorted(fields)}")
    data = dict(data)
    for key in ("baseline", "cells", "groups"):
        if key in data and not isinstance(data[key], dict):
            raise ParameterError(f"{key} must be a JSON object, got {data[key]!r}")
    if "baseline" in data:
        data["baseline"] = {p: _float_inf(v) for p, v in dict(base.baseline, **data["baseline"]).items()}
    if "cells" in data:
        data["cells"] = dict(base.cells, **data["cells"])
    if "groups" in data:
        if not isinstance(data["groups"], dict):
            raise ParameterError("groups must be an object: group name -> {parameter: [values]}")
        data["groups"] = {g: ({p: [_float_inf(v) for v in vals] if isinstance(vals, list) else vals
                               for p, vals in axes.items()} if isinstance(axes, dict) else axes)
                          for g, axes in data["groups"].items()}
    return dataclasses.replace(base, **data)



NGSPICE_MAX_N = 64
"""Largest crossbar the ngspice backend is asked to solve (N = 128 takes about a minute per
operating point, N = 256 about 20 minutes: shared/FACTS.md)."""


def check_backend(config: StudyConfig, backend: str) -> None:
    """Refuse an unknown backend, and crossbars too large for ngspice."""
    if backend not in BACKENDS:
        raise ParameterError(f"unknown backend {backend!r}; choose one of {list(BACKENDS)}")
    big = sorted({pt[0] for pt in config.points() if pt[0] > NGSPICE_MAX_N})
    if backend == "ngspice" and big:
        raise ParameterError(f"the ngspice backend solves one operating point per input and switching pattern; "
                             f"N = {', '.join(map(str, big))} is too large for it (N = 128 takes about a minute per "
                             f"operating point, N = 256 about 20 minutes); use N <= {NGSPICE_MAX_N} (e.g. --quick, "
                             f"or --n 16 32) or the native backend")

