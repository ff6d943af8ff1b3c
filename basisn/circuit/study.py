"""The hardware-loop study on the common engine (:mod:`crossbar.study`).

``HardwareLoop`` declares the config (:class:`~basisn.circuit.loop.LoopConfig` from the
command line), its tasks, the pure :func:`~basisn.circuit.loop.task_dataset`, the summary
and the figures; the engine runs the tasks (``--jobs N`` processes, Dask), checkpoints,
resumes and writes the archive.

Tasks: one per ``(seed, data set)`` with every preset inside (``--task-per-preset``: one
per ``(seed, data set, preset)``). The presets of a ``(seed, data set)`` share its trained
float/BasisN networks; split per preset, every worker that picks one up retrains them (a
deterministic per-process cache avoids it only within one process), which on 2 cores cost
more than the finer tasks gained (measured: 40 s with ``--jobs 1`` against 44 s with
``--jobs 2`` on a small digits run).
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from crossbar.study import Study, Task, float_arg, int_arg
from devices import Readout

from .loop import ADC_AXIS, DATASETS, DRIFT_TIMES, LoopConfig, make_figures, summary_table, task_dataset, v_read_presets

__all__ = ["HardwareLoop"]

PRESET_NAMES = ("ideal", "neurram", "lowbit", "weak_tg", "binary")
_COST = {"digits": 1.0, "mnist1d": 3.0}
"""Relative cost per preset (measured: an MNIST-1D task takes ~3x a digits one)."""


class HardwareLoop(Study):
    """BasisN on honest chips: training chip for feedback, fresh evaluation chips for the report."""

    name = "basisn_hardware_loop"
    description = ("Closed loop: a BasisN basis in circuit-level crossbars; feedback training on a training chip, "
                   "accuracy on fresh evaluation chips (read noise, ADC, drift), digits MLP and MNIST-1D CNN.")
    default_out = Path("results") / "basisn_hardware_loop" / "basisn_hardware_loop.h5"

    def add_arguments(self, p) -> None:
        g = p.add_argument_group("hardware loop")
        g.add_argument("--only", nargs="+", choices=list(DATASETS), help="run only these data sets")
        g.add_argument("--presets", nargs="+", default=list(PRESET_NAMES),
                       help="hardware presets (basisn.circuit.preset.PRESETS): ideal neurram lowbit weak_tg binary facts nonlinear")
        g.add_argument("--v-read", type=float, nargs="+", metavar="V",
                       help="read-voltage axis, volt: every preset at every value (named <preset>@<v>V); "
                            "matters with nonlinear cells or NMOS access (preset 'nonlinear')")
        g.add_argument("--d", type=int, default=32, help="crossbar size (default 32)")
        g.add_argument("--K", type=int, default=4, help="TG sets per crossbar (default 4)")
        g.add_argument("--coeff-bits", type=int, default=4, help="coefficient bits (default 4)")
        g.add_argument("--encoding", choices=["differential", "reference"], help="override every preset's encoding")
        g.add_argument("--feedback-epochs", type=int, help="feedback epochs (default 10 with --quick, else 20)")
        g.add_argument("--no-exact-refresh", action="store_true",
                       help="feedback under the error model alone (no exact correction per epoch)")
        g.add_argument("--model-only", action="store_true", help="also run feedback on the error model alone")
        g.add_argument("--eval-chips", type=int, default=5, help="evaluation chips per seed and preset (default 5)")
        g.add_argument("--adc-axis", type=int, nargs="+", default=list(ADC_AXIS),
                       help="ADC resolutions evaluated on every chip, bit (0 = no ADC; default 4 5 6 8 0)")
        g.add_argument("--adc-bits", type=int, help="main readout ADC bits of every preset (default the preset's, 8; "
                                                    "0 = none)")
        g.add_argument("--drift-times", type=float_arg(None, None, allow_inf=False), nargs="*", default=list(DRIFT_TIMES),
                       help="read times after programming, s (default 1 s, 1 h, 1 day, 30 days; none: no drift axis)")
        g.add_argument("--no-read-noise", action="store_true", help="exact reads (no read noise)")
        g.add_argument("--n-spot", type=int_arg(0, 1000), default=3,
                       help="steps spot-checked against ngspice (0: none)")
        g.add_argument("--seeds", type=int, nargs="+", help="training seeds (default 0 with --quick, else 0 1 2)")
        g.add_argument("--task-per-preset", action="store_true",
                       help="one task per (seed, data set, preset) instead of per (seed, data set)")

    def config_from_args(self, args) -> LoopConfig:
        overrides = {"encoding": args.encoding} if args.encoding else {}
        if args.adc_bits is not None:
            overrides["readout"] = Readout(adc_bits=args.adc_bits or None)
        seeds = tuple(args.seeds) if args.seeds else ((0,) if args.quick else (0, 1, 2))
        self.per_preset = bool(args.task_per_preset)
        presets = tuple(args.presets) if not args.v_read else v_read_presets(args.presets, args.v_read)
        return LoopConfig(datasets=tuple(args.only or DATASETS), presets=presets, d=args.d, K=args.K,
                          coeff_bits=args.coeff_bits, seeds=seeds, quick=args.quick,
                          feedback_epochs=args.feedback_epochs, n_spot=args.n_spot,
                          exact_refresh=not args.no_exact_refresh, model_only=args.model_only,
                          n_eval_chips=args.eval_chips, adc_axis=tuple(args.adc_axis),
                          drift_times=tuple(args.drift_times), read_noise=not args.no_read_noise,
                          overrides=overrides)

    per_preset = False
    """One task per (seed, data set, preset) instead of per (seed, data set)."""

    def tasks(self, config: LoopConfig):
        names = [p if isinstance(p, str) else p.name for p in config.presets]
        if not self.per_preset:
            return [Task(f"seed={s}/{d}", params=(s, d, None), cost=_COST[d] * len(names))
                    for s in config.seeds for d in config.datasets]
        return [Task(f"seed={s}/{d}/{p}", params=(s, d, p), cost=_COST[d])
                for s in config.seeds for d in config.datasets for p in names]

    def run_task(self, config: LoopConfig, task: Task) -> xr.Dataset:
        seed, name, preset = task.params
        return task_dataset(config, seed, name, preset)

    def combine(self, config: LoopConfig, results: dict, failures: dict, previous, final: bool) -> xr.Dataset:
        """The engine's merge, with the presets back in the config's order (a merge sorts them)."""
        ds = super().combine(config, results, failures, previous, final)
        if "preset" in ds.dims:
            want = [p if isinstance(p, str) else p.name for p in config.presets]
            ds = ds.reindex(preset=[p for p in want if p in set(ds["preset"].values)])
        return ds

    def settings(self, config: LoopConfig) -> dict:
        import dataclasses

        out = dataclasses.asdict(config)
        out["presets"] = [p if isinstance(p, str) else p.describe() for p in config.presets]
        out["overrides"] = {k: str(v) for k, v in config.overrides.items()}
        return out

    def summary(self, ds: xr.Dataset) -> str:
        lines = [summary_table(ds), "", "timing (mean over seeds and chips):"]
        for name in ds["dataset"].values:
            r = ds.sel(dataset=name)
            for p in ds["preset"].values:
                q = r.sel(preset=p)
                lines.append(f"- {name} {p}: one evaluation chip (write, factorization, calibration, "
                             f"{ds.sizes['adc']} ADC settings, {int(r['n_test'])} test samples) "
                             f"{float(q['t_exact_after'].mean()):.1f} s; feedback training "
                             f"{float(q['t_feedback'].mean()):.1f} s; float + BasisN training "
                             f"{float(q['t_train'].mean()):.1f} s")
        return "\n".join(lines)

    def figures(self, ds: xr.Dataset, folder: Path, stem: str) -> list:
        return make_figures(ds, folder, stem)
