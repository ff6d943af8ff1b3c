"""Waveform types: values, corners and the named errors for bad input."""

import math

import numpy as np
import pytest

from crossbar.transient import PWL, Step, Switch
from devices.errors import ParameterError


def test_pwl_interpolates_and_holds_ends():
    w = PWL([1e-9, 2e-9], [0.0, 0.2])
    assert np.allclose(w([0.0, 1e-9, 1.5e-9, 2e-9, 5e-9]), [0.0, 0.0, 0.1, 0.2, 0.2], rtol=0, atol=1e-15)
    assert w.corners == (1e-9, 2e-9)
    assert w.spice() == "PWL(1e-09 0.0 2e-09 0.2)"


@pytest.mark.parametrize("times", [[0.0, 1e-9, 1e-9], [2e-9, 1e-9], [0.0, math.nan], [-1e-9, 0.0], []])
def test_pwl_rejects_bad_times(times):
    with pytest.raises(ParameterError, match="times"):
        PWL(times, [0.0] * len(times))


def test_pwl_rejects_length_mismatch_and_nonfinite_values():
    with pytest.raises(ParameterError, match="2 times but 3 values"):
        PWL([0, 1e-9], [0, 1, 2])
    with pytest.raises(ParameterError, match="finite"):
        PWL([0, 1e-9], [0, math.inf])


def test_step_is_a_two_corner_pwl():
    s = Step(1e-9, 0.2, rise=1e-11)
    assert s.times == (1e-9, 1e-9 + 1e-11) and s.values == (0.0, 0.2)
    with pytest.raises(ParameterError, match="rise"):
        Step(1e-9, 0.2)
    with pytest.raises(ParameterError, match="rise must be > 0"):
        Step(1e-9, 0.2, rise=0.0)
    with pytest.raises(ParameterError, match="at must be >= 0"):
        Step(-1e-9, 0.2, rise=1e-12)


def test_switch_values_and_errors():
    s = Switch([1e-9, 2e-9], [1e9, 100.0])
    assert s.value_at(0.5e-9, 100.0) == 100.0
    assert s.value_at(1e-9, 100.0) == 1e9  # from the switching time on
    assert s.value_at(3e-9, 100.0) == 100.0
    assert Switch([1e-9], [math.inf]).values == (math.inf,)
    with pytest.raises(ParameterError, match="> 0"):
        Switch([0.0], [100.0])  # a switch at t = 0 would make the DC point ambiguous
    with pytest.raises(ParameterError, match="resistances must be > 0"):
        Switch([1e-9], [0.0])
    with pytest.raises(ParameterError, match="strictly increasing"):
        Switch([2e-9, 1e-9], [1.0, 2.0])


def test_crossbar_transient_is_callable_and_a_package():
    import crossbar
    from netlists.netlist import NetlistBuilder

    b = NetlistBuilder("rc")
    b.vsource("v1", "in", "0", 0.0)
    b.resistor("r1", "in", "a", 1e3)
    b.capacitor("c1", "a", "0", 1e-12)
    ds = crossbar.transient(b.build(), 1e-10, 1e-11, sources={"v1": crossbar.transient.Step(0.0, 0.1, rise=1e-11)})
    assert ds.time.size == 11 and crossbar.transient.PWL is PWL
