"""Where TG-summed BasisN holds at the paper's crossbar sizes: the viability map (issue 13).

    python studies/basisn_viability.py --quick                    # d = 64, 2 TG r_on x 2 cell ranges (~10 min)
    python studies/basisn_viability.py --d 64 128 256 --seeds 0 1 2
    python studies/basisn_viability.py --plot-only results/basisn_viability.h5

Per data set, seed and d: the float network and ideal-hardware BasisN are trained once;
then for every grid point (TG r_on x cell g_max x wire resistance x row block, the mitigations of
:class:`basisn.circuit.mitigation.Mitigation`) the naive mapping and feedback (twin
model, gradients through the modelled hardware, exact refresh on the training chip) are
evaluated circuit-exactly on fresh evaluation chips (readout calibrated, read noise,
ADC). Figures: one heat map per d of (feedback - ideal BasisN), with the -1 point contour.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crossbar.study import Study, Task  # noqa: E402
from crossbar.study.cli import main  # noqa: E402

from basisn.circuit.loop import t_interval  # noqa: E402
from basisn.circuit.viability import PRESET_CHOICES, ViabilityConfig, run_viability_task  # noqa: E402


def _lr_text(p):
    """The learning-rate multipliers the validation split chose, per seed."""
    return " ".join(f"x{v:g}" for v in np.atleast_1d(p["feedback_lr"].values) if np.isfinite(v))


def _row_block(text):
    """``all`` (or 0): every row driven; else a positive integer (checked by the config)."""
    import argparse

    if text.strip().lower() in ("all", "0"):
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--row-block {text!r}: allowed: 'all' (or 0) or an integer in [1, 256]") from None


def _floats(text):
    return float(text)


class Viability(Study):
    name = "basisn_viability"
    description = __doc__.split("\n\n")[0]

    def add_arguments(self, p):
        p.add_argument("--d", type=int, nargs="+", default=[64, 128, 256], help="crossbar sizes d")
        p.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds")
        p.add_argument("--datasets", nargs="+", default=["mnist1d"], help="data sets (mnist1d, digits)")
        p.add_argument("--preset", default="neurram", help=f"base hardware preset, one of {PRESET_CHOICES}")
        p.add_argument("--tg-r-on", type=_floats, nargs="+", default=None,
                       help="TG on-resistances, ohm (default: the preset's)")
        p.add_argument("--g-max", type=_floats, nargs="+", default=None, help="cell g_max, S (default: the preset's)")
        p.add_argument("--g-ratio", type=float, default=None, help="cell g_max / g_min (default: the preset's)")
        p.add_argument("--r-wire", type=_floats, nargs="+", default=None,
                       help="wire segment resistances, ohm: wordlines, summing lines and bitlines (default: the preset's)")
        p.add_argument("--r-bitline", type=float, default=None,
                       help="bitline segment resistance, ohm, on every grid point (default: the --r-wire value, "
                            "or the preset's without --r-wire)")
        p.add_argument("--encoding", default="differential", help="differential or reference")
        p.add_argument("--row-block", type=_row_block, nargs="+", default=[None],
                       help="partial activation: wordlines driven per sub-step ('all' or 0: every row)")
        p.add_argument("--undriven-rows", default="float",
                       help="partial activation, rows outside the block: float (drivers off) or off (access transistors off)")
        p.add_argument("--no-repair-stuck", dest="repair_stuck", action="store_false",
                       help="do not repair stuck cells through their differential partner at write time")
        p.add_argument("--no-noise-aware", dest="noise_aware", action="store_false",
                       help="feedback without the programming variation of fresh random chips")
        p.add_argument("--feedback-lr", type=float, nargs="+", default=list(ViabilityConfig.feedback_lr),
                       help="candidate multipliers of the fine-tuning learning rates during feedback; the best on "
                            "the validation split (fresh write of the training chip) is evaluated")
        p.add_argument("--control-lr", type=float, nargs="+", default=list(ViabilityConfig.control_lr),
                       help="the same for the control: ideal-hardware BasisN given the feedback's extra epochs")
        p.add_argument("--eval-chips", type=int, default=2, help="fresh evaluation chips per grid point")
        p.add_argument("--feedback-epochs", type=int, default=5, help="feedback epochs")
        p.add_argument("--n-test", type=int, default=1000, help="test samples evaluated exactly")
        p.add_argument("--full", action="store_true", help="full (not quick) training protocols")

    def config_from_args(self, args):
        feedback = dict(repair_stuck=args.repair_stuck, noise_aware=args.noise_aware,
                        feedback_lr=tuple(args.feedback_lr), control_lr=tuple(args.control_lr))
        if args.quick:
            return ViabilityConfig(datasets=("mnist1d",), seeds=(0,), ds=(64,), preset=args.preset,
                                   tg_r_on=(1e3, 1e2), g_max=(40e-6, 4e-6), r_wire=(2.5,), n_eval_chips=2,
                                   feedback_epochs=3, n_test=1000, quick=True, **feedback)
        from basisn.circuit.preset import PRESETS

        base = PRESETS.get(args.preset)
        if base is None or args.preset not in PRESET_CHOICES:
            return ViabilityConfig(preset=args.preset)  # raises the named error listing the presets
        r_bitline = args.r_bitline
        if args.r_wire is None and r_bitline is None and base.wires.r_bitline != base.wires.r_wordline:
            r_bitline = base.wires.r_bitline
        return ViabilityConfig(datasets=tuple(args.datasets), seeds=tuple(args.seeds), ds=tuple(args.d),
                               preset=args.preset,
                               tg_r_on=tuple(args.tg_r_on or (base.tg.r_on,)),
                               g_max=tuple(args.g_max or (base.cell.g_max,)),
                               g_ratio=args.g_ratio or base.cell.g_max / base.cell.g_min,
                               r_wire=tuple(args.r_wire or (base.wires.r_wordline,)), r_bitline=r_bitline,
                               encoding=args.encoding, **feedback,
                               row_block=tuple(args.row_block), undriven_rows=args.undriven_rows,
                               n_eval_chips=args.eval_chips, feedback_epochs=args.feedback_epochs,
                               n_test=args.n_test, quick=not args.full)

    def settings(self, config):
        import dataclasses

        return dataclasses.asdict(config)

    def attrs(self, config):
        return {"n_test": config.n_test, "n_eval_chips": config.n_eval_chips, "feedback_epochs": config.feedback_epochs,
                "preset": config.preset, "g_ratio": config.g_ratio, "encoding": config.encoding,
                "r_bitline": "r_wire" if config.r_bitline is None else config.r_bitline,
                "repair_stuck": int(config.repair_stuck), "noise_aware": int(config.noise_aware),
                "feedback_lr_candidates": list(config.feedback_lr), "control_lr_candidates": list(config.control_lr),
                "undriven_rows": config.undriven_rows}

    def tasks(self, config):
        return [Task(f"{name}/seed={s}/d={d}", params=(name, s, d), cost=float(d) ** 1.5)
                for name in config.datasets for s in config.seeds for d in config.ds]

    def run_task(self, config, task):
        import logging

        name, seed, d = task.params
        res = run_viability_task(config, name, seed, d, log=logging.getLogger("basisn_viability").info)
        nr, ng, nw, nc = len(config.tg_r_on), len(config.g_max), len(config.r_wire), config.n_eval_chips
        nb = len(config.row_block)
        before = np.array([p["acc_before"] for p in res["points"]]).reshape(nr, ng, nw, nb, nc)
        after = np.array([p["acc_after"] for p in res["points"]]).reshape(nr, ng, nw, nb, nc)
        res_twin = np.array([p["res_twin"] for p in res["points"]]).reshape(nr, ng, nw, nb)
        t_fb = np.array([p["t_feedback"] for p in res["points"]]).reshape(nr, ng, nw, nb)
        t_ex = np.array([p["t_before"] for p in res["points"]]).reshape(nr, ng, nw, nb)
        nl = len(config.feedback_lr)
        acc_val = np.array([p.get("acc_val", [np.nan] * nl) for p in res["points"]]).reshape(nr, ng, nw, nb, nl)
        lr_pick = np.array([p.get("feedback_lr", np.nan) for p in res["points"]]).reshape(nr, ng, nw, nb)
        lead = ("dataset", "seed", "d")
        grid = ("tg_r_on", "g_max", "r_wire", "row_block")
        ex = (slice(None),) * 0
        data = {
            "acc_before": (lead + grid + ("chip",), before[None, None, None], {"units": "1", "description":
                           "naive mapping, circuit-exact on fresh evaluation chips (calibrated readout, read noise, ADC)"}),
            "acc_after": (lead + grid + ("chip",), after[None, None, None], {"units": "1", "description":
                          "after feedback (twin model, hardware gradients, exact refresh on the training chip), "
                          "fresh evaluation chips"}),
            "res_twin": (lead + grid, res_twin[None, None, None], {"units": "1", "description":
                         "twin model residual on held-out steps of a fresh write of the training chip"}),
            "t_feedback": (lead + grid, t_fb[None, None, None], {"units": "s", "description":
                           "wall time of one feedback run (mean over the learning-rate candidates)"}),
            "acc_val": (lead + grid + ("lr_candidate",), acc_val[None, None, None], {"units": "1", "description":
                        "validation accuracy after feedback per learning-rate candidate, on a fresh write of the "
                        "training chip with the readout (the choice)"}),
            "feedback_lr": (lead + grid, lr_pick[None, None, None], {"units": "1", "description":
                            "the learning-rate multiplier chosen on the validation split"}),
            "control_lr": (lead, np.array(res.get("control_lr", np.nan)).reshape(1, 1, 1), {"units": "1",
                           "description": "learning-rate multiplier of the control, chosen on its validation accuracy"}),
            "t_exact_eval": (lead + grid, t_ex[None, None, None], {"units": "s", "description":
                             "wall time of the naive evaluation on one evaluation chip: write, port-model "
                             "factorization, readout calibration, every step, n_test samples"}),
            "t_cpu": (lead, np.array(res["t_cpu"]).reshape(1, 1, 1), {"units": "s", "description":
                      "CPU time of the task (training, every grid point)"}),
            "acc_float": (lead, np.array(res["acc_float"]).reshape(1, 1, 1), {"units": "1"}),
            "acc_ideal": (lead, np.array(res["acc_ideal"]).reshape(1, 1, 1), {"units": "1",
                          "description": "ideal-hardware BasisN"}),
            "acc_control": (lead, np.array(res.get("acc_control", np.nan)).reshape(1, 1, 1), {"units": "1",
                            "description": "ideal-hardware BasisN given the feedback's extra epochs at its learning "
                            "rates (the control for the extra training)"}),
            "t_train": (lead, np.array(res["t_train"]).reshape(1, 1, 1), {"units": "s"}),
        }
        del ex
        coords = {"dataset": [name], "seed": [seed], "d": [d],
                  "tg_r_on": ("tg_r_on", list(config.tg_r_on), {"units": "ohm"}),
                  "g_max": ("g_max", list(config.g_max), {"units": "S"}),
                  "r_wire": ("r_wire", list(config.r_wire), {"units": "ohm"}),
                  "row_block": ("row_block", [0 if b is None else int(b) for b in config.row_block],
                                {"units": "1", "description": "wordlines driven per sub-step (the others float or "
                                 "are switched off, attribute undriven_rows); 0: every row (a value >= d also drives "
                                 "every row)"}),
                  "chip": np.arange(nc),
                  "lr_candidate": ("lr_candidate", list(config.feedback_lr), {"units": "1"})}
        return xr.Dataset(data, coords=coords)

    @staticmethod
    def reference(q):
        """Ideal BasisN to compare with, per seed: the better of the trained network and its control
        (the same extra training on ideal hardware); archives without a control use the former."""
        if "acc_control" in q and bool(np.all(np.isfinite(q["acc_control"].values))):
            return np.maximum(q["acc_ideal"], q["acc_control"])
        return q["acc_ideal"]

    def summary(self, ds):
        if "acc_after" not in ds:
            return "basisn_viability: no finished task in the archive"
        lines = ["| data set | d | TG r_on (ohm) | g_max (uS) | wire (ohm) | row block | ideal BasisN (control) | naive | "
                 "after feedback | after - ideal (points) | twin residual | feedback lr (per seed) |",
                 "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        if "row_block" not in ds.dims:  # archives written before the row_block axis
            ds = ds.expand_dims(row_block=[0])
        for name in ds["dataset"].values:
            for d in ds["d"].values:
                q = ds.sel(dataset=name, d=d)
                ctrl = float(q["acc_control"].mean()) if "acc_control" in q else float("nan")
                for r in q["tg_r_on"].values:
                    for g in q["g_max"].values:
                        for w in q["r_wire"].values:
                            for rb in q["row_block"].values:
                                p = q.sel(tg_r_on=r, g_max=g, r_wire=w, row_block=rb)
                                a, ha, _ = t_interval(100 * p["acc_after"].values)
                                b = float(p["acc_before"].mean())
                                if not np.isfinite(a):
                                    continue
                                gap, hg, _ = t_interval(100 * (p["acc_after"] - self.reference(q)).values)
                                rbs = "all" if int(rb) == 0 or int(rb) >= int(d) else str(int(rb))
                                lines.append(f"| {name} | {int(d)} | {r:g} | {g * 1e6:g} | {w:g} | {rbs} | "
                                             f"{100 * float(q['acc_ideal'].mean()):.1f} ({100 * ctrl:.1f}) | "
                                             f"{100 * b:.1f} | {a:.1f} ± {ha:.1f} | {gap:+.1f} ± {hg:.1f} | "
                                             f"{100 * float(p['res_twin'].mean()):.1f} % |"
                                             + (f" {_lr_text(p)} |" if "feedback_lr" in p else ""))
        if "t_exact_eval" in ds:
            for d in ds["d"].values:
                q = ds.sel(d=d)
                lines.append(f"\nd = {int(d)}: circuit-exact evaluation of one chip (write, factorization, calibration, "
                             f"{int(q.attrs.get('n_test', 0)) or 'all'} test samples) {float(q['t_exact_eval'].mean()):.1f} s "
                             f"wall; task CPU {float(q['t_cpu'].mean()) / 60:.1f} min (training and every grid point)")
        n = ds.sizes.get("seed", 1) * ds.sizes.get("chip", 1)
        lines.append(f"\nmeans over {ds.sizes.get('seed', 1)} seed(s) x {ds.sizes.get('chip', 1)} evaluation chips ({n} values); "
                     "'after - ideal' against the better of ideal BasisN and its control (the feedback's extra "
                     "training on ideal hardware), per seed; ± the 95 % Student-t half width over seeds x chips")
        return "\n".join(lines)

    def figures(self, ds, folder, stem):
        if "acc_after" not in ds:
            return []
        from crossbar.plotting import pyplot, save_figure

        plt = pyplot()
        paths = []
        for name in ds["dataset"].values:
            rbv = list(ds["row_block"].values) if "row_block" in ds.dims else [None]
            panels = [(d, w, rb) for rb in rbv for w in range(ds.sizes["r_wire"]) for d in ds["d"].values]
            fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.8), squeeze=False)
            for ax, (d, iw, rb) in zip(axes[0], panels):
                q = ds.sel(dataset=name, d=d).isel(r_wire=iw)
                if rb is not None:
                    q = q.sel(row_block=rb)
                gap = 100 * (q["acc_after"].mean(("seed", "chip")) - self.reference(q).mean("seed"))
                z = gap.transpose("tg_r_on", "g_max").values
                im = ax.imshow(z, origin="lower", cmap="RdYlGn", vmin=-20, vmax=2, aspect="auto")
                ax.set_xticks(range(q.sizes["g_max"]), [f"{g * 1e6:g}" for g in q["g_max"].values])
                ax.set_yticks(range(q.sizes["tg_r_on"]), [f"{r:g}" for r in q["tg_r_on"].values])
                ax.set_xlabel("cell g_max (uS)")
                ax.set_ylabel("TG r_on (ohm)")
                for (i, j), v in np.ndenumerate(z):
                    ax.text(j, i, f"{v:+.1f}", ha="center", va="center", fontsize=8)
                if min(z.shape) >= 2 and np.nanmin(z) < -1 < np.nanmax(z):
                    ax.contour(z, levels=[-1.0], colors="k", linewidths=1.5)
                rbs = "" if rb is None else (", all rows" if int(rb) == 0 or int(rb) >= int(d) else f", rows/{int(rb)}")
                ax.set_title(f"{name} d={int(d)}: feedback - ideal BasisN or control\n(points; wire "
                             f"{float(q['r_wire']):g} ohm{rbs})")
                fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="points")
            paths.append(save_figure(fig, Path(folder) / f"{stem}_{name}_heatmap.png"))
        return paths


if __name__ == "__main__":
    sys.exit(main(Viability(), prog="basisn_viability", quick_help="d = 64, TG r_on 1000/100 ohm x g_max 40/4 uS, "
                  "2 evaluation chips, 3 feedback epochs"))
