"""``crossbar.solve``: one entry point for every backend, one result type."""

from __future__ import annotations

import xarray as xr

from crossbar.native import SolverOptions, prepare
from devices.errors import NetlistError
from netlists.netlist import Netlist

__all__ = ["solve", "transfer_matrix", "BACKENDS"]

BACKENDS = ("native", "ngspice")


def solve(netlist: Netlist, backend: str = "native", sources=None, *, keep_voltages: bool = True,
          options: SolverOptions | None = None) -> xr.Dataset:
    """DC operating point of ``netlist``.

    Parameters
    ----------
    netlist : netlists.Netlist
    backend : {"native", "ngspice"}
        ``"native"``: this package's sparse nodal-analysis solver (default).
        ``"ngspice"``: ngspice through PySpice's shared library.
    sources : dict, optional
        Source name -> value or 1-D array of sample values (volt for V, ampere for I
        sources).  Arrays add a ``sample`` dim; a linear netlist is factorized once for
        all samples.
    keep_voltages : bool
        Include node voltages ``v`` (off saves memory on large crossbars).
    options : crossbar.SolverOptions, optional
        Native solver tolerances.

    Returns
    -------
    xarray.Dataset
        ``v`` (dim ``node``, volt), ``i`` (dim ``branch``: the current through each
        voltage source, SPICE's sign, positive into ``n+``; ampere; branch names are
        the lower-case element names); attrs ``backend``, ``newton_iterations``,
        ``residual`` (ampere).
    """
    if not isinstance(netlist, Netlist):
        raise NetlistError(f"solve() takes a netlists.Netlist, got {type(netlist).__name__}")
    if backend == "native":
        return prepare(netlist, options).solve(sources, keep_voltages=keep_voltages)
    if backend == "ngspice":
        from crossbar.ngspice import solve_ngspice

        return solve_ngspice(netlist, sources, keep_voltages=keep_voltages)
    raise NetlistError(f"unknown backend {backend!r}; choose one of {list(BACKENDS)}")


def transfer_matrix(netlist: Netlist, inputs=None, outputs=None, *, options: SolverOptions | None = None) -> xr.DataArray:
    """Matrix from input source voltages to output source currents of a linear netlist.

    ``T[k, m] = d i(outputs[k]) / d v(inputs[m])`` in siemens, from one adjoint solve per
    output on one factorization.  For a crossbar built by
    :func:`netlists.build_crossbar`, ``inputs`` and ``outputs`` default to its wordline
    drivers and TG-set outputs.
    """
    layout = netlist.layout
    if inputs is None or outputs is None:
        if layout is None:
            raise NetlistError("give inputs= and outputs= (source names); this netlist has no crossbar layout")
        inputs = layout.inputs if inputs is None else inputs
        outputs = layout.outputs if outputs is None else outputs
    return prepare(netlist, options).transfer_matrix(inputs, outputs)
