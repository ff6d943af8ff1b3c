"""Exact step transfers: the Woodbury fast path against fresh factorizations."""

import dataclasses

import numpy as np
import pytest

from basisn.circuit import ChipSystem, CircuitCrossbar, direct_step_transfer, map_basis, pattern_steps


@pytest.mark.parametrize("encoding", ["differential", "reference"])
def test_fast_path_matches_direct_solve(basis8, realistic8, encoding, random_steps):
    """Same circuit, two computations: rtol 1e-9 (observed ~1e-12; Woodbury's small dense solve adds rounding)."""
    m = map_basis(basis8, dataclasses.replace(realistic8, encoding=encoding))
    chip = ChipSystem(m)
    for pats in random_steps(np.random.default_rng(1), 6, 8, 3):
        T = chip.step_transfer(pats)
        D = direct_step_transfer(m, pats)
        np.testing.assert_allclose(T, D, rtol=1e-9, atol=1e-9 * np.abs(D).max())


def test_cache_and_counts(basis8, realistic8, random_steps):
    chip = ChipSystem(map_basis(basis8, realistic8))
    pats = random_steps(np.random.default_rng(2), 1, 8, 3)[0]
    a = chip.step_transfer(pats)
    b = chip.step_transfer(pats.copy())
    assert a is b and chip.n_solved == 1 and chip.n_cached == 1


def test_sets_interact_through_wordlines(basis8, realistic8):
    """Closing other sets in the same step changes a set's output (shared wordlines): scheduled != alone."""
    m = map_basis(basis8, realistic8)
    chip = ChipSystem(m)
    both = np.zeros((3, 8), bool)
    both[0, :3] = True
    both[1, 3:8] = True
    alone = both.copy()
    alone[1] = False
    t_both, t_alone = chip.step_transfer(both)[0], chip.step_transfer(alone)[0]
    rel = np.abs(t_both - t_alone).max() / np.abs(t_alone).max()
    assert 1e-9 < rel < 0.1


def test_crossbar_hook_uses_scheduled_steps(basis8, realistic8):
    """CircuitCrossbar.combine equals solving each scheduled step directly."""
    m = map_basis(basis8, realistic8)
    rng = np.random.default_rng(4)
    planes = rng.random((10, 8)) < 0.3
    x = rng.normal(size=(4, 8))
    got = CircuitCrossbar(ChipSystem(m)).combine(x, planes)
    want = np.zeros_like(got)
    for items, sets, pats in pattern_steps(planes, 8, 3):
        T = direct_step_transfer(m, pats)
        want[:, items] = x @ T[sets].T
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
