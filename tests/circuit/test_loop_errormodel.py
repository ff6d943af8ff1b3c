"""Error model: fitted from measurements, residual against the exact circuit."""

import numpy as np
import pytest

from basisn.circuit import ChipSystem, ErrorModel, ModelCrossbar, map_basis, residual


def test_residual_vanishes_on_ideal_circuit(basis8, ideal8, random_steps):
    chip = ChipSystem(map_basis(basis8, ideal8))
    steps = random_steps(np.random.default_rng(0), 20, 8, 3)
    model = ErrorModel.fit(chip, steps[:10])
    rep = residual(model, chip, steps[10:])
    assert rep.model < 1e-7 and rep.superposition < 1e-7  # TG of 1e-6 ohm: ~1e-9
    assert rep.naive > 1e-4  # 8-bit quantization is still there: the model captures it


def test_model_residual_small_on_realistic_chip(basis8, realistic8, random_steps):
    """Held-out steps: the model removes most of the deviation (observed ~1 % vs ~30 % naive at d = 8)."""
    chip = ChipSystem(map_basis(basis8, realistic8))
    steps = random_steps(np.random.default_rng(1), 60, 8, 3)
    model = ErrorModel.fit(chip, steps[:30])
    rep = residual(model, chip, steps[30:])
    assert rep.n_steps == 30
    assert rep.model <= rep.superposition + 1e-12
    assert rep.model < 0.2 * rep.naive
    assert rep.model < 0.05
    assert np.mean(model.alpha) > 0  # more closed columns on a line, less current each


def test_model_follows_basis_and_is_exact_at_fit(basis8, realistic8):
    chip = ChipSystem(map_basis(basis8, realistic8))
    model = ErrorModel.fit(chip, [])
    t0 = model.t_col.copy()
    np.testing.assert_allclose(t0, chip.single_column_transfers(), rtol=1e-12)
    v = model.version
    model.set_basis(basis8 * 1.01 + 0.01)
    assert model.version == v + 1 and not np.allclose(model.t_col, t0)
    model.set_basis(basis8)
    np.testing.assert_allclose(model.t_col, t0, rtol=1e-9, atol=1e-12)


def test_model_crossbar_hook(basis8, realistic8, random_steps):
    chip = ChipSystem(map_basis(basis8, realistic8))
    model = ErrorModel.fit(chip, random_steps(np.random.default_rng(2), 10, 8, 3))
    rng = np.random.default_rng(3)
    planes = rng.random((7, 8)) < 0.4
    out = ModelCrossbar(model).combine(rng.normal(size=(3, 8)), planes)
    assert out.shape == (3, 7) and np.all(np.isfinite(out))
    with pytest.raises(ValueError):
        ModelCrossbar(model, mode="sometimes")
