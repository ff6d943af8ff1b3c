"""Load a study script or another file outside the packages as a module (for tests)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(path, name: str | None = None):
    """Execute the Python file ``path`` as a fresh module named ``name`` (default: its stem)."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_study(name: str):
    """``studies/<name>.py`` as a module."""
    return load_script(ROOT / "studies" / f"{name}.py")
