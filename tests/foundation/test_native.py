"""Native solver against circuits solved by hand.  Tolerances: these are exact linear
algebra problems, so agreement is to rounding (1e-12 relative) unless stated."""

import math

import numpy as np
import pytest

import crossbar
from crossbar import SolverOptions, prepare
from devices.errors import ConvergenceError, FloatingNodeError, NetlistError, VoltageSourceLoopError
from netlists import MOSModel, NetlistBuilder, build_crossbar

RTOL = 1e-12


def divider(r1=1e3, r2=3e3, v=1.0):
    b = NetlistBuilder("divider")
    b.vsource("v1", "in", "0", v)
    b.resistor("r1", "in", "mid", r1)
    b.resistor("r2", "mid", "0", r2)
    return b.build()


def test_divider():
    ds = crossbar.solve(divider())
    assert ds.v.sel(node="mid").item() == pytest.approx(0.75, rel=RTOL)
    # SPICE sign: current flows out of + into the circuit, so the branch current is negative
    assert ds.i.sel(branch="v1").item() == pytest.approx(-1.0 / 4e3, rel=RTOL)
    assert ds.v.attrs["units"] == "V" and ds.i.attrs["units"] == "A"
    assert ds.attrs["backend"] == "native"


def test_reversed_source_and_current_source():
    b = NetlistBuilder("rev")
    b.vsource("v1", "0", "a", 2.0)  # v(a) = -2
    b.resistor("r1", "a", "b", 1e3)
    b.resistor("r2", "b", "0", 1e3)
    b.isource("i1", "0", "b", 1e-3)  # 1 mA out of ground, into b
    ds = crossbar.solve(b.build())
    # node b: (vb - va)/1k + vb/1k = 1e-3 -> 2 vb + 2 = 1 -> vb = -0.5
    assert ds.v.sel(node="b").item() == pytest.approx(-0.5, rel=RTOL)
    # current from b to a through r1 = (-0.5 + 2)/1k = 1.5 mA; it enters a, goes into v1's
    # - terminal and leaves by +: SPICE's branch current (into +) is -1.5 mA
    assert ds.i.sel(branch="v1").item() == pytest.approx(-1.5e-3, rel=RTOL)


def test_wire_line_closed_form():
    """Driver V, N segments of r, conductance g to ground at every tap, open far end:
    v_k = V cosh(theta (N + 1/2 - k)) / cosh(theta (N + 1/2)), cosh(theta) = 1 + g r / 2."""
    N, r, g, V = 64, 2.5, 1e-3, 0.2
    b = NetlistBuilder("line")
    b.vsource("v1", "n0", "0", V)
    for k in range(1, N + 1):
        b.resistor(f"r{k}", f"n{k - 1}", f"n{k}", r)
        b.resistor(f"rg{k}", f"n{k}", "0", 1 / g)
    ds = crossbar.solve(b.build())
    theta = math.acosh(1 + g * r / 2)
    k = np.arange(1, N + 1)
    expected = V * np.cosh(theta * (N + 0.5 - k)) / np.cosh(theta * (N + 0.5))
    got = ds.v.sel(node=[f"n{i}" for i in k]).values
    np.testing.assert_allclose(got, expected, rtol=1e-11)  # cosh evaluation itself costs ~1e-13
    i_driver = (V - expected[0]) / r
    assert -ds.i.sel(branch="v1").item() == pytest.approx(i_driver, rel=1e-9)  # difference of close voltages


def _one_cell(va, vg, g, kp=2e-4, w=1e-6, l=1e-7, vto=0.4, lam=0.0):
    b = NetlistBuilder("1t1r")
    b.vsource("va", "a", "0", va)
    b.vsource("vg", "g", "0", vg)
    b.resistor("rc", "a", "m", 1 / g)
    b.model(MOSModel("n", "nmos", vto=vto, kp=kp, lambda_=lam))
    b.mosfet("m1", "m", "g", "0", "0", "n", w, l)
    return b.build()


def test_one_1t1r_cell_linear_region_by_hand():
    """RRAM g from a to m; NMOS drain m, source and bulk at ground, linear region:
    g (Va - Vm) = beta (Vov - Vm/2) Vm + gmin Vm, a quadratic in Vm."""
    va, vg, g = 0.2, 1.8, 1e-4
    beta, vov, gmin = 2e-4 * 10, 1.4, 1e-12
    a, bq, c = beta / 2, -(beta * vov + g + gmin), g * va
    vm = (-bq - math.sqrt(bq * bq - 4 * a * c)) / (2 * a)
    assert vm < vov  # linear region indeed
    ds = crossbar.solve(_one_cell(va, vg, g))
    assert ds.v.sel(node="m").item() == pytest.approx(vm, rel=1e-10)
    assert -ds.i.sel(branch="va").item() == pytest.approx(g * (va - vm), rel=1e-10)


def test_one_1t1r_cell_saturation_by_hand():
    """Large cell conductance, gate barely on: the NMOS saturates, i = beta/2 Vov^2."""
    va, vg, g = 1.0, 0.6, 1e-2
    beta, vov = 2e-3, 0.2
    i_sat = beta / 2 * vov ** 2
    vm = va - i_sat / g  # gmin adds 1e-12 * vm, far below the tolerance below
    assert vm > vov
    ds = crossbar.solve(_one_cell(va, vg, g))
    assert -ds.i.sel(branch="va").item() == pytest.approx(i_sat, rel=1e-9)
    assert ds.v.sel(node="m").item() == pytest.approx(vm, rel=1e-9)


def _random_crossbar(N=8, K=2, seed=0, **kw):
    rng = np.random.default_rng(seed)
    G = rng.uniform(1e-6, 1e-4, (N, N))
    A = np.zeros((K, N), bool)
    for j in range(N):
        k = rng.integers(0, K + 1)
        if k < K:
            A[k, j] = True
    return build_crossbar(G, A, rng.uniform(0, 0.2, N), **kw), rng


def test_batched_equals_one_by_one_and_factorizes_once(monkeypatch):
    import crossbar.native.reduced as reduced

    net, rng = _random_crossbar(8, 3)
    X = rng.uniform(0, 0.2, (5, 8))
    made = []

    class Counting(reduced.Factor):
        def __init__(self, *a, **k):
            made.append(1)
            super().__init__(*a, **k)

    monkeypatch.setattr(reduced, "Factor", Counting)
    batch = crossbar.solve(net, sources={f"vin{i}": X[:, i] for i in range(8)})
    assert len(made) == 1
    assert batch.i.dims == ("sample", "branch")
    for s in range(5):
        one = crossbar.solve(net.with_sources({f"vin{i}": X[s, i] for i in range(8)}))
        # rounding floor: 1e-12 of the largest branch current (driver currents are differences)
        scale = np.abs(one.i.values).max()
        np.testing.assert_allclose(batch.i.isel(sample=s).values, one.i.values, rtol=1e-12, atol=1e-12 * scale)


def test_transfer_matrix_matches_solves():
    net, rng = _random_crossbar(10, 4, seed=3)
    T = crossbar.transfer_matrix(net)
    assert T.dims == ("output", "input") and T.shape == (4, 10) and T.attrs["units"] == "S"
    x = rng.uniform(0, 0.2, 10)
    ds = crossbar.solve(net, sources={f"vin{i}": x[i] for i in range(10)})
    out = ds.i.sel(branch=list(net.layout.outputs)).values
    scale = np.abs(out).max()
    np.testing.assert_allclose(T.values @ x, out, rtol=1e-12, atol=1e-12 * scale)


def test_mna_path_with_floating_source_matches_reduced():
    """A floating source (between two non-ground nodes) switches to modified nodal analysis."""
    b = NetlistBuilder("float")
    b.vsource("v1", "a", "0", 1.0)
    b.vsource("v2", "b", "a", 0.5)  # stacked: floating
    b.resistor("r1", "b", "c", 1e3)
    b.resistor("r2", "c", "0", 1e3)
    b.isource("i1", "0", "c", 1e-4)
    sysm = prepare(b.build())
    assert not sysm.reduced
    ds = sysm.solve()
    # c: (vc - 1.5)/1k + vc/1k = 1e-4 -> vc = 0.8
    assert ds.v.sel(node="c").item() == pytest.approx(0.8, rel=RTOL)
    i_r1 = (1.5 - 0.8) / 1e3
    assert ds.i.sel(branch="v2").item() == pytest.approx(-i_r1, rel=RTOL)
    assert ds.i.sel(branch="v1").item() == pytest.approx(-i_r1, rel=RTOL)


def test_mna_path_with_mosfet():
    b = NetlistBuilder("float mos")
    b.vsource("vg", "g", "0", 1.8)
    b.vsource("va", "a", "g", -1.6)  # v(a) = 0.2, floating source
    b.resistor("rc", "a", "m", 1e4)
    b.model(MOSModel("n", "nmos", vto=0.4, kp=2e-4))
    b.mosfet("m1", "m", "g", "0", "0", "n", 1e-6, 1e-7)
    ds = crossbar.solve(b.build())
    ref = crossbar.solve(_one_cell(0.2, 1.8, 1e-4))
    assert ds.v.sel(node="m").item() == pytest.approx(ref.v.sel(node="m").item(), rel=1e-10)


def test_floating_node_named():
    b = NetlistBuilder("f")
    b.vsource("v1", "a", "0", 1)
    b.resistor("r1", "a", "0", 1e3)
    b.resistor("r2", "x", "y", 1e3)
    b.isource("i1", "0", "x", 1e-3)
    with pytest.raises(FloatingNodeError) as info:
        crossbar.solve(b.build())
    assert sorted(info.value.nodes) == ["x", "y"]
    assert "x" in str(info.value) and "no DC path to ground" in str(info.value)


def test_gate_only_node_is_floating():
    b = NetlistBuilder("gate")
    b.vsource("v1", "d", "0", 1)
    b.model(MOSModel("n"))
    b.mosfet("m1", "d", "g", "0", "0", "n", 1e-6, 1e-6)
    with pytest.raises(FloatingNodeError, match="g"):
        crossbar.solve(b.build())


def test_source_loop_named():
    b = NetlistBuilder("loop")
    b.vsource("v1", "a", "0", 1)
    b.vsource("v2", "a", "b", 0.5)
    b.vsource("v3", "b", "0", 0.5)
    b.resistor("r1", "a", "0", 1e3)
    with pytest.raises(VoltageSourceLoopError) as info:
        crossbar.solve(b.build())
    assert set(info.value.sources) == {"v1", "v2", "v3"}


def test_parallel_sources_are_a_loop():
    b = NetlistBuilder("par")
    b.vsource("v1", "a", "0", 1)
    b.vsource("v2", "a", "0", 1)
    b.resistor("r1", "a", "0", 1e3)
    with pytest.raises(VoltageSourceLoopError, match="v1 -> v2"):
        crossbar.solve(b.build())


def test_non_convergence_reports_history():
    b = NetlistBuilder("cell behind a wire")
    b.vsource("vin", "in", "0", 0.2)
    b.vsource("vg", "g", "0", 1.8)
    b.resistor("rw", "in", "a", 10.0)  # makes node a an unknown of the Newton system
    b.resistor("rc", "a", "m", 1e4)
    b.model(MOSModel("n", "nmos", vto=0.4, kp=2e-4))
    b.mosfet("m1", "m", "g", "0", "0", "n", 1e-6, 1e-7)
    net = b.build()
    assert crossbar.solve(net).attrs["newton_iterations"] >= 2
    with pytest.raises(ConvergenceError) as info:
        crossbar.solve(net, options=SolverOptions(max_iter=1))
    assert len(info.value.history) == 1
    assert set(info.value.history[0]) == {"iteration", "residual", "step", "damping"}
    assert isinstance(info.value, RuntimeError)


@pytest.mark.parametrize("call, message", [
    (lambda n: crossbar.solve(n, backend="hspice"), "unknown backend 'hspice'"),
    (lambda n: crossbar.solve("deck"), "takes a netlists.Netlist"),
    (lambda n: crossbar.solve(n, sources={"vx": 1.0}), "no element named 'vx'"),
    (lambda n: crossbar.solve(n, sources={"r1": 1.0}), "not an independent source"),
    (lambda n: crossbar.solve(n, sources={"v1": [1, 2], "v1x": 1}), "no element named"),
    (lambda n: crossbar.solve(n, sources={"v1": np.ones((2, 2))}), "1-D array"),
    (lambda n: crossbar.solve(n, sources={"v1": [1.0, np.nan]}), "must be finite"),
    (lambda n: crossbar.transfer_matrix(n), "give inputs= and outputs="),
    (lambda n: crossbar.transfer_matrix(n, ["v1"], ["r1"]), "not a voltage source"),
])
def test_bad_calls(call, message):
    with pytest.raises(NetlistError, match=message):
        call(divider())


def test_transfer_matrix_refuses_mos():
    with pytest.raises(NetlistError, match="needs a linear netlist"):
        crossbar.transfer_matrix(_one_cell(0.2, 1.8, 1e-4), ["va"], ["vg"])


@pytest.mark.parametrize("factorization", ["superlu", "cholmod"])
def test_factorizations_agree(factorization):
    if factorization == "cholmod" and not crossbar.HAVE_CHOLMOD:
        pytest.skip("scikit-sparse not installed")
    net, _ = _random_crossbar(12, 4, seed=5)
    ref = crossbar.solve(net)
    got = crossbar.solve(net, options=SolverOptions(factorization=factorization))
    assert got.attrs["method"] == factorization
    np.testing.assert_allclose(got.i.values, ref.i.values, rtol=1e-11, atol=1e-11 * np.abs(ref.i.values).max())


def test_mos_crossbar_batched_samples_converge():
    from devices import NMOSLevel1

    net, rng = _random_crossbar(6, 2, seed=9, access=NMOSLevel1(lambda_=0.05))
    X = rng.uniform(0, 0.2, (3, 6))
    batch = crossbar.solve(net, sources={f"vin{i}": X[:, i] for i in range(6)})
    for s in range(3):
        one = crossbar.solve(net.with_sources({f"vin{i}": X[s, i] for i in range(6)}))
        np.testing.assert_allclose(batch.i.isel(sample=s).values, one.i.values, rtol=1e-9,
                                   atol=1e-9 * np.abs(one.i.values).max())
