"""The TG archive Dataset: point metrics from circuit outputs, merging, grid views.

The archive has one ``point`` dim with every swept parameter as a coordinate along it, a
``tg_set`` dim (NaN beyond a point's K) and a ``member`` (point, group) table;
:func:`group_grid` turns one group back into a Dataset with one dim per swept parameter.

``assemble(config, points, results, errors, timing, backend=...)``   the Dataset of some points
``merge(old, new, config)``                 an archive's points not recomputed, then the new ones
``group_grid(ds, group)``                   one group as a grid
``points_of(ds)``                           the point tuples of an archive
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from crossbar.tgsum import metrics as M
from crossbar.tgsum.config import INTS, PARAMS, StudyConfig, _norm
from crossbar.tgsum.tasks import access_device, circuits_of, instance
from devices.errors import ParameterError

__all__ = ["VARS", "SET_VARS", "assemble", "merge", "group_grid", "points_of"]

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
        circ = circuits_of(pt)
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
    new_pts = set(points_of(new))
    keep = [i for i, pt in enumerate(points_of(old)) if pt not in new_pts]
    kmax = max(old.sizes["tg_set"], new.sizes["tg_set"])
    groups = list(dict.fromkeys(str(g) for g in list(old["group"].values) + list(new["group"].values)))

    def norm(ds):
        ds = ds.reindex(tg_set=np.arange(kmax), group=np.array(groups, dtype=object))
        ds["member"] = ds["member"].fillna(False).astype(bool)
        ds["n_columns"] = ds["n_columns"].fillna(0).astype(np.int64)
        return ds

    o = norm(old.isel(point=keep))
    nw = norm(new)
    ds = xr.concat([o, nw], dim="point", combine_attrs="override", data_vars="all", coords="different", compat="equals")
    ds = ds.assign_coords(point=("point", np.arange(ds.sizes["point"]), old["point"].attrs))
    pts = points_of(ds)
    grids = {g: set(config.group_points(g)) for g in groups if g in config.groups}
    cur = np.array([[g in grids and pt in grids[g] for g in groups] for pt in pts], bool)
    ds["member"] = (("point", "group"), ds["member"].values | cur, new["member"].attrs)
    for name in ds.variables:
        src = new if name in new.variables else old
        ds[name].attrs = dict(src[name].attrs)
    return ds



def group_grid(ds: xr.Dataset, group: str) -> xr.Dataset:
    """The points of one sub-sweep as a Dataset with one dim per parameter it sweeps.

    A group that sweeps one parameter (e.g. ``wire_tg`` after ``--r-on 10``) becomes a
    Dataset along that parameter; one that sweeps none keeps its ``point`` dim.
    """
    if group not in list(ds["group"].values):
        raise ParameterError(f"no group {group!r} in the archive; groups: {list(ds['group'].values)}")
    sub = ds.isel(point=np.flatnonzero(ds["member"].sel(group=group).values))
    swept = [p for p in PARAMS if np.unique(sub[p].values).size > 1]
    if not swept:
        return sub
    sub = sub.drop_vars(["member", "group"])
    if len(swept) == 1:  # set_index with one coord gives no MultiIndex and unstack would refuse it
        return sub.swap_dims(point=swept[0]).drop_vars("point").sortby(swept[0])
    sub = sub.set_index(point=swept).unstack("point")
    return sub.transpose(*swept, ...)


def points_of(ds) -> list:
    cols = [ds[p].values for p in PARAMS]
    return [tuple(_norm(p, c[i]) for p, c in zip(PARAMS, cols)) for i in range(ds.sizes["point"])]

