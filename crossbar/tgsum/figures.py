"""PNG figures of a TG current-summing archive (SI inside, % / mA / ohm on the axes).

``make_figures(ds, folder, stem)`` writes, when the archive has the data for them:

``<stem>_error_vs_n.png``         worst |error| vs N, one line per K (group ``size_k``)
``<stem>_heatmap<suffix>.png``    worst |error| over (wire resistance, TG r_on), one per group ``wire_tg<suffix>``
``<stem>_crosstalk_vs_k.png``     worst |crosstalk| vs K, one line per N (group ``size_k``)
``<stem>_ngspice.png``            native vs ngspice currents and their relative difference
``<stem>_split.png``              error split (wires / TGs / combined) vs TG r_on
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from crossbar.plotting import pyplot, save_figure

__all__ = ["make_figures"]


def _members(ds, group):
    if group not in list(ds["group"].values):
        return None
    idx = np.flatnonzero(ds["member"].sel(group=group).values & (ds["status"].values == "ok"))
    return ds.isel(point=idx) if idx.size else None


def _worst(ds, var="err_worst"):
    return np.abs(ds[var]).max("tg_set", skipna=True).values


def make_figures(ds: xr.Dataset, folder, stem: str = "tg_current_summing") -> list:
    """Write the figures next to the archive; returns the paths written."""
    plt = pyplot()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def save(fig, name):
        written.append(save_figure(fig, folder / f"{stem}_{name}.png", dpi=120))

    g = _members(ds, "size_k")
    if g is not None:
        fig, ax = plt.subplots(figsize=(6, 4.2))
        err, wire = _worst(g), _worst(g, "wire_err_worst")
        for k in np.unique(g["k"].values):
            sel = g["k"].values == k
            order = np.argsort(g["n"].values[sel])
            ax.plot(g["n"].values[sel][order], 100 * err[sel][order], "o-", label=f"K = {int(k)}")
        sel = g["k"].values == np.unique(g["k"].values)[0]
        order = np.argsort(g["n"].values[sel])
        ax.plot(g["n"].values[sel][order], 100 * wire[sel][order], "k--", lw=1, label="wires only (ideal TGs)")
        ax.set_xscale("log", base=2)
        _ticks(ax.xaxis, np.unique(g["n"].values))
        ax.set_ylim(0, None)
        ax.set_xlabel("crossbar size N (rows = columns)")
        ax.set_ylabel("worst |relative error| (%)")
        ax.set_title(_title(g, ("n", "k")), fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        save(fig, "error_vs_n")

        fig, ax = plt.subplots(figsize=(6, 4.2))
        ct = _worst(g, "crosstalk_worst")
        for n in np.unique(g["n"].values):
            sel = g["n"].values == n
            order = np.argsort(g["k"].values[sel])
            ax.plot(g["k"].values[sel][order], 100 * ct[sel][order], "o-", label=f"N = {int(n)}")
        ax.set_xscale("log", base=2)
        _ticks(ax.xaxis, np.unique(g["k"].values))
        ax.set_ylim(0, None)
        ax.set_xlabel("number of TG sets K")
        ax.set_ylabel("worst |crosstalk| (% of ideal output)")
        ax.set_title(_title(g, ("n", "k")), fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        save(fig, "crosstalk_vs_k")

    for name in [g for g in ds["group"].values if str(g).startswith("wire_tg")]:
        hg = _members(ds, name)
        if hg is not None and np.unique(hg["r_wire"].values).size > 1 and np.unique(hg["r_on"].values).size > 1:
            save(_heatmap(plt, hg), "heatmap" + str(name)[len("wire_tg"):])
    h = _members(ds, "wire_tg")
    if h is not None and np.unique(h["r_wire"].values).size > 1 and np.unique(h["r_on"].values).size > 1:
        rw = np.unique(h["r_wire"].values)

        # split vs r_on at the largest and smallest wire resistance
        fig, ax = plt.subplots(figsize=(6, 4.2))
        shown = [rw[1] if rw[0] == 0 and rw.size > 2 else rw[0], rw[-1]]  # wires only at 0 ohm is exact by construction
        for rwv, style in ((shown[0], "-"), (shown[1], ":")):
            sel = h["r_wire"].values == rwv
            order = np.argsort(h["r_on"].values[sel])
            x = h["r_on"].values[sel][order]
            for var, label, c in (("err_worst", "combined", "k"), ("wire_err_worst", "wires only", "C0"),
                                  ("tg_err_worst", "TGs only", "C1")):
                ax.plot(x, 100 * _worst(h, var)[sel][order], style, color=c, marker="o", ms=3,
                        label=f"{label}, r_wire = {rwv:g} ohm")
        ax.axhline(1.0, color="r", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain(ax.xaxis)
        ax.set_xlabel("TG on-resistance r_on (ohm)")
        ax.set_ylabel("worst |relative error| (%)")
        ax.set_title(_title(h, ("r_wire", "r_on")), fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        save(fig, "split")

    v = ds.isel(point=np.flatnonzero(np.isfinite(ds["ngspice_max_rel_diff"].values)))
    if v.sizes["point"]:
        nat = v["validation_native_current"].values.ravel()
        ng = v["validation_ngspice_current"].values.ravel()
        ok = np.isfinite(nat) & np.isfinite(ng)
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4))
        a1.plot(1e3 * nat[ok], 1e3 * ng[ok], "o", ms=3)
        lim = [1e3 * nat[ok].min(), 1e3 * nat[ok].max()]
        a1.plot(lim, lim, "k-", lw=0.8)
        a1.set_xlabel("native output current (mA)")
        a1.set_ylabel("ngspice output current (mA)")
        a1.set_title("every TG set of every validated point", fontsize=8)
        rel = np.abs(ng[ok] - nat[ok]) / np.abs(nat[ok])
        a2.semilogy(1e3 * nat[ok], np.maximum(rel, 1e-17), "o", ms=3)
        a2.set_xlabel("native output current (mA)")
        a2.set_ylabel("|I_ngspice - I_native| / |I_native|")
        a2.set_title(f"first input of each validated point; largest {rel.max():.2g}", fontsize=8)
        for ax in (a1, a2):
            ax.grid(True, which="both", alpha=0.3)
        save(fig, "ngspice")
    return written


def _heatmap(plt, h):
    """Worst |error| over (r_wire, r_on) of one group, with the 1 % contour."""
    rw = np.unique(h["r_wire"].values)
    ro = np.unique(h["r_on"].values)
    z = np.full((rw.size, ro.size), np.nan)
    e = _worst(h)
    for i in range(h.sizes["point"]):
        a, b = np.searchsorted(rw, h["r_wire"].values[i]), np.searchsorted(ro, h["r_on"].values[i])
        z[a, b] = np.nanmax([z[a, b], e[i]])
    from matplotlib.colors import LogNorm

    fig, ax = plt.subplots(figsize=(7, 4.5))
    zz = 100 * np.clip(z, 1e-6, None)
    im = ax.imshow(zz, origin="lower", aspect="auto", norm=LogNorm(vmin=np.nanmin(zz), vmax=np.nanmax(zz)), cmap="viridis")
    for a in range(rw.size):
        for b in range(ro.size):
            if np.isfinite(z[a, b]):
                ax.text(b, a, f"{100 * z[a, b]:.2g}", ha="center", va="center", fontsize=6,
                        color="w" if z[a, b] < np.nanmedian(z) else "k")
    if np.nanmin(zz) < 1 < np.nanmax(zz):
        ax.contour(np.arange(ro.size), np.arange(rw.size), zz, levels=[1.0], colors="r", linewidths=1.5)
    ax.set_xticks(range(ro.size), [f"{x:g}" for x in ro], rotation=45)
    ax.set_yticks(range(rw.size), [f"{x:g}" for x in rw])
    ax.set_xlabel("TG on-resistance r_on (ohm)")
    ax.set_ylabel("wire resistance per segment (ohm)")
    fig.colorbar(im, ax=ax, label="worst |relative error| (%); red: 1%")
    ax.set_title(_title(h, ("r_wire", "r_on")), fontsize=8)
    return fig


def _ticks(axis, values):
    from matplotlib.ticker import FixedLocator, NullLocator

    axis.set_major_locator(FixedLocator([float(v) for v in values]))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(lambda x, pos: f"{x:g}")


def _plain(axis):
    from matplotlib.ticker import NullFormatter

    axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(lambda x, pos: f"{x:g}")


def _title(g, swept):
    from crossbar.tgsum.sweep import PARAMS

    parts = []
    units = {"r_wire": " ohm", "r_on": " ohm", "r_off": " ohm", "r_summing": " ohm"}
    for p in PARAMS:
        if p in swept:
            continue
        vals = np.unique(g[p].values)
        if vals.size == 1:
            v = vals[0]
            parts.append(f"{p}={v if isinstance(v, str) else f'{float(v):g}'}{units.get(p, '')}")
    import textwrap

    return textwrap.fill(", ".join(parts), 90)
