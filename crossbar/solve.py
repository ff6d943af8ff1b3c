"""``crossbar.solve``: one entry point for every backend, one result type."""

from __future__ import annotations

import xarray as xr

from crossbar.native import SolverOptions, prepare
from crossbar.topology import check_netlist
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
        Native solver tolerances; the ngspice backend uses ``check_rtol``, ``abstol``
        and ``ill_conditioned`` for its accuracy check (its deck tolerances are fixed).

    Returns
    -------
    xarray.Dataset
        ``v`` (dim ``node``, volt), ``i`` (dim ``branch``: the current through each
        voltage source, SPICE's sign, positive into ``n+``; ampere; branch names are
        the lower-case element names); attrs ``backend``, ``newton_iterations``,
        ``residual`` (ampere), ``branch_current_error`` (ampere, native backend).

    Raises
    ------
    NetlistError, FloatingNodeError, VoltageSourceLoopError
        Malformed ``sources``, an empty netlist, nodes without a DC path to ground,
        voltage-source loops (both backends).
    ConvergenceError
        Newton-Raphson did not converge (native, nonlinear netlists).
    IllConditionedError
        The branch currents' estimated error exceeds ``options.check_rtol`` of the
        largest one, or a result is not finite.
    BackendError
        ngspice is missing or failed.

    Examples
    --------
    >>> from crossbar.solve import solve
    >>> from netlists import NetlistBuilder
    >>> b = NetlistBuilder("divider")
    >>> b.vsource("v1", "in", "0", 1.0)
    >>> b.resistor("r1", "in", "mid", 1e3)
    >>> b.resistor("r2", "mid", "0", 3e3)
    >>> ds = solve(b.build())
    >>> round(float(ds.v.sel(node="mid")), 12), ds.v.attrs["units"]
    (0.75, 'V')
    >>> float(ds.i.sel(branch="v1"))        # SPICE sign: into n+, so the source delivers -i
    -0.00025
    >>> batch = solve(b.build(), sources={"v1": [0.5, 1.0, 2.0]})
    >>> batch.i.dims, batch.i.sel(branch="v1").values.round(9).tolist()
    (('sample', 'branch'), [-0.000125, -0.00025, -0.0005])
    """
    check_netlist(netlist, "solve()")
    if backend == "native":
        return prepare(netlist, options).solve(sources, keep_voltages=keep_voltages)
    if backend == "ngspice":
        from crossbar.ngspice import solve_ngspice

        return solve_ngspice(netlist, sources, keep_voltages=keep_voltages, options=options)
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
