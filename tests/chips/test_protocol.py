"""Issue 12 protocol: read noise and ADC around a chip, training versus evaluation chips, the archived
model re-evaluated on a fresh chip, and the study's up-front argument checks."""

import dataclasses

import numpy as np
import pytest

from basisn.circuit import (ChipReadout, CircuitCrossbar, ChipSystem, evaluate_fresh_chip, evaluation_chips, get_preset,
                            load_model, map_basis, training_chip)
from basisn.circuit import feedback as feedback_mod
from basisn.circuit.loop import LoopConfig, _assemble, calibration_inputs, run_task, split_validation
from basisn.layers import orthogonal
from crossbar.archive import read_dataset, write_dataset
from devices import Readout
from devices.errors import ArchiveError, ParameterError
from tests.scripts import load_study


class _Net:
    """A one-layer stand-in for ChipReadout.calibrate: forward(x, crossbar) = crossbar.combine(x, planes)."""

    def __init__(self, planes):
        self.planes = planes

    def forward(self, x, crossbar=None):
        return crossbar.combine(x, self.planes)


def _chip(**cell):
    p = get_preset("ideal", d=8, K=2)
    p = dataclasses.replace(p, cell=dataclasses.replace(p.cell, **cell))
    return ChipSystem(map_basis(orthogonal(8, np.random.default_rng(0)), p))


def test_read_noise_matches_its_variance():
    """Per read: Gaussian with variance read_sigma^2 * sum_i x_i^2 sum_c (g_ic / gain)^2 (ideal chip)."""
    chip = _chip(read_sigma=0.05)
    planes = np.zeros((2, 8), bool)
    planes[0, :3] = True
    planes[1, 5] = True
    hook = ChipReadout(CircuitCrossbar(chip), chip.mapping, Readout(adc_bits=None), (1,))
    x = np.tile(np.linspace(-1, 1, 8), (20000, 1))
    y = hook.analog(x, planes)
    exact = x[:1] @ chip.mapping.programmed_basis().T @ planes.T.astype(float)
    g2 = (chip.mapping.g_cell / chip.mapping.gain) ** 2
    var = 0.05 ** 2 * np.array([(x[0] ** 2 * (g2[:, 0::2] + g2[:, 1::2])[:, p].sum(axis=1)).sum() for p in planes])
    np.testing.assert_allclose(y.mean(axis=0), exact[0], atol=4 * np.sqrt(var.max() / 20000))
    np.testing.assert_allclose(y.var(axis=0), var, rtol=0.05)
    y2 = hook.analog(x[:5], planes)
    assert not np.allclose(y2, y[:5])  # every read draws anew


def test_adc_needs_calibration_and_quantizes():
    chip = _chip()
    planes = np.eye(8, dtype=bool)[:4]
    net = _Net(planes)
    hook = ChipReadout(CircuitCrossbar(chip), chip.mapping, Readout(adc_bits=3, fs_percentile=100.0), (0,))
    x = np.random.default_rng(1).uniform(-1, 1, (50, 8))
    with pytest.raises(ParameterError, match="not calibrated"):
        hook.combine(x, planes)
    hook.calibrate(net, x)
    y = hook.combine(x, planes)
    fs = next(iter(hook.full_scale.values()))
    assert len(np.unique(np.round(y / fs * 3, 9))) <= 7 and np.abs(y).max() <= fs + 1e-15
    assert hook.calibration_reads == 50 * 2 and hook.reads == 50 * 2  # 4 patterns, K = 2: 2 steps per input


def test_recalibration_undoes_uniform_drift():
    """Uniform drift scales every output; the recalibration's gain per partition brings the reference back."""
    chip = _chip(drift_nu=0.02)
    planes = np.eye(8, dtype=bool)[:4]
    net = _Net(planes)
    x = np.random.default_rng(2).uniform(-1, 1, (30, 8))
    ro = Readout(adc_bits=None)
    h0 = ChipReadout(CircuitCrossbar(chip), chip.mapping, ro, (0,))
    h0.calibrate(net, x, keep_reference=True)
    chip_t = ChipSystem(chip.mapping.at_time(30 * 86400.0))
    ht = ChipReadout(CircuitCrossbar(chip_t), chip_t.mapping, ro, (0,))
    ht.full_scale = dict(h0.full_scale)
    drifted = ht.combine(x, planes)
    # rtol 1e-8: the ideal chip's TGs keep 1e-6 ohm in series (relative ~1e-9 of a column's conductance)
    np.testing.assert_allclose(drifted, h0.combine(x, planes) * (30 * 86400.0) ** -0.02, rtol=1e-8)
    gains = ht.recalibrate(net, x, h0.reference)
    assert list(gains.values())[0] == pytest.approx((30 * 86400.0) ** 0.02, rel=1e-8)
    np.testing.assert_allclose(ht.combine(x, planes), h0.combine(x, planes), rtol=1e-8)


def test_training_and_evaluation_chips_differ():
    p = get_preset("neurram")
    seeds = [c.chip_seed for c in evaluation_chips(p, 2, 5)]
    assert len(set(seeds)) == 5 and training_chip(p, 2).chip_seed not in seeds
    assert not set(seeds) & {c.chip_seed for c in evaluation_chips(p, 3, 5)}
    with pytest.raises(ParameterError, match="evaluation chips"):
        evaluation_chips(p, 0, 0)


@pytest.mark.parametrize("kw, match", [({"n_eval_chips": 0}, "n_eval_chips"), ({"adc_axis": (8, 17)}, "adc_bits"),
                                       ({"drift_times": (-1.0,)}, "drift_times"), ({"drift_times": (0.5,)}, "drift_t0"), ({"val_fraction": 0.0}, "val_fraction"),
                                       ({"fs_percentiles": (10.0,)}, "fs_percentile")])
def test_loop_config_rejects(kw, match):
    with pytest.raises(ParameterError, match=match):
        LoopConfig(**kw)


def _script():
    return load_study("basisn_hardware_loop")


@pytest.mark.parametrize("argv, match", [(["--eval-chips", "0"], "n_eval_chips"), (["--adc-axis", "17"], "adc_bits"),
                                         (["--adc-bits", "20"], "adc_bits"), (["--drift-times", "-5"], "drift_times"),
                                         (["--jobs", "0"], "--jobs"), (["--out", "/proc/nope/x.h5"], "/proc/nope/x.h5"),
                                         (["--presets", "nope"], "unknown hardware preset"),
                                         (["--coeff-bits", "99"], "coeff_bits")])
def test_study_bad_arguments_exit_2_before_training(argv, match, capsys, monkeypatch):
    study = _script()
    import basisn.circuit.study as hw_study

    monkeypatch.setattr(hw_study, "task_dataset", lambda *a, **k: pytest.fail("training started"))
    assert study.main(["--quick", "--no-progress"] + argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One seed of the loop on digits, lowbit at d = 16: 1 feedback epoch, 2 evaluation chips, no read noise.
    Records every chip seed the feedback's maps and models touch."""
    cfg = LoopConfig(datasets=("digits",), presets=("lowbit",), d=16, feedback_epochs=1, n_eval_chips=2,
                     adc_axis=(8,), drift_times=(), n_spot=0, read_noise=False)
    seen = []
    orig = feedback_mod.map_basis

    def spy(B, preset, write=0):
        seen.append(preset.chip_seed)
        return orig(B, preset, write=write)

    feedback_mod.map_basis = spy
    try:
        res = run_task(cfg, 0, "digits")
    finally:
        feedback_mod.map_basis = orig
    ds = _assemble(cfg, {(0, "digits"): res})
    path = write_dataset(ds, tmp_path_factory.mktemp("arch") / "loop.h5")
    return cfg, res, seen, path


def test_feedback_never_sees_an_evaluation_chip(tiny_run):
    cfg, res, seen, _ = tiny_run
    p = cfg.hardware()[0]
    assert seen and set(seen) == {training_chip(p, 0).chip_seed}


def test_archived_model_reevaluates_on_a_fresh_chip(tiny_run):
    """Load the trained model from the archive through the public API; on evaluation chip 0 (write 1, same
    calibration inputs and chosen readout, exact reads) it reproduces the archived accuracy, and a chip
    no run used gives a sensible one."""
    cfg, res, _, path = tiny_run
    ds = read_dataset(path)
    net = load_model(ds, "digits", seed=0, preset="lowbit")
    from basisn.circuit.loop import _protocol

    data = _protocol("digits", True).load()
    fit, _, _ = split_validation(data, cfg.val_fraction, 0)
    p = cfg.hardware()[0]
    x_cal = calibration_inputs(fit, p.readout.n_calibration, 0)
    ro = dataclasses.replace(p.readout, fs_percentile=float(ds["fs_percentile"].sel(preset="lowbit").item()))
    ev = evaluation_chips(p, 0, 1)[0]
    out = evaluate_fresh_chip(net, p, ev.chip_seed, data.x_test, data.y_test, x_cal, write=1, readout=ro,
                              read_noise=False)
    assert out["accuracy"] == pytest.approx(float(ds["acc_after"].sel(preset="lowbit", chip=0).item()), abs=1e-12)
    fresh = evaluate_fresh_chip(net, p, 987654, data.x_test, data.y_test, x_cal, t=86400.0, recalibrate=True)
    assert 0.8 < fresh["accuracy"] <= 1.0 and fresh["calibration_reads"] > 0
    with pytest.raises(ArchiveError):
        load_model(ds, "mnist1d", seed=0, preset="lowbit")
