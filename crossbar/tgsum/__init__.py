"""The TG current-summing study (issue 3): do K TG sets under one crossbar each carry
the sum the network expects, and how far off are they with real wires, access
transistors and switches?

``crossbar.tgsum.metrics``   the crossbar instance of a point, ideal sums, relative
                             errors, the wire/TG/access split, crosstalk, superposition,
                             and the one-factorization fast path (Woodbury updates)
``crossbar.tgsum.sweep``     sweep configuration (default/quick/full/JSON), evaluation in
                             processes, the archive (one Dataset, ``point`` dim), resume,
                             failure records, summary table and design rule
``crossbar.tgsum.figures``   PNG figures from an archive

The script ``studies/tg_current_summing.py`` is the command-line front end.
"""

from crossbar.tgsum.sweep import (StudyConfig, default_config, design_rule, full_config, group_grid, load_config,
                                  quick_config, run_study, summary_text)

__all__ = ["StudyConfig", "default_config", "quick_config", "full_config", "load_config", "run_study",
           "group_grid", "design_rule", "summary_text"]
