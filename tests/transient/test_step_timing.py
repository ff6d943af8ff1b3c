"""The step-timing study's library part: patterns, one event, one engine task."""

import numpy as np
import pytest

from crossbar.study import Task
from crossbar.transient.step_timing import EVENTS, PARTS, StepTiming, StepTimingConfig, patterns, simulate_event
from devices.errors import ParameterError
from netlists.builder import check_contest


@pytest.mark.parametrize("n, k", [(8, 1), (9, 2), (12, 4)])
def test_patterns_switch_every_column_without_contest(n, k):
    a, b = patterns(n, k)
    check_contest(a), check_contest(b)
    slot_a = np.where(a.any(0), a.argmax(0), k)
    slot_b = np.where(b.any(0), b.argmax(0), k)
    assert np.all(slot_a != slot_b)


def test_config_validation():
    with pytest.raises(ParameterError, match="sizes"):
        StepTimingConfig(sizes=(2,))
    with pytest.raises(ParameterError, match="r_ons"):
        StepTimingConfig(r_ons=(0.0,))
    with pytest.raises(ParameterError, match="every K must be below every N"):
        StepTimingConfig(sizes=(8,), ks=(8,))


def test_event_settles_and_balances():
    cfg = StepTimingConfig(sizes=(8,), ks=(2,), r_ons=(100.0,), steps=200, validate_max_n=0)
    for event in EVENTS:
        r = simulate_event(cfg, 8, 2, 100.0, event)
        s = r["settle"]  # (bits, K)
        # 0 means "inside the band from the first point after the event" (faster than a step)
        assert s.shape == (len(cfg.bits), 2) and np.all(np.isfinite(s)) and np.all(s >= 0) and s.max() > 0
        # more bits, longer settling
        assert np.all(np.diff(s.max(axis=1)) >= 0)
        # resolved: the 8-bit settling time spans many steps, inside the window's first half
        assert 10 * r["t_step"] < s.max() < 0.5 * r["window"]
        e = dict(zip(PARTS, r["energy"][-1]))
        parts = sum(e[p] for p in PARTS[1:])
        assert e["drivers"] == pytest.approx(parts, rel=1e-9)


@pytest.mark.ngspice
def test_task_with_ngspice_validation():
    cfg = StepTimingConfig(sizes=(8,), ks=(1, 2), r_ons=(100.0,), steps=200, validate_max_n=8)
    study = StepTiming()
    ds = study.run_task(cfg, Task("N=8/K=2/r_on=100", params=(8, 2, 100.0)))
    assert set(ds.data_vars) >= {"settle", "energy", "ngspice_settle", "ngspice_rel_diff"}
    assert float(ds.ngspice_rel_diff.max()) < 1e-6
    # settling times agree within two steps of the coarser grid
    diff = np.abs(ds.settle - ds.ngspice_settle).max().item()
    assert diff <= 2 * float(ds.t_step.max())
    assert "settling" in study.summary(ds) or "settle" in study.summary(ds)
