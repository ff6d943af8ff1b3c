"""Exact port model of a programmed crossbar: one factorization per chip, small dense steps.

The crossbar of :func:`netlists.build_crossbar` splits into the *array* (wordlines,
bitlines, 1T1R cells) and the *periphery* (TGs and summing lines). They meet only at the
column bottoms ``col{j}``, and the array is driven only at the wordline drivers
``in{i}``. Eliminating every inner array node leaves the array's exact admittance at
these ports, the Schur complement::

              [ S_CC  S_CD ]   C: n_cols column bottoms
    S  =      [ S_DC  S_DD ]   D: R wordline drivers

    i_C = S_CC v_C + S_CD v_in     (current into the array at the column bottoms, ampere)

:class:`ArrayPorts` computes ``S`` with one sparse Cholesky factorization (CHOLMOD,
scikit-sparse) of the array's nodal matrix ordered so that the ports come last: the
trailing block of the factor ``L_PP`` gives ``S = L_PP L_PP^T`` (a diagonal shift keeps
the matrix positive definite and is subtracted again). The fill-reducing ordering and
the symbolic analysis depend only on the array's shape and wires, so they are cached
and every further chip of that shape costs one numeric factorization. Without CHOLMOD,
SuperLU solves for the port columns (same result, slower).

A step closes some TGs. :class:`PeripheryModel` (what :class:`~basisn.circuit.measure.ChipSystem`
uses) factorizes the all-open periphery once per chip and solves a step's closed TGs by a
Woodbury update (``m x m``, ``m`` closed TGs). Partial activation: :meth:`ArrayPorts.driven`
eliminates floating wordline drivers from ``S`` (:class:`DrivenPorts`), and
:class:`BlockPorts` is the port model of one row block with the other rows' cells
switched off; both feed :class:`PeripheryModel` like ``ArrayPorts``. :func:`periphery_transfer` is the
independent per-step reference (a test checks the two agree): it solves the periphery on
top of ``S`` directly: every summing line ``l`` is a chain (tridiagonal ``T_l``, segment
``r_summing``, its last tap tied to the virtual-ground output) loaded by its TGs (``g_l``:
``1/r_on`` closed, ``1/r_off`` open). Eliminating the taps gives the column-bottom
system ``Z = S_CC + diag(sum_l g_l) - sum_l diag(g_l) T_l^-1 diag(g_l)`` (n_cols x n_cols,
dense, Cholesky), and the line currents per driver volt are
``-(Z^-1 H)^T S_CD`` with ``H[:, l] = g_l * T_l^-1 e_last / r_summing`` (``H = g_l`` for
ideal summing lines). Nothing is approximated: the result equals a fresh factorization of
the step's netlist up to rounding (tested against :func:`crossbar.transfer_matrix`).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from crossbar.native.factor import HAVE_CHOLMOD, laplacian
from devices import TransmissionGate, Wires
from devices.errors import ParameterError
from netlists import build_crossbar

__all__ = ["ArrayPorts", "BlockPorts", "DrivenPorts", "PeripheryModel", "periphery_transfer", "tg_conductances", "line_cache"]

log = logging.getLogger(__name__)

_TEMPLATES: OrderedDict = OrderedDict()
_TEMPLATE_LOCK = threading.Lock()
_MAX_TEMPLATES = 4


class _Template:
    """Topology of an ``R x C`` array with given wires: edges, ports, ordering, symbolic factor."""

    def __init__(self, R: int, C: int, wires: Wires):
        array_wires = Wires(wires.r_wordline, wires.r_bitline, 0.0)  # summing lines belong to the periphery
        net = build_crossbar(np.full((R, C), 1e-5), np.zeros((1, C), bool), wires=array_wires,
                             tg=TransmissionGate(r_on=1.0, r_off=math.inf), access=None, fold_cells=True)
        res = net.resistors
        names = np.asarray(res.names)
        cells = np.flatnonzero(np.char.startswith(names.astype(str), "rc"))
        if cells.size != R * C or names[cells[0]] != "rc0_0" or names[cells[-1]] != f"rc{R - 1}_{C - 1}":
            raise ParameterError("crossbar template: cell resistors not in row-major order")  # pragma: no cover
        self.cells = cells
        self.n1 = np.asarray(res.n1, np.int64)
        self.n2 = np.asarray(res.n2, np.int64)
        self.g_wires = 1.0 / np.asarray(res.value, float)
        cols = np.array([net.node_index(f"col{j}") for j in range(C)], np.int64)
        ins = np.array([net.node_index(f"in{i}") for i in range(R)], np.int64)
        n = len(net.nodes)
        excluded = np.zeros(n, bool)
        excluded[0] = True
        excluded[net.node_index("out0")] = True
        port = np.zeros(n, bool)
        port[cols] = True
        port[ins] = True
        inner = np.flatnonzero(~port & ~excluded)
        if np.any(excluded[self.n1] | excluded[self.n2]):
            raise ParameterError("crossbar template: an array resistor touches ground")  # pragma: no cover
        self.R, self.C, self.n_inner = R, C, inner.size
        self.n_ports = C + R
        # inner nodes in a fill-reducing order, then the ports (columns, then drivers)
        pos = np.full(n, -1, np.int64)
        if inner.size:
            L0 = laplacian(n, self.n1, self.n2, self.g_wires)
            Laa = L0[inner][:, inner].tocsc()
            perm = self._ordering(Laa)
            pos[inner[perm]] = np.arange(inner.size)
        pos[cols] = inner.size + np.arange(C)
        pos[ins] = inner.size + C + np.arange(R)
        self.a, self.b = pos[self.n1], pos[self.n2]
        self.n_total = inner.size + self.n_ports
        self._symbolic = None

    @staticmethod
    def _ordering(Laa) -> np.ndarray:
        if HAVE_CHOLMOD:
            from sksparse.cholmod import analyze

            return np.asarray(analyze(Laa, mode="supernodal", ordering_method="amd").P(), np.int64)
        from scipy.sparse.csgraph import reverse_cuthill_mckee

        return np.asarray(reverse_cuthill_mckee(Laa.tocsr(), symmetric_mode=True), np.int64)

    def matrix(self, g_edges: np.ndarray, shift: float) -> sp.csc_matrix:
        """Permuted nodal matrix (inner first, ports last) plus ``shift`` on the port diagonal."""
        M = laplacian(self.n_total, self.a, self.b, g_edges).tocsc()
        d = np.zeros(self.n_total)
        d[self.n_inner:] = shift
        return (M + sp.diags(d)).tocsc()

    def symbolic(self, M):
        from sksparse.cholmod import analyze

        if self._symbolic is None:
            self._symbolic = analyze(M, mode="supernodal", ordering_method="natural")
        return self._symbolic


def _template(R: int, C: int, wires: Wires) -> _Template:
    key = (R, C, float(wires.r_wordline), float(wires.r_bitline))
    with _TEMPLATE_LOCK:
        t = _TEMPLATES.get(key)
        if t is not None:
            _TEMPLATES.move_to_end(key)
            return t
    t = _Template(R, C, wires)
    with _TEMPLATE_LOCK:
        _TEMPLATES[key] = t
        while len(_TEMPLATES) > _MAX_TEMPLATES:
            _TEMPLATES.popitem(last=False)
    return t


class ArrayPorts:
    """The array's exact admittance at its column bottoms and drivers (see the module docstring).

    Parameters
    ----------
    g_rram : ndarray (R, C)
        RRAM conductances, siemens, > 0.
    wires : devices.Wires
        Segment resistances, ohm (``r_summing`` belongs to the periphery).
    r_access : float
        Series resistance of a linear access transistor, ohm (0: none).

    Attributes
    ----------
    S_CC : ndarray (C, C)
        Admittance among the column bottoms with the drivers at 0 V, siemens.
    S_CD : ndarray (C, R)
        Current into the array at each column bottom per driver volt (columns at 0 V), siemens.
    """

    def __init__(self, g_rram, wires: Wires, r_access: float = 0.0):
        g = np.asarray(g_rram, float)
        if g.ndim != 2 or not np.all(np.isfinite(g)) or np.any(g <= 0):
            raise ParameterError("g_rram must be a finite (R, C) array of conductances > 0 S")
        R, C = g.shape
        tpl = _template(R, C, wires)
        ge = tpl.g_wires.copy()
        ge[tpl.cells] = 1.0 / (1.0 / g.ravel() + float(r_access))
        if tpl.n_inner == 0:
            S = laplacian(tpl.n_total, tpl.a, tpl.b, ge).toarray()
            self.method = "direct"
        else:
            deg = np.bincount(np.concatenate([tpl.a, tpl.b]), weights=np.concatenate([ge, ge]), minlength=tpl.n_total)
            shift = float(deg[tpl.n_inner:].max())
            if HAVE_CHOLMOD:
                M = tpl.matrix(ge, shift)
                F = tpl.symbolic(M).cholesky(M)
                Lpp = F.L()[tpl.n_inner:, tpl.n_inner:].toarray()
                S = Lpp @ Lpp.T
                S[np.diag_indices_from(S)] -= shift
                self.method = "cholmod"
            else:
                S = self._superlu(tpl, ge)
                self.method = "superlu"
        S = 0.5 * (S + S.T)
        if not np.all(np.isfinite(S)):
            raise ParameterError("array port admittance is not finite (ill-conditioned crossbar)")  # pragma: no cover
        self.S_CC = np.ascontiguousarray(S[:C, :C])
        self.S_CD = np.ascontiguousarray(S[:C, C:])
        self.S_DD = np.ascontiguousarray(S[C:, C:])
        self.R, self.C = R, C

    def driven(self, rows) -> "DrivenPorts":
        """The port model with only the drivers ``rows`` driven and every other driver floating.

        A floating driver node keeps its wordline (and through it its cells) but no
        source: it is eliminated from ``S`` like an inner node (dense Schur complement
        on the driver block)::

            S' = S_KK - S_KF S_FF^-1 S_FK      K: columns and driven rows, F: floating rows

        ``S_FF`` is positive definite (every floating wordline reaches the columns through
        its cells, conductance > 0). With every row driven the result is this model's
        ``S_CC``, ``S_CD`` unchanged (copies).

        Parameters
        ----------
        rows : sequence of int
            Driven wordlines (distinct, in ``[0, R)``).
        """
        return DrivenPorts(self, rows)

    @property
    def S_full(self) -> np.ndarray:
        """The full port admittance ``[[S_CC, S_CD], [S_DC, S_DD]]``, siemens."""
        return np.block([[self.S_CC, self.S_CD], [self.S_CD.T, self.S_DD]])

    @staticmethod
    def _superlu(tpl: _Template, ge) -> np.ndarray:
        from scipy.sparse.linalg import splu

        M = tpl.matrix(ge, 0.0)
        n = tpl.n_inner
        Maa, Map, Mpp = M[:n, :n].tocsc(), M[:n, n:].toarray(), M[n:, n:].toarray()
        lu = splu(Maa, permc_spec="NATURAL")
        return Mpp - Map.T @ lu.solve(Map)


class DrivenPorts:
    """Port model of an array with some wordline drivers floating (see :meth:`ArrayPorts.driven`).

    Attributes
    ----------
    rows : ndarray of int
        The driven wordlines, in the order of the columns of ``S_CD``.
    S_CC : ndarray (C, C)
        Admittance among the column bottoms, driven rows at 0 V, floating rows free, siemens.
    S_CD : ndarray (C, len(rows))
        Current into the array at each column bottom per driven-row volt (columns at 0 V), siemens.
    """

    def __init__(self, ports: ArrayPorts, rows):
        r = np.asarray(rows)
        if r.ndim != 1 or r.size < 1 or not np.issubdtype(r.dtype, np.integer) or r.min() < 0 or r.max() >= ports.R \
                or np.unique(r).size != r.size:
            raise ParameterError(f"driven rows must be distinct integers in [0, {ports.R}), got {rows!r}")
        self.rows = r.astype(np.int64)
        self.R, self.C = int(r.size), ports.C
        fl = np.setdiff1d(np.arange(ports.R), self.rows)
        self.floating = fl
        if fl.size == 0:
            self.S_CC, self.S_CD = ports.S_CC.copy(), ports.S_CD[:, self.rows].copy()
            return
        S_FF = ports.S_DD[np.ix_(fl, fl)]
        S_FK = np.concatenate([ports.S_CD[:, fl].T, ports.S_DD[np.ix_(fl, self.rows)]], axis=1)  # (f, C + R_b)
        cho = sla.cho_factor(S_FF, lower=False, check_finite=False)
        X = sla.cho_solve(cho, S_FK, check_finite=False)
        S_KK = np.block([[ports.S_CC, ports.S_CD[:, self.rows]],
                         [ports.S_CD[:, self.rows].T, ports.S_DD[np.ix_(self.rows, self.rows)]]])
        S = S_KK - S_FK.T @ X
        S = 0.5 * (S + S.T)
        C = self.C
        if not np.all(np.isfinite(S)):
            raise ParameterError("port admittance with floating drivers is not finite (ill-conditioned crossbar)")  # pragma: no cover
        self.S_CC = np.ascontiguousarray(S[:C, :C])
        self.S_CD = np.ascontiguousarray(S[:C, C:])


class BlockPorts:
    """Port model of one row block with the access transistors of every other row off.

    Partial activation with the unselected rows' 1T1R cells disconnected (their access
    transistors off): the array reduces to the block's rows ``[start, stop)``, whose
    bitlines still run down through the ``R - stop`` rows below to the column bottoms, an
    extra ``(R - stop) * r_bitline`` in series at every column bottom (the rows above
    carry no current). One factorization of the ``(stop - start) x C`` array
    (:class:`ArrayPorts`), then the series resistance ``r_x`` eliminated densely
    (``G_x = 1 / r_x``, ``A = S_CC + G_x I``)::

        S_CC' = G_x A^-1 S_CC        S_CD' = G_x A^-1 S_CD

    Parameters
    ----------
    g_rram : ndarray (R, C)
        RRAM conductances of the whole array, siemens.
    wires : devices.Wires
    r_access : float
        Linear access on-resistance of the selected rows, ohm.
    start, stop : int
        The block, ``0 <= start < stop <= R``.
    """

    def __init__(self, g_rram, wires: Wires, r_access: float, start: int, stop: int):
        g = np.asarray(g_rram, float)
        R = g.shape[0]
        if not (isinstance(start, (int, np.integer)) and isinstance(stop, (int, np.integer)) and 0 <= start < stop <= R):
            raise ParameterError(f"row block [{start!r}, {stop!r}) must satisfy 0 <= start < stop <= R = {R}")
        inner = ArrayPorts(g[start:stop], wires, r_access)
        self.rows = np.arange(start, stop)
        self.R, self.C = int(stop - start), inner.C
        self.method = inner.method
        r_x = (R - stop) * float(wires.r_bitline)
        if r_x == 0:
            self.S_CC, self.S_CD = inner.S_CC, inner.S_CD
            return
        g_x = 1.0 / r_x
        A = inner.S_CC.copy()
        A[np.diag_indices(self.C)] += g_x
        X = g_x * sla.cho_solve(sla.cho_factor(A, lower=False, check_finite=False),
                                np.concatenate([inner.S_CC, inner.S_CD], axis=1), check_finite=False)
        S_CC = X[:, :self.C]
        self.S_CC = np.ascontiguousarray(0.5 * (S_CC + S_CC.T))
        self.S_CD = np.ascontiguousarray(X[:, self.C:])
        if not (np.all(np.isfinite(self.S_CC)) and np.all(np.isfinite(self.S_CD))):
            raise ParameterError("row-block port admittance is not finite (ill-conditioned crossbar)")  # pragma: no cover


def tg_conductances(assignment, tg: TransmissionGate) -> np.ndarray:
    """TG conductances (n_lines, C), siemens: ``1/r_on`` where ``assignment`` closes, ``1/r_off`` elsewhere."""
    a = np.asarray(assignment, bool)
    g_off = 0.0 if tg.off_is_open else 1.0 / tg.r_off
    return np.where(a, 1.0 / tg.r_on, g_off)


class _LineCache:
    """``T_l^-1`` pieces of a summing line for a TG-conductance vector (few distinct vectors repeat)."""

    def __init__(self, C: int, r_summing: float, size: int = 8):
        self.C, self.r = C, float(r_summing)
        self._d = {}
        self._size = size
        base = np.full(C, 2.0 / self.r)
        base[0] = 1.0 / self.r
        self._base = base
        self._I = np.eye(C)

    def get(self, g: np.ndarray):
        key = g.tobytes()
        hit = self._d.get(key)
        if hit is not None:
            return hit
        ab = np.empty((2, self.C))
        ab[0, 0] = 0.0
        ab[0, 1:] = -1.0 / self.r
        ab[1] = self._base + g
        inv = sla.solveh_banded(ab, self._I, check_finite=False)
        contrib = g[:, None] * inv * g[None, :]
        h = g * inv[:, -1] / self.r
        out = (contrib, h)
        if not g.any() or np.count_nonzero(g != g[0]) == 0:  # keep only uniform (all-open) lines
            if len(self._d) >= self._size:
                self._d.pop(next(iter(self._d)))
            self._d[key] = out
        return out


def periphery_transfer(ports: ArrayPorts, g_tg: np.ndarray, r_summing: float, cache: _LineCache | None = None) -> np.ndarray:
    """Line currents per driver volt, siemens, ``(n_lines, R)``, for TG conductances ``g_tg`` (n_lines, C).

    Exact (see the module docstring); ``cache`` (from :func:`line_cache`) reuses the
    summing-line inverses of repeated (all-open) TG vectors.
    """
    g = np.asarray(g_tg, float)
    C = ports.C
    if g.ndim != 2 or g.shape[1] != C:
        raise ParameterError(f"TG conductances must have shape (n_lines, {C}), got {g.shape}")
    Z = ports.S_CC.copy()
    Z[np.diag_indices(C)] += g.sum(axis=0)
    if r_summing > 0:
        cache = cache or _LineCache(C, r_summing)
        H = np.empty((C, g.shape[0]))
        for l in range(g.shape[0]):
            contrib, h = cache.get(g[l])
            Z -= contrib
            H[:, l] = h
    else:
        H = g.T.copy()
    Y = sla.cho_solve(sla.cho_factor(Z, lower=False, check_finite=False), H, check_finite=False)
    T = -(Y.T @ ports.S_CD)
    if not np.all(np.isfinite(T)):
        raise ParameterError("step transfer is not finite (ill-conditioned periphery)")  # pragma: no cover
    return T


def line_cache(C: int, r_summing: float) -> _LineCache | None:
    """A summing-line cache for :func:`periphery_transfer` (None for ideal summing lines)."""
    return _LineCache(C, r_summing) if r_summing > 0 else None


class PeripheryModel:
    """The chip's periphery with every TG open, factorized once; a step's closed TGs by Woodbury.

    With every TG open (``g_off = 1/r_off``, 0 when ``r_off`` is infinite) the column-bottom
    system is ``Z0 = S_CC + n_lines g_off I - n_lines g_off**2 A0`` (``A0`` the inverse of an
    all-open summing line, the same for every line), factorized once. Closing TG
    ``a = (l, j)`` adds ``delta = 1/r_on - g_off`` on the edge ``col j - tap (l, j)``; with
    ``B = I - g_off A0`` and ``P = B Z0^-1 B`` the Woodbury capacitance matrix of the
    ``m`` closed TGs is ``diag(1/delta) + P[j_a, j_b] + [l_a = l_b] A0[j_a, j_b]`` and the
    line currents per driver volt follow from one ``m x m`` Cholesky solve (``m <= 2d``).
    Ideal summing lines (``r_summing = 0``): the taps are the virtual grounds, ``P = Z0^-1``
    and the TG currents come out of the solve directly. Exact up to rounding.

    Parameters
    ----------
    ports : ArrayPorts
    tg : devices.TransmissionGate
    r_summing : float
        Summing-line segment, ohm (0: ideal).
    n_lines : int
        Summing lines (every line has a TG under every column).
    """

    def __init__(self, ports: ArrayPorts, tg: TransmissionGate, r_summing: float, n_lines: int):
        C = ports.C
        self.C, self.n_lines, self.r_s = C, int(n_lines), float(r_summing)
        self.g_off = 0.0 if tg.off_is_open else 1.0 / tg.r_off
        self.delta = 1.0 / tg.r_on - self.g_off
        g_off, nl = self.g_off, self.n_lines
        Z0 = ports.S_CC.copy()
        Z0[np.diag_indices(C)] += nl * g_off
        if self.r_s > 0:
            ab = np.empty((2, C))
            ab[0, 0] = 0.0
            ab[0, 1:] = -1.0 / self.r_s
            ab[1] = 2.0 / self.r_s + g_off
            ab[1, 0] = 1.0 / self.r_s + g_off
            A0 = sla.solveh_banded(ab, np.eye(C), check_finite=False)
            A0 = 0.5 * (A0 + A0.T)
            Z0 -= nl * g_off ** 2 * A0
            Bm = np.eye(C) - g_off * A0
        else:
            A0 = None
            Bm = np.eye(C)
        cho = sla.cho_factor(Z0, lower=False, check_finite=False)
        xc0 = -sla.cho_solve(cho, ports.S_CD, check_finite=False)  # (C, R) column voltages per driver volt
        Q = sla.cho_solve(cho, Bm, check_finite=False)
        P = Bm @ Q
        self.P = 0.5 * (P + P.T)
        self.A0 = A0
        self.u0 = Bm @ xc0  # (C, R): voltage across each open TG per driver volt
        if self.r_s > 0:
            self.i0 = (g_off / self.r_s) * (A0[-1] @ xc0)  # (R,) base line current (equal on every line)
            self.hq = (g_off / self.r_s) * (A0[-1] @ Q)  # (C,)
            self.h_a0 = A0[-1] / self.r_s  # (C,)
        else:
            self.i0 = g_off * xc0.sum(axis=0)
            self.colsum = Q.sum(axis=0)  # 1^T Z0^-1
        if not (np.all(np.isfinite(self.P)) and np.all(np.isfinite(self.u0))):
            raise ParameterError("periphery base solve is not finite (ill-conditioned crossbar)")  # pragma: no cover

    def transfer(self, assignment) -> np.ndarray:
        """Line currents per driver volt, siemens, ``(n_lines, R)``, with the TGs ``assignment`` (n_lines, C) closed."""
        a = np.asarray(assignment, bool)
        if a.shape != (self.n_lines, self.C):
            raise ParameterError(f"assignment must have shape {(self.n_lines, self.C)}, got {a.shape}")
        la, ja = np.nonzero(a)
        R = self.u0.shape[1]
        T = np.repeat(self.i0[None, :], self.n_lines, axis=0)
        if la.size == 0:
            return T
        same = la[:, None] == la[None, :]
        M = self.P[np.ix_(ja, ja)]
        if self.r_s > 0:
            M = M + np.where(same, self.A0[np.ix_(ja, ja)], 0.0)
            Hw = self.hq[ja][None, :] - np.where(np.arange(self.n_lines)[:, None] == la[None, :], self.h_a0[ja][None, :], 0.0)
            sign = -1.0
        else:
            Hw = (np.arange(self.n_lines)[:, None] == la[None, :]).astype(float) - self.g_off * self.colsum[ja][None, :]
            sign = 1.0
        M[np.diag_indices(la.size)] += 1.0 / self.delta
        X = sla.cho_solve(sla.cho_factor(M, lower=False, check_finite=False), Hw.T, check_finite=False)  # (m, n_lines)
        T = T + sign * (X.T @ self.u0[ja])
        if not np.all(np.isfinite(T)) or T.shape != (self.n_lines, R):
            raise ParameterError("step transfer is not finite (ill-conditioned periphery)")  # pragma: no cover
        return T
