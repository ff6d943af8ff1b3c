#!/usr/bin/env python
"""BasisN accuracy study: coefficient bits x crossbar size (paper fig. 5), cell bits (fig. 6),
contest regularizer parallelism, float baseline; digits MLP and MNIST-1D CNN.

    python studies/basisn_accuracy.py --quick            # about 2 min on 2 cores
    python studies/basisn_accuracy.py                    # full: 3 seeds, longer training
    python studies/basisn_accuracy.py --scheduler tcp://10.0.0.5:8786   # on a Dask cluster
    python studies/basisn_accuracy.py --plot-only results/basisn_accuracy.h5

One task per (data set, seed), run in ``--jobs`` processes (default 2) or on a Dask
cluster; writes the archive (HDF5/netCDF4, atomic) and the figures, prints the summary.
The protocol lives in :mod:`basisn.experiments`, the study in :mod:`basisn.accuracy_study`,
the tables and figures in :mod:`basisn.accuracy_report`, the engine in :mod:`crossbar.study`.
"""

from __future__ import annotations

import os

# Small matrices: BLAS threads only fight over the two shared cores.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from basisn.accuracy_report import plot, summary, with_penalty_dim  # noqa: E402,F401  (used by tests)
from basisn.accuracy_study import AccuracyStudy  # noqa: E402
from crossbar.study import main as study_main  # noqa: E402

__all__ = ["main", "summary", "plot", "with_penalty_dim"]

DEFAULT_OUT = Path("results") / "basisn_accuracy.h5"


def main(argv=None) -> int:
    """Run the study from the command line; return the exit status (0, 1, 2, 130)."""
    return study_main(AccuracyStudy(), argv, prog="basisn_accuracy",
                      quick_help="short training, 1 seed, MNIST-1D on a cross of the grid")


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")  # figures go to files
    sys.exit(main())
