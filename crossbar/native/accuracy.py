"""How far a solve's branch currents can be trusted, and the check that enforces it.

After a solve the KCL residual ``r`` of the free nodes (A) is known.  For a network of
resistors the map from currents injected at free nodes to source currents,
``-L_df G_ff^-1``, has entries in [0, 1] with column sums <= 1 (an injected current
divides between the sources and ground), so the branch currents are off by at most
``sum_f |r_f|``.  Rounding adds a floor: a node equation sums terms ``G_ij v_j`` whose
size, not their sum, sets the error (``eps * sum_j |G_ij| |v_j|``); when a large
conductance joins two nodes near the same large voltage, their difference, and the
current through it, is lost.  The estimate per sample is therefore::

    err = sum_f (|r_f| + eps * (|L_f| |v|)_f)  +  max_p eps * (|L_p| |v|)_p   (+ |nonlinear| terms)

and the check asks ``err <= check_rtol * scale + abstol`` per sample, where ``scale`` is
the largest branch current, or the largest current injected by a current source when
that is larger (a circuit driven by current sources alone has no branch currents, yet
its answer is as good as its voltages).  The
solvers refine iteratively while it fails, then raise
:class:`devices.errors.IllConditionedError` with the estimate.
"""

from __future__ import annotations

import warnings

import numpy as np

from devices.errors import IllConditionedError

__all__ = ["EPS", "branch_error", "current_scale", "injected_scale", "failing", "check", "check_finite"]

EPS = float(np.finfo(float).eps)


def branch_error(r_free: np.ndarray, noise_free: np.ndarray, noise_driven: np.ndarray) -> np.ndarray:
    """Per-sample error estimate of the branch currents, ampere.

    Parameters
    ----------
    r_free : (S, nf) KCL residual of the free nodes, ampere, or its per-sample
        ``sum |r|`` (S,) when the caller has it.
    noise_free : (S,) ``sum_i sum_j |G_ij| |v_j|`` over the free-node equations, ampere
        (computed once per sample as ``|v| @ w`` with ``w_j = sum_i |G_ij|``).
    noise_driven : (S, nd) ``sum_j |G_pj| |v_j|`` of the rows that give branch currents, ampere.
    """
    l1 = r_free if r_free.ndim == 1 else np.abs(r_free).sum(axis=1)
    err = l1 + EPS * noise_free
    if noise_driven.shape[1]:
        err = err + EPS * noise_driven.max(axis=1)
    return err


def current_scale(i: np.ndarray, inj_scale: np.ndarray | None = None) -> np.ndarray:
    """Per-sample current scale, ampere: the largest ``|i|`` (branch currents, (S, nb)),
    or the largest injected current ``inj_scale`` (S,) when larger."""
    scale = np.max(np.abs(i), axis=1, initial=0.0)
    return scale if inj_scale is None else np.maximum(scale, inj_scale)


def injected_scale(inj: np.ndarray, netlist) -> np.ndarray | None:
    """``max |inj|`` per sample ((S, n) node injections, ampere), None without current sources."""
    return np.max(np.abs(inj), axis=1, initial=0.0) if len(netlist.isources) else None


def failing(err: np.ndarray, i: np.ndarray, options, inj_scale: np.ndarray | None = None) -> np.ndarray:
    """Samples (bool, (S,)) whose estimate exceeds ``check_rtol * scale + abstol``
    (``scale``: :func:`current_scale`)."""
    # "not <=": a NaN estimate (overflow inside it) fails instead of passing
    return ~(err <= options.check_rtol * current_scale(i, inj_scale) + options.abstol)


def check(err: np.ndarray, i: np.ndarray, options, refined: int, inj_scale: np.ndarray | None = None) -> None:
    """Raise :class:`IllConditionedError` (or warn, ``options.ill_conditioned == "warn"``)
    for the worst failing sample, if any; non-finite currents raise in either mode."""
    check_finite(None, i)
    bad = failing(err, i, options, inj_scale)
    if not bad.any():
        return
    scale = current_scale(i, inj_scale)
    with np.errstate(invalid="ignore", over="ignore"):
        s = int(np.argmax(np.where(bad, np.nan_to_num(err / np.maximum(scale, 1e-300), nan=np.inf), -1.0)))
    exc = IllConditionedError(
        f"the branch currents cannot be trusted: their estimated error {err[s]:.3e} A exceeds check_rtol = "
        f"{options.check_rtol:g} of the largest branch (or current-source) current {scale[s]:.3e} A (sample {s}, after {refined} "
        "refinement step(s)); the netlist mixes conductances so different that currents are lost in rounding "
        "(e.g. a tiny resistance between nodes at a large voltage). Rescale the circuit, merge near-shorts into "
        "one node, or loosen SolverOptions(check_rtol=...)", error_estimate=float(err[s]), scale=float(scale[s]))
    if options.ill_conditioned == "warn":
        warnings.warn(str(exc), RuntimeWarning, stacklevel=6)
        return
    raise exc


def check_finite(v: np.ndarray | None, i: np.ndarray) -> None:
    """Raise :class:`IllConditionedError` when a voltage or current is NaN or infinite."""
    for name, arr, unit in (("node voltage", v, "V"), ("branch current", i, "A")):
        # a sum is finite when every entry is (values are bounded far below overflow)
        if arr is not None and not (np.isfinite(np.sum(arr)) or np.all(np.isfinite(arr))):
            raise IllConditionedError(
                f"the solve produced a non-finite {name} ({int(np.size(arr) - np.isfinite(arr).sum())} value(s) NaN or "
                f"inf, {unit}): the system overflowed; check for extreme element values")
