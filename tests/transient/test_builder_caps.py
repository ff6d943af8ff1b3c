"""Capacitances placed by build_crossbar(capacitance=...), and the DC limit of a transient."""

import numpy as np
import pytest

from crossbar import solve
from crossbar.transient import Step, tg_pattern_switch, transient
from devices import LinearAccessTransistor, TransmissionGate, Wires
from devices.capacitance import CAPS_130NM, Capacitances
from netlists.builder import build_crossbar

CAPS = Capacitances(c_wordline=1e-15, c_bitline=2e-15, c_summing=3e-15, c_tg=5e-15, c_access=7e-15, c_cell=11e-15)


def _net(R=3, C=4, K=2, caps=CAPS, wires=Wires(2.5, 2.5, 2.5), fold=False, access=LinearAccessTransistor(1e3)):
    G = np.full((R, C), 10e-6)
    A = np.zeros((K, C), bool)
    A[np.arange(C) % K, np.arange(C)] = True
    return build_crossbar(G, A, np.full(R, 0.1), wires=wires, tg=TransmissionGate(100.0, 1e9), access=access,
                          fold_cells=fold, capacitance=caps)


def _cap(net, node):
    C = net.capacitors
    k = C.names.index(f"c{node}")
    assert net.nodes[C.n1[k]] == node and C.n2[k] == 0
    return float(C.value[k])


def test_total_and_per_node_capacitance():
    R, C, K = 3, 4, 2
    net = _net(R, C, K)
    total = float(np.sum(net.capacitors.value))
    expect = R * C * (CAPS.c_wordline + CAPS.c_bitline + CAPS.c_access + CAPS.c_cell) \
        + K * C * (CAPS.c_summing + 2 * CAPS.c_tg)
    assert total == pytest.approx(expect, rel=1e-12)
    # a column bottom: half of the last bitline segment and K TG terminals
    assert _cap(net, "col1") == pytest.approx(CAPS.c_bitline / 2 + K * CAPS.c_tg, rel=1e-12)
    # the first summing-line tap: half a segment and one TG terminal
    assert _cap(net, "sl0_0") == pytest.approx(CAPS.c_summing / 2 + CAPS.c_tg, rel=1e-12)
    # a wordline node inside the row: two half segments
    assert _cap(net, "wl1_1") == pytest.approx(CAPS.c_wordline, rel=1e-12)
    # a bitline tap: two half segments and the access junction; the driver node: half a segment
    assert _cap(net, "bl1_2") == pytest.approx(CAPS.c_bitline + CAPS.c_access, rel=1e-12)
    assert _cap(net, "in0") == pytest.approx(CAPS.c_wordline / 2, rel=1e-12)
    assert _cap(net, "c2_3") == pytest.approx(CAPS.c_cell, rel=1e-12)
    assert all(v > 0 for v in net.capacitors.value)


def test_no_capacitance_and_zero_fields_write_none():
    assert len(_net(caps=None).capacitors) == 0
    assert len(_net(caps=Capacitances()).capacitors) == 0
    net = _net(caps=Capacitances(c_tg=1e-15))
    assert sorted(net.capacitors.names) == sorted([f"ccol{j}" for j in range(4)] +
                                                  [f"csl{k}_{j}" for k in range(2) for j in range(4)])


def test_ideal_wires_merge_capacitance_onto_the_merged_nodes():
    R, C, K = 2, 3, 1
    net = _net(R, C, K, wires=Wires(0.0, 0.0, 0.0), fold=True)
    total = float(np.sum(net.capacitors.value))
    # folded cells have no inner node; every other contribution stays on the merged nodes
    expect = R * C * (CAPS.c_wordline + CAPS.c_bitline + CAPS.c_access) + K * C * (CAPS.c_summing + 2 * CAPS.c_tg)
    assert total == pytest.approx(expect, rel=1e-12)


def test_dc_solution_does_not_see_the_capacitors():
    a = solve(_net(caps=None)).i.values
    b = solve(_net(caps=CAPS_130NM)).i.values
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=0)


@pytest.mark.parametrize("method, rtol", [("be", 1e-9), ("trap", 1e-6)])
def test_transient_settles_to_the_dc_solution_of_the_final_circuit(method, rtol):
    """After many time constants the outputs equal the operating point of the switched,
    stepped circuit (a check of the switch and source bookkeeping independent of ngspice).

    The trapezoidal rule is not L-stable: wire nodes (2.5 ohm x 0.1 fF ~ 1e-16 s) far
    faster than the 1 ps step keep a slowly decaying alternating error (measured ~7e-9
    relative after 2000 steps), hence its looser tolerance; backward Euler damps them."""
    net = _net(4, 6, 2, caps=CAPS_130NM)
    A = np.asarray(net.layout.assignment)
    new = np.roll(A, 1, axis=0)
    v_new = np.array([0.05, 0.2, 0.1, 0.15])
    sources = {f"vin{i}": Step(5e-12, v_new[i], before=0.1, rise=1e-12) for i in range(4)}
    ds = transient(net, 2e-9, 1e-12, sources=sources, switches=tg_pattern_switch(net, new, at=10e-12), method=method)
    final = build_crossbar(np.asarray(net.layout.conductances), new, v_new, wires=Wires(2.5, 2.5, 2.5),
                           tg=TransmissionGate(100.0, 1e9), access=LinearAccessTransistor(1e3))
    ref = solve(final).i
    got = ds.i.isel(time=-1).sel(branch=list(ref.branch.values))
    np.testing.assert_allclose(got.values, ref.values, rtol=rtol, atol=1e-15)
    # and the start is the operating point of the initial circuit
    ref0 = solve(net).i
    np.testing.assert_allclose(ds.i.isel(time=0).sel(branch=list(ref0.branch.values)).values, ref0.values,
                               rtol=1e-9, atol=1e-18)  # driver currents: differences of wire currents
