"""Solvers for crossbar netlists.

``solve(netlist, backend="native"|"ngspice", sources=None)``  operating point as xarray.Dataset
``transfer_matrix(netlist, inputs, outputs)``                  linear map V(inputs) -> I(outputs)
``prepare(netlist)``                                           factorize once, solve many
``SolverOptions``                                              native tolerances and limits
``crossbar.archive``                                           atomic HDF5 archives with provenance
``transient(netlist, t_stop, t_step, sources=, switches=)``    time response (``crossbar.transient``,
                                                               a callable package: PWL, Step, Switch)
"""

from crossbar.native import HAVE_CHOLMOD, NativeSystem, SolverOptions, prepare
from crossbar.solve import BACKENDS, solve, transfer_matrix
from crossbar import transient  # noqa: E402  (a callable package: crossbar.transient(netlist, ...))

__all__ = ["solve", "transfer_matrix", "prepare", "NativeSystem", "SolverOptions", "BACKENDS", "HAVE_CHOLMOD", "transient"]
