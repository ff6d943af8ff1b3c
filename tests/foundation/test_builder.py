import math

import numpy as np
import pytest

import crossbar
from devices import LinearAccessTransistor, NMOSLevel1, TransmissionGate, Wires
from devices.errors import BasisContestError, ParameterError
from netlists import build_crossbar, check_contest


def small(R=3, C=4, K=2, seed=0):
    rng = np.random.default_rng(seed)
    G = rng.uniform(1e-6, 1e-4, (R, C))
    A = np.zeros((K, C), bool)
    for j in range(C):
        k = j % (K + 1)
        if k < K:
            A[k, j] = True
    return G, A, rng.uniform(0, 0.2, R)


def test_counts_linear_access():
    G, A, x = small(3, 4, 2)
    n = build_crossbar(G, A, x)
    R, C, K = 3, 4, 2
    # in, wl, bl, c per cell, col, out, sl
    assert n.n_nodes == R + 3 * R * C + C + K + K * C
    # wordline, bitline, rram, access per cell; TG and summing segment per tap
    assert len(n.resistors) == 4 * R * C + 2 * K * C
    assert len(n.vsources) == R + K
    assert n.layout.inputs == ("vin0", "vin1", "vin2") and n.layout.outputs == ("vout0", "vout1")


def test_zero_wires_merge_nodes_and_infinite_roff_drops_gates():
    G, A, x = small(3, 4, 2)
    n = build_crossbar(G, A, x, wires=Wires(0, 0, 0), tg=TransmissionGate(10, math.inf))
    assert not any(name.startswith(("rw", "rb", "rs")) for name in n.resistors.names)
    assert sum(name.startswith("rtg") for name in n.resistors.names) == int(A.sum())


def test_ideal_wires_and_switches_give_the_ideal_sum():
    """No wire, no access resistance, TG r_on tiny, r_off open: each output is sum_ij G_ij V_i
    over its columns (the TG r_on of 1e-9 ohm perturbs it by ~1e-9 relative)."""
    G, A, x = small(5, 6, 3)
    n = build_crossbar(G, A, x, wires=Wires(0, 0, 0), tg=TransmissionGate(1e-9, math.inf), access=None)
    out = crossbar.solve(n).i.sel(branch=list(n.layout.outputs)).values
    ideal = (x @ G) @ A.T.astype(float)
    np.testing.assert_allclose(out, ideal, rtol=1e-9)


def test_fold_cells_is_exact():
    G, A, x = small(4, 5, 2)
    a = crossbar.solve(build_crossbar(G, A, x)).i
    b = crossbar.solve(build_crossbar(G, A, x, fold_cells=True)).i
    # exact up to rounding: a driver current is a difference of cell currents, so the
    # absolute error scale is that of the largest branch current
    scale = float(np.abs(a.values).max())
    np.testing.assert_allclose(a.values, b.values, rtol=1e-12, atol=1e-12 * scale)


def test_contest_refused_with_columns_and_sets():
    A = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 0, 1]], bool)
    with pytest.raises(BasisContestError) as info:
        build_crossbar(np.full((2, 4), 1e-5), A)
    assert info.value.columns == [0, 1]
    assert info.value.sets == {0: [0, 2], 1: [0, 1]}
    assert "column 0 by sets [0, 2]" in str(info.value)
    assert isinstance(info.value, ValueError)
    check_contest(A[:2, 2:])  # no overlap: fine


@pytest.mark.parametrize("kwargs, message", [
    (dict(conductances=np.full((2, 3), -1e-5)), "conductances must be finite and > 0"),
    (dict(conductances=np.ones(3)), "2-D"),
    (dict(assignment=np.ones((2, 5), bool)[:, :4] & False), "assignment has 4 columns but the crossbar has 3"),
    (dict(inputs=[0.1]), "inputs must be 2 finite voltages"),
    (dict(access="nmos"), "access must be"),
    (dict(access=NMOSLevel1(), fold_cells=True), "fold_cells=True needs a linear"),
])
def test_builder_errors(kwargs, message):
    args = dict(conductances=np.full((2, 3), 1e-5), assignment=np.array([[1, 0, 0]], bool), inputs=[0.1, 0.1])
    args.update(kwargs)
    with pytest.raises(ParameterError, match=message):
        build_crossbar(args.pop("conductances"), args.pop("assignment"), args.pop("inputs"), **args)


def test_linear_access_adds_series_resistance():
    G = np.array([[1e-4]])
    A = np.array([[True]])
    n = build_crossbar(G, A, [0.1], wires=Wires(0, 0, 0), tg=TransmissionGate(1e-9, math.inf),
                       access=LinearAccessTransistor(1e3))
    out = crossbar.solve(n).i.sel(branch="vout0").item()
    assert out == pytest.approx(0.1 / (1e4 + 1e3 + 1e-9), rel=1e-12)


def test_cmos_tg_cards():
    from devices import CMOSTransmissionGate

    G, A, x = small(2, 3, 2)
    n = build_crossbar(G, A, x, tg=CMOSTransmissionGate())
    K, C = A.shape
    assert sum(name.startswith("mn") for name in n.mosfets.names) == K * C
    assert sum(name.startswith("mp") for name in n.mosfets.names) == K * C
    on = n.element("mn0_0")  # column 0 is in set 0 (see small())
    assert on.g == "vdd" and n.element("mp0_0").g == "0" and n.element("mp0_0").b == "vdd"
    assert n.element("mn1_0").g == "0"
    with pytest.raises(ParameterError, match="tg must be"):
        build_crossbar(G, A, x, tg="ideal")
