"""Energy, EDP and area: hand-computed from the documented formulas."""

import pytest

from basisn.costmodel.energy import basisn_energy, edp, tg_area_overhead, ws_energy
from basisn.costmodel.networks import Layer, Network
from basisn.costmodel.parameters import AreaModel, ChipModel, EnergyModel
from devices.errors import ParameterError

FC = Network("fc512", (Layer("fc", 512, 512, kind="fc"),))  # 4 crossbars at d = 256
E = EnergyModel(e_pulse=2e-12, pulses_per_cell=5, v_read=0.1, g_cell=1e-5, t_cycle=1e-8,
                e_conversion=1e-12, e_coeff_bit=1e-15, basisn_column_activity=0.5)


def test_ws_energy_by_hand():
    cell_read = 0.1**2 * 1e-5 * 1e-8  # 1e-15 J
    fits = ws_energy(FC, 256, 4, energy=E)
    assert fits["programming"] == 0.0
    assert fits["read"] == pytest.approx(4 * 256**2 * cell_read, rel=1e-12)
    assert fits["conversion"] == pytest.approx(4 * 256 * 1e-12, rel=1e-12)
    spills = ws_energy(FC, 256, 2, energy=E)
    assert spills["programming"] == pytest.approx(4 * 256**2 * 5 * 2e-12, rel=1e-12)
    assert spills["total"] == pytest.approx(sum(v for k, v in spills.items() if k != "total"), rel=1e-12)


def test_basisn_energy_by_hand():
    chip = ChipModel(tg_sets=4)
    steps = 1024 * 4 / 4  # pieces * bits / p
    got = basisn_energy(FC, 256, 4, chip, E)
    assert got["read"] == pytest.approx(steps * 256 * 128 * 1e-15, rel=1e-12)
    assert got["conversion"] == pytest.approx(1024 * 4 * 1e-12, rel=1e-12)
    assert got["coefficients"] == pytest.approx(steps * 4 * 256 * 1e-15, rel=1e-12)
    paper = basisn_energy(FC, 256, 4, chip, E, accounting="paper")
    ws = ws_energy(FC, 256, 4, energy=E)
    assert paper["read"] == ws["read"] and paper["coefficients"] == got["coefficients"]
    with pytest.raises(ParameterError, match="accounting = 'cheap'"):
        basisn_energy(FC, 256, 4, chip, E, accounting="cheap")


def test_edp():
    assert edp(2.0, 3.0, E) == pytest.approx(2.0 * 3.0 * 1e-8, rel=1e-12)


def test_tg_area_overhead():
    # K * a_tg / (d * a_cell) = 4 * 150 / (256 * 30)
    assert tg_area_overhead(256, 4) == pytest.approx(0.078125, rel=1e-12)
    a = AreaModel(feature_size=1e-7, cell_f2=10, tg_f2=10)
    assert tg_area_overhead(100, 1, a) == pytest.approx(0.01, rel=1e-12)
    # the paper's 6.17 % at d = 256 implies K * a_tg / a_cell = 15.8
    assert 0.0617 * 256 == pytest.approx(15.8, abs=0.01)
    with pytest.raises(ParameterError, match="TG sets K = 0"):
        tg_area_overhead(256, 0)
    with pytest.raises(ParameterError, match="cell_f2 = -1"):
        AreaModel(cell_f2=-1)
    with pytest.raises(ParameterError, match="basisn_column_activity = 2"):
        EnergyModel(basisn_column_activity=2)
