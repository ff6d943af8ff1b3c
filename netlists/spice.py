"""SPICE text in and out, for one documented subset (docs/netlists.md has the full tables).

``to_ngspice(netlist, options=None) -> str``
    An ngspice deck: title line, ``.options`` with tolerances tight enough for the
    parity tests, ``.model`` cards, one card per element, ``.op``, ``.end``.  Values are
    written with 17 significant digits, so a deck read back gives the same netlist.
    Every line is checked against the documented card shapes (:data:`CARD_SHAPES`)
    before the text is returned: a name or title that would inject anything else
    (a newline, ``.control``, a shell escape) raises :class:`DeckInjectionError`,
    whatever built the netlist.

``read_spice(source=None, *, path=None) -> Netlist``
    Reads deck text (a ``str`` containing a newline) or a file (a ``pathlib.Path``, or
    ``path=``), at most :data:`MAX_DECK_BYTES`, in this subset (case-insensitive; the
    first line is the title, as in SPICE):

    ===============================================  ====================================
    card                                             notes
    ===============================================  ====================================
    ``* comment``, ``; comment``, `` $ comment``     comments (whole line / end of line)
    ``+ ...``                                        continues the previous card
    ``R<name> n1 n2 value [m=k]``                    ohm (``r=value`` too); ``m``: R / m
    ``C<name> n1 n2 value [m=k]``                    farad, open at DC; ``m``: C * m
    ``L<name> n1 n2 value [m=k]``                    henry, a short at DC; ``m``: L / m
    ``V<name> n+ n- [DC] value``                     volt
    ``I<name> n+ n- [DC] value``                     ampere, out of n+ through the source
    ``M<name> d g s b model [W=w] [L=l] [m=k]``      metre; defaults W = L = 100 um;
                                                     ``m``: W * m
    ``B<name> n1 n2 I=g*v0*sinh((V(n1)-V(n2))/v0)``  sinh cell, exactly this shape
    ``X<name> nodes... subckt [k=v ...]``            flattened (see below)
    ``.subckt name ports... [params:] [k=v ...]``    at top level; ``.ends [name]``
    ``.param k=v ...``                               ``v`` a number or an expression
    ``.model name nmos|pmos (level=1 ...)``          ``level`` (1), ``vto``, ``kp``,
                                                     ``lambda``; ``is``/``js`` only 0
    ``.op``, ``.title text``, ``.end``               as in SPICE
    ``.options .temp .save .print .ic .nodeset``     ignored, with one logged warning
                                                     listing them
    ===============================================  ====================================

    Values are numbers with SPICE's suffixes ``t g meg k m u n p f mil`` and optional
    unit letters (``10kohm``), or ``{expr}``: numbers, ``.param`` names, ``+ - * / **``,
    parentheses and unary minus, evaluated by :mod:`netlists.expressions` (no
    ``eval``).  A subcircuit instance ``x1`` is flattened the way ngspice does it:
    element ``r1`` inside becomes ``r.x1.r1``, local node ``n3`` becomes ``x1.n3``
    (nested: ``r.x1.x2.r1``, ``x1.x2.n3``); ports map to the instance's nodes; ``0``
    and ``gnd`` stay global.  Everything else is refused with one
    :class:`SpiceSyntaxError` naming every bad line and its card (up to
    :data:`MAX_REPORTED_ERRORS`); ``.control``/``.endc``, ``.include``/``.lib``,
    ``shell`` and ``!`` lines never pass.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import re
import stat
from pathlib import Path

from devices.errors import DeckInjectionError, DeckTooLargeError, NetlistError, SpiceSyntaxError
from netlists.expressions import PARAM_NAME, evaluate, scaled
from netlists.netlist import (GROUND, NAME_PATTERN, NODE_PATTERN, MOSModel, Netlist, NetlistBuilder, _CHARS,
                              check_title)

__all__ = ["to_ngspice", "read_spice", "parse_value", "DECK_OPTIONS", "CARD_SHAPES", "MAX_DECK_BYTES",
           "MAX_REPORTED_ERRORS", "MAX_NUMBER_LENGTH"]

log = logging.getLogger(__name__)

DECK_OPTIONS = {"reltol": 1e-6, "vntol": 1e-9, "abstol": 1e-15, "gmin": 1e-12}
"""Tolerances written into decks (with them, ngspice 39 agrees with an exact solve to
~1e-12 relative on linear crossbars and ~1e-12 on level-1 MOS crossbars up to N=128,
see shared/FACTS.md)."""

MAX_DECK_BYTES = 256 * 2**20
"""Largest deck read: 256 MiB (bytes of a file, characters of a string)."""
MAX_REPORTED_ERRORS = 50
"""Bad lines listed in one :class:`SpiceSyntaxError` before the reader stops."""
MAX_NUMBER_LENGTH = 100
"""Longest number token, characters (a longer one is an error, never a slow parse)."""
MAX_SUBCKT_DEPTH = 20
"""Deepest nesting of subcircuit instances."""
MAX_FLAT_ELEMENTS = 5_000_000
"""Most elements a deck may expand to after flattening subcircuits."""

_SUFFIX = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "mil": 25.4e-6, "m": 1e-3, "u": 1e-6, "n": 1e-9,
           "p": 1e-12, "f": 1e-15}
# unambiguous (no nested quantifiers over the same digits): linear time
_NUM = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)(meg|mil|[tgkmunpf])?([a-z]*)")
_FORBIDDEN = {
    ".include": ".include reads other files and is not accepted",
    ".inc": ".include reads other files and is not accepted",
    ".lib": ".lib reads other files and is not accepted",
    ".shell": "shell commands are never passed to ngspice",
}
_IGNORED = (".options", ".option", ".opt", ".temp", ".save", ".print", ".ic", ".nodeset")
_ACCEPTED_DOT = (".model", ".op", ".end", ".title", ".param", ".subckt", ".ends") + _IGNORED
_MODEL_PARAMS = {"level", "vto", "kp", "lambda", "is", "js"}

# ------------------------------------------------------------------------- writer
_OUT_NUM = r"-?\d+(?:\.\d+)?(?:e[+-]\d+)?"  # repr() of a finite float
_REST = rf"[{_CHARS}]*"
CARD_SHAPES = {
    "title": r"\* [^\x00-\x1f\x7f]*",
    ".options": rf"\.options(?: [a-z][a-z0-9_]*={_OUT_NUM})+",
    ".model": rf"\.model {NAME_PATTERN} (?:nmos|pmos) \(level=1 vto={_OUT_NUM} kp={_OUT_NUM} "
              rf"lambda={_OUT_NUM} is=0 js=0\)",
    "r": rf"r{_REST} {NODE_PATTERN} {NODE_PATTERN} {_OUT_NUM}",
    "v": rf"v{_REST} {NODE_PATTERN} {NODE_PATTERN} DC {_OUT_NUM}",
    "i": rf"i{_REST} {NODE_PATTERN} {NODE_PATTERN} DC {_OUT_NUM}",
    "m": rf"m{_REST} {NODE_PATTERN} {NODE_PATTERN} {NODE_PATTERN} {NODE_PATTERN} {NAME_PATTERN} "
         rf"W={_OUT_NUM} L={_OUT_NUM}",
    "c": rf"c{_REST} {NODE_PATTERN} {NODE_PATTERN} {_OUT_NUM}",
    "l": rf"l{_REST} {NODE_PATTERN} {NODE_PATTERN} {_OUT_NUM}",
    "b": rf"b{_REST} ({NODE_PATTERN}) ({NODE_PATTERN}) I={_OUT_NUM}\*{_OUT_NUM}\*"
         rf"sinh\(\(V\(\1\)-V\(\2\)\)/{_OUT_NUM}\)",
    ".op": r"\.op",
    ".end": r"\.end",
}
"""The only line shapes :func:`to_ngspice` emits (regular expressions, whole-line match)."""
_SHAPE_RE = {k: re.compile(v) for k, v in CARD_SHAPES.items()}


def _fmt(x: float) -> str:
    return repr(float(x))


def _checked(kind: str, lines: list) -> list:
    """``lines`` unchanged if each is a ``kind`` card, else DeckInjectionError."""
    rx = _SHAPE_RE[kind]
    for ln in lines:
        if not rx.fullmatch(ln):
            raise DeckInjectionError(f"to_ngspice refuses to write {ln[:120]!r}: not a {kind!r} card of the "
                                     "documented shapes (names: a letter, digit or _, then a-z 0-9 _ . : - [ ] "
                                     "< >; finite values)", text=ln)
    return lines


def to_ngspice(netlist: Netlist, options: dict | None = None) -> str:
    """Write ``netlist`` as an ngspice deck (see the module docstring).

    Parameters
    ----------
    netlist : Netlist
    options : dict, optional
        ``.options`` values (name -> finite number); default :data:`DECK_OPTIONS`.

    Returns
    -------
    str
        The deck, one card per line, every line one of :data:`CARD_SHAPES`.

    Raises
    ------
    DeckInjectionError
        A line would fall outside :data:`CARD_SHAPES` (a name or title with a newline,
        a control character or a character outside the name set; a non-finite value),
        whatever built the netlist.

    Examples
    --------
    >>> from netlists import NetlistBuilder, to_ngspice
    >>> b = NetlistBuilder("divider")
    >>> b.vsource("v1", "in", "0", 1.0)
    >>> b.resistor("r1", "in", "out", 1e3)
    >>> b.resistor("r2", "out", "0", 3e3)
    >>> print(to_ngspice(b.build(), options={}))
    * divider
    r1 in out 1000.0
    r2 out 0 3000.0
    v1 in 0 DC 1.0
    .op
    .end
    <BLANKLINE>
    """
    if not isinstance(netlist, Netlist):
        raise NetlistError(f"to_ngspice takes a netlists.Netlist, got {type(netlist).__name__}")
    opts = dict(DECK_OPTIONS if options is None else options)
    try:
        title = check_title(netlist.title).strip() or "netlist"
    except NetlistError as exc:
        raise DeckInjectionError(f"to_ngspice refuses the title: {exc}", text=str(netlist.title)) from None
    lines = _checked("title", [f"* {title}"])
    if opts:
        for k, v in opts.items():
            if isinstance(v, (str, bytes, bool)) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise DeckInjectionError(f"to_ngspice: option {k!r} must be a finite number, got {v!r}",
                                         text=f"{k}={v!r}")
        lines += _checked(".options", [".options " + " ".join(f"{k}={_fmt(v)}" for k, v in opts.items())])
    lines += _checked(".model", [f".model {m.name} {m.polarity} (level=1 vto={_fmt(m.vto)} kp={_fmt(m.kp)} "
                                 f"lambda={_fmt(m.lambda_)} is=0 js=0)" for m in netlist.models.values()])
    nodes = netlist.nodes
    R = netlist.resistors
    lines += _checked("r", [f"{n} {nodes[a]} {nodes[b]} {_fmt(v)}" for n, a, b, v in
                            zip(R.names, R.n1.tolist(), R.n2.tolist(), R.value.tolist())])
    for kind, table in (("v", netlist.vsources), ("i", netlist.isources)):
        lines += _checked(kind, [f"{n} {nodes[a]} {nodes[b]} DC {_fmt(v)}" for n, a, b, v in
                                 zip(table.names, table.npos.tolist(), table.nneg.tolist(), table.dc.tolist())])
    M = netlist.mosfets
    models = netlist.model_names
    lines += _checked("m", [f"{n} {nodes[d]} {nodes[g]} {nodes[s]} {nodes[b]} {models[k]} W={_fmt(w)} L={_fmt(l)}"
                            for n, d, g, s, b, k, w, l in zip(M.names, M.d.tolist(), M.g.tolist(), M.s.tolist(),
                                                              M.b.tolist(), M.model.tolist(), M.w.tolist(),
                                                              M.l.tolist())])
    for kind, table in (("c", netlist.capacitors), ("l", netlist.inductors)):
        lines += _checked(kind, [f"{n} {nodes[a]} {nodes[b]} {_fmt(v)}" for n, a, b, v in
                                 zip(table.names, table.n1.tolist(), table.n2.tolist(), table.value.tolist())])
    B = netlist.sinh_cells
    lines += _checked("b", [_sinh_card(n, nodes[a], nodes[b], g, v0) for n, a, b, g, v0 in
                            zip(B.names, B.n1.tolist(), B.n2.tolist(), B.g.tolist(), B.v0.tolist())])
    lines += [".op", ".end", ""]
    return "\n".join(lines)


def _sinh_card(name, n1, n2, g, v0) -> str:
    """The one B-card shape of a sinh cell."""
    return f"{name} {n1} {n2} I={_fmt(g)}*{_fmt(v0)}*sinh((V({n1})-V({n2}))/{_fmt(v0)})"


# ------------------------------------------------------------------------- values
def parse_value(token: str, *, line: int | None = None, card: str | None = None) -> float:
    """A SPICE number with optional scale suffix and unit letters (``1.5k``, ``10meg``, ``2.2uF``).

    Linear in the token's length, and tokens longer than :data:`MAX_NUMBER_LENGTH`
    characters are refused before any parsing.

    Raises
    ------
    SpiceSyntaxError
        Not a number, too long, or not finite (``1e400``).
    """
    token = str(token)
    if len(token) > MAX_NUMBER_LENGTH:
        raise SpiceSyntaxError(f"{card or 'card'}: number {token[:20]!r}... is too long ({len(token)} characters; "
                               f"at most {MAX_NUMBER_LENGTH})", line=line, card=card)
    m = _NUM.fullmatch(token.strip().lower())
    if not m:
        raise SpiceSyntaxError(f"{card or 'card'}: cannot read number {token!r}", line=line, card=card)
    value = scaled(m.group(1), m.group(2))
    if not math.isfinite(value):
        raise SpiceSyntaxError(f"{card or 'card'}: number {token!r} is not finite", line=line, card=card)
    return value


_PLAIN_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?"
_SINH_EXPR = re.compile(rf"i=({_PLAIN_NUM})\*({_PLAIN_NUM})\*sinh\(\(v\(([^()\s]+)\)-v\(([^()\s]+)\)\)/"
                        rf"({_PLAIN_NUM})\)")


# ------------------------------------------------------------------------- reader
def read_spice(source=None, *, path=None) -> Netlist:
    """Read a netlist from SPICE deck text or from a file, in the documented subset.

    Parameters
    ----------
    source : str or os.PathLike
        Deck text (a ``str`` with at least one newline: the title line, then cards) or
        a file as a ``pathlib.Path``.  A one-line ``str`` is never read as a file: if
        it looks like a file name, a missing file raises ``FileNotFoundError`` and an
        existing one :class:`NetlistError` asking for ``Path(...)`` or ``path=``.
    path : str or os.PathLike, optional
        The file to read, instead of ``source``.

    Raises
    ------
    SpiceSyntaxError
        Anything outside the subset; one exception lists every bad line with its line
        number and card (``exc.errors``), up to :data:`MAX_REPORTED_ERRORS`.  Also a
        file that is not UTF-8 text (the message names the file).
    DeckTooLargeError
        More than :data:`MAX_DECK_BYTES`.
    FileNotFoundError
        A path (or a one-line string that looks like one) that does not exist.

    Examples
    --------
    >>> from netlists import read_spice
    >>> net = read_spice('''divider
    ... .param rtop=1k
    ... V1 in 0 DC 1
    ... R1 in out {rtop}
    ... R2 out 0 {3*rtop}
    ... .end
    ... ''')
    >>> net.element("r2")
    Resistor(name='r2', n1='out', n2='0', value=3000.0)
    >>> net.nodes
    ('0', 'in', 'out')
    """
    text = _load(source, path)
    return _Reader(text).read()


def _load(source, path) -> str:
    if path is not None:
        if source is not None:
            raise NetlistError("read_spice: give deck text or path=, not both")
        if not isinstance(path, (str, os.PathLike)):
            raise NetlistError(f"read_spice: path= must be a str or os.PathLike, got {type(path).__name__} {path!r}")
        return _read_file(Path(os.fspath(path)))
    if isinstance(source, os.PathLike):
        return _read_file(Path(os.fspath(source)))
    if isinstance(source, str):
        if len(source) > MAX_DECK_BYTES:
            raise DeckTooLargeError(f"SPICE text of {len(source)} characters is over the reader's cap of "
                                    f"{MAX_DECK_BYTES} (netlists.spice.MAX_DECK_BYTES)", len(source), MAX_DECK_BYTES)
        if "\n" in source:
            return source
        return _one_line(source)
    raise NetlistError(f"read_spice takes SPICE text (a str with newlines) or a path (pathlib.Path, or path=), "
                       f"got {type(source).__name__}")


def _one_line(s: str):
    name = s.strip()
    if name and len(name) < 4096 and not any(ch.isspace() for ch in name) and "\x00" not in name:
        if os.path.lexists(name):
            raise NetlistError(f"read_spice({name!r}): a one-line string is not read as a file; pass "
                               f"pathlib.Path({name!r}) or path={name!r} to read it")
        raise FileNotFoundError(errno.ENOENT, "no such SPICE file (a one-line string looks like a file name; deck "
                                "text has a title line and cards on further lines)", name)
    raise SpiceSyntaxError("a one-line string is neither deck text (a title line, then cards on further lines) "
                           "nor a file name; pass deck text with newlines or a pathlib.Path", line=1)


def _read_file(p: Path) -> str:
    try:
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):
            raise NetlistError(f"SPICE file {str(p)!r} is not a regular file")
        with open(p, "rb") as f:
            data = f.read(MAX_DECK_BYTES + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise NetlistError(f"cannot read SPICE file {str(p)!r}: {exc.strerror or exc}") from exc
    if len(data) > MAX_DECK_BYTES:
        raise DeckTooLargeError(f"SPICE file {str(p)!r} is over the reader's cap of {MAX_DECK_BYTES} bytes "
                                "(netlists.spice.MAX_DECK_BYTES)", len(data), MAX_DECK_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpiceSyntaxError(f"SPICE file {str(p)!r} is not UTF-8 text (byte {exc.start}: "
                               f"{data[exc.start:exc.start + 1]!r})", line=line) from None
    return text.removeprefix("\ufeff")


class _Stop(Exception):
    """Too many errors: stop reading."""


class _Subckt:
    def __init__(self, name, ports, defaults, line):
        self.name, self.ports, self.defaults, self.line = name, ports, defaults, line
        self.body = []


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _bad_char(s: str):
    """The first control character of ``s`` other than tab, or None."""
    m = _CONTROL.search(s)
    return m.group() if m else None


class _Reader:
    """One pass over the cards for structure, one expanding them into a builder."""

    def __init__(self, text: str):
        self.text = text
        self.errors = []
        self.ignored = []
        self.seen = {}
        self.mosfets = []
        self.subckts = {}
        self.n_elements = 0

    # -- errors
    def error(self, line, card, message):
        if len(message) > 400:  # a deck's text is echoed in messages; keep a report readable
            message = message[:400] + "... (cut)"
        if card is not None and len(card) > 80:
            card = card[:80]
        self.errors.append((line, card, message))
        if len(self.errors) >= MAX_REPORTED_ERRORS:
            raise _Stop

    def guard(self, line, card, fn, *args, where=""):
        try:
            fn(*args)
        except SpiceSyntaxError as exc:
            msg = str(exc)
            msg = msg.split(": ", 1)[1] if exc.line is not None and msg.startswith(f"line {exc.line}: ") else msg
            self.error(line, card, msg)
        except NetlistError as exc:
            self.error(line, card, str(exc) + where)

    def report(self):
        errs = sorted(self.errors, key=lambda e: (e[0] is None, e[0] or 0))
        first = errs[0]
        msg = first[2]
        if len(errs) > 1:
            more = "\n".join(f"  line {ln}: {m}" if ln is not None else f"  {m}" for ln, _, m in errs[1:])
            stopped = f" (stopped after {MAX_REPORTED_ERRORS})" if len(errs) >= MAX_REPORTED_ERRORS else ""
            msg += f"\n{len(errs)} errors in this deck{stopped}; the others:\n{more}"
        return SpiceSyntaxError(msg, line=first[0], card=first[1], errors=errs)

    # -- text to cards
    def cards(self):
        """(line, tokens, raw text) of each card after comments and continuations."""
        out = []
        for no, raw in enumerate(self.text.split("\n"), start=1):
            raw = raw.removesuffix("\r")
            bad = _bad_char(raw)
            if no == 1:
                self.title_line = raw
                continue
            if bad is not None:
                words = raw.split()
                self.error(no, words[0].lower() if words else "", f"control character {bad!r} (U+{ord(bad):04X}) "
                                                                  "in the deck")
                continue
            s = raw.strip(" \t")  # ASCII blanks only: U+2028, U+0085, NBSP ... are characters of the card
            if not s or s.startswith("*"):
                continue
            if ";" in s:
                s = s.split(";", 1)[0]
            if "$" in s:
                s = re.split(r"[ \t]\$", s, maxsplit=1)[0]
            s = s.strip(" \t")
            if not s:
                continue
            if not s.isascii() and not s[:7].lower().startswith(".title"):
                # Python's split() and lower() would turn U+2028 or NBSP into a separator, the
                # Kelvin sign into "k", Arabic-Indic digits into numbers: never what ngspice reads
                ch = next(c for c in s if not c.isascii())
                words = s.split(None, 1)
                self.error(no, words[0].lower()[:80] if words else "", f"non-ASCII character {ch!r} "
                           f"(U+{ord(ch):04X}) in a card: names, numbers and keywords are ASCII (comments and "
                           "titles may hold any text)")
                continue
            if s.startswith("+"):
                if not out:
                    self.error(no, "+", "continuation line '+' with no card before it")
                    continue
                out[-1][1].append(s[1:])  # joined once below: no quadratic string growth
                continue
            out.append((no, [s]))
        cards = []
        for no, parts in out:
            s = " ".join(parts)
            toks = self.tokens(no, s.lower())
            if toks:
                cards.append((no, toks, s))
        return cards

    def tokens(self, no, card):
        """Whitespace-split tokens with ``k = v`` joined to ``k=v`` and ``{...}`` kept whole."""
        out, depth = [], 0  # out: the pieces of each token, joined once at the end
        for t in card.split():
            if out and (depth > 0 or t.startswith("=") or out[-1][-1].endswith("=")):
                out[-1].append(t)
            else:
                out.append([t])
            if "{" in t or "}" in t:
                for ch in t:
                    depth += (ch == "{") - (ch == "}")
                    if depth not in (0, 1):
                        break
            if depth not in (0, 1):
                self.error(no, out[0][0], "unbalanced or nested braces { } (an expression is one {...})")
                return None
        if depth:
            self.error(no, out[0][0], "unbalanced braces { } (an expression is one {...})")
            return None
        return ["".join(p) for p in out]

    # -- structure
    def read(self) -> Netlist:
        try:
            net = self._read()
        except _Stop:
            net = None
        if self.errors:
            raise self.report()
        return net

    def _read(self):
        cards = self.cards()
        title = self.title_line.strip().lstrip("*").strip() or "netlist"
        try:
            self.title = check_title(title)
        except NetlistError as exc:
            self.error(1, "title", str(exc))
            self.title = "netlist"
        top = self.structure(cards)
        if self.too_large(top):
            return None
        self.b = NetlistBuilder()
        params = {}
        self.global_params = params
        self.expand(top, params, "", {}, ())
        for no, name, model, card in self.mosfets:
            if model not in self.b._models:
                self.error(no, card, f"MOSFET {name!r} uses model {model!r}, which is not defined (defined: "
                                     f"{list(self.b._models)})")
        if self.errors:
            return None
        if self.ignored:
            log.warning("read_spice ignored %d card(s) that do not change a DC operating point: %s",
                        len(self.ignored), ", ".join(f"{c} (line {n})" for n, c in self.ignored))
        self.b.title = self.title
        try:
            return self.b.build()
        except NetlistError as exc:
            for name, no in self.seen.items():
                if repr(name) in str(exc):
                    self.error(no, name, str(exc))
                    return None
            self.error(None, None, str(exc))
            return None

    def structure(self, cards):
        """Top-level cards; ``.subckt`` bodies into ``self.subckts``; refused blocks reported."""
        top, current, in_control, ended = [], None, False, False
        for no, toks, raw in cards:
            head = toks[0]
            if in_control:
                if head == ".endc":
                    in_control = False
                continue
            if ended:
                self.error(no, head, "text after .end")
                continue
            if head.startswith("!") or head in ("shell", "exec"):
                self.error(no, head, "shell commands are never passed to ngspice")
            elif head in (".control", ".endc"):
                self.error(no, head, ".control blocks are never passed to ngspice (the block is skipped)")
                in_control = head == ".control"
            elif head in _FORBIDDEN:
                self.error(no, head, _FORBIDDEN[head])
            elif head == ".subckt":
                if current is not None:
                    self.error(no, head, f"nested .subckt definitions are not accepted (inside {current.name!r} "
                                         f"from line {current.line}); define subcircuits at top level")
                else:
                    current = self.subckt_header(no, toks)
            elif head == ".ends":
                if current is None:
                    self.error(no, head, ".ends without .subckt")
                elif len(toks) > 2 or (len(toks) == 2 and toks[1] != current.name):
                    self.error(no, head, f".ends {' '.join(toks[1:])} does not close .subckt {current.name!r} "
                                         f"(line {current.line})")
                    current = None
                else:
                    current = None
            elif head == ".end":
                if current is not None:
                    self.error(no, head, f".end inside .subckt {current.name!r} (line {current.line})")
                ended = True
            else:
                (current.body if current is not None else top).append((no, toks, raw))
        if current is not None:
            self.error(current.line, ".subckt", f".subckt {current.name!r} has no .ends")
        if in_control:
            pass  # already reported at .control
        return top

    def too_large(self, top) -> bool:
        """Count the elements the deck expands to before expanding it (a few nested
        ``.subckt`` lines can stand for 10**8 elements; expanding them to find out took
        minutes); report the instance card that crosses :data:`MAX_FLAT_ELEMENTS`."""
        memo = {}

        def count(body, stack):
            total = 0
            for no, toks, _ in body:
                head = toks[0]
                if head[0] in "rvimclb":
                    total += 1
                elif head[0] == "x":
                    pos = [t for t in toks[1:] if t != "params:" and "=" not in t]
                    sub = self.subckts.get(pos[-1]) if pos else None
                    if sub is None or sub.name in stack or len(stack) >= MAX_SUBCKT_DEPTH:
                        continue  # reported when expanded
                    if sub.name not in memo:
                        memo[sub.name] = count(sub.body, stack + (sub.name,))
                    total += memo[sub.name]
            return total

        total = 0
        for card in top:
            total += count([card], ())
            if total > MAX_FLAT_ELEMENTS:
                self.error(card[0], card[1][0], f"the deck expands to more than {MAX_FLAT_ELEMENTS} elements "
                                                f"(netlists.spice.MAX_FLAT_ELEMENTS) by this card")
                return True
        return False

    def subckt_header(self, no, toks):
        if len(toks) < 2:
            self.error(no, ".subckt", "expected '.subckt name port... [params:] [k=v ...]'")
            return _Subckt("?", [], [], no)
        name = toks[1]
        ports, defaults = [], []
        for t in toks[2:]:
            if t == "params:":
                continue
            if "=" in t:
                k, _, v = t.partition("=")
                if not PARAM_NAME.fullmatch(k) or not v:
                    self.error(no, ".subckt", f".subckt {name}: bad parameter {t!r} (name=value)")
                defaults.append((k, v))
            elif defaults:
                self.error(no, ".subckt", f".subckt {name}: port {t!r} after parameters")
            else:
                ports.append(t)
        sub = _Subckt(name, ports, defaults, no)
        if not re.fullmatch(NAME_PATTERN, name):
            self.error(no, ".subckt", f"invalid subcircuit name {name!r}")
        elif name in self.subckts:
            self.error(no, ".subckt", f".subckt {name!r} defined twice (first on line {self.subckts[name].line})")
        elif len(set(ports)) != len(ports):
            self.error(no, ".subckt", f".subckt {name}: a port is listed twice: {ports}")
        elif any(p in (GROUND, "gnd") for p in ports):
            self.error(no, ".subckt", f".subckt {name}: ground (0, gnd) cannot be a port")
        else:
            self.subckts[name] = sub
        return sub

    # -- expansion
    def expand(self, body, scope, path, portmap, stack):
        """Add the cards of ``body`` (top level: path ""; else an instance path like ``x1.x2``)."""
        scope = dict(scope) if path else scope  # top level: the global parameters
        where = f" (in subcircuit instance {path})" if path else ""
        for no, toks, raw in body:  # .param first, in order, as ngspice does
            if toks[0] == ".param":
                self.guard(no, ".param", self.param, toks, scope, no, where)
        for no, toks, raw in body:
            head = toks[0]
            if head == ".param":
                continue
            if head.startswith("."):
                if head in _IGNORED:
                    if (no, head) not in self.ignored:
                        self.ignored.append((no, head))
                elif head == ".op":
                    pass
                elif head == ".title":
                    if path:
                        self.error(no, head, ".title inside a .subckt")
                    else:
                        title = raw.split(None, 1)[1].strip() if len(raw.split(None, 1)) > 1 else ""
                        try:
                            self.title = check_title(title) or self.title
                        except NetlistError as exc:
                            self.error(no, head, str(exc))
                elif head == ".model":
                    if path:
                        self.error(no, head, ".model inside a .subckt is not accepted; define models at top level")
                    else:
                        self.guard(no, head, self.model, toks, no, scope)
                else:
                    self.error(no, head, f"unsupported dot command {head!r} (accepted: {', '.join(_ACCEPTED_DOT)})")
                continue
            letter = head[0]
            if letter == "x":
                self.guard(no, head, self.instance, no, toks, scope, path, portmap, stack, where)
            elif letter in "rvimclb":
                self.guard(no, head, self.element, no, toks, scope, path, portmap, where, where=where)
            else:
                self.error(no, head, f"unsupported element {head!r}{where}: the reader accepts R, V, I, M, C, L, "
                                     "B (sinh cell) and X (subcircuit) cards")

    def param(self, toks, scope, no, where):
        if len(toks) < 2:
            raise SpiceSyntaxError(f".param needs name=value{where}")
        for t in toks[1:]:
            k, eq, v = t.partition("=")
            if not eq or not v or not PARAM_NAME.fullmatch(k):
                raise SpiceSyntaxError(f".param: expected name=value, got {t!r}{where}")
            scope[k] = self.value(v, scope, no, ".param", expression_ok=True)

    def value(self, tok, scope, no, card, expression_ok=False):
        """A number, or ``{expr}``; in ``.param`` also a bare expression."""
        if tok.startswith("{") and tok.endswith("}"):
            return evaluate(tok[1:-1], scope, line=no, card=card)
        if expression_ok and not _NUM.fullmatch(tok):
            return evaluate(tok.strip("'"), scope, line=no, card=card)
        return parse_value(tok, line=no, card=card)

    def node(self, tok, path, portmap):
        if tok in (GROUND, "gnd"):
            return GROUND
        if not path:
            return tok
        return portmap[tok] if tok in portmap else f"{path}.{tok}"

    def name(self, head, path, no):
        full = f"{head[0]}.{path}.{head}" if path else head
        if full in self.seen:
            raise SpiceSyntaxError(f"element {full!r} defined twice (first on line {self.seen[full]})")
        self.n_elements += 1
        if self.n_elements > MAX_FLAT_ELEMENTS:
            self.error(no, head, f"the deck expands to more than {MAX_FLAT_ELEMENTS} elements")
            raise _Stop
        self.seen[full] = no
        return full

    def element(self, no, toks, scope, path, portmap, where):
        head, letter, b = toks[0], toks[0][0], self.b
        nd = lambda t: self.node(t, path, portmap)  # noqa: E731
        if letter in "rcl":
            n_pos = next((k for k, t in enumerate(toks[1:]) if "=" in t), len(toks) - 1)
            pos, kvs = toks[1:1 + n_pos], toks[1 + n_pos:]
            kw = dict(t.partition("=")[::2] for t in kvs)
            if letter in kw and len(pos) == 2:
                pos.append(kw.pop(letter))
            if len(pos) != 3 or any("=" not in t for t in kvs) or len(kw) + (len(pos) - n_pos) != len(kvs) \
                    or set(kw) - {"m"}:
                unit = {"r": "ohm", "c": "farad", "l": "henry"}[letter]
                raise SpiceSyntaxError(f"{head}: expected '{letter.upper()}<name> n1 n2 value [m=k]' (value in "
                                       f"{unit}), got {' '.join(toks)!r}{where}")
            value = self.value(pos[2], scope, no, head)
            if "m" in kw:
                m = self.multiplier(kw["m"], scope, no, head)
                value = value * m if letter == "c" else value / m
            add = {"r": b.resistor, "c": b.capacitor, "l": b.inductor}[letter]
            add(self.name(head, path, no), nd(toks[1]), nd(toks[2]), value)
        elif letter in "vi":
            rest = toks[3:]
            if rest and rest[0] == "dc":
                rest = rest[1:]
            if len(toks) < 4 or len(rest) != 1 or "=" in rest[0]:
                raise SpiceSyntaxError(f"{head}: expected '{letter.upper()}<name> n+ n- [DC] value' (AC, PULSE, "
                                       f"SIN ... are not supported){where}")
            add = b.vsource if letter == "v" else b.isource
            add(self.name(head, path, no), nd(toks[1]), nd(toks[2]), self.value(rest[0], scope, no, head))
        elif letter == "b":
            g, v0 = _read_sinh(toks, no, head)
            b.sinh_cell(self.name(head, path, no), nd(toks[1]), nd(toks[2]), g, v0)
        else:
            if len(toks) < 6 or any("=" in t for t in toks[1:6]):
                raise SpiceSyntaxError(f"{head}: expected 'M<name> d g s b model [W=w] [L=l] [m=k]'{where}")
            params = {"w": 1e-4, "l": 1e-4, "m": 1.0}
            for p in toks[6:]:
                k, _, v = p.partition("=")
                if k not in params or not v:
                    raise SpiceSyntaxError(f"{head}: unsupported instance parameter {p!r} (only W=, L= and m=)"
                                           f"{where}")
                params[k] = self.multiplier(v, scope, no, head) if k == "m" else self.value(v, scope, no, head)
            name = self.name(head, path, no)
            b.mosfet(name, *(nd(t) for t in toks[1:5]), toks[5], params["w"] * params["m"], params["l"])
            self.mosfets.append((no, name, toks[5], head))

    def multiplier(self, tok, scope, no, card):
        m = self.value(tok, scope, no, card)
        if not (math.isfinite(m) and m > 0):
            raise SpiceSyntaxError(f"{card}: multiplier m must be > 0, got {m!r}")
        return m

    def instance(self, no, toks, scope, path, portmap, stack, where):
        head = toks[0]
        args = [t for t in toks[1:] if t != "params:"]
        pos = [t for t in args if "=" not in t]
        kv = [t for t in args if "=" in t]
        if not pos or args[:len(pos)] != pos:
            raise SpiceSyntaxError(f"{head}: expected 'X<name> nodes... subckt [k=v ...]'{where}")
        subname, actual = pos[-1], pos[:-1]
        sub = self.subckts.get(subname)
        if sub is None:
            raise SpiceSyntaxError(f"{head}: unknown subcircuit {subname!r} (defined: {sorted(self.subckts)}){where}")
        if len(actual) != len(sub.ports):
            raise SpiceSyntaxError(f"{head}: subcircuit {subname!r} has {len(sub.ports)} ports {sub.ports}, "
                                   f"got {len(actual)} nodes{where}")
        if subname in stack:
            raise SpiceSyntaxError(f"{head}: subcircuit {subname!r} instantiates itself "
                                   f"({' -> '.join(stack + (subname,))})")
        if len(stack) >= MAX_SUBCKT_DEPTH:
            raise SpiceSyntaxError(f"{head}: subcircuits nested deeper than {MAX_SUBCKT_DEPTH}")
        child_path = f"{path}.{head}" if path else head
        if not re.fullmatch(NODE_PATTERN, child_path):
            raise SpiceSyntaxError(f"{head}: invalid instance name {child_path!r}")
        names = [k for k, _ in sub.defaults]
        over = {}
        for t in kv:
            k, _, v = t.partition("=")
            if k not in names:
                raise SpiceSyntaxError(f"{head}: subcircuit {subname!r} has no parameter {k!r} (has: {names}){where}")
            over[k] = self.value(v, scope, no, head, expression_ok=True)
        child = dict(self.global_params)
        for k, v in sub.defaults:
            child[k] = over[k] if k in over else self.value(v, child, sub.line, ".subckt", expression_ok=True)
        ports = {p: self.node(a, path, portmap) for p, a in zip(sub.ports, actual)}
        self.expand(sub.body, child, child_path, ports, stack + (subname,))

    def model(self, toks, no, scope):
        if len(toks) < 3:
            raise SpiceSyntaxError(".model needs a name and a type (nmos or pmos)")
        name, kind = toks[1], toks[2]
        rest = " ".join(toks[2:])
        m = re.fullmatch(r"(nmos|pmos)\s*(?:\((.*)\)|([^()]*))", rest)
        if not m:
            raise SpiceSyntaxError(f".model {name}: type {kind!r} not supported (nmos or pmos only)")
        kind = m.group(1)
        body = (m.group(2) if m.group(2) is not None else m.group(3) or "").replace(",", " ")
        params = {}
        for p in self.tokens(no, body) or []:
            k, _, v = p.partition("=")
            if k not in _MODEL_PARAMS or not v:
                raise SpiceSyntaxError(f".model {name}: unsupported parameter {p!r} (accepted: {sorted(_MODEL_PARAMS)})")
            params[k] = self.value(v, scope, no, ".model")
        if params.get("level", 1) != 1:
            raise SpiceSyntaxError(f".model {name}: only level=1 is supported, got level={params['level']:g}")
        for k in ("is", "js"):
            if params.get(k, 0.0) != 0.0:
                raise SpiceSyntaxError(f".model {name}: {k}={params[k]:g} would add junction diodes, which the "
                                       f"native solver does not model; use {k}=0")
        self.b.model(MOSModel(name, kind, vto=params.get("vto", 0.0), kp=params.get("kp", 2e-5),
                              lambda_=params.get("lambda", 0.0)))


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
