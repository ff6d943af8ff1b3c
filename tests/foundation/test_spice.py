from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.errors import NetlistError, SpiceSyntaxError
from netlists import MOSModel, NetlistBuilder, read_spice, to_ngspice
from netlists.spice import parse_value

DATA = Path(__file__).with_name("data")


def _golden_netlist():
    """The netlist of the committed golden deck, from the recipe beside it."""
    from tests.scripts import load_script

    return load_script(DATA / "make_golden.py").golden_netlist()


def test_golden_deck_line_by_line():
    expected = (DATA / "crossbar_2x3_k2_nmos.cir").read_text().splitlines()
    got = to_ngspice(_golden_netlist()).splitlines()
    for k, (e, g) in enumerate(zip(expected, got), start=1):
        assert g == e, f"line {k} differs"
    assert len(got) == len(expected)


def test_golden_deck_reads_back_to_the_same_netlist():
    assert read_spice(DATA / "crossbar_2x3_k2_nmos.cir") == _golden_netlist()


@pytest.mark.parametrize("text, value", [
    ("1k", 1e3), ("1.5K", 1.5e3), ("10meg", 1e7), ("10MEGohm", 1e7), ("2.2u", 2.2e-6), ("3n", 3e-9),
    ("4p", 4e-12), ("5f", 5e-15), ("1m", 1e-3), ("1g", 1e9), ("1t", 1e12), ("1mil", 25.4e-6),
    ("1e3", 1e3), ("-.5", -0.5), ("1e-3k", 1.0), ("100ohm", 100.0), ("2.5", 2.5),
])
def test_suffixes(text, value):
    assert parse_value(text) == pytest.approx(value, rel=1e-15)


def test_comments_continuations_and_case():
    text = """My Title
* a comment
R1 IN mid 1K ; end-of-line comment
r2 MID 0
+ 3k $ another comment
V1 in GND
+ DC 1
i1 0 mid dc 1m
.OPTIONS reltol=1e-6
.op
.END
"""
    n = read_spice(text)
    assert n.title == "My Title"
    assert n.nodes == ("0", "in", "mid")
    assert n.element("r2").value == 3e3
    assert n.element("v1").dc == 1.0 and n.element("v1").nneg == "0"
    assert n.element("i1").npos == "0" and n.element("i1").dc == 1e-3


@pytest.mark.parametrize("text, line, card, words", [
    ("t\nR1 a 0 1k\n.control\nrun\n.endc\n", 3, ".control", ["never passed"]),
    ("t\n.include /etc/passwd\n", 2, ".include", ["other files"]),
    ("t\n.lib models.lib typ\n", 2, ".lib", ["other files"]),
    ("t\n!rm -rf /\n", 2, "!rm", ["shell"]),
    ("t\nshell ls\n", 2, "shell", ["shell"]),
    ("t\nD1 a 0 dmod\n", 2, "d1", ["unsupported element", "R, V, I, M, C, L, B (sinh cell) and X"]),
    ("t\nX1 a b sub\n", 2, "x1", ["unknown subcircuit 'sub'"]),
    ("t\nR1 a 0 1k\n.tran 1n 1u\n", 3, ".tran", ["unsupported dot command"]),
    ("t\n.param x=1 y\n", 2, ".param", ["expected name=value, got 'y'"]),
    ("t\n.four 1k v(a)\n", 2, ".four", ["unsupported dot command"]),
    ("t\nR1 a 0\n", 2, "r1", ["expected 'R<name> n1 n2 value [m=k]'"]),
    ("t\nR1 a 0 abc\n", 2, "r1", ["cannot read number 'abc'"]),
    ("t\nV1 a 0 AC 1\n", 2, "v1", ["AC, PULSE"]),
    ("t\nV1 a 0 PULSE(0 1 0 1n 1n 1u 2u)\n", 2, "v1", ["AC, PULSE"]),
    ("t\nR1 a 0 1k\nr1 b 0 1k\n", 3, "r1", ["defined twice", "line 2"]),
    ("t\n.model n1 nmos (level=3 vto=0.4)\n", 2, ".model", ["only level=1"]),
    ("t\n.model n1 nmos (level=1 gamma=0.4)\n", 2, ".model", ["unsupported parameter 'gamma=0.4'"]),
    ("t\n.model n1 nmos (level=1 is=1e-14)\n", 2, ".model", ["junction diodes"]),
    ("t\n.model d1 d (is=1e-14)\n", 2, ".model", ["nmos or pmos only"]),
    ("t\nM1 d g s b n1 W=1u L=1u AD=1p\n", 2, "m1", ["unsupported instance parameter 'ad=1p'"]),
    ("t\n+ 1k\n", 2, "+", ["continuation"]),
    ("t\nR1 a 0 1k\n.end\nR2 a 0 1k\n", 4, "r2", ["after .end"]),
])
def test_rejections_name_line_and_card(text, line, card, words):
    with pytest.raises(SpiceSyntaxError) as info:
        read_spice(text)
    assert info.value.line == line and info.value.card == card
    assert f"line {line}:" in str(info.value)
    for w in words:
        assert w in str(info.value)


def test_undefined_model_is_an_error():
    with pytest.raises(NetlistError, match="model 'nx', which is not defined"):
        read_spice("t\nM1 d g 0 0 nx W=1u L=1u\nV1 g 0 1\nR1 d 0 1k\n")


_node = st.sampled_from(["0", "a", "b", "c", "n_1", "x.y"])
_value = st.floats(min_value=1e-15, max_value=1e15, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("rvim"), _node, _node, _node, _node, _value, st.floats(-5, 5)),
                min_size=1, max_size=12))
def test_write_read_round_trip(cards):
    b = NetlistBuilder("round trip")
    b.model(MOSModel("nm", "nmos", vto=0.45, kp=1.7e-4, lambda_=0.03))
    b.model(MOSModel("pm", "pmos", vto=-0.45, kp=0.6e-4, lambda_=0.0))
    for k, (kind, n1, n2, n3, n4, value, signed) in enumerate(cards):
        if kind != "m" and n1 == n2:
            continue
        if kind == "r":
            b.resistor(f"r{k}", n1, n2, value)
        elif kind == "v":
            b.vsource(f"v{k}", n1, n2, signed)
        elif kind == "i":
            b.isource(f"i{k}", n1, n2, signed * 1e-3)
        elif n1 != n3:
            b.mosfet(f"m{k}", n1, n2, n3, n4, "nm" if value > 1 else "pm", value % 1e-5 + 1e-8, 1e-7)
    n = b.build()
    back = read_spice(to_ngspice(n))
    assert back == n
    assert back.models == n.models


def test_path_input(tmp_path):
    p = tmp_path / "deck.cir"
    p.write_text("title\nR1 a 0 1k\nV1 a 0 1\n.end\n")
    assert read_spice(p) == read_spice(path=str(p)) == read_spice(p.read_text())
    with pytest.raises(NetlistError, match=r"read_spice takes SPICE text \(a str with newlines\) or a path"):
        read_spice(42)


def _rlc_sinh():
    b = NetlistBuilder("rlc and sinh")
    b.vsource("v1", "in", "0", 0.3)
    b.resistor("r1", "in", "a", 1e3)
    b.capacitor("c1", "a", "0", 1.5e-12)
    b.inductor("l1", "a", "b", 2.2e-6)
    b.resistor("r2", "b", "0", 1e4)
    b.sinh_cell("b1", "b", "0", 1e-5, 0.25)
    b.sinh_cell("b2", "a", "b", 3.3e-6, 0.125)
    return b.build()


def test_capacitor_inductor_sinh_cards_written():
    text = to_ngspice(_rlc_sinh())
    lines = text.splitlines()
    assert "c1 a 0 1.5e-12" in lines
    assert "l1 a b 2.2e-06" in lines
    assert "b1 b 0 I=1e-05*0.25*sinh((V(b)-V(0))/0.25)" in lines
    assert "b2 a b I=3.3e-06*0.125*sinh((V(a)-V(b))/0.125)" in lines


def test_capacitor_inductor_sinh_round_trip():
    n = _rlc_sinh()
    back = read_spice(to_ngspice(n))
    assert back == n
    assert not back.is_linear


def test_reads_capacitor_inductor_sinh_with_suffixes():
    n = read_spice("t\nC1 a 0 1.5pF\nL1 a b 2.2uH\nB1 b 0 I=1e-5*0.25*sinh((V(b)-V(0))/0.25)\nR1 b 0 1k\n"
                   "V1 a 0 1\n")
    assert n.element("c1").value == pytest.approx(1.5e-12, rel=1e-15)
    assert n.element("l1").value == pytest.approx(2.2e-6, rel=1e-15)
    assert n.element("b1").g == 1e-5 and n.element("b1").v0 == 0.25


@pytest.mark.parametrize("text, card, words", [
    ("t\nB1 a 0 I=1e-5*sinh(V(a))\n", "b1", ["only as sinh cells"]),
    ("t\nB1 a 0 V=1e-5*0.25*sinh((V(a)-V(0))/0.25)\n", "b1", ["only as sinh cells"]),
    ("t\nB1 a 0 I=1e-5*0.25*sinh((V(a)-V(x))/0.25)\n", "b1", ["must name its own terminals"]),
    ("t\nB1 a 0 I=1e-5*0.25*sinh((V(0)-V(a))/0.25)\n", "b1", ["must name its own terminals"]),
    ("t\nB1 a 0 I=1e-5*0.25*sinh((V(a)-V(0))/0.5)\n", "b1", ["two v0 of a sinh cell must be equal"]),
    ("t\nB1 a 0 I=1e-5*0.25*exp((V(a)-V(0))/0.25)\n", "b1", ["only as sinh cells"]),
    ("t\nB1 a 0 I=0*0.25*sinh((V(a)-V(0))/0.25)\n", "b1", ["g must be finite and > 0"]),
    ("t\nC1 a 0 0\n", "c1", ["value must be finite and > 0"]),
    ("t\nL1 a 0\n", "l1", ["expected 'L<name> n1 n2 value [m=k]'"]),
    ("t\nL1 a 0 -1n\n", "l1", ["value must be finite and > 0"]),
])
def test_new_card_rejections(text, card, words):
    with pytest.raises(SpiceSyntaxError) as info:
        read_spice(text)
    assert info.value.line == 2 and info.value.card == card
    for w in words:
        assert w in str(info.value)


def test_native_solver_solves_inductors_and_sinh_cells_as_documented():
    """C open, L a short (its current reported as branch l1), B the sinh law."""
    import crossbar

    ds = crossbar.solve(_rlc_sinh())
    va, vb = float(ds.v.sel(node="a")), float(ds.v.sel(node="b"))
    assert va == vb  # the inductor's nodes are merged
    law = 1e-5 * 0.25 * np.sinh(vb / 0.25) + vb / 1e4
    assert (0.3 - va) / 1e3 == pytest.approx(law, rel=1e-12)
    assert list(ds.branch.values) == ["v1", "l1"]
    assert float(ds.i.sel(branch="l1")) == pytest.approx((0.3 - va) / 1e3, rel=1e-12)
    b = NetlistBuilder()
    b.vsource("v1", "a", "0", 1.0)
    b.resistor("r1", "a", "0", 1e3)
    b.capacitor("c1", "a", "0", 1e-12)  # open at DC: solved as if absent
    assert float(crossbar.solve(b.build()).i.sel(branch="v1")) == pytest.approx(-1e-3, rel=1e-12)


@pytest.mark.ngspice
def test_ngspice_accepts_the_written_cards():
    """ngspice 39 solves the C, L and B cards as documented: C open, L a short, B the sinh law."""
    import crossbar

    n = _rlc_sinh()
    ds = crossbar.solve(n, backend="ngspice")
    va, vb = float(ds.v.sel(node="a")), float(ds.v.sel(node="b"))
    assert va == pytest.approx(vb, abs=1e-12)  # the inductor is a short
    law = 1e-5 * 0.25 * np.sinh(vb / 0.25) + vb / 1e4  # b2 carries no current across a short
    # KCL at a=b: the current through r1 leaves through r2 and the sinh cell b1; ngspice reltol 1e-6
    assert (0.3 - va) / 1e3 == pytest.approx(law, rel=1e-6)
    assert float(ds.i.sel(branch="v1")) == pytest.approx(-(0.3 - va) / 1e3, rel=1e-9)
