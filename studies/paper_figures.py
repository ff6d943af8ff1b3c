#!/usr/bin/env python
"""Paper figures: Table 1, cycles vs crossbars (Figs. 7-9), Fig. 2(a) slowdown.

Computes everything with ``basisn.costmodel`` (tasks: the tables and one cycle sweep per
network, see :mod:`basisn.paper_study`), writes one HDF5 archive (atomic, with
provenance) and regenerates the figures and the Markdown table from that archive.

    python studies/paper_figures.py                       # compute, archive, figures
    python studies/paper_figures.py --plot-only results/paper_figures/paper_figures.h5

Outputs (default folder ``results/paper_figures/``): ``paper_figures.h5``,
``table1.md``, ``cycles_<network>.png``, ``fig2a_slowdown.png``, ``crossbars_vs_d.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from basisn.paper_study import PaperStudy, plot, table_markdown  # noqa: E402,F401  (plot, table_markdown: tests)
from crossbar.study import main as study_main  # noqa: E402

__all__ = ["main", "plot", "table_markdown"]

DEFAULT_OUT = PaperStudy.default_out


def main(argv=None) -> int:
    """Run the study from the command line; return the exit status (0, 1, 2, 130)."""
    return study_main(PaperStudy(), argv, prog="paper_figures")


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")  # figures go to files
    sys.exit(main())
