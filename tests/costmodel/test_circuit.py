"""Circuit step costs: archive values reach Table 1, extrapolation rule, periphery, bad archives."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from basisn.costmodel.circuit import (DEFAULT_PERIPHERY, REFERENCE_FILE, SETTLE_EXPONENT, PeripheryModel,
                                      circuit_costs, load_step_table, periphery_area_overhead, step_costs,
                                      ws_compute_cycles)
from basisn.costmodel import ws_cycles
from devices.errors import ArchiveError, ParameterError

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "studies"))
import paper_figures  # noqa: E402

QUICK = ["--networks", "digits-mlp", "--d", "64", "--bits", "1", "--max-crossbars", "100"]


def fake_archive(path, n=64, settle=(20e-9, 30e-9), energy=(1e-12, 2e-12), power=(1e-3, 1.5e-3), k=(2, 4)):
    """A minimal tg_step_timing archive: one N, Ks ``k``, r_on 1 kohm, 8 bits, both events."""
    ev = ["tg_switch", "input_change"]
    parts = ["drivers", "cells"]
    shape = (1, len(k), 1, 2, 1)
    st = np.broadcast_to(np.array(settle).reshape(1, 1, 1, 2, 1), shape).copy()
    en = np.stack([np.broadcast_to(np.array(energy).reshape(1, 1, 1, 2, 1), shape), np.zeros(shape)], axis=-1)
    pw = np.broadcast_to(np.array(power).reshape(1, 1, 1, 2), shape[:4]).copy()
    ds = xr.Dataset({"settle": (("N", "K", "r_on", "event", "bits"), st, {"units": "s"}),
                     "energy": (("N", "K", "r_on", "event", "bits", "part"), en, {"units": "J"}),
                     "static_power": (("N", "K", "r_on", "event"), pw, {"units": "W"})},
                    coords={"N": [n], "K": list(k), "r_on": [1e3], "event": ev, "bits": [8], "part": parts},
                    attrs={"study": "tg_step_timing", "command": "fake archive for a test"})
    ds.to_netcdf(path, engine="h5netcdf")
    return path


def test_step_costs_at_the_archive_size_use_its_numbers(tmp_path):
    tab = load_step_table(fake_archive(tmp_path / "a.h5"))
    s = step_costs(tab, 64, 4)
    assert s.n_archive == 64 and s.k_used == 4 and s.t_settle == 30e-9
    assert s.t_step == 30e-9  # settling (30 ns) above the 10 ns ADC
    # tg_switch: 1 pJ + 1 mW x 10 ns = 11 pJ; input change: 2 pJ + 0 -> the larger is 11 pJ
    assert math.isclose(s.e_step, 11e-12, rel_tol=1e-12)
    assert math.isclose(s.e_read, 2e-12 * 5 / 4, rel_tol=1e-12)
    assert "fake archive for a test" in s.source


def test_extrapolation_rule(tmp_path):
    tab = load_step_table(fake_archive(tmp_path / "a.h5"))
    a, b = step_costs(tab, 64, 4), step_costs(tab, 256, 3)
    assert b.n_archive == 64 and b.k_used == 2  # nearest K, the smaller on a tie
    assert math.isclose(b.t_settle, a.t_settle * 4 ** SETTLE_EXPONENT, rel_tol=1e-12)
    assert any("extrapolated N=64 -> 256" in x for x in b.assumptions)
    assert not any("extrapolated" in x for x in a.assumptions)


def test_archive_values_reach_table1(tmp_path):
    from basisn.paper_study import PaperConfig, compute_tables

    lo = PaperConfig(networks=("digits-mlp",), d=(64,), bits=(1,), max_crossbars=100,
                     step_timing=str(fake_archive(tmp_path / "lo.h5", n=256)))
    hi = PaperConfig(networks=("digits-mlp",), d=(64,), bits=(1,), max_crossbars=100,
                     step_timing=str(fake_archive(tmp_path / "hi.h5", n=256, energy=(1e-9, 2e-9), power=(1e-1, 1e-1))))
    t_lo, t_hi = compute_tables(lo), compute_tables(hi)
    assert float(t_lo.t_step) == 30e-9 and math.isclose(float(t_lo.e_step), 11e-12, rel_tol=1e-12)
    assert float(t_hi.e_step) > 100 * float(t_lo.e_step)
    # a larger array energy changes the EDP ratios; the constant model's columns do not move
    assert not np.allclose(t_lo.edp_ratio_row_circuit, t_hi.edp_ratio_row_circuit)
    np.testing.assert_array_equal(t_lo.edp_ratio_row, t_hi.edp_ratio_row)
    assert "fake archive" in t_lo.attrs["step_source"]


def test_reference_defaults_are_the_n256_archive():
    data = json.loads(REFERENCE_FILE.read_text())
    assert "--sizes 256" in data["command"] and data["rows"]
    s = step_costs(load_step_table(None), 256, 4)
    assert s.n_archive == 256 and 1e-10 < s.t_settle < 1e-9 and s.t_step == DEFAULT_PERIPHERY.t_adc


def test_delay_ratio_equals_cycle_ratio_when_adc_sets_the_period():
    from basisn.costmodel import table1
    from basisn.costmodel.tables import circuit_table

    s = step_costs(load_step_table(None), 256, 4)
    c = circuit_table(s)
    t = table1()
    np.testing.assert_allclose(c.cycle_ratio_row_circuit.sel(programming="serial", p=4), t.cycle_ratio_row, rtol=1e-12)
    # fewer pieces per step: more BasisN cycles
    assert (c.cycle_ratio_row_circuit.sel(p=1) > c.cycle_ratio_row_circuit.sel(p=4)).all()
    # programming all crossbars at once shortens WS, so BasisN's relative delay grows
    assert (c.cycle_ratio_row_circuit.sel(programming="all_parallel")
            > c.cycle_ratio_row_circuit.sel(programming="serial")).all()


def test_ws_compute_plus_programming_is_ws_cycles():
    for m in (48, 10000):
        comp = ws_compute_cycles("resnet34-cifar100", 256, m, "bias-row")
        total = ws_cycles("resnet34-cifar100", 256, m, "row", "bias-row")
        assert comp <= total and (m < 1000 or comp == total)


def test_periphery_area_doubles_with_differential_columns():
    single = periphery_area_overhead(256, 4)
    assert math.isclose(periphery_area_overhead(256, 4, PeripheryModel(differential=True)), 2 * single)
    assert math.isclose(single, 4 * 4000e-12 / (256**2 * 30 * (130e-9) ** 2))


def test_bad_periphery_and_missing_run():
    with pytest.raises(ParameterError, match="t_adc"):
        PeripheryModel(t_adc=0.0)
    with pytest.raises(ParameterError, match="r_on = 5.0"):
        step_costs(load_step_table(None), 256, 4, r_on=5.0)


def test_not_an_archive(tmp_path):
    bad = tmp_path / "x.h5"
    bad.write_text("not hdf5")
    with pytest.raises(ArchiveError, match="not a readable HDF5"):
        load_step_table(bad)


def test_bad_archive_path_exits_2_with_one_line(tmp_path, capsys):
    missing = tmp_path / "nothing.h5"
    assert paper_figures.main([*QUICK, "--step-timing", str(missing), "--out", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and str(missing) in err and "Traceback" not in err and err.count("\n") == 1


def test_circuit_costs_are_finite():
    s = step_costs(load_step_table(None), 256, 4)
    r = circuit_costs("densenet121-cifar100", 256, 48, 4, 4, 2.0, s, "block", "bias-row")
    assert all(math.isfinite(v) and v > 0 for v in r.values())


def fake_accuracy(path, K=4):
    """Accuracy archive: beta 1 gains parallelism at a 0.5 pp loss, beta 3 more at a 5 pp loss."""
    beta = [0.0, 1.0, 3.0]
    acc = np.array([[0.90, 0.895, 0.85]] * 2)[None, :, :, None]  # dataset, penalty, beta, seed
    pps = np.array([[1.2, 2.5, 3.5]] * 2)[None, :, :, None]
    ds = xr.Dataset({"reg_accuracy": (("dataset", "penalty", "beta", "seed"), acc),
                     "reg_pieces_per_step": (("dataset", "penalty", "beta", "seed"), pps)},
                    coords={"dataset": ["digits"], "penalty": ["ones", "balanced"], "beta": beta, "seed": [0]},
                    attrs={"study": "basisn_accuracy", "K": K, "command": "fake accuracy"})
    ds.to_netcdf(path, engine="h5netcdf")
    return path


def test_measured_pieces_per_step_respects_the_accuracy_bound(tmp_path):
    from basisn.costmodel.circuit import measured_pieces_per_step

    m = measured_pieces_per_step(fake_accuracy(tmp_path / "a.h5"), 4)
    assert m["digits"]["p"] == 2.5 and m["digits"]["beta"] == 1.0  # beta 3 loses 5 pp: excluded
    with pytest.raises(ArchiveError, match="K = 4, the table uses K = 8"):
        measured_pieces_per_step(tmp_path / "a.h5", 8)


def test_measured_p_reaches_the_table(tmp_path):
    from basisn.paper_study import PaperConfig, compute_tables

    cfg = PaperConfig(networks=("digits-mlp",), d=(64,), bits=(1,), max_crossbars=100,
                      accuracy_archive=str(fake_accuracy(tmp_path / "a.h5")))
    t = compute_tables(cfg)
    assert 2.5 in t.p.values and "digits: p = 2.5" in t.attrs["measured_p"]
    v = t.edp_ratio_row_circuit.sel(programming="serial")
    assert (v.sel(p=2) > v.sel(p=2.5)).all() and (v.sel(p=2.5) > v.sel(p=3)).all()


def test_bad_accuracy_archive_exits_2(tmp_path, capsys):
    assert paper_figures.main([*QUICK, "--accuracy-archive", str(tmp_path / "no.h5"),
                               "--out", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err
    assert "--accuracy-archive" in err and "no such file" in err and err.count("\n") == 1
