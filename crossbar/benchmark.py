"""Solver benchmark: native against ngspice on the crossbars of issue 2.

Each size runs in a fresh process (``spawn``) so that its peak resident memory
(``ru_maxrss``) belongs to that size alone.  Crossbar: N x N 1T1R, linear access
transistor (1 kohm), 4 TG sets with disjoint columns, 2.5 ohm per wire segment, cells of
16 levels between 1 uS and 100 uS, inputs 0-0.2 V, all seeded.  Times are wall-clock
medians over ``repeat`` runs; ``op_total`` is one linear operating point with every
preparation step (checks, assembly, ordering, factorization) included.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time

import numpy as np
import xarray as xr

__all__ = ["crossbar_for", "measure", "measure_mvm", "run", "TARGETS"]

TARGETS = {
    "speedup_128": ("native >= 1000x faster than ngspice on the N=128 deck", 1000.0),
    "op_256": ("N=256 linear operating point incl. factorization <= 0.5 s", 0.5),
    "mos_256": ("N=256 level-1 MOS operating point <= 3 s", 3.0),
    "op_1024": ("N=1024 linear operating point <= 60 s", 60.0),
    "mem_1024": ("N=1024 peak memory of the operating point (build, prepare, solve) <= 8 GiB", 8.0),
    "mvm_32": ("N=32 crossbar.mvm call <= 3 ms", 3e-3),
}


def crossbar_for(N: int, K: int = 4, mos: bool = False, seed: int = 0):
    """The benchmark crossbar of size N (see the module docstring)."""
    from devices import NMOSLevel1, RRAMCell, TransmissionGate, Wires
    from devices.presets import ACCESS_LINEAR_1K, FACTS_CELL
    from netlists import build_crossbar

    rng = np.random.default_rng(seed)
    cell: RRAMCell = FACTS_CELL
    G = cell.program(rng.uniform(cell.g_min, cell.g_max, (N, N)), seed=rng)
    owner = np.arange(N) % (K + 1)  # every (K+1)-th column in no set
    A = np.zeros((K, N), bool)
    A[owner[owner < K], np.flatnonzero(owner < K)] = True
    access = NMOSLevel1(lambda_=0.02) if mos else ACCESS_LINEAR_1K
    return build_crossbar(G, A, rng.uniform(0, 0.2, N), wires=Wires(2.5, 2.5, 2.5),
                          tg=TransmissionGate(1e3, 1e9), access=access)


def _median_time(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def measure(N: int, *, repeat: int = 3, mos: bool = True, ngspice: bool = False, ngspice_mos: bool = False) -> dict:
    """Measure one size in the current process; returns a dict of figures (SI units)."""
    import crossbar
    from crossbar.native.factor import Factor

    out = {"N": N}
    t = time.perf_counter()
    net = crossbar_for(N)
    out["build_s"] = time.perf_counter() - t
    out["unknowns_mna"] = net.n_nodes + len(net.vsources)

    factor_times = []
    orig = Factor.__init__

    def timed(self, *a, **k):
        t0 = time.perf_counter()
        orig(self, *a, **k)
        factor_times.append(time.perf_counter() - t0)

    Factor.__init__ = timed
    try:
        out["prepare_s"], system = _median_time(lambda: crossbar.prepare(net), repeat)
    finally:
        Factor.__init__ = orig
    out["factor_s"] = float(np.median(factor_times))
    out["unknowns_native"] = int(system.free.size)
    out["solve_s"], ds = _median_time(lambda: system.solve(keep_voltages=False), repeat)
    out["op_total_s"] = out["prepare_s"] + out["solve_s"]
    out["peak_rss_op_GiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20  # KiB on Linux
    lay = net.layout
    out["transfer_s"], T = _median_time(lambda: system.transfer_matrix(lay.inputs, lay.outputs), repeat)
    X = np.random.default_rng(1).uniform(0, 0.2, (64, N))
    out["batch64_s"], _ = _median_time(
        lambda: system.solve({name: X[:, i] for i, name in enumerate(lay.inputs)}, keep_voltages=False), repeat)
    i_native = ds.i.sel(branch=list(lay.outputs)).values
    out["i_out_max_A"] = float(np.abs(i_native).max())
    if mos:
        mnet = crossbar_for(N, mos=True)
        out["mos_s"], mds = _median_time(lambda: crossbar.solve(mnet, keep_voltages=False), 1 if N > 128 else repeat)
        out["mos_newton_iterations"] = int(mds.attrs["newton_iterations"])
    else:
        out["mos_s"], out["mos_newton_iterations"] = float("nan"), -1
    out["ngspice_s"] = out["ngspice_rel_diff"] = float("nan")
    out["ngspice_mos_s"] = out["ngspice_mos_rel_diff"] = float("nan")
    if ngspice:
        out["ngspice_s"], nds = _median_time(lambda: crossbar.solve(net, backend="ngspice", keep_voltages=False), 1)
        i_ng = nds.i.sel(branch=list(lay.outputs)).values
        out["ngspice_rel_diff"] = float(np.abs(i_native - i_ng).max() / np.abs(i_ng).max())
    if ngspice and ngspice_mos and mos:
        out["ngspice_mos_s"], nmds = _median_time(lambda: crossbar.solve(mnet, backend="ngspice", keep_voltages=False), 1)
        a = mds.i.sel(branch=list(lay.outputs)).values
        b = nmds.i.sel(branch=list(lay.outputs)).values
        out["ngspice_mos_rel_diff"] = float(np.abs(a - b).max() / np.abs(b).max())
    out["peak_rss_GiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20  # ru_maxrss is KiB on Linux
    return out


def measure_mvm(N: int = 32, *, repeat: int = 50, seed: int = 0) -> dict:
    """One :func:`crossbar.mvm` call against the same circuit through :func:`crossbar.solve`.

    Circuit: N x N cells of 16 levels in 1-100 uS, 1 kohm linear access, 2.5 ohm
    segments, a 1 kohm TG under every column into its own 0 V source, one input vector
    in 0-0.2 V.  ``solve_s`` builds the netlist (:func:`crossbar.mvm_netlist`) and
    solves it, which is what a user without ``mvm`` does; ``prepared_solve_s`` reuses a
    prepared system (the netlist path's floor).  Medians over ``repeat`` calls, seconds.
    """
    import crossbar
    from devices import TransmissionGate, Wires
    from devices.presets import ACCESS_LINEAR_1K, FACTS_CELL

    rng = np.random.default_rng(seed)
    G = FACTS_CELL.program(rng.uniform(FACTS_CELL.g_min, FACTS_CELL.g_max, (N, N)), seed=rng)
    v = rng.uniform(0, 0.2, N)
    kw = dict(wires=Wires(2.5, 2.5, 2.5), access=ACCESS_LINEAR_1K, tg=TransmissionGate(1e3, 1e9))
    crossbar.mvm(G, v, **kw)  # warm: imports, the cached symbolic analysis of this shape
    t_mvm, i_mvm = _median_time(lambda: crossbar.mvm(G, v, **kw), repeat)

    def via_solve():
        net = crossbar.mvm_netlist(G, **kw)
        ds = crossbar.solve(net, sources={f"vin{k}": v[k] for k in range(N)}, keep_voltages=False)
        return ds.i.sel(branch=list(net.layout.outputs)).values

    t_solve, i_solve = _median_time(via_solve, max(3, repeat // 5))
    net = crossbar.mvm_netlist(G, **kw)
    system = crossbar.prepare(net)
    src = {f"vin{k}": v[k] for k in range(N)}
    t_prep, _ = _median_time(lambda: system.solve(src, keep_voltages=False), max(3, repeat // 5))
    return {"N": N, "mvm_s": t_mvm, "solve_s": t_solve, "prepared_solve_s": t_prep,
            "ratio": t_solve / t_mvm, "max_rel_diff": float(np.abs(i_mvm.values[0] - i_solve).max() / np.abs(i_solve).max())}


def _child(queue, N, kwargs):
    try:
        queue.put(measure(N, **kwargs))
    except BaseException as exc:  # report, never hang the parent
        queue.put({"N": N, "error": f"{type(exc).__name__}: {exc}"})


def run(sizes, *, repeat=3, mos_max=256, ngspice_max=128, ngspice_mos_max=64, progress=None) -> xr.Dataset:
    """Measure every size in its own process and gather an ``xarray.Dataset`` (dim ``N``)."""
    ctx = mp.get_context("spawn")
    rows = []
    for N in sizes:
        if progress:
            progress(N)
        q = ctx.Queue()
        kw = dict(repeat=repeat if N <= 256 else 1, mos=N <= mos_max, ngspice=N <= ngspice_max,
                  ngspice_mos=N <= ngspice_mos_max)
        p = ctx.Process(target=_child, args=(q, N, kw))
        p.start()
        res = q.get()
        p.join()
        rows.append(res)
    return to_dataset(rows)


_UNITS = {"build_s": "s", "prepare_s": "s", "factor_s": "s", "solve_s": "s", "op_total_s": "s", "transfer_s": "s",
          "batch64_s": "s", "mos_s": "s", "ngspice_s": "s", "ngspice_mos_s": "s", "peak_rss_GiB": "GiB", "peak_rss_op_GiB": "GiB",
          "i_out_max_A": "A", "ngspice_rel_diff": "1", "ngspice_mos_rel_diff": "1", "unknowns_mna": "1",
          "unknowns_native": "1", "mos_newton_iterations": "1"}


def to_dataset(rows) -> xr.Dataset:
    Ns = [r["N"] for r in rows]
    data = {}
    for key, unit in _UNITS.items():
        data[key] = ("N", np.array([r.get(key, np.nan) for r in rows], dtype=float), {"units": unit})
    data["error"] = ("N", np.array([r.get("error", "") for r in rows], dtype=object))
    ds = xr.Dataset(data, coords={"N": ("N", Ns, {"units": "1", "long_name": "crossbar rows = columns"})})
    ds["speedup_vs_ngspice"] = (ds.ngspice_s / ds.op_total_s).assign_attrs(units="1")
    return ds


def verdicts(ds: xr.Dataset) -> list[tuple[str, str, str]]:
    """(target, measured, met?) for each target whose size was measured."""
    out = []

    def at(var, N):
        return float(ds[var].sel(N=N)) if N in ds.N.values and np.isfinite(float(ds[var].sel(N=N))) else None

    checks = [("speedup_128", at("speedup_vs_ngspice", 128), lambda v, lim: v >= lim, "{:.0f}x"),
              ("op_256", at("op_total_s", 256), lambda v, lim: v <= lim, "{:.2f} s"),
              ("mos_256", at("mos_s", 256), lambda v, lim: v <= lim, "{:.2f} s"),
              ("op_1024", at("op_total_s", 1024), lambda v, lim: v <= lim, "{:.1f} s"),
              ("mem_1024", at("peak_rss_op_GiB", 1024), lambda v, lim: v <= lim, "{:.2f} GiB")]
    for key, value, ok, fmt in checks:
        text, lim = TARGETS[key]
        if value is None:
            out.append((text, "not measured", "-"))
        else:
            out.append((text, fmt.format(value), "met" if ok(value, lim) else "MISSED"))
    return out
