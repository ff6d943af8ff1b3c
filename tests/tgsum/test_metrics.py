"""Error metrics against circuits solved by hand.

Tolerances: the circuits are linear and solved by sparse Cholesky; the only modelling
difference from the closed forms is ``IDEAL_R`` (1e-6 ohm) standing for an ideal TG,
whose relative effect is below 1e-9 for these conductances, so rtol = 1e-9.
"""

import numpy as np
import pytest

from crossbar.tgsum import metrics as M
from devices import LinearAccessTransistor, RRAMCell, TransmissionGate, Wires
from devices.errors import ParameterError

RTOL = 1e-9


def both_paths(g, a, v, wires, r_off, r_on, access=None):
    out = []
    for fast in (True, False):
        out.append(M.switched_outputs(g, a, v, wires=wires, r_off=r_off, r_on_values=[r_on], access=access,
                                      fast=fast)[float(r_on)])
    return out


def test_single_cell_series_circuit():
    # 1x1: driver -rw- cell -rb- TG(r_on) -rs- output: I = V / (1/G + rw + rb + r_on + rs)
    G, V, rw, ron, rs = 40e-6, 0.15, 2.0, 300.0, 0.5
    g, a, v = np.array([[G]]), np.array([[True]]), np.array([[V]])
    wires = Wires(r_wordline=rw, r_bitline=rw, r_summing=rs)
    exact = V / (1 / G + 2 * rw + ron + rs)
    for res in both_paths(g, a, v, wires, np.inf, ron):
        np.testing.assert_allclose(res["all"], [[exact]], rtol=RTOL)
        np.testing.assert_allclose(res["alone"], [[exact]], rtol=RTOL)
        np.testing.assert_allclose(res["single_sum"], [[exact]], rtol=RTOL)
    i0 = M.ideal_currents(g, a, v)
    np.testing.assert_allclose(i0, [[G * V]], rtol=1e-15)
    err = M.relative_error([[exact]], i0)
    np.testing.assert_allclose(err, [[-(2 * rw + ron + rs) * G / (1 + (2 * rw + ron + rs) * G)]], rtol=1e-12)
    # wires only (ideal TG) and TG only (ideal wires)
    wire_only = M.switched_outputs(g, a, v, wires=wires, r_off=np.inf, r_on_values=[M.IDEAL_R], access=None)[M.IDEAL_R]
    np.testing.assert_allclose(wire_only["all"], [[V / (1 / G + 2 * rw + rs)]], rtol=RTOL)
    tg_only = M.switched_outputs(g, a, v, wires=Wires(0, 0, 0), r_off=np.inf, r_on_values=[ron], access=None)[ron]
    np.testing.assert_allclose(tg_only["all"], [[V / (1 / G + ron)]], rtol=RTOL)


def test_crosstalk_two_sets_one_row():
    # 1 row, 2 columns, column j in set j; wordline segments rw, ideal bitline and summing lines.
    # V -rw- a -rw- b ; a -(1/G0 + r_on)- out0 ; b -(1/G1 + r_on)- out1
    G0, G1, V, rw, ron = 80e-6, 30e-6, 0.2, 50.0, 1000.0
    g, a, v = np.array([[G0, G1]]), np.array([[True, False], [False, True]]), np.array([[V]])
    R0, R1 = 1 / G0 + ron, rw + 1 / G1 + ron
    rpar = R0 * R1 / (R0 + R1)
    va = V * rpar / (rw + rpar)
    i0_all, i0_alone = va / R0, V / (rw + R0)
    vb = va * (1 / G1 + ron) / R1
    i1_all, i1_alone = vb / (1 / G1 + ron), V / (2 * rw + 1 / G1 + ron)
    for res in both_paths(g, a, v, Wires(r_wordline=rw, r_bitline=0, r_summing=0), np.inf, ron):
        np.testing.assert_allclose(res["all"], [[i0_all, i1_all]], rtol=RTOL)
        np.testing.assert_allclose(res["alone"], [[i0_alone, i1_alone]], rtol=RTOL)
    crosstalk = (i0_all - i0_alone) / (G0 * V)
    assert crosstalk < -1e-3  # the other set's current drops the shared wordline: visible, negative


def test_superposition_two_columns_one_set():
    # 1 row, both columns in set 0; wordline rw, summing line rs per tap, ideal bitlines.
    # nodes a (wl 0), b (wl 1), t0, t1 (summing taps); out at 0 V.
    G0, G1, V, rw, rs, ron = 60e-6, 90e-6, 0.1, 20.0, 40.0, 200.0
    g, a, v = np.array([[G0, G1]]), np.array([[True, True]]), np.array([[V]])
    R0, R1 = 1 / G0 + ron, 1 / G1 + ron
    # nodal analysis written out: unknowns [a, b, t0, t1]
    y = np.array([
        [1 / rw + 1 / rw + 1 / R0, -1 / rw, -1 / R0, 0],
        [-1 / rw, 1 / rw + 1 / R1, 0, -1 / R1],
        [-1 / R0, 0, 1 / R0 + 1 / rs, -1 / rs],
        [0, -1 / R1, -1 / rs, 1 / R1 + 2 / rs],
    ])
    x = np.linalg.solve(y, [V / rw, 0, 0, 0])
    both = x[3] / rs
    single0 = V / (rw + R0 + 2 * rs)
    single1 = V / (2 * rw + R1 + rs)
    for res in both_paths(g, a, v, Wires(r_wordline=rw, r_bitline=0, r_summing=rs), np.inf, ron):
        np.testing.assert_allclose(res["all"], [[both]], rtol=RTOL)
        np.testing.assert_allclose(res["single_sum"], [[single0 + single1]], rtol=RTOL)
    superposition = (both - (single0 + single1)) / ((G0 + G1) * V)
    assert superposition < -1e-4  # shared wire drops: the sum of singles overestimates


def test_fast_path_matches_direct_solves_with_leaky_gates():
    rng = np.random.default_rng(5)
    g = rng.uniform(1e-6, 1e-4, (8, 8))
    a = M.tg_assignment(8, 3, 0.75, 1)
    v = M.input_vectors(8, 4, 0.2, 2)
    wires = Wires(r_wordline=1.5, r_bitline=2.5, r_summing=0.7)
    fast, direct = both_paths(g, a, v, wires, 1e5, 50.0, access=LinearAccessTransistor(r_on=500.0))
    for key in ("all", "alone", "single_sum"):
        np.testing.assert_allclose(fast[key], direct[key], rtol=1e-10)


def test_error_identity_and_ideal_limit():
    # error = crosstalk + superposition + single-column error; all three ~0 with ideal parts
    rng = np.random.default_rng(3)
    g = rng.uniform(1e-6, 1e-4, (6, 6))
    a = M.tg_assignment(6, 2, 1.0, 4)
    v = M.input_vectors(6, 2, 0.2, 5)
    i0 = M.ideal_currents(g, a, v)
    res = M.switched_outputs(g, a, v, wires=Wires(1, 1, 1), r_off=np.inf, r_on_values=[30.0], access=None)[30.0]
    err = M.relative_error(res["all"], i0)
    parts = (res["all"] - res["alone"]) / i0 + (res["alone"] - res["single_sum"]) / i0 + (res["single_sum"] - i0) / i0
    np.testing.assert_allclose(err, parts, rtol=1e-12)
    ideal = M.switched_outputs(g, a, v, wires=Wires(0, 0, 0), r_off=np.inf, r_on_values=[M.IDEAL_R], access=None)[M.IDEAL_R]
    np.testing.assert_allclose(ideal["all"], i0, rtol=1e-8)
    np.testing.assert_allclose(ideal["alone"], i0, rtol=1e-8)


def test_calibrated_linear_access_gives_the_target_cell_conductance():
    acc = LinearAccessTransistor(r_on=2e3)
    g = np.array([[10e-6, 100e-6]])
    rram = M.rram_conductances(g, acc)
    np.testing.assert_allclose(1 / (1 / rram + acc.r_on), g, rtol=1e-13)
    np.testing.assert_allclose(M.rram_conductances(g, acc, calibrate=False), g)
    with pytest.raises(ParameterError, match="cannot calibrate"):
        M.rram_conductances(np.array([[1e-3]]), acc)


def test_mean_and_worst_keep_the_sign():
    rel = np.array([[-0.1, 0.02], [0.05, -0.3]])
    mean, worst = M.mean_and_worst(rel, axis=0)
    np.testing.assert_allclose(mean, [-0.025, -0.14])
    np.testing.assert_allclose(worst, [-0.1, -0.3])
    with pytest.raises(ParameterError, match="ideal output current is 0"):
        M.relative_error([[1.0]], [[0.0]])


def test_assignment_is_disjoint_and_balanced():
    a = M.tg_assignment(32, 4, 0.5, 7)
    assert a.shape == (4, 32) and a.sum() == 16
    assert a.sum(axis=0).max() == 1
    assert sorted(a.sum(axis=1)) == [4, 4, 4, 4]
    with pytest.raises(ParameterError, match="larger than the number of columns"):
        M.tg_assignment(4, 8, 1.0, 0)
    with pytest.raises(ParameterError, match="fewer than the k = 4"):
        M.tg_assignment(8, 4, 0.25, 0)


def test_cell_conductances_are_levels():
    cell = RRAMCell(g_min=1e-6, g_max=40e-6, bits=2)
    g = M.cell_conductances(cell, 16, 0)
    assert set(np.unique(g)) <= set(cell.levels)
    np.testing.assert_array_equal(g, M.cell_conductances(cell, 16, 0))


@pytest.mark.ngspice
def test_measure_native_and_ngspice_agree():
    # linear deck, ngspice with numdgt 15: agreement to ~1e-13 measured (shared/FACTS.md); rtol 1e-9
    rng = np.random.default_rng(2)
    g = rng.uniform(1e-6, 1e-4, (4, 4))
    a = M.tg_assignment(4, 2, 1.0, 0)
    v = M.input_vectors(4, 2, 0.2, 1)
    kw = dict(wires=Wires(1, 1, 0.5), tg=TransmissionGate(r_on=100.0, r_off=1e8), access=LinearAccessTransistor())
    nat = M.measure(g, a, v, backend="native", **kw)
    ng = M.measure(g, a, v, backend="ngspice", **kw)
    np.testing.assert_allclose(ng, nat, rtol=1e-9)
