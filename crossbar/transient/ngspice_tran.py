"""The ngspice backend of :func:`crossbar.transient`: ``.tran`` through PySpice's shared library.

The deck is :func:`netlists.to_ngspice`'s text with four changes:

* ``.op`` becomes ``.tran <t_step> <t_stop> 0 <t_step>`` (TMAX = TSTEP) and ``.options``
  gains ``method=trap`` (``"trap"``) or ``method=gear maxord=1`` (``"be"``: Gear of
  order 1 *is* backward Euler) and ``trtol=1e9``, which switches off the local-truncation
  -error step control, so the step is limited only by TMAX, the start-up ramp and the
  breakpoints;
* a source with a waveform gets ``PWL(...)`` instead of ``DC <value>``;
* a switched resistor becomes a B source ``I = V(n1,n2) * (time < t1 ? g0 : ...)`` and a
  dummy PWL source puts a breakpoint on every switching time;
* ``.save`` keeps only the branch currents (and the node voltages asked for).

**ngspice cannot be forced onto a fixed step.**  Measured on ngspice 39: the first step
is ``min(t_stop/100, t_step)/10``, steps then double up to TMAX, and after every
breakpoint (a PWL corner, a switching time) the step restarts at a tenth and the
trapezoidal rule restarts with one backward-Euler step.  The backend therefore returns
ngspice's own time points (``attrs["time_grid"] = "ngspice"``); comparisons with the
native solver run the native integrator on that grid (``times=``) with the same step
orders (``euler_at_breaks=True``) -- no interpolation.

The circuit is removed from ngspice after every run, whether it succeeded or not.
"""

from __future__ import annotations

import math

import numpy as np

from crossbar.ngspice import _lock, _shared, loaded_deck
from devices.errors import BackendError
from netlists.netlist import Netlist
from netlists.spice import DECK_OPTIONS, to_ngspice

__all__ = ["tran_deck", "run_tran"]

_BRK_NODE = "xbrk_tran"


def _fmt(x: float) -> str:
    return repr(float(x))


def _wrap(head: str, items, width: int = 200) -> list:
    """``head item item ...`` split into SPICE continuation lines."""
    lines, cur = [], head
    for it in items:
        if len(cur) + 1 + len(it) > width:
            lines.append(cur)
            cur = "+"
        cur += " " + it
    lines.append(cur)
    return lines


def tran_deck(netlist: Netlist, t_stop: float, t_step: float, method: str, waveforms: dict, switches: dict,
              save_nodes=(), tol: float = 0.0) -> str:
    """The ngspice ``.tran`` deck for a transient run (see the module docstring).

    Parameters
    ----------
    waveforms : dict
        Source name -> :class:`PWL` for sources that vary.
    switches : dict
        Resistor name -> :class:`Switch`.
    save_nodes : sequence of str
        Node voltages to keep (besides every voltage-source branch current).
    tol : float
        Switching happens at ``time >= t_switch - tol`` (seconds), so a time point that
        lands on a switching time within rounding takes the new value.
    """
    opts = dict(DECK_OPTIONS)
    if method == "trap":
        opts.update(method="trap")
    else:
        opts.update(method="gear", maxord=1)
    opts["trtol"] = 1e9
    text = to_ngspice(netlist, options={k: v for k, v in opts.items() if not isinstance(v, str)})
    extra_opts = " ".join(f"{k}={v}" for k, v in opts.items() if isinstance(v, str))
    nodes = netlist.nodes
    R = netlist.resistors
    rrow = {name: k for k, name in enumerate(R.names)}
    replace = {}
    for name, wf in waveforms.items():
        table = netlist.vsources if name in netlist.vsources.names else netlist.isources
        row = table.names.index(name)
        pairs = [f"{_fmt(t)} {_fmt(v)}" for t, v in zip(wf.times, wf.values)]
        replace[name] = _wrap(f"{name} {nodes[table.npos[row]]} {nodes[table.nneg[row]]} PWL(", pairs) + ["+ )"]
    brk = set()
    for name, sw in switches.items():
        k = rrow[name]
        a, b = nodes[R.n1[k]], nodes[R.n2[k]]
        g = [1.0 / R.value[k]] + [0.0 if math.isinf(r) else 1.0 / r for r in sw.values]
        expr = _fmt(g[-1])
        for t, gk in zip(reversed(sw.times), reversed(g[:-1])):
            expr = f"(time < {_fmt(t - tol)} ? {_fmt(gk)} : {expr})"
        replace[name] = [f"b{name} {a} {b} I = V({a},{b}) * {expr}"]
        brk.update(sw.times)
    out = []
    for line in text.splitlines():
        head = line.split(None, 1)[0].lower() if line.strip() else ""
        if head in replace:
            out.extend(replace[head])
        elif head == ".op":
            if brk:
                pts = sorted(brk)
                if f"v{_BRK_NODE}" in nodes or _BRK_NODE in nodes:
                    raise BackendError(f"node or source name {_BRK_NODE!r} is reserved by the ngspice transient deck")
                pairs = ["0.0 0.0"] + [f"{_fmt(t)} 0.0" for t in pts]
                out.extend(_wrap(f"v{_BRK_NODE} {_BRK_NODE} 0 PWL(", pairs) + ["+ )"])
                out.append(f"r{_BRK_NODE} {_BRK_NODE} 0 1.0")
            saves = [f"{v}#branch" for v in netlist.vsources.names] + [f"v({n})" for n in save_nodes]
            for s in range(0, len(saves), 40):
                out.append(".save " + " ".join(saves[s:s + 40]))
            out.append(f".tran {_fmt(t_step)} {_fmt(t_stop)} 0 {_fmt(t_step)}")
        elif head.startswith(".options"):
            out.append(line + (" " + extra_opts if extra_opts else ""))
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _vectors(ng, plot: str, wanted) -> dict:
    from PySpice.Spice.NgSpice.Shared import ffi

    out = {}
    lib = ng._ngspice_shared
    for name in wanted:
        info = lib.ngGet_Vec_Info(f"{plot}.{name}".encode())
        if info == ffi.NULL or info.v_realdata == ffi.NULL:
            raise BackendError(f"ngspice result lacks vector {name!r}")
        n = int(info.v_length)
        out[name] = np.frombuffer(ffi.buffer(info.v_realdata, 8 * n), dtype=np.float64).copy()
    return out


def run_tran(deck: str, branches, nodes=()) -> tuple:
    """Run a ``.tran`` deck; returns ``(time, i, v)`` (seconds, ampere (T, branches), volt (T, nodes))."""
    with _lock:
        ng = _shared()
        with loaded_deck(ng, deck, "tran", "a transient result", fatal=("singular", "error", "too small")) as plot:
            vec = _vectors(ng, plot, ["time"] + [f"{b}#branch" for b in branches] + list(nodes))
    t = vec["time"]
    i = np.stack([vec[f"{b}#branch"] for b in branches], axis=1) if branches else np.zeros((t.size, 0))
    v = np.stack([vec[n] for n in nodes], axis=1) if nodes else None
    return t, i, v

