"""DC solve of capacitors (open), inductors (shorts, current reported) and sinh cells
(I = g v0 sinh(V / v0)) on both backends (issue 10 section 3; data model from netlists)."""

import numpy as np
import pytest

import crossbar
from devices import NMOSLevel1
from devices.errors import FloatingNodeError, VoltageSourceLoopError
from netlists import MOSModel, NetlistBuilder

# ngspice runs with reltol 1e-6 (the writer's .options); the parity bound is 1e-6
PARITY = 1e-6


def sinh_crossbar(N, seed, *, v0=0.25, nmos=False, r_wire=2.5, r_tg=100.0, v_max=0.5):
    """N x N crossbar of sinh cells (optionally in series with a level-1 NMOS), 2.5 ohm
    segments, every column through a TG resistor into its own 0 V source; seeded."""
    rng = np.random.default_rng(seed)
    g = rng.uniform(1e-6, 1e-4, (N, N))
    b = NetlistBuilder(f"sinh {N}x{N}")
    ii, jj = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    cell = [f"{i}_{j}" for i, j in zip(ii.ravel().tolist(), jj.ravel().tolist())]
    n_in = b.nodes([f"in{i}" for i in range(N)])
    b.vsources([f"vin{i}" for i in range(N)], n_in, np.zeros(N, np.int64), rng.uniform(0, v_max, N))
    n_out = b.nodes([f"out{j}" for j in range(N)])
    b.vsources([f"vout{j}" for j in range(N)], n_out, np.zeros(N, np.int64), np.zeros(N))
    n_col = b.nodes([f"col{j}" for j in range(N)])
    b.resistors([f"rtg{j}" for j in range(N)], n_col, n_out, np.full(N, r_tg))
    n_wl = b.nodes(["wl" + c for c in cell]).reshape(N, N)
    b.resistors(["rw" + c for c in cell], np.concatenate([n_in[:, None], n_wl[:, :-1]], 1).ravel(), n_wl.ravel(),
                np.full(N * N, r_wire))
    n_bl = b.nodes(["bl" + c for c in cell]).reshape(N, N)
    b.resistors(["rb" + c for c in cell], n_bl.ravel(), np.concatenate([n_bl[1:], n_col[None]], 0).ravel(),
                np.full(N * N, r_wire))
    if nmos:
        acc = NMOSLevel1(lambda_=0.02)
        n_c = b.nodes(["c" + c for c in cell])
        b.sinh_cells(["b" + c for c in cell], n_wl.ravel(), n_c, g.ravel(), np.full(N * N, v0))
        b.vsource("vg", "vg", "0", acc.v_gate)
        b.model(MOSModel("nacc", "nmos", vto=acc.vth, kp=acc.kp, lambda_=acc.lambda_))
        b.mosfets(["m" + c for c in cell], n_c, np.full(N * N, b.node("vg")), n_bl.ravel(), np.zeros(N * N, np.int64),
                  "nacc", acc.w, acc.l)
    else:
        b.sinh_cells(["b" + c for c in cell], n_wl.ravel(), n_bl.ravel(), g.ravel(), np.full(N * N, v0))
    return b.build()


def test_one_sinh_cell_by_hand():
    """1 V source, 1 kohm, sinh cell to ground: (1 - V)/1e3 = g v0 sinh(V / v0)."""
    b = NetlistBuilder("one")
    b.vsource("v1", "in", "0", 1.0)
    b.resistor("r1", "in", "a", 1e3)
    b.sinh_cell("b1", "a", "0", 1e-4, 0.2)
    ds = crossbar.solve(b.build())
    V = float(ds.v.sel(node="a"))
    assert (1 - V) / 1e3 == pytest.approx(1e-4 * 0.2 * np.sinh(V / 0.2), rel=1e-12)
    assert float(ds.i.sel(branch="v1")) == pytest.approx(-(1 - V) / 1e3, rel=1e-12)
    assert ds.attrs["newton_iterations"] >= 2


def test_inductor_is_a_short_with_its_current_reported_and_capacitor_open():
    b = NetlistBuilder("rl")
    b.vsource("v1", "in", "0", 1.0)
    b.resistor("r1", "in", "a", 1e3)
    b.inductor("l1", "a", "b", 1e-3)
    b.resistor("r2", "b", "0", 3e3)
    b.capacitor("c1", "a", "0", 1e-9)
    b.inductor("l2", "b", "c", 1e-3)
    b.resistor("r3", "c", "0", 3e3)
    ds = crossbar.solve(b.build())
    assert list(ds.branch.values) == ["v1", "l1", "l2"]
    # r2 || r3 = 1.5 kohm: v(a) = v(b) = v(c) = 0.6 V, 0.4 mA through r1 and l1, 0.2 mA through l2
    for node in "abc":
        assert float(ds.v.sel(node=node)) == pytest.approx(0.6, rel=1e-12)
    assert ds.i.sel(branch=["v1", "l1", "l2"]).values == pytest.approx([-0.4e-3, 0.4e-3, 0.2e-3], rel=1e-12)


def test_inductor_loops_and_capacitor_only_nodes_are_named():
    b = NetlistBuilder("loop")
    b.vsource("v1", "a", "0", 1.0)
    b.inductor("l1", "a", "0", 1e-3)
    with pytest.raises(VoltageSourceLoopError, match="l1"):
        crossbar.solve(b.build())
    b = NetlistBuilder("cap")
    b.vsource("v1", "a", "0", 1.0)
    b.resistor("r1", "a", "0", 1e3)
    b.capacitor("c1", "a", "x", 1e-12)
    with pytest.raises(FloatingNodeError, match="x"):
        crossbar.solve(b.build())


def test_sinh_crossbar_converges_and_batched_equals_one_by_one():
    net = sinh_crossbar(8, seed=1)
    X = np.random.default_rng(2).uniform(0, 0.5, (3, 8))
    batch = crossbar.solve(net, sources={f"vin{i}": X[:, i] for i in range(8)})
    for s in range(3):
        one = crossbar.solve(net, sources={f"vin{i}": X[s, i] for i in range(8)})
        np.testing.assert_allclose(batch.i.isel(sample=s).values, one.i.values, rtol=1e-9,
                                   atol=1e-9 * np.abs(one.i.values).max())


def test_sinh_crossbar_mna_and_reduced_agree():
    """A floating 0 V source in series with the first output forces MNA; same answer."""
    net = sinh_crossbar(6, seed=3)
    b = NetlistBuilder("x")
    for e in net.elements():
        if e.name == "vout0":
            b.vsource("vout0", "out0", "mid", 0.0)
            b.resistor("rmid", "mid", "0", 1e-3)
        else:
            b.add(e)
    mna = crossbar.solve(b.build())
    red = crossbar.solve(net)
    assert mna.attrs["method"] == "mna-superlu"
    # the 1e-3 ohm resistor shifts out0 by ~1e-7 V: bound the difference by that effect
    np.testing.assert_allclose(mna.i.sel(branch=list(net.vsources.names)).values, red.i.values, rtol=1e-5)


@pytest.mark.ngspice
@pytest.mark.parametrize("N, seed", [(4, 0), (12, 1), (32, 2)])
@pytest.mark.parametrize("nmos", [False, True])
def test_sinh_crossbar_parity_with_ngspice(N, seed, nmos):
    net = sinh_crossbar(N, seed, nmos=nmos)
    a = crossbar.solve(net)
    b = crossbar.solve(net, backend="ngspice")
    outs = [f"vout{j}" for j in range(N)]
    ia, ib = a.i.sel(branch=outs).values, b.i.sel(branch=outs).values
    assert np.abs(ia - ib).max() <= PARITY * np.abs(ib).max()
    np.testing.assert_allclose(a.v.values, b.v.values, rtol=0, atol=PARITY * np.abs(b.v.values).max())


@pytest.mark.ngspice
def test_inductors_and_capacitors_parity_with_ngspice():
    b = NetlistBuilder("rlc")
    b.vsource("v1", "in", "0", 0.3)
    b.resistor("r1", "in", "a", 1e3)
    b.inductor("l1", "a", "b", 1e-6)
    b.sinh_cell("b1", "b", "0", 1e-5, 0.25)
    b.resistor("r2", "b", "0", 1e4)
    b.capacitor("c1", "a", "0", 1e-12)
    b.isource("i1", "0", "b", 1e-5)
    net = b.build()
    a, n = crossbar.solve(net), crossbar.solve(net, backend="ngspice")
    assert list(a.branch.values) == list(n.branch.values) == ["v1", "l1"]
    np.testing.assert_allclose(a.i.values, n.i.values, rtol=PARITY)
    np.testing.assert_allclose(a.v.values, n.v.values, rtol=PARITY)
