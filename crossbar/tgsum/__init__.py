"""The TG current-summing study (issue 3): do K TG sets under one crossbar each carry
the sum the network expects, and how far off are they with real wires, access
transistors and switches?

``crossbar.tgsum.metrics``   the crossbar instance of a point, ideal sums, relative
                             errors, the wire/TG/access split, crosstalk, superposition,
                             and the one-factorization fast path (Woodbury updates)
``crossbar.tgsum.config``    sweep parameters, :class:`StudyConfig` (validated), JSON
``crossbar.tgsum.presets``   the default, quick and full sweeps
``crossbar.tgsum.tasks``     worker side: one task per circuit (all its r_on) or validation
``crossbar.tgsum.assemble``  the archive (one Dataset, ``point`` dim), merge, group grids
``crossbar.tgsum.analysis``  the design rule; the basis-contest refusal
``crossbar.tgsum.report``    the summary table
``crossbar.tgsum.study``     the study on the engine (:mod:`crossbar.study`): ``run_study``
``crossbar.tgsum.cli``       the command line (``studies/tg_current_summing.py``)
``crossbar.tgsum.figures``   PNG figures from an archive
"""

from crossbar.tgsum.analysis import design_rule
from crossbar.tgsum.assemble import group_grid
from crossbar.tgsum.config import StudyConfig, load_config
from crossbar.tgsum.presets import default_config, full_config, quick_config
from crossbar.tgsum.report import summary_text
from crossbar.tgsum.study import TGRun, TGStudy, run_study

__all__ = ["StudyConfig", "default_config", "quick_config", "full_config", "load_config", "run_study",
           "group_grid", "design_rule", "summary_text", "TGStudy", "TGRun"]
