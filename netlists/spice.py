"""SPICE text in and out, for one documented subset.

``to_ngspice(netlist, options=None) -> str``
    An ngspice deck: title line, ``.options`` with tolerances tight enough for the
    parity tests, ``.model`` cards, one card per element, ``.op``, ``.end``.  Values are
    written with 17 significant digits, so a deck read back gives the same netlist.

``read_spice(text_or_path) -> Netlist``
    Accepts exactly this subset (case-insensitive; the first line is the title, as in
    SPICE):

    ========================================  ==========================================
    card                                      notes
    ========================================  ==========================================
    ``* comment``                             whole-line comment; ``;`` or `` $ `` start
                                              an end-of-line comment
    ``+ ...``                                 continues the previous card
    ``R<name> n1 n2 value``                   ``r=value`` also accepted
    ``V<name> n+ n- [DC] value``
    ``I<name> n+ n- [DC] value``
    ``M<name> d g s b model [W=w] [L=l]``     defaults W = L = 100 um (ngspice's
                                              defaults)
    ``C<name> n1 n2 value``                   farad (open at DC)
    ``L<name> n1 n2 value``                   henry (a short at DC)
    ``B<name> n1 n2 I=g*v0*sinh((V(n1)-V(n2))/v0)``  a sinh cell, exactly this shape
                                              (plain numbers, no spaces)
    ``.model name nmos|pmos (level=1 ...)``   parameters ``level`` (1 only), ``vto``,
                                              ``kp``, ``lambda``; ``is``/``js`` only 0
    ``.op``, ``.options ...``, ``.end``       ``.options`` is accepted and ignored
                                              (tolerances are solver arguments)
    ``.title text``
    ========================================  ==========================================

    Numbers take SPICE's suffixes ``t g meg k m u n p f`` (and ``mil``) followed by
    optional unit letters (``10kohm``).  Everything else is rejected with
    :class:`devices.errors.SpiceSyntaxError`, naming the line and the card: other
    element letters (D, E, X, ...), dot commands such as ``.tran``, ``.param``,
    ``.subckt``, and never-passed-on input: ``.include``/``.lib`` (file access),
    ``.control``/``.endc`` blocks and shell escapes (``!``, ``shell``).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from devices.errors import NetlistError, SpiceSyntaxError
from netlists.netlist import GROUND, MOSModel, Netlist, NetlistBuilder

__all__ = ["to_ngspice", "read_spice", "parse_value", "DECK_OPTIONS"]

DECK_OPTIONS = {"reltol": 1e-6, "vntol": 1e-9, "abstol": 1e-15, "gmin": 1e-12}
"""Tolerances written into decks (with them, ngspice 39 agrees with an exact solve to
~1e-12 relative on linear crossbars and ~1e-12 on level-1 MOS crossbars up to N=128,
see shared/FACTS.md)."""

_SUFFIX = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "mil": 25.4e-6, "m": 1e-3, "u": 1e-6, "n": 1e-9,
           "p": 1e-12, "f": 1e-15}
_NUM = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)(meg|mil|[tgkmunpf])?([a-z]*)$")
_FORBIDDEN = {
    ".control": ".control blocks are never passed to ngspice",
    ".endc": ".control blocks are never passed to ngspice",
    ".include": ".include reads other files and is not accepted",
    ".inc": ".include reads other files and is not accepted",
    ".lib": ".lib reads other files and is not accepted",
    ".shell": "shell commands are never passed to ngspice",
}
_ACCEPTED_DOT = (".model", ".op", ".options", ".option", ".end", ".title")
_MODEL_PARAMS = {"level", "vto", "kp", "lambda", "is", "js"}


def _fmt(x: float) -> str:
    return repr(float(x)) if math.isfinite(x) else str(x)


def to_ngspice(netlist: Netlist, options: dict | None = None) -> str:
    """Write ``netlist`` as an ngspice deck (see the module docstring).

    Parameters
    ----------
    netlist : Netlist
    options : dict, optional
        ``.options`` values; default :data:`DECK_OPTIONS`.
    """
    opts = dict(DECK_OPTIONS if options is None else options)
    title = re.sub(r"[\r\n]+", " ", netlist.title).strip() or "netlist"
    lines = [f"* {title}" if not title.startswith("*") else title]
    if opts:
        lines.append(".options " + " ".join(f"{k}={_fmt(v)}" for k, v in opts.items()))
    for m in netlist.models.values():
        lines.append(f".model {m.name} {m.polarity} (level=1 vto={_fmt(m.vto)} kp={_fmt(m.kp)} "
                     f"lambda={_fmt(m.lambda_)} is=0 js=0)")
    nodes = netlist.nodes
    R = netlist.resistors
    lines.extend(f"{n} {nodes[a]} {nodes[b]} {_fmt(v)}" for n, a, b, v in
                 zip(R.names, R.n1.tolist(), R.n2.tolist(), R.value.tolist()))
    for table in (netlist.vsources, netlist.isources):
        lines.extend(f"{n} {nodes[a]} {nodes[b]} DC {_fmt(v)}" for n, a, b, v in
                     zip(table.names, table.npos.tolist(), table.nneg.tolist(), table.dc.tolist()))
    M = netlist.mosfets
    models = netlist.model_names
    lines.extend(f"{n} {nodes[d]} {nodes[g]} {nodes[s]} {nodes[b]} {models[k]} W={_fmt(w)} L={_fmt(l)}"
                 for n, d, g, s, b, k, w, l in zip(M.names, M.d.tolist(), M.g.tolist(), M.s.tolist(),
                                                    M.b.tolist(), M.model.tolist(), M.w.tolist(), M.l.tolist()))
    for table in (netlist.capacitors, netlist.inductors):
        lines.extend(f"{n} {nodes[a]} {nodes[b]} {_fmt(v)}" for n, a, b, v in
                     zip(table.names, table.n1.tolist(), table.n2.tolist(), table.value.tolist()))
    B = netlist.sinh_cells
    lines.extend(_sinh_card(n, nodes[a], nodes[b], g, v0) for n, a, b, g, v0 in
                 zip(B.names, B.n1.tolist(), B.n2.tolist(), B.g.tolist(), B.v0.tolist()))
    lines += [".op", ".end", ""]
    return "\n".join(lines)


def _sinh_card(name, n1, n2, g, v0) -> str:
    """The one B-card shape of a sinh cell."""
    return f"{name} {n1} {n2} I={_fmt(g)}*{_fmt(v0)}*sinh((V({n1})-V({n2}))/{_fmt(v0)})"


_PLAIN_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?"
_SINH_EXPR = re.compile(rf"i=({_PLAIN_NUM})\*({_PLAIN_NUM})\*sinh\(\(v\(([^()\s]+)\)-v\(([^()\s]+)\)\)/({_PLAIN_NUM})\)")


def _read_sinh(tok, no, head):
    """(g, v0) of a B card in the one accepted shape, else SpiceSyntaxError."""
    shape = "'B<name> n1 n2 I=<g>*<v0>*sinh((V(n1)-V(n2))/<v0>)'"
    m = _SINH_EXPR.fullmatch(tok[3]) if len(tok) == 4 and len(tok[3]) <= 512 else None
    if m is None:
        raise SpiceSyntaxError(f"{head}: behavioural sources are accepted only as sinh cells {shape}",
                               line=no, card=head)
    g, v0, a, b, v0b = m.groups()
    if (a, b) != (tok[1], tok[2]):
        raise SpiceSyntaxError(f"{head}: the sinh cell's V({a})-V({b}) must name its own terminals "
                               f"{tok[1]} and {tok[2]} ({shape})", line=no, card=head)
    if float(v0) != float(v0b):
        raise SpiceSyntaxError(f"{head}: the two v0 of a sinh cell must be equal, got {v0} and {v0b} ({shape})",
                               line=no, card=head)
    return float(g), float(v0)


def parse_value(token: str, *, line: int | None = None, card: str | None = None) -> float:
    """A SPICE number with optional scale suffix and unit letters (``1.5k``, ``10meg``, ``2.2uF``)."""
    m = _NUM.match(token.strip().lower())
    if not m:
        raise SpiceSyntaxError(f"{card or 'card'}: cannot read number {token!r}", line=line, card=card)
    value = float(m.group(1)) * _SUFFIX.get(m.group(2) or "", 1.0)
    if not math.isfinite(value):
        raise SpiceSyntaxError(f"{card}: number {token!r} is not finite", line=line, card=card)
    return value


def _logical_lines(text: str):
    """(line number, text) of each card after comments and continuations."""
    out = []
    for no, raw in enumerate(text.splitlines(), start=1):
        if no == 1:
            out.append((no, raw))  # title
            continue
        s = raw.strip()
        if not s or s.startswith("*"):
            continue
        s = s.split(";", 1)[0]
        s = re.split(r"\s\$", s, maxsplit=1)[0].strip()
        if not s:
            continue
        if s.startswith("+"):
            if len(out) <= 1:
                raise SpiceSyntaxError("continuation line '+' with no card before it", line=no, card="+")
            pno, prev = out[-1]
            out[-1] = (pno, prev + " " + s[1:].strip())
            continue
        out.append((no, s))
    return out


def read_spice(source) -> Netlist:
    """Read a netlist from SPICE text (or a path to a file) in the documented subset.

    Raises
    ------
    SpiceSyntaxError
        For anything outside the subset, with the line number and the card.
    """
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and os.path.isfile(source)):
        path = Path(source)
        try:
            text = path.read_text()
        except OSError as exc:
            raise NetlistError(f"cannot read SPICE file {str(path)!r}: {exc}") from exc
    elif isinstance(source, str):
        text = source
    else:
        raise NetlistError(f"read_spice takes SPICE text or a path, got {type(source).__name__}")
    cards = _logical_lines(text)
    if not cards:
        raise SpiceSyntaxError("empty input: a SPICE deck needs a title line", line=1)
    title = cards[0][1].strip().lstrip("*").strip() or "netlist"
    b = NetlistBuilder(title)
    seen = {}
    ended = False
    for no, card in cards[1:]:
        low = card.lower()
        tok = low.split()
        if ended:
            raise SpiceSyntaxError("text after .end", line=no, card=tok[0])
        head = tok[0]
        if head.startswith("!") or head in ("shell", "exec"):
            raise SpiceSyntaxError("shell commands are never passed to ngspice", line=no, card=head)
        if head.startswith("."):
            if head in _FORBIDDEN:
                raise SpiceSyntaxError(_FORBIDDEN[head], line=no, card=head)
            if head not in _ACCEPTED_DOT:
                raise SpiceSyntaxError(f"unsupported dot command {head!r} (accepted: {', '.join(_ACCEPTED_DOT)})",
                                       line=no, card=head)
            if head == ".end":
                ended = True
            elif head == ".title":
                b.title = card.split(None, 1)[1] if len(tok) > 1 else b.title
            elif head == ".model":
                _read_model(b, tok, no)
            continue
        letter = head[0]
        if letter not in "rvimclb":
            raise SpiceSyntaxError(f"unsupported element {head!r}: the reader accepts R, V, I, M, C, L and B "
                                   "(sinh cell) cards", line=no, card=head)
        if head in seen:
            raise SpiceSyntaxError(f"element {head!r} defined twice (first on line {seen[head]})", line=no, card=head)
        seen[head] = no
        try:
            if letter in "rcl":
                if len(tok) != 4:
                    raise SpiceSyntaxError(f"{head}: expected '{letter.upper()}<name> n1 n2 value', got {len(tok)} "
                                           "fields", line=no, card=head)
                val = tok[3][2:] if tok[3].startswith(letter + "=") else tok[3]
                add = {"r": b.resistor, "c": b.capacitor, "l": b.inductor}[letter]
                add(head, _node(tok[1]), _node(tok[2]), parse_value(val, line=no, card=head))
            elif letter == "b":
                g, v0 = _read_sinh(tok, no, head)
                b.sinh_cell(head, _node(tok[1]), _node(tok[2]), g, v0)
            elif letter in "vi":
                rest = tok[3:]
                if rest and rest[0] == "dc":
                    rest = rest[1:]
                if len(tok) < 4 or len(rest) != 1:
                    raise SpiceSyntaxError(f"{head}: expected '{letter.upper()}<name> n+ n- [DC] value' "
                                           "(AC, PULSE, SIN ... are not supported)", line=no, card=head)
                add = b.vsource if letter == "v" else b.isource
                add(head, _node(tok[1]), _node(tok[2]), parse_value(rest[0], line=no, card=head))
            else:
                if len(tok) < 6:
                    raise SpiceSyntaxError(f"{head}: expected 'M<name> d g s b model [W=w] [L=l]'", line=no, card=head)
                params = {"w": 1e-4, "l": 1e-4}
                for p in tok[6:]:
                    k, _, v = p.partition("=")
                    if k not in ("w", "l") or not v:
                        raise SpiceSyntaxError(f"{head}: unsupported instance parameter {p!r} (only W= and L=)",
                                               line=no, card=head)
                    params[k] = parse_value(v, line=no, card=head)
                b.mosfet(head, *(_node(t) for t in tok[1:5]), tok[5], params["w"], params["l"])
        except NetlistError as exc:
            if isinstance(exc, SpiceSyntaxError):
                raise
            raise SpiceSyntaxError(str(exc), line=no, card=head) from exc
    try:
        return b.build()
    except SpiceSyntaxError:
        raise
    except NetlistError as exc:
        line = card = None
        for name, no in seen.items():
            if repr(name) in str(exc):
                line, card = no, name
                break
        raise SpiceSyntaxError(str(exc), line=line, card=card) from exc


def _node(tok: str) -> str:
    return GROUND if tok == "gnd" else tok


def _read_model(b: NetlistBuilder, tok, no):
    if len(tok) < 3:
        raise SpiceSyntaxError(".model needs a name and a type (nmos or pmos)", line=no, card=".model")
    name, kind = tok[1], tok[2]
    rest = " ".join(tok[2:])
    m = re.match(r"^(nmos|pmos)\s*(?:\((.*)\)|(.*))$", rest)
    if not m:
        raise SpiceSyntaxError(f".model {name}: type {kind!r} not supported (nmos or pmos only)", line=no, card=".model")
    kind = m.group(1)
    body = (m.group(2) if m.group(2) is not None else m.group(3) or "").replace(",", " ")
    body = re.sub(r"\s*=\s*", "=", body)
    params = {}
    for p in body.split():
        k, _, v = p.partition("=")
        if k not in _MODEL_PARAMS or not v:
            raise SpiceSyntaxError(f".model {name}: unsupported parameter {p!r} (accepted: {sorted(_MODEL_PARAMS)})",
                                   line=no, card=".model")
        params[k] = parse_value(v, line=no, card=".model")
    if params.get("level", 1) != 1:
        raise SpiceSyntaxError(f".model {name}: only level=1 is supported, got level={params['level']:g}", line=no,
                               card=".model")
    for k in ("is", "js"):
        if params.get(k, 0.0) != 0.0:
            raise SpiceSyntaxError(f".model {name}: {k}={params[k]:g} would add junction diodes, which the native "
                                   f"solver does not model; use {k}=0", line=no, card=".model")
    default_vto = 0.0
    try:
        b.model(MOSModel(name, kind, vto=params.get("vto", default_vto), kp=params.get("kp", 2e-5),
                         lambda_=params.get("lambda", 0.0)))
    except NetlistError as exc:
        raise SpiceSyntaxError(str(exc), line=no, card=".model") from exc
