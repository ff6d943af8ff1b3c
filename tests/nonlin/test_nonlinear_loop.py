"""Nonlinear chips in the loop (issue 12): sinh cells and level-1 NMOS access, linearised steps."""

import dataclasses

import numpy as np
import pytest

from basisn.circuit.mapping import map_basis
from basisn.circuit.measure import (ChipSystem, NonlinearChipSystem, cell_chord_conductance, chip_system,
                                    exact_step_currents, linearized_step_transfer)
from basisn.circuit.preset import PRESETS, HardwarePreset, access_r_on, get_preset
from devices import LinearAccessTransistor, NMOSLevel1, RRAMCell
from devices.errors import ParameterError

D, K = 12, 2


def _mapping(v_read=0.2, access=NMOSLevel1(), v0=0.25, seed=0):
    p = get_preset("nonlinear", d=D, K=K, v_read=v_read, access=access,
                   cell=dataclasses.replace(PRESETS["nonlinear"].cell, v0=v0))
    B = np.random.default_rng(seed).standard_normal((D, D))
    return map_basis(B, p)


def _patterns():
    p = np.zeros((K, D), bool)
    p[0, :4] = True
    p[1, 5:9] = True
    return p


# ---------------------------------------------------------------- parameters and presets
@pytest.mark.parametrize("bad", [0.0, -0.1, 0.001, 11.0, float("nan"), float("inf"), True, "0.2"])
def test_v0_out_of_range_is_a_named_error(bad):
    with pytest.raises(ParameterError, match="v0"):
        RRAMCell(v0=bad)


def test_v0_none_is_linear_and_sinh_otherwise():
    assert not RRAMCell().nonlinear
    c = RRAMCell(v0=0.25)
    assert c.nonlinear and c.v0 == 0.25
    np.testing.assert_allclose(c.current(1e-5, 0.25), 1e-5 * 0.25 * np.sinh(1.0), rtol=1e-14)
    np.testing.assert_allclose(RRAMCell().current(1e-5, 0.25), 2.5e-6, rtol=1e-14)


def test_preset_accepts_nmos_and_nonlinear_cells():
    p = PRESETS["nonlinear"]
    assert isinstance(p.access, NMOSLevel1) and p.cell.v0 == 0.25 and p.nonlinear
    assert not PRESETS["neurram"].nonlinear
    assert get_preset("neurram", access=NMOSLevel1()).nonlinear
    nm = NMOSLevel1()
    assert access_r_on(nm) == pytest.approx(1.0 / (nm.beta * (nm.v_gate - nm.vth)))
    assert access_r_on(LinearAccessTransistor(1e3)) == 1e3 and access_r_on(None) == 0.0
    assert "NMOS" in p.describe() and "v0=0.25" in p.describe()


def test_preset_rejects_nmos_too_resistive_for_g_max():
    weak = NMOSLevel1(kp=1e-6, w=0.1e-6, l=1e-6, v_gate=0.5)  # ~ 1/(1e-7 * 0.1) = 1e8 ohm
    with pytest.raises(ParameterError, match="g_max \\* r_on"):
        HardwarePreset(access=weak)


def test_linear_chip_system_refuses_a_nonlinear_mapping():
    with pytest.raises(ParameterError, match="nonlinear"):
        ChipSystem(_mapping())
    assert isinstance(chip_system(_mapping()), NonlinearChipSystem)


@pytest.mark.parametrize("bad", [0.0, -0.1, 0.3])
def test_v_ref_outside_read_range_is_rejected(bad):
    with pytest.raises(ParameterError, match="v_ref"):
        NonlinearChipSystem(_mapping(v_read=0.2), v_ref=bad)


# ---------------------------------------------------------------- device-level chord
@pytest.mark.parametrize("access", [None, LinearAccessTransistor(1e3), NMOSLevel1()])
def test_chord_conductance_solves_the_series_cell(access):
    p = get_preset("nonlinear", d=D, K=K, access=access)
    g = np.array([1e-6, 2e-5, 4e-5])
    v = 0.2
    gc = cell_chord_conductance(p, g, v)
    i = gc * v
    # the RRAM carries i at its own voltage v - v_acc: reconstruct v_acc and check KCL
    if access is None:
        np.testing.assert_allclose(i, p.cell.current(g, v), rtol=1e-12)
    else:
        v_r = p.cell.v0 * np.arcsinh(i / (g * p.cell.v0))
        v_acc = v - v_r
        if isinstance(access, NMOSLevel1):
            vov = access.v_gate - access.vth
            i_acc = access.beta * (vov * v_acc - 0.5 * v_acc ** 2)
        else:
            i_acc = v_acc / access.r_on
        np.testing.assert_allclose(i_acc, i, rtol=1e-9)
    # small voltage: the low-field series conductance
    g0 = cell_chord_conductance(p, g, 1e-9)
    np.testing.assert_allclose(g0, 1.0 / (1.0 / g + access_r_on(access)), rtol=1e-6)


# ---------------------------------------------------------------- linearised step vs exact Newton
@pytest.mark.parametrize("access", [None, NMOSLevel1()])
def test_linearised_step_matches_exact_newton_for_small_inputs(access):
    """Linearised at the operating point of small inputs, the step equals the exact solve to 1e-6.

    Inputs up to 0.1 mV: the sinh chord gain varies by (V/v0)**2 / 6 ~ 3e-8 over them.
    """
    m = _mapping(access=access)
    pats = _patterns()
    v = np.random.default_rng(3).uniform(0.0, 1e-4, (3, D))  # 0.1 mV << v0 = 0.25 V
    T, info = linearized_step_transfer(m, pats, v.mean(axis=0))
    exact = exact_step_currents(m, pats, v) @ m.readout(pats).T / m.gain
    lin = v @ T.T
    assert info["residual"] < 1e-12
    assert np.abs(lin - exact).max() / np.abs(exact).max() < 1e-6


def test_linearised_step_is_exact_at_its_operating_point():
    """The chord linearisation reproduces the exact outputs at the input it was taken at (0.2 V read).

    To 1e-7 of the largest output: the exact netlist's NMOS junctions carry GMIN (1e-12 S)
    to the grounded bulk, a leak of ~1e-7 of a 1 uS cell's current that the chord model
    (one conductance per 1T1R cell) does not have.
    """
    m = _mapping(v_read=0.2)
    pats = _patterns()
    v_op = np.random.default_rng(4).uniform(0.0, 0.2, D)
    T, _ = linearized_step_transfer(m, pats, v_op)
    exact = exact_step_currents(m, pats, v_op[None]) @ m.readout(pats).T / m.gain
    np.testing.assert_allclose(v_op @ T.T, exact[0], rtol=0, atol=1e-7 * np.abs(exact).max())


def test_chip_linearisation_error_grows_with_v_read_and_is_reported():
    """The per-chip chord model is not exact at large inputs: its error is measured, and grows with v_read."""
    pats = _patterns()
    errs = []
    for vr in (0.02, 0.2, 0.5):
        m = _mapping(v_read=vr)
        chip = NonlinearChipSystem(m)
        v = np.random.default_rng(5).uniform(0.0, vr, (4, D))
        e = chip.linearization_error(pats, v)
        assert np.isfinite(e["max_rel"]) and e["exact"].shape == (4, m.n_lines)
        errs.append(e["max_rel"])
    assert errs[0] < 1e-3  # v_read << v0: nearly linear
    assert errs[0] < errs[1] < errs[2]
    assert errs[2] > 1e-2  # at 0.5 V = 2 v0 the chord model is visibly off


@pytest.mark.ngspice
def test_nonlinear_step_native_vs_ngspice():
    """A nonlinear step (sinh cells + level-1 NMOS, d = 12): native Newton vs ngspice <= 1e-6 relative."""
    m = _mapping(v_read=0.2)
    pats = _patterns()
    v = np.random.default_rng(6).uniform(0.0, 0.2, (2, D))
    native = exact_step_currents(m, pats, v, backend="native")
    spice = exact_step_currents(m, pats, v, backend="ngspice")
    assert np.abs(native - spice).max() / np.abs(spice).max() < 1e-6


# ---------------------------------------------------------------- the v_read axis of the study
def test_v_read_presets_expand_every_preset():
    from basisn.circuit.loop import LoopConfig, v_read_presets

    ps = v_read_presets(["nonlinear", "ideal"], (0.05, 0.2))
    assert [p.name for p in ps] == ["nonlinear@0.05V", "nonlinear@0.2V", "ideal@0.05V", "ideal@0.2V"]
    assert [p.v_read for p in ps] == [0.05, 0.2, 0.05, 0.2]
    assert ps[0].nonlinear and not ps[2].nonlinear
    cfg = LoopConfig(datasets=("digits",), presets=ps, n_spot=0)
    assert [p.name for p in cfg.hardware()] == [p.name for p in ps]


@pytest.mark.parametrize("bad, match", [((), "distinct"), ((0.2, 0.2), "distinct"), ((5.0,), "v_read")])
def test_v_read_axis_bad_values_are_named(bad, match):
    from basisn.circuit.loop import v_read_presets

    with pytest.raises(ParameterError, match=match):
        v_read_presets(["nonlinear"], bad)


def test_study_cli_rejects_a_bad_v_read_before_work(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, str(root / "studies" / "basisn_hardware_loop.py"), "--quick", "--presets", "nonlinear",
                        "--v-read", "3.0", "--out", str(tmp_path / "x.h5"), "--jobs", "1"],
                       capture_output=True, text=True, timeout=120, cwd=root)
    assert r.returncode == 2, r.stderr
    assert "v_read" in r.stderr
