"""One damped Newton-Raphson routine, used by both formulations (reduced and MNA).

``newton(x, residual, direction, measure, options)`` iterates

    F, aux = residual(x)             KCL residual (A) and what the step needs
    dx     = direction(x, F, aux)    the Newton step, solving J dx = -F
    x      = x + t dx                t <= max_step / max|dx|, halved until |F| falls

and stops when the step is below ``vntol + reltol * max|v|`` volt and the residual
below ``abstol + reltol * i_scale`` ampere, where ``measure(x, F)`` returns
``(residual, i_scale, v_max)``.  Non-convergence raises
:class:`devices.errors.ConvergenceError` with the iteration history.  The last
residual evaluation is always at the returned point (callers keep what it computed).
"""

from __future__ import annotations

import numpy as np

from devices.errors import ConvergenceError

__all__ = ["newton", "damped_update"]


def damped_update(x, dx, F, residual, options):
    """Backtracking line search: ``(x_new, (F_new, aux_new), step_volt, damping)``."""
    big = float(np.max(np.abs(dx), initial=0.0))
    scale = min(1.0, options.max_step / big) if big > 0 else 1.0
    f0 = float(np.linalg.norm(F))
    t = scale
    for _ in range(12):
        x_new = x + t * dx
        out = residual(x_new)
        if np.linalg.norm(out[0]) <= (1 - 1e-4 * t) * f0 or f0 == 0:
            break
        t *= 0.5
    return x_new, out, float(t * big), float(t)


def newton(x, residual, direction, measure, options):
    """Damped Newton from ``x`` (see the module docstring).

    Returns
    -------
    x : numpy.ndarray
        The solution.
    iterations : int
    residual : float
        Largest KCL residual at the solution, ampere.
    """
    history = []
    current = residual(x)
    for it in range(1, options.max_iter + 1):
        F, aux = current
        dx = direction(x, F, aux)
        x, current, step, damping = damped_update(x, dx, F, residual, options)
        res, i_scale, vmax = measure(x, current[0])
        history.append({"iteration": it, "residual": res, "step": step, "damping": damping})
        if step <= options.vntol + options.reltol * vmax and res <= options.abstol + options.reltol * i_scale:
            return x, it, res
    last = history[-1]
    raise ConvergenceError(
        f"Newton-Raphson did not converge in {options.max_iter} iterations (last residual {last['residual']:.3e} A, "
        f"last step {last['step']:.3e} V)", history=history)
