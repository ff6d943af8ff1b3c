"""Former home of the whole TG sweep, kept so that existing imports work.

The sweep is split by concern (issue 11):

``crossbar.tgsum.config``    parameters, :class:`StudyConfig`, validation, JSON
``crossbar.tgsum.presets``   default / quick / full sweeps
``crossbar.tgsum.tasks``     the worker side: circuits, validation, task Datasets
``crossbar.tgsum.assemble``  the archive Dataset, merging, grid views
``crossbar.tgsum.analysis``  the design rule, the basis-contest refusal
``crossbar.tgsum.report``    the printed summary
``crossbar.tgsum.study``     the study on the engine (:func:`run_study`)
``crossbar.tgsum.cli``       the command line
"""

from crossbar.tgsum.analysis import contest_demo, design_rule, worst_abs  # noqa: F401
from crossbar.tgsum.assemble import SET_VARS, VARS, assemble, group_grid, merge, points_of  # noqa: F401
from crossbar.tgsum.config import (ACCESS_MODELS, BACKENDS, INTS, NGSPICE_MAX_N, NUMERIC, PARAMS,  # noqa: F401
                                   StudyConfig, check_backend, config_from_dict, load_config)
from crossbar.tgsum.presets import BASELINE, CELLS, default_config, full_config, quick_config  # noqa: F401
from crossbar.tgsum.report import design_rule_text, summary_text  # noqa: F401
from crossbar.tgsum.study import PHYSICS_KEYS, TGRun, TGStudy, run_study  # noqa: F401
from crossbar.tgsum.tasks import access_device, circuits_of, instance  # noqa: F401

__all__ = ["PARAMS", "NUMERIC", "INTS", "ACCESS_MODELS", "BACKENDS", "NGSPICE_MAX_N", "StudyConfig", "BASELINE",
           "CELLS", "default_config", "quick_config", "full_config", "load_config", "config_from_dict", "run_study",
           "check_backend", "assemble", "merge", "points_of", "VARS", "SET_VARS", "group_grid", "design_rule",
           "design_rule_text", "worst_abs", "summary_text", "contest_demo", "TGStudy", "TGRun", "PHYSICS_KEYS",
           "access_device", "circuits_of", "instance"]
