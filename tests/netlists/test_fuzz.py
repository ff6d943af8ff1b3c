"""Fuzz test of the SPICE pipeline (issue 10, "Done when"): ``read_spice`` -> ``to_ngspice``
-> ``read_spice`` and the native solve, on random text and on structured decks with
hostile names.

For every generated deck:

* nothing but :mod:`devices.errors` classes (and ``FileNotFoundError``) is raised;
* an accepted deck round-trips (read -> write -> read gives an equal netlist);
* every written line is one of the documented card shapes (``CARD_SHAPES``), and no
  written line starts a ``.control`` block, an include or a shell escape;
* each example is bounded in time (hypothesis ``deadline``; decks are small).

Element values in the structured decks stay in ranges whose solves are well
conditioned (the solver's handling of extreme values is issue 10, section 2, tested
with the solver); the reader and writer see the hostile part: names, tokens, text.
"""

import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crossbar
from devices.errors import SpiceSyntaxError, XbarError
from netlists import read_spice, to_ngspice
from netlists.spice import CARD_SHAPES

_SHAPES = [re.compile(s) for s in CARD_SHAPES.values()]
_NEVER = re.compile(r"^\s*(\.control|\.endc|\.include|\.inc|\.lib|shell|!|exec)", re.IGNORECASE)
SETTINGS = dict(deadline=timedelta(seconds=5), suppress_health_check=[HealthCheck.too_slow])


def _pipeline(text):
    """Run the pipeline on ``text``; return the netlist or None if it was refused by a named error."""
    try:
        net = read_spice(text)
    except SpiceSyntaxError as exc:  # deck text: every rejection names its line and card
        assert exc.errors and all(line is not None and card is not None for line, card, _ in exc.errors), exc.errors
        assert str(exc).startswith(f"line {exc.line}: ")
        return None
    deck = to_ngspice(net)
    lines = deck.splitlines()
    for ln in lines:
        assert any(s.fullmatch(ln) for s in _SHAPES), f"written line outside the card shapes: {ln!r}"
        assert not _NEVER.match(ln), ln
    assert "\r" not in deck and "\x00" not in deck
    back = read_spice(deck)
    assert back == net, "read -> write -> read changed the netlist"
    assert back.models == net.models
    assert to_ngspice(back) == deck
    try:
        ds = crossbar.solve(net)
    except XbarError:
        return net
    for name in ds.data_vars:
        assert ds[name].dims is not None
    return net


# ------------------------------------------------------------------ random text
_HEADS = ["r1", "R2", "v1", "V2", "i1", "c1", "l1", "b1", "m1", "x1", "xa", "d1", "q1", "e1", ".param", ".subckt",
          ".ends", ".model", ".op", ".end", ".options", ".title", ".control", ".endc", ".include", ".lib", "shell",
          "!rm", "+", "*", ";", ".print", ".tran", ".ic", ".temp"]
_TOKENS = ["0", "gnd", "1", "2", "a", "b", "x.y", "n_1", "in", "out", "s", "sub", "nm", "nmos", "pmos", "dc", "DC",
           "1k", "10meg", "1e3", "-1", "0.5", "1e999", "1e-400", "abc", "{a*2}", "{1/0}", "{a}", "{", "}", "a=1",
           "m=2", "m=0", "w=1u", "l=1u", "r=1k", "(level=1", "kp=1e-4)", "vto=0.4", "params:", "=", "'a*2'",
           "I=1e-5*0.25*sinh((V(a)-V(0))/0.25)", "I=1e-5*0.25*sinh((V(1)-V(2))/0.25)", ".control", "a\x00",
           "a\u2028b", "é", "\t", "$", ";", "1" * 150, "(", ")", "**", "2**1000", "r.x1.r1", "x1.n3"]
_line = st.lists(st.one_of(st.sampled_from(_TOKENS), st.text(max_size=6)), max_size=7).map(" ".join)
_card = st.tuples(st.sampled_from(_HEADS), _line).map(" ".join)


@settings(max_examples=250, **SETTINGS)
@given(st.lists(st.one_of(_card, st.text(max_size=30)), max_size=12), st.sampled_from(["\n", "\r\n"]))
def test_fuzz_random_text(cards, sep):
    _pipeline(sep.join(["fuzz title"] + cards) + sep)


@settings(max_examples=100, **SETTINGS)
@given(st.text(max_size=200))
def test_fuzz_arbitrary_strings(text):
    try:
        read_spice(text + "\n")
        read_spice(text)
    except (XbarError, FileNotFoundError):
        pass


# ------------------------------------------------------------------ structured decks
_HOSTILE = ["a\n.control", "shell", ".endc", "!x", "a b", "a;b", "a$b", "a\x00", "a\r", "é", "a=b", "{a}", "+",
            "*", "a(b)", "v(a)", "'", '"', "\\", "a,b"]
_CLEAN_NODES = ["0", "gnd", "1", "2", "3", "a", "b", "wl0_1", "x.y", "n-1", "a[2]", "q<3>", "c:d"]


def _mostly(clean, hostile):
    """One in ten draws is hostile, so that decks are both refused and accepted often."""
    # (hypothesis favours boundary integers, so the hostile tenth sits away from 0 and 99)
    return st.integers(0, 99).flatmap(lambda k: st.sampled_from(hostile if k % 10 == 7 else clean))


_RESISTANCE = ["1k", "2.2k", "10meg", "470", "1e3", "{rr}", "{2*rr}", "{rr/4+1}"]
_voltage = st.sampled_from(["0", "0.1", "1", "-0.2", "{vv}", "{vv*2}", "DC 0.3", "dc {vv}"])


def _other(node):
    """A clean node distinct from ``node`` (0 and gnd are one node)."""
    ground = {"0", "gnd"}
    return st.sampled_from([n for n in _CLEAN_NODES if n != node and not {n, node} <= ground])


@st.composite
def _deck(draw):
    """A deck of known card shapes; half the decks also carry hostile names, values or cards."""
    hostile = draw(st.booleans())

    def pick(clean, bad):
        return draw(_mostly(clean, bad) if hostile else st.sampled_from(clean))

    lines = [pick(["structured", "* star title", ".control"], ["x\u2028y", "t\x1b[2J"])]
    lines.append(".param rr=1k vv=0.2")
    lines.append(".model nm nmos (level=1 vto=0.4 kp=2e-4 lambda=0.01 is=0 js=0)")
    if pick([True], [False]):
        lines += [".subckt cell top bot params: g=10u", "R1 top mid {1/g}", "Rb mid bot 1k", ".ends cell"]
    for k in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from("rrrvvicclbmx"))
        name = kind + pick(["1", "2", "3", "a", "_x", ".y", "[0]"], _HOSTILE) + str(k)
        n1 = pick(_CLEAN_NODES, _HOSTILE)
        n2 = draw(_other(n1)) if not hostile else pick(_CLEAN_NODES, _HOSTILE)
        if kind == "r":
            extra = pick(["", " m=2", " M=3"], [" m=0", " tc1=1"])
            lines.append(f"{name} {n1} {n2} {pick(_RESISTANCE, ['0', '-5', '{rr/0}'])}{extra}")
        elif kind in "vi":
            lines.append(f"{name} {n1} {n2} {draw(_voltage)}")
        elif kind == "c":
            lines.append(f"{name} {n1} {n2} {pick(['1p', '3f', '{rr*1f}'], ['0'])}")
        elif kind == "l":
            lines.append(f"{name} {n1} {n2} 1u")
        elif kind == "b":
            a, b = (n1, n2) if pick([True], [False]) else (n2, n1)
            lines.append(f"{name} {n1} {n2} I=1e-5*0.25*sinh((V({a})-V({b}))/0.25)")
        elif kind == "m":
            lines.append(f"{name} {n1} {pick(_CLEAN_NODES, _HOSTILE)} {n2} 0 nm W=1u L=100n")
        else:
            lines.append(f"{name} {n1} {n2} cell" + pick(["", " g=20u", " g={rr*1e-8}"], [" h=1"]))
    lines.append(pick([".op", ".end", ".options reltol=1e-6", ""], [".control", "shell ls", ".lib x"]))
    return "\n".join(lines) + "\n"


@settings(max_examples=250, **SETTINGS)
@given(_deck())
def test_fuzz_structured_decks(text):
    _pipeline(text)


def test_pipeline_accepts_a_clean_deck():
    """The fuzz pipeline does accept and solve a deck (so the fuzz tests exercise the whole path)."""
    net = _pipeline("clean\n.param rr=1k\nV1 1 0 DC 0.2\nR1 1 2 {rr}\nR2 2 0 {2*rr}\nC1 2 0 1p\n.end\n")
    assert net is not None and net.n_elements == 4
    ds = crossbar.solve(net)
    assert float(ds.v.sel(node="2")) == pytest.approx(0.2 * 2 / 3, rel=1e-12)
