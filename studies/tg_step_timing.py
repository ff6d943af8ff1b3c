"""TG step timing and energy: settling to 1/2 LSB and energy per step after a TG pattern
switch and after an input change (issue 14, section 2).

    python studies/tg_step_timing.py --quick               # N = 32, 64; K = 1..4; r_on 100, 1k ohm
    python studies/tg_step_timing.py                       # N = 32..256; K = 1, 2, 4, 8; r_on 100 ohm..10 kohm
    python studies/tg_step_timing.py --resume --out results/tg_step_timing.h5
    python studies/tg_step_timing.py --plot-only results/tg_step_timing.h5

The physics and numerics live in crossbar.transient.step_timing; this script is the
engine's command line (--jobs, --resume, --plot-only, ...).
"""

import sys

from crossbar.study import main
from crossbar.transient.step_timing import StepTiming

if __name__ == "__main__":
    sys.exit(main(StepTiming(), prog="tg_step_timing"))
