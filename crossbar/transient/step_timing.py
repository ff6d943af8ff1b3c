"""TG step timing and energy: the study behind ``studies/tg_step_timing.py``.

For an N x N 1T1R crossbar with K TG sets (capacitances ``CAPS_130NM``, TIA inputs ideal
virtual grounds) two events are simulated from a DC steady state:

``tg_switch``
    inputs held, the TG pattern switches at ``t_event`` (every column leaves its summing
    line for the next one; with K+1 slots per column one slot is "unassigned", so every
    column changes state also for K = 1);
``input_change``
    pattern held, every wordline ramps to a new input over ``rise_steps`` time steps.

From each run: the settling time of every summing-line output to within half an LSB of a
b-bit ADC (b = 4..8) of its final value (the DC operating point of the final circuit),
the ADC full scale being the largest final output of the step; and the energy delivered
by the drivers between ``t_event`` and ``t_event + settling time`` (one step at the
fastest rate the ADC allows), split into wordline, bitline and summing-line wires, TGs,
cells, the change of stored energy and the integration's numerical loss.

The window adapts: it starts at 10x an RC estimate and is lengthened (x4) while the
8-bit settling time exceeds half of it, or shortened (/8) when it is under 2 % of it, so
the settling time is resolved by at least ~20 steps.  Runs at N <= ``validate_max_n``
are repeated with ngspice (same method, step and window): ngspice's settling times and
energies, and the agreement of the output currents (native re-run on ngspice's time
points), are stored beside the native ones.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np
import xarray as xr

from crossbar.solve import solve
from crossbar.study.core import Study, Task
from crossbar.transient import CROSSBAR_GROUPS, Step, tg_pattern_switch, transient
from crossbar.transient.timing import energy_summary, half_lsb, settling_time
from devices import LinearAccessTransistor, TransmissionGate, Wires
from devices.capacitance import CAPS_130NM
from devices.errors import ParameterError
from netlists.builder import build_crossbar

__all__ = ["StepTimingConfig", "StepTiming", "patterns", "simulate_event", "EVENTS", "PARTS"]

log = logging.getLogger(__name__)

EVENTS = ("tg_switch", "input_change")
PARTS = ("drivers", "wordlines", "bitlines", "summing_lines", "tgs", "cells", "stored_change", "numerical")
"""Energy parts: what the drivers deliver = wires + TGs + cells + stored change + numerical loss."""


@dataclasses.dataclass(frozen=True)
class StepTimingConfig:
    """Settings of the step-timing study (SI units)."""

    sizes: tuple = (32, 64, 128, 256)
    """Crossbar sizes N (N x N)."""
    ks: tuple = (1, 2, 4, 8)
    """Numbers of TG sets K."""
    r_ons: tuple = (100.0, 1e3, 1e4)
    """TG on-resistances, ohm."""
    bits: tuple = (4, 5, 6, 7, 8)
    """ADC resolutions b."""
    steps: int = 1000
    """Time steps per run."""
    rise_steps: int = 5
    """Duration of an input ramp, in time steps."""
    v_max: float = 0.2
    """Largest input voltage, volt."""
    r_access: float = 1e3
    """Access-transistor on-resistance, ohm."""
    r_wire: float = 2.5
    """Resistance of every wire segment, ohm."""
    seed: int = 0
    """Seed of the conductances and inputs."""
    validate_max_n: int = 32
    """Tasks with N up to this are repeated with ngspice (only the smallest and largest K
    and the first r_on, to bound the run time)."""
    method: str = "trap"
    """Integration method."""

    def __post_init__(self):
        def ints(name, lo, hi):
            vals = tuple(getattr(self, name))
            if not vals or not all(isinstance(v, (int, np.integer)) and lo <= v <= hi for v in vals):
                raise ParameterError(f"StepTimingConfig.{name} must be integers in [{lo}, {hi}], got {vals!r}")
            object.__setattr__(self, name, tuple(sorted(set(int(v) for v in vals))))

        ints("sizes", 4, 1024)
        ints("ks", 1, 64)
        ints("bits", 1, 16)
        r = tuple(float(x) for x in self.r_ons)
        if not r or not all(math.isfinite(x) and x > 0 for x in r):
            raise ParameterError(f"StepTimingConfig.r_ons must be finite resistances > 0 ohm, got {self.r_ons!r}")
        object.__setattr__(self, "r_ons", tuple(sorted(set(r))))
        if not (isinstance(self.steps, int) and 50 <= self.steps <= 100_000):
            raise ParameterError(f"StepTimingConfig.steps must be an integer in [50, 100000], got {self.steps!r}")
        if not (isinstance(self.rise_steps, int) and 1 <= self.rise_steps <= self.steps // 10):
            raise ParameterError(f"StepTimingConfig.rise_steps must be an integer in [1, steps/10], got {self.rise_steps!r}")
        for name in ("v_max", "r_access"):
            x = getattr(self, name)
            if not (math.isfinite(x) and x > 0):
                raise ParameterError(f"StepTimingConfig.{name} must be finite and > 0, got {x!r}")
        if not (math.isfinite(self.r_wire) and self.r_wire >= 0):
            raise ParameterError(f"StepTimingConfig.r_wire must be finite and >= 0 ohm, got {self.r_wire!r}")
        if self.method not in ("trap", "be"):
            raise ParameterError(f"StepTimingConfig.method must be 'trap' or 'be', got {self.method!r}")
        if max(self.ks) >= min(self.sizes):
            raise ParameterError(f"every K must be below every N (K = {max(self.ks)}, N = {min(self.sizes)})")


def patterns(n: int, k: int) -> tuple:
    """TG assignments (K, N) before and after a pattern switch.

    Column ``j`` takes slot ``j mod (K+1)`` before and ``(j+1) mod (K+1)`` after; slot
    ``s < K`` is TG set ``s``, slot ``K`` leaves the column unassigned.
    """
    j = np.arange(n)
    a = np.zeros((k, n), bool)
    b = np.zeros((k, n), bool)
    sa, sb = j % (k + 1), (j + 1) % (k + 1)
    a[sa[sa < k], j[sa < k]] = True
    b[sb[sb < k], j[sb < k]] = True
    return a, b


def _case(config: StepTimingConfig, n: int, k: int, r_on: float):
    rng = np.random.default_rng([config.seed, n])
    G = rng.uniform(1e-6, 100e-6, size=(n, n))
    v0 = rng.uniform(0.0, config.v_max, size=n)
    v1 = rng.uniform(0.0, config.v_max, size=n)
    a, b = patterns(n, k)
    kw = dict(wires=Wires(config.r_wire, config.r_wire, config.r_wire), tg=TransmissionGate(r_on, 1e9),
              access=LinearAccessTransistor(config.r_access), capacitance=CAPS_130NM)
    return G, v0, v1, a, b, kw


def _tau_estimate(n: int, k: int, r_on: float, config: StepTimingConfig) -> float:
    """A rough RC time of the slowest path (bitline + TG + summing line), second."""
    c = CAPS_130NM
    c_col = n * (c.c_bitline + c.c_access + c.c_cell) + k * c.c_tg
    r_path = r_on + n * config.r_wire * 2
    c_sl = n * (c.c_summing + c.c_tg)
    return max(c_col * r_path, c_sl * n * config.r_wire, 1e-13)


def simulate_event(config: StepTimingConfig, n: int, k: int, r_on: float, event: str, *, backend: str = "native",
                   window: float | None = None) -> dict:
    """One event (see the module docstring).  Returns settling times (per output and bits),
    energies, the window and step used, and the run's Dataset (``"ds"``)."""
    G, v0, v1, a, b, kw = _case(config, n, k, r_on)
    if event == "tg_switch":
        net = build_crossbar(G, a, v0, **kw)
        final = build_crossbar(G, b, v0, **kw)
    elif event == "input_change":
        net = build_crossbar(G, b, v0, **kw)
        final = build_crossbar(G, b, v1, **kw)
    else:
        raise ParameterError(f"event must be one of {list(EVENTS)}, got {event!r}")
    outputs = list(net.layout.outputs)
    i_final = solve(final, keep_voltages=False)["i"].sel(branch=outputs).values
    full_scale = float(np.max(np.abs(i_final)))
    if not full_scale > 0:
        raise ParameterError(f"N={n} K={k}: every output is 0 A after the {event}; no ADC range to settle to")
    win = window or 10 * _tau_estimate(n, k, r_on, config)
    for _ in range(8):
        h = win / config.steps
        t_ev = 10 * h
        kwargs = dict(method=config.method, keep_voltages=False, power_groups=CROSSBAR_GROUPS, backend=backend)
        if event == "tg_switch":
            kwargs["switches"] = tg_pattern_switch(net, b, at=t_ev)
        else:
            kwargs["sources"] = {f"vin{i}": Step(t_ev, float(v1[i]), before=float(v0[i]), rise=config.rise_steps * h)
                                 for i in range(n)}
        ds = transient(net, win + t_ev, h, **kwargs)
        tol8 = half_lsb(full_scale, max(config.bits))
        s8 = float(np.max(settling_time(ds, outputs, t_ev, tol8, final=i_final)))
        if window is not None:
            break
        if not math.isfinite(s8) or s8 > 0.5 * win:
            win *= 4
        elif s8 < 0.02 * win and s8 > 0:
            win /= 8
        else:
            break
    settle = np.array([settling_time(ds, outputs, t_ev, half_lsb(full_scale, bb), final=i_final)
                       for bb in config.bits])  # (bits, K)
    energy = np.full((len(config.bits), len(PARTS)), np.nan)
    inputs = list(net.layout.inputs)
    for r, bb in enumerate(config.bits):
        t_end = t_ev + float(np.max(settle[r]))
        if not math.isfinite(t_end):
            continue
        e = energy_summary(ds, t_ev - 1e-3 * h, t_end, inputs=inputs)
        energy[r] = [e["drivers"]] + [e["groups"][g] for g in PARTS[1:6]] + [e["stored_change"], e["numerical"]]
    p_static = float(np.dot(-solve(final, keep_voltages=False)["i"].sel(branch=inputs).values,
                            final.vsources.dc[[final.source_index(x) for x in inputs]]))
    return {"settle": settle, "energy": energy, "window": win, "t_step": h, "t_event": t_ev,
            "full_scale": full_scale, "p_static": p_static, "ds": ds, "net": net,
            "sources": kwargs.get("sources"), "switches": kwargs.get("switches"), "final": i_final}


def _validate(config, n, k, r_on, event, native: dict) -> dict:
    """ngspice on the same event, step and window; compared with the native run."""
    ng = simulate_event(config, n, k, r_on, event, backend="ngspice", window=native["window"])
    net = native["net"]
    outputs = list(net.layout.outputs)
    again = transient(net, method=config.method, times=ng["ds"].time.values, keep_voltages=False,
                      sources=native["sources"], switches=native["switches"])
    a = again["i"].sel(branch=outputs).values
    b = ng["ds"]["i"].sel(branch=outputs).values
    scale = np.maximum(np.max(np.abs(b), axis=0), 1e-30)
    return {"settle": ng["settle"], "energy": ng["energy"], "rel_diff": float(np.max(np.abs(a - b) / scale))}


class StepTiming(Study):
    """TG step timing and energy (see the module docstring)."""

    name = "tg_step_timing"
    description = ("Settling time to 1/2 LSB and energy per step of a crossbar's summing-line outputs after a TG "
                   "pattern switch and after an input change, from transient simulation (native, checked "
                   "against ngspice at small N).")

    def add_arguments(self, parser):
        parser.add_argument("--sizes", type=int, nargs="+", default=None, help="crossbar sizes N")
        parser.add_argument("--ks", type=int, nargs="+", default=None, help="numbers of TG sets K")
        parser.add_argument("--r-on", type=float, nargs="+", default=None, help="TG on-resistances, ohm")
        parser.add_argument("--steps", type=int, default=None, help="time steps per run")
        parser.add_argument("--validate-max-n", type=int, default=32, help="largest N checked against ngspice")
        parser.add_argument("--seed", type=int, default=0)

    def config_from_args(self, args):
        quick = bool(getattr(args, "quick", False))
        return StepTimingConfig(
            sizes=tuple(args.sizes) if args.sizes else ((32, 64) if quick else (32, 64, 128, 256)),
            ks=tuple(args.ks) if args.ks else ((1, 2, 3, 4) if quick else (1, 2, 4, 8)),
            r_ons=tuple(args.r_on) if args.r_on else ((100.0, 1e3) if quick else (100.0, 1e3, 1e4)),
            steps=args.steps or (400 if quick else 1000), validate_max_n=args.validate_max_n, seed=args.seed)

    def check_environment(self, config, args):
        if config.validate_max_n >= min(config.sizes):
            from crossbar.ngspice import available

            if not available():
                raise ParameterError("ngspice validation needs PySpice and ngspice's shared library "
                                     "(or pass --validate-max-n 0)")

    def tasks(self, config):
        return [Task(f"N={n}/K={k}/r_on={r:g}", params=(n, k, r), cost=float(n) ** 2.2 * (2 if n <= config.validate_max_n else 1))
                for n in config.sizes for k in config.ks for r in config.r_ons]

    def _validated(self, config, n, k, r):
        return n <= config.validate_max_n and k in (min(config.ks), max(config.ks)) and r == config.r_ons[0]

    def run_task(self, config, task):
        n, k, r = task.params
        nb, npart = len(config.bits), len(PARTS)
        settle = np.full((len(EVENTS), nb, k), np.nan)
        energy = np.full((len(EVENTS), nb, npart), np.nan)
        ng_settle = np.full((len(EVENTS), nb), np.nan)
        ng_energy = np.full((len(EVENTS), nb), np.nan)
        rel = np.full(len(EVENTS), np.nan)
        window = np.zeros(len(EVENTS))
        t_step = np.zeros(len(EVENTS))
        fs = np.zeros(len(EVENTS))
        p_static = np.zeros(len(EVENTS))
        for e, event in enumerate(EVENTS):
            res = simulate_event(config, n, k, r, event)
            settle[e] = res["settle"]
            energy[e] = res["energy"]
            window[e], t_step[e], fs[e], p_static[e] = res["window"], res["t_step"], res["full_scale"], res["p_static"]
            if self._validated(config, n, k, r):
                v = _validate(config, n, k, r, event, res)
                ng_settle[e] = np.max(v["settle"], axis=1)
                ng_energy[e] = v["energy"][:, 0]
                rel[e] = v["rel_diff"]
        c = {"N": [n], "K": [k], "r_on": [r]}
        ex = lambda a: a[None, None, None]  # noqa: E731
        settle_max = np.max(settle, axis=2)
        ds = xr.Dataset({
            "settle": (("N", "K", "r_on", "event", "bits"), ex(settle_max), {
                "units": "s", "long_name": "time for every summing-line output to settle within 1/2 LSB"}),
            "energy": (("N", "K", "r_on", "event", "bits", "part"), ex(energy), {
                "units": "J", "long_name": "energy from the event to the settling time, by part"}),
            "ngspice_settle": (("N", "K", "r_on", "event", "bits"), ex(ng_settle), {
                "units": "s", "long_name": "settling time from ngspice's run (NaN: not validated)"}),
            "ngspice_driver_energy": (("N", "K", "r_on", "event", "bits"), ex(ng_energy), {
                "units": "J", "long_name": "driver energy to the settling time from ngspice's run"}),
            "ngspice_rel_diff": (("N", "K", "r_on", "event"), ex(rel), {
                "units": "1", "long_name": "max |native - ngspice| output current over each output's peak, "
                                           "native on ngspice's time points"}),
            "window": (("N", "K", "r_on", "event"), ex(window), {"units": "s", "long_name": "simulated time after the event"}),
            "t_step": (("N", "K", "r_on", "event"), ex(t_step), {"units": "s", "long_name": "time step"}),
            "full_scale": (("N", "K", "r_on", "event"), ex(fs), {
                "units": "A", "long_name": "ADC full scale: largest final output current"}),
            "static_power": (("N", "K", "r_on", "event"), ex(p_static), {
                "units": "W", "long_name": "power the drivers deliver in the final steady state"}),
        }, coords={**c, "event": list(EVENTS), "bits": list(config.bits), "part": list(PARTS)})
        return ds

    def attrs(self, config):
        return {"capacitances": repr(CAPS_130NM), "tia_model": "ideal virtual ground (0 V source)",
                "full_scale_rule": "largest |final output| of the step",
                "energy_window": "from the event to the 1/2-LSB settling time of the slowest output"}

    def summary(self, ds):
        lines = ["8-bit settling time (ps) after a TG switch | after an input change; "
                 "driver energy per step (fJ) at that rate"]
        b = int(ds.bits.values.max())
        for r in ds.r_on.values:
            lines.append(f"r_on = {r:g} ohm")
            for k in ds.K.values:
                row = []
                for n in ds.N.values:
                    s = ds.settle.sel(N=n, K=k, r_on=r, bits=b)
                    e = ds.energy.sel(N=n, K=k, r_on=r, bits=b, part="drivers")
                    row.append(f"N={int(n)}: {float(s.sel(event='tg_switch')) * 1e12:.1f} | "
                               f"{float(s.sel(event='input_change')) * 1e12:.1f} ps, "
                               f"{float(e.sel(event='tg_switch')) * 1e15:.1f} | {float(e.sel(event='input_change')) * 1e15:.1f} fJ")
                lines.append(f"  K={int(k)}: " + "; ".join(row))
        lines.append(scaling_text(ds))
        v = ds.ngspice_rel_diff.values
        if np.isfinite(v).any():
            s_nat = ds.settle.where(np.isfinite(ds.ngspice_settle)).values
            s_ng = ds.ngspice_settle.values
            ok = np.isfinite(s_nat) & np.isfinite(s_ng)
            lines.append(f"ngspice check ({int(np.isfinite(v).sum())} runs): output currents agree to "
                         f"{np.nanmax(v):.1e} of peak; settling times differ by at most "
                         f"{np.max(np.abs(s_nat[ok] - s_ng[ok])) * 1e12 if ok.any() else float('nan'):.3f} ps")
        return "\n".join(lines)

    def figures(self, ds, folder, stem):
        from crossbar.plotting import save_figure, subplots

        paths = []
        b = int(ds.bits.values.max())
        fig, axes = subplots(1, 2, figsize=(10, 4), squeeze=False)
        for ax, event in zip(axes[0], EVENTS):
            for r in ds.r_on.values:
                for k in ds.K.values:
                    s = ds.settle.sel(K=k, r_on=r, event=event, bits=b).values * 1e12
                    ax.loglog(ds.N.values, s, marker="o", label=f"r_on={r:g}, K={int(k)}")
            ax.set_xlabel("N (rows = columns)")
            ax.set_ylabel(f"{b}-bit settling time (ps)")
            ax.set_title(event.replace("_", " "))
        axes[0][1].legend(fontsize=6, ncol=2)
        paths.append(save_figure(fig, folder / f"{stem}_settling.png"))
        fig, ax = subplots(figsize=(7, 4))
        n = int(ds.N.values.max())
        sub = ds.energy.sel(N=n, bits=b, event="tg_switch", r_on=ds.r_on.values[0])
        bottom = np.zeros(ds.K.size)
        x = np.arange(ds.K.size)
        for part in PARTS[1:6] + ("stored_change", "numerical"):
            vals = np.nan_to_num(sub.sel(part=part).values * 1e15)
            ax.bar(x, vals, bottom=bottom, label=part)
            bottom = bottom + vals
        ax.set_xticks(x, [str(int(k)) for k in ds.K.values])
        ax.set_xlabel("K (TG sets)")
        ax.set_ylabel("energy per step (fJ)")
        ax.set_title(f"TG switch, N={n}, r_on={float(ds.r_on.values[0]):g} ohm, {b}-bit settling")
        ax.legend(fontsize=7)
        paths.append(save_figure(fig, folder / f"{stem}_energy.png"))
        return paths


def _loglog_slopes(s, axis: str) -> list[float]:
    """Least-squares slopes of log(settling) against log(``axis``), one per combination of the
    other two sweep axes of ``s`` (dims N, K, r_on) that has at least two positive values."""
    x = np.log(s[axis].values)
    a, b = (d for d in ("N", "K", "r_on") if d != axis)
    slopes = []
    for va in s[a].values:
        for vb in s[b].values:
            y = s.sel({a: va, b: vb}).values
            ok = np.isfinite(y) & (y > 0)
            if ok.sum() >= 2:
                slopes.append(np.polyfit(x[ok], np.log(y[ok]), 1)[0])
    return slopes


def scaling_text(ds) -> str:
    """Power-law exponents of the 8-bit settling time in N and in r_on (least squares in log-log)."""
    b = int(ds.bits.values.max())
    out = []
    for event in EVENTS:
        s = ds.settle.sel(event=event, bits=b)
        slopes = _loglog_slopes(s, "N") if ds.N.size >= 2 else []
        if slopes:
            out.append(f"{event}: settling ~ N^{np.median(slopes):.2f} (median over K, r_on; range "
                       f"{min(slopes):.2f}..{max(slopes):.2f})")
        slopes = _loglog_slopes(s, "r_on") if ds.r_on.size >= 2 else []
        if slopes:
            out.append(f"{event}: settling ~ r_on^{np.median(slopes):.2f} (median over N, K)")
    worst = float(ds.settle.sel(bits=b).max())
    out.append(f"design rule ({b} bits): step period >= the slowest settling, here {worst * 1e12:.1f} ps "
               f"(max step rate {1 / worst / 1e9:.2f} GHz for the array alone, ideal TIA/ADC)")
    return "\n".join(out)
