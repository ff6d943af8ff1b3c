"""The native nodal-analysis solver, as a package.

Public: ``prepare(netlist, options) -> NativeSystem``, ``NativeSystem.solve`` /
``solve_arrays`` / ``transfer_matrix``, ``SolverOptions``, ``HAVE_CHOLMOD``.

Layout (one concern per module):

=================  ===================================================================
``options``        ``SolverOptions`` (validated), ``GMIN``, the BLAS thread limit
``sources``        ``source_values``: the ``sources=`` argument, validated once for
                   every backend
``assembly``       conductance Laplacian, exact series-node reduction, 1T1R condensation
``stamps``         nonlinear device stamps (level-1 MOSFETs, condensed cells)
``factor``         CHOLMOD / SuperLU factorization, ``laplacian``
``reduced``        the reduced SPD system (grounded sources), GMRES-Newton
``mna``            modified nodal analysis (floating sources)
``newton``         the one damped Newton routine both formulations use
``accuracy``       branch-current error estimate, refinement check, finiteness
``dataset``        ``to_dataset``: the result Dataset, shared with the ngspice backend
``system``         ``NativeSystem`` and ``prepare``
=================  ===================================================================

Formulations: *reduced* nodal analysis when every voltage source has a terminal on
ground (crossbars: drivers and TIA virtual grounds), the driven nodes leaving the
unknowns so ``G_ff`` is symmetric positive definite (see :mod:`.reduced`); *MNA*
otherwise (see :mod:`.mna`).  MOSFETs (level 1) make the system nonlinear: damped
Newton (:mod:`.newton`) on ``F(v) = G v - i_inj + i_nl(v)``; non-convergence raises
:class:`devices.errors.ConvergenceError` with the iteration history, and answers
whose estimated error is too large raise :class:`devices.errors.IllConditionedError`.
"""

from crossbar.native.factor import HAVE_CHOLMOD, Factor, laplacian
from crossbar.native.options import GMIN, SolverOptions
from crossbar.native.system import NativeSystem, prepare

# names kept for callers of the single-module solver (crossbar.tgsum's fast path)
_Factor = Factor
_laplacian = laplacian

__all__ = ["NativeSystem", "SolverOptions", "prepare", "HAVE_CHOLMOD", "GMIN"]
