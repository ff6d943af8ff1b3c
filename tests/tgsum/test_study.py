"""The study end to end on a tiny sweep: the same code path as the no-argument run."""

import dataclasses
import os

import numpy as np
import pytest
import xarray as xr

from crossbar.archive import read_dataset
from crossbar.tgsum import sweep, tasks
from devices.errors import ArchiveError, BasisContestError, ParameterError
from netlists import check_contest


def tiny(d, **changes):
    return dataclasses.replace(sweep.config_from_dict(d), **changes)


@pytest.fixture
def archive(tmp_path, tiny_dict):
    config = tiny(tiny_dict, validate_max_n=0)
    out = tmp_path / "tg.h5"
    ds = sweep.run_study(config, out, progress=False)
    return config, out, ds


def test_archive_round_trip_units_and_metrics(archive):
    config, out, ds = archive
    back = read_dataset(out)
    xr.testing.assert_identical(back, ds)  # what the study returned is what the archive holds
    with xr.open_dataset(out) as plain:  # and a user opens it without this package's reader
        assert set(plain.data_vars) == set(ds.data_vars)
    assert back.sizes["point"] == len(config.points())
    for name in list(back.data_vars) + list(back.coords):
        assert "units" in back[name].attrs, name
    for key in ("package_version", "git_commit", "command", "created_utc", "backend", "seeds", "config_json"):
        assert key in back.attrs
    assert set(back["status"].values) == {"ok"}
    k = back["k"].values
    for i in range(back.sizes["point"]):  # sets beyond K are NaN, sets below K are numbers
        assert np.isfinite(back["err_worst"].values[i, : k[i]]).all()
        assert np.isnan(back["err_worst"].values[i, k[i]:]).all()
    # errors are negative (wires and TGs only lose current) and grow with r_on
    grid = sweep.group_grid(back, "wire_tg")
    e = np.abs(grid["err_worst"]).max("tg_set")
    assert e.dims == ("r_wire", "r_on")
    assert (np.diff(e.values, axis=1) > 0).all()
    assert (back["err_mean"].fillna(-1).values < 0).all()
    # the calibrated linear access transistor leaves no error of its own
    lin = back["access"].values == "linear"
    assert np.nanmax(np.abs(back["access_err_worst"].values[lin])) < 1e-8


def test_resume_adds_nothing(archive):
    config, out, ds = archive
    before = read_dataset(out)
    stamp = os.stat(out).st_mtime_ns
    again = sweep.run_study(config, out, resume=True, progress=False)
    assert os.stat(out).st_mtime_ns == stamp
    xr.testing.assert_identical(read_dataset(out), before)
    xr.testing.assert_identical(again, before)


def test_resume_computes_only_new_points(archive, tiny_dict):
    config, out, ds = archive
    groups = dict(config.groups, extra={"r_on": [3000.0]})
    bigger = dataclasses.replace(config, groups=groups)
    new = sweep.run_study(bigger, out, resume=True, progress=False)
    assert new.sizes["point"] == ds.sizes["point"] + 1
    old_part = new.isel(point=slice(0, ds.sizes["point"]))
    np.testing.assert_array_equal(old_part["err_worst"].values, ds["err_worst"].values)
    assert bool(new["member"].sel(group="extra").values[-1])
    with pytest.raises(ArchiveError, match="different settings"):
        sweep.run_study(dataclasses.replace(config, samples=5), out, resume=True, progress=False)


def test_bad_point_is_recorded_not_fatal(tmp_path, tiny_dict):
    tiny_dict["cells"]["too-big"] = {"g_min": 1e-6, "g_max": 2e-3, "bits": 2}  # g_max * 1 kohm = 2: no RRAM can do it
    tiny_dict["groups"]["cell"] = {"cell": ["1-100uS/4b", "too-big"]}
    out = tmp_path / "bad.h5"
    ds = sweep.run_study(tiny(tiny_dict, validate_max_n=0), out, progress=False)
    bad = ds["cell"].values == "too-big"
    assert bad.sum() == 1
    assert ds["status"].values[bad][0] == "failed"
    assert "cannot calibrate" in ds["message"].values[bad][0]
    assert (ds["status"].values[~bad] == "ok").all()
    assert np.isnan(ds["err_worst"].values[bad]).all()
    assert "Failed points: 1" in sweep.summary_text(read_dataset(out))


def test_contest_is_refused_and_recorded(archive):
    config, out, ds = archive
    with pytest.raises(BasisContestError):
        check_contest(np.array([[1, 1, 1, 1], [1, 0, 0, 0]], bool))
    assert "basis contest" in read_dataset(out).attrs["basis_contest_refusal"]
    assert "column 0 by sets [0, 1]" in sweep.summary_text(ds)


def test_design_rule_brackets_the_threshold(archive):
    config, out, ds = archive
    rule = sweep.design_rule(ds, threshold=0.05)
    grid = np.abs(sweep.group_grid(ds, "wire_tg")["err_worst"]).max("tg_set")
    for row in rule["rows"]:
        e = grid.sel(r_wire=row["r_wire"])
        if row["r_on_max"] is None:
            assert (e.values >= 0.05).all()
        else:
            lo, hi = row["bracket"] if row["bracket"] != "whole range" else (row["r_on_max"], row["r_on_max"])
            assert float(e.sel(r_on=lo)) < 0.05
            assert lo <= row["r_on_max"] <= hi


@pytest.mark.parametrize("change, match", [
    ({"baseline": {"r_wire": -1.0}}, "baseline.r_wire must be 0 or a resistance"),
    ({"groups": {"g": {"k": [16]}}}, "larger than the number of columns"),
    ({"groups": {"g": {"r_on": [2e9]}}}, "must be < r_off"),
    ({"groups": {"g": {"access": ["bjt"]}}}, "unknown access model"),
    ({"samples": 0}, "samples must be an integer"),
    ({"samples": 3.0}, "samples must be an integer"),
    ({"baseline": {"r_on": "10"}}, "r_on must be a number, got '10'"),
    ({"baseline": {"density": 1.5}}, r"baseline.density must be a fraction in \(0, 1\], got 1.5"),
    ({"colour": 1}, "unknown config key"),
])
def test_config_errors_name_the_value(tiny_dict, change, match):
    for key, value in change.items():
        if isinstance(value, dict) and key == "baseline":
            tiny_dict[key].update(value)
        else:
            tiny_dict[key] = value
    with pytest.raises(ParameterError, match=match):
        sweep.config_from_dict(tiny_dict).validate()


@pytest.mark.ngspice
def test_ngspice_validation_is_recorded(tmp_path, tiny_dict):
    # linear and level-1 decks: native and ngspice agree to ~1e-12 (shared/FACTS.md); the
    # archive must say so for every point with N <= validate_max_n, and nothing else.
    ds = sweep.run_study(tiny(tiny_dict), tmp_path / "v.h5", progress=False)
    small = ds["n"].values <= 4
    assert np.isfinite(ds["ngspice_max_rel_diff"].values[small]).all()
    assert np.isnan(ds["ngspice_max_rel_diff"].values[~small]).all()
    assert np.nanmax(ds["ngspice_max_rel_diff"].values) < 1e-6
    assert np.nanmax(ds["fastpath_max_rel_diff"].values) < 1e-9
    assert set(ds["access"].values[small]) == {"linear", "nmos"}


def test_interrupted_run_keeps_finished_points_and_resume_completes(tmp_path, tiny_dict, monkeypatch):
    tiny_dict["groups"] = {"wire_tg": tiny_dict["groups"]["wire_tg"], "k": {"k": [1, 4]}}
    config = tiny(tiny_dict, validate_max_n=0)
    real = tasks.run_task
    calls = {"n": 0, "stop": None}

    def counting(*args):
        calls["n"] += 1
        if calls["stop"] is not None and calls["n"] >= calls["stop"]:
            raise KeyboardInterrupt  # Ctrl-C while the last circuit is solved
        return real(*args)

    monkeypatch.setattr(tasks, "run_task", counting)
    fresh = sweep.run_study(config, tmp_path / "fresh.h5", progress=False)
    calls["n"], calls["stop"] = 0, calls["n"]
    out = tmp_path / "int.h5"
    with pytest.raises(KeyboardInterrupt):
        sweep.run_study(config, out, progress=False, checkpoint_s=1e-9)
    partial = read_dataset(out)
    assert partial.attrs["complete"] == 0
    assert 0 < partial.sizes["point"] < len(config.points())
    assert set(partial["status"].values) == {"ok"}
    calls["stop"] = None
    done = sweep.run_study(config, out, resume=True, progress=False)
    assert done.attrs["complete"] == 1 and done.sizes["point"] == len(config.points())
    key = lambda ds: {pt: i for i, pt in enumerate(sweep.points_of(ds))}  # noqa: E731
    kd, kf = key(done), key(fresh)
    assert set(kd) == set(kf)
    order = [kd[pt] for pt in kf]
    np.testing.assert_array_equal(done["err_worst"].values[order], fresh["err_worst"].values)
    np.testing.assert_array_equal(done["crosstalk_worst"].values[order], fresh["crosstalk_worst"].values)


@pytest.mark.ngspice
def test_ngspice_backend_gives_the_native_metrics(tmp_path, tiny_dict):
    # every circuit, the single-column and set-alone ones too, through ngspice instead of the
    # native fast path; relative errors agree to 1e-9 (ngspice linear decks: ~1e-13, shared/FACTS.md)
    tiny_dict["groups"] = {"g": {"k": [1, 2], "access": ["linear", "nmos"]}}
    tiny_dict["baseline"]["n"] = 4
    config = tiny(tiny_dict, validate_max_n=0, samples=2)
    nat = sweep.run_study(config, tmp_path / "nat.h5", progress=False)
    ng = sweep.run_study(config, tmp_path / "ng.h5", backend="ngspice", progress=False)
    assert ng.attrs["backend"] == "ngspice" and set(ng["status"].values) == {"ok"}
    for var in ("err_worst", "wire_err_worst", "tg_err_worst", "crosstalk_worst", "superposition_worst"):
        np.testing.assert_allclose(ng[var].values, nat[var].values, rtol=1e-9, atol=1e-12, err_msg=var)


def test_shipped_sweeps_are_valid():
    sizes = {}
    for make in (sweep.default_config, sweep.quick_config, sweep.full_config):
        config = make().validate()
        sizes[make.__name__] = len(config.points())
        assert "size_k" in config.groups and "wire_tg" in config.groups
    assert sizes["quick_config"] < sizes["default_config"] < sizes["full_config"]


def test_task_order_lets_checkpoints_keep_the_work():
    """A checkpoint keeps the points whose circuits are all done; started point by point, a kill
    at a quarter, half or three quarters of the default sweep's tasks loses <= 5 % of the work
    (estimated cost).  Expensive-first alone lost up to 19 %."""
    from crossbar.tgsum import TGRun, TGStudy, tasks as T

    config = TGRun(sweep.default_config().validate(), validate=False)
    study = TGStudy()
    todo = study.tasks(config)
    cost = {t.key: t.cost for t in todo}
    total = sum(cost.values())
    needs = {pt: {T.circuit_key(k) for k, _, _ in T.circuits_of(pt).values()} for pt in config.sweep.points()}

    def lost(order, n):
        done = {t.key for t in order[:n]}
        unfinished = set().union(*(keys for keys in needs.values() if not keys <= done))
        return sum(cost[k] for k in done & unfinished) / total

    order = study.order(config, todo)
    assert sorted(t.key for t in order) == sorted(cost)
    n = len(order)
    assert max(lost(order, n * q // 4) for q in (1, 2, 3)) <= 0.05
    expensive_first = sorted(todo, key=lambda t: -t.cost)
    assert max(lost(expensive_first, n * q // 4) for q in (1, 2, 3)) > 0.1


def test_split_is_reported_when_the_baseline_point_is_not_swept(tmp_path, tiny_dict):
    """The split table falls back to the first ok point (it was silently dropped when the
    baseline point itself was not in the sweep)."""
    tiny_dict["groups"] = {"g": {"k": [1]}}  # baseline k = 2: not a point of the sweep
    ds = sweep.run_study(tiny(tiny_dict, validate_max_n=0), tmp_path / "b.h5", progress=False)
    assert "Error split at N=8, K=1" in sweep.summary_text(ds)
