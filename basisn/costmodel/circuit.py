"""Step time and step energy from the TG step-timing archive, and the read periphery.

The cost model's per-step time and energy come from circuit simulations of the array
(:mod:`crossbar.transient.step_timing`, ``studies/tg_step_timing.py``), not constants:

``load_step_table(path=None)``
    The settling times, driver energies and static powers of a step-timing archive
    (HDF5), or of the shipped reference :data:`REFERENCE_FILE` (``path=None``): values
    extracted from the archive of ``REFERENCE_RECIPE`` by :func:`make_reference`.
``step_costs(table, d, K, r_on, adc_bits, periphery)``
    :class:`StepCosts` of one crossbar step at size ``d``, every number with the
    assumption it rests on (``StepCosts.assumptions``).
``PeripheryModel``, :data:`DEFAULT_PERIPHERY`
    A TIA + ADC per summing line (K lines, 2K with differential columns): time, energy
    and area per line.
``circuit_costs(...)``
    Energy, delay and EDP per inference of weight-stationary and BasisN from the above.

Assumptions (each also recorded on the numbers):

* **Step period.** ``T_step = max(t_settle, t_adc)`` with ``t_settle`` the slowest
  summing-line output's settling to 1/2 LSB of a ``adc_bits`` ADC after either event of
  the study (TG-pattern switch or input change: the design rule of docs/transient.md), and
  ``t_adc`` the conversion time; a sample-and-hold lets a conversion overlap the next
  step's settling.
* **Size extrapolation.** If the archive has no run at ``N = d``, the largest ``N`` it
  has is scaled: settling time by ``(d/N)**SETTLE_EXPONENT`` (0.88, the median measured
  log-log slope of the 8-bit settling after an input change over N = 32..256, K, r_on,
  docs/transient.md), driver energy and static power by ``(d/N)**2`` (N**2 conducting
  cells; the energy is mostly static read current, docs/transient.md) times the settling
  ratio for the energy.
* **Step energy.** The drivers' energy of the event up to its settling time plus the
  final static power over the rest of the period: ``E(event) + P(event) (T_step -
  t(event))``; BasisN steps use the larger of the two events (conservative: most steps
  of the one-bit schedule only switch the TG pattern). A weight-stationary read is an
  input change with *all* columns conducting: the input-change energy times ``(K+1)/K``
  (the study's patterns leave ``1/(K+1)`` of the columns unassigned).
* **K.** The archive's K nearest to the requested one (the settling time and energy
  hardly depend on K, docs/transient.md); the chosen K is recorded.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from devices.errors import ArchiveError, ParameterError

from .cycles import basisn_pieces, check_bits, ws_cycles
from .energy import ws_mvms
from .mapping import check_crossbar_size, crossbar_count, crossbars_per_layer, get_convention
from .networks import get_network
from .parameters import DEFAULT_AREA, DEFAULT_ENERGY, AreaModel, EnergyModel

__all__ = ["SETTLE_EXPONENT", "REFERENCE_FILE", "REFERENCE_RECIPE", "PeripheryModel", "DEFAULT_PERIPHERY",
           "StepCosts", "load_step_table", "make_reference", "step_costs", "circuit_costs",
           "periphery_area_overhead", "ws_compute_cycles", "measured_pieces_per_step"]

#: Settling-time exponent in N used to extrapolate beyond the archive's largest N:
#: median log-log slope of the 8-bit settling time after an input change, N = 32..256
#: (range 0.53-1.19 over K and r_on), measured in docs/transient.md.
SETTLE_EXPONENT = 0.88

#: Shipped reference values (extracted from the archive of :data:`REFERENCE_RECIPE`).
REFERENCE_FILE = Path(__file__).with_name("step_timing_reference.json")
#: How the reference archive was made and turned into :data:`REFERENCE_FILE`.
REFERENCE_RECIPE = ("python studies/tg_step_timing.py --sizes 256 --ks 1 4 8 --r-on 100 1000 10000 --steps 500 "
                    "--validate-max-n 0 --out results/tg_step_timing_256.h5 --jobs 1  (30 min);  then "
                    "python -m basisn.costmodel.circuit results/tg_step_timing_256.h5")

_EVENTS = ("tg_switch", "input_change")


def _pos(obj, name, allow_zero=False):
    v = getattr(obj, name)
    ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        raise ParameterError(f"{type(obj).__name__}.{name} = {v!r}; allowed: a finite number {'>=' if allow_zero else '>'} 0")


@dataclass(frozen=True)
class PeripheryModel:
    """One TIA + ADC per summing line (BasisN: K lines, 2K with differential columns;
    weight-stationary: one per column)."""

    differential: bool = False
    """Differential columns (positive and negative weights on two lines): 2 lines per TG set."""
    t_adc: float = 10e-9
    """Conversion time of one ADC (s). Assumption: an 8-bit SAR at 100 MS/s, the ~10 ns
    cycle the constant model used [ITRS]."""
    e_adc: float = 2.56e-12
    """Energy of one conversion (J). Assumption: Walden FoM 10 fJ/step x 2**8 (the
    constant model's ``EnergyModel.e_conversion``)."""
    p_tia: float = 50e-6
    """Power of one TIA while converting (W). Assumption: a small OTA-based TIA in 130 nm,
    tens of uA at 1.2 V; it is on for one period per conversion."""
    a_adc: float = 3000e-12
    """Area of one ADC (m**2). Assumption: a compact 8-bit SAR in 130 nm, ~3000 um**2."""
    a_tia: float = 1000e-12
    """Area of one TIA (m**2). Assumption: ~1000 um**2 (OTA + feedback resistor) in 130 nm."""

    def __post_init__(self):
        if not isinstance(self.differential, bool):
            raise ParameterError(f"PeripheryModel.differential = {self.differential!r}; allowed: True or False")
        for name in ("t_adc", "a_adc", "a_tia"):
            _pos(self, name)
        for name in ("e_adc", "p_tia"):
            _pos(self, name, allow_zero=True)

    @property
    def lines_per_set(self) -> int:
        """Summing lines (TIA + ADC) per TG set: 2 if differential else 1."""
        return 2 if self.differential else 1


DEFAULT_PERIPHERY = PeripheryModel()


@dataclass(frozen=True)
class StepCosts:
    """Time and energy of one crossbar step at size ``d`` (SI units)."""

    d: int
    """Crossbar size the numbers are for."""
    t_settle: float
    """Array settling of the slowest output to 1/2 LSB, worse of the two events (s)."""
    t_step: float
    """Step period ``max(t_settle, t_adc)`` (s)."""
    e_step: float
    """Array (driver) energy of one BasisN step over ``t_step`` (J)."""
    e_read: float
    """Array (driver) energy of one weight-stationary read, all columns conducting (J)."""
    k_used: int
    """K of the archive runs used."""
    n_archive: int
    """N of the archive runs used (extrapolated to ``d`` if different)."""
    source: str
    """Archive path or reference file, with the command that made it."""
    assumptions: tuple = field(default=())
    """The assumptions these numbers rest on (text)."""


def load_step_table(path=None) -> dict:
    """Settling, energy and static power per (N, K, r_on, bits, event) from an archive.

    Parameters
    ----------
    path : str or Path, optional
        A step-timing HDF5 archive; ``None``: the shipped :data:`REFERENCE_FILE`.

    Returns
    -------
    dict
        ``{"source": str, "rows": [{"N", "K", "r_on", "bits", "event", "settle",
        "energy", "static_power"}, ...]}`` (s, J, W).

    Raises
    ------
    ArchiveError
        Missing/unreadable file or not a step-timing archive.
    """
    if path is None:
        data = json.loads(REFERENCE_FILE.read_text())
        return {"source": f"{REFERENCE_FILE.name} (from: {data['command']}; recipe: {REFERENCE_RECIPE})",
                "rows": data["rows"]}
    p = Path(path)
    if not p.is_file():
        raise ArchiveError(f"--step-timing {str(path)!r}: no such file (give a studies/tg_step_timing.py archive)")
    import xarray as xr

    try:
        ds = xr.load_dataset(p, engine="h5netcdf")
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad archive
        raise ArchiveError(f"--step-timing {str(path)!r}: not a readable HDF5 archive ({type(exc).__name__})") from None
    need = ("settle", "energy", "static_power")
    if ds.attrs.get("study") != "tg_step_timing" or any(v not in ds for v in need):
        raise ArchiveError(f"--step-timing {str(path)!r}: not a tg_step_timing archive (needs {', '.join(need)})")
    rows = []
    for n in ds.N.values:
        for k in ds.K.values:
            for r in ds.r_on.values:
                for b in ds.bits.values:
                    for ev in _EVENTS:
                        s = float(ds.settle.sel(N=n, K=k, r_on=r, bits=b, event=ev))
                        e = float(ds.energy.sel(N=n, K=k, r_on=r, bits=b, event=ev, part="drivers"))
                        pw = float(ds.static_power.sel(N=n, K=k, r_on=r, event=ev))
                        if all(math.isfinite(x) and x > 0 for x in (s, e, pw)):
                            rows.append(dict(N=int(n), K=int(k), r_on=float(r), bits=int(b), event=ev,
                                             settle=s, energy=e, static_power=pw))
    if not rows:
        raise ArchiveError(f"--step-timing {str(path)!r}: no finite settling/energy values in the archive")
    return {"source": f"{p} (from: {ds.attrs.get('command', 'unknown command')})", "rows": rows}


def make_reference(archive, out=REFERENCE_FILE) -> Path:
    """Write the reference JSON (all finite rows of ``archive``) with the archive's command."""
    import xarray as xr

    tab = load_step_table(archive)
    attrs = xr.open_dataset(archive, engine="h5netcdf").attrs
    data = {"command": str(attrs.get("command")), "git_commit": str(attrs.get("git_commit")),
            "created_utc": str(attrs.get("created_utc")), "recipe": REFERENCE_RECIPE,
            "units": {"settle": "s", "energy": "J (drivers, event to settling)", "static_power": "W"},
            "rows": tab["rows"]}
    Path(out).write_text(json.dumps(data, indent=1) + "\n")
    return Path(out)


def step_costs(table: dict, d: int, K: int, r_on: float = 1e3, adc_bits: int = 8,
               periphery: PeripheryModel = DEFAULT_PERIPHERY) -> StepCosts:
    """One crossbar step's time and energy at size ``d`` (see the module's assumptions).

    Parameters
    ----------
    table : dict
        From :func:`load_step_table`.
    d : int
        Crossbar size.
    K : int
        TG sets (the archive's nearest K is used).
    r_on : float
        TG on-resistance (ohm); must be one of the archive's.
    adc_bits : int
        ADC resolution of the settling criterion; must be one of the archive's.
    periphery : PeripheryModel
        ``t_adc`` sets the floor of the step period.
    """
    d = check_crossbar_size(d)
    rows = [r for r in table["rows"] if r["bits"] == adc_bits and math.isclose(r["r_on"], r_on, rel_tol=1e-9)]
    if not rows:
        have = sorted({(r["r_on"], r["bits"]) for r in table["rows"]})
        raise ParameterError(f"step timing: no runs with r_on = {r_on!r} ohm and {adc_bits} ADC bits in "
                             f"{table['source']}; available (r_on, bits): {have}")
    ns = sorted({r["N"] for r in rows})
    n_a = d if d in ns else max(ns)
    ks = sorted({r["K"] for r in rows if r["N"] == n_a})
    k_used = min(ks, key=lambda k: (abs(k - K), k))
    sel = {r["event"]: r for r in rows if r["N"] == n_a and r["K"] == k_used}
    if set(sel) != set(_EVENTS):
        raise ParameterError(f"step timing: the archive lacks an event at N={n_a}, K={k_used} ({sorted(sel)})")
    ts = (d / n_a) ** SETTLE_EXPONENT
    scale_p = (d / n_a) ** 2
    t_ev = {ev: r["settle"] * ts for ev, r in sel.items()}
    e_ev = {ev: r["energy"] * scale_p * ts for ev, r in sel.items()}
    p_ev = {ev: r["static_power"] * scale_p for ev, r in sel.items()}
    t_settle = max(t_ev.values())
    t_step = max(t_settle, periphery.t_adc)
    e_full = {ev: e_ev[ev] + p_ev[ev] * (t_step - t_ev[ev]) for ev in _EVENTS}
    e_step = max(e_full.values())
    e_read = e_full["input_change"] * (k_used + 1) / k_used
    notes = [
        f"archive runs N={n_a}, K={k_used} (requested K={K}), r_on={r_on:g} ohm, 1/2 LSB of {adc_bits} bits",
        f"T_step = max(t_settle {t_settle:.3g} s, t_adc {periphery.t_adc:.3g} s): conversion overlaps settling (S/H)",
        "E_step = max over events of E(event) + P_static (T_step - t(event)); WS read = input change x (K+1)/K",
    ]
    if n_a != d:
        notes.append(f"extrapolated N={n_a} -> {d}: t x (d/N)^{SETTLE_EXPONENT} (measured slope), "
                     f"P x (d/N)^2, E x (d/N)^(2+{SETTLE_EXPONENT})")
    out = StepCosts(d=d, t_settle=t_settle, t_step=t_step, e_step=e_step, e_read=e_read, k_used=k_used,
                    n_archive=n_a, source=table["source"], assumptions=tuple(notes))
    for name in ("t_settle", "t_step", "e_step", "e_read"):
        v = getattr(out, name)
        if not (math.isfinite(v) and v > 0):
            raise ArchiveError(f"step timing: {name} = {v!r} from {table['source']} is not a finite positive number")
    return out


def periphery_area_overhead(d: int, K: int, periphery: PeripheryModel = DEFAULT_PERIPHERY,
                            area: AreaModel = DEFAULT_AREA) -> float:
    """BasisN read periphery (TIA + ADC per summing line) over the cell array area (fraction)."""
    d = check_crossbar_size(d)
    lines = K * periphery.lines_per_set
    return lines * (periphery.a_adc + periphery.a_tia) / (d * d * area.a_cell)


def ws_compute_cycles(network, d, m, convention="plain") -> float:
    """The compute part of :func:`ws_cycles` (cycles): ``max_l ceil(P_l / copies)`` if the
    network fits, else ``sum_l P_l ceil(N_l / M)``."""
    net = get_network(network)
    conv = get_convention(convention)
    total = crossbar_count(net, d, conv)
    n_l = crossbars_per_layer(net, d, conv)
    keep = n_l > 0
    p_l = np.array([lay.positions for lay in net.layers], dtype=np.int64)[keep]
    n_l = n_l[keep]
    if m >= total:
        return float((-(-p_l // max(m // max(total, 1), 1))).max())
    return float((p_l * (-(-n_l // m))).sum())


def circuit_costs(network, d: int, m: int, bits: int, K: int, pieces_per_step: float, step: StepCosts,
                  scheme, convention="plain", chip=None, energy: EnergyModel = DEFAULT_ENERGY,
                  periphery: PeripheryModel = DEFAULT_PERIPHERY) -> dict:
    """Energy (J), delay (s) and EDP (J s) per inference from the circuit step costs.

    Weight-stationary: programming energy/cycles as the constant model (cycle time
    ``energy.t_cycle`` per programming cycle), each read ``step.e_read`` plus ``d``
    conversions (ADC + TIA over one period), read time ``step.t_step``.
    BasisN: ``S = pieces * bits / p`` steps, each ``step.e_step`` plus ``p * lines``
    conversions plus the coefficient bits ``K d e_coeff_bit``; delay = BasisN cycles x
    ``step.t_step``.
    """
    from .cycles import basisn_cycles
    from .parameters import ChipModel

    bits = check_bits(bits)
    chip = chip if chip is not None else ChipModel(n_crossbars=m, d=d, tg_sets=K, pieces_per_step=pieces_per_step)
    e_conv = periphery.e_adc + periphery.p_tia * step.t_step
    n = crossbar_count(network, d, convention)
    total = float(ws_cycles(network, d, m, scheme, convention, chip))
    compute = ws_compute_cycles(network, d, m, convention)
    prog = total - compute
    mvm = ws_mvms(network, d, convention)
    e_ws = ((n * d * d * energy.e_program_cell) if n > m else 0.0) + mvm * (step.e_read + d * e_conv)
    t_ws = compute * step.t_step + prog * energy.t_cycle
    pieces = float(basisn_pieces(network, d).sum())
    steps = pieces * bits / pieces_per_step
    e_b = steps * (step.e_step + pieces_per_step * periphery.lines_per_set * e_conv + K * d * energy.e_coeff_bit)
    c_b = float(basisn_cycles(network, d, m, bits, chip))
    t_b = c_b * step.t_step
    return {"energy_ws": e_ws, "delay_ws": t_ws, "edp_ws": e_ws * t_ws,
            "energy_basisn": e_b, "delay_basisn": t_b, "edp_basisn": e_b * t_b}


def measured_pieces_per_step(path, K: int, max_drop: float = 0.01) -> dict:
    """Pieces per crossbar step of the trained, contest-regularized models of an accuracy archive.

    For each data set of a ``studies/basisn_accuracy.py`` archive: the largest seed-mean
    ``reg_pieces_per_step`` over (penalty, beta) whose seed-mean accuracy is at most
    ``max_drop`` below the unregularized (beta = 0) model's. Assumption: a loss of up to
    1 percentage point is acceptable for the parallelism gained.

    Returns
    -------
    dict
        ``{dataset: {"p", "penalty", "beta", "accuracy", "accuracy_beta0"}}``.

    Raises
    ------
    ArchiveError
        Missing/unreadable file, not an accuracy archive, or another K than ``K``.
    """
    p = Path(path)
    if not p.is_file():
        raise ArchiveError(f"--accuracy-archive {str(path)!r}: no such file (give a studies/basisn_accuracy.py archive)")
    import xarray as xr

    try:
        ds = xr.load_dataset(p, engine="h5netcdf")
    except Exception as exc:  # noqa: BLE001
        raise ArchiveError(f"--accuracy-archive {str(path)!r}: not a readable HDF5 archive ({type(exc).__name__})") from None
    if ds.attrs.get("study") != "basisn_accuracy" or "reg_pieces_per_step" not in ds:
        raise ArchiveError(f"--accuracy-archive {str(path)!r}: not a basisn_accuracy archive with reg_pieces_per_step")
    if int(ds.attrs.get("K", -1)) != K:
        raise ArchiveError(f"--accuracy-archive {str(path)!r}: scheduled with K = {ds.attrs.get('K')}, "
                           f"the table uses K = {K}")
    pps = ds.reg_pieces_per_step.mean("seed")
    acc = ds.reg_accuracy.mean("seed")
    out = {}
    for name in ds.dataset.values:
        a, q = acc.sel(dataset=name), pps.sel(dataset=name)
        a0 = float(a.sel(beta=0.0).max())
        ok = (a >= a0 - max_drop) & np.isfinite(q)
        best = q.where(ok).fillna(-1.0)
        i = np.unravel_index(int(np.argmax(best.values)), best.shape)
        sel = {best.dims[0]: i[0], best.dims[1]: i[1]}
        val = float(q.isel(sel))
        if not (math.isfinite(val) and 1.0 <= val <= K):
            raise ArchiveError(f"--accuracy-archive {str(path)!r}: pieces per step {val!r} of {name} not in [1, {K}]")
        out[str(name)] = {"p": val, "penalty": str(q.penalty.values[i[best.dims.index('penalty')]]),
                          "beta": float(q.beta.values[i[best.dims.index('beta')]]),
                          "accuracy": float(a.isel(sel)), "accuracy_beta0": a0,
                          "source": f"{p} ({ds.attrs.get('command', '?')})"}
    return out


if __name__ == "__main__":  # regenerate the shipped reference from an archive
    import sys

    print(make_reference(sys.argv[1]))
