"""The port-model fast path (one factorization per chip, Woodbury per step) against fresh factorizations.

Tolerance: relative 1e-10 of the largest transfer entry. Both sides are exact solutions
of the same linear circuit; what separates them is rounding in two different orders of
elimination (observed 1e-16 to 5e-12; the Schur complement subtracts the cells' currents
from the wires' much larger conductances, which costs about three digits).
"""

import dataclasses
import math

import numpy as np
import pytest

from basisn.circuit import ChipSystem, direct_step_transfer, get_preset, map_basis
from basisn.circuit.ports import ArrayPorts, PeripheryModel, periphery_transfer, tg_conductances
from basisn.layers import orthogonal
from devices import LinearAccessTransistor, TransmissionGate, Wires
from devices.errors import ParameterError

RTOL = 1e-10


def _steps(rng, n, d, K, density=0.5):
    out = []
    for _ in range(n):
        pats = np.zeros((K, d), bool)
        cols = rng.permutation(d)[: max(K, int(density * d))]
        pats[np.arange(cols.size) % K, cols] = True
        out.append(pats)
    return out


def _check(preset, d=12, n_steps=4, seed=0):
    m = map_basis(orthogonal(d, np.random.default_rng(seed)), preset)
    chip = ChipSystem(m)
    worst = 0.0
    for pats in _steps(np.random.default_rng(seed + 1), n_steps, d, preset.K):
        T = chip.step_transfer(pats)
        D = direct_step_transfer(m, pats)
        assert np.all(np.isfinite(T))
        err = float(np.abs(T - D).max() / np.abs(D).max())
        worst = max(worst, err)
    assert worst < RTOL, worst
    return chip


CASES = {
    "neurram": dict(),
    "reference": dict(encoding="reference"),
    "no_wires": dict(wires=Wires(0.0, 0.0, 0.0)),
    "summing_only": dict(wires=Wires(0.0, 0.0, 2.5)),
    "wordline_only": dict(wires=Wires(2.5, 0.0, 0.0)),
    "bitline_only": dict(wires=Wires(0.0, 2.5, 0.0)),
    "open_off_tg": dict(tg=TransmissionGate(r_on=1e3, r_off=math.inf)),
    "low_r_on": dict(tg=TransmissionGate(r_on=10.0, r_off=1e9)),
    "no_access": dict(access=None),
    "strong_access": dict(access=LinearAccessTransistor(5e3)),
    "reference_no_summing": dict(encoding="reference", wires=Wires(2.5, 2.5, 0.0)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_path_equals_direct_solve(case):
    preset = get_preset("neurram", d=12, K=3, **CASES[case])
    _check(preset)


def test_ideal_chip_equals_direct_solve():
    """Ideal TGs (1e-6 ohm) on ideal summing lines: TG currents come from the solve, not from
    1e6 S times a tiny column voltage."""
    _check(get_preset("ideal", d=12, K=3))


def test_larger_chip_equals_direct_solve():
    """d = 48 (96 columns, 8 lines): the sizes where the Schur complement's cancellation grows."""
    _check(get_preset("neurram", d=48, K=4), d=48, n_steps=2)


def test_dense_periphery_equals_woodbury():
    """Two exact periphery solves (per-step dense elimination, Woodbury on the all-open base) agree."""
    p = get_preset("neurram", d=10, K=2)
    m = map_basis(orthogonal(10, np.random.default_rng(4)), p)
    ports = ArrayPorts(m.g_rram, p.wires, p.access.r_on)
    pm = PeripheryModel(ports, p.tg, p.wires.r_summing, m.n_lines)
    for pats in _steps(np.random.default_rng(5), 3, 10, 2):
        a = m.physical_assignment(pats)
        dense = periphery_transfer(ports, tg_conductances(a, p.tg), p.wires.r_summing)
        wood = pm.transfer(a)
        np.testing.assert_allclose(wood, dense, rtol=0, atol=RTOL * np.abs(dense).max())


def test_superlu_fallback_equals_cholmod(monkeypatch):
    """Without CHOLMOD the port admittance comes from SuperLU solves: same matrix."""
    import basisn.circuit.ports as ports_mod

    if not ports_mod.HAVE_CHOLMOD:
        pytest.skip("CHOLMOD not installed: only the SuperLU path exists")
    p = get_preset("neurram", d=8, K=2)
    m = map_basis(orthogonal(8, np.random.default_rng(6)), p)
    a = ArrayPorts(m.g_rram, p.wires, p.access.r_on)
    monkeypatch.setattr(ports_mod, "HAVE_CHOLMOD", False)
    ports_mod._TEMPLATES.clear()
    b = ArrayPorts(m.g_rram, p.wires, p.access.r_on)
    ports_mod._TEMPLATES.clear()
    assert (a.method, b.method) == ("cholmod", "superlu")
    scale = np.abs(a.S_CD).max()
    np.testing.assert_allclose(b.S_CC, a.S_CC, rtol=0, atol=1e-9 * np.abs(a.S_CC).max())
    np.testing.assert_allclose(b.S_CD, a.S_CD, rtol=0, atol=1e-9 * scale)


def test_chips_of_one_shape_share_the_ordering():
    """A second chip of the same shape reuses the symbolic analysis and still matches a direct solve."""
    p = get_preset("neurram", d=12, K=3)
    _check(p, seed=0)
    _check(dataclasses.replace(p, chip_seed=7), seed=3)


def test_bad_assignment_is_refused():
    p = get_preset("neurram", d=6, K=2)
    chip = ChipSystem(map_basis(orthogonal(6, np.random.default_rng(0)), p))
    bad = np.zeros_like(chip.mapping.switchable())
    bad[0, 1] = True  # line 0 (+) never switches an odd (-) column
    with pytest.raises(ParameterError, match="never switches"):
        chip.physical_transfer(bad)
    with pytest.raises(ParameterError, match="shape"):
        chip.physical_transfer(np.zeros((3, 3), bool))
    with pytest.raises(ParameterError, match="g_rram"):
        ArrayPorts(np.zeros((2, 2)), Wires(1.0, 1.0, 1.0))
