"""The one ``Netlist`` type, consumed by the ngspice writer and by every solver.

A netlist is immutable: named nodes (``"0"`` is ground), and tables of elements kept
as arrays (a 1024x1024 crossbar has millions of elements):

=================  ===========================================  =========================
table              element, SPICE card                          columns
=================  ===========================================  =========================
``resistors``      ``R<name> <n1> <n2> <value>``                names, n1, n2, value (ohm)
``vsources``       ``V<name> <n+> <n-> DC <value>``             names, npos, nneg, dc (V)
``isources``       ``I<name> <n+> <n-> DC <value>``             names, npos, nneg, dc (A)
``mosfets``        ``M<name> <d> <g> <s> <b> <model> W= L=``    names, d, g, s, b, model, w, l
``capacitors``     ``C<name> <n1> <n2> <value>``                names, n1, n2, value (F)
``inductors``      ``L<name> <n1> <n2> <value>``                names, n1, n2, value (H)
``sinh_cells``     ``B<name> <n1> <n2> I=g*v0*sinh((V(n1)-V(n2))/v0)``  names, n1, n2, g (S), v0 (V)
=================  ===========================================  =========================

At DC a capacitor is open and an inductor is a short.  A *sinh cell* is a two-terminal
nonlinear RRAM cell whose current from ``n1`` through the cell to ``n2`` is
``I = g * v0 * sinh(V / v0)`` with ``V = v(n1) - v(n2)``; its small-signal conductance at
0 V is ``g`` (ngspice writes it as a behavioural current source, ``B`` card).

Node columns hold indices into ``netlist.nodes`` (index 0 is ground).  Element, node
and model names are case-insensitive, stored lower-case, and match one character set
as a whole string (:data:`NODE_PATTERN`, :data:`NAME_PATTERN`: letters, digits and
``_ . : - [ ] < >``; a node starts with a letter, digit or ``_``, an element with the
letter of its kind, as in SPICE); a title is one line without control characters.  A current source drives its current out of ``n+``, through
itself, into ``n-`` (SPICE's convention); the current of a voltage source is positive
when it flows into ``n+``, through the source, out of ``n-``.

Build netlists with :class:`NetlistBuilder` (element by element, or whole arrays at a
time); everything is validated when ``build()`` runs, not when the netlist is written.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field, fields
from typing import Iterator, Mapping

import numpy as np

from devices.errors import NetlistError

__all__ = [
    "Netlist",
    "NetlistBuilder",
    "Resistor",
    "VoltageSource",
    "CurrentSource",
    "Mosfet",
    "MOSModel",
    "Capacitor",
    "Inductor",
    "SinhCell",
    "ElementTable",
    "GROUND",
    "NAME_CHARS",
    "NODE_PATTERN",
    "NAME_PATTERN",
    "check_title",
]

GROUND = "0"
NAME_CHARS = "a-z 0-9 _ . : - [ ] < >"
"""The characters of every node, element and model name (names are lower-cased first)."""
_CHARS = r"a-z0-9_.:\-\[\]<>"
NODE_PATTERN = rf"[a-z0-9_][{_CHARS}]*"
"""A node name: a letter, digit or ``_``, then :data:`NAME_CHARS` (``1``, ``wl0_3``, ``x1.n3``)."""
NAME_PATTERN = rf"[a-z][{_CHARS}]*"
"""An element or model name: a letter (an element's is its kind's SPICE letter), then
:data:`NAME_CHARS`."""
MAX_NAME_LENGTH = 256
"""Longest node, element or model name, characters."""
_NODE_RE = re.compile(NODE_PATTERN)
_NAME_RE = re.compile(NAME_PATTERN)


def _show(text, limit: int = 80) -> str:
    """``repr(text)``, cut to about ``limit`` characters for error messages."""
    r = repr(text)
    return r if len(r) <= limit else r[:limit] + "...'"


def check_title(title) -> str:
    """``title`` as a one-line string without control or format characters, else NetlistError."""
    title = str(title)
    bad = [ch for ch in title if unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")]
    if bad:
        raise NetlistError(f"invalid title {_show(title)}: a title is one line without control characters "
                           f"(found {bad[0]!r})")
    return title


def _check_name(name, what: str, letter: str | None = None) -> str:
    """``name`` lower-cased, checked against :data:`NAME_PATTERN` (whole string)."""
    if not isinstance(name, str):
        raise NetlistError(f"{what} name must be a string, got {type(name).__name__} {_show(name)}")
    key = name.lower()  # checked ASCII first: "\u212a" (Kelvin sign) lower-cases to "k"
    if len(key) > MAX_NAME_LENGTH or not name.isascii() or not _NAME_RE.fullmatch(key):
        raise NetlistError(f"invalid {what} name {_show(name)}: a letter, then only {NAME_CHARS} "
                           f"(at most {MAX_NAME_LENGTH} characters)")
    if letter is not None and not key.startswith(letter):
        raise NetlistError(f"{what} names must start with {letter.upper()!r} (SPICE); got {_show(name)}")
    return key


def _real(value, what: str) -> float:
    """``value`` as a float; strings, booleans and non-numbers are refused."""
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise NetlistError(f"{what} must be a number, got {type(value).__name__} {_show(value)}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise NetlistError(f"{what} must be a number, got {type(value).__name__} {_show(value)}") from None


# ---------------------------------------------------------------------------- elements
@dataclass(frozen=True)
class Resistor:
    """A linear resistor.  SPICE: ``R<name> <n1> <n2> <value>``."""

    name: str
    n1: str
    n2: str
    value: float
    """Resistance, ohm, > 0 and finite."""


@dataclass(frozen=True)
class VoltageSource:
    """An independent DC voltage source.  SPICE: ``V<name> <npos> <nneg> DC <dc>``."""

    name: str
    npos: str
    nneg: str
    dc: float
    """Voltage ``v(npos) - v(nneg)``, volt."""


@dataclass(frozen=True)
class CurrentSource:
    """An independent DC current source.  SPICE: ``I<name> <npos> <nneg> DC <dc>``:
    ``dc`` amperes flow out of ``npos``, through the source, into ``nneg``."""

    name: str
    npos: str
    nneg: str
    dc: float
    """Current, ampere."""


@dataclass(frozen=True)
class MOSModel:
    """A level-1 MOSFET model card.
    SPICE: ``.model <name> nmos level=1 vto=<vto> kp=<kp> lambda=<lambda_> is=0 js=0``.

    Junction diodes are switched off (``is=0 js=0``); bulk junctions keep SPICE's
    ``gmin`` conductance (1e-12 S) from drain and from source to bulk."""

    name: str
    polarity: str = "nmos"
    """``"nmos"`` or ``"pmos"``."""
    vto: float = 0.4
    """Zero-bias threshold voltage, volt (negative for a pmos)."""
    kp: float = 200e-6
    """Transconductance parameter, A/V^2, > 0."""
    lambda_: float = 0.0
    """Channel-length modulation, 1/V, >= 0."""


@dataclass(frozen=True)
class Mosfet:
    """A level-1 MOSFET.  SPICE: ``M<name> <d> <g> <s> <b> <model> W=<w> L=<l>``."""

    name: str
    d: str
    g: str
    s: str
    b: str
    model: str
    w: float
    """Channel width, metre."""
    l: float
    """Channel length, metre."""


@dataclass(frozen=True)
class Capacitor:
    """A linear capacitor (open at DC).  SPICE: ``C<name> <n1> <n2> <value>``."""

    name: str
    n1: str
    n2: str
    value: float
    """Capacitance, farad, > 0 and finite."""


@dataclass(frozen=True)
class Inductor:
    """A linear inductor (a short at DC).  SPICE: ``L<name> <n1> <n2> <value>``."""

    name: str
    n1: str
    n2: str
    value: float
    """Inductance, henry, > 0 and finite."""


@dataclass(frozen=True)
class SinhCell:
    """A nonlinear RRAM cell: ``I = g * v0 * sinh((v(n1) - v(n2)) / v0)`` from ``n1``
    through the cell to ``n2``.

    SPICE (ngspice behavioural source, the one shape written and read back):
    ``B<name> <n1> <n2> I=<g>*<v0>*sinh((V(<n1>)-V(<n2>))/<v0>)``.
    """

    name: str
    n1: str
    n2: str
    g: float
    """Small-signal conductance at 0 V, siemens, > 0 and finite."""
    v0: float
    """Voltage scale of the nonlinearity, volt, > 0 and finite (large ``v0``: nearly linear)."""


@dataclass(frozen=True)
class ElementTable:
    """Read-only arrays of one element kind (see the module docstring for columns)."""

    names: tuple
    columns: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)

    def __getattr__(self, key):
        try:
            return self.__dict__["columns"][key]
        except KeyError:
            raise AttributeError(key) from None


def _frozen(a, dtype) -> np.ndarray:
    a = np.array(a, dtype=dtype, copy=True).reshape(-1)
    a.setflags(write=False)
    return a


# kind letter -> (table attribute, element name in messages, node columns, value columns)
# value columns: (column, rule, unit) with rule "positive" (finite and > 0) or "finite"
_TWO_TERMINAL = {
    "r": ("resistors", "resistor", ("n1", "n2"), (("value", "positive", "ohm"),)),
    "v": ("vsources", "voltage source", ("npos", "nneg"), (("dc", "finite", "V"),)),
    "i": ("isources", "current source", ("npos", "nneg"), (("dc", "finite", "A"),)),
    "c": ("capacitors", "capacitor", ("n1", "n2"), (("value", "positive", "F"),)),
    "l": ("inductors", "inductor", ("n1", "n2"), (("value", "positive", "H"),)),
    "b": ("sinh_cells", "sinh cell", ("n1", "n2"), (("g", "positive", "S"), ("v0", "positive", "V"))),
}
_KINDS = "rvimclb"
"""Element kinds in the order :meth:`Netlist.elements` yields them (SPICE letters)."""
_TABLE_OF = {k: v[0] for k, v in _TWO_TERMINAL.items()} | {"m": "mosfets"}
_KIND_NAMES = {k: v[1] for k, v in _TWO_TERMINAL.items()} | {"m": "MOSFET"}
_DATACLASS = {"r": Resistor, "v": VoltageSource, "i": CurrentSource, "c": Capacitor, "l": Inductor, "b": SinhCell}


def _empty_table(kind: str) -> ElementTable:
    z, f = _frozen([], np.int64), _frozen([], float)
    if kind == "m":
        return ElementTable((), {"d": z, "g": z, "s": z, "b": z, "model": z, "w": f, "l": f})
    _, _, ncols, vcols = _TWO_TERMINAL[kind]
    return ElementTable((), {**{c: z for c in ncols}, **{c[0]: f for c in vcols}})


# ---------------------------------------------------------------------------- netlist
class Netlist:
    """An immutable circuit (see the module docstring).

    Attributes
    ----------
    title : str
    nodes : tuple of str
        Node names; ``nodes[0]`` is ground ``"0"``.
    resistors, vsources, isources, mosfets, capacitors, inductors, sinh_cells : ElementTable
    models : dict of str -> MOSModel
    layout : object or None
        What built the netlist (e.g. :class:`netlists.builder.CrossbarLayout`), for
        studies that need to know which sources are inputs and outputs.
    """

    __slots__ = ("title", "nodes", "resistors", "vsources", "isources", "mosfets", "capacitors", "inductors",
                 "sinh_cells", "models", "layout", "_node_index", "_element_index")

    def __init__(self, title, nodes, resistors, vsources, isources, mosfets, models, layout=None, *,
                 capacitors=None, inductors=None, sinh_cells=None):
        object.__setattr__(self, "title", str(title))
        object.__setattr__(self, "nodes", tuple(nodes))
        object.__setattr__(self, "resistors", resistors)
        object.__setattr__(self, "vsources", vsources)
        object.__setattr__(self, "isources", isources)
        object.__setattr__(self, "mosfets", mosfets)
        object.__setattr__(self, "capacitors", _empty_table("c") if capacitors is None else capacitors)
        object.__setattr__(self, "inductors", _empty_table("l") if inductors is None else inductors)
        object.__setattr__(self, "sinh_cells", _empty_table("b") if sinh_cells is None else sinh_cells)
        object.__setattr__(self, "models", dict(models))
        object.__setattr__(self, "layout", layout)
        object.__setattr__(self, "_node_index", None)
        object.__setattr__(self, "_element_index", None)

    def __setattr__(self, key, value):
        raise AttributeError("Netlist is immutable; use NetlistBuilder or Netlist.with_sources")

    def table(self, kind: str) -> ElementTable:
        """The element table of one kind, by SPICE letter (``"r"``, ``"v"``, ``"i"``,
        ``"m"``, ``"c"``, ``"l"``, ``"b"``)."""
        return getattr(self, _TABLE_OF[kind])

    # -- lookups
    @property
    def n_nodes(self) -> int:
        """Number of nodes other than ground."""
        return len(self.nodes) - 1

    @property
    def n_elements(self) -> int:
        """Number of elements of every kind (models not counted)."""
        return sum(len(self.table(k)) for k in _KINDS)

    @property
    def is_linear(self) -> bool:
        """True when the netlist has no MOSFET and no sinh cell."""
        return len(self.mosfets) == 0 and len(self.sinh_cells) == 0

    def node_index(self, name: str) -> int:
        """Index of node ``name`` (case-insensitive) in ``nodes``."""
        if self._node_index is None:
            object.__setattr__(self, "_node_index", {n: i for i, n in enumerate(self.nodes)})
        key = str(name).lower()
        if key == "gnd":
            key = GROUND
        try:
            return self._node_index[key]
        except KeyError:
            raise NetlistError(f"no node named {name!r} in netlist {self.title!r}") from None

    def source_index(self, name: str) -> int:
        """Row of voltage source ``name`` in ``vsources``."""
        kind, row = self._locate(name)
        if kind != "v":
            raise NetlistError(f"{name!r} is not a voltage source (it is a {_KIND_NAMES[kind]})")
        return row

    def _locate(self, name):
        if self._element_index is None:
            idx = {}
            for kind in _KINDS:
                for row, n in enumerate(self.table(kind).names):
                    idx[n] = (kind, row)
            object.__setattr__(self, "_element_index", idx)
        key = str(name).lower()
        try:
            return self._element_index[key]
        except KeyError:
            raise NetlistError(f"no element named {name!r} in netlist {self.title!r}") from None

    def element(self, name: str):
        """The element called ``name`` as a dataclass (Resistor, VoltageSource, ...)."""
        kind, row = self._locate(name)
        return self._element(kind, row)

    def _element(self, kind, row):
        nd = self.nodes
        t = self.table(kind)
        if kind == "m":
            return Mosfet(t.names[row], nd[t.d[row]], nd[t.g[row]], nd[t.s[row]], nd[t.b[row]],
                          self.model_names[t.model[row]], float(t.w[row]), float(t.l[row]))
        _, _, ncols, vcols = _TWO_TERMINAL[kind]
        return _DATACLASS[kind](t.names[row], *(nd[t.columns[c][row]] for c in ncols),
                                *(float(t.columns[c[0]][row]) for c in vcols))

    @property
    def model_names(self) -> tuple:
        return tuple(self.models)

    def elements(self) -> Iterator:
        """Every element as a dataclass: resistors, voltage sources, current sources, MOSFETs,
        capacitors, inductors, sinh cells."""
        for kind in _KINDS:
            for row in range(len(self.table(kind))):
                yield self._element(kind, row)

    # -- derived netlists
    def with_sources(self, values: Mapping[str, float] | None = None, **kw) -> "Netlist":
        """A copy with new DC values for some independent sources (V in volt, I in ampere).

        ``netlist.with_sources({"vin0": 0.1, "vin1": 0.2})``
        """
        values = dict(values or {}, **kw)
        vdc = np.array(self.vsources.dc, dtype=float)
        idc = np.array(self.isources.dc, dtype=float)
        for name, value in values.items():
            kind, row = self._locate(name)
            value = float(value)
            if not math.isfinite(value):
                raise NetlistError(f"source {name!r}: value must be finite, got {value!r}")
            if kind == "v":
                vdc[row] = value
            elif kind == "i":
                idc[row] = value
            else:
                raise NetlistError(f"{name!r} is a {_KIND_NAMES[kind]}, not an independent source")
        vs = ElementTable(self.vsources.names, dict(self.vsources.columns, dc=_frozen(vdc, float)))
        cs = ElementTable(self.isources.names, dict(self.isources.columns, dc=_frozen(idc, float)))
        return Netlist(self.title, self.nodes, self.resistors, vs, cs, self.mosfets, self.models, self.layout,
                       capacitors=self.capacitors, inductors=self.inductors, sinh_cells=self.sinh_cells)

    def without_sources(self, names, layout=None) -> "Netlist":
        """A copy with the independent sources ``names`` (V or I) removed; the nodes stay.

        A node the removed source drove is left to float (it keeps its other
        connections), e.g. an undriven wordline of a crossbar. ``layout`` replaces the
        copy's layout (None keeps this netlist's; pass an updated one when it names the
        removed sources).

        Raises
        ------
        NetlistError
            A name that is not an independent source of this netlist.
        """
        names = list(names)
        for name in names:
            kind, _ = self._locate(name)
            if kind not in ("v", "i"):
                raise NetlistError(f"{name!r} is a {_KIND_NAMES[kind]}, not an independent source")
        return self.without_elements(names, layout)

    def without_elements(self, names, layout=None) -> "Netlist":
        """A copy with the elements ``names`` (any kind) removed; the nodes stay.

        The caller keeps the circuit solvable (no node left without a DC path to ground);
        ``layout`` as in :meth:`without_sources`.

        Raises
        ------
        NetlistError
            A name that is not an element of this netlist.
        """
        drop = {k: set() for k in _KINDS}
        for name in names:
            kind, row = self._locate(name)
            drop[kind].add(row)

        def keep(table, rows):
            if not rows:
                return table
            k = np.ones(len(table), bool)
            k[list(rows)] = False
            cols = {c: _frozen(np.asarray(a)[k], np.asarray(a).dtype) for c, a in table.columns.items()}
            return ElementTable(tuple(n for n, ok in zip(table.names, k) if ok), cols)

        t = {k: keep(self.table(k), drop[k]) for k in _KINDS}
        return Netlist(self.title, self.nodes, t["r"], t["v"], t["i"], t["m"], self.models,
                       self.layout if layout is None else layout, capacitors=t["c"], inductors=t["l"],
                       sinh_cells=t["b"])

    def __repr__(self) -> str:
        return (f"<Netlist {self.title!r}: {self.n_nodes} nodes, {len(self.resistors)} R, "
                f"{len(self.vsources)} V, {len(self.isources)} I, {len(self.mosfets)} M, "
                f"{len(self.capacitors)} C, {len(self.inductors)} L, {len(self.sinh_cells)} B>")

    def __eq__(self, other) -> bool:
        """Same nodes (by name), same elements and values (titles and layout ignored)."""
        if not isinstance(other, Netlist):
            return NotImplemented
        return _canonical(self) == _canonical(other)

    __hash__ = None


def _canonical(n: Netlist):
    items = []
    for e in n.elements():
        items.append((type(e).__name__,) + tuple(e.__dict__.items()))
    return sorted(items), sorted(n.models.items())


# ---------------------------------------------------------------------------- builder
class NetlistBuilder:
    """Collects nodes and elements, then validates everything in :meth:`build`.

    Element-by-element (node names)::

        b = NetlistBuilder("divider")
        b.add(VoltageSource("v1", "in", "0", 1.0))
        b.resistor("r1", "in", "mid", 1e3)
        b.resistor("r2", "mid", "0", 1e3)
        net = b.build()

    In bulk (node indices from :meth:`nodes`), for large generated circuits::

        idx = b.nodes([f"wl_{i}" for i in range(n)])
        b.resistors(names, idx[:-1], idx[1:], values)
    """

    def __init__(self, title: str = "netlist"):
        self.title = check_title(title)
        self._nodes = [GROUND]
        self._index = {GROUND: 0, "gnd": 0}
        self._tables = {k: [] for k in _KINDS}
        self._models = {}
        self.layout = None

    # -- nodes
    def node(self, name: str) -> int:
        """Index of node ``name``, created on first use."""
        if isinstance(name, (int, np.integer)) and not isinstance(name, (bool, np.bool_)):
            name = str(int(name))
        if not isinstance(name, str):
            raise NetlistError(f"node name must be a string, got {type(name).__name__} {_show(name)}")
        key = name.lower()
        i = self._index.get(key)
        if i is None:
            if len(key) > MAX_NAME_LENGTH or not name.isascii() or not _NODE_RE.fullmatch(key):
                raise NetlistError(f"invalid node name {_show(name)}: a letter, digit or _, then only {NAME_CHARS} "
                                   f"(at most {MAX_NAME_LENGTH} characters)")
            i = len(self._nodes)
            self._nodes.append(key)
            self._index[key] = i
        return i

    def nodes(self, names) -> np.ndarray:
        """Indices of many nodes, created on first use."""
        return np.fromiter((self.node(n) for n in names), dtype=np.int64)

    # -- elements
    def add(self, element) -> None:
        """Add one element dataclass (Resistor, VoltageSource, CurrentSource, Mosfet,
        Capacitor, Inductor, SinhCell) or a MOSModel."""
        if isinstance(element, MOSModel):
            self.model(element)
        elif isinstance(element, Mosfet):
            self.mosfet(element.name, element.d, element.g, element.s, element.b, element.model, element.w, element.l)
        else:
            for kind, cls in _DATACLASS.items():
                if type(element) is cls:
                    self._add_one(kind, element.name, *(getattr(element, f.name) for f in fields(cls)[1:]))
                    return
            raise NetlistError(f"cannot add {type(element).__name__}: expected one of "
                               f"{[c.__name__ for c in _DATACLASS.values()] + ['Mosfet', 'MOSModel']}")

    def _add_one(self, kind, name, *args):
        """Check one element now (so the error points at the call) and queue it."""
        _, what, ncols, vcols = _TWO_TERMINAL[kind]
        key = _check_name(name, what, kind)
        nodes = [self.node(a) for a in args[:len(ncols)]]
        if nodes[0] == nodes[1]:
            raise NetlistError(f"{what} {key!r} has both terminals on node {self._nodes[nodes[0]]!r}")
        row = [[key], [nodes[0]], [nodes[1]]]
        for (col, rule, unit), v in zip(vcols, args[len(ncols):]):
            label = "value" if col in ("value", "dc") else col
            x = v if type(v) is float else _real(v, f"{what} {key!r}: {label}")
            if not math.isfinite(x) or (rule == "positive" and not x > 0):
                need = "finite and > 0" if rule == "positive" else "finite"
                raise NetlistError(f"{what} {key!r}: {label} must be {need}"
                                   f"{' ' + unit if label != 'value' else ''}, got {x!r}")
            row.append([x])
        self._tables[kind].append(tuple(row))

    def resistor(self, name, n1, n2, value):
        """One resistor, ``value`` in ohm."""
        self._add_one("r", name, n1, n2, value)

    def vsource(self, name, npos, nneg, dc):
        """One DC voltage source, ``dc`` in volt."""
        self._add_one("v", name, npos, nneg, dc)

    def isource(self, name, npos, nneg, dc):
        """One DC current source, ``dc`` in ampere (out of ``npos``, through it, into ``nneg``)."""
        self._add_one("i", name, npos, nneg, dc)

    def capacitor(self, name, n1, n2, value):
        """One capacitor, ``value`` in farad."""
        self._add_one("c", name, n1, n2, value)

    def inductor(self, name, n1, n2, value):
        """One inductor, ``value`` in henry."""
        self._add_one("l", name, n1, n2, value)

    def sinh_cell(self, name, n1, n2, g, v0):
        """One sinh cell ``I = g * v0 * sinh((v(n1) - v(n2)) / v0)``; ``g`` in siemens, ``v0`` in volt."""
        self._add_one("b", name, n1, n2, g, v0)

    def mosfet(self, name, d, g, s, b, model, w, l):
        """One MOSFET using model ``model``; ``w`` and ``l`` in metre."""
        key = _check_name(name, "MOSFET", "m")
        mod = _check_name(model, "model")
        nd = [self.node(x) for x in (d, g, s, b)]
        if nd[0] == nd[2]:
            raise NetlistError(f"MOSFET {key!r} has drain and source on the same node")
        size = []
        for label, v in (("W", w), ("L", l)):
            x = _real(v, f"MOSFET {label} of {key!r}")
            if not (math.isfinite(x) and x > 0):
                raise NetlistError(f"MOSFET {label} of {key!r}: value must be finite and > 0 m, got {x!r}")
            size.append(x)
        self._tables["m"].append(([key], *([x] for x in nd), [mod], [size[0]], [size[1]]))

    def model(self, model: MOSModel):
        """Define a MOSFET model card (checked now: name, polarity, kp, lambda, vto)."""
        if not isinstance(model, MOSModel):
            raise NetlistError(f"model() takes a MOSModel, got {type(model).__name__}")
        key = _check_name(model.name, "model")
        if key in self._models:
            raise NetlistError(f"model {model.name!r} defined twice")
        polarity = str(model.polarity).lower()
        if polarity not in ("nmos", "pmos"):
            raise NetlistError(f"model {key!r}: polarity must be 'nmos' or 'pmos', got {model.polarity!r}")
        vto = _real(model.vto, f"model {key!r}: vto")
        kp = _real(model.kp, f"model {key!r}: kp")
        lam = _real(model.lambda_, f"model {key!r}: lambda")
        if not (math.isfinite(kp) and kp > 0):
            raise NetlistError(f"model {key!r}: kp must be finite and > 0 A/V^2, got {kp!r}")
        if not (math.isfinite(lam) and lam >= 0):
            raise NetlistError(f"model {key!r}: lambda must be finite and >= 0 1/V, got {lam!r}")
        if not math.isfinite(vto):
            raise NetlistError(f"model {key!r}: vto must be finite, got {vto!r}")
        self._models[key] = MOSModel(key, polarity, vto, kp, lam)

    def _bulk_names(self, names, what):
        if isinstance(names, (str, bytes)):
            raise NetlistError(f"{what} names must be a sequence of strings, got one string {names!r}")
        out = []
        for n in names:
            if not isinstance(n, str):
                raise NetlistError(f"{what} names must be strings, got {type(n).__name__} {n!r}")
            if not n.isascii():
                raise NetlistError(f"invalid element names (a letter, then only {NAME_CHARS}): {_show(n)}")
            out.append(n.lower())
        return out

    def _bulk_column(self, a, n, what, col, index=False):
        """One column of a bulk call: a scalar (broadcast) or a 1-D array of length ``n``."""
        if index:
            arr = np.asarray(a)
            if arr.size and arr.dtype.kind not in "iu":
                raise NetlistError(f"{what} {col}: node indices must be integers (from NetlistBuilder.node/"
                                   f"nodes), got dtype {arr.dtype} (e.g. {arr.reshape(-1)[0]!r})")
            arr = arr.astype(np.int64) if arr.size else np.zeros(arr.shape, np.int64)
            nn = len(self._nodes)
            if arr.size and (arr.min() < 0 or arr.max() >= nn):
                k = int(np.flatnonzero((arr.reshape(-1) < 0) | (arr.reshape(-1) >= nn))[0])
                raise NetlistError(f"{what} {col}: node index {int(arr.reshape(-1)[k])} out of range "
                                   f"(0 to {nn - 1})")
        else:
            if isinstance(a, (str, bytes)):
                raise NetlistError(f"{what} {col}: values must be numbers, got {a!r}")
            try:
                arr = np.asarray(a)
            except (TypeError, ValueError):
                raise NetlistError(f"{what} {col}: values must be numbers") from None
            if arr.dtype.kind not in "iuf":  # strings, bools, objects: refused, as by the one-element methods
                shown = repr(arr.reshape(-1)[0]) if arr.size else "[]"
                raise NetlistError(f"{what} {col}: values must be numbers, got dtype {arr.dtype} (e.g. {shown})")
            try:
                arr = arr.astype(float)
            except OverflowError:
                raise NetlistError(f"{what} {col}: values must be numbers that fit a float") from None
        if arr.ndim == 0:
            return np.broadcast_to(arr, (n,))
        if arr.ndim != 1 or arr.shape[0] != n:
            raise NetlistError(f"{what} {col}: expected a scalar or {n} values (one per name), got shape "
                               f"{arr.shape}")
        return arr

    def _add_many(self, kind, names, *columns):
        _, what, ncols, vcols = _TWO_TERMINAL[kind]
        names = self._bulk_names(names, what)
        cols = [self._bulk_column(c, len(names), what, col, index=True) for c, col in zip(columns, ncols)]
        cols += [self._bulk_column(c, len(names), what, col[0]) for c, col in zip(columns[len(ncols):], vcols)]
        self._tables[kind].append((names, *cols))

    def resistors(self, names, n1, n2, values):
        """Add many resistors at once (node indices from :meth:`node`/:meth:`nodes`; ohm)."""
        self._add_many("r", names, n1, n2, values)

    def vsources(self, names, npos, nneg, dc):
        """Add many DC voltage sources at once (node indices; volt)."""
        self._add_many("v", names, npos, nneg, dc)

    def isources(self, names, npos, nneg, dc):
        """Add many DC current sources at once (node indices; ampere)."""
        self._add_many("i", names, npos, nneg, dc)

    def capacitors(self, names, n1, n2, values):
        """Add many capacitors at once (node indices; farad)."""
        self._add_many("c", names, n1, n2, values)

    def inductors(self, names, n1, n2, values):
        """Add many inductors at once (node indices; henry)."""
        self._add_many("l", names, n1, n2, values)

    def sinh_cells(self, names, n1, n2, g, v0):
        """Add many sinh cells at once (node indices; ``g`` in siemens, ``v0`` in volt)."""
        self._add_many("b", names, n1, n2, g, v0)

    def mosfets(self, names, d, g, s, b, model, w, l):
        """Add many MOSFETs of one model at once (node indices; ``w``, ``l`` in metre)."""
        names = self._bulk_names(names, "MOSFET")
        n = len(names)
        model = _check_name(model, "model")
        nodes = [self._bulk_column(c, n, "MOSFET", col, index=True) for c, col in zip((d, g, s, b), "dgsb")]
        self._tables["m"].append((names, *nodes, [model] * n, self._bulk_column(w, n, "MOSFET", "w"),
                                  self._bulk_column(l, n, "MOSFET", "l")))

    # -- build
    def build(self) -> Netlist:
        """Validate and freeze.

        Raises
        ------
        NetlistError
            Duplicate or malformed names, element names not starting with their kind's
            letter, non-finite or non-positive resistances, capacitances, inductances,
            sinh-cell ``g`` or ``v0``, unknown MOSFET models, non-positive W or L, an
            element whose terminals are all one node.
        """
        title = check_title(self.title)
        nn = len(self._nodes)
        tables = {}
        all_names = []
        for kind, parts in self._tables.items():
            names = [n for p in parts for n in p[0]]
            cols = [np.concatenate([np.asarray(p[c]).reshape(-1) for p in parts]) if parts else np.zeros(0)
                    for c in range(1, len(parts[0]) if parts else 1)]
            tables[kind] = (names, cols)
            all_names.extend(names)
            bad = [n for n in names if not n.startswith(kind)]
            if bad:
                raise NetlistError(f"{_KIND_NAMES[kind]} names must start with {kind.upper()!r} (SPICE); got {bad[:5]}")
        if len(set(all_names)) != len(all_names):
            seen, dup = set(), []
            for n in all_names:
                if n in seen:
                    dup.append(n)
                seen.add(n)
            raise NetlistError(f"duplicate element names: {sorted(set(dup))[:10]}")
        # stripping trailing digits and "_" (allowed characters) keeps a name's validity and
        # makes the set of distinct stems small for generated names (rc0_0 ... rc1023_1023)
        stems = set(n.rstrip("0123456789_") for n in all_names) if len(all_names) >= 200_000 else all_names
        bad = [n for n in stems if len(n) > MAX_NAME_LENGTH or not _NAME_RE.fullmatch(n)]
        bad += [n for n in all_names if len(n) > MAX_NAME_LENGTH] if len(all_names) >= 200_000 else []
        if bad:
            raise NetlistError(f"invalid element names (a letter, then only {NAME_CHARS}; at most "
                               f"{MAX_NAME_LENGTH} characters): {', '.join(_show(n) for n in bad[:5])}")

        def idx(a, what, names):
            a = np.asarray(a, dtype=np.int64)
            if a.size and (a.min() < 0 or a.max() >= nn):
                raise NetlistError(f"{what}: node index out of range")
            return _frozen(a, np.int64)

        def vals(a, what, names, positive=False, label="value", unit=""):
            a = np.asarray(a, dtype=float)
            ok = np.isfinite(a) & (a > 0 if positive else True)
            if not ok.all():
                k = int(np.flatnonzero(~ok)[0])
                need = "finite and > 0" if positive else "finite"
                unit = f" {unit}" if unit and label != "value" else ""
                raise NetlistError(f"{what} {names[k]!r}: {label} must be {need}{unit}, got {float(a[k])!r}")
            return _frozen(a, float)

        out = {}
        for kind, (attr, what, ncols, vcols) in _TWO_TERMINAL.items():
            names, c = tables[kind]
            if not names:
                out[attr] = _empty_table(kind)
                continue
            p, m = idx(c[0], what, names), idx(c[1], what, names)
            same = np.flatnonzero(p == m)
            if same.size:
                raise NetlistError(f"{what} {names[same[0]]!r} has both terminals on node {self._nodes[p[same[0]]]!r}")
            cols = {ncols[0]: p, ncols[1]: m}
            for k, (col, rule, unit) in enumerate(vcols):
                cols[col] = vals(c[2 + k], what, names, positive=rule == "positive", label=col, unit=unit)
            out[attr] = ElementTable(tuple(names), cols)
        mn, mc = tables["m"]
        model_names = tuple(self._models)
        if mn:
            mi = []
            for name, mod in zip(mn, mc[4]):
                mod = str(mod)
                if mod not in self._models:
                    raise NetlistError(f"MOSFET {name!r} uses model {mod!r}, which is not defined (defined: {list(model_names)})")
                mi.append(model_names.index(mod))
            M = ElementTable(tuple(mn), {
                "d": idx(mc[0], "mosfet", mn), "g": idx(mc[1], "mosfet", mn), "s": idx(mc[2], "mosfet", mn),
                "b": idx(mc[3], "mosfet", mn), "model": _frozen(mi, np.int64),
                "w": vals(mc[5], "MOSFET W of", mn, positive=True), "l": vals(mc[6], "MOSFET L of", mn, positive=True)})
            if np.any(M.d == M.s):
                k = int(np.flatnonzero(M.d == M.s)[0])
                raise NetlistError(f"MOSFET {mn[k]!r} has drain and source on the same node")
        else:
            M = _empty_table("m")
        for m in self._models.values():
            if m.polarity not in ("nmos", "pmos"):
                raise NetlistError(f"model {m.name!r}: polarity must be 'nmos' or 'pmos', got {m.polarity!r}")
            if not (math.isfinite(m.kp) and m.kp > 0):
                raise NetlistError(f"model {m.name!r}: kp must be finite and > 0 A/V^2, got {m.kp!r}")
            if not (math.isfinite(m.lambda_) and m.lambda_ >= 0):
                raise NetlistError(f"model {m.name!r}: lambda must be finite and >= 0 1/V, got {m.lambda_!r}")
            if not math.isfinite(m.vto):
                raise NetlistError(f"model {m.name!r}: vto must be finite, got {m.vto!r}")
        return Netlist(title, self._nodes, out["resistors"], out["vsources"], out["isources"], M, self._models,
                       self.layout, capacitors=out["capacitors"], inductors=out["inductors"],
                       sinh_cells=out["sinh_cells"])
