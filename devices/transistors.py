"""Access transistors (1T of a 1T1R cell) and transmission gates."""

from __future__ import annotations

import math
from dataclasses import dataclass

from devices import _check
from devices.errors import ParameterError

__all__ = ["LinearAccessTransistor", "NMOSLevel1", "TransmissionGate", "CMOSTransmissionGate"]


def _kp(owner, name, value):
    lo, hi = _check.TRANSCONDUCTANCE
    return _check.number(owner, name, value, unit="A/V^2", lo=lo, hi=hi, what="a transconductance parameter")


def _lambda(owner, name, value):
    lo, hi = _check.INV_VOLTAGE
    return _check.number(owner, name, value, unit="1/V", lo=lo, hi=hi)


@dataclass(frozen=True)
class LinearAccessTransistor:
    """An access transistor modelled as its linear on-resistance (a resistor in series
    with the RRAM cell).  SPICE card: ``R<name> <drain> <source> <r_on>``."""

    r_on: float = 1e3
    """On-resistance of the selected transistor, ohm. > 0."""

    def __post_init__(self):
        object.__setattr__(self, "r_on", _check.resistance(type(self).__name__, "r_on", self.r_on))


@dataclass(frozen=True)
class NMOSLevel1:
    """An NMOS access transistor, SPICE level 1 (Shichman-Hodges), gate at ``v_gate``.

    Drain current for ``v_ds >= 0`` (the device is symmetric; drain and source swap
    when ``v_ds < 0``), with ``beta = kp * w / l`` and ``v_ov = v_gs - vth``::

        cutoff      v_ov <= 0          i_d = 0
        linear      0 < v_ds < v_ov    i_d = beta * (v_ov - v_ds/2) * v_ds * (1 + lambda_ * v_ds)
        saturation  v_ds >= v_ov       i_d = beta/2 * v_ov**2 * (1 + lambda_ * v_ds)

    SPICE cards: ``M<name> <d> <g> <s> <b> <model> W=<w> L=<l>`` and
    ``.model <model> nmos level=1 vto=<vth> kp=<kp> lambda=<lambda_> is=0 js=0``
    (junction diodes off: the body is tied to ground and the model has no body effect).
    """

    kp: float = 200e-6
    """Transconductance parameter ``mu_n * C_ox``, A/V^2. > 0."""
    w: float = 1e-6
    """Channel width, metre. > 0."""
    l: float = 0.1e-6
    """Channel length, metre. > 0."""
    vth: float = 0.4
    """Threshold voltage, volt. Finite."""
    lambda_: float = 0.0
    """Channel-length modulation, 1/V. >= 0."""
    v_gate: float = 1.8
    """Gate voltage of a selected cell, volt (the word select line). Must exceed ``vth``."""

    def __post_init__(self):
        name = type(self).__name__
        vals = dict(kp=_kp(name, "kp", self.kp), w=_check.length(name, "w", self.w), l=_check.length(name, "l", self.l),
                    vth=_check.voltage(name, "vth", self.vth), lambda_=_lambda(name, "lambda_", self.lambda_),
                    v_gate=_check.voltage(name, "v_gate", self.v_gate))
        if vals["v_gate"] <= vals["vth"]:
            raise ParameterError(f"{name}.v_gate must exceed vth = {vals['vth']!r} V (the cell would be off), got {self.v_gate!r}")
        for field, value in vals.items():
            object.__setattr__(self, field, value)

    @property
    def beta(self) -> float:
        """``kp * w / l``, A/V^2."""
        return self.kp * self.w / self.l

    @property
    def r_on_small_signal(self) -> float:
        """Channel resistance at ``v_ds = 0`` with the source grounded, ohm."""
        return 1.0 / (self.beta * (self.v_gate - self.vth))


@dataclass(frozen=True)
class TransmissionGate:
    """A transmission gate under a crossbar column, modelled as a switch resistance.

    An on TG is ``r_on`` between the column bottom and its summing line, an off TG is
    ``r_off``.  SPICE card: ``R<name> <column> <summing line> <r_on or r_off>``.
    """

    r_on: float = 100.0
    """Resistance of a closed (on) gate, ohm. > 0."""
    r_off: float = 1e9
    """Resistance of an open (off) gate, ohm. > r_on; ``inf`` drops off gates from the netlist."""

    def __post_init__(self):
        name = type(self).__name__
        r_on = _check.resistance(name, "r_on", self.r_on)
        r_off = _check.resistance(name, "r_off", self.r_off, allow_inf=True)
        if r_off <= r_on:
            raise ParameterError(f"{name}.r_off must be > r_on = {r_on!r} ohm, got {self.r_off!r}")
        object.__setattr__(self, "r_on", r_on)
        object.__setattr__(self, "r_off", r_off)

    @property
    def off_is_open(self) -> bool:
        """True when off gates are ideal opens (``r_off = inf``)."""
        return math.isinf(self.r_off)


@dataclass(frozen=True)
class CMOSTransmissionGate:
    """A transmission gate as an NMOS and a PMOS (SPICE level 1) in parallel.

    Closed: NMOS gate at ``v_dd``, PMOS gate at 0 V.  Open: the reverse.  The NMOS bulk
    is at ground, the PMOS bulk at ``v_dd``.  Its resistance depends on the column and
    summing-line voltages, which is what a real switch does; near 0 V (a TIA virtual
    ground) the NMOS carries most of the current.  SPICE cards::

        M<n> <column> <gate> <summing line> 0 ntg W=<w_n> L=<l>
        M<p> <column> <gate> <summing line> vdd ptg W=<w_p> L=<l>
    """

    kp_n: float = 200e-6
    """NMOS transconductance parameter, A/V^2. > 0."""
    kp_p: float = 80e-6
    """PMOS transconductance parameter, A/V^2. > 0."""
    w_n: float = 1e-6
    """NMOS width, metre. > 0."""
    w_p: float = 2e-6
    """PMOS width, metre. > 0."""
    l: float = 0.13e-6
    """Channel length of both, metre. > 0."""
    vth_n: float = 0.4
    """NMOS threshold, volt. > 0."""
    vth_p: float = -0.4
    """PMOS threshold, volt. < 0."""
    lambda_: float = 0.0
    """Channel-length modulation of both, 1/V. >= 0."""
    v_dd: float = 1.8
    """Supply and gate-high voltage, volt. > vth_n and > -vth_p."""

    def __post_init__(self):
        name = type(self).__name__
        vals = {f: _kp(name, f, getattr(self, f)) for f in ("kp_n", "kp_p")}
        vals.update({f: _check.length(name, f, getattr(self, f)) for f in ("w_n", "w_p", "l")})
        vals["vth_n"] = _check.voltage(name, "vth_n", self.vth_n)
        if vals["vth_n"] <= 0:
            raise ParameterError(f"{name}.vth_n must be > 0 V (an NMOS), got {self.vth_n!r}")
        vals["vth_p"] = _check.voltage(name, "vth_p", self.vth_p)
        if vals["vth_p"] >= 0:
            raise ParameterError(f"{name}.vth_p must be < 0 V (a PMOS), got {self.vth_p!r}")
        vals["lambda_"] = _lambda(name, "lambda_", self.lambda_)
        vals["v_dd"] = vdd = _check.voltage(name, "v_dd", self.v_dd)
        if vdd <= max(vals["vth_n"], -vals["vth_p"]):
            raise ParameterError(f"{name}.v_dd must exceed both thresholds (|vth| <= {max(vals['vth_n'], -vals['vth_p'])!r} V), "
                                 f"got {self.v_dd!r}")
        for field, value in vals.items():
            object.__setattr__(self, field, value)

    @property
    def r_on_at_ground(self) -> float:
        """Small-signal on-resistance with both channel terminals at 0 V, ohm."""
        # the PMOS (gate at 0 V, source at 0 V) is off there: v_gs = 0 > vth_p
        return 1.0 / (self.kp_n * self.w_n / self.l * (self.v_dd - self.vth_n))
