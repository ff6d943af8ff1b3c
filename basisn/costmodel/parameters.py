"""Cost-model parameters: frozen dataclasses whose every field cites a source or says
"Assumption" and why.

``ProgrammingScheme``, :data:`ROW_BASED`, :data:`BLOCK_BASED`
    Cycles to (re)program one crossbar with row-based [13] or block-based [12] write-verify.
``ChipModel``, :data:`NEURRAM_CHIP`
    Number and size of crossbars, TG sets, programming parallelism, BasisN parallelism.
``EnergyModel``, :data:`DEFAULT_ENERGY`
    Per-operation energies (programming pulse, cell read, conversion, coefficient bit).
``AreaModel``, :data:`DEFAULT_AREA`
    Cell and TG areas for the TG overhead.

References (numbering of the BasisN paper, ``../shared/paper/basisn-paper.txt``):

[5]  W. Wan et al., "A compute-in-memory chip based on resistive random-access memory",
     Nature 608, 504-512 (2022) (NeuRRAM: 48 cores of 256x256 1T1R RRAM, 130 nm CMOS).
[12] W.-L. Chen et al., "A novel and efficient block-based programming for RRAM-based
     neuromorphic computing", ICCAD 2023.
[13] E. J. Merced-Grafals et al., "Repeatable, accurate, and high speed multi-level
     programming of memristor 1T1R arrays ...", Nanotechnology 27, 365202 (2016).
[25] C.-W. S. Yeh and S. S. Wong, "Compact one-transistor-N-RRAM array architecture for
     advanced CMOS technology", IEEE JSSC 50(5), 1299-1309 (2015).
[26] F. Zahoor et al., "Resistive random access memory (RRAM): an overview ...",
     Nanoscale Res. Lett. 15, 90 (2020).
[ITRS] ITRS 2011 emerging-memory figures as tabulated in J. J. Yang, D. B. Strukov and
     D. R. Stewart, "Memristive devices for computing", Nat. Nanotechnol. 8, 13-24 (2013),
     Table 1 (memristor: energy per bit 0.1-3 pJ, write time ~10 ns).

The paper states its cycle numbers only as "1e4-1e5 cycles to reprogram a 128x128
crossbar [12, 13]" and takes energies from [26] and areas from [5, 25] without giving
the values; where this module needs a number the paper does not give, the field's
docstring says "Assumption" and gives the argument. All values are SI (joule, second,
square metre) or dimensionless counts.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from devices.errors import ParameterError

__all__ = [
    "ProgrammingScheme",
    "ROW_BASED",
    "BLOCK_BASED",
    "SCHEMES",
    "ChipModel",
    "NEURRAM_CHIP",
    "EnergyModel",
    "DEFAULT_ENERGY",
    "AreaModel",
    "DEFAULT_AREA",
]


def _positive(obj, name: str, allow_zero: bool = False) -> None:
    v = getattr(obj, name)
    bad = isinstance(v, bool) or not isinstance(v, numbers.Real) or not (v >= 0 if allow_zero else v > 0)
    if bad or v != v or v == float("inf"):
        rng = ">= 0" if allow_zero else "> 0"
        raise ParameterError(f"{type(obj).__name__}.{name} = {v!r}; allowed: a finite number {rng}")


def _int_at_least(obj, name: str, low: int, allow_none: bool = False) -> None:
    v = getattr(obj, name)
    if allow_none and v is None:
        return
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
        extra = " or None" if allow_none else ""
        raise ParameterError(f"{type(obj).__name__}.{name} = {v!r}; allowed: an integer >= {low}{extra}")


@dataclass(frozen=True)
class ProgrammingScheme:
    """Time to (re)program one ``d x d`` crossbar with a write-verify scheme.

    ``cycles(d) = cycles_ref * (d / d_ref) ** row_exponent``.
    """

    name: str
    """Label, e.g. ``"row-based [13]"``."""
    cycles_ref: float
    """Cycles to reprogram one ``d_ref x d_ref`` crossbar (cycles)."""
    d_ref: int = 128
    """Crossbar size at which ``cycles_ref`` is given. Source: the paper quotes
    1e4-1e5 cycles for a 128x128 crossbar [12, 13]."""
    row_exponent: float = 1.0
    """Growth of the programming time with ``d``. Assumption: 1, because both schemes
    program one row (row-based) or one group of rows (block-based) at a time with all
    columns of the selected rows in parallel, so the time grows with the number of rows.
    The paper only says that larger crossbars take longer to reprogram (section 4.3)."""

    def __post_init__(self):
        _positive(self, "cycles_ref")
        _int_at_least(self, "d_ref", 1)
        _positive(self, "row_exponent", allow_zero=True)

    def cycles(self, d) -> float:
        """Cycles to reprogram one ``d x d`` crossbar (float; ``d`` may be an array)."""
        return self.cycles_ref * (d / self.d_ref) ** self.row_exponent


#: Row-based write-verify [13]. ``cycles_ref = 1e5``: the upper end of the paper's
#: "1e4-1e5 cycles for 128x128 [12, 13]". Assumption (argument): the paper groups the two
#: methods in one range and presents [12] as the faster successor of [13], so the slow
#: end is [13]'s; its Table 1 cycle ratios imply [13]/[12] ~ 8.4 in total cycles
#: (0.946 % / 0.113 %), consistent with ~10x in programming time.
ROW_BASED = ProgrammingScheme("row-based [13]", 1.0e5)
#: Block-based multi-row programming [12]. ``cycles_ref = 1e4``: the lower end of the
#: same range (see :data:`ROW_BASED` for the argument).
BLOCK_BASED = ProgrammingScheme("block-based [12]", 1.0e4)
#: The two schemes by short name.
SCHEMES = {"row": ROW_BASED, "block": BLOCK_BASED}


@dataclass(frozen=True)
class ChipModel:
    """The accelerator: how many crossbars, how they are programmed, how BasisN uses them."""

    n_crossbars: int = 48
    """Crossbars on the chip (count). Source: 48 cores in NeuRRAM [5]; Table 1 column 4."""
    d: int = 256
    """Crossbar size (rows = columns). Source: 256x256 cores in NeuRRAM [5]."""
    tg_sets: int = 4
    """TG sets K per crossbar (parallel output lines). Assumption: the paper does not give
    K for Table 1; 4 is the value of this project's crossbar benchmark (issue 2)."""
    pieces_per_step: float | None = None
    """Mean kernel pieces evaluated per crossbar step (1 <= p <= K); ``None`` means K.
    Assumption for the large networks: the contest-aware regularizer (paper 3.5) removes
    all basis contests so every TG set is busy (optimistic for BasisN). For the small
    models the BasisN scheduler measures it instead."""
    programming_parallelism: int | None = 1
    """Crossbars that can be reprogrammed at the same time (count); ``None`` means all
    ``M``. Assumption: 1, one shared write-verify controller programs the crossbars one
    after the other (every write-verify iteration needs a read and a per-cell decision by
    the programming controller; neither [12], [13] nor the paper describe programming
    several crossbars at once). Only with sequential programming does this model show
    the paper's Fig. 2(a) "slowdown >> 1000 even with block-based reprogramming"; the
    study also reports all ``M`` in parallel (``--programming-parallelism 0``)."""

    def __post_init__(self):
        _int_at_least(self, "n_crossbars", 1)
        _int_at_least(self, "d", 1)
        _int_at_least(self, "tg_sets", 1)
        _int_at_least(self, "programming_parallelism", 1, allow_none=True)
        if self.pieces_per_step is not None:
            p = self.pieces_per_step
            if isinstance(p, bool) or not isinstance(p, numbers.Real) or not (1 <= p <= self.tg_sets):
                raise ParameterError(
                    f"ChipModel.pieces_per_step = {p!r}; allowed: None or a number in [1, K={self.tg_sets}]"
                )

    @property
    def parallelism(self) -> float:
        """Pieces per crossbar step actually used: ``pieces_per_step`` or K."""
        return float(self.tg_sets if self.pieces_per_step is None else self.pieces_per_step)


#: The chip of Table 1: NeuRRAM [5], 48 crossbars of 256x256.
NEURRAM_CHIP = ChipModel()


@dataclass(frozen=True)
class EnergyModel:
    """Energy per elementary operation (joule) and the clock (second)."""

    e_pulse: float = 1.0e-12
    """Energy of one programming (SET/RESET) pulse on one cell (J). Source: RRAM write
    energy per bit 0.1-3 pJ [ITRS]; 1 pJ is inside that range. The paper takes its value
    from the review [26], whose text was not available here to quote a number."""
    pulses_per_cell: float = 10.0
    """Write-verify pulses needed on average to bring one cell to its target level
    (count). Assumption: iterative program-and-verify schemes such as [13] need several
    to tens of pulses for multi-level targets; the same count is used for row- and
    block-based schemes, which differ in parallelism, not in the physics of one cell."""
    v_read: float = 0.2
    """Read voltage on a driven wordline (V). Assumption: the top of the 0-0.2 V input
    range used throughout this project (shared FACTS.md), i.e. an upper bound."""
    g_cell: float = 50.5e-6
    """Mean cell conductance during a read (S). Assumption: middle of the 1-100 uS range
    of the project's cells (shared FACTS.md)."""
    t_cycle: float = 10e-9
    """Duration of one cycle, read (MVM step) or programming pulse (s). Assumption: a
    ~10 ns RRAM read/write time [ITRS]; programming and compute cycles are taken equal
    so cycle counts and times are proportional."""
    e_conversion: float = 2.56e-12
    """Energy of one analog-to-digital conversion of a column or summing-line current
    (J). Assumption: 8 bits at a Walden figure of merit of 10 fJ per conversion step
    (a good SAR ADC, Murmann's ADC survey), 10 fJ * 2**8."""
    e_coeff_bit: float = 10e-15
    """Energy to load one TG control bit for one step (J). Assumption: a register read
    plus switching a TG gate pair of a few fF at ~1.2 V (~C V**2 with C ~ 5 fF)."""
    basisn_column_activity: float = 0.5
    """Fraction of crossbar columns whose TG is closed (and which therefore conduct) in
    a BasisN step (dimensionless). Assumption: half of the coefficient bits are 1
    without regularization; the contest regularizer lowers it, so 0.5 is an upper bound."""

    def __post_init__(self):
        for name in ("e_pulse", "pulses_per_cell", "v_read", "g_cell", "t_cycle", "e_conversion", "e_coeff_bit"):
            _positive(self, name, allow_zero=name not in ("t_cycle",))
        a = self.basisn_column_activity
        if isinstance(a, bool) or not isinstance(a, numbers.Real) or not (0 <= a <= 1):
            raise ParameterError(f"EnergyModel.basisn_column_activity = {a!r}; allowed: a number in [0, 1]")

    @property
    def e_program_cell(self) -> float:
        """Energy to program one cell: ``pulses_per_cell * e_pulse`` (J)."""
        return self.pulses_per_cell * self.e_pulse

    @property
    def e_cell_read(self) -> float:
        """Energy one conducting cell dissipates in one cycle: ``v_read**2 * g_cell * t_cycle`` (J)."""
        return self.v_read**2 * self.g_cell * self.t_cycle


DEFAULT_ENERGY = EnergyModel()


@dataclass(frozen=True)
class AreaModel:
    """Areas of one 1T1R cell and one transmission gate (square metre)."""

    feature_size: float = 130e-9
    """Technology feature size F (m). Source: NeuRRAM [5] is built in 130 nm CMOS."""
    cell_f2: float = 30.0
    """1T1R cell area in F**2. Assumption: the access transistor, sized for forming and
    programming currents of ~100 uA, sets the 1T1R cell area, tens of F**2 (the reason
    [25] proposes sharing one transistor among N RRAMs); 30 F**2 = 0.51 um**2 at 130 nm."""
    tg_f2: float = 150.0
    """Area of one transmission gate (NMOS + PMOS, with n-well spacing) in F**2.
    Assumption: about a minimum inverter of a 130 nm standard-cell library
    (~2.5 um**2 = 150 F**2)."""

    def __post_init__(self):
        for name in ("feature_size", "cell_f2", "tg_f2"):
            _positive(self, name)

    @property
    def a_cell(self) -> float:
        """1T1R cell area (m**2)."""
        return self.cell_f2 * self.feature_size**2

    @property
    def a_tg(self) -> float:
        """Transmission-gate area (m**2)."""
        return self.tg_f2 * self.feature_size**2


DEFAULT_AREA = AreaModel()
