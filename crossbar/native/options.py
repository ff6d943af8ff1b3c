"""Solver options (validated) and the process-wide BLAS thread limit.

``SolverOptions``   tolerances and limits of the native solver, a frozen validated dataclass
``blas_threads(n)`` context manager limiting the BLAS/OpenMP thread pools while solving,
                    restoring the caller's setting on every path (also when several
                    threads solve at once)
``GMIN``            conductance from MOSFET drain and source to bulk, siemens
``options_or_default(options)``  the ``options=`` argument of every solver entry point
                    checked (None: the defaults)
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

from devices import _check
from devices.errors import ParameterError

__all__ = ["SolverOptions", "blas_threads", "options_or_default", "GMIN"]

GMIN = 1e-12
"""Conductance from MOSFET drain and source to bulk, siemens (SPICE's default gmin)."""

FACTORIZATIONS = ("auto", "cholmod", "superlu")


@dataclass(frozen=True)
class SolverOptions:
    """Tolerances and limits of the native solver (validated on construction;
    a bad value raises :class:`devices.errors.ParameterError` naming the field and its
    allowed range)."""

    reltol: float = 1e-10
    """Relative tolerance on Newton steps and KCL residuals, dimensionless, in (0, 0.1]."""
    vntol: float = 1e-12
    """Absolute tolerance on Newton voltage steps, volt, in [0, 1]."""
    abstol: float = 1e-16
    """Absolute tolerance on KCL residuals, ampere, in [0, 1]."""
    max_iter: int = 100
    """Newton iterations before :class:`devices.errors.ConvergenceError`, in [1, 100000]."""
    max_step: float = 0.5
    """Largest node-voltage change of one Newton step, volt, in (0, 1e4]."""
    factorization: str = "auto"
    """``"auto"`` (CHOLMOD when installed), ``"cholmod"`` or ``"superlu"``."""
    blas_threads: int | None = 1
    """Threads for the BLAS/OpenMP libraries while the solver runs, in [1, 1024].
    NumPy, SciPy and CHOLMOD each load their own OpenBLAS; their idle threads spin and
    steal cores from each other, which made Newton-GMRES on 2 cores twice as slow.
    ``None`` leaves the libraries' own settings."""
    check_rtol: float = 1e-6
    """Accuracy demanded of the branch currents after a solve, relative to the largest
    branch current of the sample, in (0, 1].  The solver estimates the error of every
    branch current from the KCL residual and the rounding floor of the node equations;
    above this bound it refines iteratively, then raises
    :class:`devices.errors.IllConditionedError`."""
    refine_steps: int = 3
    """Iterative-refinement steps tried before raising, in [0, 100]."""
    ill_conditioned: str = "raise"
    """What a failed accuracy check does: ``"raise"`` (:class:`devices.errors.IllConditionedError`)
    or ``"warn"`` (a ``RuntimeWarning``; the estimate is in the result's
    ``branch_current_error`` attribute).  Non-finite results always raise."""

    def __post_init__(self):
        name = type(self).__name__
        fields = {
            "reltol": _check.number(name, "reltol", self.reltol, lo=0.0, lo_open=True, hi=0.1),
            "vntol": _check.number(name, "vntol", self.vntol, lo=0.0, hi=1.0, unit="V"),
            "abstol": _check.number(name, "abstol", self.abstol, lo=0.0, hi=1.0, unit="A"),
            "max_iter": _check.integer(name, "max_iter", self.max_iter, 1, 100_000),
            "max_step": _check.number(name, "max_step", self.max_step, lo=0.0, lo_open=True, hi=1e4, unit="V"),
            "factorization": _check.choice(name, "factorization", self.factorization, FACTORIZATIONS),
            "check_rtol": _check.number(name, "check_rtol", self.check_rtol, lo=0.0, lo_open=True, hi=1.0),
            "refine_steps": _check.integer(name, "refine_steps", self.refine_steps, 0, 100),
            "ill_conditioned": _check.choice(name, "ill_conditioned", self.ill_conditioned, ("raise", "warn")),
        }
        if self.blas_threads is not None:
            fields["blas_threads"] = _check.integer(name, "blas_threads", self.blas_threads, 1, 1024)
        for key, value in fields.items():
            object.__setattr__(self, key, value)


# ------------------------------------------------------------------ BLAS threads
_lock = threading.Lock()
_depth = 0
_limiter = None
_controller = None


def _libraries():
    """threadpoolctl's controller, made once (enumerating the loaded libraries costs
    ~1.4 ms; the libraries that matter are loaded when this package is imported)."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


@contextmanager
def blas_threads(n: int | None):
    """Limit the BLAS/OpenMP thread pools to ``n`` threads inside the block.

    Process-wide and reference-counted: the first block entered saves the caller's
    setting and sets the limit (only when some library differs from ``n``), nested and
    concurrent blocks (other threads) share it, and the last block to leave restores
    the saved setting, so two threads solving at once cannot leave the process limited.
    ``None`` does nothing.  Cost when the limit is already in place: a few microseconds.
    """
    global _depth, _limiter
    if n is None:
        yield
        return
    with _lock:
        if _depth == 0:
            ctl = _libraries()
            if any(lib.num_threads != n for lib in ctl.lib_controllers):
                _limiter = ctl.limit(limits=n)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _limiter is not None:
                _limiter.restore_original_limits()
                _limiter = None


def options_or_default(options) -> SolverOptions:
    """The ``options=`` argument of a solver entry point: ``None`` gives the defaults.

    Raises
    ------
    ParameterError
        ``options`` is neither None nor a :class:`SolverOptions`.
    """
    if options is None:
        return SolverOptions()
    if not isinstance(options, SolverOptions):
        raise ParameterError(f"options must be a crossbar.SolverOptions, got {type(options).__name__}")
    return options
