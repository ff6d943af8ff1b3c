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


def test_blas_setting_restored_after_concurrent_solves():
    """Two threads solving at once used to leave OpenBLAS at 1 thread for the process."""
    nets = [crossbar_for(24, mos=True), crossbar_for(32)]
    with threadpool_limits(limits=2):
        before = _threads()
        errors = []

        def work(net):
            try:
                for _ in range(4):
                    crossbar.solve(net)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in nets]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert _threads() == before
    assert all(n >= 1 for _, n in _threads())


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
