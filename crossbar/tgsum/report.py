"""The printed summary of a TG archive: error tables, split, crosstalk, validation, design rule."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from crossbar.tgsum.analysis import design_rule, worst_abs
from crossbar.tgsum.assemble import group_grid, points_of
from crossbar.tgsum.config import PARAMS, _float_inf, _norm
from devices.errors import ParameterError

__all__ = ["summary_text", "design_rule_text"]

def _pct(x):
    return "   n/a" if not np.isfinite(x) else f"{100 * x:6.2f}"


def summary_text(ds: xr.Dataset) -> str:
    """The printed summary: tables of worst |error| in %, split, crosstalk, validation, design rule."""
    lines = []
    ok = ds["status"].values == "ok"
    lines.append(f"TG current-summing study: {ds.sizes['point']} points, {int(ok.sum())} ok, {int((~ok).sum())} failed; "
                 f"backend {ds.attrs.get('backend', '?')}, {ds.attrs.get('samples', '?')} random inputs per point "
                 f"(0-{ds.attrs.get('v_max', '?')} V). Errors are worst |(I - I0)/I0| over TG sets and inputs, in %.")
    groups = [str(g) for g in ds["group"].values]
    if "size_k" in groups:
        g = group_grid(ds, "size_k")
        e = worst_abs(g)
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
            worst = float(worst_abs(p, f"{v}_worst"))
            lines.append(f"  {label:28s} mean {_pct(mean)} %   worst |.| {_pct(worst)} %")
    if "size_k" in groups:
        g = ds.isel(point=np.flatnonzero(ds["member"].sel(group="size_k").values))
        ct = worst_abs(g, "crosstalk_worst")
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
        e = worst_abs(g).values
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
        for i, pt in enumerate(points_of(ds)):
            if ok[i] and dict(zip(PARAMS, pt)) == b:
                return i
    idx = np.flatnonzero(ok)
    return int(idx[0]) if idx.size else None
