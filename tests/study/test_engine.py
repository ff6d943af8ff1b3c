"""The study engine: execution, failures, resume, checkpoints, lock, atomic archives, CLI."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from crossbar.archive import ArchiveLock, read_dataset, write_dataset
from crossbar.study import Study, Task, main, open_archive, run
from crossbar.study.demo import Powers, PowersConfig
from devices.errors import ArchiveError, ParameterError

REPO = Path(__file__).resolve().parents[2]


VOLATILE = ("executor", "wall_time_s", "created_utc", "command")


def comparable(ds, drop=("engine_task_elapsed",)):
    """``ds`` without what differs between two runs of the same work (timings, provenance)."""
    ds = ds.drop_vars([v for v in drop if v in ds.variables])
    ds.attrs = {k: v for k, v in ds.attrs.items() if k not in VOLATILE}
    return ds


def _values(ds):
    return ds["value"].transpose("x", "power").values


def test_serial_run_combines_every_task(tmp_path):
    res = run(Powers(), PowersConfig(n=4), tmp_path / "a.h5", progress=False)
    x = np.arange(4.0)
    np.testing.assert_array_equal(_values(res.dataset), np.stack([x, x**2, x**3], axis=1))
    back = read_dataset(tmp_path / "a.h5")
    assert back.attrs["study"] == "powers_demo" and back.attrs["complete"] == 1
    assert set(back["engine_task_status"].values) == {"ok"}
    assert json.loads(back.attrs["settings_json"])["n"] == 4


def test_process_pool_gives_the_serial_archive(tmp_path):
    a = run(Powers(), PowersConfig(n=5), tmp_path / "a.h5", progress=False).dataset
    b = run(Powers(), PowersConfig(n=5), tmp_path / "b.h5", jobs=2, progress=False).dataset
    xr.testing.assert_identical(comparable(a), comparable(b))


def test_failed_task_is_recorded_and_the_run_goes_on(tmp_path):
    res = run(Powers(), PowersConfig(n=4, fail_x=1), tmp_path / "f.h5", progress=False)
    assert set(res.failed) == {"x=1/p=1", "x=1/p=2", "x=1/p=3"}
    ds = read_dataset(tmp_path / "f.h5")
    failed = ds["engine_task_key"].values[ds["engine_task_status"].values == "failed"]
    assert sorted(failed) == sorted(res.failed)
    assert "fails on purpose" in ds["engine_task_message"].values[list(ds["engine_task_key"].values).index("x=1/p=2")]
    assert ds["x"].values.tolist() == [0, 2, 3]
    assert Powers().failed_count(ds) == 3


def test_resume_runs_only_missing_tasks(tmp_path, monkeypatch):
    out = tmp_path / "r.h5"
    run(Powers(), PowersConfig(n=3, fail_x=2), out, progress=False)
    calls = []
    real = Powers.run_task

    def spy(self, config, task):
        calls.append(task.key)
        return real(self, config, task)

    monkeypatch.setattr(Powers, "run_task", spy)
    res = run(Powers(), PowersConfig(n=3), out, resume=True, progress=False)
    assert sorted(calls) == ["x=2/p=1", "x=2/p=2", "x=2/p=3"]
    np.testing.assert_array_equal(_values(res.dataset)[:, 1], [0, 1, 4])
    calls.clear()
    again = run(Powers(), PowersConfig(n=3), out, resume=True, progress=False)
    assert calls == [] and again.ran == 0


def test_resume_refuses_other_settings_and_other_studies(tmp_path):
    out = tmp_path / "r.h5"
    run(Powers(), PowersConfig(n=3), out, progress=False)
    with pytest.raises(ArchiveError, match="other settings.*powers"):
        run(Powers(), PowersConfig(n=3, powers=(1,)), out, resume=True, progress=False)
    foreign = tmp_path / "foreign.h5"
    write_dataset(xr.Dataset({"a": ("x", [1.0])}, attrs={"title": "something else"}), foreign)
    with pytest.raises(ArchiveError, match="is not a powers_demo archive"):
        open_archive(Powers(), foreign)
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    with pytest.raises(ArchiveError, match="not an HDF5/netCDF archive"):
        open_archive(Powers(), text)


@pytest.mark.parametrize("argv, match", [
    (["--resume"], "is not a powers_demo archive"),
    (["--plot-only", "{foreign}"], "is not a powers_demo archive"),
    (["--jobs", "0"], "--jobs: 0 is outside the allowed range"),
    (["--scheduler", "nowhere"], "--scheduler must be a Dask scheduler address"),
    (["--scheduler", "local:0"], "1 <= N <= 1024"),
    (["--n", "0"], "--n: 0 is outside"),
    (["--bogus"], "unrecognized arguments"),
    (["--out", "{file}/sub/a.h5"], "cannot create folder"),
])
def test_cli_errors_are_one_line_exit_2(tmp_path, capsys, argv, match):
    foreign = tmp_path / "foreign.h5"
    write_dataset(xr.Dataset({"a": ("x", [1.0])}), foreign)
    (tmp_path / "file").write_text("")
    argv = [a.format(foreign=foreign, file=tmp_path / "file") for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(foreign)]
    assert main(Powers(), argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0], err


def test_cli_run_and_plot_only(tmp_path, capsys):
    out = tmp_path / "c.h5"
    assert main(Powers(), ["--out", str(out), "--n", "3", "--jobs", "1", "--no-progress"]) == 0
    first = capsys.readouterr().out
    assert "p=2: 0 1 4" in first
    assert main(Powers(), ["--plot-only", str(out)]) == 0
    assert "p=2: 0 1 4" in capsys.readouterr().out
    assert main(Powers(), ["--out", str(out), "--fail-x", "1", "--jobs", "1", "--no-progress"]) == 1


def test_every_task_failing_ends_with_one_line_not_a_summary_traceback(tmp_path, capsys):
    """When no task succeeds there is nothing to summarize: one line on stderr, exit 1 (the
    summary used to raise KeyError on the empty dataset)."""
    out = tmp_path / "all_fail.h5"
    assert main(Powers(), ["--out", str(out), "--n", "1", "--fail-x", "0", "--jobs", "1", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "every task failed" in err[0] and "fails on purpose" in err[0]


def test_lock_refuses_a_second_writer(tmp_path):
    out = tmp_path / "l.h5"
    with ArchiveLock(out):
        with pytest.raises(ArchiveError, match=f"pid {os.getpid()}.*is writing"):
            run(Powers(), PowersConfig(n=2), out, progress=False)
    run(Powers(), PowersConfig(n=2), out, progress=False)  # free again
    assert not (tmp_path / "l.h5.lock").exists()


def test_second_cli_run_on_one_out_is_refused(tmp_path):
    out = tmp_path / "two.h5"
    cmd = [sys.executable, "-m", "crossbar.study.demo", "--out", str(out), "--n", "40", "--sleep", "0.5",
           "--jobs", "1", "--no-progress"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (tmp_path / "two.h5.lock").exists() and time.time() < deadline:
            time.sleep(0.05)
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)  # the first runs ~60 s
        assert first.poll() is None, "the first run ended before the second one asked for the lock"
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 2
    assert "is writing" in second.stderr and len(second.stderr.strip().splitlines()) == 1, second.stderr


def test_ctrl_c_while_writing_leaves_no_temporary_file(tmp_path, monkeypatch):
    def interrupted(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_dataset(xr.Dataset({"a": ("x", [1.0])}), tmp_path / "a.h5")
    assert list(tmp_path.iterdir()) == []


def test_archive_mode_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_dataset(xr.Dataset({"a": ("x", [1.0])}), tmp_path / "a.h5")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_sigkill_loses_at_most_a_tenth_of_the_work(tmp_path):
    """60 tasks of 0.2 s in one process, SIGKILLed half-way: the archive holds every task
    finished before the last checkpoint, which lags by about 5 % of the work (a 60 s timer
    alone kept nothing)."""
    out, trace = tmp_path / "k.h5", tmp_path / "trace.txt"
    cmd = [sys.executable, "-m", "crossbar.study.demo", "--out", str(out), "--n", "20", "--sleep", "0.2",
           "--jobs", "1", "--no-progress", "--trace", str(trace)]
    proc = subprocess.Popen(cmd, env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while (not trace.exists() or len(trace.read_text().split()) < 30) and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(trace.read_text().split())
    ds = read_dataset(out)
    assert ds.attrs["complete"] == 0
    ok = int((ds["engine_task_status"].values == "ok").sum())
    assert 30 <= done < 60
    # 5 % of 60 tasks = 3 between checkpoints; one more may finish while the archive is written
    assert done - ok <= 0.1 * 60, (done, ok)
    # the killed run's lock file is still there; it must not block the resumed run
    assert (tmp_path / "k.h5.lock").exists()
    res = run(Powers(), PowersConfig(n=20, sleep_s=0.0), out, resume=True, progress=False)
    assert res.ran == 60 - ok and res.dataset.attrs["complete"] == 1
    assert set(res.dataset["engine_task_status"].values) == {"ok"}


def test_task_validation():
    with pytest.raises(ParameterError, match="cost"):
        Task("a", cost=0)
    with pytest.raises(ParameterError, match="key"):
        Task("")

    class Dup(Study):
        name = "dup"

        def tasks(self, config):
            return [Task("a"), Task("a")]

    with pytest.raises(ParameterError, match="share the key 'a'"):
        run(Dup(), {}, Path("/tmp") / f"dup-{os.getpid()}.h5", progress=False)
