"""The TG current-summing sweep: configuration, evaluation, archive, resume, summary.

A sweep is a set of *groups*; each group is a full grid over a few parameters, the
others held at the *baseline*.  Points shared by several groups are computed once; the
archive has one ``point`` dim with every swept parameter as a coordinate along it and a
``member`` (point, group) table, and :func:`group_grid` turns one group back into a
Dataset with one dim per swept parameter.

The work is split into *circuits*: every point needs its combined circuit (with
crosstalk and superposition) and three reference circuits (ideal TGs, ideal wires,
both ideal); circuits that differ only in ``r_on`` share one factorization
(:class:`crossbar.tgsum.metrics.SwitchingSystem`), so a heat map over ``r_on`` costs
little more than one point.

``StudyConfig``, ``default_config``, ``quick_config``, ``full_config``, ``load_config``
``run_study(config, out, ...)``       evaluate (in processes), archive atomically, resume
``assemble``, ``group_grid``          the archive Dataset and grid views of it
``design_rule(ds)``                   largest r_on below an error threshold
``summary_text(ds)``                  the printed table
``contest_demo()``                    the basis-contest refusal the study shows once
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import time
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import xarray as xr

from crossbar.archive import check_writable, decode_dataset, encode_dataset, provenance, read_dataset, write_dataset
from crossbar.tgsum import metrics as M
from devices import LinearAccessTransistor, RRAMCell, TransmissionGate, Wires
from devices.errors import ArchiveError, BasisContestError, ParameterError
from devices.presets import ACCESS_NMOS

__all__ = [
    "PARAMS", "StudyConfig", "default_config", "quick_config", "full_config", "load_config",
    "run_study", "check_backend", "assemble", "group_grid", "design_rule", "summary_text", "contest_demo", "BACKENDS",
]

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
        d = dataclasses.asdict(self)
        return json.dumps(_jsonable(d), sort_keys=True)

    # -------------------------------------------------------------- validation
    def validate(self) -> "StudyConfig":
        """Check every value; raise :class:`ParameterError` naming the bad one."""
        _check_int("samples", self.samples, 1, 10_000)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        _check_int("validate_max_n", self.validate_max_n, 0, 100_000)
        _check_int("validate_samples", self.validate_samples, 1, 10_000)
        if not (isinstance(self.v_max, (int, float)) and math.isfinite(self.v_max) and self.v_max > 0):
            raise ParameterError(f"v_max must be a finite voltage > 0 V, got {self.v_max!r}")
        if not (isinstance(self.threshold, (int, float)) and 0 < self.threshold < 1):
            raise ParameterError(f"threshold must be in (0, 1), got {self.threshold!r}")
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
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
        raise ParameterError(f"{name} must be an integer in [{lo}, {hi}], got {v!r}")


def _check_value(p, v, cells, where):
    if p in NUMERIC:
        if isinstance(v, str) and v.strip().lower() in ("inf", "infinity"):
            v = math.inf
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or math.isnan(v):
            raise ParameterError(f"{where}: {p} must be a number, got {v!r}")
    if p in INTS:
        if float(v) != int(v):
            raise ParameterError(f"{where}: {p} must be an integer, got {v!r}")
        if not 1 <= int(v) <= 4096:
            raise ParameterError(f"{where}: {p} must be in [1, 4096], got {v!r}")
    elif p in ("r_wire", "r_summing"):
        if not (0 <= float(v) < math.inf):
            raise ParameterError(f"{where}: {p} must be a resistance >= 0 ohm and finite, got {v!r}")
    elif p == "r_on":
        if not (0 < float(v) < math.inf):
            raise ParameterError(f"{where}: r_on must be a resistance > 0 ohm and finite, got {v!r}")
    elif p == "r_off":
        if not float(v) > 0:
            raise ParameterError(f"{where}: r_off must be a resistance > 0 ohm (inf allowed), got {v!r}")
    elif p == "density":
        if not 0 < float(v) <= 1:
            raise ParameterError(f"{where}: density must be in (0, 1], got {v!r}")
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


CELLS = {
    "1-100uS/4b": {"g_min": 1e-6, "g_max": 100e-6, "bits": 4, "sigma": 0.0},   # devices.presets.FACTS_CELL
    "1-40uS/4b": {"g_min": 1e-6, "g_max": 40e-6, "bits": 4, "sigma": 0.03},    # devices.presets.NEURRAM_CELL
    "1-100uS/2b": {"g_min": 1e-6, "g_max": 100e-6, "bits": 2, "sigma": 0.0},
    "1-10uS/4b": {"g_min": 1e-6, "g_max": 10e-6, "bits": 4, "sigma": 0.0},
    "0.1-1uS/4b": {"g_min": 0.1e-6, "g_max": 1e-6, "bits": 4, "sigma": 0.0},
}

BASELINE = {"n": 128, "k": 4, "r_wire": 2.5, "r_on": 100.0, "r_off": 1e9, "r_summing": 0.0,
            "cell": "1-100uS/4b", "access": "linear", "density": 0.5}


def default_config() -> StudyConfig:
    """The no-argument sweep (about 3 minutes on 2 cores)."""
    return StudyConfig(
        baseline=dict(BASELINE),
        groups={
            "size_k": {"n": [32, 64, 128, 256], "k": [1, 2, 4, 8]},
            "wire_tg": {"r_wire": [0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 2.5, 5.0],
                        "r_on": [1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 5000.0]},
            "wire_tg_low_g": {"cell": ["0.1-1uS/4b"], "r_wire": [0.0, 0.3, 1.0, 2.5, 5.0],
                              "r_on": [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 5000.0]},
            "r_off": {"r_off": [1e4, 1e5, 1e6, 1e9, math.inf], "r_on": [10.0, 100.0, 1000.0]},
            "summing": {"r_summing": [0.0, 0.01, 0.1, 0.5, 2.5, 5.0], "k": [1, 4]},
            "cell": {"cell": list(CELLS), "r_on": [10.0, 100.0]},
            "density": {"density": [0.125, 0.25, 0.5, 1.0], "k": [1, 4]},
            "access": {"n": [16, 32], "access": ["linear", "nmos"], "r_on": [10.0, 100.0]},
        },
        cells=copy.deepcopy(CELLS), samples=16, validate_max_n=32, validate_samples=2)


def quick_config() -> StudyConfig:
    """A small sweep (well under a minute): sizes 16-32, coarse grids, 4 inputs."""
    base = dict(BASELINE, n=32)
    return StudyConfig(
        baseline=base,
        groups={
            "size_k": {"n": [16, 32], "k": [1, 2, 4]},
            "wire_tg": {"r_wire": [0.0, 0.5, 2.5], "r_on": [1.0, 10.0, 100.0, 1000.0]},
            "r_off": {"r_off": [1e5, math.inf]},
            "summing": {"r_summing": [0.0, 0.5]},
            "cell": {"cell": ["1-100uS/4b", "1-40uS/4b"]},
            "density": {"density": [0.25, 1.0]},
            "access": {"n": [16], "access": ["linear", "nmos"]},
        },
        cells={k: CELLS[k] for k in ("1-100uS/4b", "1-40uS/4b")}, samples=4, validate_max_n=16, validate_samples=2)


def full_config() -> StudyConfig:
    """A larger sweep (about 7 minutes on 2 cores): finer grids and sizes x densities, ngspice up to N = 64."""
    c = default_config()
    groups = copy.deepcopy(c.groups)
    groups["size_k"] = {"n": [32, 64, 128, 256], "k": [1, 2, 4, 8], "density": [0.25, 0.5, 1.0]}
    groups["wire_tg"] = {"r_wire": [0.0, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 3.5, 5.0],
                         "r_on": [0.3, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0, 200.0, 300.0, 500.0,
                                  1000.0, 2000.0, 3000.0, 5000.0]}
    groups["wire_tg_256"] = {"n": [256], "r_wire": [0.0, 0.5, 2.5], "r_on": [1.0, 10.0, 100.0, 1000.0]}
    groups["access"] = {"n": [16, 32, 64], "access": ["linear", "nmos"], "r_on": [10.0, 100.0]}
    return dataclasses.replace(c, groups=groups, samples=16, validate_max_n=64, validate_samples=1)


def load_config(path) -> StudyConfig:
    """A JSON file whose keys override :func:`default_config` (``groups`` replaces all groups).

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
    return config_from_dict(data, base=default_config())


def config_from_dict(data: dict, base: StudyConfig | None = None) -> StudyConfig:
    base = base or default_config()
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


# ====================================================================== the work
def _seed(config, *parts):
    return [int(config.seed)] + [int(p) for p in parts]


def _crc(s: str) -> int:
    return zlib.crc32(s.encode())


def instance(config: StudyConfig, n: int, k: int, density: float, cell: str):
    """The random crossbar of a point: cell conductances (S), assignment, inputs (V)."""
    rram = _cell(cell, config.cells[cell])
    g = M.cell_conductances(rram, n, _seed(config, 1, n, _crc(cell)))
    a = M.tg_assignment(n, k, density, _seed(config, 2, n, k, round(density * 1e6)))
    v = M.input_vectors(n, config.samples, config.v_max, _seed(config, 3, n))
    return g, a, v


def access_device(config: StudyConfig, name: str):
    return LinearAccessTransistor(r_on=config.r_access) if name == "linear" else ACCESS_NMOS


def _circuits(pt):
    """The four circuits of a point: name -> (circuit key, r_on, detail)."""
    d = dict(zip(PARAMS, pt))
    head = (d["n"], d["k"], d["density"], d["cell"], d["access"])
    return {
        "combined": (head + (d["r_wire"], d["r_summing"], d["r_off"]), d["r_on"], True),
        "wire": (head + (d["r_wire"], d["r_summing"], math.inf), M.IDEAL_R, False),
        "tg": (head + (0.0, 0.0, d["r_off"]), d["r_on"], False),
        "access": (head + (0.0, 0.0, math.inf), M.IDEAL_R, False),
    }


def evaluate_circuit(config: StudyConfig, key, r_ons: dict, backend: str) -> dict:
    """Output currents of one circuit for several ``r_on`` (dict r_on -> detail wanted)."""
    n, k, density, cell, access, r_wire, r_summing, r_off = key
    g, a, v = instance(config, n, k, density, cell)
    acc = access_device(config, access)
    g_rram = M.rram_conductances(g, acc, config.calibrate_access)
    wires = Wires(r_wordline=r_wire, r_bitline=r_wire, r_summing=r_summing)
    fast = backend == "native" and access != "nmos"
    out = {}
    if fast:
        out.update(M.switched_outputs(g_rram, a, v, wires=wires, r_off=r_off, r_on_values=list(r_ons), access=acc,
                                      backend=backend, detail=True))
    else:
        for detail in (True, False):
            sel = [r for r, d in r_ons.items() if d == detail]
            if sel:
                out.update(M.switched_outputs(g_rram, a, v, wires=wires, r_off=r_off, r_on_values=sel, access=acc,
                                              backend=backend, detail=detail))
    return out


def validate_point(config: StudyConfig, pt, backend: str) -> dict:
    """Re-solve the combined circuit of ``pt`` by the public path on both backends."""
    d = dict(zip(PARAMS, pt))
    g, a, v = instance(config, d["n"], d["k"], d["density"], d["cell"])
    v = v[: config.validate_samples]
    acc = access_device(config, d["access"])
    g_rram = M.rram_conductances(g, acc, config.calibrate_access)
    wires = Wires(r_wordline=d["r_wire"], r_bitline=d["r_wire"], r_summing=d["r_summing"])
    tg = TransmissionGate(r_on=d["r_on"], r_off=d["r_off"])
    res = {}
    for b in ("native", "ngspice"):
        res[b] = M.measure(g_rram, a, v, wires=wires, tg=tg, access=acc, backend=b)
    return res


def _task(config_json: str, kind: str, key, payload, backend: str):
    """Run one task in a worker; never raises (the error is returned as text)."""
    config = config_from_dict(_unjson(json.loads(config_json)))
    t0 = time.perf_counter()
    try:
        if kind == "circuit":
            result = evaluate_circuit(config, key, payload, backend)
        else:
            result = validate_point(config, key, backend)
        return kind, key, result, None, time.perf_counter() - t0
    except Exception as exc:  # recorded per point; the sweep goes on
        return kind, key, None, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0


def _unjson(d):
    d = dict(d)
    d["baseline"] = {p: _float_inf(v) for p, v in d["baseline"].items()}
    d["groups"] = {g: {p: [_float_inf(v) for v in vals] for p, vals in axes.items()} for g, axes in d["groups"].items()}
    return d


def _cost(key, n_ron, backend):
    """Rough relative cost of a circuit task, to start the expensive ones first."""
    n, k, density, cell, access, r_wire = key[:6]
    unknowns = n * n * (2 if r_wire > 0 else 1)  # wires add a node per cell
    if access == "nmos" or backend != "native":  # one Newton solve / .op per switching pattern
        return unknowns * 50 * n_ron * (1 + k + density * n)
    return unknowns * (1 + 0.02 * density * n)  # one factorization, one solve per switched column


NGSPICE_MAX_N = 64
"""Largest crossbar the ngspice backend is asked to solve (N = 128 takes about a minute per
operating point, N = 256 about 20 minutes: shared/FACTS.md)."""


# ====================================================================== running
def run_study(config: StudyConfig, out, *, backend: str = "native", jobs: int = 1, resume: bool = False,
              progress: bool = True, validate: bool = True, log=print, checkpoint_s: float = 60.0) -> xr.Dataset:
    """Evaluate the sweep, write the archive atomically, return the Dataset.

    Parameters
    ----------
    config : StudyConfig
    out : path of the ``.h5`` archive.
    backend : "native" or "ngspice"
    jobs : number of worker processes (1: in this process).
    resume : skip points whose status is ``"ok"`` in an existing archive at ``out``.
    validate : re-solve points with ``N <= config.validate_max_n`` with the other backend.
    checkpoint_s : every this many seconds the finished points are written (attribute
        ``complete = 0``), and again on Ctrl-C, so ``resume`` can continue; 0: only at the end.
    """
    if backend not in BACKENDS:
        raise ParameterError(f"unknown backend {backend!r}; choose one of {list(BACKENDS)}")
    config.validate()
    check_backend(config, backend)
    out = check_writable(out)
    old = None
    if resume and out.exists():
        old = read_dataset(out)
        _check_resumable(old, config)
    points = config.points()
    done = set()
    if old is not None:
        done = {pt for pt, st in zip(_points_of(old), old["status"].values) if st == "ok"}
    todo = [pt for pt in points if pt not in done]
    if old is not None and not todo:
        log(f"resume: all {len(points)} points are in {out}; nothing to do")
        return old
    contest = contest_demo()

    # circuits to solve
    needs = {}
    for pt in todo:
        for key, r_on, detail in _circuits(pt).values():
            needs.setdefault(key, {})
            needs[key][r_on] = needs[key].get(r_on, False) or detail
    tasks = [("circuit", key, r_ons) for key, r_ons in needs.items()]
    tasks.sort(key=lambda t: -_cost(t[1], len(t[2]), backend))
    vpts = []
    if validate and config.validate_max_n > 0:
        from crossbar.ngspice import available

        if available():
            vpts = [pt for pt in todo if pt[0] <= config.validate_max_n]
        else:
            log("ngspice is not available: no validation against ngspice in this run")
    tasks += [("validate", pt, None) for pt in vpts]

    results, errors, timing = {}, {}, {}
    cj = config.to_json()
    t_start = time.perf_counter()
    vset = set(vpts)

    def finished():
        return [pt for pt in todo if all(("circuit", key) in timing for key, _, _ in _circuits(pt).values())
                and (pt not in vset or ("validate", pt) in timing)]

    def save(final: bool):
        pts = todo if final else finished()
        if not pts:
            return old
        ds = assemble(config, pts, results, errors, timing, backend=backend)
        if old is not None:
            ds = merge(old, ds, config)
        ds.attrs.update(provenance(backend=backend, seeds=f"conductances/assignments/inputs from seed {config.seed}",
                                   config_json=cj, basis_contest_refusal=contest, jobs=int(jobs),
                                   wall_time_s=float(time.perf_counter() - t_start), wall_time_units="s",
                                   complete=int(final and len(pts) == len(todo)),
                                   native_factorization="cholmod" if _have_cholmod() else "superlu"))
        ds = decode_dataset(encode_dataset(ds))
        write_dataset(ds, out)
        return ds

    bar = _progress(len(tasks), progress)
    last = time.perf_counter()

    def tick(r):
        nonlocal last
        _collect(r, results, errors, timing)
        bar.update(1)
        if checkpoint_s and time.perf_counter() - last > checkpoint_s:
            save(False)  # finished points survive a crash or Ctrl-C for --resume
            last = time.perf_counter()

    try:
        if jobs <= 1:
            for kind, key, payload in tasks:
                tick(_task(cj, kind, key, payload, backend))
        else:
            pool = ProcessPoolExecutor(max_workers=jobs)
            try:
                futs = [pool.submit(_task, cj, kind, key, payload, backend) for kind, key, payload in tasks]
                for f in as_completed(futs):
                    tick(f.result())
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown()
    except KeyboardInterrupt:
        bar.close()
        save(False)
        raise
    finally:
        bar.close()
    return save(True)


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


def _have_cholmod():
    from crossbar import HAVE_CHOLMOD

    return HAVE_CHOLMOD


def _progress(total, enabled):
    if enabled:
        from tqdm import tqdm

        return tqdm(total=total, desc="circuits", unit="task", dynamic_ncols=True)

    class _Null:
        def update(self, n):
            pass

        def close(self):
            pass

    return _Null()


def _collect(r, results, errors, timing):
    kind, key, result, error, elapsed = r
    if error is None:
        results[(kind, key)] = result
    else:
        errors[(kind, key)] = error
    timing[(kind, key)] = elapsed


def _points_of(ds) -> list:
    cols = [ds[p].values for p in PARAMS]
    return [tuple(_norm(p, c[i]) for p, c in zip(PARAMS, cols)) for i in range(ds.sizes["point"])]


PHYSICS_KEYS = ("samples", "seed", "v_max", "r_access", "calibrate_access", "validate_samples")


def _check_resumable(old, config):
    try:
        prev = json.loads(old.attrs["config_json"])
    except (KeyError, ValueError):
        raise ArchiveError("cannot resume: the archive has no config_json attribute (not made by this study)") from None
    now = json.loads(config.to_json())
    diff = [k for k in PHYSICS_KEYS if prev.get(k) != now.get(k)]
    for name, c in now["cells"].items():
        if name in prev.get("cells", {}) and prev["cells"][name] != c:
            diff.append(f"cells[{name!r}]")
    if diff:
        shown = ", ".join(f"{k}: archive {prev.get(k)!r} vs now {now.get(k)!r}" if k in PHYSICS_KEYS else k for k in diff)
        raise ArchiveError(f"cannot resume: the archive was made with different settings ({shown}); "
                           "use another --out or drop --resume")


# ====================================================================== the archive
VARS = {
    # name: (units, long name)
    "ideal_current": ("A", "ideal output current sum_ij G_ij V_i, mean over inputs"),
    "current": ("A", "output current, mean over inputs"),
    "err_mean": ("1", "relative error (I - I0)/I0, mean over inputs"),
    "err_worst": ("1", "relative error, worst input (signed value of largest magnitude)"),
    "wire_err_mean": ("1", "relative error with ideal TGs (wires only), mean over inputs"),
    "wire_err_worst": ("1", "relative error with ideal TGs (wires only), worst input"),
    "tg_err_mean": ("1", "relative error with ideal wires (TGs only), mean over inputs"),
    "tg_err_worst": ("1", "relative error with ideal wires (TGs only), worst input"),
    "access_err_mean": ("1", "relative error with ideal wires and TGs (access transistor only), mean over inputs"),
    "access_err_worst": ("1", "relative error with ideal wires and TGs (access transistor only), worst input"),
    "crosstalk_mean": ("1", "(I with all sets on - I with this set alone) / I0, mean over inputs"),
    "crosstalk_worst": ("1", "(I with all sets on - I with this set alone) / I0, worst input"),
    "superposition_mean": ("1", "(I of this set alone - sum of single-column currents) / I0, mean over inputs"),
    "superposition_worst": ("1", "(I of this set alone - sum of single-column currents) / I0, worst input"),
    "column_conductance": ("S", "mean over the set's columns of the column conductance sum_i G_ij"),
}
SET_VARS = tuple(VARS) + ("n_columns",)


def assemble(config: StudyConfig, pts, results, errors, timing, *, backend: str) -> xr.Dataset:
    """Point metrics from the circuit results (one row per point, NaN where a set does not exist)."""
    kmax = max(8, max((pt[1] for pt in pts), default=1))
    P = len(pts)
    data = {v: np.full((P, kmax), np.nan) for v in VARS}
    ncol = np.zeros((P, kmax), np.int64)
    status = np.empty(P, dtype=object)
    message = np.empty(P, dtype=object)
    elapsed = np.zeros(P)
    vdiff_abs = np.full(P, np.nan)
    vdiff_rel = np.full(P, np.nan)
    fast_rel = np.full(P, np.nan)
    v_native = np.full((P, kmax), np.nan)
    v_ng = np.full((P, kmax), np.nan)
    vmsg = np.empty(P, dtype=object)
    for i, pt in enumerate(pts):
        d = dict(zip(PARAMS, pt))
        K = d["k"]
        circ = _circuits(pt)
        res, errs = {}, []
        for name, (key, r_on, _) in circ.items():
            elapsed[i] += timing.get(("circuit", key), 0.0)
            if ("circuit", key) in errors:
                errs.append(f"{name} circuit: {errors[('circuit', key)]}")
            else:
                res[name] = results[("circuit", key)][float(r_on)]
        vmsg[i] = ""
        if errs:
            status[i], message[i] = "failed", "; ".join(errs)
            continue
        try:
            g, a, v = instance(config, d["n"], K, d["density"], d["cell"])
            i0 = M.ideal_currents(g, a, v)
            comb = res["combined"]
            pairs = {
                "err": M.relative_error(comb["all"], i0),
                "wire_err": M.relative_error(res["wire"]["all"], i0),
                "tg_err": M.relative_error(res["tg"]["all"], i0),
                "access_err": M.relative_error(res["access"]["all"], i0),
                "crosstalk": (comb["all"] - comb["alone"]) / i0,
                "superposition": (comb["alone"] - comb["single_sum"]) / i0,
            }
            for name, rel in pairs.items():
                mean, worst = M.mean_and_worst(rel, axis=0)
                data[f"{name}_mean"][i, :K] = mean
                data[f"{name}_worst"][i, :K] = worst
            data["ideal_current"][i, :K] = i0.mean(axis=0)
            data["current"][i, :K] = comb["all"].mean(axis=0)
            ncol[i, :K] = a.sum(axis=1)
            data["column_conductance"][i, :K] = (a @ g.sum(axis=0)) / a.sum(axis=1)
            status[i], message[i] = "ok", ""
        except Exception as exc:  # a metric that cannot be formed is recorded like a failed solve
            status[i], message[i] = "failed", f"metrics: {type(exc).__name__}: {exc}"
            continue
        vk = ("validate", pt)
        if vk in errors:
            vmsg[i] = errors[vk]
        elif vk in results:
            r = results[vk]
            nat, ng = r["native"], r["ngspice"]
            vdiff_abs[i] = float(np.max(np.abs(ng - nat)))
            vdiff_rel[i] = vdiff_abs[i] / float(np.max(np.abs(nat)))
            ref = nat if backend == "native" else ng
            mine = comb["all"][: ref.shape[0]]
            fast_rel[i] = float(np.max(np.abs(mine - ref)) / np.max(np.abs(ref)))
            v_native[i, :K] = nat[0]
            v_ng[i, :K] = ng[0]
            elapsed[i] += timing.get(vk, 0.0)
            vmsg[i] = "ok"
        else:
            vmsg[i] = "not validated"

    groups = list(config.groups)
    grids = [set(config.group_points(g)) for g in groups]
    member = np.array([[pt in grid for grid in grids] for pt in pts], dtype=bool).reshape(P, len(groups))
    coords = {"point": ("point", np.arange(P), {"units": "1", "long_name": "sweep point index"}),
              "tg_set": ("tg_set", np.arange(kmax), {"units": "1", "long_name": "TG set index (NaN beyond k)"}),
              "group": ("group", np.array(groups, dtype=object), {"units": "", "long_name": "sub-sweep name"})}
    for j, p in enumerate(PARAMS):
        vals = [pt[j] for pt in pts]
        arr = np.array(vals, dtype=object if p in ("cell", "access") else (np.int64 if p in INTS else float))
        units, long = PARAMS[p]
        coords[p] = ("point", arr, {"units": units, "long_name": long})
    cells = [pt[6] for pt in pts]
    for f, unit in (("g_min", "S"), ("g_max", "S"), ("bits", "1"), ("sigma", "1")):
        vals = [config.cells[c].get(f, 0.0) for c in cells]
        coords[f"cell_{f}"] = ("point", np.array(vals, dtype=np.int64 if f == "bits" else float),
                               {"units": unit, "long_name": f"cell {f}"})
    acc_r = [M.access_resistance(access_device(config, pt[7])) for pt in pts]
    coords["access_r_on"] = ("point", np.array(acc_r, float),
                             {"units": "ohm", "long_name": "access transistor resistance at v_ds = 0"})
    dv = {}
    for v, (units, long) in VARS.items():
        dv[v] = (("point", "tg_set"), data[v], {"units": units, "long_name": long})
    dv["n_columns"] = (("point", "tg_set"), ncol, {"units": "1", "long_name": "columns switched on in the set"})
    dv["member"] = (("point", "group"), member, {"units": "1", "long_name": "point belongs to the sub-sweep"})
    dv["status"] = ("point", status.astype(str), {"units": "", "long_name": "ok or failed"})
    dv["message"] = ("point", message.astype(str), {"units": "", "long_name": "error message of a failed point"})
    dv["elapsed"] = ("point", elapsed, {"units": "s", "long_name": "solver time of the point's circuits (shared circuits counted in each)"})
    dv["ngspice_max_abs_diff"] = ("point", vdiff_abs, {"units": "A", "long_name": "largest |I_ngspice - I_native| over sets and validated inputs (NaN: not validated)"})
    dv["ngspice_max_rel_diff"] = ("point", vdiff_rel, {"units": "1", "long_name": "ngspice_max_abs_diff / largest |I_native|"})
    dv["fastpath_max_rel_diff"] = ("point", fast_rel, {"units": "1", "long_name": "largest difference of the study's (Woodbury) currents from a direct solve, relative"})
    dv["validation_native_current"] = (("point", "tg_set"), v_native, {"units": "A", "long_name": "native output current, first input vector (validated points)"})
    dv["validation_ngspice_current"] = (("point", "tg_set"), v_ng, {"units": "A", "long_name": "ngspice output current, first input vector (validated points)"})
    dv["validation_message"] = ("point", vmsg.astype(str), {"units": "", "long_name": "ok, not validated, or the validation error"})
    ds = xr.Dataset(dv, coords=coords)
    ds.attrs.update({"title": "TG current-summing study", "backend": backend,
                     "samples": int(config.samples), "v_max": float(config.v_max), "v_max_units": "V",
                     "r_access": float(config.r_access), "r_access_units": "ohm",
                     "calibrate_access": int(config.calibrate_access), "ideal_r_on": M.IDEAL_R, "ideal_r_on_units": "ohm",
                     "threshold": float(config.threshold)})
    return ds


def merge(old: xr.Dataset, new: xr.Dataset, config: StudyConfig) -> xr.Dataset:
    """Old archive points not recomputed, then the new ones; membership from both."""
    new_pts = set(_points_of(new))
    keep = [i for i, pt in enumerate(_points_of(old)) if pt not in new_pts]
    kmax = max(old.sizes["tg_set"], new.sizes["tg_set"])
    groups = list(dict.fromkeys(list(old["group"].values) + list(new["group"].values)))

    def norm(ds):
        ds = ds.reindex(tg_set=np.arange(kmax), group=np.array(groups, dtype=object))
        ds["member"] = ds["member"].fillna(False).astype(bool)
        ds["n_columns"] = ds["n_columns"].fillna(0).astype(np.int64)
        return ds

    o = norm(old.isel(point=keep))
    nw = norm(new)
    ds = xr.concat([o, nw], dim="point", combine_attrs="override", data_vars="all", coords="different", compat="equals")
    ds = ds.assign_coords(point=("point", np.arange(ds.sizes["point"]), old["point"].attrs))
    pts = _points_of(ds)
    grids = {g: set(config.group_points(g)) for g in groups if g in config.groups}
    cur = np.array([[g in grids and pt in grids[g] for g in groups] for pt in pts], bool)
    ds["member"] = (("point", "group"), ds["member"].values | cur, new["member"].attrs)
    for name in ds.variables:
        src = new if name in new.variables else old
        ds[name].attrs = dict(src[name].attrs)
    return ds


def group_grid(ds: xr.Dataset, group: str) -> xr.Dataset:
    """The points of one sub-sweep as a Dataset with one dim per parameter it sweeps."""
    if group not in list(ds["group"].values):
        raise ParameterError(f"no group {group!r} in the archive; groups: {list(ds['group'].values)}")
    sub = ds.isel(point=np.flatnonzero(ds["member"].sel(group=group).values))
    swept = [p for p in PARAMS if np.unique(sub[p].values).size > 1]
    if not swept:
        return sub
    sub = sub.drop_vars(["member", "group"]).set_index(point=swept).unstack("point")
    return sub.transpose(*swept, ...)


# ====================================================================== reading results
def contest_demo() -> str:
    """The refusal of a column claimed by two TG sets (paper Fig. 4a), as its message."""
    from netlists import build_crossbar

    a = np.array([[1, 1, 1, 1], [1, 0, 0, 0]], dtype=bool)  # Fig. 4(a): both kernels need basis vector b1
    try:
        build_crossbar(np.full((4, 4), 50e-6), a, np.full(4, 0.1))
    except BasisContestError as exc:
        return f"refused: assignment [[1,1,1,1],[1,0,0,0]] -> {exc}"
    raise RuntimeError("the crossbar builder accepted a basis contest; it must refuse it")  # pragma: no cover


def _worst_abs(ds, var="err_worst"):
    """Largest |value| over TG sets, per point (NaN for failed points)."""
    return np.abs(ds[var]).max("tg_set", skipna=True)


def _crossing(x, y, threshold, log_x):
    """Largest x with y < threshold, y rising with x: interpolated (log-log or lin-log) between
    the last grid value below and the first above; ``(None, None)`` when y[0] >= threshold,
    ``(x[-1], "whole range")`` when no value reaches it."""
    below = np.flatnonzero(y < threshold)
    if not below.size:
        return None, None
    i = below[-1]
    if i == x.size - 1:
        return float(x[i]), "whole range"
    fx = np.log if log_x else (lambda t: t)
    gx = np.exp if log_x else (lambda t: t)
    x0, x1, y0, y1 = fx(x[i]), fx(x[i + 1]), np.log(y[i]), np.log(y[i + 1])
    return float(gx(x0 + (np.log(threshold) - y0) * (x1 - x0) / (y1 - y0))), (float(x[i]), float(x[i + 1]))


def design_rule(ds: xr.Dataset, group: str = "wire_tg", threshold: float | None = None) -> dict:
    """Largest TG r_on with worst |error| < threshold, for each wire resistance of ``group``.

    Uses the group's grid (log-log interpolation between the two r_on values that
    bracket the threshold; the error grows with r_on and with the wire resistance).

    Returns
    -------
    dict
        ``n``, ``k``, ``threshold``; ``rows``: per r_wire, ``r_on_max`` (ohm, None when even
        the smallest r_on misses), ``bracket``, ``min_r_on`` and ``err_at_min_r_on``;
        ``r_wire_max`` (ohm): largest wire resistance that meets the threshold at the smallest
        r_on (None if none); ``g_column`` (S): mean column conductance of the crossbar, so
        that ``r_on_max * g_column`` at ideal wires gives the rule as a dimensionless number.
    """
    threshold = float(ds.attrs.get("threshold", 0.01) if threshold is None else threshold)
    g = group_grid(ds, group)
    if "r_on" not in g.dims or "r_wire" not in g.dims:
        raise ParameterError(f"group {group!r} must sweep r_on and r_wire for the design rule")
    err = _worst_abs(g)
    extra = [d for d in err.dims if d not in ("r_wire", "r_on")]
    if extra:
        err = err.max(extra)
    err = err.transpose("r_wire", "r_on")
    rows = []
    for rw in g["r_wire"].values:
        e = err.sel(r_wire=rw)
        ok = np.isfinite(e.values)
        r, y = e["r_on"].values[ok], e.values[ok]
        r_max, bracket = _crossing(r, y, threshold, log_x=True) if r.size else (None, None)
        rows.append({"r_wire": float(rw), "min_r_on": float(r[0]) if r.size else math.nan,
                     "err_at_min_r_on": float(y[0]) if y.size else math.nan, "r_on_max": r_max, "bracket": bracket})
    first = err.isel(r_on=0)
    ok = np.isfinite(first.values)
    rw_max, rw_bracket = _crossing(first["r_wire"].values[ok], first.values[ok], threshold, log_x=False)
    gcol = float(np.nanmean(g["column_conductance"].values)) if "column_conductance" in g else math.nan
    n = int(np.unique(g["n"].values)[0]) if "n" in g.coords else None
    k = int(np.unique(g["k"].values)[0]) if "k" in g.coords else None
    cell = str(np.unique(g["cell"].values)[0]) if "cell" in g.coords and np.unique(g["cell"].values).size == 1 else "several"
    return {"n": n, "k": k, "cell": cell, "group": group, "threshold": threshold, "rows": rows, "r_wire_max": rw_max, "r_wire_bracket": rw_bracket,
            "min_r_on": float(err["r_on"].values[0]), "g_column": gcol}


def _pct(x):
    return "   n/a" if not np.isfinite(x) else f"{100 * x:6.2f}"


def summary_text(ds: xr.Dataset) -> str:
    """The printed summary: tables of worst |error| in %, split, crosstalk, validation, design rule."""
    lines = []
    ok = ds["status"].values == "ok"
    lines.append(f"TG current-summing study: {ds.sizes['point']} points, {int(ok.sum())} ok, {int((~ok).sum())} failed; "
                 f"backend {ds.attrs.get('backend', '?')}, {ds.attrs.get('samples', '?')} random inputs per point "
                 f"(0-{ds.attrs.get('v_max', '?')} V). Errors are worst |(I - I0)/I0| over TG sets and inputs, in %.")
    groups = list(ds["group"].values)
    if "size_k" in groups:
        g = group_grid(ds, "size_k")
        e = _worst_abs(g)
        if set(("n", "k")) <= set(e.dims):
            e = e.max([d for d in e.dims if d not in ("n", "k")]) if len(e.dims) > 2 else e
            b = _baseline_text(ds, "size_k")
            lines.append(f"\nError vs N and K ({b}):")
            lines.append("     N |" + "".join(f"   K={int(k):<3d}" for k in e["k"].values))
            for n in e["n"].values:
                lines.append(f"  {int(n):4d} |" + "".join(f"  {_pct(x)}" for x in e.sel(n=n).values))
    # split at the baseline point of size_k (or the first ok point)
    base = _baseline_point(ds)
    if base is not None:
        p = ds.isel(point=base)
        lines.append(f"\nError split at N={int(p.n)}, K={int(p.k)}, r_wire={float(p.r_wire):g} ohm, r_on={float(p.r_on):g} ohm, "
                     f"r_summing={float(p.r_summing):g} ohm, r_off={float(p.r_off):g} ohm, {p.access.item()} access:")
        for v, label in (("err", "combined"), ("wire_err", "wires only (ideal TGs)"), ("tg_err", "TGs only (ideal wires)"),
                         ("access_err", "access transistor only"), ("crosstalk", "crosstalk"),
                         ("superposition", "superposition defect")):
            mean = float(np.nanmean(p[f"{v}_mean"].values))
            worst = float(_worst_abs(p, f"{v}_worst"))
            lines.append(f"  {label:28s} mean {_pct(mean)} %   worst |.| {_pct(worst)} %")
    if "size_k" in groups:
        g = ds.isel(point=np.flatnonzero(ds["member"].sel(group="size_k").values))
        ct = _worst_abs(g, "crosstalk_worst")
        lines.append("\nCrosstalk (worst |.| over sets and inputs, %) vs K:")
        for n in np.unique(g["n"].values):
            sel = g["n"].values == n
            ks = g["k"].values[sel]
            vals = ct.values[sel]
            order = np.argsort(ks)
            lines.append(f"  N={int(n):4d}: " + ", ".join(f"K={int(ks[o])}: {_pct(vals[o]).strip()}" for o in order))
    for gname in groups:  # every other group: a table when it sweeps two parameters, else a list
        if gname == "size_k" or gname.startswith("wire_tg"):
            continue
        g = ds.isel(point=np.flatnonzero(ds["member"].sel(group=gname).values))
        e = _worst_abs(g).values
        swept = [p for p in PARAMS if np.unique(g[p].values).size > 1]
        fixed = [p for p in PARAMS if p not in swept and p in ("n", "k", "r_wire", "r_on", "cell", "access")]
        where = ", ".join(f"{p}={_fmt(g[p].values[0])}" for p in fixed)
        lines.append(f"\nGroup {gname} (worst |error| %; {where}):")
        failed = [i for i in range(g.sizes["point"]) if g["status"].values[i] != "ok"]
        if len(swept) == 2:
            cols_p, rows_p = sorted(swept, key=lambda p: np.unique(g[p].values).size)
            cols, rows = _levels(g[cols_p].values), _levels(g[rows_p].values)
            lines.append(f"  {rows_p + ' / ' + cols_p:>22s} |"
                         + "".join(f" {cols_p + '=' + _fmt(c):>{len(cols_p) + 9}s}" for c in cols))
            for r in rows:
                cells = []
                for c in cols:
                    hit = np.flatnonzero((g[rows_p].values == r) & (g[cols_p].values == c))
                    cells.append(f" {_pct(float(e[hit[0]])) if hit.size else '     -':>{len(cols_p) + 9}s}")
                lines.append(f"  {_fmt(r):>22s} |" + "".join(cells))
        else:
            order = sorted(range(g.sizes["point"]), key=lambda i: tuple(_sortkey(g[p].values[i]) for p in swept))
            for i in order:
                label = ", ".join(f"{p}={_fmt(g[p].values[i])}" for p in swept)
                lines.append(f"  {label:45s} {_pct(float(e[i]))}")
        for i in failed:
            label = ", ".join(f"{p}={_fmt(g[p].values[i])}" for p in swept)
            lines.append(f"  FAILED {label}: {g['message'].values[i]}")
    val = ds["ngspice_max_rel_diff"].values
    if np.isfinite(val).any():
        i = int(np.nanargmax(val))
        lines.append(f"\nngspice validation: {int(np.isfinite(val).sum())} points (N <= {int(ds['n'].values[np.isfinite(val)].max())}); "
                     f"largest |I_ngspice - I_native| = {np.nanmax(ds['ngspice_max_abs_diff'].values):.3g} A, "
                     f"relative {np.nanmax(val):.3g} (point N={int(ds.n.values[i])}, {ds.access.values[i]} access); "
                     f"study currents vs a direct solve on the same backend: {np.nanmax(ds['fastpath_max_rel_diff'].values):.3g} relative")
    else:
        lines.append("\nngspice validation: none in this archive")
    vm = [m for m in ds["validation_message"].values if m not in ("", "ok", "not validated")]
    if vm:
        lines.append(f"  validation failures: {len(vm)}; first: {vm[0]}")
    fails = np.flatnonzero(~ok)
    if fails.size:
        lines.append(f"\nFailed points: {fails.size}; first: {ds['message'].values[fails[0]]}")
    if "basis_contest_refusal" in ds.attrs:
        lines.append(f"\nBasis contest: {ds.attrs['basis_contest_refusal']}")
    for gname in groups:
        if not gname.startswith("wire_tg"):
            continue
        try:
            rule = design_rule(ds, group=gname)
            lines.append("\n" + design_rule_text(rule))
        except ParameterError as exc:
            lines.append(f"\nDesign rule ({gname}): not computed ({exc})")
    return "\n".join(lines)


def design_rule_text(rule: dict) -> str:
    t = 100 * rule["threshold"]
    out = [f"Design rule (group {rule.get('group', '?')}: N={rule['n']}, K={rule['k']}, cell {rule.get('cell', '?')}): "
           f"largest TG r_on with worst |error| < {t:g}%:"]
    for row in rule["rows"]:
        if row["r_on_max"] is None:
            out.append(f"  r_wire {row['r_wire']:5g} ohm: none in the swept range; at r_on = {row['min_r_on']:g} ohm "
                       f"the error is already {100 * row['err_at_min_r_on']:.2f}%")
        elif row["bracket"] == "whole range":
            out.append(f"  r_wire {row['r_wire']:5g} ohm: every swept r_on (up to {row['r_on_max']:g} ohm)")
        else:
            out.append(f"  r_wire {row['r_wire']:5g} ohm: r_on <= {row['r_on_max']:.3g} ohm "
                       f"(interpolated between {row['bracket'][0]:g} and {row['bracket'][1]:g} ohm)")
    if rule["r_wire_max"] is None:
        out.append(f"  no swept wire resistance meets {t:g}% even at r_on = {rule['min_r_on']:g} ohm")
    else:
        out.append(f"  wires: at r_on = {rule['min_r_on']:g} ohm the wire resistance must stay <= {rule['r_wire_max']:.3g} ohm per segment")
    ideal = [r for r in rule["rows"] if r["r_wire"] == 0 and r["r_on_max"] is not None and r["bracket"] != "whole range"]
    if ideal and np.isfinite(rule["g_column"]):
        out.append(f"  as a product: r_on_max * mean column conductance ({1e3 * rule['g_column']:.3g} mS) = "
                   f"{ideal[0]['r_on_max'] * rule['g_column']:.3g} at ideal wires")
    return "\n".join(out)


def _levels(values):
    """Distinct values: numbers ascending, names in the order the sweep lists them."""
    if values.dtype.kind in "iuf":
        return sorted(np.unique(values))
    return list(dict.fromkeys(values.tolist()))


def _sortkey(v):
    return (0, float(v), "") if not isinstance(v, (str, np.str_)) else (1, 0.0, str(v))


def _fmt(v):
    if isinstance(v, (str, np.str_)):
        return str(v)
    return f"{float(v):g}"


def _baseline_text(ds, group):
    g = ds.isel(point=np.flatnonzero(ds["member"].sel(group=group).values))
    fixed = [p for p in PARAMS if np.unique(g[p].values).size == 1]
    return ", ".join(f"{p}={_fmt(g[p].values[0])}" for p in fixed)


def _baseline_point(ds):
    cfg = json.loads(ds.attrs.get("config_json", "{}")) if "config_json" in ds.attrs else None
    ok = ds["status"].values == "ok"
    if cfg:
        b = {p: _norm(p, _float_inf(v)) for p, v in cfg["baseline"].items()}
        for i, pt in enumerate(_points_of(ds)):
            if ok[i] and dict(zip(PARAMS, pt)) == b:
                return i
    idx = np.flatnonzero(ok)
    return int(idx[0]) if idx.size else None
