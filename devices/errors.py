"""The project's one exception hierarchy.

It lives in the lowest layer (``devices``) so that every layer above it
(``netlists``, ``crossbar``, ``basisn``, the studies) raises and catches the same
classes.  Every class derives from :class:`XbarError` and from the built-in
``ValueError`` (bad input) or ``RuntimeError`` (a computation that could not finish),
so callers may catch either.

=========================  ==============  ===========================================
class                      built-in base   raised when
=========================  ==============  ===========================================
ParameterError             ValueError      a device/builder/study parameter is out of
                                           range (the message names it, its value and
                                           the allowed range)
NetlistError               ValueError      a netlist is malformed (duplicate element,
                                           bad node name, unknown source, ...)
BasisContestError          NetlistError    one column is switched on by two TG sets
SpiceSyntaxError           NetlistError    SPICE text outside the documented subset
                                           (line number and card in the message; all
                                           bad lines of a deck in one report)
DeckTooLargeError          NetlistError    SPICE text or file over the reader's size cap
DeckInjectionError         NetlistError    the SPICE writer refused a line outside the
                                           documented card shapes (a name or title that
                                           would inject text into an ngspice deck)
FloatingNodeError          NetlistError    nodes without a DC path to ground
VoltageSourceLoopError     NetlistError    voltage sources forming a loop
ConvergenceError           RuntimeError    Newton-Raphson did not converge (carries
                                           the iteration history)
BackendError               RuntimeError    an external simulator (ngspice) is missing
                                           or failed
ArchiveError               RuntimeError    an archive cannot be written or read
IllConditionedError        RuntimeError    a solve's estimated error exceeds the asked
                                           accuracy, or its result is not finite
=========================  ==============  ===========================================
"""

from __future__ import annotations

__all__ = [
    "XbarError",
    "ParameterError",
    "NetlistError",
    "BasisContestError",
    "SpiceSyntaxError",
    "DeckTooLargeError",
    "DeckInjectionError",
    "FloatingNodeError",
    "VoltageSourceLoopError",
    "ConvergenceError",
    "BackendError",
    "ArchiveError",
    "IllConditionedError",
]


class XbarError(Exception):
    """Base class of every error this toolkit raises on purpose."""


class ParameterError(XbarError, ValueError):
    """A parameter is outside its allowed range."""


class NetlistError(XbarError, ValueError):
    """A netlist is malformed."""


class BasisContestError(NetlistError):
    """A crossbar column is claimed by more than one TG set in the same step.

    Attributes
    ----------
    columns : list of int
        The contested column indices.
    sets : dict
        Column index -> list of the TG sets that claim it.
    """

    def __init__(self, message: str, columns=(), sets=None):
        super().__init__(message)
        self.columns = list(columns)
        self.sets = dict(sets or {})


class SpiceSyntaxError(NetlistError):
    """SPICE text that the reader does not accept.

    Attributes
    ----------
    line : int or None
        1-based line number in the input text.
    card : str or None
        The offending card (element name or dot command).
    errors : list of (int or None, str or None, str)
        Every bad line of the deck as ``(line, card, message)``, in line order (the
        first is ``line``/``card``); a reader collects them into one exception.
    """

    def __init__(self, message: str, line: int | None = None, card: str | None = None, errors=None):
        where = f"line {line}: " if line is not None else ""
        super().__init__(where + message)
        self.line = line
        self.card = card
        self.errors = list(errors) if errors is not None else [(line, card, message)]


class DeckTooLargeError(NetlistError):
    """SPICE text or a SPICE file larger than the reader accepts.

    Attributes
    ----------
    size : int
        Characters (text) or bytes (file) seen, at least the limit plus one.
    limit : int
        The cap.
    """

    def __init__(self, message: str, size: int = 0, limit: int = 0):
        super().__init__(message)
        self.size = size
        self.limit = limit


class DeckInjectionError(NetlistError):
    """The SPICE writer refused to emit a line outside its documented card shapes.

    Attributes
    ----------
    text : str
        The refused line (``repr`` shows any control character).
    """

    def __init__(self, message: str, text: str = ""):
        super().__init__(message)
        self.text = text


class FloatingNodeError(NetlistError):
    """Nodes with no DC path to ground (the system matrix would be singular).

    Attributes
    ----------
    nodes : list of str
        The floating nodes.
    """

    def __init__(self, message: str, nodes=()):
        super().__init__(message)
        self.nodes = list(nodes)


class VoltageSourceLoopError(NetlistError):
    """Voltage sources that form a loop (their currents are undetermined).

    Attributes
    ----------
    sources : list of str
        The sources in the loop.
    """

    def __init__(self, message: str, sources=()):
        super().__init__(message)
        self.sources = list(sources)


class ConvergenceError(XbarError, RuntimeError):
    """Newton-Raphson did not converge.

    Attributes
    ----------
    history : list of dict
        One entry per iteration: ``{"iteration", "residual", "step", "damping"}``
        (residual in amperes, step in volts).
    """

    def __init__(self, message: str, history=()):
        super().__init__(message)
        self.history = list(history)


class BackendError(XbarError, RuntimeError):
    """An external simulator is missing or failed."""


class ArchiveError(XbarError, RuntimeError):
    """An archive cannot be written or read."""


class IllConditionedError(XbarError, RuntimeError):
    """A solve whose answer cannot be trusted: the estimated error of the branch
    currents exceeds the accuracy asked for (even after iterative refinement), or the
    result is not finite.  Typical cause: resistances spanning many decades in one
    netlist (1e-9 and 1e15 ohm), where a current is the small difference of large ones.

    Attributes
    ----------
    error_estimate : float
        Estimated absolute error of the worst branch current, ampere (inf when the
        result is not finite).
    scale : float
        The current it had to resolve (the largest branch current), ampere.
    """

    def __init__(self, message: str, error_estimate: float = float("inf"), scale: float = float("nan")):
        super().__init__(message)
        self.error_estimate = float(error_estimate)
        self.scale = float(scale)
