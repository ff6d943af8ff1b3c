"""Issue 10, section 5: SolverOptions validated; the caller's BLAS threads restored."""

import threading

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import crossbar
from crossbar import SolverOptions
from crossbar.benchmark import crossbar_for
from devices.errors import ParameterError


@pytest.mark.parametrize("kw, words", [
    (dict(max_iter=0), ["SolverOptions.max_iter", "[1, 100000]", "0"]),
    (dict(max_iter=2.5), ["max_iter", "integer"]),
    (dict(reltol=0), ["SolverOptions.reltol", "(0, 0.1]"]),
    (dict(reltol="1e-9"), ["reltol", "(str)"]),
    (dict(vntol=-1), ["vntol", "[0, 1] V"]),
    (dict(abstol=float("nan")), ["abstol", "nan"]),
    (dict(max_step=0), ["max_step", "(0, 10000] V"]),
    (dict(factorization="qr"), ["factorization", "'auto', 'cholmod', 'superlu'", "'qr'"]),
    (dict(blas_threads=0), ["blas_threads", "[1, 1024]"]),
    (dict(blas_threads=True), ["blas_threads", "(bool)"]),
    (dict(check_rtol=2), ["check_rtol", "(0, 1]"]),
    (dict(refine_steps=-1), ["refine_steps", "[0, 100]"]),
    (dict(ill_conditioned="ignore"), ["ill_conditioned", "'raise', 'warn'"]),
])
def test_bad_options_named(kw, words):
    with pytest.raises(ParameterError) as info:
        SolverOptions(**kw)
    for w in words:
        assert w in str(info.value), str(info.value)


def test_options_stored_converted_and_refused_by_type():
    opt = SolverOptions(max_iter=50.0)
    assert opt.max_iter == 50 and type(opt.max_iter) is int
    with pytest.raises(ParameterError, match="options must be a crossbar.SolverOptions"):
        crossbar.prepare(crossbar_for(4), options={"max_iter": 3})


def _threads():
    return [(lib["filepath"], lib["num_threads"]) for lib in threadpool_info()]


def test_blas_setting_restored_after_one_solve():
    before = _threads()
    crossbar.solve(crossbar_for(8))
    assert _threads() == before


def test_blas_setting_restored_after_concurrent_solves(monkeypatch):
    """Two threads solving at once used to leave OpenBLAS at 1 thread for the process:
    the second solve saved the first one's limit as "the caller's".  The overlap is forced:
    A enters, B enters while A is inside, A leaves first, then B."""
    import crossbar.native.reduced as reduced

    a_inside, b_inside, a_done = threading.Event(), threading.Event(), threading.Event()

    class Overlapping(reduced.Factor):
        def solve(self, b):
            if threading.current_thread().name == "A":
                a_inside.set()
                assert b_inside.wait(10)
            elif threading.current_thread().name == "B":
                b_inside.set()
                assert a_done.wait(10)
            return super().solve(b)

    monkeypatch.setattr(reduced, "Factor", Overlapping)
    nets = {"A": crossbar_for(8), "B": crossbar_for(8, seed=1)}
    before = _threads()
    errors = []

    def work(name):
        try:
            crossbar.solve(nets[name])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            if name == "A":
                a_done.set()

    ta = threading.Thread(target=work, args=("A",), name="A")
    ta.start()
    assert a_inside.wait(10)
    tb = threading.Thread(target=work, args=("B",), name="B")
    tb.start()
    ta.join()
    tb.join()
    assert not errors
    assert _threads() == before


def test_blas_limit_in_place_during_a_solve_and_none_leaves_it(monkeypatch):
    import crossbar.native.reduced as reduced

    seen = []

    class Spy(reduced.Factor):
        def solve(self, b):
            seen.append({n for _, n in _threads()})
            return super().solve(b)

    monkeypatch.setattr(reduced, "Factor", Spy)
    with threadpool_limits(limits=2):
        crossbar.solve(crossbar_for(4))
        assert seen[-1] == {1}
        crossbar.solve(crossbar_for(4), options=SolverOptions(blas_threads=None))
        assert seen[-1] == {2}


def test_solver_objects_have_a_repr():
    s = crossbar.prepare(crossbar_for(4))
    text = repr(s)
    assert "NativeSystem" in text and "reduced" in text and "unknowns" in text
    assert "ReducedSystem" in repr(s.system) and "Factor" in repr(s.system.factor)
    assert "SolverOptions(" in repr(s.options)


def test_package_keeps_the_single_module_names():
    from crossbar.native import HAVE_CHOLMOD, NativeSystem, SolverOptions as SO, prepare

    assert isinstance(HAVE_CHOLMOD, bool) and SO is SolverOptions
    assert isinstance(prepare(crossbar_for(2)), NativeSystem)


def test_blas_setting_restored_when_a_solve_fails():
    from devices.errors import ConvergenceError

    net = crossbar_for(6, mos=True)
    with threadpool_limits(limits=2):
        before = _threads()
        with pytest.raises(ConvergenceError):
            crossbar.solve(net, options=SolverOptions(max_iter=1))
        assert _threads() == before
