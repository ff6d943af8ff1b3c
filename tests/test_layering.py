"""Data flows one way: devices -> netlists -> crossbar -> basisn -> studies.

A package may import only itself and the packages before it; none imports ``studies``.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["devices", "netlists", "crossbar", "basisn"]
PROJECT = set(ORDER) | {"studies"}


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0], node.lineno


@pytest.mark.parametrize("package", ORDER)
def test_no_upward_imports(package):
    allowed = set(ORDER[: ORDER.index(package) + 1])
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for mod, line in _imports(path):
            if mod in PROJECT and mod not in allowed:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {mod}")
    assert not bad, "layering broken:\n" + "\n".join(bad)
