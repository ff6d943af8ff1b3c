"""Every solver entry point checks its ``netlist`` and ``options`` arguments through the
one pair of helpers (:func:`crossbar.topology.check_netlist`,
:func:`crossbar.native.options.options_or_default`) and names the function and the type it got."""

import numpy as np
import pytest

import crossbar
from crossbar.ngspice import solve_ngspice
from crossbar.transient.native import TransientSystem
from devices.errors import NetlistError, ParameterError


@pytest.mark.parametrize("call, caller", [
    (lambda x: crossbar.prepare(x), "prepare()"),
    (lambda x: crossbar.solve(x), "solve()"),
    (lambda x: crossbar.solve(x, backend="ngspice"), "solve()"),
    (lambda x: solve_ngspice(x), "solve_ngspice"),
    (lambda x: crossbar.transient(x, 1e-9, 1e-10), "transient()"),
    (lambda x: TransientSystem(x), "transient()"),
])
def test_netlist_argument_checked_with_the_callers_name(call, caller):
    with pytest.raises(NetlistError) as info:
        call("* a deck as text\n")
    assert str(info.value) == f"{caller} takes a netlists.Netlist, got str"


def _divider():
    from netlists import NetlistBuilder

    b = NetlistBuilder("div")
    b.vsource("v1", "a", "0", 1.0)
    b.resistor("r1", "a", "0", 1e3)
    return b.build()


@pytest.mark.parametrize("call", [
    lambda o: crossbar.prepare(_divider(), options=o),
    lambda o: crossbar.solve(_divider(), options=o),
    pytest.param(lambda o: solve_ngspice(_divider(), options=o), marks=pytest.mark.ngspice),
    lambda o: crossbar.mvm(np.full((2, 2), 1e-5), [0.1, 0.1], options=o),
])
def test_options_argument_checked_the_same_everywhere(call):
    with pytest.raises(ParameterError) as info:
        call({"max_iter": 3})
    assert str(info.value) == "options must be a crossbar.SolverOptions, got dict"
    call(None)  # None: the defaults
    call(crossbar.SolverOptions())
