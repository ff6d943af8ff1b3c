"""Issue 10, section 4: the ngspice backend raises the native solver's named errors,
unloads its circuit on every path, solves classic decks with numeric node names, and
validates ``sources=`` the same way."""

import resource

import numpy as np
import pytest

import crossbar
from devices.errors import BackendError, FloatingNodeError, NetlistError, VoltageSourceLoopError
from netlists import NetlistBuilder, read_spice

pytestmark = pytest.mark.ngspice

BACKENDS = ["native", "ngspice"]


def _floating():
    b = NetlistBuilder("floating")
    b.vsource("v1", "a", "0", 1.0)
    b.resistor("r1", "a", "0", 1e3)
    b.resistor("r2", "x", "y", 1e3)
    return b.build()


def _vloop():
    b = NetlistBuilder("vloop")
    b.vsource("v1", "a", "0", 1.0)
    b.vsource("v2", "a", "0", 2.0)
    b.resistor("r1", "a", "0", 1e3)
    return b.build()


def _isource_only():
    b = NetlistBuilder("ionly")
    b.vsource("v1", "a", "0", 1.0)
    b.resistor("r1", "a", "0", 1e3)
    b.isource("i1", "0", "z", 1e-3)
    return b.build()


def _empty():
    return NetlistBuilder("empty").build()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("make, error, words", [
    (_floating, FloatingNodeError, ["x", "y"]),
    (_vloop, VoltageSourceLoopError, ["v1", "v2"]),
    (_isource_only, FloatingNodeError, ["z"]),
    (_empty, NetlistError, ["no elements"]),
])
def test_same_named_errors_on_both_backends(backend, make, error, words):
    with pytest.raises(error) as info:
        crossbar.solve(make(), backend=backend)
    for w in words:
        assert w in str(info.value)


def _divider():
    b = NetlistBuilder("div")
    b.vsource("v1", "a", "0", 1.0)
    b.resistor("r1", "a", "b", 1e3)
    b.resistor("r2", "b", "0", 3e3)
    return b.build()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sources, words", [
    ([1.0], "must be a dict"),
    ({"v1": []}, "empty array"),
    ({"v1": None}, "must be numbers"),
    ({"v1": "1"}, "must be numbers"),
    ({"v1": np.ones((2, 2))}, "1-D array"),
    ({"v1": [1.0, np.inf]}, "finite"),
    ({"v1": 1e308}, r"\[-10000, 10000\] V"),
    ({"vx": 1.0}, "no element named 'vx'"),
    ({"r1": 1.0}, "not an independent source"),
])
def test_sources_validated_once_for_both_backends(backend, sources, words):
    with pytest.raises(NetlistError, match=words):
        crossbar.solve(_divider(), backend=backend, sources=sources)


def test_sources_give_the_same_results_on_both_backends():
    for sources in (None, {}, {"v1": 0.5}, {"v1": np.array(0.25)}, {"v1": [0.1, 0.2, 0.3]}):
        a = crossbar.solve(_divider(), sources=sources)
        b = crossbar.solve(_divider(), backend="ngspice", sources=sources)
        assert a.i.dims == b.i.dims
        np.testing.assert_allclose(a.i.values, b.i.values, rtol=1e-9)  # ngspice reltol 1e-6 on a linear deck: exact


def test_numeric_node_names_solve():
    deck = "* classic deck\nv1 1 0 dc 1\nr1 1 2 1k\nr2 2 0 3k\n.end\n"
    net = read_spice(deck)
    for backend in BACKENDS:
        ds = crossbar.solve(net, backend=backend)
        assert ds.v.sel(node="2").item() == pytest.approx(0.75, rel=1e-12)
        assert ds.i.sel(branch="v1").item() == pytest.approx(-0.25e-3, rel=1e-12)


def test_failed_solves_leave_no_circuit_loaded(monkeypatch):
    """A failure inside ngspice (here a V loop that skips the topology check) used to
    leave its circuit loaded: 40 failures grew memory by 314 MB."""
    from crossbar import ngspice

    monkeypatch.setattr(ngspice, "check_topology", lambda net: None)
    net = _vloop()
    with pytest.raises(BackendError):
        crossbar.solve(net, backend="ngspice")
    assert ngspice.loaded_circuits() == 0
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(40):
        with pytest.raises(BackendError):
            crossbar.solve(net, backend="ngspice")
    assert ngspice.loaded_circuits() == 0
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    assert grown_mib < 20, f"peak memory grew by {grown_mib:.0f} MiB over 40 failed solves"


def test_successful_solves_leave_no_circuit_loaded():
    from crossbar import ngspice

    crossbar.solve(_divider(), backend="ngspice", sources={"v1": [0.1, 0.2]})
    assert ngspice.loaded_circuits() == 0


def test_loaded_circuits_counts():
    from crossbar import ngspice
    from netlists import to_ngspice

    ng = ngspice._shared()
    with ngspice._lock:
        ng.load_circuit(to_ngspice(_divider()))
    assert ngspice.loaded_circuits() == 1
    with ngspice._lock:
        ngspice._unload(ng)
    assert ngspice.loaded_circuits() == 0


def test_deck_written_once_per_unbatched_solve(monkeypatch):
    """The unbatched solve wrote the same deck twice (once to check it, once to run it)."""
    from crossbar import ngspice
    from netlists import to_ngspice

    calls = []

    def spy(net, *a, **kw):
        calls.append(net.title)
        return to_ngspice(net, *a, **kw)

    monkeypatch.setattr(ngspice, "to_ngspice", spy)
    for sources in (None, {}):
        calls.clear()
        ds = crossbar.solve(_divider(), backend="ngspice", sources=sources)
        assert len(calls) == 1, f"sources={sources!r}: deck written {len(calls)} times"
        assert ds.i.sel(branch="v1").item() == pytest.approx(-0.25e-3, rel=1e-12)
    calls.clear()
    ds = crossbar.solve(_divider(), backend="ngspice", sources={"v1": [0.1, 0.2, 0.3]})
    assert len(calls) == 1 + 3  # the check of the netlist as given, then one deck per sample's source values
    np.testing.assert_allclose(ds.i.sel(branch="v1").values, [-0.025e-3, -0.05e-3, -0.075e-3], rtol=1e-9)
