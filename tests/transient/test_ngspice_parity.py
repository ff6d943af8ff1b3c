"""Native transient against ngspice's .tran on the same netlist, method and time points.

ngspice cannot be held to a fixed step (see crossbar.transient.ngspice_tran), so each
test runs ngspice first and then the native integrator on ngspice's own time points
with ngspice's step orders (``euler_at_breaks=True``); nothing is interpolated.
Tolerance: 1e-6 of each output's peak current, at every saved time point (ngspice's
Newton tolerance is reltol = 1e-6; on these linear circuits both agree to ~1e-12).
"""

import numpy as np
import pytest

from crossbar.transient import Step, tg_pattern_switch, transient

TAU = 1e-9  # one ladder section (conftest: 1 kohm, 1 pF)

pytestmark = pytest.mark.ngspice


def rel_err(native, spice):
    """Largest |difference| per output over time, over that output's peak |current|."""
    a, b = native.i.values, spice.i.values
    assert a.shape == b.shape
    scale = np.max(np.abs(b), axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return float(np.max(np.abs(a - b) / scale))


def both(net, t_stop, t_step, method, **kw):
    ds_ng = transient(net, t_stop, t_step, method=method, backend="ngspice", keep_voltages=False, **kw)
    ds_nat = transient(net, method=method, times=ds_ng.time.values, keep_voltages=False, **kw)
    return ds_nat, ds_ng


@pytest.mark.parametrize("method", ["be", "trap"])
def test_rc_ladder(method, make_ladder):
    net = make_ladder(5)
    nat, ng = both(net, 8 * TAU, TAU / 50, method, sources={"v1": Step(TAU, 0.2, rise=TAU / 50)})
    assert ng.time.size > 400
    assert rel_err(nat, ng) < 1e-6


@pytest.mark.parametrize("n, method", [(8, "be"), (8, "trap"), (16, "trap"), (32, "trap")])
def test_crossbar_input_step(n, method, make_crossbar):
    net, v, _ = make_crossbar(n)
    t_step = 0.1e-12
    sources = {f"vin{i}": Step(5e-12, float(v[i]), before=0.0, rise=t_step) for i in range(n)}
    nat, ng = both(net, 100e-12 if n < 32 else 40e-12, t_step, method, sources=sources)
    err = rel_err(nat, ng)
    assert err < 1e-6, err


@pytest.mark.parametrize("n, method", [(8, "trap"), (32, "trap"), (16, "be")])
def test_crossbar_tg_pattern_switch(n, method, make_crossbar):
    net, v, _ = make_crossbar(n)
    A = np.asarray(net.layout.assignment)
    new = np.roll(A, 1, axis=0)  # every assigned column moves to the next summing line
    switches = tg_pattern_switch(net, new, at=20e-12)
    assert switches
    nat, ng = both(net, 100e-12 if n < 32 else 40e-12, 0.1e-12, method, switches=switches)
    err = rel_err(nat, ng)
    assert err < 1e-6, err
    # the switch did happen: output 0 before and after differ
    i0 = ng.i.sel(branch="vout0").values
    t = ng.time.values
    assert abs(i0[t < 19e-12][-1] - i0[-1]) > 1e-3 * abs(i0[-1])


def test_circuit_unloaded_after_success_and_failure(make_ladder, monkeypatch):
    from crossbar.ngspice import loaded_circuits
    from crossbar.transient import ngspice_tran
    from devices.errors import BackendError

    net = make_ladder(2)
    ds = transient(net, 2 * TAU, TAU / 10, backend="ngspice", sources={"v1": Step(0.0, 0.1, rise=TAU / 10)},
                   keep_voltages=["n1"])
    assert loaded_circuits() == 0
    assert ds.v.dims == ("time", "node") and list(ds.node.values) == ["n1"]
    assert ds.time.values[0] == 0.0 and ds.time.values[-1] == pytest.approx(2 * TAU, rel=1e-12)
    monkeypatch.setattr(ngspice_tran, "tran_deck", lambda *a, **k: "* broken\nr1 a\n.tran 1n 2n\n.end\n")
    with pytest.raises(BackendError):
        transient(net, 2 * TAU, TAU / 10, backend="ngspice")
    assert loaded_circuits() == 0


def test_energy_bookkeeping_matches_ngspice(make_crossbar):
    """Energies from ngspice's node voltages (same rules, ngspice's grid and step orders)
    equal those of the native run on that grid."""
    from crossbar.transient import CROSSBAR_GROUPS
    from crossbar.transient.timing import energy_summary

    net, v, _ = make_crossbar(8, k=2)
    A = np.asarray(net.layout.assignment)
    kw = dict(switches=tg_pattern_switch(net, np.roll(A, 1, axis=0), at=20e-12),
              sources={f"vin{i}": Step(5e-12, float(v[i]), rise=1e-12) for i in range(8)},
              power_groups=CROSSBAR_GROUPS, keep_voltages=False)
    ng = transient(net, 60e-12, 0.1e-12, backend="ngspice", **kw)
    nat = transient(net, times=ng.time.values, **kw)
    np.testing.assert_array_equal(nat.order.values, ng.order.values)
    a, b = energy_summary(nat), energy_summary(ng)
    assert a["sources"] == pytest.approx(b["sources"], rel=1e-6)
    for g in CROSSBAR_GROUPS:
        assert a["groups"][g] == pytest.approx(b["groups"][g], rel=1e-6)
    assert abs(b["balance_error"]) < 1e-6 * b["sources"]
