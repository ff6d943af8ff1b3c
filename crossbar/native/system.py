"""``NativeSystem``: a netlist checked, assembled and (when linear) factorized once.

``prepare(netlist, options)`` returns it; ``solve(sources)`` gives operating points as
the Dataset of :func:`crossbar.native.dataset.to_dataset`, ``solve_arrays`` the bare
arrays (no Dataset, for the fast paths), ``transfer_matrix(inputs, outputs)`` the
linear map from source voltages to source currents.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from crossbar.native import accuracy
from crossbar.native.assembly import Assembly
from crossbar.native.dataset import to_dataset
from crossbar.native.factor import resolve
from crossbar.native.mna import MNASystem
from crossbar.native.options import SolverOptions, blas_threads, options_or_default
from crossbar.native.reduced import ReducedSystem
from crossbar.native.shorts import merge_shorts
from crossbar.native.sources import source_values
from crossbar.topology import check_netlist, check_topology
from devices.errors import NetlistError
from netlists.netlist import Netlist

__all__ = ["NativeSystem", "prepare"]


def prepare(netlist: Netlist, options: SolverOptions | None = None) -> "NativeSystem":
    """Check, assemble and (for a linear netlist) factorize ``netlist`` once.

    The returned :class:`NativeSystem` solves the netlist for any source values
    (``system.solve(sources)``) and gives transfer matrices, reusing the factorization.
    """
    return NativeSystem(netlist, options)


class NativeSystem:
    """A netlist prepared for repeated native solves (see :func:`prepare`).

    Attributes
    ----------
    netlist : netlists.Netlist
    options : SolverOptions
    reduced : bool
        The reduced (SPD) formulation is used (every voltage source grounded).
    system : ReducedSystem or MNASystem
    """

    def __init__(self, netlist: Netlist, options: SolverOptions | None = None):
        check_netlist(netlist, "prepare()")
        self.netlist = netlist
        self.options = options = options_or_default(options)
        check_topology(netlist)
        with blas_threads(options.blas_threads):
            self.shorts = merge_shorts(netlist)  # inductors merged, capacitors left out (DC)
            self.asm = Assembly(self.shorts.netlist)
            self.reduced = self.asm.reduced
            self.system = ReducedSystem(self.asm, options) if self.reduced else MNASystem(self.asm, options)

    def __repr__(self) -> str:
        kind = "reduced" if self.reduced else "MNA"
        state = "linear, factorized" if self.netlist.is_linear else "nonlinear (Newton)"
        return (f"<NativeSystem {self.netlist.title!r}: {kind}, {self.netlist.n_nodes} nodes, "
                f"{self.n_unknowns} unknowns, {state}>")

    # attributes of the formulation, kept on the system object for callers and tests
    n = property(lambda self: self.asm.n)
    elim = property(lambda self: self.asm.elim)
    cells = property(lambda self: self.asm.cells)
    L = property(lambda self: self.asm.L)
    factor = property(lambda self: self.system.factor)
    perm = property(lambda self: self.system.perm)
    free = property(lambda self: self.system.free if self.reduced else np.arange(1, self.asm.n))
    Gff = property(lambda self: self.system.Gff)

    @property
    def n_unknowns(self) -> int:
        """Size of the linear system solved (free nodes, or MNA unknowns)."""
        return int(self.system.free.size if self.reduced else self.system.A.shape[0])

    @property
    def method(self) -> str:
        return resolve(self.options.factorization) if self.reduced else "mna-superlu"

    # ------------------------------------------------------------------ solve
    def solve(self, sources=None, *, keep_voltages: bool = True, chunk: int = 256) -> xr.Dataset:
        """Operating point(s) for the given source values.

        Parameters
        ----------
        sources : dict, optional
            Source name -> value (V for voltage, A for current sources) or 1-D array of
            sample values (all arrays the same length S); arrays add a ``sample`` dim.
        keep_voltages : bool
            Return node voltages (``v``); ``False`` keeps only branch currents.
        chunk : int
            Most samples per block of right-hand sides; blocks are also kept to about
            64 MiB per dense (samples x nodes) array, so large crossbars stay in memory.

        Returns
        -------
        xarray.Dataset
            ``v`` (``node``; volt), ``i`` (``branch``; ampere, SPICE sign), with a
            leading ``sample`` dim for batched sources; attrs include
            ``branch_current_error`` (A), the largest estimated error of a branch current.

        Raises
        ------
        NetlistError
            Bad ``sources`` (see :func:`crossbar.native.sources.source_values`).
        ConvergenceError
            Newton-Raphson did not converge (nonlinear netlists).
        IllConditionedError
            The branch currents' estimated error exceeds ``options.check_rtol`` of the
            largest one after iterative refinement, or a result is not finite.
        """
        vdc, idc, batched = source_values(self.netlist, sources)
        v, i, iters, resid, err = self.solve_arrays(vdc, idc, keep_voltages=keep_voltages, chunk=chunk)
        return to_dataset(self.netlist, None if v is None else v[:, 1:], i, batched, {
            "backend": "native", "method": self.method, "newton_iterations": iters,
            "ordering": "nested-dissection" if self.perm is not None else "amd",
            "eliminated_series_nodes": int(self.asm.elim.size), "residual": resid,
            "branch_current_error": err, "branch_current_error_units": "A"})

    def solve_arrays(self, vdc: np.ndarray, idc: np.ndarray | None = None, *, keep_voltages: bool = True,
                     chunk: int = 256):
        """The solve on arrays, without building a Dataset.

        Parameters
        ----------
        vdc : numpy.ndarray (S, n_vsources)
            Every voltage source's value per sample, volt (validated by the caller,
            e.g. with :func:`crossbar.native.sources.source_values`).
        idc : numpy.ndarray (S, n_isources) or None
            Current sources, ampere (None: the netlist's values).

        Returns
        -------
        v : numpy.ndarray (S, n) or None
            Node voltages, ground (index 0) included, volt.
        i : numpy.ndarray (S, n_vsources + n_inductors)
            Branch currents, ampere, SPICE's sign: voltage sources, then inductors.
        iterations : int
        residual : float
            Largest KCL residual, ampere.
        error : float
            Largest estimated branch-current error, ampere.
        """
        S = vdc.shape[0]
        if idc is None:
            idc = np.repeat(np.asarray(self.netlist.isources.dc, float)[None, :], S, axis=0)
        with blas_threads(self.options.blas_threads):
            # keep each block's dense (samples x nodes) arrays near 64 MiB (5 of them are alive)
            chunk = max(1, min(chunk, (1 << 23) // max(self.asm.n, 1)))
            inj = self.asm.injection(idc)
            v_all, i_all, iters, resid, err = [], [], 0, 0.0, 0.0
            x0 = None
            for start in range(0, S, chunk):
                sl = slice(start, min(S, start + chunk))
                v, i, it, res, e, x0 = self.system.solve(vdc[sl], inj[sl], x0)
                v = self.shorts.expand(v)
                if len(self.netlist.inductors):
                    i = np.concatenate([i, self.shorts.inductor_currents(v, i)], axis=1)
                accuracy.check_finite(v, i)
                if keep_voltages:
                    v_all.append(v)
                i_all.append(i)
                e_max = float(np.max(e, initial=0.0))  # NaN (overflow in the estimate): reported as inf
                iters, resid, err = max(iters, it), max(resid, res), max(err, math.inf if math.isnan(e_max) else e_max)
        v = (v_all[0] if len(v_all) == 1 else np.concatenate(v_all)) if keep_voltages else None
        i = i_all[0] if len(i_all) == 1 else np.concatenate(i_all)
        return v, i, int(iters), float(resid), float(err)

    # ------------------------------------------------------------------ transfer
    def transfer_matrix(self, inputs, outputs) -> xr.DataArray:
        """d(output source current) / d(input source voltage), siemens.

        For the reduced formulation this takes one adjoint solve per output (the
        Laplacian is symmetric); otherwise one forward solve per input.
        """
        net = self.netlist
        if not net.is_linear:
            raise NetlistError(f"transfer_matrix needs a linear netlist; this one has {len(net.mosfets)} MOSFET(s) and "
                               f"{len(net.sinh_cells)} sinh cell(s) (linearize them or solve operating points instead)")
        for label, names in (("inputs", inputs), ("outputs", outputs)):
            if isinstance(names, (str, bytes)):  # would be read letter by letter
                raise NetlistError(f"transfer_matrix {label} must be a sequence of source names, got one string "
                                   f"{names!r} (write [{names!r}])")
        inputs = [str(x).lower() for x in inputs]
        outputs = [str(x).lower() for x in outputs]
        if not inputs or not outputs:
            raise NetlistError("transfer_matrix needs at least one input and one output voltage source")
        qi = np.array([net.source_index(x) for x in inputs])
        po = np.array([net.source_index(x) for x in outputs])
        with blas_threads(self.options.blas_threads):
            T = self.system.transfer(qi, po)
        accuracy.check_finite(None, T)
        return xr.DataArray(T, dims=("output", "input"), coords={"output": outputs, "input": inputs},
                            name="transfer", attrs={"units": "S", "long_name": "d i(output) / d v(input)"})
