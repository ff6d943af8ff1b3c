import numpy as np
import pytest

from devices.errors import NetlistError
from netlists import MOSModel, Mosfet, NetlistBuilder, Resistor, VoltageSource


def divider():
    b = NetlistBuilder("divider")
    b.add(VoltageSource("V1", "IN", "0", 1.0))
    b.add(Resistor("R1", "in", "mid", 1e3))
    b.add(Resistor("r2", "MID", "gnd", 3e3))
    return b.build()


def test_names_lowercased_and_gnd_is_ground():
    n = divider()
    assert n.nodes == ("0", "in", "mid")
    assert n.element("r2").n2 == "0"
    assert n.element("R1") == Resistor("r1", "in", "mid", 1e3)


def test_immutable():
    n = divider()
    with pytest.raises(AttributeError):
        n.title = "x"
    with pytest.raises(ValueError):
        n.resistors.value[0] = 5.0


def test_with_sources_copies():
    n = divider()
    m = n.with_sources(v1=2.5)
    assert m.element("v1").dc == 2.5 and n.element("v1").dc == 1.0
    with pytest.raises(NetlistError, match="not an independent source"):
        n.with_sources(r1=1.0)
    with pytest.raises(NetlistError, match="no element named 'vx'"):
        n.with_sources(vx=1.0)


@pytest.mark.parametrize("build, message", [
    (lambda b: (b.resistor("r1", "a", "0", 1), b.resistor("R1", "a", "0", 2)), "duplicate element names"),
    (lambda b: b.resistor("x1", "a", "0", 1), "must start with 'R'"),
    (lambda b: b.resistor("r1", "a", "0", 0.0), "value must be finite and > 0"),
    (lambda b: b.resistor("r1", "a", "0", float("inf")), "value must be finite and > 0"),
    (lambda b: b.resistor("r1", "a", "a", 1.0), "both terminals on node 'a'"),
    (lambda b: b.resistor("r1", "a b", "0", 1.0), "invalid node name"),
    (lambda b: b.vsource("v1", "a", "0", float("nan")), "must be finite"),
    (lambda b: b.add(Mosfet("m1", "d", "g", "0", "0", "nope", 1e-6, 1e-6)), "model 'nope', which is not defined"),
    (lambda b: (b.model(MOSModel("n1", kp=-1)), b.mosfet("m1", "d", "g", "0", "0", "n1", 1e-6, 1e-6)), "kp must be"),
    (lambda b: (b.model(MOSModel("n1")), b.mosfet("m1", "d", "g", "0", "0", "n1", 0.0, 1e-6)), "W of"),
])
def test_build_errors(build, message):
    b = NetlistBuilder()
    with pytest.raises(NetlistError, match=message):
        build(b)
        b.build()


def test_equality_ignores_order_and_title():
    a = divider()
    b = NetlistBuilder("other")
    b.resistor("r2", "mid", "0", 3e3)
    b.vsource("v1", "in", "0", 1.0)
    b.resistor("r1", "in", "mid", 1e3)
    assert b.build() == a
    assert a != a.with_sources(v1=1.5)


def test_bulk_add_matches_single():
    b = NetlistBuilder()
    idx = b.nodes(["a", "b", "c"])
    b.resistors(["r0", "r1"], idx[:-1], idx[1:], np.array([1.0, 2.0]))
    b.vsource("v1", "a", "0", 1)
    one = b.build()
    c = NetlistBuilder()
    c.resistor("r0", "a", "b", 1.0)
    c.resistor("r1", "b", "c", 2.0)
    c.vsource("v1", "a", "0", 1)
    assert one == c.build()
