"""Issue 10, re-checked by a hostile user after sections 1-5 were fixed: inputs that still
passed validation and failed later (or were silently reinterpreted).  Each test failed
on the code before its fix."""

import time

import numpy as np
import pytest

from devices import Wires
from devices.errors import NetlistError, ParameterError, SpiceSyntaxError
from netlists import NetlistBuilder, build_crossbar, read_spice

A2 = np.eye(2, dtype=bool)
G2 = np.full((2, 2), 1e-5)


# ------------------------------------------------------------------ build_crossbar
@pytest.mark.parametrize("kwargs, words", [
    (dict(conductances=np.full((2, 2), 1e308)), r"conductances must lie in \[1e-18, 1e\+12\] S.*1e\+308"),
    (dict(conductances=np.full((2, 2), 1e-300)), r"conductances must lie in"),
    (dict(conductances=[["1e-5", "1e-5"], ["1e-5", "1e-5"]]), r"conductances must be a numeric array.*<U4"),
    (dict(conductances=np.ones((2, 2), bool)), r"conductances must be a numeric array.*bool"),
    (dict(inputs=["0.1", "0.2"]), r"inputs must be 2 numeric voltages"),
    (dict(inputs=[1e308, 0.0]), r"inputs must be 2 finite voltages in \[-10000, 10000\] V.*1e\+308"),
    (dict(wires=2.5), r"wires must be a devices.Wires, got float"),
    (dict(fold_cells="no"), r"build_crossbar.fold_cells must be True or False"),
])
def test_build_crossbar_refuses_what_would_fail_later(kwargs, words):
    """Before: strings and bools were converted, G = 1e308 S built and then died in CHOLMOD
    ("matrix not positive definite"), wires=2.5 raised AttributeError, fold_cells="no"
    folded the cells."""
    args = dict(conductances=G2, assignment=A2, inputs=[0.1, 0.2])
    args.update(kwargs)
    with pytest.raises(ParameterError, match=words):
        build_crossbar(args.pop("conductances"), args.pop("assignment"), args.pop("inputs"), **args)


def test_build_crossbar_accepts_the_range_ends():
    net = build_crossbar(np.array([[1e-18, 1e12]]), np.array([[True, False]]), [1e4], wires=Wires(0, 0, 0))
    assert net.layout.conductances.tolist() == [[1e-18, 1e12]]


# ------------------------------------------------------------------ bulk values
@pytest.mark.parametrize("values", [["1.0"], [True], [None], np.array([1.0], dtype=object)])
def test_bulk_values_are_numbers_as_for_one_element(values):
    """Before: resistors([...], values=["1.0"]) stored 1.0 and [True] stored 1.0 ohm, while
    resistor("r1", ..., "1.0") was refused; [None] passed the bulk call."""
    b = NetlistBuilder()
    a = b.node("a")
    with pytest.raises(NetlistError, match="values must be numbers"):
        b.resistors(["r1"], [a], [0], values)


def test_huge_integer_values_are_named():
    """Before: Wires(10**400) raised OverflowError from float() in the zero test."""
    with pytest.raises(ParameterError, match="Wires.r_wordline must be 0 or a resistance"):
        Wires(10**400)


# ------------------------------------------------------------------ non-ASCII in cards and names
@pytest.mark.parametrize("card, ch", [
    ("R1 a\u2028b 1k", "\u2028"),   # line separator: Python's split() made it a blank
    ("R1 a\x85b 1k", "\x85"),       # NEL, the same
    ("R1 a\u00a0b 1k", "\u00a0"),   # no-break space, the same
    ("\u2028R1 a b 1k", "\u2028"),  # stripped as a leading blank
    ("R1 a b \u0661k", "\u0661"),   # Arabic-Indic digit one: read as 1000 ohm
    ("R1 \u212a b 1k", "\u212a"),   # Kelvin sign: lower-cased to node "k"
    ("R1 a b １k", "１"),            # fullwidth digit
])
def test_non_ascii_in_a_card_is_named(card, ch):
    """Before, each of these cards was read as ``R1 a b 1k`` (or with node ``k``)."""
    with pytest.raises(SpiceSyntaxError, match=f"non-ASCII character.*U\\+{ord(ch):04X}") as info:
        read_spice(f"t\nV1 a 0 1\n{card}\nR2 b 0 1k\n")
    assert info.value.line == 3


def test_non_ascii_is_fine_in_comments_and_titles():
    net = read_spice("Mesure \u00e0 25 \u00b0C\n* r\u00e9sistance\nV1 a 0 1 ; \u00e9\nR1 a 0 1k $ \u2126\n.title \u00e9t\u00e9\n")
    assert net.title == "\u00e9t\u00e9" and net.element("r1").value == 1e3


@pytest.mark.parametrize("call", [
    lambda b: b.resistor("r1", "\u212a", "0", 1.0),
    lambda b: b.resistor("r\u212a", "a", "0", 1.0),
    lambda b: b.resistors(["r\u212a"], [b.node("a")], [0], [1.0]),
])
def test_builder_names_are_ascii_before_lower_casing(call):
    """Before: "\\u212a" (Kelvin sign) lower-cased to "k" and passed as node/element "k"."""
    b = NetlistBuilder()
    with pytest.raises(NetlistError, match="invalid"):
        call(b)
        b.build()


# ------------------------------------------------------------------ subcircuit bombs
def test_expansion_bomb_is_refused_before_expanding(monkeypatch):
    """Before: the reader expanded cards until MAX_FLAT_ELEMENTS were made (a 100-line deck
    standing for 10**8 resistors took 150 s to be refused); now the count is known first."""
    from netlists import spice as spice_mod

    monkeypatch.setattr(spice_mod, "MAX_FLAT_ELEMENTS", 1000)
    made = []
    real = spice_mod._Reader.element
    monkeypatch.setattr(spice_mod._Reader, "element", lambda self, *a, **k: (made.append(1), real(self, *a, **k)))
    deck = ["t", "V1 1 0 1", "R0 1 0 1k"]
    for k in range(8):
        deck += [f".subckt s{k} a b"] + [f"X{i} a b s{k + 1}" for i in range(10)] + [".ends"]
    deck += [".subckt s8 a b", "R1 a b 1k", ".ends", "X0 1 0 s0"]
    with pytest.raises(SpiceSyntaxError, match="expands to more than 1000 elements") as info:
        read_spice("\n".join(deck) + "\n")
    assert info.value.line == len(deck) and info.value.card == "x0"
    assert made == []
    # under the cap the same shape still reads, and the count was exact
    monkeypatch.setattr(spice_mod, "MAX_FLAT_ELEMENTS", 102)
    small = ["t", "V1 1 0 1", ".subckt s a b"] + [f"R{i} a b 1k" for i in range(10)] + [".ends"]
    small += [".subckt u a b"] + [f"X{i} a b s" for i in range(10)] + [".ends", "X0 1 0 u"]
    assert len(read_spice("\n".join(small) + "\n").resistors) == 100
    with pytest.raises(SpiceSyntaxError, match="expands to more than 102"):
        read_spice("\n".join(small + ["R98 1 0 1", "R99 1 0 1", "R97 1 0 1"]) + "\n")


def test_self_and_mutual_recursion_named():
    with pytest.raises(SpiceSyntaxError, match=r"instantiates itself \(a -> b -> a\)"):
        read_spice("t\n.subckt a p\nx1 p b\n.ends\n.subckt b p\nx1 p a\n.ends\nv1 n 0 1\nx1 n a\n")


def test_read_spice_path_must_be_a_path():
    """Before: read_spice(path=123) raised TypeError from os.fspath."""
    with pytest.raises(NetlistError, match="path= must be a str or os.PathLike, got int"):
        read_spice(path=123)
