#!/usr/bin/env python
"""Paper figures: Table 1, cycles vs crossbars (Figs. 7-9), Fig. 2(a) slowdown.

Computes everything with ``basisn.costmodel``, writes one HDF5 archive (atomic, with
provenance) and regenerates the figures and the Markdown table from that archive.

    python studies/paper_figures.py                       # compute, archive, figures
    python studies/paper_figures.py --plot-only results/paper_figures/paper_figures.h5

Outputs (default folder ``results/paper_figures/``): ``paper_figures.h5``,
``table1.md``, ``cycles_<network>.png``, ``fig2a_slowdown.png``, ``crossbars_vs_d.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from basisn.costmodel import (  # noqa: E402
    BIG_NETWORKS,
    BLOCK_BASED,
    DEFAULT_AREA,
    DEFAULT_ENERGY,
    ROW_BASED,
    NETWORK_NAMES,
    ChipModel,
    convention_counts,
    cycle_sweep,
    get_network,
    slowdown_table,
    table1,
)
from basisn.costmodel.mapping import get_convention  # noqa: E402
from crossbar.archive import provenance, read_dataset, write_dataset  # noqa: E402
from devices.errors import ParameterError, XbarError  # noqa: E402

DEFAULT_OUT = Path("results") / "paper_figures" / "paper_figures.h5"
SHORT = {"densenet121-imagenet": "DenseNet-ImageNet", "densenet121-cifar100": "DenseNet-CIFAR100",
         "resnet34-cifar100": "ResNet-CIFAR100", "digits-mlp": "digits MLP", "mnist1d-cnn": "MNIST-1D CNN"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="BasisN paper figures: Table 1 beside the paper, cycles per inference vs number of "
                    "crossbars (Figs. 7-9) with the crossover, Fig. 2(a) slowdown. Archive + figures.")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"HDF5 archive to write (default {DEFAULT_OUT})")
    p.add_argument("--plot-only", metavar="ARCHIVE", type=Path,
                   help="only regenerate figures and table1.md from an existing archive")
    p.add_argument("--networks", nargs="+", default=list(NETWORK_NAMES), metavar="NAME",
                   help=f"networks for the cycle sweep (default all: {', '.join(NETWORK_NAMES)})")
    p.add_argument("--d", nargs="+", type=int, default=[64, 128, 256, 512], help="crossbar sizes of the sweep")
    p.add_argument("--bits", nargs="+", type=int, default=[1, 2, 3, 4], help="BasisN coefficient bits of the sweep")
    p.add_argument("--table-bits", type=int, default=4, help="coefficient bits for Table 1 (default 4)")
    p.add_argument("--table-d", type=int, default=256, help="crossbar size of Table 1 (default 256, as [5])")
    p.add_argument("--n-crossbars", type=int, default=48, help="crossbars on the chip for Table 1 (default 48, [5])")
    p.add_argument("--tg-sets", type=int, default=4, help="TG sets K per crossbar (default 4, assumption)")
    p.add_argument("--pieces-per-step", type=float, default=None,
                   help="BasisN pieces per crossbar step for the big networks (default K, assumption)")
    p.add_argument("--programming-parallelism", type=int, default=1,
                   help="crossbars reprogrammed at once; 0 = all on the chip (default 1, assumption)")
    p.add_argument("--row-cycles", type=float, default=ROW_BASED.cycles_ref,
                   help=f"cycles to reprogram a 128x128 crossbar, row-based [13] (default {ROW_BASED.cycles_ref:g})")
    p.add_argument("--block-cycles", type=float, default=BLOCK_BASED.cycles_ref,
                   help=f"cycles to reprogram a 128x128 crossbar, block-based [12] (default {BLOCK_BASED.cycles_ref:g})")
    p.add_argument("--param", action="append", default=[], metavar="MODEL.FIELD=VALUE",
                   help="override an energy or area constant, e.g. energy.e_pulse=2e-12 or area.tg_f2=100 "
                        "(fields: see basisn/costmodel/parameters.py); repeatable")
    p.add_argument("--convention", default="bias-row",
                   help="mapping convention of the WS count (default bias-row, the best match; or plain, ...)")
    p.add_argument("--max-crossbars", type=int, default=20000, help="top of the crossbar sweep (default 20000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the small models' scheduler codes")
    return p.parse_args(argv)


def _attrs(prefix, obj):
    out = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        out[f"{prefix}_{f.name}"] = "None" if v is None else v
    return out


def _overrides(items):
    """``["energy.e_pulse=2e-12", ...]`` -> EnergyModel, AreaModel with those fields replaced."""
    models = {"energy": DEFAULT_ENERGY, "area": DEFAULT_AREA}
    changes = {"energy": {}, "area": {}}
    for item in items:
        key, sep, value = item.partition("=")
        model, _, field = key.partition(".")
        names = {k: [f.name for f in dataclasses.fields(v)] for k, v in models.items()}
        if not sep or model not in models or field not in names[model]:
            allowed = ", ".join(f"{k}.{n}" for k, v in names.items() for n in v)
            raise ParameterError(f"--param {item!r}: expected MODEL.FIELD=VALUE with MODEL.FIELD one of {allowed}")
        try:
            changes[model][field] = float(value)
        except ValueError:
            raise ParameterError(f"--param {item!r}: value {value!r} is not a number") from None
    return (dataclasses.replace(models["energy"], **changes["energy"]),
            dataclasses.replace(models["area"], **changes["area"]))


def compute(args):
    """Run the cost model and return one xarray.Dataset."""
    import xarray as xr

    par = args.programming_parallelism
    if par is None or par < 0:
        raise ParameterError(f"--programming-parallelism = {par}; allowed: 0 (all) or an integer >= 1")
    chip = ChipModel(n_crossbars=args.n_crossbars, d=args.table_d, tg_sets=args.tg_sets,
                     pieces_per_step=args.pieces_per_step, programming_parallelism=par or None)
    nets = [get_network(n).name for n in args.networks]
    conv = get_convention(args.convention)
    energy, area = _overrides(args.param)
    row = dataclasses.replace(ROW_BASED, cycles_ref=args.row_cycles)
    block = dataclasses.replace(BLOCK_BASED, cycles_ref=args.block_cycles)
    models = dict(energy=energy, area=area, row=row, block=block)
    tab = table1(args.table_bits, conv, chip, **models)
    other = ChipModel(**{**dataclasses.asdict(chip), "programming_parallelism": None if par == 1 else 1})
    alt = table1(args.table_bits, conv, other, **models)
    tag = "all_parallel" if par == 1 else "sequential"
    for k in ("cycle_ratio_row", "cycle_ratio_block", "edp_ratio_row", "edp_ratio_block"):
        tab[f"{k}_{tag}"] = alt[k].assign_attrs(long_name=alt[k].attrs["long_name"] + f" ({tag} programming)")
    plain_tab = table1(args.table_bits, "plain", chip, **models)
    for k in ("cycle_ratio_row", "cycle_ratio_block"):
        tab[f"{k}_plain_count"] = plain_tab[k].assign_attrs(long_name=plain_tab[k].attrs["long_name"] + " (plain count)")
    counts = convention_counts(args.table_d)
    sweep = cycle_sweep(nets, args.d, args.bits, conv, chip, args.max_crossbars, args.seed, row, block)
    slow = slowdown_table(BIG_NETWORKS, args.table_d, args.n_crossbars, conv, chip, row, block)
    rename = {"network": "benchmark"}
    ds = xr.merge([tab.rename(rename), counts.rename(rename), slow.rename(rename), sweep], compat="no_conflicts", join="outer",
                  combine_attrs="drop_conflicts")
    labels = {"benchmark": "paper Table 1 benchmark", "network": "network of the cycle sweep",
              "convention": "WS mapping convention", "scheme": "reprogramming scheme of the WS baseline"}
    for name, long_name in labels.items():
        ds[name].attrs.update(long_name=long_name, units="")  # labels: no physical unit
    ds.attrs.update(provenance(study="paper_figures", convention=conv.name, convention_description=conv.describe()))
    ds.attrs.update({**tab.attrs, **sweep.attrs, **slow.attrs})
    ds.attrs.update(_attrs("chip", chip))
    ds.attrs.update(_attrs("energy", energy))
    ds.attrs.update(_attrs("area", area))
    ds.attrs.update(_attrs("row", row))
    ds.attrs.update(_attrs("block", block))
    return ds


def _pct(x):
    return f"{100 * x:.3g}%"


def table_markdown(ds) -> str:
    """Table 1, ours | paper per column, as Markdown (from the archive)."""
    rows = []
    head = ("| network | #WS crossbars plain | #WS crossbars best ({}) | paper | available [5] | ratio | paper "
            "| cycles / [13] | paper | cycles / [12] | paper | EDP / [13] | paper | EDP / [12] | paper "
            "| TG area | paper |").format(ds.attrs.get("convention", ""))
    rows.append(head)
    rows.append("|" + "---|" * (head.count("|") - 1))
    for b in ds.benchmark.values:
        r = ds.sel(benchmark=b)
        rows.append("| " + " | ".join([
            SHORT.get(str(b), str(b)), f"{int(r.crossbars_plain)}", f"{int(r.crossbars)}", f"{int(r.crossbars_paper)}",
            f"{int(r.available)}", f"{float(r.ratio_available):.4f}", f"{float(r.ratio_available_paper):.4f}",
            _pct(r.cycle_ratio_row), _pct(r.cycle_ratio_row_paper),
            _pct(r.cycle_ratio_block), _pct(r.cycle_ratio_block_paper),
            _pct(r.edp_ratio_row), _pct(r.edp_ratio_row_paper),
            _pct(r.edp_ratio_block), _pct(r.edp_ratio_block_paper),
            _pct(r.area_overhead), _pct(r.area_overhead_paper),
        ]) + " |")
    rows.append("")
    rows.append("Accuracy columns of Table 1 are not modelled here (paper: software "
                + ", ".join(f"{SHORT[str(b)]} {_pct(ds.software_accuracy_paper.sel(benchmark=b))}" for b in ds.benchmark.values)
                + "; BasisN " + ", ".join(f"{_pct(ds.basisn_accuracy_paper.sel(benchmark=b))}" for b in ds.benchmark.values) + ").")
    rows.append("")
    rows.append("| network | EDP / [13], paper accounting | EDP / [12], paper accounting | cycles / [13], other programming | cycles / [12], other programming | slowdown row [13] | slowdown block [12] |")
    rows.append("|---|---|---|---|---|---|---|")
    alt = [k for k in ds.data_vars if k.startswith("cycle_ratio_row_") and k.endswith(("all_parallel", "sequential"))][0]
    for b in ds.benchmark.values:
        r = ds.sel(benchmark=b)
        rows.append(f"| {SHORT[str(b)]} | {_pct(r.edp_ratio_row_paper_accounting)} | {_pct(r.edp_ratio_block_paper_accounting)} "
                    f"| {_pct(r[alt])} | {_pct(r[alt.replace('_row_', '_block_')])} "
                    f"| {float(r.slowdown.isel(scheme=0)):.3g} | {float(r.slowdown.isel(scheme=1)):.3g} |")
    rows.append("")
    rows.append(f"Other programming = `{alt.split('row_')[1]}`. Crossover (smallest M from which weight-stationary "
                f"is at least as fast as BasisN, {int(ds.bits.values.max())}-bit coefficients, row | block):")
    rows.append("")
    rows.append("| network | " + " | ".join(f"d={int(d)}: needed | crossover" for d in ds.d.values) + " |")
    rows.append("|---|" + "---|---|" * ds.d.size)
    for n in ds.network.values:
        cells = []
        for d in ds.d.values:
            c = ds.crossover.sel(network=n, d=d, bits=ds.bits.values.max())
            cells += [f"{int(ds.crossbars_needed.sel(network=n, d=d))}", f"{int(c.isel(scheme=0))} / {int(c.isel(scheme=1))}"]
        rows.append(f"| {SHORT.get(str(n), str(n))} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def plot(ds, folder: Path) -> list:
    """All figures from the archive's dataset; returns the written paths."""
    import matplotlib.ticker

    from crossbar.plotting import pyplot, save_figure

    plt = pyplot()

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    m = ds.n_crossbars.values
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, ds.bits.size))
    for n in ds.network.values:
        fig, axes = plt.subplots(1, ds.d.size, figsize=(4.2 * ds.d.size, 3.8), squeeze=False)
        for ax, d in zip(axes[0], ds.d.values):
            sel = ds.sel(network=n, d=d)
            for s, style in zip(ds.scheme.values, ("-", "--")):
                ax.loglog(m, sel.ws_cycles.sel(scheme=s), "k" + style, label=f"WS, {s}")
            for c, b in zip(colors, ds.bits.values):
                ax.loglog(m, sel.basisn_cycles.sel(bits=b), color=c, label=f"BasisN {int(b)}-bit")
            need = int(sel.crossbars_needed)
            ax.axvline(need, color="0.6", lw=0.8, ls=":")
            ax.axvline(int(ds.attrs.get("table_n_crossbars", 48)), color="tab:red", lw=0.8, ls=":")
            cr = int(sel.crossover.sel(bits=ds.bits.values.max()).isel(scheme=1))
            ttl = f"d = {int(d)}: needs {need}"
            if cr > 0:
                ttl += f", WS wins from {cr}"
            ax.set_title(ttl, fontsize=9)
            ax.set_xlabel("crossbars on chip M (count)")
            ax.set_ylabel("cycles per inference (cycles)")
        axes[0][0].legend(fontsize=7)
        fig.suptitle(f"{SHORT.get(str(n), str(n))}: cycles per inference vs crossbars (red: 48 [5], grey: WS fits)")
        fig.subplots_adjust(left=0.05, right=0.99, bottom=0.13, top=0.84, wspace=0.3)
        written.append(save_figure(fig, folder / f"cycles_{n}.png", dpi=90, tight=False))

    fig, ax = plt.subplots(figsize=(6, 4))
    x = np.arange(ds.benchmark.size)
    for i, s in enumerate(ds.scheme.values):
        ax.bar(x + (i - 0.5) * 0.38, ds.slowdown.sel(scheme=s), 0.38, label=str(s))
    ax.set_yscale("log")
    ax.axhline(1000, color="k", lw=0.8, ls=":")
    ax.set_xticks(x, [SHORT[str(b)] for b in ds.benchmark.values])
    ax.set_ylabel("slowdown vs no reprogramming (ratio, 1)")
    ax.set_title(f"Fig. 2(a): {int(ds.attrs.get('slowdown_m', 48))} crossbars of "
                 f"{int(ds.attrs.get('slowdown_d', 256))}x{int(ds.attrs.get('slowdown_d', 256))}")
    ax.legend()
    written.append(save_figure(fig, folder / "fig2a_slowdown.png", dpi=110))

    fig, ax = plt.subplots(figsize=(6, 4))
    for n in [b for b in ds.benchmark.values if b in ds.network.values]:
        line, = ax.loglog(ds.d, ds.crossbars_needed.sel(network=n), "o-", label=f"{SHORT[str(n)]} (ours)")
        ax.plot([256], [int(ds.crossbars_paper.sel(benchmark=n))], "x", ms=10, color=line.get_color())
    ax.set_xscale("log", base=2)
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks(ds.d.values, [str(int(d)) for d in ds.d.values])
    ax.set_xlabel("crossbar size d (rows = columns)")
    ax.set_ylabel("WS crossbars needed (count)")
    ax.set_title(f"WS crossbars ({ds.attrs.get('convention', '')}); x = paper Table 1")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    written.append(save_figure(fig, folder / "crossbars_vs_d.png", dpi=110))

    md = folder / "table1.md"
    md.write_text(table_markdown(ds))
    written.append(md)
    return written


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.plot_only is not None:
            archive = args.plot_only
        else:
            ds = compute(args)
            archive = write_dataset(ds, args.out)
            print(f"archive: {archive}")
        ds = read_dataset(archive)
        for path in plot(ds, Path(archive).parent):
            print(f"wrote {path}")
        print()
        print(table_markdown(ds))
    except XbarError as exc:
        print(f"paper_figures: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
