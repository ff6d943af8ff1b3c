"""The work of the TG sweep, worker side: circuits, their outputs, ngspice validation.

Every point needs its combined circuit (with crosstalk and superposition) and three
reference circuits (ideal TGs, ideal wires, both ideal).  Circuits that differ only in
``r_on`` share one factorization (:class:`crossbar.tgsum.metrics.SwitchingSystem`), so one
*circuit task* solves one circuit for every ``r_on`` the sweep needs; a *validation task*
re-solves one point's combined circuit on both backends.

``circuit_tasks(config, points, backend, validate)``  the engine's tasks for these points
``run_task(config, backend, task)``                   one task -> ``xarray.Dataset``
``circuit_outputs(ds)``, ``validation_outputs(ds)``   the Dataset back as arrays

Examples
--------
>>> from crossbar.tgsum.presets import quick_config
>>> cfg = quick_config()
>>> tasks = circuit_tasks(cfg, cfg.points()[:1], "native", validate=False)
>>> [t.key.split()[0] for t in tasks]
['circuit', 'circuit', 'circuit', 'circuit']
"""

from __future__ import annotations

import json
import math
import time
import zlib

import numpy as np
import xarray as xr

from crossbar.study import Task
from crossbar.tgsum import metrics as M
from crossbar.tgsum.config import PARAMS, StudyConfig, _cell
from devices import LinearAccessTransistor, TransmissionGate, Wires
from devices.presets import ACCESS_NMOS

__all__ = ["instance", "access_device", "circuits_of", "circuit_key", "validate_key", "circuit_tasks", "run_task",
           "evaluate_circuit", "validate_point", "circuit_outputs", "validation_outputs"]

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


def circuits_of(pt):
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



def circuit_key(key) -> str:
    """Task key of a circuit (its parameter tuple as JSON)."""
    return "circuit " + json.dumps(list(key))


def validate_key(pt) -> str:
    """Task key of the ngspice validation of a point."""
    return "validate " + json.dumps(list(pt))


def _cost(key, n_ron, backend):
    """Rough relative cost of a circuit task, to start the expensive ones first."""
    n, k, density, cell, access, r_wire = key[:6]
    unknowns = n * n * (2 if r_wire > 0 else 1)  # wires add a node per cell
    if access == "nmos" or backend != "native":  # one Newton solve / .op per switching pattern
        return unknowns * 50 * n_ron * (1 + k + density * n)
    return unknowns * (1 + 0.02 * density * n)  # one factorization, one solve per switched column



def circuit_tasks(config: StudyConfig, points, backend: str, validate: bool) -> list:
    """The circuit tasks the ``points`` need (one per circuit, all its ``r_on`` values), then
    one validation task per point with ``N <= config.validate_max_n`` when ``validate``."""
    needs = {}
    for pt in points:
        for key, r_on, detail in circuits_of(pt).values():
            needs.setdefault(key, {})
            needs[key][r_on] = needs[key].get(r_on, False) or detail
    tasks = [Task(circuit_key(key), params=("circuit", key, tuple(r_ons.items())),
                  cost=float(_cost(key, len(r_ons), backend)), memory=_memory(key))
             for key, r_ons in needs.items()]
    if validate and config.validate_max_n > 0:
        for pt in points:
            if pt[0] <= config.validate_max_n:
                n = pt[0]
                tasks.append(Task(validate_key(pt), params=("validate", pt, None),
                                  cost=float(n * n * 50 * config.validate_samples * (1 + pt[1]))))
    return tasks


def _memory(key) -> float:
    """Peak memory of a circuit task, bytes: about 2 kB per unknown of the factorized system."""
    n, r_wire = key[0], key[5]
    return float(2e3 * n * n * (2 if r_wire > 0 else 1)) if n >= 512 else None


def run_task(config: StudyConfig, backend: str, task: Task) -> xr.Dataset:
    """One circuit or validation task as a Dataset (the elapsed time in ``attrs["elapsed"]``, s)."""
    t0 = time.perf_counter()
    kind, key, payload = task.params
    if kind == "circuit":
        out = evaluate_circuit(config, key, dict(payload), backend)
        r_ons = sorted(out)
        names = ("all", "alone", "single_sum")
        shape = next(iter(out.values()))["all"].shape
        data = {}
        for name in names:
            arr = np.full((len(r_ons),) + shape, np.nan)
            for i, r in enumerate(r_ons):
                if name in out[r]:
                    arr[i] = out[r][name]
            data[name] = (("r_on", "sample", "tg_set"), arr, {"units": "A"})
        ds = xr.Dataset(data, coords={"r_on": ("r_on", np.array(r_ons, float), {"units": "ohm"})})
        ds["has_detail"] = ("r_on", np.array(["alone" in out[r] for r in r_ons]))
    else:
        res = validate_point(config, key, backend)
        ds = xr.Dataset({b: (("sample", "tg_set"), res[b], {"units": "A"}) for b in ("native", "ngspice")})
    ds.attrs["elapsed"] = time.perf_counter() - t0
    return ds


def circuit_outputs(ds: xr.Dataset) -> dict:
    """``r_on -> {"all": (S, K), ["alone", "single_sum"]}`` from a circuit task's Dataset, ampere."""
    out = {}
    for i, r in enumerate(ds["r_on"].values):
        res = {"all": ds["all"].values[i]}
        if bool(ds["has_detail"].values[i]):
            res["alone"] = ds["alone"].values[i]
            res["single_sum"] = ds["single_sum"].values[i]
        out[float(r)] = res
    return out


def validation_outputs(ds: xr.Dataset) -> dict:
    """``{"native": (S, K), "ngspice": (S, K)}`` from a validation task's Dataset, ampere."""
    return {b: ds[b].values for b in ("native", "ngspice")}
