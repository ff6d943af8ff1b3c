"""basisn.costmodel imports only devices, crossbar.archive, basisn.scheduler (and itself)."""

import ast
from pathlib import Path

import numpy as np

from basisn.costmodel.cycles import _quantize

PKG = Path(__file__).resolve().parents[2] / "basisn" / "costmodel"
ALLOWED_PROJECT = ("devices", "crossbar.archive", "basisn.scheduler", "basisn.costmodel")
PROJECT = ("devices", "netlists", "crossbar", "basisn", "studies")


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside basisn.costmodel
                yield "basisn.costmodel"
            else:
                yield node.module


def test_costmodel_imports_respect_the_layering():
    files = sorted(PKG.glob("*.py"))
    assert files
    for f in files:
        for mod in _imports(f):
            top = mod.split(".")[0]
            if top in PROJECT:
                assert any(mod == a or mod.startswith(a + ".") for a in ALLOWED_PROJECT), f"{f.name} imports {mod}"


def test_quantize_by_hand():
    c = np.array([0.0, 0.49, -1.0, 0.26])
    q = _quantize(c, 2)  # codes -2..1
    assert q.dtype == np.int64 and q.min() >= -2 and q.max() <= 1
    assert q[2] == -2 and q[0] == 0
    assert _quantize(np.zeros(3), 4).tolist() == [0, 0, 0]
