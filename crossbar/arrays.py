"""``crossbar.mvm`` (module ``crossbar.arrays``): one call from conductances and input voltages to column currents.

``mvm(G, v, wires=..., access=..., tg=None, sense="columns")``
    Column currents (A) of an R x C crossbar with wordline drivers at the left and
    every column ending in its own 0 V source (a TIA virtual ground), optionally
    through a transmission gate; dims ``sample``, ``column``.  Peers (CrossSim,
    MemTorch) take the same ``(G, v)`` arrays.
``mvm_netlist(G, wires=..., access=..., tg=None)``
    The same circuit as a :class:`netlists.Netlist` (for :func:`crossbar.solve`, ngspice,
    IR-drop maps); inputs ``vin{i}``, outputs ``vout{j}``.
``grid_voltages(ds, netlist)``
    Node voltages of a solved crossbar on the array grid: dims (``sample``,) ``line``
    (``wordline``, ``cell``, ``bitline``), ``row``, ``column``.

Linear cells (no access device or a :class:`devices.LinearAccessTransistor`) and a
linear TG take a fast path: the reduced nodal matrix is assembled straight from the
arrays (no netlist, no name tables), its CHOLMOD symbolic analysis is cached per
crossbar shape and wire pattern, and only the numeric factorization and the solves
run per call.  Nonlinear devices go through :func:`mvm_netlist` and the native
solver.  Both paths check their answer like :func:`crossbar.solve` does.

Circuit, all resistances per segment from :class:`devices.Wires`::

    vin_i -- in_i -Rw- wl_i_0 -Rw- wl_i_1 ... wl_i_{C-1}
                         |           |
                  1/G[i,j] (+ access r_on or NMOS; inner node c_i_j)
                         |           |
                       bl_i_0      bl_i_1        (bitlines run down, Rb per segment)
                         ... -Rb- col_j -[TG r_on]- out_j -- vout_j (0 V)

Without a TG the last bitline segment ends on ``out_j``; a zero wire merges the nodes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import scipy.sparse as sp
import xarray as xr

from crossbar.array_netlist import _conductances, _devices, grid_voltages, mvm_netlist  # noqa: F401 (re-exported)
from crossbar.native import accuracy
from crossbar.native.factor import HAVE_CHOLMOD, Factor
from crossbar.native.options import SolverOptions, blas_threads, options_or_default
from devices import _check
from devices.errors import ParameterError
from devices.transistors import LinearAccessTransistor, TransmissionGate
from devices.wires import Wires

__all__ = ["mvm", "mvm_netlist", "grid_voltages", "SENSES"]

SENSES = ("columns",)
"""Where currents are sensed: ``"columns"`` (each column into its own 0 V source)."""


# ------------------------------------------------------------------ validation
def _validate(G, v, wires, access, tg, sense):
    G = _conductances(G)
    R = G.shape[0]
    x = np.asarray(v)
    if x.ndim not in (1, 2) or x.shape[-1] != R:
        raise ParameterError(f"mvm.v must have shape ({R},) or (samples, {R}) for G of shape {G.shape}, got {x.shape}")
    x = _check.array("mvm", "v", x, unit="V", lo=_check.VOLTAGE[0], hi=_check.VOLTAGE[1]).reshape(-1, R)
    if x.shape[0] == 0:
        raise ParameterError("mvm.v has no samples")
    _check.choice("mvm", "sense", sense, SENSES)
    return G, x, _devices(wires, access, tg)


# ------------------------------------------------------------------ the fast path
class _Structure:
    """Node numbering, edges and the cached symbolic factorization of one crossbar
    shape and wire pattern (values enter per call)."""

    def __init__(self, R, C, has_wl, has_bl, has_tg):
        count = [1]

        def block(k):
            idx = np.arange(count[0], count[0] + k)
            count[0] += k
            return idx

        n_in, n_out = block(R), block(C)
        n_col = block(C) if has_tg else n_out
        n_wl = block(R * C).reshape(R, C) if has_wl else np.repeat(n_in[:, None], C, axis=1)
        n_bl = block(R * C).reshape(R, C) if has_bl else np.repeat(n_col[None, :], R, axis=0)
        self.n, self.R, self.C = count[0], R, C
        a, b, kinds = [], [], []  # kind 0 wordline, 1 bitline, 2 cell, 3 TG
        if has_wl:
            a.append(np.concatenate([n_in[:, None], n_wl[:, :-1]], axis=1).ravel())
            b.append(n_wl.ravel())
            kinds.append(np.zeros(R * C, np.int8))
        if has_bl:
            a.append(n_bl.ravel())
            b.append(np.concatenate([n_bl[1:], n_col[None, :]], axis=0).ravel())
            kinds.append(np.ones(R * C, np.int8))
        a.append(n_wl.ravel())
        b.append(n_bl.ravel())
        kinds.append(np.full(R * C, 2, np.int8))
        if has_tg:
            a.append(n_col)
            b.append(n_out)
            kinds.append(np.full(C, 3, np.int8))
        self.a, self.b, self.kind = np.concatenate(a), np.concatenate(b), np.concatenate(kinds)
        driven = np.zeros(self.n, bool)
        driven[0] = True
        driven[n_in] = True
        driven[n_out] = True
        self.free = np.flatnonzero(~driven)
        self.pos = np.full(self.n, -1, np.int64)
        self.pos[self.free] = np.arange(self.free.size)
        self.dpos = np.full(self.n, -1, np.int64)  # column of each driven node in (inputs, outputs)
        self.dpos[n_in] = np.arange(R)
        self.dpos[n_out] = R + np.arange(C)
        self.n_out = n_out
        pa, pb = self.pos[self.a], self.pos[self.b]
        both = (pa >= 0) & (pb >= 0)
        # free-free block: 4 contributions per edge between free nodes, 1 per edge with one free end
        self.ff_rows = np.concatenate([pa[both], pb[both], pa[both], pb[both], pa[(pa >= 0) & ~both], pb[(pb >= 0) & ~both]])
        self.ff_cols = np.concatenate([pa[both], pb[both], pb[both], pa[both], pa[(pa >= 0) & ~both], pb[(pb >= 0) & ~both]])
        self.ff_edges = np.concatenate([np.flatnonzero(both)] * 4 + [np.flatnonzero((pa >= 0) & ~both),
                                                                     np.flatnonzero((pb >= 0) & ~both)])
        self.ff_sign = np.concatenate([np.ones(2 * both.sum()), -np.ones(2 * both.sum()), np.ones(((pa >= 0) & ~both).sum()),
                                       np.ones(((pb >= 0) & ~both).sum())])
        # free-driven coupling: edges with one free and one driven end (off-diagonal -g)
        fa = (pa >= 0) & (pb < 0)
        fb = (pb >= 0) & (pa < 0)
        self.fd_edges = np.concatenate([np.flatnonzero(fa), np.flatnonzero(fb)])
        self.fd_rows = np.concatenate([pa[fa], pb[fb]])
        self.fd_cols = np.concatenate([self.dpos[self.b[fa]], self.dpos[self.a[fb]]])
        # edges touching an output node: (edge, output column, other end)
        out_pos = np.full(self.n, -1, np.int64)
        out_pos[n_out] = np.arange(C)
        ta, tb = out_pos[self.a] >= 0, out_pos[self.b] >= 0
        self.o_edges = np.concatenate([np.flatnonzero(ta), np.flatnonzero(tb)])
        self.o_cols = np.concatenate([out_pos[self.a[ta]], out_pos[self.b[tb]]])
        self.o_other = np.concatenate([self.b[ta], self.a[tb]])
        self.symbolic = None
        nf = self.free.size
        # CSC pattern of G_ff and CSR pattern of G_fd, with the slot of every contribution
        self.ff = _pattern(self.ff_rows, self.ff_cols, (nf, nf), csc=True)
        self.fd = _pattern(self.fd_rows, self.fd_cols, (nf, R + C), csc=False)

    def matrices(self, g):
        """``G_ff`` (CSC) and ``G_fd`` (CSR) for edge conductances ``g`` (S), and their absolute values."""
        ff_data = np.bincount(self.ff[0], weights=g[self.ff_edges] * self.ff_sign, minlength=self.ff[1].size)
        fd_data = np.bincount(self.fd[0], weights=-g[self.fd_edges], minlength=self.fd[1].size)
        shape_ff, shape_fd = (self.free.size,) * 2, (self.free.size, self.R + self.C)
        Gff = sp.csc_matrix((ff_data, self.ff[1], self.ff[2]), shape=shape_ff)
        Gfd = sp.csr_matrix((fd_data, self.fd[1], self.fd[2]), shape=shape_fd)
        aGff = sp.csc_matrix((np.abs(ff_data), self.ff[1], self.ff[2]), shape=shape_ff)
        aGfd = sp.csr_matrix((np.abs(fd_data), self.fd[1], self.fd[2]), shape=shape_fd)
        return Gff, Gfd, aGff, aGfd


def _pattern(rows, cols, shape, csc):
    """(slot of each entry, indices, indptr) of the compressed matrix with entries at (rows, cols)."""
    major, minor = (cols, rows) if csc else (rows, cols)
    key = major.astype(np.int64) * shape[0 if csc else 1] + minor
    uniq, slot = np.unique(key, return_inverse=True)
    n_major = shape[1] if csc else shape[0]
    m = uniq // shape[0 if csc else 1]
    indices = (uniq % shape[0 if csc else 1]).astype(np.int32)
    indptr = np.zeros(n_major + 1, np.int32)
    np.add.at(indptr, m + 1, 1)
    return slot.reshape(-1), indices, np.cumsum(indptr).astype(np.int32)


_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 8


_coords_cache: OrderedDict = OrderedDict()


def _coords(S, C):
    """The (sample, column) coordinates, made once per shape (building pandas indexes
    costs ~0.5 ms per call)."""
    key = (S, C)
    with _cache_lock:
        c = _coords_cache.get(key)
        if c is None:
            c = _coords_cache[key] = xr.Coordinates({"sample": np.arange(S), "column": np.arange(C)})
            while len(_coords_cache) > _CACHE_SIZE:
                _coords_cache.popitem(last=False)
        return c


def _structure(key) -> _Structure:
    with _cache_lock:
        s = _cache.get(key)
        if s is not None:
            _cache.move_to_end(key)
            return s
    s = _Structure(*key)
    with _cache_lock:
        _cache[key] = s
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return s


def _factor(st: _Structure, Gff, options):
    """Numeric factorization on the cached symbolic analysis (CHOLMOD), else SuperLU."""
    if HAVE_CHOLMOD and options.factorization in ("auto", "cholmod"):
        if st.symbolic is None:
            from sksparse.cholmod import analyze

            st.symbolic = analyze(Gff, mode="simplicial" if Gff.shape[0] < 200_000 else "supernodal",
                                  ordering_method="amd")
        f = st.symbolic.cholesky(Gff)
        return f
    return Factor(Gff, options.factorization).solve


def _scatter(rows, values, n):
    """``out[rows[k]] += values[k]`` for (k, S) values into (n, S)."""
    out = np.zeros((n, values.shape[1]))
    np.add.at(out, rows, values)
    return out


def _fast(G, X, wires, access, tg, options):
    R, C = G.shape
    st = _structure((R, C, wires.r_wordline > 0, wires.r_bitline > 0, tg is not None))
    r_cell = 1.0 / G.ravel() + (access.r_on if access is not None else 0.0)
    per_kind = np.array([1.0 / wires.r_wordline if wires.r_wordline > 0 else 0.0,
                         1.0 / wires.r_bitline if wires.r_bitline > 0 else 0.0, 0.0,
                         1.0 / tg.r_on if tg is not None else 0.0])
    g = per_kind[st.kind]
    g[st.kind == 2] = 1.0 / r_cell
    S = X.shape[0]
    vd = np.zeros((R + C, S))
    vd[:R] = X.T
    Gff, Gfd, aGff, aGfd = st.matrices(g)
    rhs = -(Gfd @ vd)
    solve = _factor(st, Gff, options)
    vf = solve(rhs) if st.free.size else np.zeros((0, S))
    v = np.zeros((st.n, S))
    v[st.free] = vf
    v[np.flatnonzero(st.dpos >= 0)] = vd[st.dpos[st.dpos >= 0]]
    # current into each output node through the edges that touch it (SPICE: into vout's +)
    ge = g[st.o_edges][:, None]
    contrib = ge * v[st.o_other]  # v(out) = 0
    i = np.stack([np.bincount(st.o_cols, weights=contrib[:, s], minlength=C) for s in range(S)], axis=1) \
        if S <= 8 else _scatter(st.o_cols, contrib, C)
    # accuracy: KCL residual of the free nodes and the rounding floor (crossbar.native.accuracy)
    if st.free.size:
        r = (Gff @ vf - rhs).T
        noise_f = (aGff @ np.abs(vf) + aGfd @ np.abs(vd)).sum(axis=0)
    else:
        r, noise_f = np.zeros((S, 0)), np.zeros(S)
    noise_d = _scatter(st.o_cols, np.abs(contrib), C)
    err = accuracy.branch_error(r, noise_f, noise_d.T)
    accuracy.check_finite(None, i)
    accuracy.check(err, i.T, options, 0)
    return i.T, float(np.max(err, initial=0.0)), "fast"


def _via_netlist(G, X, wires, access, tg, options, backend):
    from crossbar.native.system import prepare

    net = mvm_netlist(G, wires=wires, access=access, tg=tg)
    lay = net.layout
    if backend == "ngspice":
        from crossbar.ngspice import solve_ngspice

        ds = solve_ngspice(net, {name: X[:, k] for k, name in enumerate(lay.inputs)}, keep_voltages=False)
        return ds.i.sel(branch=list(lay.outputs)).values.reshape(X.shape[0], -1), float("nan"), "netlist-ngspice"
    system = prepare(net, options)
    vdc = np.repeat(np.asarray(net.vsources.dc, float)[None, :], X.shape[0], axis=0)
    vdc[:, [net.source_index(name) for name in lay.inputs]] = X
    rows = [net.source_index(name) for name in lay.outputs]
    _, i, _, _, err = system.solve_arrays(vdc, keep_voltages=False)
    return i[:, rows], err, "netlist-native"


def mvm(G, v, *, wires: Wires | None = None, access=None, tg=None, sense: str = "columns",
        options: SolverOptions | None = None, backend: str = "native") -> xr.DataArray:
    """Column currents of a crossbar with conductances ``G`` driven by row voltages ``v``.

    Parameters
    ----------
    G : array_like (R, C)
        Cell (RRAM) conductances, siemens, in [1e-18, 1e12].
    v : array_like (R,) or (S, R)
        Wordline driver voltages, volt; a 2-D array is S input vectors.
    wires : devices.Wires, optional
        Wordline and bitline segment resistances, ohm (default ``Wires()``: 2.5 ohm).
    access : None, devices.LinearAccessTransistor or devices.NMOSLevel1
        Access device in series with every cell (None: the RRAM alone).
    tg : None, devices.TransmissionGate or devices.CMOSTransmissionGate
        A closed gate between each column and its sense node (None: no gate).
    sense : {"columns"}
        Every column ends in its own 0 V source (a TIA virtual ground).
    options : crossbar.SolverOptions, optional
    backend : {"native", "ngspice"}

    Returns
    -------
    xarray.DataArray
        Dims ``sample`` (length 1 for a 1-D ``v``), ``column``; units A; the current
        flowing out of each column into its sense node.  Attrs: ``method`` ("fast" or
        the netlist path), ``branch_current_error`` (A, estimate).

    Raises
    ------
    ParameterError
        Bad ``G``, ``v`` (shape, non-finite, out of range) or device arguments.
    IllConditionedError, ConvergenceError
        As :func:`crossbar.solve`.

    Examples
    --------
    >>> import numpy as np, crossbar
    >>> from devices import Wires
    >>> G = np.full((2, 3), 10e-6)                      # 10 uS cells
    >>> i = crossbar.mvm(G, [0.1, 0.2], wires=Wires(0, 0, 0))
    >>> i.dims, i.attrs["units"]
    (('sample', 'column'), 'A')
    >>> np.allclose(i.values, 10e-6 * 0.3)               # ideal wires: I = G^T v
    True
    >>> i = crossbar.mvm(G, [[0.1, 0.2]] * 4)            # 4 samples, 2.5 ohm wires
    >>> i.shape, bool(np.all(i < 3e-6))                  # IR drop lowers every current
    ((4, 3), True)
    """
    G, X, wires = _validate(G, v, wires, access, tg, sense)
    options = options_or_default(options)
    _check.choice("mvm", "backend", backend, ("native", "ngspice"))
    linear = isinstance(access, (type(None), LinearAccessTransistor)) and isinstance(tg, (type(None), TransmissionGate))
    with blas_threads(options.blas_threads):
        if backend == "native" and linear:
            i, err, method = _fast(G, X, wires, access, tg, options)
        else:
            i, err, method = _via_netlist(G, X, wires, access, tg, options, backend)
    return xr.DataArray(i, dims=("sample", "column"), coords=_coords(X.shape[0], G.shape[1]), name="i_column", attrs={"units": "A", "long_name": "column current into its 0 V sense node",
                                                "method": method, "branch_current_error": err,
                                                "branch_current_error_units": "A"})
