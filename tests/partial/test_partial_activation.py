"""Partial activation (issue 13, item 3): one block of wordlines driven per sub-step.

Tolerances: the fast path (port model, Schur complement per block, Woodbury per step)
and a fresh factorization of each block's netlist are two exact solutions of the same
linear circuit; rounding separates them (observed <= 1e-12), the bound is 1e-9 relative
to the largest transfer entry. The "floating rows sit at 0 V" identity holds up to the
TG's residual on-resistance (1e-6 ohm here: column bottoms at ~1e-9 of the input).
"""

import dataclasses
import math

import numpy as np
import pytest

from basisn.circuit import ChipSystem, direct_step_transfer, get_preset, map_basis
from basisn.circuit.measure import linearized_step_transfer, ngspice_step_currents, row_blocks
from basisn.circuit.mitigation import Mitigation
from basisn.circuit.ports import ArrayPorts, BlockPorts
from basisn.layers import orthogonal
from devices import TransmissionGate, Wires
from devices.errors import NetlistError, ParameterError

RTOL = 1e-9


def _steps(seed, n, d, K, density=0.6):
    from tests.scale.test_fast_path import _steps as steps

    return steps(np.random.default_rng(seed), n, d, K, density)


def _all_closed(d, K, seed=0):
    """One step closing every logical column (K sets partition the columns)."""
    pats = np.zeros((K, d), bool)
    pats[np.arange(d) % K, np.random.default_rng(seed).permutation(d)] = True
    return pats


def _rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


CASES = {
    "neurram": dict(),
    "reference": dict(encoding="reference"),
    "rule": dict(tg=TransmissionGate(r_on=100.0, r_off=1e9)),
    "open_off_tg": dict(tg=TransmissionGate(r_on=1e3, r_off=math.inf)),
    "no_access_no_summing": dict(access=None, wires=Wires(2.5, 2.5, 0.0)),
    "bitline_only": dict(wires=Wires(0.0, 2.5, 0.0)),
}


@pytest.mark.parametrize("mode", ["float", "off"])
@pytest.mark.parametrize("row_block", [1, 5, 6])
@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_path_matches_fresh_netlists(case, row_block, mode):
    """d = 12 (blocks of 5 leave a short last block): every column from its block's fresh netlist."""
    p = dataclasses.replace(get_preset("neurram", d=12, K=3), row_block=row_block, undriven_rows=mode, **CASES[case])
    m = map_basis(orthogonal(12, np.random.default_rng(3)), p)
    chip = ChipSystem(m)
    assert len(chip.blocks) == math.ceil(12 / row_block)
    for pats in _steps(4, 3, 12, 3):
        T, D = chip.step_transfer(pats), direct_step_transfer(m, pats)
        assert np.all(np.isfinite(T))
        assert _rel(T, D) < RTOL


@pytest.mark.parametrize("mode", ["float", "off"])
def test_row_block_d_is_todays_chip(mode):
    """row_block = d (and None) drive every row at once: the same numbers, bit for bit."""
    base = get_preset("neurram", d=10, K=2)
    B = orthogonal(10, np.random.default_rng(0))
    a = ChipSystem(map_basis(B, base))
    b = ChipSystem(map_basis(B, dataclasses.replace(base, row_block=10, undriven_rows=mode)))
    assert len(b.blocks) == 1
    for pats in _steps(1, 3, 10, 2):
        np.testing.assert_array_equal(a.step_transfer(pats), b.step_transfer(pats))


def _held_sum(m, pats):
    """Sum over blocks with the undriven drivers held at 0 V: the full-row transfer (superposition)."""
    full = map_basis(m.basis, dataclasses.replace(m.preset, row_block=None))
    return direct_step_transfer(full, pats)


def test_floating_rows_change_the_result_when_bitlines_drop():
    """With bitline resistance the floating wordlines move off 0 V: the result differs from the held sum."""
    p = dataclasses.replace(get_preset("neurram", d=12, K=3), row_block=4)
    m = map_basis(orthogonal(12, np.random.default_rng(1)), p)
    chip = ChipSystem(m)
    for pats in (_all_closed(12, 3), _steps(2, 1, 12, 3)[0]):
        assert _rel(chip.step_transfer(pats), _held_sum(m, pats)) > 1e-3


def test_floating_rows_sit_at_zero_on_ideal_bitlines_with_every_column_at_ground():
    """Exactly true: ideal bitlines and summing lines, near-ideal TGs, every column closed: each
    bitline is at its virtual ground, so a floating wordline (whatever its own wires and access
    transistors) sits at 0 V and floating equals holding at 0 V (= the full-row result)."""
    p = dataclasses.replace(get_preset("neurram", d=12, K=3), wires=Wires(2.5, 0.0, 0.0),
                            tg=TransmissionGate(r_on=1e-6, r_off=math.inf), row_block=4)
    m = map_basis(orthogonal(12, np.random.default_rng(2)), p)
    pats = _all_closed(12, 3)
    assert _rel(ChipSystem(m).step_transfer(pats), _held_sum(m, pats)) < 1e-7
    # an open column floats, and the floating wordlines couple it into the closed ones
    half = pats.copy()
    half[:, :6] = False
    assert _rel(ChipSystem(m).step_transfer(half), _held_sum(m, half)) > 1e-3


def test_rows_off_remove_the_other_rows_loading():
    """Access transistors off: a block's transfer is that of the block's rows alone; with ideal
    bitlines (nothing below the block in series) it equals a chip built from the block's rows."""
    p = dataclasses.replace(get_preset("neurram", d=12, K=3), wires=Wires(2.5, 0.0, 2.5), row_block=4,
                            undriven_rows="off")
    g = map_basis(orthogonal(12, np.random.default_rng(5)), p).g_rram
    bp = BlockPorts(g, p.wires, p.access.r_on, 4, 8)
    alone = ArrayPorts(g[4:8], p.wires, p.access.r_on)
    np.testing.assert_allclose(bp.S_CC, alone.S_CC, rtol=0, atol=1e-12 * np.abs(alone.S_CC).max())
    np.testing.assert_allclose(bp.S_CD, alone.S_CD, rtol=0, atol=1e-12 * np.abs(alone.S_CD).max())
    with pytest.raises(ParameterError, match="row block"):
        BlockPorts(g, p.wires, 0.0, 5, 5)


def test_partial_activation_lowers_the_loading_with_rows_off():
    """d = 32 neurram: with the other rows off, smaller blocks deviate less from the ideal product."""
    d = 32
    B = orthogonal(d, np.random.default_rng(0))
    pats = _all_closed(d, 4)
    ideal = pats.astype(float) @ B
    dev = {}
    for rb in (None, 16, 4):
        p = dataclasses.replace(get_preset("neurram", d=d, K=4), row_block=rb, undriven_rows="off")
        dev[rb] = np.linalg.norm(ChipSystem(map_basis(B, p)).step_transfer(pats) - ideal) / np.linalg.norm(ideal)
    assert dev[4] < dev[16] < dev[None]


def test_linearized_reference_follows_the_blocks():
    """The per-block linearised transfer of a linear chip equals the fast path (rtol 1e-9)."""
    p = dataclasses.replace(get_preset("neurram", d=8, K=2), row_block=3)
    for mode in ("float", "off"):
        m = map_basis(orthogonal(8, np.random.default_rng(7)), dataclasses.replace(p, undriven_rows=mode))
        pats = _steps(8, 1, 8, 2)[0]
        T, info = linearized_step_transfer(m, pats, np.full(8, 0.1))
        assert _rel(T, ChipSystem(m).step_transfer(pats)) < RTOL


def test_row_blocks():
    p = get_preset("neurram", d=10, K=2)
    assert [b.tolist() for b in row_blocks(dataclasses.replace(p, row_block=4))] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [b.tolist() for b in row_blocks(p)] == [list(range(10))]
    assert dataclasses.replace(p, row_block=4).n_row_blocks == 3 and p.n_row_blocks == 1


@pytest.mark.parametrize("bad", [0, 11, 2.5, True, "4"])
def test_preset_refuses_bad_row_block(bad):
    with pytest.raises(ParameterError, match=r"row_block = .*allowed: an integer in \[1, d = 10\]"):
        dataclasses.replace(get_preset("neurram", d=10, K=2), row_block=bad)


def test_mitigation_row_block_validates_and_applies():
    p = get_preset("neurram", d=16, K=2)
    q = Mitigation(row_block=4, undriven_rows="off").apply(p)
    assert (q.row_block, q.undriven_rows) == (4, "off")
    assert "rows/4" in Mitigation(row_block=4).label()
    for bad in (0, 300, 1.5, False):
        with pytest.raises(ParameterError, match=r"row_block = .*allowed: an integer in \[1, 256\]"):
            Mitigation(row_block=bad)
    with pytest.raises(ParameterError, match=r"row_block = 32 .*allowed: an integer in \[1, d = 16\]"):
        Mitigation(row_block=32).apply(p)
    with pytest.raises(ParameterError, match="undriven_rows.*allowed"):
        Mitigation(undriven_rows="ground")
    with pytest.raises(ParameterError, match="undriven_rows.*allowed"):
        dataclasses.replace(p, undriven_rows="ground")


def test_sub_steps_are_reads():
    """Each sub-step is one crossbar read: the readout counts ceil(d / row_block) reads per step."""
    from basisn.circuit import CircuitCrossbar
    from basisn.circuit.readout import ChipReadout
    from devices import Readout

    B = orthogonal(8, np.random.default_rng(0))
    planes = np.random.default_rng(1).random((6, 8)) < 0.5
    x = np.random.default_rng(2).random((3, 8))
    reads = {}
    for rb in (None, 3):
        m = map_basis(B, dataclasses.replace(get_preset("neurram", d=8, K=2), row_block=rb))
        ro = ChipReadout(CircuitCrossbar(ChipSystem(m)), m, Readout(adc_bits=None), (0,), read_sigma=0.0)
        ro.combine(x, planes)
        reads[rb] = ro.reads
    assert reads[3] == 3 * reads[None] > 0


def test_twin_model_follows_the_row_block():
    """The twin (built with chip_system from the preset) drives the same blocks and is exact without variation."""
    from basisn.circuit.errormodel import TwinModel, residual

    p = dataclasses.replace(get_preset("neurram", d=12, K=3), row_block=5)
    p = dataclasses.replace(p, cell=dataclasses.replace(p.cell, sigma=0.0, verify_tolerance=0.0, stuck_on=0.0,
                                                        stuck_off=0.0))
    B = orthogonal(12, np.random.default_rng(0))
    twin = TwinModel(p, B)
    assert len(twin.chip.blocks) == 3
    assert residual(twin, ChipSystem(map_basis(B, p)), _steps(9, 4, 12, 3)).model < 1e-10


def test_netlist_without_sources_and_elements():
    from netlists import build_crossbar

    net = build_crossbar(np.full((3, 2), 1e-5), np.ones((1, 2), bool), np.full(3, 0.1))
    fl = net.without_sources(["vin1"])
    assert len(fl.vsources) == len(net.vsources) - 1 and fl.nodes == net.nodes
    assert "vin1" not in fl.vsources.names
    with pytest.raises(NetlistError, match="not an independent source"):
        net.without_sources([net.resistors.names[0]])
    with pytest.raises(NetlistError, match="no element named"):
        net.without_elements(["rnope"])
    off = net.without_elements(net.resistors.names[:2])
    assert len(off.resistors) == len(net.resistors) - 2


@pytest.mark.ngspice
@pytest.mark.parametrize("mode", ["float", "off"])
def test_partial_activation_matches_ngspice(mode):
    """d = 8, blocks of 3: the fast path's currents vs one ngspice run per block, summed (rtol 1e-9)."""
    p = dataclasses.replace(get_preset("neurram", d=8, K=2), row_block=3, undriven_rows=mode)
    m = map_basis(orthogonal(8, np.random.default_rng(11)), p)
    chip = ChipSystem(m)
    pats = _steps(12, 1, 8, 2)[0]
    v = np.random.default_rng(13).uniform(0.0, p.v_read, (2, 8))
    fast = v @ chip.physical_transfer(m.physical_assignment(pats)).T
    ref = ngspice_step_currents(m, pats, v)
    assert _rel(fast, ref) < RTOL


@pytest.mark.parametrize("kwargs, match", [
    (dict(row_block=(0,)), "row_block"),
    (dict(row_block=(300,)), "row_block"),
    (dict(row_block=(2.5,)), "row_block"),
    (dict(row_block=(8, 8)), "distinct"),
    (dict(row_block=()), "row_block"),
    (dict(undriven_rows="ground"), "undriven_rows"),
])
def test_viability_config_refuses_bad_row_blocks(kwargs, match):
    from basisn.circuit.viability import ViabilityConfig

    with pytest.raises(ParameterError, match=match):
        ViabilityConfig(ds=(16,), **kwargs)


def test_viability_grid_has_a_row_block_axis():
    """Grid order r_on, g_max, r_wire, row_block; a block >= d drives every row at that d."""
    from basisn.circuit.viability import ViabilityConfig

    cfg = ViabilityConfig(ds=(16, 64), tg_r_on=(1e3,), g_max=(4e-6,), row_block=(None, 32, 8), undriven_rows="off")
    at16 = [pt.row_block for pt in cfg.points(16)]
    assert at16 == [None, None, 8] and [pt.row_block for pt in cfg.points(64)] == [None, 32, 8]
    assert cfg.points(64)[2].undriven_rows == "off" and cfg.points(64)[0].undriven_rows is None


def _study_main():
    from tests.scripts import load_study

    return load_study("basisn_viability")


@pytest.mark.parametrize("argv", [["--row-block", "0.5"], ["--row-block", "300"], ["--row-block", "-4"],
                                  ["--row-block", "all", "all"], ["--undriven-rows", "ground"]])
def test_study_exits_2_on_a_bad_row_block(argv, tmp_path, capsys, monkeypatch):
    mod = _study_main()

    def no_training(*args, **kwargs):
        raise AssertionError("training started despite bad input")

    monkeypatch.setattr(mod, "run_viability_task", no_training)
    code = mod.main(mod.Viability(), argv=["--d", "16"] + argv + ["--out", str(tmp_path / "v.h5")],
                    prog="basisn_viability")
    assert code == 2
    assert "allowed" in capsys.readouterr().err
    assert not (tmp_path / "v.h5").exists()


@pytest.mark.parametrize("mode", ["float", "off"])
def test_nonlinear_chip_with_row_blocks(mode):
    """NMOS access + sinh cells: the exact Newton solve per block and the per-block linearisation run
    (rows switched off once gave zero chord conductances), and the linearisation stays as close to
    the exact currents as without blocks (3 % here, the chord approximation)."""
    from basisn.circuit.measure import chip_system

    p = get_preset("nonlinear", d=8, K=2, row_block=3, undriven_rows=mode)
    m = map_basis(orthogonal(8, np.random.default_rng(0)), p)
    chip = chip_system(m)
    pats = np.zeros((2, 8), bool)
    pats[0, :3] = True
    pats[1, 4:7] = True
    v = np.random.default_rng(1).uniform(0.0, p.v_read, (3, 8))
    err = chip.linearization_error(pats, v)
    assert 0 < err["max_rel"] < 0.06
    T, info = linearized_step_transfer(m, pats, v.mean(axis=0))
    assert np.all(np.isfinite(T)) and info["residual"] < 1e-12
    assert _rel(T, chip.step_transfer(pats)) < 0.02


class _Net:
    """One layer: forward(x, crossbar) = crossbar.combine(x, planes) (a stand-in for calibration)."""

    def __init__(self, planes):
        self.planes = planes

    def forward(self, x, crossbar=None):
        return crossbar.combine(x, self.planes)


def _readout_chip(row_block, **cell):
    p = dataclasses.replace(get_preset("ideal", d=8, K=2), row_block=row_block)
    p = dataclasses.replace(p, cell=dataclasses.replace(p.cell, **cell))
    return ChipSystem(map_basis(orthogonal(8, np.random.default_rng(0)), p))


def test_each_sub_step_is_converted_on_its_own():
    """3-bit ADC, blocks of 3 rows: one full scale per sub-step, each sub-step quantized to its
    own levels and the values added (not the sum quantized once); without an ADC and noise the
    sub-steps add up to the exact product."""
    from basisn.circuit import CircuitCrossbar
    from basisn.circuit.readout import ChipReadout
    from devices import Readout

    chip = _readout_chip(3)
    planes = np.eye(8, dtype=bool)[:4]
    x = np.random.default_rng(1).uniform(-1, 1, (40, 8))
    exact = x @ CircuitCrossbar(chip).rows(planes).T
    plain = ChipReadout(CircuitCrossbar(chip), chip.mapping, Readout(adc_bits=None), (0,), read_sigma=0.0)
    np.testing.assert_allclose(plain.combine(x, planes), exact, rtol=0, atol=1e-14)
    hook = ChipReadout(CircuitCrossbar(chip), chip.mapping, Readout(adc_bits=3, fs_percentile=100.0), (0,),
                       read_sigma=0.0)
    hook.calibrate(_Net(planes), x)
    fs = next(iter(hook.full_scale.values()))
    assert fs.shape == (3,)
    rows = CircuitCrossbar(chip).rows(planes)
    parts = [x[:, b] @ rows[:, b].T for b in chip.blocks]
    np.testing.assert_allclose(fs, [np.abs(p).max() for p in parts], rtol=1e-12)  # fs_percentile 100: the largest
    y = hook.combine(x, planes)
    want = sum(hook.readout.convert(p, f) for p, f in zip(parts, fs))
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-14)
    once = hook.readout.convert(exact, np.abs(exact).max())
    assert not np.allclose(y, once)
    assert hook.full_scale_ampere(0.1).shape == (3,)


def test_read_noise_per_sub_step_keeps_its_variance():
    """Read noise drawn per sub-step for the cells it reads: the summed variance equals the
    one-read variance (each cell is read once per step either way)."""
    from basisn.circuit import CircuitCrossbar
    from basisn.circuit.readout import ChipReadout
    from devices import Readout

    planes = np.zeros((2, 8), bool)
    planes[0, :3] = True
    planes[1, 5] = True
    x = np.tile(np.linspace(-1, 1, 8), (20000, 1))
    var = {}
    for rb in (None, 3):
        chip = _readout_chip(rb, read_sigma=0.05)
        hook = ChipReadout(CircuitCrossbar(chip), chip.mapping, Readout(adc_bits=None), (1,))
        var[rb] = hook.combine(x, planes).var(axis=0)
    np.testing.assert_allclose(var[3], var[None], rtol=0.06)  # 20000 draws: ~1 % standard error per variance
