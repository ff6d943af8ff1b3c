"""Solvers for crossbar netlists.

``solve(netlist, backend="native"|"ngspice", sources=None)``  operating point as xarray.Dataset
``transfer_matrix(netlist, inputs, outputs)``                  linear map V(inputs) -> I(outputs)
``prepare(netlist)``                                           factorize once, solve many
``SolverOptions``                                              native tolerances and limits
``mvm(G, v, wires=, access=, tg=None)``                        column currents (sample, column) in one call
``mvm_netlist(G, ...)``, ``grid_voltages(ds, netlist)``         the same circuit as a netlist; IR-drop maps
``crossbar.archive``                                           atomic HDF5 archives with provenance
``transient(netlist, t_stop, t_step, sources=, switches=)``    time response (``crossbar.transient``,
                                                               a callable package: PWL, Step, Switch)
"""

from crossbar.native import HAVE_CHOLMOD, NativeSystem, SolverOptions, prepare
from crossbar.array_netlist import grid_voltages, mvm_netlist
from crossbar.arrays import mvm
from crossbar.solve import BACKENDS, solve, transfer_matrix
from crossbar import transient  # noqa: E402  (a callable package: crossbar.transient(netlist, ...))

__all__ = ["solve", "transfer_matrix", "prepare", "NativeSystem", "SolverOptions", "BACKENDS", "HAVE_CHOLMOD",
           "mvm", "mvm_netlist", "grid_voltages", "transient"]
