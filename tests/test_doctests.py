"""The numpydoc ``Examples`` of every module in devices, netlists, crossbar and basisn run as
doctests (issue 11): an example that no longer runs, or prints something else, fails CI.

The modules are imported by name (never the scripts under ``studies/``) and searched with
:class:`doctest.DocTestFinder`; each module with examples is one test.
"""

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("devices", "netlists", "crossbar", "basisn")


def _modules():
    names = []
    for pkg in PACKAGES:
        names.append(pkg)
        mod = importlib.import_module(pkg)
        for info in pkgutil.walk_packages(mod.__path__, prefix=pkg + "."):
            if info.name.endswith("__main__"):
                continue
            names.append(info.name)
    return sorted(names)


def _tests(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [t for t in finder.find(module, name) if t.examples and t.filename == getattr(module, "__file__", None)]


MODULES = _modules()
WITH_EXAMPLES = [m for m in MODULES if _tests(m)]


def test_the_modules_are_found():
    assert "crossbar.study.core" in MODULES and "devices" in MODULES and "basisn.experiments" in MODULES
    assert not any(m.startswith("studies") for m in MODULES)
    for name in ("crossbar.study", "crossbar.study.core", "crossbar.study.execute", "crossbar.archive",
                 "crossbar.plotting", "crossbar.tgsum.config", "basisn._checks"):
        assert name in WITH_EXAMPLES, name


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    tests = _tests(name)
    monkeypatch.chdir(tmp_path)  # an example that writes files writes them here
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    for t in tests:
        runner.run(t, out=report.append)
    failed = sum(r.failed for r in [runner.summarize(verbose=False)])
    assert failed == 0, "".join(report)
