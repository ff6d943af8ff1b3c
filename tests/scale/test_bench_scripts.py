"""Smoke tests of the benchmark scripts that carry the issue-13 loop benchmark.

``studies/bench_solver.py`` runs the loop benchmark through the same library function
as ``studies/bench_loop.py`` (:func:`basisn.circuit.bench.bench_exact_evaluation`) and
prints the same report lines (:func:`basisn.circuit.bench.exact_evaluation_report`).
Tiny sizes only; no wall-clock asserts (speed targets are judged by the scripts).
"""

import re

import pytest

from crossbar.archive import read_dataset
from tests.scripts import load_study


def _script(name):
    return load_study(name)


TINY_LOOP = ["--loop-d", "8", "--loop-samples", "20", "--direct-steps", "1"]
TINY_SOLVER = ["--sizes", "4", "--repeat", "1", "--mos-max", "4", "--ngspice-max", "0", "--ngspice-mos-max", "0",
               "--mvm-n", "0"]


def test_bench_solver_help_lists_the_loop_options(capsys):
    with pytest.raises(SystemExit) as info:
        _script("bench_solver").main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--sizes", "--ngspice-max", "--mvm-n", "--loop-d", "--loop-K", "--loop-preset", "--loop-samples",
                "--direct-steps", "--loop-only"):
        assert opt in out


@pytest.mark.parametrize("argv, words", [
    (["--loop-preset", "nope"], ["'nope'", "neurram"]),
    (["--loop-d", "1"], ["--loop-d", "got 1"]),
    (["--loop-K", "0"], ["--loop-K", "got 0"]),
    (["--loop-samples", "0"], ["--loop-samples", "got 0"]),
    (["--direct-steps", "-1"], ["--direct-steps", "got -1"]),
    (["--loop-only", "--loop-d", "0"], ["nothing to measure"]),
])
def test_bench_solver_bad_loop_options_exit_2_before_measuring(tmp_path, capsys, argv, words):
    out = tmp_path / "b.h5"
    assert _script("bench_solver").main(argv + ["--out", str(out)]) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err
    assert not out.exists()


def test_bench_solver_tiny_run_prints_both_sections_and_archives_the_loop(tmp_path, capsys):
    out = tmp_path / "b.h5"
    assert _script("bench_solver").main(TINY_SOLVER + TINY_LOOP + ["--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "\n4 | " in text  # the native-vs-ngspice table row of N = 4
    for line in ("d = 8, K = 4, preset neurram, 20 MNIST-1D test samples", "one scheduled step (fast path",
                 "direct re-solve of every step", "ratio direct / fast", "largest relative difference fast vs direct",
                 "target: loop: one scheduled step", "target: loop: circuit-exact evaluation"):
        assert line in text
    attrs = read_dataset(out).attrs
    assert attrs["loop_d"] == 8 and attrs["loop_n_samples"] == 20 and attrs["loop_direct_steps_measured"] == 1
    assert attrs["loop_extrapolated"] == 1
    assert attrs["loop_max_rel_diff"] < 1e-9  # fast path against a fresh factorization of the same step
    assert f"{attrs['loop_ratio']:.1f}x wall" in text
    assert f"median {1e3 * attrs['loop_step_median_s']:.1f} ms" in text


def test_bench_solver_loop_only_matches_bench_loop_report(tmp_path, capsys):
    assert _script("bench_solver").main(["--loop-only"] + TINY_LOOP + ["--out", str(tmp_path / "b.h5")]) == 0
    solver = capsys.readouterr().out
    assert " | " not in solver  # no solver table
    assert _script("bench_loop").main(["--d", "8", "--samples", "20", "--direct-steps", "1"]) == 0
    loop = capsys.readouterr().out

    def skeleton(text):  # the report's labels, without the measured numbers and the verdicts (timing-dependent)
        return [" ".join(w for w in re.sub(r"\[target[^]]*\]", "", line).split() if not any(c.isdigit() for c in w))
                for line in text.splitlines() if line.startswith(("d = ", "one ", "fast ", "direct ", "ratio ", "largest "))]

    assert skeleton(solver) == skeleton(loop) and len(skeleton(loop)) == 7
