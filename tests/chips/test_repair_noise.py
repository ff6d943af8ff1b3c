"""Stuck-cell repair in differential pairs and noise-aware feedback (issue 13)."""

import dataclasses

import numpy as np
import pytest

from basisn.circuit.errormodel import TwinModel
from basisn.circuit.feedback import NOISE_CHIP_SEEDS, ChipNoise
from basisn.circuit.mapping import map_basis
from basisn.circuit.preset import HardwarePreset, get_preset
from devices import RRAMCell
from devices.errors import ParameterError


def _basis(d, seed=0):
    return np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))[0]


def _stuck_preset(d=16, **kw):
    cell = RRAMCell(g_min=1e-6, g_max=40e-6, bits=4, sigma=0.0, stuck_on=0.03, stuck_off=0.03)
    return HardwarePreset(name="stuck", d=d, K=2, cell=cell, chip_seed=3, **kw)


def test_repair_restores_pairs_with_one_stuck_cell():
    p = _stuck_preset()
    B = _basis(16)
    plain = map_basis(B, p)
    fixed = map_basis(B, dataclasses.replace(p, repair_stuck=True))
    q = plain.quantized_basis()
    st = plain.stuck
    one = (st[:, 0::2] != 0) ^ (st[:, 1::2] != 0)  # (d rows, d logical columns): exactly one cell of the pair stuck
    assert one.sum() > 5
    err_plain = np.abs(plain.programmed_basis() - q).T  # (rows, logical columns)
    err_fixed = np.abs(fixed.programmed_basis() - q).T
    assert fixed.repaired == int(one.sum())
    # where the partner can reach the level the pair needs (s - D for a stuck G+, s + D for a stuck G-),
    # the pair holds its weight exactly (no variation here); elsewhere it is clipped to the nearest it can
    cell = p.cell
    D = plain.g_nominal[:, 0::2] - plain.g_nominal[:, 1::2]
    s_p = np.where(st[:, 0::2] > 0, cell.g_max, cell.g_min)
    s_m = np.where(st[:, 1::2] > 0, cell.g_max, cell.g_min)
    need = np.where(st[:, 0::2] != 0, s_p - D, s_m + D)
    feasible = one & (need >= cell.g_min - 1e-12) & (need <= cell.g_max + 1e-12)
    assert feasible.sum() >= 3
    assert np.all(err_fixed[feasible] < 1e-12)
    assert np.any(err_plain[feasible] > 0.01)
    # the others never get worse; cells without a stuck partner are untouched
    assert np.all(err_fixed <= err_plain + 1e-12)
    assert np.array_equal(fixed.g_cell[:, 0::2][~one & (st[:, 0::2] == 0)], plain.g_cell[:, 0::2][~one & (st[:, 0::2] == 0)])
    assert np.linalg.norm(err_fixed) < 0.5 * np.linalg.norm(err_plain)


def test_repair_is_what_the_twin_holds():
    p = dataclasses.replace(_stuck_preset(), repair_stuck=True)
    B = _basis(16)
    m = map_basis(B, p)
    twin = TwinModel(p, B)
    assert np.allclose(twin.chip.mapping.g_cell, m.g_cell)  # no variation: the twin is the chip


def test_repair_needs_the_differential_encoding():
    with pytest.raises(ParameterError, match="repair_stuck needs the differential"):
        dataclasses.replace(_stuck_preset(), encoding="reference", repair_stuck=True)
    with pytest.raises(ParameterError, match="repair_stuck must be True or False"):
        dataclasses.replace(_stuck_preset(), repair_stuck=1)


def test_chip_noise_matches_the_spread_of_real_chips():
    p = dataclasses.replace(get_preset("neurram"), d=16, K=2, repair_stuck=True)
    B = _basis(16)
    twin = TwinModel(p, B, known_stuck=False)
    noise = ChipNoise(twin, seed=1)
    q = map_basis(B, dataclasses.replace(p, chip_seed=0)).quantized_basis()
    sampled = np.array([np.linalg.norm(noise.sample(B)) for _ in range(20)])
    # deviations of real chips from the nominal levels, through an ideal circuit (gains ~1 apart from loading)
    real = np.array([np.linalg.norm(map_basis(B, dataclasses.replace(p, chip_seed=100 + s)).programmed_basis() - q)
                     for s in range(20)])
    gain = float(np.median(twin._gain_model.gains))
    assert 0.5 < np.median(sampled) / (gain * np.median(real)) < 2.0
    assert noise.samples == 20
    # two draws differ, and the draws never reuse a training or evaluation chip seed
    assert not np.allclose(noise.sample(B), noise.sample(B))
    assert NOISE_CHIP_SEEDS > 10 ** 9


def test_chip_noise_validates():
    p = dataclasses.replace(get_preset("neurram"), d=8, K=2)
    twin = TwinModel(p, _basis(8))
    with pytest.raises(ParameterError, match="seed"):
        ChipNoise(twin, seed=-1)
    with pytest.raises(ParameterError, match="n_cores"):
        ChipNoise(twin, n_cores=0)


def test_bitline_resistance_apart_from_the_wordline():
    from basisn.circuit.mitigation import Mitigation

    base = get_preset("neurram")
    p = Mitigation(r_wire=0.94, r_bitline=0.31).apply(base)
    assert (p.wires.r_wordline, p.wires.r_bitline, p.wires.r_summing) == (0.94, 0.31, 0.94)
    q = Mitigation(r_bitline=0.5).apply(base)  # only the bitline changes
    assert (q.wires.r_wordline, q.wires.r_bitline, q.wires.r_summing) == (base.wires.r_wordline, 0.5,
                                                                            base.wires.r_summing)
    assert "r_bitline=0.31ohm" in Mitigation(r_bitline=0.31).label()
    with pytest.raises(ParameterError, match="r_bitline = 200.*allowed"):
        Mitigation(r_bitline=200.0)
    with pytest.raises(ParameterError, match="repair_stuck"):
        Mitigation(repair_stuck="yes")


def test_rule130_preset_is_the_cited_design_point():
    p = get_preset("rule130")
    assert (p.cell.g_min, p.cell.g_max, p.tg.r_on) == (1e-7, 1e-6, 100.0)
    assert (p.wires.r_wordline, p.wires.r_bitline) == (0.94, 0.31)
    assert p.repair_stuck and p.encoding == "differential"


def test_noise_aware_feedback_draws_a_chip_per_forward_pass_and_follows_the_step(monkeypatch):
    """feedback_train with ChipNoise: one fresh chip per forward pass (shared by the layers), the
    weights differ from the noiseless model's, and with follow_scale the coefficient learning rate
    is multiplied by the geometric mean of the layers' step growth from re-projection."""
    import basisn.circuit.feedback as fbm
    from basisn.circuit.feedback import feedback_train
    from basisn.training import AlternatingConfig
    from tests.scale.test_hwgrad import _tiny_data, _tiny_net

    d = 8
    p = get_preset("neurram", d=d, K=2, repair_stuck=True)
    net = _tiny_net(d)
    twin = TwinModel(p, net.basis.effective(), known_stuck=False)
    noise = ChipNoise(twin, seed=3, n_cores=len(net.cores()))
    seen = {}
    real_train = fbm.train_alternating

    def spy(net_, data, cfg, progress=False):
        seen["eta"] = cfg.eta_coeffs
        seen["steps"] = [c.scale for c in net_.cores()]
        w1 = [c.weight() for c in net_.cores()]
        w2 = [c.weight() for c in net_.cores()]
        seen["differ"] = not np.allclose(w1[0], w2[0])
        return real_train(net_, data, cfg, progress=progress)

    monkeypatch.setattr(fbm, "train_alternating", spy)
    before = [c.scale for c in net.cores()]
    cfg = AlternatingConfig(epochs=1, t_coeffs=1, t_basis=0, eta_coeffs=1e-3, batch_size=16)
    feedback_train(net, _tiny_data(), twin, cfg, noise=noise, follow_scale=True)
    ratio = np.array(seen["steps"]) / np.array(before)
    assert seen["eta"] == pytest.approx(1e-3 * float(np.exp(np.mean(np.log(ratio)))))
    assert seen["differ"]  # two forward passes, two chips
    assert noise.samples >= 2 and noise.samples <= noise._calls // len(net.cores()) + 1
