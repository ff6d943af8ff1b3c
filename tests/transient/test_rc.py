"""Native transient against closed forms: a single RC and an RC ladder.

The ladder's reference is exact: the ODE ``C dv/dt = -G v + b u(t)`` with a piecewise-
linear ``u`` is integrated segment by segment with the matrix exponential of the
augmented system ``[v, u, du/dt]`` (scipy.linalg.expm, roundoff-level accurate).
"""

import numpy as np
import pytest
from scipy.linalg import expm

from crossbar.transient import PWL, Step, transient

R, CAP = 1e3, 1e-12
TAU = R * CAP


def exact_ladder(n, wave: PWL, times, r=R, c=CAP):
    """Node voltages (T, n) of the ladder driven by ``wave``, from matrix exponentials."""
    G = np.zeros((n, n))
    for k in range(n):
        G[k, k] += 1 / r  # resistor from the previous node (or the input)
        if k > 0:
            G[k - 1, k - 1] += 1 / r
            G[k, k - 1] -= 1 / r
            G[k - 1, k] -= 1 / r
    A = -G / c
    bvec = np.zeros(n)
    bvec[0] = 1 / (r * c)
    M = np.zeros((n + 2, n + 2))
    M[:n, :n] = A
    M[:n, n] = bvec
    M[n, n + 1] = 1.0
    tc = np.asarray(wave.times)
    vc = np.asarray(wave.values)
    out = np.empty((len(times), n))
    t_now, x = 0.0, np.zeros(n)  # starts at the DC point: all at u(0) = wave(0)
    x[:] = wave(0.0)
    for j, t in enumerate(times):
        while t_now < t:
            nxt = [tc_k for tc_k in tc if tc_k > t_now + 1e-30]
            seg_end = min([t] + nxt)
            k = np.searchsorted(tc, t_now, side="right")
            slope = 0.0 if k == 0 or k >= len(tc) else (vc[k] - vc[k - 1]) / (tc[k] - tc[k - 1])
            z = np.concatenate([x, [wave(t_now), slope]])
            z = expm(M * (seg_end - t_now)) @ z
            x, t_now = z[:n], seg_end
        out[j] = x
    return out


def test_single_rc_step_matches_exponential(make_ladder):
    net = make_ladder(1)
    wave = Step(0.0, 1.0, rise=1e-12)
    ds = transient(net, 5 * TAU, TAU / 1000, sources={"v1": wave}, method="trap", euler_at_breaks=False)
    t = ds.time.values
    tr = 1e-12
    exact = np.where(t < tr, (t - TAU * (1 - np.exp(-t / TAU))) / tr,
                     (tr - TAU * (np.exp(-(t - tr) / TAU) - np.exp(-t / TAU))) / tr)
    # trapezoidal at h = tau/1000: global error ~ (h/tau)^2 / 12 ~ 1e-7 of the swing
    assert np.max(np.abs(ds.v.sel(node="n0").values - exact)) < 2e-6
    # source current: SPICE sign, into n+ of v1 = minus the current it drives into the RC
    i_exact = -(wave(t) - exact) / R
    assert np.max(np.abs(ds.i.sel(branch="v1").values - i_exact)) < 2e-6 / R


@pytest.mark.parametrize("method, order", [("be", 1), ("trap", 2)])
def test_ladder_converges_at_the_method_order(method, order, make_ladder):
    n = 6
    net = make_ladder(n)
    wave = PWL([0.0, 2 * TAU, 6 * TAU, 8 * TAU], [0.0, 0.3, 0.3, -0.1])
    errors = []
    for h in (TAU / 20, TAU / 40):
        ds = transient(net, 10 * TAU, h, sources={"v1": wave}, method=method, euler_at_breaks=False)
        ref = exact_ladder(n, wave, ds.time.values)
        v = np.stack([ds.v.sel(node=f"n{k}").values for k in range(n)], axis=1)
        errors.append(np.max(np.abs(v - ref)))
    ratio = errors[0] / errors[1]
    assert 2 ** order * 0.8 < ratio < 2 ** order * 1.25, (errors, ratio)
    # absolute accuracy at h = tau/40 (volts, input swing 0.4 V)
    assert errors[1] < (5e-3 if method == "be" else 2e-4)


def test_ladder_trap_fine_step_within_1e6(make_ladder):
    n = 4
    net = make_ladder(n)
    wave = PWL([0.0, TAU, 3 * TAU], [0.0, 0.2, 0.1])
    ds = transient(net, 6 * TAU, TAU / 2000, sources={"v1": wave}, method="trap", euler_at_breaks=False)
    ref = exact_ladder(n, wave, ds.time.values[::50])
    v = np.stack([ds.v.sel(node=f"n{k}").values[::50] for k in range(n)], axis=1)
    assert np.max(np.abs(v - ref)) / 0.2 < 1e-6


def test_linear_uniform_run_factorizes_once_per_step_kind(make_ladder):
    net = make_ladder(3)
    ds = transient(net, 100 * TAU / 10, TAU / 10, sources={"v1": Step(0.0, 1.0, rise=TAU / 10)}, method="trap")
    # DC point, backward-Euler steps (start, breakpoint), trapezoidal steps
    assert ds.attrs["factorizations"] == 3
    assert ds.attrs["residual"] < 1e-15
    assert ds.i.attrs["units"] == "A" and ds.v.attrs["units"] == "V" and ds.time.attrs["units"] == "s"
