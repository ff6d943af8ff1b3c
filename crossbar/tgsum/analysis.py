"""Reading a TG archive: the design rule (largest TG r_on below an error threshold) and the
basis-contest refusal the study shows once.

Examples
--------
>>> "refused" in contest_demo()
True
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from crossbar.tgsum.assemble import group_grid
from devices.errors import BasisContestError, ParameterError

__all__ = ["design_rule", "contest_demo", "worst_abs"]

def contest_demo() -> str:
    """The refusal of a column claimed by two TG sets (paper Fig. 4a), as its message."""
    from netlists import build_crossbar

    a = np.array([[1, 1, 1, 1], [1, 0, 0, 0]], dtype=bool)  # Fig. 4(a): both kernels need basis vector b1
    try:
        build_crossbar(np.full((4, 4), 50e-6), a, np.full(4, 0.1))
    except BasisContestError as exc:
        return f"refused: assignment [[1,1,1,1],[1,0,0,0]] -> {exc}"
    raise RuntimeError("the crossbar builder accepted a basis contest; it must refuse it")  # pragma: no cover


def worst_abs(ds, var="err_worst"):
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
    err = worst_abs(g)
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

