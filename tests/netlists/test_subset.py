"""Issue 10, section 3, last bullet: the wider reader subset (.param and {expr}, .subckt/X,
m= multipliers, numeric nodes), and the arithmetic-only expression evaluator."""

import math

import pytest

from devices.errors import SpiceSyntaxError
from netlists import read_spice, to_ngspice
from netlists.expressions import MAX_EXPRESSION_DEPTH, evaluate


@pytest.mark.parametrize("text, value", [
    ("1+2*3", 7.0), ("(1+2)*3", 9.0), ("-2**2", -4.0), ("2**3**2", 512.0), ("2**-1", 0.5), ("--3", 3.0),
    ("+4", 4.0), ("10/4", 2.5), ("1k*2", 2000.0), ("2.2u", 2.2e-6), ("1e3", 1000.0), ("rr/2", 500.0),
    ("3*(rr - 1k) + 1", 1.0), ("1meg", 1e6), (" 7 ", 7.0),
])
def test_expressions(text, value):
    assert evaluate(text, {"rr": 1000.0}) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize("text, words", [
    ("__import__('os').system('ls')", "unexpected"),
    ("exp(1)", "function 'exp' is not accepted"),
    ("a.b", "unexpected"),
    ("x", "unknown parameter 'x'"),
    ("1/0", "division by zero"),
    ("1/(rr-rr)", "division by zero"),
    ("(-8)**(1/3)", "not a finite real number"),
    ("10**400", "not a finite real number"),
    ("1e308*10", "not a finite real number"),
    ("(1", "missing ')'"),
    ("1)", "unexpected ')'"),
    ("1 2", "unexpected '2'"),
    ("", "empty"),
    ("*", "unexpected '*'"),
    ("1+" * 600 + "1", "too long"),
    ("(" * (MAX_EXPRESSION_DEPTH + 1) + "1" + ")" * (MAX_EXPRESSION_DEPTH + 1), "nested deeper"),
    ("-" * (MAX_EXPRESSION_DEPTH + 1) + "1", "nested deeper"),
    ("2**" * 60 + "2", "nested deeper"),
    ("1;2", "unexpected ';2'"),
])
def test_expression_errors(text, words):
    with pytest.raises(SpiceSyntaxError, match=None) as info:
        evaluate(text, {"rr": 1000.0}, line=5, card=".param")
    assert words in str(info.value)
    assert info.value.line == 5


PARAM_DECK = """params
.param vdd=1.2 rr = 2k
.param half={rr/2} twice='2*rr'
V1 in 0 DC {vdd}
R1 in mid {half}
R2 mid 0 {twice + 1k}
C1 mid 0 {1p*3}
"""


def test_param_values():
    n = read_spice(PARAM_DECK)
    assert n.element("v1").dc == 1.2
    assert n.element("r1").value == 1000.0
    assert n.element("r2").value == 5000.0
    assert n.element("c1").value == pytest.approx(3e-12, rel=1e-15)


def test_param_errors_name_line():
    with pytest.raises(SpiceSyntaxError) as info:
        read_spice("t\n.param a=1\nR1 x 0 {a*b}\nR2 x 0 {exp(a)}\nR3 x 0 {a/0}\n.param c=__class__\n")
    assert [(e[0], e[1]) for e in info.value.errors] == [(3, "r1"), (4, "r2"), (5, "r3"), (6, ".param")]
    msg = str(info.value)
    assert "unknown parameter 'b'" in msg and "function 'exp'" in msg and "division by zero" in msg
    assert "unknown parameter '__class__'" in msg


SUBCKT_DECK = """hierarchy
.param rload=1k
.subckt cell top bot params: g=10u
R1 top mid {1/g}
M1 mid gate bot 0 nacc W=1u L=100n m=2
Vg gate 0 DC 1.0
.ends cell
.subckt pair a b
X1 a c cell g=20u
X2 c b cell
Rm c 0 {rload}
.ends
.model nacc nmos (level=1 vto=0.4 kp=200u)
V1 1 0 DC 0.2
XP 1 2 pair
R9 2 0 {rload}
"""


def test_subckt_flattening_names_and_nodes():
    n = read_spice(SUBCKT_DECK)
    assert n.element("r.xp.x1.r1") .value == pytest.approx(5e4, rel=1e-14)  # g=20u overrides the default
    assert n.element("r.xp.x2.r1").value == pytest.approx(1e5, rel=1e-14)  # the default g=10u
    assert n.element("r.xp.rm").value == 1000.0
    m1 = n.element("m.xp.x1.m1")
    assert (m1.d, m1.g, m1.s, m1.b) == ("xp.x1.mid", "xp.x1.gate", "xp.c", "0")
    assert m1.w == pytest.approx(2e-6, rel=1e-15)  # m=2 scales W
    assert n.element("r.xp.x1.r1").n1 == "1"  # port a of pair -> node 1
    assert n.element("r.xp.x2.r1").n1 == "xp.c"
    assert n.element("m.xp.x2.m1").s == "2"
    assert n.element("v.xp.x1.vg").npos == "xp.x1.gate"
    assert n.element("r9").n1 == "2"
    assert n.n_elements == 9
    # the flattened netlist writes and reads back as the same netlist
    assert read_spice(to_ngspice(n)) == n


def test_multipliers():
    n = read_spice("t\nR1 a 0 1k m=4\nC1 a 0 1p m=3\nL1 a b 1u m=2\nR2 b 0 r=2k\nM1 a a 0 0 nm W=1u L=1u M=2\n"
                   ".model nm nmos\nV1 a 0 1\n")
    assert n.element("r1").value == 250.0
    assert n.element("c1").value == pytest.approx(3e-12, rel=1e-15)
    assert n.element("l1").value == pytest.approx(0.5e-6, rel=1e-15)
    assert n.element("r2").value == 2000.0
    assert n.element("m1").w == pytest.approx(2e-6, rel=1e-15)


@pytest.mark.parametrize("text, line, card, words", [
    ("t\nR1 a 0 1k m=0\n", 2, "r1", ["multiplier m must be > 0"]),
    ("t\nR1 a 0 1k tc1=0.1\n", 2, "r1", ["expected 'R<name> n1 n2 value [m=k]'"]),
    ("t\nR1 a m=2 0 1k\n", 2, "r1", ["expected 'R<name>"]),
    ("t\nV1 a 0 1 m=2\n", 2, "v1", ["AC, PULSE"]),
    ("t\nX1 a b\n.subckt s p q\nR1 p q 1k\n.ends\n", 2, "x1", ["unknown subcircuit 'b'"]),
    ("t\n.subckt s p q\nR1 p q 1k\n.ends\nX1 a s\n", 5, "x1", ["has 2 ports ['p', 'q'], got 1 nodes"]),
    ("t\n.subckt s p q\nR1 p q 1k\n.ends\nX1 a b s r=1\n", 5, "x1", ["has no parameter 'r'"]),
    ("t\n.subckt s p q\nX1 p q s\n.ends\nX1 a b s\n", 3, "x1", ["instantiates itself (s -> s)"]),
    ("t\n.subckt s p q\nR1 p q 1k\n", 2, ".subckt", ["has no .ends"]),
    ("t\n.subckt s p q\n.subckt u a\n.ends\n.ends\n", 3, ".subckt", ["nested .subckt definitions"]),
    ("t\n.subckt s p q\n.model nm nmos\n.ends\nX1 a b s\n", 3, ".model", ["define models at top level"]),
    ("t\n.ends\n", 2, ".ends", [".ends without .subckt"]),
    ("t\n.subckt s p q\nR1 p q 1k\n.ends u\n", 4, ".ends", ["does not close .subckt 's'"]),
    ("t\n.subckt s p p\n.ends\n", 2, ".subckt", ["a port is listed twice"]),
    ("t\n.subckt s 0 p\n.ends\n", 2, ".subckt", ["ground (0, gnd) cannot be a port"]),
    ("t\n.subckt s p q\nR1 p q 0\n.ends\nX1 a b s\n", 3, "r1", ["in subcircuit instance x1", "value must be"]),
    ("t\n.subckt s p q\nQ1 p q 0 npn\n.ends\nX1 a b s\n", 3, "q1", ["unsupported element 'q1' (in subcircuit"]),
    ("t\nR1 a 0 {1+}\n", 2, "r1", ["unexpected end"]),
    ("t\nR1 a 0 {1+{2}}\n", 2, "r1", ["nested braces"]),
    ("t\nR1 a 0 {1+2\n", 2, "r1", ["unbalanced braces"]),
])
def test_subset_rejections(text, line, card, words):
    with pytest.raises(SpiceSyntaxError) as info:
        read_spice(text)
    assert (info.value.line, info.value.card) == (line, card)
    for w in words:
        assert w in str(info.value)


def test_deep_but_bounded_nesting():
    deck = ["t"]
    for k in range(15):
        deck += [f".subckt s{k} a b", f"X1 a b s{k + 1}" if k < 14 else "R1 a b 1k", ".ends"]
    deck += ["X0 1 0 s0", "V1 1 0 1"]
    n = read_spice("\n".join(deck) + "\n")
    assert n.element("r." + ".".join(["x0"] + ["x1"] * 14) + ".r1").n1 == "1"
    too_deep = ["t"]
    for k in range(25):
        too_deep += [f".subckt s{k} a b", f"X1 a b s{k + 1}" if k < 24 else "R1 a b 1k", ".ends"]
    too_deep += ["X0 1 0 s0"]
    with pytest.raises(SpiceSyntaxError, match="nested deeper than 20"):
        read_spice("\n".join(too_deep) + "\n")


def test_exponential_expansion_is_capped(monkeypatch):
    from netlists import spice as spice_mod

    monkeypatch.setattr(spice_mod, "MAX_FLAT_ELEMENTS", 1000)
    deck = ["t"]
    for k in range(5):  # 10**5 resistors after flattening
        deck += [f".subckt s{k} a b"] + [f"X{i} a b s{k + 1}" for i in range(10)] + [".ends"]
    deck += [".subckt s5 a b", "R1 a b 1k", ".ends"]
    deck += ["X0 1 0 s0"]
    with pytest.raises(SpiceSyntaxError, match="expands to more than 1000 elements"):
        read_spice("\n".join(deck) + "\n")


def test_numeric_nodes_and_gnd():
    n = read_spice("classic\nV1 1 0 DC 5\nR1 1 2 1k\nR2 2 GND 1k\n")
    assert n.nodes == ("0", "1", "2")
    assert n.element("r2").n2 == "0"
    assert math.isclose(n.element("v1").dc, 5.0)
