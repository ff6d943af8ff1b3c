"""Arithmetic of ``.param`` values and ``{expr}`` in SPICE decks, without ``eval``.

``evaluate(text, params) -> float`` reads numbers (with SPICE's scale suffixes, ``2k``),
parameter names, ``+ - * / **``, parentheses and unary minus/plus, by recursive descent
with bounded length and depth, and nothing else: no functions, no attribute access, no
Python.  ``**`` binds tighter than unary minus and is right-associative (``-2**2`` is -4,
``2**3**2`` is 512), as in Python.  Every failure is a :class:`SpiceSyntaxError`.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, localcontext
from typing import Mapping

from devices.errors import SpiceSyntaxError

__all__ = ["evaluate", "scaled", "MAX_EXPRESSION_LENGTH", "MAX_EXPRESSION_DEPTH", "PARAM_NAME"]

MAX_EXPRESSION_LENGTH = 1000
"""Longest expression, characters."""
MAX_EXPRESSION_DEPTH = 50
"""Deepest nesting of parentheses and unary signs."""
PARAM_NAME = re.compile(r"[a-z_][a-z0-9_]*")
"""A parameter name (lower-cased)."""

_TOKEN = re.compile(r"\s*(?:(?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?[a-z]*)|(?P<name>[a-z_][a-z0-9_]*)"
                    r"|(?P<op>\*\*|[-+*/()]))")
_SUFFIX = {"t": Decimal("1e12"), "g": Decimal("1e9"), "meg": Decimal("1e6"), "k": Decimal("1e3"),
           "mil": Decimal("25.4e-6"), "m": Decimal("1e-3"), "u": Decimal("1e-6"), "n": Decimal("1e-9"),
           "p": Decimal("1e-12"), "f": Decimal("1e-15")}


def scaled(mantissa: str, suffix: str | None) -> float:
    """``mantissa`` (decimal text) times SPICE scale ``suffix``, rounded once to the nearest
    float (``2.2u`` gives exactly ``2.2e-06``); ``inf`` when out of range."""
    try:
        value = Decimal(mantissa)
        if suffix:
            with localcontext() as ctx:
                ctx.prec, ctx.Emax, ctx.Emin = 60, 10**6, -10**6
                value = value * _SUFFIX[suffix]
        return float(value)
    except ArithmeticError:
        return math.inf
_NUM = re.compile(r"((?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)(meg|mil|[tgkmunpf])?[a-z]*")


def evaluate(text: str, params: Mapping[str, float] | None = None, *, line: int | None = None,
             card: str | None = None) -> float:
    """Value of the arithmetic expression ``text`` (case-insensitive) given ``params``.

    Raises
    ------
    SpiceSyntaxError
        Anything but numbers, known parameters, ``+ - * / **`` and parentheses; an
        expression longer than :data:`MAX_EXPRESSION_LENGTH` or nested deeper than
        :data:`MAX_EXPRESSION_DEPTH`; division by zero; a non-finite or complex result.
    """
    return _Parser(text, params or {}, line, card).run()


class _Parser:
    def __init__(self, text, params, line, card):
        self.text, self.params, self.line, self.card = str(text), params, line, card

    def fail(self, why):
        raise SpiceSyntaxError(f"{self.card or 'expression'}: {why} in expression {self.text[:80]!r}",
                               line=self.line, card=self.card)

    def run(self) -> float:
        text = self.text.lower()
        if len(text) > MAX_EXPRESSION_LENGTH:
            self.fail(f"too long ({len(text)} characters; at most {MAX_EXPRESSION_LENGTH})")
        toks, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if m is None:
                self.fail(f"unexpected {text[pos:].strip()[:10]!r} (only numbers, parameters, + - * / ** "
                          "and parentheses)")
            toks.append((m.lastgroup, m.group(m.lastgroup)))
            pos = m.end()
        if not toks:
            self.fail("empty")
        self.toks, self.k, self.depth = toks, 0, 0
        value = self.expr()
        if self.k != len(toks):
            self.fail(f"unexpected {toks[self.k][1]!r}")
        return self.check(value)

    def check(self, value):
        if isinstance(value, complex) or not math.isfinite(value):
            self.fail(f"result {value!r} is not a finite real number")
        return float(value)

    def peek(self):
        return self.toks[self.k][1] if self.k < len(self.toks) else None

    def take(self):
        tok = self.toks[self.k]
        self.k += 1
        return tok

    def expr(self):
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            rhs = self.term()
            value = self.check(value + rhs if op == "+" else value - rhs)
        return value

    def term(self):
        value = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()[1]
            rhs = self.unary()
            if op == "/" and rhs == 0:
                self.fail("division by zero")
            value = self.check(value * rhs if op == "*" else value / rhs)
        return value

    def nest(self, delta):
        self.depth += delta
        if self.depth > MAX_EXPRESSION_DEPTH:
            self.fail(f"nested deeper than {MAX_EXPRESSION_DEPTH}")

    def unary(self):
        if self.peek() in ("-", "+"):
            op = self.take()[1]
            self.nest(1)
            value = self.unary()
            self.nest(-1)
            return -value if op == "-" else value
        return self.power()

    def power(self):
        base = self.atom()
        if self.peek() == "**":
            self.take()
            self.nest(1)
            exponent = self.unary()
            self.nest(-1)
            try:
                return self.check(math.pow(base, exponent))
            except (OverflowError, ValueError):
                self.fail(f"{base!r} ** {exponent!r} is not a finite real number")
        return base

    def atom(self):
        if self.k >= len(self.toks):
            self.fail("unexpected end")
        kind, tok = self.take()
        if kind == "num":
            m = _NUM.fullmatch(tok)
            if len(tok) > 100 or m is None:
                self.fail(f"cannot read number {tok[:20]!r}")
            return self.check(scaled(m.group(1), m.group(2)))
        if kind == "name":
            if self.peek() == "(":
                self.fail(f"function {tok!r} is not accepted (arithmetic only)")
            if tok not in self.params:
                known = ", ".join(sorted(self.params)[:10]) or "none"
                self.fail(f"unknown parameter {tok!r} (defined: {known})")
            return float(self.params[tok])
        if tok == "(":
            self.nest(1)
            value = self.expr()
            self.nest(-1)
            if self.peek() != ")":
                self.fail("missing ')'")
            self.take()
            return value
        self.fail(f"unexpected {tok!r}")
