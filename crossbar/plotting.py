"""Figure helpers shared by the studies: figures drawn for files, without touching pyplot.

``subplots(nrows, ncols, **kw)``
    A :class:`matplotlib.figure.Figure` and its axes, like ``pyplot.subplots`` but not
    registered with pyplot: no backend is selected, no window opens, nothing needs closing,
    and a user's interactive backend (a notebook's, say) is left as it was.
``save_figure(fig, path)``
    Lay the figure out and write it (PNG by the file suffix).
``pyplot()``
    A small stand-in offering ``subplots``, ``cm`` and ``close`` for code written against
    ``matplotlib.pyplot``; it never calls ``matplotlib.use``.

Examples
--------
>>> import tempfile, pathlib
>>> fig, ax = subplots(figsize=(3, 2))
>>> _ = ax.plot([0, 1], [0, 1])
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = save_figure(fig, pathlib.Path(tmp) / "line.png")
...     path.stat().st_size > 0
True
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

__all__ = ["subplots", "save_figure", "pyplot"]


def subplots(nrows: int = 1, ncols: int = 1, *, figsize=None, **kwargs):
    """A new figure with a grid of axes, independent of pyplot's state.

    Parameters
    ----------
    nrows, ncols : int
        Grid of axes.
    figsize : (float, float), optional
        Width and height in inches.
    **kwargs
        Passed to :meth:`matplotlib.figure.Figure.subplots` (``squeeze``, ``sharex``, ...).

    Returns
    -------
    (matplotlib.figure.Figure, axes)
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save_figure(fig, path, dpi: int = 150, tight: bool = True) -> Path:
    """Lay ``fig`` out (``tight_layout`` unless ``tight`` is False) and write it to ``path``.

    Returns
    -------
    Path
        ``path``.
    """
    if tight:
        fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=dpi)
    if getattr(fig.canvas, "manager", None) is not None:  # a pyplot figure: release it from pyplot's registry
        import matplotlib.pyplot as plt

        plt.close(fig)
    return path


def pyplot():
    """A pyplot-like namespace (``subplots``, ``cm``, ``close``) that draws :func:`subplots` figures.

    It never selects a backend, so importing or calling it leaves a user's backend alone.
    """
    import matplotlib

    return SimpleNamespace(subplots=subplots, cm=matplotlib.cm, close=lambda fig=None: None)
