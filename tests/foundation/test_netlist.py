import numpy as np
import pytest

from devices.errors import NetlistError
from netlists import Capacitor, Inductor, MOSModel, Mosfet, NetlistBuilder, Resistor, SinhCell, VoltageSource


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


def _rlc_sinh():
    b = NetlistBuilder("rlc")
    b.vsource("v1", "in", "0", 0.3)
    b.resistor("r1", "in", "a", 1e3)
    b.capacitor("c1", "a", "0", 1e-12)
    b.inductor("l1", "a", "b", 1e-6)
    b.sinh_cell("b1", "b", "0", 1e-5, 0.25)
    return b.build()


def test_capacitors_inductors_sinh_cells():
    n = _rlc_sinh()
    assert n.element("C1") == Capacitor("c1", "a", "0", 1e-12)
    assert n.element("l1") == Inductor("l1", "a", "b", 1e-6)
    assert n.element("b1") == SinhCell("b1", "b", "0", 1e-5, 0.25)
    assert n.n_elements == 5
    assert [type(e).__name__ for e in n.elements()] == ["Resistor", "VoltageSource", "Capacitor", "Inductor",
                                                        "SinhCell"]
    assert not n.is_linear
    assert "1 C, 1 L, 1 B" in repr(n)
    assert list(n.sinh_cells.columns) == ["n1", "n2", "g", "v0"]
    assert list(n.capacitors.columns) == list(n.inductors.columns) == ["n1", "n2", "value"]
    # a linear netlist with C and L stays linear
    b = NetlistBuilder()
    b.vsource("v1", "a", "0", 1.0)
    b.capacitor("c1", "a", "0", 1e-9)
    assert b.build().is_linear
    # equality sees the new kinds and their values
    assert n == _rlc_sinh()
    b = NetlistBuilder()
    for e in n.elements():
        b.add(e if not isinstance(e, SinhCell) else SinhCell(e.name, e.n1, e.n2, e.g, 0.5))
    assert b.build() != n
    # with_sources keeps them
    assert n.with_sources(v1=0.1).element("b1") == n.element("b1")


def test_bulk_capacitors_inductors_sinh_cells_match_single():
    b = NetlistBuilder()
    idx = b.nodes(["a", "b", "c"])
    b.capacitors(["c0", "c1"], idx[:2], idx[1:], np.array([1e-12, 2e-12]))
    b.inductors(["l0"], idx[:1], idx[2:], np.array([1e-9]))
    b.sinh_cells(["b0", "b1"], idx[:2], np.zeros(2, np.int64), np.array([1e-6, 2e-6]), np.array([0.2, 0.3]))
    c = NetlistBuilder()
    c.capacitor("c0", "a", "b", 1e-12)
    c.capacitor("c1", "b", "c", 2e-12)
    c.inductor("l0", "a", "c", 1e-9)
    c.sinh_cell("b0", "a", "0", 1e-6, 0.2)
    c.sinh_cell("b1", "b", "0", 2e-6, 0.3)
    assert b.build() == c.build()


@pytest.mark.parametrize("build, message", [
    (lambda b: b.capacitor("c1", "a", "0", 0.0), "capacitor 'c1': value must be finite and > 0"),
    (lambda b: b.capacitor("c1", "a", "0", float("nan")), "value must be finite and > 0"),
    (lambda b: b.capacitor("x1", "a", "0", 1e-12), "must start with 'C'"),
    (lambda b: b.capacitor("c1", "a", "a", 1e-12), "both terminals on node 'a'"),
    (lambda b: b.inductor("l1", "a", "0", -1e-9), "inductor 'l1': value must be finite and > 0"),
    (lambda b: b.inductor("l1", "a", "0", float("inf")), "value must be finite and > 0"),
    (lambda b: b.inductor("r1", "a", "0", 1e-9), "must start with 'L'"),
    (lambda b: b.sinh_cell("b1", "a", "0", 0.0, 0.25), "sinh cell 'b1': g must be finite and > 0 S"),
    (lambda b: b.sinh_cell("b1", "a", "0", 1e-6, -0.25), "sinh cell 'b1': v0 must be finite and > 0 V"),
    (lambda b: b.sinh_cell("b1", "a", "0", 1e-6, float("inf")), "v0 must be finite and > 0 V"),
    (lambda b: b.sinh_cell("r1", "a", "0", 1e-6, 0.25), "must start with 'B'"),
    (lambda b: b.sinh_cell("b1", "a", "gnd", 1e-6, 0.25) or b.sinh_cell("b2", "0", "0", 1e-6, 0.25),
     "both terminals on node '0'"),
])
def test_new_element_errors(build, message):
    b = NetlistBuilder()
    with pytest.raises(NetlistError, match=message):
        build(b)
        b.build()
