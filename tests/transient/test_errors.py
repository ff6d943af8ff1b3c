"""Bad input to transient() ends in a named error before anything is solved."""

import math

import numpy as np
import pytest

from crossbar.transient import MAX_TIME_POINTS, PWL, Switch, transient
from crossbar.transient import native as tnative
from devices.capacitance import Capacitances
from devices.errors import NetlistError, ParameterError
from netlists.netlist import MOSModel, NetlistBuilder


@pytest.fixture
def rc():
    b = NetlistBuilder("rc")
    b.vsource("v1", "in", "0", 0.1)
    b.resistor("r1", "in", "a", 1e3)
    b.capacitor("c1", "a", "0", 1e-12)
    return b.build()


@pytest.fixture
def no_solve(monkeypatch):
    """Fail the test if the integrator is ever constructed."""
    def boom(*a, **k):
        raise AssertionError("the solver ran before the input was checked")
    monkeypatch.setattr(tnative.TransientSystem, "__init__", boom)


@pytest.mark.parametrize("t_stop, t_step, match", [
    (1e-9, 0.0, "t_step must be finite and > 0"),
    (1e-9, -1e-12, "t_step must be finite and > 0"),
    (1e-9, math.nan, "t_step"),
    (1e-12, 1e-11, "t_stop must be >= t_step"),
    (math.inf, 1e-12, "t_stop must be finite"),
])
def test_bad_steps(rc, no_solve, t_stop, t_step, match):
    with pytest.raises(ParameterError, match=match):
        transient(rc, t_stop, t_step)


def test_too_many_points_needs_opt_in(rc, no_solve):
    with pytest.raises(ParameterError, match="allow_long=True"):
        transient(rc, 1.0, 1.0 / MAX_TIME_POINTS)


def test_bad_method_backend_and_names(rc, no_solve):
    with pytest.raises(ParameterError, match="method must be one of"):
        transient(rc, 1e-9, 1e-11, method="gear")
    with pytest.raises(ParameterError, match="backend"):
        transient(rc, 1e-9, 1e-11, backend="spectre")
    with pytest.raises(NetlistError, match="no voltage or current source named 'vx'"):
        transient(rc, 1e-9, 1e-11, sources={"vx": 0.1})
    with pytest.raises(NetlistError, match="no resistor named 'r9'"):
        transient(rc, 1e-9, 1e-11, switches={"r9": Switch([1e-10], [1.0])})
    with pytest.raises(ParameterError, match="must be a Switch"):
        transient(rc, 1e-9, 1e-11, switches={"r1": 5.0})
    with pytest.raises(ParameterError, match="PWL or Step"):
        transient(rc, 1e-9, 1e-11, sources={"v1": "high"})
    with pytest.raises(ParameterError, match="strictly increasing"):
        transient(rc, sources={"v1": 0.1}, times=[0.0, 2e-12, 1e-12])


def test_nonincreasing_waveform_is_refused_when_built(rc, no_solve):
    with pytest.raises(ParameterError, match="strictly increasing"):
        transient(rc, 1e-9, 1e-11, sources={"v1": PWL([0, 1e-9, 1e-9], [0, 1, 2])})


@pytest.mark.parametrize("value", [0.0, -1e-15, math.inf, math.nan])
def test_bad_capacitance_in_netlist(value):
    b = NetlistBuilder("bad c")
    b.vsource("v1", "in", "0", 0.1)
    b.resistor("r1", "in", "a", 1e3)
    with pytest.raises(NetlistError, match="c1"):  # when added or when built
        b.capacitor("c1", "a", "0", value)
        b.build()


@pytest.mark.parametrize("value", [-1e-15, math.inf, math.nan])
def test_bad_capacitance_parameters(value):
    with pytest.raises(ParameterError, match="c_bitline"):
        Capacitances(c_bitline=value)


def test_mosfets_and_floating_sources_are_refused(no_solve):
    b = NetlistBuilder("mos")
    b.vsource("v1", "in", "0", 0.1)
    b.model(MOSModel("n", "nmos"))
    b.mosfet("m1", "in", "in", "0", "0", "n", 1e-6, 1e-6)
    with pytest.raises(NetlistError, match="linear netlists"):
        transient(b.build(), 1e-9, 1e-11)


def test_floating_voltage_source_is_refused():
    b = NetlistBuilder("float")
    b.vsource("v1", "in", "0", 0.1)
    b.vsource("v2", "a", "in", 0.1)
    b.resistor("r1", "a", "0", 1e3)
    with pytest.raises(NetlistError, match="'v2' is floating"):
        transient(b.build(), 1e-9, 1e-11)
