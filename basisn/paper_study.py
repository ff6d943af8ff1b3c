"""The paper figures (Table 1, cycles vs crossbars Figs. 7-9, Fig. 2(a) slowdown) as an engine study.

Everything comes from :mod:`basisn.costmodel`.  Tasks: ``tables`` (Table 1 in both
programming accountings, the plain count, the convention counts, the Fig. 2(a)
slowdown) and one ``sweep/<network>`` per network of the cycle sweep; they combine with
``xr.merge`` (the sweep's networks with ``xr.concat``).

``PaperConfig``          the validated settings (every command-line value is checked here)
``PaperStudy``           the :class:`crossbar.study.Study`
``table_markdown(ds)``   Table 1 beside the paper, and the crossovers, as Markdown
``plot(ds, folder)``     the figures and ``table1.md``

Examples
--------
>>> PaperConfig(networks=("digits-mlp",), d=(64,), bits=(1,), max_crossbars=100).networks
('digits-mlp',)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import xarray as xr

from basisn._checks import check_int
from basisn.costmodel import (BIG_NETWORKS, BLOCK_BASED, DEFAULT_AREA, DEFAULT_ENERGY, NETWORK_NAMES, ROW_BASED,
                              ChipModel, convention_counts, cycle_sweep, get_network, slowdown_table, table1)
from basisn.costmodel.mapping import get_convention
from basisn.costmodel.tables import sweep_grid
from crossbar.study import Study, Task
from devices import _check
from devices.errors import ParameterError

__all__ = ["PaperConfig", "PaperStudy", "table_markdown", "plot", "SHORT"]

SHORT = {"densenet121-imagenet": "DenseNet-ImageNet", "densenet121-cifar100": "DenseNet-CIFAR100",
         "resnet34-cifar100": "ResNet-CIFAR100", "digits-mlp": "digits MLP", "mnist1d-cnn": "MNIST-1D CNN"}


@dataclasses.dataclass(frozen=True)
class PaperConfig:
    """Settings of the paper-figures study (defaults: the paper's chip, our assumptions marked)."""

    networks: tuple = tuple(NETWORK_NAMES)
    """Networks of the cycle sweep."""
    d: tuple = (64, 128, 256, 512)
    """Crossbar sizes of the sweep."""
    bits: tuple = (1, 2, 3, 4)
    """BasisN coefficient bits of the sweep."""
    table_bits: int = 4
    """Coefficient bits of Table 1."""
    table_d: int = 256
    """Crossbar size of Table 1 (as [5])."""
    n_crossbars: int = 48
    """Crossbars on the chip for Table 1 ([5])."""
    tg_sets: int = 4
    """TG sets K per crossbar (assumption)."""
    pieces_per_step: float | None = None
    """BasisN pieces per crossbar step for the big networks (None: K, assumption)."""
    programming_parallelism: int = 1
    """Crossbars reprogrammed at once; 0 = all on the chip (assumption)."""
    row_cycles: float = ROW_BASED.cycles_ref
    """Cycles to reprogram a 128x128 crossbar, row-based [13]."""
    block_cycles: float = BLOCK_BASED.cycles_ref
    """Cycles to reprogram a 128x128 crossbar, block-based [12]."""
    params: tuple = ()
    """Overrides ``MODEL.FIELD=VALUE`` of the energy and area constants."""
    convention: str = "bias-row"
    """Mapping convention of the WS count."""
    max_crossbars: int = 20000
    """Top of the crossbar sweep (count)."""
    seed: int = 0
    """Seed of the small models' scheduler codes."""

    def __post_init__(self):
        name = "PaperConfig"
        if not self.networks:
            raise ParameterError("networks: give at least one network")
        object.__setattr__(self, "networks", tuple(get_network(n).name for n in self.networks))
        for field in ("d", "bits"):
            if not getattr(self, field):
                raise ParameterError(f"{field}: give at least one value")
        object.__setattr__(self, "max_crossbars", _check.integer(name, "max_crossbars", self.max_crossbars, 1, 10**9,
                                                                 exact=True))
        object.__setattr__(self, "seed", _check.integer(name, "seed", self.seed, 0, 2**63 - 1, exact=True))
        par = self.programming_parallelism
        if isinstance(par, bool) or not isinstance(par, int) or par < 0:
            raise ParameterError(f"--programming-parallelism = {par!r}; allowed: 0 (all) or an integer >= 1")
        for field in ("row_cycles", "block_cycles"):
            object.__setattr__(self, field, _check.number(name, field, getattr(self, field), lo=0.0, lo_open=True,
                                                          hi=1e15, unit="cycles"))
        get_convention(self.convention)
        self.models()  # chip, energy and area models check the rest (ParameterError naming the value)
        for d in self.d:
            check_int(d, "d", 1, 65536)
        for b in self.bits:
            check_int(b, "bits", 1, 16)

    def chip(self) -> ChipModel:
        par = self.programming_parallelism
        return ChipModel(n_crossbars=self.n_crossbars, d=self.table_d, tg_sets=self.tg_sets,
                         pieces_per_step=self.pieces_per_step, programming_parallelism=par or None)

    def models(self) -> dict:
        """``energy``, ``area``, ``row``, ``block`` models with the overrides applied."""
        self.chip()
        energy, area = _overrides(self.params)
        return dict(energy=energy, area=area, row=dataclasses.replace(ROW_BASED, cycles_ref=self.row_cycles),
                    block=dataclasses.replace(BLOCK_BASED, cycles_ref=self.block_cycles))


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


def compute_tables(cfg: PaperConfig) -> xr.Dataset:
    """Table 1 (both programming accountings, plain count), convention counts, Fig. 2(a) slowdown."""
    par = cfg.programming_parallelism
    chip = cfg.chip()
    conv = get_convention(cfg.convention)
    models = cfg.models()
    tab = table1(cfg.table_bits, conv, chip, **models)
    other = ChipModel(**{**dataclasses.asdict(chip), "programming_parallelism": None if par == 1 else 1})
    alt = table1(cfg.table_bits, conv, other, **models)
    tag = "all_parallel" if par == 1 else "sequential"
    for k in ("cycle_ratio_row", "cycle_ratio_block", "edp_ratio_row", "edp_ratio_block"):
        tab[f"{k}_{tag}"] = alt[k].assign_attrs(long_name=alt[k].attrs["long_name"] + f" ({tag} programming)")
    plain_tab = table1(cfg.table_bits, "plain", chip, **models)
    for k in ("cycle_ratio_row", "cycle_ratio_block"):
        tab[f"{k}_plain_count"] = plain_tab[k].assign_attrs(long_name=plain_tab[k].attrs["long_name"] + " (plain count)")
    counts = convention_counts(cfg.table_d)
    slow = slowdown_table(BIG_NETWORKS, cfg.table_d, cfg.n_crossbars, conv, chip, models["row"], models["block"])
    rename = {"network": "benchmark"}
    ds = xr.merge([tab.rename(rename), counts.rename(rename), slow.rename(rename)], compat="no_conflicts",
                  join="outer", combine_attrs="drop_conflicts")
    ds.attrs = {**tab.attrs, **slow.attrs}
    return ds


def compute_sweep(cfg: PaperConfig, network: str) -> xr.Dataset:
    """Cycles per inference vs crossbars of one network."""
    m = cfg.models()
    grid = sweep_grid(cfg.networks, list(cfg.d), cfg.convention, cfg.max_crossbars)  # shared by every network
    return cycle_sweep([network], list(cfg.d), list(cfg.bits), get_convention(cfg.convention), cfg.chip(),
                       cfg.max_crossbars, cfg.seed, m["row"], m["block"], crossbars=grid)


class PaperStudy(Study):
    """The paper figures on the engine: ``tables`` and one ``sweep/<network>`` task per network."""

    name = "paper_figures"
    description = ("BasisN paper figures: Table 1 beside the paper, cycles per inference vs number of crossbars "
                   "(Figs. 7-9) with the crossover, Fig. 2(a) slowdown. Archive + figures.")
    default_out = Path("results") / "paper_figures" / "paper_figures.h5"

    def add_arguments(self, p):
        from crossbar.study import float_arg, int_arg

        g = p.add_argument_group("paper figures")
        g.add_argument("--networks", nargs="+", default=list(NETWORK_NAMES), metavar="NAME",
                       help=f"networks for the cycle sweep (default all: {', '.join(NETWORK_NAMES)})")
        g.add_argument("--d", nargs="+", type=int, default=[64, 128, 256, 512], help="crossbar sizes of the sweep")
        g.add_argument("--bits", nargs="+", type=int, default=[1, 2, 3, 4], help="BasisN coefficient bits of the sweep")
        g.add_argument("--table-bits", type=int, default=4, help="coefficient bits for Table 1 (default 4)")
        g.add_argument("--table-d", type=int, default=256, help="crossbar size of Table 1 (default 256, as [5])")
        g.add_argument("--n-crossbars", type=int, default=48, help="crossbars on the chip for Table 1 (default 48, [5])")
        g.add_argument("--tg-sets", type=int, default=4, help="TG sets K per crossbar (default 4, assumption)")
        g.add_argument("--pieces-per-step", type=float_arg(), default=None,
                       help="BasisN pieces per crossbar step for the big networks (default K, assumption)")
        g.add_argument("--programming-parallelism", type=int, default=1,
                       help="crossbars reprogrammed at once; 0 = all on the chip (default 1, assumption)")
        g.add_argument("--row-cycles", type=float_arg(), default=ROW_BASED.cycles_ref,
                       help=f"cycles to reprogram a 128x128 crossbar, row-based [13] (default {ROW_BASED.cycles_ref:g})")
        g.add_argument("--block-cycles", type=float_arg(), default=BLOCK_BASED.cycles_ref,
                       help=f"cycles to reprogram a 128x128 crossbar, block-based [12] (default {BLOCK_BASED.cycles_ref:g})")
        g.add_argument("--param", action="append", default=[], metavar="MODEL.FIELD=VALUE",
                       help="override an energy or area constant, e.g. energy.e_pulse=2e-12 or area.tg_f2=100 "
                            "(fields: see basisn/costmodel/parameters.py); repeatable")
        g.add_argument("--convention", default="bias-row",
                       help="mapping convention of the WS count (default bias-row, the best match; or plain, ...)")
        g.add_argument("--max-crossbars", type=int_arg(1, 10**9), default=20000,
                       help="top of the crossbar sweep (default 20000)")
        g.add_argument("--seed", type=int_arg(0, 2**63 - 1), default=0,
                       help="seed of the small models' scheduler codes (default 0)")

    def config_from_args(self, args) -> PaperConfig:
        if args.quick:
            raise ParameterError("--quick: this study takes a few seconds; it has no quick version "
                                 "(choose fewer --networks or --d to shorten it)")
        return PaperConfig(networks=tuple(args.networks), d=tuple(args.d), bits=tuple(args.bits),
                           table_bits=args.table_bits, table_d=args.table_d, n_crossbars=args.n_crossbars,
                           tg_sets=args.tg_sets, pieces_per_step=args.pieces_per_step,
                           programming_parallelism=args.programming_parallelism, row_cycles=args.row_cycles,
                           block_cycles=args.block_cycles, params=tuple(args.param), convention=args.convention,
                           max_crossbars=args.max_crossbars, seed=args.seed)

    def tasks(self, config: PaperConfig):
        per_net = len(config.d) * len(config.bits)
        return [Task("tables", params=("tables", None), cost=4.0)] + [
            Task(f"sweep/{n}", params=("sweep", n), cost=float(per_net)) for n in config.networks]

    def run_task(self, config: PaperConfig, task):
        kind, network = task.params
        return compute_tables(config) if kind == "tables" else compute_sweep(config, network)

    def combine(self, config, results, failures, previous, final):
        parts = dict(results)
        if previous is not None and "benchmark" in previous.dims:
            parts.setdefault("tables", previous[[v for v in previous.data_vars
                                                 if "network" not in previous[v].dims]].drop_dims("network", errors="ignore"))
        sweeps = [results[f"sweep/{n}"] for n in config.networks if f"sweep/{n}" in results]
        if previous is not None and "network" in previous.dims:
            have = {str(n) for n in previous["network"].values}
            sweeps = [previous.sel(network=[n])[[v for v in previous.data_vars if "network" in previous[v].dims]]
                      if f"sweep/{n}" not in results and n in have else results.get(f"sweep/{n}")
                      for n in config.networks]
            sweeps = [s for s in sweeps if s is not None]
        pieces = []
        if "tables" in parts:
            pieces.append(parts["tables"])
        if sweeps:
            pieces.append(xr.concat(sweeps, dim="network", combine_attrs="override", data_vars="minimal",
                                    coords="minimal", compat="override"))
        if not pieces:
            return xr.Dataset()
        ds = xr.merge(pieces, compat="no_conflicts", join="outer", combine_attrs="drop_conflicts")
        labels = {"benchmark": "paper Table 1 benchmark", "network": "network of the cycle sweep",
                  "convention": "WS mapping convention", "scheme": "reprogramming scheme of the WS baseline"}
        for name, long_name in labels.items():
            if name in ds.variables:
                ds[name].attrs.update(long_name=long_name, units="")  # labels: no physical unit
        attrs = {}
        for p in pieces[::-1]:
            attrs.update(p.attrs)
        ds.attrs = attrs
        return ds

    def attrs(self, config: PaperConfig) -> dict:
        conv = get_convention(config.convention)
        m = config.models()
        out = {"convention": conv.name, "convention_description": conv.describe()}
        out.update(_attrs("chip", config.chip()))
        for key in ("energy", "area", "row", "block"):
            out.update(_attrs(key, m[key]))
        return out

    def recognizes(self, ds) -> bool:
        return ds.attrs.get("study") == self.name

    def summary(self, ds) -> str:
        return table_markdown(ds)

    def figures(self, ds, folder, stem):
        return plot(ds, Path(folder))


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

    import matplotlib

    from crossbar.plotting import save_figure, subplots

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    m = ds.n_crossbars.values
    colors = matplotlib.colormaps["viridis"](np.linspace(0.1, 0.85, ds.bits.size))
    for n in ds.network.values:
        fig, axes = subplots(1, ds.d.size, figsize=(4.2 * ds.d.size, 3.8), squeeze=False)
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

    fig, ax = subplots(figsize=(6, 4))
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

    fig, ax = subplots(figsize=(6, 4))
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
