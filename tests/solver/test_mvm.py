"""crossbar.mvm (issue 11, section 4): the fast path against the same circuit through
crossbar.solve, closed forms, IR-drop maps, bad input.  Tolerances: both paths solve
the same linear system with different orderings, so they agree to rounding (1e-12 of
the largest current)."""

import doctest

import numpy as np
import pytest

import crossbar
from devices import CMOSTransmissionGate, LinearAccessTransistor, NMOSLevel1, TransmissionGate, Wires
from devices.errors import ParameterError


def _via_solve(G, X, **kw):
    net = crossbar.mvm_netlist(G, **kw)
    ds = crossbar.solve(net, sources={name: X[:, k] for k, name in enumerate(net.layout.inputs)})
    return ds.i.sel(branch=list(net.layout.outputs)).values


@pytest.mark.parametrize("wires", [Wires(), Wires(0, 0, 0), Wires(2.5, 0, 0), Wires(0, 1.0, 0), Wires(5.0, 1e-3, 0)])
@pytest.mark.parametrize("access", [None, LinearAccessTransistor(1e3)])
@pytest.mark.parametrize("tg", [None, TransmissionGate(100.0, 1e9)])
def test_fast_path_equals_the_netlist_path(wires, access, tg):
    rng = np.random.default_rng(3)
    G = rng.uniform(1e-6, 1e-4, (7, 5))
    X = rng.uniform(0, 0.2, (3, 7))
    got = crossbar.mvm(G, X, wires=wires, access=access, tg=tg)
    assert got.attrs["method"] == "fast"
    net = crossbar.mvm_netlist(G, wires=wires, access=access, tg=tg)
    ds = crossbar.solve(net, sources={name: X[:, k] for k, name in enumerate(net.layout.inputs)})
    ref = ds.i.sel(branch=list(net.layout.outputs)).values
    # same system, two orderings: they agree to rounding, or within the solvers' own error
    # estimates where a 1e-3 ohm wire makes the system stiff
    tol = max(1e-12 * np.abs(ref).max(), got.attrs["branch_current_error"] + ds.attrs["branch_current_error"])
    np.testing.assert_allclose(got.values, ref, rtol=0, atol=tol)


def test_ideal_wires_give_g_transpose_v():
    rng = np.random.default_rng(1)
    G = rng.uniform(1e-6, 1e-4, (6, 4))
    v = rng.uniform(0, 0.2, 6)
    got = crossbar.mvm(G, v, wires=Wires(0, 0, 0))
    assert got.dims == ("sample", "column") and got.shape == (1, 4) and got.attrs["units"] == "A"
    np.testing.assert_allclose(got.values[0], G.T @ v, rtol=1e-13)
    # a TG in series with each column: I_j = (sum_i g_ij v_i) / (1 + r_on * sum_i g_ij)
    r = 200.0
    got = crossbar.mvm(G, v, wires=Wires(0, 0, 0), tg=TransmissionGate(r, 1e9))
    np.testing.assert_allclose(got.values[0], (G.T @ v) / (1 + r * G.sum(axis=0)), rtol=1e-12)


@pytest.mark.parametrize("access, tg", [(NMOSLevel1(lambda_=0.02), None), (None, CMOSTransmissionGate())])
def test_nonlinear_devices_go_through_the_netlist(access, tg):
    rng = np.random.default_rng(2)
    G = rng.uniform(1e-6, 1e-4, (4, 3))
    X = rng.uniform(0, 0.2, (2, 4))
    got = crossbar.mvm(G, X, access=access, tg=tg)
    assert got.attrs["method"] == "netlist-native"
    np.testing.assert_allclose(got.values, _via_solve(G, X, access=access, tg=tg), rtol=1e-12)


@pytest.mark.ngspice
def test_mvm_matches_ngspice():
    rng = np.random.default_rng(4)
    G = rng.uniform(1e-6, 1e-4, (8, 8))
    X = rng.uniform(0, 0.2, (2, 8))
    a = crossbar.mvm(G, X, access=LinearAccessTransistor(1e3), tg=TransmissionGate(100, 1e9))
    b = crossbar.mvm(G, X, access=LinearAccessTransistor(1e3), tg=TransmissionGate(100, 1e9), backend="ngspice")
    # ngspice on a linear deck (reltol 1e-6, numdgt 15): agreement to ~1e-12; bound 1e-9 as the parity tests
    np.testing.assert_allclose(a.values, b.values, rtol=1e-9)


@pytest.mark.parametrize("call, words", [
    (lambda: crossbar.mvm(np.ones(3) * 1e-5, [0.1] * 3), "2-D array"),
    (lambda: crossbar.mvm(np.full((2, 2), 1e-5), [0.1] * 3), "shape (2,) or (samples, 2)"),
    (lambda: crossbar.mvm(np.full((2, 2), 1e-5), [0.1, np.nan]), "mvm.v has 1 entry"),
    (lambda: crossbar.mvm(np.full((2, 2), -1e-5), [0.1, 0.1]), "mvm.G has 4 entries"),
    (lambda: crossbar.mvm([["a", "b"]], [0.1]), "numeric array"),
    (lambda: crossbar.mvm(np.full((2, 2), 1e-5), [0.1, 0.1], sense="rows"), "sense must be one of ['columns']"),
    (lambda: crossbar.mvm(np.full((2, 2), 1e-5), [0.1, 0.1], wires=2.5), "devices.Wires"),
    (lambda: crossbar.mvm(np.full((2, 2), 1e-5), [0.1, 0.1], backend="hspice"), "backend must be one of"),
    (lambda: crossbar.mvm(np.full((2, 2), 1e-5), np.zeros((0, 2))), "no samples"),
])
def test_bad_input_named(call, words):
    with pytest.raises(ParameterError) as info:
        call()
    assert words in str(info.value)


def test_grid_voltages_ir_drop_map():
    rng = np.random.default_rng(5)
    G = rng.uniform(1e-5, 1e-4, (5, 6))
    net = crossbar.mvm_netlist(G, access=LinearAccessTransistor(1e3), wires=Wires(10.0, 10.0, 0))
    X = np.full((2, 5), 0.2)
    ds = crossbar.solve(net, sources={f"vin{i}": X[:, i] for i in range(5)})
    grid = crossbar.grid_voltages(ds, net)
    assert grid.dims == ("sample", "line", "row", "column") and grid.attrs["units"] == "V"
    assert list(grid.line.values) == ["wordline", "cell", "bitline"]
    wl = grid.sel(line="wordline").values
    assert np.all(np.diff(wl, axis=-1) < 0)  # voltage falls along each wordline, away from the driver
    assert grid.sel(line="bitline", row=2, column=3).values[0] == ds.v.sel(node="bl2_3").values[0]
    assert grid.sel(line="cell", row=1, column=4).values[1] == ds.v.sel(node="c1_4").values[1]
    # zero wires: wordline taps are the drivers, bitline taps the 0 V outputs, no cell nodes
    net0 = crossbar.mvm_netlist(G, wires=Wires(0, 0, 0))
    one = crossbar.grid_voltages(crossbar.solve(net0, sources={f"vin{i}": 0.1 * i for i in range(5)}), net0)
    assert one.dims == ("line", "row", "column")
    np.testing.assert_array_equal(one.sel(line="wordline").values, np.repeat((0.1 * np.arange(5))[:, None], 6, axis=1))
    assert np.all(one.sel(line="bitline").values == 0) and np.all(np.isnan(one.sel(line="cell").values))


def test_examples_run_as_doctests():
    import importlib

    # the modules themselves (``crossbar.solve`` as an attribute is the function)
    for module in (importlib.import_module("crossbar.arrays"), importlib.import_module("crossbar.solve")):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, module.__name__
