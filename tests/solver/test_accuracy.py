"""Issue 10, section 2: no silently wrong, NaN or inf answers from the native solver."""

import math
import warnings

import numpy as np
import pytest

import crossbar
from crossbar import SolverOptions
from devices.errors import IllConditionedError, NetlistError, XbarError
from netlists import NetlistBuilder


def ill_conditioned(floating: bool = False):
    """1e-9 to 1e15 ohm in one netlist: 1 V through 1e-9 ohm into node b, which has 1e9
    and 1e15 ohm to ground.  Exact source current (SPICE sign): -(1/1e9 + 1/1e15) A
    (the 1e-9 ohm drop is 1e-18 V, below the resolution of a 1 V node voltage)."""
    b = NetlistBuilder("ill")
    if floating:  # the same, with the source floating (MNA formulation)
        b.vsource("v1", "a", "c", 1.0)
        b.resistor("rc", "c", "0", 1e-9)
    else:
        b.vsource("v1", "a", "0", 1.0)
    b.resistor("r1", "a", "b", 1e-9)
    b.resistor("r2", "b", "0", 1e9)
    b.resistor("r3", "b", "0", 1e15)
    return b.build()


EXACT = -(1 / (1e9 + 1e-9) + 1 / (1e15 + 1e-9))


@pytest.mark.parametrize("floating", [False, True])
def test_ill_conditioned_netlist_gives_the_exact_answer(floating):
    """Both formulations refine edge by edge (unknowns split as c + d) and find the exact
    current; the solver used to return +2.38e-7 A silently."""
    ds = crossbar.solve(ill_conditioned(floating))
    assert ds.i.sel(branch="v1").item() == pytest.approx(EXACT, rel=1e-9)
    assert ds.attrs["branch_current_error"] <= 1e-6 * 1e-9


def test_ill_conditioned_without_refinement_raises():
    with pytest.raises(IllConditionedError) as info:
        crossbar.solve(ill_conditioned(), options=SolverOptions(refine_steps=0))
    assert info.value.error_estimate > 1e-6 * 1e-9 and "check_rtol" in str(info.value)


@pytest.mark.parametrize("floating", [False, True])
def test_ill_conditioned_answer_is_exact_or_an_error(floating):
    try:
        ds = crossbar.solve(ill_conditioned(floating))
    except IllConditionedError as exc:
        assert "check_rtol" in str(exc) and exc.error_estimate > 1e-6 * 1e-9
        assert isinstance(exc, RuntimeError)
        return
    # if an answer comes out it must be the exact one (never +2.38e-7 A silently)
    assert ds.i.sel(branch="v1").item() == pytest.approx(EXACT, rel=1e-6)


def test_ill_conditioned_warn_mode_keeps_the_estimate():
    with pytest.warns(RuntimeWarning, match="cannot be trusted"):
        ds = crossbar.solve(ill_conditioned(), options=SolverOptions(ill_conditioned="warn", refine_steps=0))
    assert ds.attrs["branch_current_error"] > 1e-6 * 1e-9


def test_well_conditioned_crossbar_passes_with_a_small_estimate():
    from crossbar.benchmark import crossbar_for

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = crossbar.solve(crossbar_for(32))
    i_max = float(np.abs(ds.i.values).max())
    assert 0 < ds.attrs["branch_current_error"] < 1e-9 * i_max
    assert ds.attrs["branch_current_error_units"] == "A"


def test_refinement_repairs_a_perturbed_solution(monkeypatch):
    """A factorization that answers 1e-3 off is repaired by iterative refinement."""
    import crossbar.native.reduced as reduced
    from crossbar.benchmark import crossbar_for

    net = crossbar_for(8)
    ref = crossbar.solve(net)

    class Sloppy(reduced.Factor):
        def solve(self, b):
            return super().solve(b) * (1 + 1e-3)

    monkeypatch.setattr(reduced, "Factor", Sloppy)
    got = crossbar.solve(net)
    # refinement stops once the estimate is within check_rtol (1e-6) of the largest current
    np.testing.assert_allclose(got.i.values, ref.i.values, rtol=0, atol=1e-6 * np.abs(ref.i.values).max())
    assert got.attrs["branch_current_error"] <= 1e-6 * np.abs(got.i.values).max()
    with pytest.raises(IllConditionedError):
        crossbar.solve(net, options=SolverOptions(refine_steps=0))


def test_tiny_resistor_is_refused_never_nan():
    b = NetlistBuilder("tiny")
    b.vsource("v1", "a", "0", 1.0)
    b.resistor("r1", "a", "b", 1e-310)
    b.resistor("r2", "b", "0", 1e3)
    try:
        net = b.build()  # the builder may refuse it already
    except XbarError:
        return
    with pytest.raises(NetlistError, match="r1.*no finite conductance"):
        crossbar.solve(net)


@pytest.mark.parametrize("value", [1e308, -1e5, math.inf])
def test_source_values_out_of_range_are_refused(value):
    b = NetlistBuilder("big")
    b.vsource("v1", "a", "0", 1.0)
    b.resistor("r1", "a", "0", 1e3)
    with pytest.raises(NetlistError, match="v1"):
        crossbar.solve(b.build(), sources={"v1": value})


def test_non_finite_result_raises(monkeypatch):
    import crossbar.native.reduced as reduced
    from crossbar.benchmark import crossbar_for

    class Broken(reduced.Factor):
        def solve(self, b):
            return np.full_like(super().solve(b), np.nan)

    monkeypatch.setattr(reduced, "Factor", Broken)
    with pytest.raises(IllConditionedError):
        crossbar.solve(crossbar_for(4), options=SolverOptions(ill_conditioned="warn"))
