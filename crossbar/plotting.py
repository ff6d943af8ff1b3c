"""Figure helpers shared by the studies: a file-only pyplot and one way to write a figure."""

from __future__ import annotations

from pathlib import Path

__all__ = ["pyplot", "save_figure"]


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend: figures go to files, never to a window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, dpi: int = 150, tight: bool = True) -> Path:
    """Lay ``fig`` out (``tight_layout`` unless ``tight`` is False), write it to ``path`` and close it.

    Returns
    -------
    Path
        ``path``.
    """
    if tight:
        fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path
