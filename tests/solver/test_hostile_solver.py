"""Issue 10, re-checked by a hostile user after sections 2-5 were fixed (solver and
ngspice backend).  Each test failed on the code before its fix."""

import numpy as np
import pytest

import crossbar
from netlists import NetlistBuilder, read_spice


@pytest.mark.parametrize("deck, v", [
    ("t\ni1 0 a 1\nr1 a 0 1\n", [1.0]),
    ("t\ni1 0 a 1\nr1 a 0 1\nr2 a b 1\nr3 b 0 1\n", [2 / 3, 1 / 3]),
    ("t\ni1 0 a 1\nr1 a 0 1\nv1 b 0 0\nr3 a b 1e12\n", [1.0 - 1e-12, 0.0]),
])
def test_current_source_circuits_are_not_called_ill_conditioned(deck, v):
    """Before: 1 A into 1 ohm raised IllConditionedError ("estimated error 2.2e-16 A exceeds
    check_rtol of the largest branch current 0 A"): the accuracy check scaled by branch
    currents only, and a circuit driven by current sources has none (or tiny ones)."""
    ds = crossbar.solve(read_spice(deck))
    np.testing.assert_allclose(ds.v.values, v, rtol=1e-12)  # exact circuits: rounding only
    assert ds.attrs["branch_current_error"] < 1e-15


def test_current_source_circuit_batched_and_nonlinear():
    b = NetlistBuilder("i-driven sinh")
    b.isource("i1", "0", "a", 1e-3)
    b.resistor("r1", "a", "0", 1e3)
    b.sinh_cell("b1", "a", "0", 1e-4, 0.25)
    ds = crossbar.solve(b.build(), sources={"i1": [1e-3, 2e-3]})
    v = ds.v.sel(node="a").values
    i_cell = 1e-4 * 0.25 * np.sinh(v / 0.25)
    np.testing.assert_allclose(v / 1e3 + i_cell, [1e-3, 2e-3], rtol=1e-9)


@pytest.mark.parametrize("r", [1e-100, 1e-200, 1e-300, 1e-305, 1e-308])
def test_floating_source_with_near_zero_resistors_is_exact_or_named(r):
    """A floating 1 V source (MNA) feeding r0 = 1 ohm and, through two near-zero resistors,
    two 1 ohm resistors in parallel: exact current -1/1.5 A.  Before: 1e-100..1e-305 ohm
    raised SuperLU's bare RuntimeError ("Factor is exactly singular") and 1e-308 ohm
    returned -1.0 A with branch_current_error 0 (the estimate overflowed to NaN, and a
    NaN estimate passed the check)."""
    from devices.errors import IllConditionedError

    deck = f"t\nv1 a x 1\nr0 x 0 1\nr1 a c {r!r}\nr2 b c {r!r}\nr3 c 0 1\nr4 b 0 1\n"
    try:
        ds = crossbar.solve(read_spice(deck))
    except IllConditionedError:
        return
    assert ds.i.sel(branch="v1").item() == pytest.approx(-1 / 1.5, rel=1e-6)


def test_nan_error_estimate_fails_the_check():
    from crossbar.native import accuracy
    from crossbar.native.options import SolverOptions

    bad = accuracy.failing(np.array([np.nan, 0.0]), np.ones((2, 1)), SolverOptions())
    assert bad.tolist() == [True, False]


@pytest.mark.parametrize("method", ["cholmod", "superlu"])
def test_singular_or_indefinite_factor_is_named(method):
    """CHOLMOD's CholmodNotPositiveDefiniteError and SuperLU's RuntimeError escaped as
    they were (G = 1e308 S crossbars died with "matrix not positive definite")."""
    import scipy.sparse as sp

    from crossbar.native.factor import HAVE_CHOLMOD, Factor
    from devices.errors import IllConditionedError

    if method == "cholmod" and not HAVE_CHOLMOD:
        pytest.skip("scikit-sparse not installed")
    A = sp.csc_matrix(np.array([[1.0, 2.0], [2.0, 1.0]]) if method == "cholmod" else np.ones((2, 2)))
    with pytest.raises(IllConditionedError, match="singular or not positive definite"):
        Factor(A, method)


# ---------------------------------------------------------------- ngspice accuracy
@pytest.mark.ngspice
@pytest.mark.parametrize("r_small, r_load", [(1e-18, 1e3), (1e-16, 1.0), (1e-12, 1e3), (1e-11, 1e3)])
def test_ngspice_never_returns_a_current_below_its_rounding_floor(r_small, r_load):
    """1 V through r_small and r_load in series (exact -1/(r_small + r_load) A).  Before:
    ngspice returned -128 A (1e-18 ohm), 0 A (1e-16 ohm), -0.9766 mA (1e-12 ohm, 2.3 %
    off) and -1.0071 mA (1e-11 ohm) with nothing to warn; the native solver is exact."""
    from devices.errors import IllConditionedError

    net = read_spice(f"t\nv1 a 0 1\nr1 a b {r_small!r}\nr2 b 0 {r_load!r}\n")
    exact = -1 / (r_small + r_load)
    assert crossbar.solve(net).i.item() == pytest.approx(exact, rel=1e-12)
    with pytest.raises(IllConditionedError, match="cannot be trusted"):
        crossbar.solve(net, backend="ngspice")


@pytest.mark.ngspice
def test_ngspice_answer_of_a_clamped_circuit_is_refused():
    """ngspice answers 1e-308 ohm with -1.0 A (its circuit is not ours; exact -1/1.5 A):
    the KCL residual of its voltages and currents in our circuit is 1 A."""
    from devices.errors import IllConditionedError

    net = read_spice("t\nv1 a x 1\nr0 x 0 1\nr1 a c 1e-308\nr2 b c 1e-308\nr3 c 0 1\nr4 b 0 1\n")
    with pytest.raises(IllConditionedError):
        crossbar.solve(net, backend="ngspice")
    with pytest.warns(RuntimeWarning, match="cannot be trusted"):
        ds = crossbar.solve(net, backend="ngspice", options=crossbar.SolverOptions(ill_conditioned="warn"))
    assert ds.attrs["branch_current_error"] >= 0.5


@pytest.mark.ngspice
def test_ngspice_clean_answers_carry_a_small_estimate():
    from devices import NMOSLevel1
    from netlists import build_crossbar

    rng = np.random.default_rng(0)
    G = rng.uniform(1e-6, 1e-4, (8, 8))
    A = np.arange(8)[None, :] % 2 == np.arange(2)[:, None]
    for access in (None, NMOSLevel1()):
        net = build_crossbar(G, A, rng.uniform(0, 0.2, 8), access=access)
        ds = crossbar.solve(net, backend="ngspice")
        native = crossbar.solve(net)
        assert ds.attrs["branch_current_error"] < 1e-9 * float(abs(ds.i).max())
        np.testing.assert_allclose(ds.i.values, native.i.values, rtol=1e-6, atol=1e-15)
    shunt = read_spice("t\ni1 0 a 1m\nr1 a 0 1k\nv1 b 0 0\nr2 a b 1e9\n")  # current-source scale
    v_a = 1e-3 * (1e3 * 1e9 / (1e3 + 1e9))
    assert crossbar.solve(shunt, backend="ngspice").i.item() == pytest.approx(v_a / 1e9, rel=1e-6)


@pytest.mark.parametrize("backend", ["native", pytest.param("ngspice", marks=pytest.mark.ngspice)])
def test_one_source_named_twice_is_refused(backend):
    """Before: {"v1": 1.0, "V1": 2.0} silently used 2.0 (names are case-insensitive)."""
    from devices.errors import NetlistError

    net = read_spice("t\nv1 a 0 1\nr1 a 0 1k\n")
    with pytest.raises(NetlistError, match="given twice"):
        crossbar.solve(net, backend=backend, sources={"v1": 1.0, "V1": 2.0})


@pytest.mark.parametrize("backend", ["native", pytest.param("ngspice", marks=pytest.mark.ngspice)])
def test_overflowing_conductance_named_on_both_backends(backend):
    """Before: native named the resistor, ngspice raised BackendError "timestep too small"."""
    from devices.errors import NetlistError

    net = read_spice("t\nv1 a 0 1\nr1 a b 1e-310\nr2 b 0 1\n")
    with pytest.raises(NetlistError, match=r"resistor 'r1': 1e-310 ohm has no finite conductance"):
        crossbar.solve(net, backend=backend)


def test_transfer_matrix_refuses_one_string():
    """Before: inputs="vin0" was read letter by letter ("no element named 'v'")."""
    from devices.errors import NetlistError

    net = read_spice("t\nv1 a 0 1\nr1 a b 1k\nv2 b 0 0\n")
    with pytest.raises(NetlistError, match="one string 'v1'"):
        crossbar.transfer_matrix(net, inputs="v1", outputs=["v2"])
    assert crossbar.transfer_matrix(net, inputs=["v1"], outputs=["v2"]).item() == pytest.approx(1e-3)
