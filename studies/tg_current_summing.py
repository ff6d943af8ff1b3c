#!/usr/bin/env python
"""TG current-summing study (issue 3): K transmission-gate sets under one RRAM crossbar.

    python studies/tg_current_summing.py                  # default sweep, native solver, ~40 s on 2 cores
    python studies/tg_current_summing.py --quick          # small sweep, seconds
    python studies/tg_current_summing.py --full           # larger sweep, ngspice up to N = 64
    python studies/tg_current_summing.py --config my.json # keys override the default sweep
    python studies/tg_current_summing.py --plot-only results/tg_current_summing.h5
    python studies/tg_current_summing.py --scheduler tcp://10.0.0.5:8786   # on a Dask cluster

Writes ``results/tg_current_summing.h5`` (one xarray Dataset, see :mod:`crossbar.tgsum`)
and PNG figures next to it, and prints a summary table.  The study lives in
:mod:`crossbar.tgsum`, the engine (common options, processes or Dask, resume, archive) in
:mod:`crossbar.study`; this script only sets the figure backend and calls them.

Exit status: 0 done; 1 done but some points failed (recorded in the archive); 2 bad
arguments or unusable output path; 130 interrupted.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from crossbar.tgsum.cli import main  # noqa: E402

if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")  # figures go to files
    sys.exit(main())
