"""Summing-error metrics of a crossbar whose columns feed K transmission-gate (TG) sets.

The quantities, per TG set ``k`` and random input vector ``s`` (all currents in ampere):

``ideal``          ``I0[s, k] = sum_{j in set k} sum_i G[i, j] * V[s, i]`` with ``G`` the
                   conductance of the 1T1R cell the network expects (see
                   :func:`rram_conductances` for how the RRAM is programmed to it).
``all``            output current of set ``k`` with every set switched as assigned.
``alone``          output current of set ``k`` with the other sets' TGs off.
``single_sum``     the sum over the columns ``j`` of set ``k`` of the output current with
                   only TG ``(k, j)`` on in the whole crossbar.

and the relative errors (dimensionless, all divided by the ideal output)::

    error          = (all - ideal) / ideal
    crosstalk      = (all - alone) / ideal            0 in the ideal crossbar
    superposition  = (alone - single_sum) / ideal     0 in the ideal crossbar
    error = crosstalk + superposition + (single_sum - ideal) / ideal      (identity)

The error is split by solving the same crossbar four times: ``combined`` (wires and
TGs as given), ``wire`` (TGs ideal: ``r_on = IDEAL_R``, off gates open), ``tg`` (wires
ideal: 0 ohm) and ``access`` (wires and TGs ideal: what is left is the access
transistor, 0 for a calibrated linear one).

Public functions
----------------
``cell_conductances``, ``rram_conductances``, ``tg_assignment``, ``input_vectors``
    the random crossbar instance of a sweep point (seeded); ``access_resistance``.
``ideal_currents``, ``relative_error``, ``mean_and_worst``
    the metric arithmetic.
``measure``
    output currents of one circuit through :func:`crossbar.solve` (any backend).
``SwitchingSystem``
    native fast path for a linear crossbar: one factorization with every TG off,
    then any set of switched-on TGs by a low-rank (Woodbury) update.
``switched_outputs``
    ``all``, ``alone`` and ``single_sum`` for one circuit, by the fast path when it
    applies, else by one direct solve per switching pattern.
"""

from __future__ import annotations

import math

import numpy as np

import crossbar
from devices import LinearAccessTransistor, NMOSLevel1, RRAMCell, TransmissionGate, Wires
from devices.errors import ParameterError
from netlists import build_crossbar

__all__ = [
    "IDEAL_R",
    "cell_conductances",
    "access_resistance",
    "rram_conductances",
    "tg_assignment",
    "input_vectors",
    "ideal_currents",
    "relative_error",
    "mean_and_worst",
    "measure",
    "SwitchingSystem",
    "switched_outputs",
]

IDEAL_R = 1e-6
"""On-resistance, ohm, standing for an ideal (0 ohm) TG; the builder needs ``r_on > 0``.
Its effect on a relative error is ``IDEAL_R * G_column`` (about 1e-8 for a 128-row column of 100 uS cells)."""


# ------------------------------------------------------------------ the crossbar instance
def cell_conductances(cell: RRAMCell, n: int, seed) -> np.ndarray:
    """Random 1T1R cell conductances of an ``n x n`` crossbar, siemens.

    Every cell gets a level drawn uniformly from ``cell.levels`` and is programmed with
    ``cell.program`` (its ``sigma`` applies).  The result is what the network expects
    each cell to conduct.
    """
    rng = np.random.default_rng(seed)
    target = rng.choice(cell.levels, size=(n, n))
    return cell.program(target, seed=rng)


def access_resistance(access) -> float:
    """Series resistance of a selected access transistor near ``v_ds = 0``, ohm (0 for none)."""
    if access is None:
        return 0.0
    if isinstance(access, LinearAccessTransistor):
        return float(access.r_on)
    if isinstance(access, NMOSLevel1):
        return float(access.r_on_small_signal)
    raise ParameterError(f"access must be LinearAccessTransistor, NMOSLevel1 or None, got {type(access).__name__}")


def rram_conductances(g_cell, access, calibrate: bool = True) -> np.ndarray:
    """RRAM conductances that make each 1T1R cell conduct ``g_cell``, siemens.

    Write-verify reads the whole 1T1R cell, so a programmed cell conducts its target
    *including* the access transistor: ``1/G_rram = 1/g_cell - r_access`` with
    ``r_access`` the transistor's resistance at ``v_ds = 0``.  Exact for a linear access
    transistor; for a level-1 NMOS what remains is its nonlinearity.  With
    ``calibrate=False`` the RRAM is programmed to ``g_cell`` itself and the access
    transistor's series drop counts as error.

    Raises
    ------
    ParameterError
        When ``g_cell * r_access >= 1`` somewhere (no RRAM conductance can do it).
    """
    g = np.asarray(g_cell, dtype=float)
    r_acc = access_resistance(access)
    if not calibrate or r_acc == 0.0:
        return g.copy()
    worst = float(g.max()) * r_acc
    if worst >= 1.0:
        raise ParameterError(
            f"cannot calibrate the 1T1R cells: g_max * r_access = {g.max():.3g} S * {r_acc:.4g} ohm = {worst:.3g} >= 1; "
            "the access transistor alone conducts less than the target (use a smaller r_access or g_max)")
    return 1.0 / (1.0 / g - r_acc)


def tg_assignment(n: int, k: int, density: float, seed) -> np.ndarray:
    """Disjoint assignment of ``round(density * n)`` random columns to ``k`` TG sets.

    Columns are drawn without replacement and dealt to the sets in turn, so set sizes
    differ by at most one.  Returns a ``(k, n)`` bool array.

    Raises
    ------
    ParameterError
        When fewer than ``k`` columns would be switched on (a set without columns has
        no output to measure).
    """
    if not 0 < density <= 1:
        raise ParameterError(f"density must be in (0, 1], got {density!r}")
    m = int(round(density * n))
    if k > n:
        raise ParameterError(f"k = {k} TG sets is larger than the number of columns n = {n}")
    if m < k:
        raise ParameterError(f"density {density:g} switches on {m} of {n} columns, fewer than the k = {k} TG sets; "
                             f"each set needs at least one column (density >= {k / n:g})")
    rng = np.random.default_rng(seed)
    cols = rng.permutation(n)[:m]
    a = np.zeros((k, n), dtype=bool)
    a[np.arange(m) % k, cols] = True
    return a


def input_vectors(n: int, samples: int, v_max: float, seed) -> np.ndarray:
    """``samples`` random wordline voltage vectors, uniform in ``[0, v_max]`` volt, shape ``(samples, n)``."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, v_max, size=(samples, n))


# ------------------------------------------------------------------ arithmetic
def ideal_currents(g_cell, assignment, inputs) -> np.ndarray:
    """``I0[s, k] = sum_{j in set k} sum_i G[i, j] V[s, i]``, ampere, shape ``(S, K)``."""
    g = np.asarray(g_cell, float)
    v = np.atleast_2d(np.asarray(inputs, float))
    return (v @ g) @ np.asarray(assignment, float).T


def relative_error(measured, ideal) -> np.ndarray:
    """``(measured - ideal) / ideal``, dimensionless; refuses a zero ideal output."""
    measured = np.asarray(measured, float)
    ideal = np.asarray(ideal, float)
    if np.any(ideal == 0):
        raise ParameterError("relative error undefined: an ideal output current is 0 A (a TG set without columns "
                             "or all-zero inputs)")
    return (measured - ideal) / ideal


def mean_and_worst(rel, axis=0):
    """Mean and worst (the signed value of largest magnitude) along ``axis``."""
    rel = np.asarray(rel, float)
    idx = np.expand_dims(np.argmax(np.abs(rel), axis=axis), axis)
    return rel.mean(axis=axis), np.take_along_axis(rel, idx, axis=axis).squeeze(axis)


# ------------------------------------------------------------------ direct measurement
def _build(g_rram, assignment, wires, tg, access):
    return build_crossbar(g_rram, assignment, wires=wires, tg=tg, access=access,
                          fold_cells=not isinstance(access, NMOSLevel1))


def measure(g_rram, assignment, inputs, *, wires: Wires, tg: TransmissionGate, access, backend: str = "native") -> np.ndarray:
    """Output currents of every TG set for every input vector, ampere, shape ``(S, K)``.

    Builds the netlist (linear cells folded to one resistor) and solves it with
    :func:`crossbar.solve`: a linear crossbar on the native backend goes through its
    transfer matrix (one factorization, one adjoint solve per output), anything else
    through batched operating points.
    """
    net = _build(g_rram, assignment, wires, tg, access)
    v = np.atleast_2d(np.asarray(inputs, float))
    lay = net.layout
    if backend == "native" and net.is_linear:
        T = crossbar.transfer_matrix(net).values  # (K, R), siemens
        return v @ T.T
    ds = crossbar.solve(net, backend=backend, sources={name: v[:, i] for i, name in enumerate(lay.inputs)},
                        keep_voltages=False)
    i = ds["i"].sel(branch=list(lay.outputs)).values
    return i.reshape(v.shape[0], len(lay.outputs))


# ------------------------------------------------------------------ fast path
class _ReducedLaplacian:
    """Nodal matrix of a linear netlist whose voltage sources all drive a node against
    ground, reduced to the free nodes and factorized (CHOLMOD when installed, else
    SuperLU).  Every node of the netlist stays an unknown (the native solver's
    series-node folding and condensation are not applied), so the fast path can address
    column bottoms and summing-line taps by name; the assembly and the factorization are
    the native solver's own (:func:`crossbar.native._laplacian`, ``_Factor``)."""

    def __init__(self, net):
        from crossbar.native import _Factor, _laplacian

        R, V = net.resistors, net.vsources
        if len(net.mosfets) or len(net.isources):
            raise ParameterError("the fast path takes resistors and grounded voltage sources only")
        if np.any(np.asarray(V.nneg) != 0):
            raise ParameterError("the fast path needs every voltage source to have its n- terminal on ground")
        n = len(net.nodes)
        L = _laplacian(n, np.asarray(R.n1), np.asarray(R.n2), 1.0 / np.asarray(R.value, float))
        self.driven = np.asarray(V.npos, np.int64)
        fixed = np.zeros(n, bool)
        fixed[0] = True
        fixed[self.driven] = True
        self.free = np.flatnonzero(~fixed)
        self.pos = np.full(n, -1, np.int64)
        self.pos[self.free] = np.arange(self.free.size)
        self.L = L
        Lf = L[self.free]
        self.Gff = Lf[:, self.free].tocsc()
        self.Gfd = Lf[:, self.driven].tocsr()
        self._factor = _Factor(self.Gff, "auto")  # CHOLMOD when installed, else SuperLU

    def solve(self, b):
        return self._factor.solve(b)


class SwitchingSystem:
    """A linear crossbar factorized once with every TG off; switched-on TGs by Woodbury.

    Switching on TG ``(k, j)`` adds the conductance ``dg = 1/r_on - 1/r_off`` between
    the column bottom ``col{j}`` and the summing-line tap ``sl{k}_{j}`` (``out{k}`` when
    the summing line is ideal).  With ``A0`` the free-node matrix of the all-off
    crossbar, ``F`` the incidence of the ``m`` switchable TGs and ``W = A0^-1 F`` (``m``
    solves on one factorization), any subset ``P`` of TGs gives::

        v = v0 - W_P (diag(1/dg_P) + F_P^T W_P)^-1 F_P^T v0

    and the output currents are linear read-outs of ``v``.  The base does not depend on
    ``r_on``, so one instance serves every ``r_on`` of a sweep.

    Parameters
    ----------
    g_rram : (R, C) RRAM conductances, siemens.
    assignment : (K, C) bool, the TGs that may be switched on.
    inputs : (S, R) wordline voltages, volt.
    wires, r_off, access : the circuit (``r_off`` in ohm, ``inf`` allowed; ``access``
        linear or ``None``).
    """

    def __init__(self, g_rram, assignment, inputs, *, wires: Wires, r_off: float, access):
        if isinstance(access, NMOSLevel1):
            raise ParameterError("SwitchingSystem needs a linear crossbar (access transistor linear or none)")
        A = np.asarray(assignment, bool)
        K, C = A.shape
        self.assignment = A
        self.r_off = float(r_off)
        # all-off base; the TG model only decides r_off (r_on is never used here)
        tg0 = TransmissionGate(r_on=min(1.0, self.r_off / 2), r_off=self.r_off)
        net = _build(g_rram, np.zeros_like(A), wires, tg0, access)
        self.netlist = net
        sys0 = _ReducedLaplacian(net)
        v = np.atleast_2d(np.asarray(inputs, float))
        S = v.shape[0]
        names = list(net.vsources.names)
        vdc = np.array([net.vsources.dc], float).repeat(S, axis=0)
        for i, name in enumerate(net.layout.inputs):
            vdc[:, names.index(name)] = v[:, i]
        vd = vdc  # every source drives its n+ node against ground
        rhs = -(sys0.Gfd @ vd.T)
        v0 = sys0.solve(np.asarray(rhs))  # (nf, S)
        pos = sys0.pos
        nf = sys0.free.size
        # the switchable TGs
        self.pair_k, self.pair_j = np.nonzero(A)
        m = self.pair_k.size
        a_idx = np.array([pos[net.node_index(f"col{j}")] for j in self.pair_j], np.int64)
        if wires.r_summing > 0:
            c_idx = np.array([pos[net.node_index(f"sl{k}_{j}")] for k, j in zip(self.pair_k, self.pair_j)], np.int64)
        else:
            c_idx = np.full(m, -1, np.int64)
        if np.any(a_idx < 0):
            raise ParameterError("a column bottom is a driven node; the fast path cannot switch its TG")
        self.direct = c_idx < 0  # the tap is the output node itself
        # read-outs: h_k (current into out_k from free nodes), then v at each column bottom
        out_nodes = np.array([net.node_index(f"out{k}") for k in range(K)])
        Lrows = sys0.L[out_nodes].tocsr()
        H = -Lrows[:, sys0.free].toarray().T  # (nf, K)
        self._i0_driven = np.asarray(-(Lrows[:, sys0.driven] @ vd.T))  # (K, S), currents from driven nodes
        # W = A0^-1 F in blocks: keep only F^T W and H^T W
        FtW = np.empty((m, m))
        HtW = np.empty((K, m))
        block = max(1, min(m, 4_000_000 // max(nf, 1)))
        for start in range(0, m, block):
            sl = slice(start, min(m, start + block))
            cols = np.arange(sl.stop - sl.start)
            Fb = np.zeros((nf, cols.size))
            Fb[a_idx[sl], cols] = 1.0
            has_c = c_idx[sl] >= 0
            Fb[c_idx[sl][has_c], cols[has_c]] = -1.0
            Wb = sys0.solve(Fb)
            FtW[:, sl] = Wb[a_idx] - np.where((c_idx >= 0)[:, None], Wb[np.maximum(c_idx, 0)], 0.0)
            HtW[:, sl] = H.T @ Wb
        self.FtW, self.HtW = FtW, HtW
        self.Ftv0 = v0[a_idx] - np.where((c_idx >= 0)[:, None], v0[np.maximum(c_idx, 0)], 0.0)  # (m, S)
        self.Htv0 = H.T @ v0  # (K, S)
        self.K, self.S = K, S

    def _dg(self, r_on: float) -> float:
        r_on = float(r_on)
        if not r_on > 0 or not r_on < self.r_off:
            raise ParameterError(f"r_on must be > 0 and < r_off = {self.r_off:g} ohm, got {r_on!r}")
        return 1.0 / r_on - (0.0 if math.isinf(self.r_off) else 1.0 / self.r_off)

    def outputs(self, r_on: float, pairs) -> np.ndarray:
        """Output currents of all K sets with TGs ``pairs`` (indices into the switchable list) on, ampere, ``(S, K)``."""
        P = np.asarray(pairs, np.int64)
        dg = self._dg(r_on)
        M = np.diag(np.full(P.size, 1.0 / dg)) + self.FtW[np.ix_(P, P)]
        y = np.linalg.solve(M, self.Ftv0[P])  # (|P|, S)
        I = self.Htv0 - self.HtW[:, P] @ y + self._i0_driven  # (K, S)
        # y is the current through each switched TG: dg * f^T v = dg * (F^T v0 - F^T W y) = y because
        # (diag(1/dg) + F^T W) y = F^T v0.  A TG straight onto the output node adds y itself (no
        # difference of nearly equal column voltages, which an ideal TG would make inaccurate).
        direct = self.direct[P]
        if direct.any():
            np.add.at(I, self.pair_k[P[direct]], y[direct])
        return I.T

    def single_column_sum(self, r_on: float) -> np.ndarray:
        """``sum_j`` over each set's columns of the output with only TG ``(k, j)`` on, ampere, ``(S, K)``."""
        dg = self._dg(r_on)
        diag = np.diag(self.FtW)
        y = self.Ftv0 / (1.0 / dg + diag)[:, None]  # (m, S): one rank-1 update per TG
        out = np.zeros((self.S, self.K))
        for p in range(self.pair_k.size):
            k = self.pair_k[p]
            I_k = self.Htv0[k] - self.HtW[k, p] * y[p] + self._i0_driven[k]
            if self.direct[p]:
                I_k = I_k + y[p]  # the TG current itself (see outputs)
            out[:, k] += I_k
        return out


def switched_outputs(g_rram, assignment, inputs, *, wires: Wires, r_off: float, r_on_values, access,
                     backend: str = "native", detail: bool = True, fast: bool | None = None) -> dict:
    """Output currents of one circuit for each ``r_on``: ``all``, and with ``detail`` ``alone`` and ``single_sum``.

    Parameters
    ----------
    r_on_values : sequence of float
        TG on-resistances, ohm.
    detail : bool
        Also compute ``alone`` (K extra switching patterns) and ``single_sum`` (one per
        switched-on column).
    fast : bool or None
        Use :class:`SwitchingSystem` (native backend, linear crossbar only); ``None``
        chooses it whenever it applies.

    Returns
    -------
    dict
        ``r_on -> {"all": (S, K), "alone": (S, K), "single_sum": (S, K)}``, ampere.
    """
    A = np.asarray(assignment, bool)
    K = A.shape[0]
    can_fast = backend == "native" and not isinstance(access, NMOSLevel1)
    if fast is None:
        fast = can_fast
    if fast and not can_fast:
        raise ParameterError("the fast path needs the native backend and a linear crossbar")
    out = {}
    if fast:
        sysw = SwitchingSystem(g_rram, A, inputs, wires=wires, r_off=r_off, access=access)
        every = np.arange(sysw.pair_k.size)
        for r_on in r_on_values:
            res = {"all": sysw.outputs(r_on, every)}
            if detail:
                alone = np.empty_like(res["all"])
                for k in range(K):
                    alone[:, k] = sysw.outputs(r_on, every[sysw.pair_k == k])[:, k]
                res["alone"] = alone
                res["single_sum"] = sysw.single_column_sum(r_on)
            out[float(r_on)] = res
        return out
    for r_on in r_on_values:
        tg = TransmissionGate(r_on=r_on, r_off=r_off)
        res = {"all": measure(g_rram, A, inputs, wires=wires, tg=tg, access=access, backend=backend)}
        if detail:
            S = res["all"].shape[0]
            alone = np.empty((S, K))
            single = np.zeros((S, K))
            for k in range(K):
                only = np.zeros_like(A)
                only[k] = A[k]
                alone[:, k] = measure(g_rram, only, inputs, wires=wires, tg=tg, access=access, backend=backend)[:, k]
                for j in np.flatnonzero(A[k]):
                    one = np.zeros_like(A)
                    one[k, j] = True
                    single[:, k] += measure(g_rram, one, inputs, wires=wires, tg=tg, access=access, backend=backend)[:, k]
            res["alone"], res["single_sum"] = alone, single
        out[float(r_on)] = res
    return out
