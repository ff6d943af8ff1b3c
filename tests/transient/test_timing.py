"""Settling time and energy bookkeeping (crossbar.transient.timing)."""

import math

import numpy as np
import pytest

from crossbar.transient import CROSSBAR_GROUPS, Step, tg_pattern_switch, transient
from crossbar.transient.timing import energy_summary, half_lsb, settling_time
from devices.errors import ParameterError

R, CAP = 1e3, 1e-12
TAU = R * CAP


def test_half_lsb():
    assert half_lsb(1.0, 8) == 1 / 512
    with pytest.raises(ParameterError, match="bits"):
        half_lsb(1.0, 0)
    with pytest.raises(ParameterError, match="full_scale"):
        half_lsb(-1.0, 4)


def test_settling_of_a_single_rc_matches_the_exponential(make_ladder):
    """The source current of an RC after a step decays as (V/R) exp(-t/tau): it is within
    tol of 0 from tau ln(V / (R tol)) on."""
    net = make_ladder(1)
    V, h = 0.2, TAU / 200
    ds = transient(net, 12 * TAU, h, sources={"v1": Step(10 * h, V, rise=h)}, method="trap")
    for bits in (4, 8):
        tol = half_lsb(V / R, bits)
        s = settling_time(ds, ["v1"], 10 * h, tol, final=[0.0])[0]
        expect = TAU * math.log(V / R / tol) + h / 2  # the ramp's midpoint is the effective step time
        assert abs(s - expect) <= 2 * h, (bits, s, expect)


def test_settling_time_edge_cases(make_ladder):
    net = make_ladder(1)
    h = TAU / 50
    ds = transient(net, 2 * TAU, h, sources={"v1": Step(10 * h, 0.2, rise=h)})
    # not settled by the end of the window: inf
    assert settling_time(ds, ["v1"], 10 * h, 1e-9, final=[0.0])[0] == np.inf
    # never left the band: 0
    assert settling_time(ds, ["v1"], 10 * h, 1.0, final=[0.0])[0] == 0.0
    with pytest.raises(ParameterError, match="tol"):
        settling_time(ds, ["v1"], 10 * h, 0.0)


@pytest.mark.parametrize("method", ["trap", "be"])
def test_energy_balance_is_exact_on_a_crossbar(make_crossbar, method):
    """Drivers = wires + TGs + cells + stored change + numerical loss, to rounding, with a
    TG switch and an input step in one run."""
    net, v, _ = make_crossbar(12, k=3)
    A = np.asarray(net.layout.assignment)
    sw = tg_pattern_switch(net, np.roll(A, 1, axis=0), at=20e-12)
    src = {f"vin{i}": Step(5e-12, float(v[i]), rise=1e-12) for i in range(12)}
    ds = transient(net, 60e-12, 0.1e-12, sources=src, switches=sw, method=method, keep_voltages=False,
                   power_groups=CROSSBAR_GROUPS)
    e = energy_summary(ds, inputs=list(net.layout.inputs))
    assert set(e["groups"]) == set(CROSSBAR_GROUPS)
    assert abs(e["balance_error"]) <= 1e-10 * e["sources"]
    assert e["sources"] > 0 and all(x >= 0 for x in e["groups"].values())
    # the TIA virtual grounds sit at 0 V: every source energy is the drivers'
    assert e["drivers"] == pytest.approx(e["sources"], rel=1e-12)
    if method == "trap":
        assert 0 <= e["numerical"] < 0.05 * e["sources"]  # only the Euler steps at the breakpoints


def test_charging_a_capacitor_dissipates_half_cv2(make_ladder):
    """An ideal-ish step charges C to V: C V^2 / 2 stored and (resistor + numerical) C V^2 / 2
    lost, whatever R; the drivers deliver C V^2."""
    net = make_ladder(1)
    V, h = 0.3, TAU / 100
    ds = transient(net, 20 * TAU, h, sources={"v1": Step(h, V, rise=h)}, power_groups={"r": ("r",)})
    e = energy_summary(ds)
    cv2 = CAP * V ** 2
    assert e["stored_change"] == pytest.approx(cv2 / 2, rel=1e-6)
    assert e["groups"]["r"] + e["numerical"] == pytest.approx(cv2 / 2, rel=2e-3)
    assert e["sources"] == pytest.approx(cv2, rel=1e-3)
