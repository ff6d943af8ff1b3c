"""Native solver against ngspice on the same netlists.

Tolerances (issue 2): output currents within 1e-9 relative for linear crossbars and
1e-6 for level-1 MOS crossbars.  Decks carry reltol=1e-6, vntol=1e-9, abstol=1e-15
(netlists.spice.DECK_OPTIONS); measured agreement here is ~1e-12 for both, so the
bounds leave room for ngspice's iteration tolerance, not for modelling differences.
Relative error is taken against the largest output current of the crossbar, because an
output whose columns are all off carries only r_off leakage (~1e-10 A) and its own
relative error would measure nothing but that leakage.
"""

import numpy as np
import pytest

import crossbar
from devices import LinearAccessTransistor, NMOSLevel1, TransmissionGate, Wires
from netlists import build_crossbar, read_spice

pytestmark = pytest.mark.ngspice


def random_crossbar(N, K, access, seed):
    rng = np.random.default_rng(seed)
    G = rng.uniform(1e-6, 1e-4, (N, N))
    owner = rng.integers(0, K + 1, N)  # K = no set
    A = np.zeros((K, N), bool)
    for j, k in enumerate(owner):
        if k < K:
            A[k, j] = True
    wires = Wires(*rng.uniform(0.5, 5.0, 3))
    tg = TransmissionGate(r_on=float(rng.uniform(10, 2000)), r_off=1e9)
    return build_crossbar(G, A, rng.uniform(0, 0.2, N), wires=wires, tg=tg, access=access)


def outputs_rel_error(net):
    nat = crossbar.solve(net)
    ngs = crossbar.solve(net, backend="ngspice")
    assert ngs.attrs["backend"] == "ngspice"
    out = list(net.layout.outputs)
    a, b = nat.i.sel(branch=out).values, ngs.i.sel(branch=out).values
    all_branches = np.max(np.abs(nat.i.values - ngs.i.values)) / np.max(np.abs(ngs.i.values))
    volts = np.max(np.abs(nat.v.values - ngs.v.sel(node=nat.node).values))
    return np.max(np.abs(a - b)) / np.max(np.abs(b)), all_branches, volts


@pytest.mark.parametrize("N,K,seed", [(4, 1, 0), (8, 2, 1), (16, 4, 2), (32, 4, 3), (32, 3, 4)])
def test_linear_parity(N, K, seed):
    rel, rel_all, volts = outputs_rel_error(random_crossbar(N, K, LinearAccessTransistor(float(500 + 100 * seed)), seed))
    assert rel < 1e-9
    assert rel_all < 1e-9
    assert volts < 1e-9  # volt; node voltages are at most 0.2 V


@pytest.mark.parametrize("N,K,seed", [(4, 1, 10), (8, 2, 11), (16, 4, 12), (32, 4, 13)])
def test_mos_parity(N, K, seed):
    access = NMOSLevel1(kp=200e-6, w=1e-6, l=0.1e-6, vth=0.4, lambda_=0.05 * (seed % 2), v_gate=1.2 + 0.1 * (seed % 4))
    rel, rel_all, _ = outputs_rel_error(random_crossbar(N, K, access, seed))
    assert rel < 1e-6
    assert rel_all < 1e-6


def test_batched_ngspice_matches_native():
    net = random_crossbar(6, 2, LinearAccessTransistor(800.0), 20)
    X = np.random.default_rng(21).uniform(0, 0.2, (3, 6))
    src = {f"vin{i}": X[:, i] for i in range(6)}
    a = crossbar.solve(net, sources=src)
    b = crossbar.solve(net, backend="ngspice", sources=src)
    assert b.i.dims == ("sample", "branch")
    np.testing.assert_allclose(a.i.values, b.i.values, rtol=0, atol=1e-9 * np.abs(b.i.values).max())


def test_hand_written_deck_with_current_source_and_pmos():
    text = """hand-written deck
.model pch pmos (level=1 vto=-0.5 kp=80u lambda=0.02)
.model nch nmos level=1 vto=0.45 kp=200u
VDD vdd 0 DC 1.8
VIN in 0 1.0
M1 out in vdd vdd pch W=2u L=0.2u
M2 out in 0 0 nch W=1u L=0.2u
RL out 0 100k
I1 0 out DC 2u
R2 vdd x 1k
R3 x 0 3k
.op
.end
"""
    net = read_spice(text)
    nat = crossbar.solve(net)
    ngs = crossbar.solve(net, backend="ngspice")
    np.testing.assert_allclose(nat.v.values, ngs.v.sel(node=nat.node).values, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(nat.i.values, ngs.i.values, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("side", ["drain", "source"])
@pytest.mark.parametrize("polarity", ["nmos", "pmos"])
def test_condensed_cells_both_polarities_and_sides(side, polarity):
    """Resistor-in-series-with-MOSFET chains whose inner node the native solver condenses,
    with the inner node on the drain or on the source, for both polarities."""
    from crossbar import prepare
    from netlists import MOSModel, NetlistBuilder

    b = NetlistBuilder(f"{polarity} {side}")
    sgn = 1.0 if polarity == "nmos" else -1.0
    b.model(MOSModel("m", polarity, vto=0.4 * sgn, kp=150e-6, lambda_=0.03))
    b.vsource("vg", "g", "0", 1.5 * sgn)
    b.vsource("vin", "in", "0", 0.3 * sgn)
    prev = "in"
    for k in range(6):
        b.resistor(f"rw{k}", prev, f"a{k}", 5.0)
        b.resistor(f"rc{k}", f"a{k}", f"m{k}", 2e3 + 1e3 * k)
        d, s = (f"m{k}", f"b{k}") if side == "drain" else (f"b{k}", f"m{k}")
        b.mosfet(f"mm{k}", d, "g", s, "0", "m", 1e-6, 0.2e-6)
        b.resistor(f"rb{k}", f"b{k}", "0", 50.0)
        prev = f"a{k}"
    net = b.build()
    system = prepare(net)
    assert system.cells is not None and len(system.cells) == 6
    nat = system.solve()
    ngs = crossbar.solve(net, backend="ngspice")
    np.testing.assert_allclose(nat.v.values, ngs.v.sel(node=nat.node).values, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(nat.i.values, ngs.i.values, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("access", [None, NMOSLevel1(lambda_=0.02)])
def test_cmos_transmission_gates(access):
    """TGs as level-1 NMOS+PMOS pairs (nonlinear switches), with and without MOS access."""
    from devices import CMOSTransmissionGate

    rng = np.random.default_rng(30)
    N = 12
    A = np.zeros((3, N), bool)
    A[0, :4] = A[1, 5:8] = A[2, 9:] = True
    net = build_crossbar(rng.uniform(1e-6, 1e-4, (N, N)), A, rng.uniform(0, 0.2, N),
                         tg=CMOSTransmissionGate(lambda_=0.05), access=access)
    rel, rel_all, _ = outputs_rel_error(net)
    assert rel < 1e-6 and rel_all < 1e-6
