"""Summary table and figures of a BasisN accuracy archive (:mod:`basisn.accuracy_study`).

``summary(ds)``                markdown tables (means over seeds) and the issue-4 targets
``plot(ds, folder, stem)``     fig. 5 (bits x d), fig. 6 (cell bits), the regularizer figure
``with_penalty_dim(ds)``       archives written before the 'balanced' penalty, read as ``penalty=["ones"]``
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["summary", "plot", "with_penalty_dim", "pct"]


def pct(x):
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.1f}"


def with_penalty_dim(ds):
    """Archives written before the 'balanced' penalty have no ``penalty`` dim: add ``["ones"]``."""
    if "penalty" in ds.dims:
        return ds
    reg = [v for v in ds.data_vars if v.startswith("reg_")]
    return ds.assign({v: ds[v].expand_dims(penalty=["ones"]) for v in reg})


def summary(ds) -> str:
    """Markdown tables of the archive (means over seeds)."""
    ds = with_penalty_dim(ds)
    m = ds.mean("seed")
    K, rd, rb = int(ds.attrs["K"]), int(ds.attrs["ref_d"]), int(ds.attrs["ref_bits"])
    lines = []
    for name in ds["dataset"].values:
        r = m.sel(dataset=name)
        fl = float(r["float_accuracy"])
        lines.append(f"\n### {name} ({ds.attrs.get(f'{name}_model', '')}), seeds {[int(s) for s in ds['seed'].values]}\n")
        lines.append(f"float baseline: {pct(fl)} %; BasisN from scratch (b={rb}, d={rd}): {pct(float(r['scratch_accuracy']))} %\n")
        lines.append("accuracy (%) after fine-tuning, through the ideal crossbar; rows coefficient bits, columns d:\n")
        lines.append("| bits | " + " | ".join(f"d={int(d)}" for d in ds["d"].values) + " | init at d=%d |" % rd)
        lines.append("|---" * (len(ds["d"]) + 2) + "|")
        for b in ds["coeff_bits"].values:
            row = [pct(float(r["accuracy"].sel(coeff_bits=b, d=d))) for d in ds["d"].values]
            lines.append(f"| {int(b)} | " + " | ".join(row) + f" | {pct(float(r['init_accuracy'].sel(coeff_bits=b, d=rd)))} |")
        lines.append(f"\ncell bits (b={rb}, d={rd}), accuracy % direct / after one Algorithm 1 cycle:\n")
        lines.append("| cell bits | " + " | ".join(str(int(c)) for c in ds["cell_bits"].values) + " |")
        lines.append("|---" * (len(ds["cell_bits"]) + 1) + "|")
        lines.append("| direct | " + " | ".join(pct(float(v)) for v in r["cell_accuracy_direct"].values) + " |")
        lines.append("| retrained | " + " | ".join(pct(float(v)) for v in r["cell_accuracy"].values) + " |")
        pens = [str(p) for p in ds["penalty"].values]
        p0 = float(r["reg_pieces_per_step"].sel(penalty=pens[0], beta=0.0))
        s0 = float(r["reg_steps_per_inference"].sel(penalty=pens[0], beta=0.0))
        lines.append(f"\ncontest regularizer (b={rb}, d={rd}, K={K}); penalty 'ones' = count of 1 bits (paper 3.5), "
                     f"'balanced' = column-load power mean (power={ds.attrs.get('contest_power', np.nan):g}) + "
                     f"pattern density (density={ds.attrs.get('contest_density', np.nan):g}):\n")
        lines.append("| penalty | beta | accuracy % | 1 bits / coeff | pieces / step | x vs beta=0 | steps / inference "
                     "| steps vs beta=0 | steps / lower bound |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for pen in pens:
            for beta in ds["beta"].values:
                if beta == 0.0 and pen != pens[0]:
                    continue  # the same run for every penalty
                rr = r.sel(penalty=pen, beta=beta)
                pp, st = float(rr["reg_pieces_per_step"]), float(rr["reg_steps_per_inference"])
                lb = float(rr["reg_steps"] / rr["reg_steps_lower_bound"])
                lines.append(f"| {pen if beta > 0 else 'none'} | {beta:g} | {pct(float(rr['reg_accuracy']))} | "
                             f"{float(rr['reg_ones_per_coeff']):.2f} | {pp:.2f} | {pp / p0:.2f} | {st:.0f} | "
                             f"{st / s0:.2f} | {lb:.2f} |")
        # targets from issue 4 (stated for the digits MLP; other data sets: same checks, reported only)
        acc = lambda b: float(r["accuracy"].sel(coeff_bits=b, d=rd)) if b in ds["coeff_bits"].values else np.nan  # noqa: E731
        judge = (lambda ok: "met" if ok else "NOT met") if name == "digits" else (lambda ok: "(no target)")
        lines.append("\ntargets (issue 4):\n" if name == "digits" else "\nthe digits targets' checks, for reference:\n")
        if name == "digits":
            lines.append(f"- float >= 97 %: {pct(fl)} % -> {judge(fl >= 0.97)}")
        for b, tol in ((4, 0.01), (3, 0.02)):
            a = acc(b)
            ok = np.isfinite(a) and fl - a <= tol + 1e-12
            lines.append(f"- {b}-bit at d={rd} within {100 * tol:.0f} point(s) of float: {pct(a)} % "
                         f"(float - BasisN = {100 * (fl - a):+.1f}) -> {judge(ok)}")
        lines.append(f"- 1-bit at d={rd}: {pct(acc(1))} %")
        betas = [b for b in ds["beta"].values if b > 0]
        a0 = float(r["reg_accuracy"].sel(penalty=pens[0], beta=0.0))
        for pen in pens:
            rp = r.sel(penalty=pen)
            ok_b = [b for b in betas if float(rp["reg_accuracy"].sel(beta=b)) >= a0 - 0.01 - 1e-12]
            best = max(ok_b, key=lambda b: float(rp["reg_pieces_per_step"].sel(beta=b)), default=None)
            if best is not None:
                ratio = float(rp["reg_pieces_per_step"].sel(beta=best)) / p0
                change = 100 * (float(rp["reg_accuracy"].sel(beta=best)) - a0)
                lines.append(f"- regularizer '{pen}': best pieces/step within 1 point of beta=0 is beta={best:g}: "
                             f"x{ratio:.2f} (accuracy {change:+.1f} points vs beta=0) -> {judge(ratio >= 2)}"
                             + (" (target x2)" if name == "digits" else ""))
            else:
                lines.append(f"- regularizer '{pen}': no beta stays within 1 point of beta=0 -> {judge(False)}")
    return "\n".join(lines)


def plot(ds, folder: Path, stem: str) -> list[Path]:
    """Figures from the archive: fig. 5 (bits x d), fig. 6 (cell bits), regularizer."""
    from crossbar.plotting import save_figure, subplots

    ds = with_penalty_dim(ds)
    m, sd = ds.mean("seed"), ds.std("seed")
    names = list(ds["dataset"].values)
    paths = []

    fig, axes = subplots(1, len(names), figsize=(5 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        r = m.sel(dataset=name)
        for b in ds["coeff_bits"].values:
            y = 100 * r["accuracy"].sel(coeff_bits=b)
            ok = np.isfinite(y.values)
            ax.errorbar(ds["d"].values[ok], y.values[ok], yerr=100 * sd.sel(dataset=name)["accuracy"].sel(coeff_bits=b).values[ok],
                        marker="o", capsize=2, label=f"{int(b)}-bit")
        ax.axhline(100 * float(r["float_accuracy"]), color="k", ls="--", label="float")
        ax.set_xscale("log", base=2)
        ax.set_xticks(ds["d"].values, [str(int(d)) for d in ds["d"].values])
        ax.set_xlabel("crossbar size d")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{name}: coefficient bits x crossbar size")
        ax.legend(fontsize=7, ncol=2)
    paths.append(save_figure(fig, folder / f"{stem}_fig5_bits_vs_d.png"))

    fig, axes = subplots(1, len(names), figsize=(5 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        r = m.sel(dataset=name)
        c = ds["cell_bits"].values
        ax.plot(c, 100 * r["cell_accuracy_direct"].values, "s:", label="quantized, no retraining")
        ax.plot(c, 100 * r["cell_accuracy"].values, "o-", label="after one Algorithm 1 cycle")
        ax.axhline(100 * float(r["float_accuracy"]), color="k", ls="--", label="float")
        ax.set_xlabel("bits per RRAM cell (basis)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{name}: b={int(ds.attrs['ref_bits'])}, d={int(ds.attrs['ref_d'])}")
        ax.legend(fontsize=7)
    paths.append(save_figure(fig, folder / f"{stem}_fig6_cell_bits.png"))

    fig, axes = subplots(1, len(names), figsize=(5 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        r = m.sel(dataset=name)
        for pen, style in zip(ds["penalty"].values, ("o-", "s--", "^:")):
            x = r["reg_pieces_per_step"].sel(penalty=pen).values
            y = 100 * r["reg_accuracy"].sel(penalty=pen).values
            ax.plot(x, y, style, label=f"penalty '{pen}'")
            for beta, xi, yi in zip(ds["beta"].values, x, y):
                if beta > 0:
                    ax.annotate(f"{beta:g}", (xi, yi), fontsize=7, textcoords="offset points", xytext=(3, 3))
        x0 = float(r["reg_pieces_per_step"].sel(penalty=ds["penalty"].values[0], beta=0.0))
        a0 = 100 * float(r["reg_accuracy"].sel(penalty=ds["penalty"].values[0], beta=0.0))
        ax.axvline(2 * x0, color="gray", lw=0.8, ls=":", label="2x pieces/step of beta=0")
        ax.axhline(a0 - 1, color="gray", lw=0.8, ls="-.", label="1 point below beta=0")
        ax.legend(fontsize=7)
        ax.set_xlabel(f"mean pieces per crossbar step (K={int(ds.attrs['K'])}); labels: beta")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{name}: contest regularizer")
    paths.append(save_figure(fig, folder / f"{stem}_regularizer.png"))
    return paths
