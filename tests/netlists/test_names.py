"""Issue 10, section 1 (no shell through names) and the bulk-builder checks of section 2.

Each test here failed before the fix: names were checked with ``re.match(...$)`` (``$``
also matches before a trailing newline), MOSFET model names and titles were not checked,
the writer wrote whatever the netlist held, and bulk builders took mismatched lengths
and float node indices.
"""

import os

import numpy as np
import pytest

from devices.errors import DeckInjectionError, NetlistError
from netlists import MOSModel, Netlist, NetlistBuilder, to_ngspice
from netlists.netlist import ElementTable, _empty_table, _frozen
from netlists.spice import CARD_SHAPES


def _issue_example(b):
    b.vsource("v1", "a", "0", 1.0)
    b.resistor("r0", "a", "0", 1e3)
    b.resistor("ra\n", ".control", "zz", 1.0)
    b.resistor("rb\n", "shell", "touch", 1.0)
    b.resistor("rd\n", ".endc", "yy", 1.0)


def test_issue_example_raises_when_built():
    b = NetlistBuilder("t")
    with pytest.raises(NetlistError, match=r"invalid resistor name 'ra\\n'"):
        _issue_example(b)
        b.build()


@pytest.mark.parametrize("call, message", [
    (lambda b: b.resistor("r1\n", "a", "0", 1.0), r"invalid resistor name 'r1\\n'"),
    (lambda b: b.resistor("r1", "a\n", "0", 1.0), r"invalid node name 'a\\n'"),
    (lambda b: b.resistor("r1", ".control", "0", 1.0), r"invalid node name '.control'"),
    (lambda b: b.resistor("r1", "a", "!ls", 1.0), r"invalid node name '!ls'"),
    (lambda b: b.resistor("r1", "a\x00", "0", 1.0), r"invalid node name"),
    (lambda b: b.vsource("v1\r", "a", "0", 1.0), r"invalid voltage source name"),
    (lambda b: b.capacitor("c1 x", "a", "0", 1e-12), r"invalid capacitor name"),
    (lambda b: b.model(MOSModel("nm\n.control\nshell touch x\n.endc")), r"invalid model name"),
    (lambda b: b.model(MOSModel("nm\n")), r"invalid model name"),
    (lambda b: (b.model(MOSModel("nm")), b.mosfet("m1", "d", "g", "0", "0", "nm\n", 1e-6, 1e-6)),
     r"invalid model name 'nm\\n'"),
    (lambda b: b.mosfets(["m1"], [1], [2], [0], [0], "nm\nshell", 1e-6, 1e-6), r"invalid model name"),
    (lambda b: b.resistors(["r1\n"], b.nodes(["a"]), np.zeros(1, np.int64), [1.0]), r"invalid element names"),
    (lambda b: b.resistor("r" + "x" * 300, "a", "0", 1.0), r"at most 256 characters"),
    (lambda b: b.resistor(5, "a", "0", 1.0), r"resistor name must be a string"),
    (lambda b: b.node(None), r"node name must be a string"),
])
def test_names_match_the_whole_string(call, message):
    b = NetlistBuilder()
    b.vsource("v1", "a", "0", 1.0)
    with pytest.raises(NetlistError, match=message):
        call(b)
        b.build()


@pytest.mark.parametrize("title", ["t\n.control", "t\r", "a\x1b[31m", "x\x00", "line\u2028sep", "rtl\u202e",
                                   "t\x85"])
def test_title_is_one_line_without_control_characters(title):
    with pytest.raises(NetlistError, match="invalid title"):
        NetlistBuilder(title)
    b = NetlistBuilder("ok")
    b.title = title
    with pytest.raises(NetlistError, match="invalid title"):
        b.build()


def test_numeric_and_hierarchical_names_stay_valid():
    b = NetlistBuilder("Ünïcode title – fine")
    b.vsource("v1", "1", "0", 1.0)
    b.resistor("r.x1.r1", "1", "x1.n3", 1e3)
    b.resistor("r2", "x1.n3", "wl[0]<1>:a-b", 1e3)
    b.resistor("r3", "wl[0]<1>:a-b", 0, 1e3)
    n = b.build()
    assert n.nodes == ("0", "1", "x1.n3", "wl[0]<1>:a-b")
    for line in to_ngspice(n).splitlines()[1:]:
        assert "\x00" not in line


def _direct(**over):
    """A Netlist made without the builder (bypassing every builder check)."""
    args = dict(title="t", nodes=("0", "a", "zz"),
                resistors=ElementTable(("r0",), {"n1": _frozen([1], np.int64), "n2": _frozen([0], np.int64),
                                                  "value": _frozen([1e3], float)}),
                vsources=ElementTable(("v1",), {"npos": _frozen([1], np.int64), "nneg": _frozen([0], np.int64),
                                                "dc": _frozen([1.0], float)}),
                isources=_empty_table("i"), mosfets=_empty_table("m"), models={})
    args.update(over)
    return Netlist(**args)


def test_writer_accepts_a_clean_direct_netlist():
    assert to_ngspice(_direct()).splitlines()[:2] == ["* t", ".options reltol=1e-06 vntol=1e-09 abstol=1e-15 gmin=1e-12"]


@pytest.mark.parametrize("over", [
    dict(title="t\n.control\nshell touch pwned\n.endc"),
    dict(title="ok\r.control"),
    dict(title="\x1b]0;x\x07"),
    dict(resistors=ElementTable(("ra\n.control\nshell touch pwned\n.endc\nr9",),
                                {"n1": _frozen([1], np.int64), "n2": _frozen([0], np.int64),
                                 "value": _frozen([1.0], float)})),
    dict(nodes=("0", "a\n.control", "zz")),
    dict(nodes=("0", "a b", "zz")),
    dict(nodes=("0", "!touch", "zz")),
    dict(nodes=("0", "A", "zz")),
    dict(resistors=ElementTable(("r0",), {"n1": _frozen([1], np.int64), "n2": _frozen([0], np.int64),
                                          "value": _frozen([float("nan")], float)})),
    dict(models={"nm\n.control": MOSModel("nm\n.control")}),
    dict(resistors=ElementTable(("x0",), {"n1": _frozen([1], np.int64), "n2": _frozen([0], np.int64),
                                          "value": _frozen([1.0], float)})),
])
def test_writer_refuses_injection_whatever_built_the_netlist(over):
    net = _direct(**over)
    with pytest.raises(DeckInjectionError, match="to_ngspice refuses"):
        to_ngspice(net)


def test_writer_refuses_bad_options():
    with pytest.raises(DeckInjectionError, match="option"):
        to_ngspice(_direct(), options={"reltol": "1e-6\n.control"})
    with pytest.raises(DeckInjectionError):
        to_ngspice(_direct(), options={"reltol\nshell": 1e-6})


def test_every_written_line_is_a_documented_shape():
    import re

    b = NetlistBuilder("all kinds")
    b.model(MOSModel("nm", "nmos", vto=0.4, kp=2e-4, lambda_=0.01))
    b.vsource("v1", "1", "0", 0.2)
    b.isource("i1", "0", "2", 1e-6)
    b.resistor("r1", "1", "2", 1e3)
    b.capacitor("c1", "2", "0", 1e-12)
    b.inductor("l1", "2", "3", 1e-9)
    b.sinh_cell("b1", "3", "0", 1e-5, 0.25)
    b.mosfet("m1", "2", "1", "0", "0", "nm", 1e-6, 1e-7)
    shapes = [re.compile(s) for s in CARD_SHAPES.values()]
    lines = to_ngspice(b.build()).splitlines()
    assert all(any(s.fullmatch(ln) for s in shapes) for ln in lines)


@pytest.mark.ngspice
def test_issue_example_never_reaches_ngspice(tmp_path, monkeypatch):
    """The bypassed netlist of the issue is refused before ngspice sees it: no file appears."""
    import crossbar

    monkeypatch.chdir(tmp_path)
    bad = _direct(resistors=ElementTable(
        ("r0", "ra\n", "rb\n", "rd\n"),
        {"n1": _frozen([1, 2, 3, 4], np.int64), "n2": _frozen([0, 5, 6, 7], np.int64),
         "value": _frozen([1e3, 1.0, 1.0, 1.0], float)}),
        nodes=("0", "a", ".control", "shell", ".endc", "zz", "touch", "yy"))
    with pytest.raises(DeckInjectionError):
        crossbar.solve(bad, backend="ngspice")
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- bulk builder methods
@pytest.mark.parametrize("call, message", [
    (lambda b, i: b.resistors(["r1"], i[:2], i[1:3], [1.0, 2.0]), r"n1: expected a scalar or 1 values"),
    (lambda b, i: b.resistors(["r1", "r2"], i[:2], i[1:3], [1.0, 2.0, 3.0]), r"value: expected a scalar or 2 values"),
    (lambda b, i: b.resistors(["r1", "r2"], i[:1], i[1:3], [1.0, 2.0]), r"n1: expected a scalar or 2 values"),
    (lambda b, i: b.resistors(["r1"], [0.5], [1], [1.0]), r"node indices must be integers.*float64.*0.5"),
    (lambda b, i: b.resistors(["r1"], np.array([1.0]), [2], [1.0]), r"node indices must be integers"),
    (lambda b, i: b.resistors(["r1"], [1], [99], [1.0]), r"node index 99 out of range"),
    (lambda b, i: b.resistors(["r1"], [1], [-1], [1.0]), r"node index -1 out of range"),
    (lambda b, i: b.resistors(["r1"], [1], [2], ["1k"]), r"values must be numbers"),
    (lambda b, i: b.resistors("r1", [1], [2], [1.0]), r"names must be a sequence of strings"),
    (lambda b, i: b.vsources(["v1", "v2"], i[:1], [0], [1.0, 2.0]), r"npos: expected a scalar or 2 values"),
    (lambda b, i: b.capacitors(["c1"], [1], [2], [[1e-12]]), r"expected a scalar or 1 values \(one per name\), got shape \(1, 1\)"),
    (lambda b, i: b.sinh_cells(["b1"], [1], [0], [1e-6, 2e-6], 0.25), r"g: expected a scalar or 1 values"),
    (lambda b, i: b.mosfets(["m1", "m2"], i[:1], i[1:3], [0, 0], [0, 0], "nm", 1e-6, 1e-6),
     r"MOSFET d: expected a scalar or 2 values"),
    (lambda b, i: b.mosfets(["m1"], [1.5], [2], [0], [0], "nm", 1e-6, 1e-6), r"node indices must be integers"),
    (lambda b, i: b.mosfets(["m1"], [1], [2], [0], [0], "nm", [1e-6, 2e-6], 1e-6), r"MOSFET w: expected"),
])
def test_bulk_methods_check_lengths_and_integer_indices(call, message):
    b = NetlistBuilder()
    idx = b.nodes(["a", "b", "c"])
    with pytest.raises(NetlistError, match=message):
        call(b, idx)


def test_bulk_scalars_broadcast():
    b = NetlistBuilder()
    idx = b.nodes(["a", "b", "c"])
    b.resistors(["R1", "R2", "R3"], idx, 0, 1e3)
    b.vsource("v1", "a", "0", 1.0)
    n = b.build()
    assert n.resistors.names == ("r1", "r2", "r3")
    assert n.element("r3").n2 == "0" and n.element("r2").value == 1e3
