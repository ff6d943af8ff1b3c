"""The result of an operating point, one layout for every backend.

``to_dataset(netlist, v, i, batched, attrs)`` builds the ``xarray.Dataset`` that
:func:`crossbar.solve` returns, whichever backend computed the numbers:

* ``i`` (``branch``; A): current through every voltage source, SPICE's sign (positive
  into ``n+``), then through every inductor (positive from ``n1`` to ``n2``, ngspice's
  ``l#branch``); branch names the lower-case element names;
* ``v`` (``node``; V): node voltages, ground left out (when voltages are kept);
* a leading ``sample`` dim for batched sources;
* attrs ``backend``, ``method``, ``newton_iterations``, ``residual`` (A) and the
  netlist's ``title``, plus whatever the backend adds.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from netlists.netlist import Netlist

__all__ = ["to_dataset", "branch_names"]

I_LONG = "branch current of voltage sources (SPICE sign: into n+) and inductors (n1 to n2)"
_FIRST = ("backend", "method", "newton_iterations", "ordering", "eliminated_series_nodes", "residual")


def branch_names(netlist: Netlist) -> list:
    """The ``branch`` coordinate: voltage sources, then inductors."""
    return list(netlist.vsources.names) + list(netlist.inductors.names)


def to_dataset(netlist: Netlist, v: np.ndarray | None, i: np.ndarray, batched: bool, attrs: dict) -> xr.Dataset:
    """Assemble the result Dataset.

    Parameters
    ----------
    netlist : netlists.Netlist
    v : numpy.ndarray (S, n_nodes) or None
        Node voltages without ground, volt; None leaves ``v`` out.
    i : numpy.ndarray (S, n_vsources + n_inductors)
        Branch currents, ampere, SPICE's sign.
    batched : bool
        Keep the ``sample`` dim (else sample 0 is returned without it).
    attrs : dict
        Backend attributes (``backend``, ``method``, ``newton_iterations``, ``residual``...).
    """
    dv = ("sample", "node") if batched else ("node",)
    di = ("sample", "branch") if batched else ("branch",)
    if not batched:
        v = None if v is None else v[0]
        i = i[0]
    data = {"i": (di, i, {"units": "A", "long_name": I_LONG})}
    coords = {"branch": ("branch", branch_names(netlist))}
    if v is not None:
        data["v"] = (dv, v, {"units": "V", "long_name": "node voltage"})
        coords["node"] = ("node", list(netlist.nodes[1:]))
    out = dict(attrs)
    extra = {k: out.pop(k) for k in list(out) if k not in _FIRST}
    out.update(residual_units="A", title=netlist.title)
    out.update(extra)
    return xr.Dataset(data, coords=coords, attrs=out)
