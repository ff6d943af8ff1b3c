"""Timing native transient runs against ngspice on the same crossbar deck.

``bench_case(n, k, seed)``            the benchmark crossbar (capacitances ``CAPS_130NM``)
``time_input_step(n, steps, ...)``    native fixed-step run vs ngspice ``.tran`` of an input step
``time_tg_step(n, steps, ...)``       native run of one TG pattern switch

Each returns a dict of wall-clock seconds (``*_s``), CPU seconds of this process
(``*_cpu_s``: ngspice runs in-process through its shared library, and the native solver
is held to one BLAS thread, so CPU time is what each would take on an idle core of a
shared machine) and the agreement with ngspice (the native integrator re-run on
ngspice's own time points, see :mod:`.ngspice_tran`).
"""

from __future__ import annotations

import time

import numpy as np

from crossbar.transient import Step, tg_pattern_switch, transient
from devices import LinearAccessTransistor, TransmissionGate, Wires
from devices.capacitance import CAPS_130NM
from netlists.builder import build_crossbar

__all__ = ["bench_case", "time_input_step", "time_tg_step", "T_STEP"]

T_STEP = 0.1e-12
"""Time step of the benchmark runs, second (the crossbar's fastest RC products are
~1e-16 s on wires, its slowest ~1e-11 s on floating bitlines)."""


def bench_case(n: int, k: int = 4, seed: int = 0):
    """An n x n 1T1R crossbar (1-100 uS cells, 1 kohm access, 2.5 ohm segments, 100 ohm /
    1 Gohm TGs, ``CAPS_130NM``), K TG sets round-robin, one column in eight unassigned,
    and input voltages 0-0.2 V.  Returns ``(netlist, inputs)``."""
    rng = np.random.default_rng(seed)
    G = rng.uniform(1e-6, 100e-6, size=(n, n))
    A = np.zeros((k, n), bool)
    A[np.arange(n) % k, np.arange(n)] = True
    A[:, rng.choice(n, size=max(1, n // 8), replace=False)] = False
    v = rng.uniform(0.0, 0.2, size=n)
    net = build_crossbar(G, A, np.zeros(n), wires=Wires(2.5, 2.5, 2.5), tg=TransmissionGate(100.0, 1e9),
                         access=LinearAccessTransistor(1e3), capacitance=CAPS_130NM)
    return net, v


class _Clock:
    """Wall and process-CPU seconds of a block."""

    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c


def _rel(a, b):
    scale = np.max(np.abs(b), axis=0)
    return float(np.max(np.abs(a - b) / np.where(scale > 0, scale, 1.0)))


def time_input_step(n: int, steps: int = 1000, *, method: str = "trap", ngspice_steps=(), t_step: float = T_STEP) -> dict:
    """Every wordline steps from 0 V to its input at ``5 t_step`` (rise ``t_step``).

    The native run takes ``steps`` fixed steps.  ngspice runs ``.tran`` once per entry of
    ``ngspice_steps`` (step counts); with two counts the cost of 1000 steps is extrapolated
    from ngspice's marginal cost per time point between them plus its fixed cost (the
    operating point and pivot ordering), ``fixed + steps * marginal``, so a slow ngspice need
    not run all steps.  The agreement is measured on the longest ngspice run: the native
    integrator re-run on ngspice's own time points, output currents compared at every point,
    over each output's peak.
    """
    net, v = bench_case(n)
    sources = {f"vin{i}": Step(5 * t_step, float(v[i]), rise=t_step) for i in range(n)}
    out = {"N": n, "steps": steps, "unknowns": net.n_nodes}
    with _Clock() as c:
        ds = transient(net, steps * t_step, t_step, sources=sources, method=method, keep_voltages=False)
    out["native_s"], out["native_cpu_s"] = c.wall, c.cpu
    out["native_points"] = int(ds.time.size)
    out["factorizations"] = int(ds.attrs["factorizations"])
    runs = []
    for ns in sorted(set(int(x) for x in ngspice_steps)):
        with _Clock() as c:
            ng = transient(net, ns * t_step, t_step, sources=sources, method=method, backend="ngspice", keep_voltages=False)
        runs.append((ns, int(ng.time.size), c.wall, c.cpu, ng))
    if runs:
        ns, pts, secs, cpu, ng = runs[-1]
        out.update(ngspice_steps=ns, ngspice_points=pts, ngspice_s=secs, ngspice_cpu_s=cpu)
        for key, col in (("", 2), ("_cpu", 3)):
            if ns >= steps:
                est = runs[-1][col] * (ds.time.size / pts)
                out["ngspice_estimate"] = "measured"
            elif len(runs) >= 2:
                (n0, p0), (n1, p1) = runs[-2][:2], runs[-1][:2]
                s0, s1 = runs[-2][col], runs[-1][col]
                marginal = (s1 - s0) / (p1 - p0) if p1 > p0 else -1.0
                if marginal > 0 and s1 - marginal * p1 >= 0:
                    out[f"ngspice_marginal{key}_s_per_point"] = marginal
                    out[f"ngspice_fixed{key}_s"] = s1 - marginal * p1
                    est = out[f"ngspice_fixed{key}_s"] + marginal * ds.time.size
                    out["ngspice_estimate"] = f"extrapolated from runs of {n0} and {n1} steps"
                else:  # timing noise larger than the difference: per-point cost of the longer run
                    est = s1 / p1 * ds.time.size
                    out["ngspice_estimate"] = f"per-point cost of the {n1}-step run (two-run fit too noisy)"
            else:
                est = runs[-1][col] / pts * ds.time.size
                out["ngspice_estimate"] = f"per-point cost of a {ns}-step run"
            out[f"ngspice_1000{key}_s"] = est
        out["speedup"] = out["ngspice_1000_s"] / out["native_s"]
        out["speedup_cpu"] = out["ngspice_1000_cpu_s"] / out["native_cpu_s"]
        t0 = time.perf_counter()
        on_grid = transient(net, sources=sources, method=method, times=ng.time.values, keep_voltages=False)
        out["native_on_ngspice_grid_s"] = time.perf_counter() - t0
        outputs = list(net.layout.outputs)
        out["rel_diff"] = _rel(on_grid.i.sel(branch=outputs).values, ng.i.sel(branch=outputs).values)
    return out


def time_tg_step(n: int, steps: int = 1000, *, method: str = "trap", t_step: float = T_STEP) -> dict:
    """Inputs held; at ``10 t_step`` every assigned column moves to the next TG set."""
    net, v = bench_case(n)
    net = net.with_sources({f"vin{i}": float(v[i]) for i in range(n)})
    A = np.asarray(net.layout.assignment)
    switches = tg_pattern_switch(net, np.roll(A, 1, axis=0), at=10 * t_step)
    with _Clock() as c:
        ds = transient(net, steps * t_step, t_step, switches=switches, method=method, keep_voltages=False)
    return {"N": n, "steps": steps, "unknowns": net.n_nodes, "native_s": c.wall, "native_cpu_s": c.cpu,
            "factorizations": int(ds.attrs["factorizations"]), "residual_A": float(ds.attrs["residual"])}
