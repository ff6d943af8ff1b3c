"""Cycles per inference: weight-stationary with reprogramming vs BasisN.

Weight-stationary (WS) on a chip of ``M`` crossbars of size ``d``; the network needs
``N = crossbar_count(network, d, convention)`` crossbars and layer ``l`` needs ``N_l``
(blocks) and sees ``P_l`` input vectors (output positions) per inference. One cycle is
one crossbar MVM or one programming cycle.

* Fits (``N <= M``): written once, never reprogrammed; every layer has its own
  crossbars, so successive inferences are pipelined through the layers and the cycles
  per inference are set by the slowest layer; ``r = M // N`` copies of the network
  split the positions: ``max_l ceil(P_l / r)``.
* Does not fit (``N > M``): per inference every block is programmed once, ``ceil(N /
  m_p)`` programming rounds of ``scheme.cycles(d)`` each (``m_p`` crossbars programmed
  at once, ``min(programming_parallelism, M)``), plus the compute of each layer in
  ``ceil(N_l / M)`` rounds of ``P_l`` cycles: ``sum_l P_l ceil(N_l / M)``.

BasisN (never reprogrammed). Layer ``l`` has ``W_l = P_l * n_l * ceil(t_l h_l w_l / d)``
kernel pieces per inference; each needs one crossbar step per coefficient bit, ``p``
pieces share a step (``p <= K`` TG sets), and a layer's steps are spread evenly over the
``M`` crossbars, layers one after the other:
``sum_l ceil(W_l * bits / (M * p))``. For the small models
:func:`scheduled_basisn_steps` replaces ``W_l * bits / p`` by the step count of the
BasisN scheduler (:func:`basisn.scheduler.schedule_codes`) on actual coefficient codes.

``ws_cycles``, ``ws_ideal_cycles``, ``basisn_cycles``, ``basisn_pieces``,
``scheduled_basisn_steps``, ``basisn_cycles_from_steps``, ``crossover``, ``slowdown``.
All accept ``M`` as an int or an integer array (vectorized over M).
"""

from __future__ import annotations

import functools

import numpy as np

from devices.errors import ParameterError

from .mapping import check_crossbar_size, crossbar_count, crossbars_per_layer, get_convention
from .networks import get_network
from .parameters import NEURRAM_CHIP, SCHEMES, ChipModel, ProgrammingScheme

__all__ = [
    "ws_cycles",
    "ws_ideal_cycles",
    "basisn_pieces",
    "basisn_cycles",
    "scheduled_basisn_steps",
    "basisn_cycles_from_steps",
    "crossover",
    "slowdown",
    "get_scheme",
    "check_bits",
]


def get_scheme(scheme) -> ProgrammingScheme:
    """``"row"``/``"block"`` or a :class:`ProgrammingScheme` -> ProgrammingScheme."""
    if isinstance(scheme, ProgrammingScheme):
        return scheme
    try:
        return SCHEMES[scheme]
    except (KeyError, TypeError):
        raise ParameterError(f"unknown programming scheme {scheme!r}; allowed: {', '.join(SCHEMES)}") from None


def check_bits(bits) -> int:
    """Coefficient bits: an integer in 1..16, else ParameterError naming the value."""
    if isinstance(bits, (bool, np.bool_)) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 16:
        raise ParameterError(f"coefficient bits = {bits!r}; allowed: an integer in 1..16")
    return int(bits)


def _m_array(m) -> np.ndarray:
    arr = np.asarray(m)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer) or arr.size == 0 or np.any(arr < 1):
        raise ParameterError(f"number of crossbars M = {m!r}; allowed: integers >= 1")
    return arr.astype(np.int64)


def _positions(net) -> np.ndarray:
    return np.array([lay.positions for lay in net.layers], dtype=np.int64)


def ws_ideal_cycles(network, d, convention="plain") -> int:
    """WS cycles with exactly enough crossbars (one copy, no reprogramming): ``max_l P_l``.

    The reference of the paper's Fig. 2(a) ("unlimited number of crossbars").
    Excluded layers (see :class:`MappingConvention`) cost no crossbar cycles.
    """
    net = get_network(network)
    n_l = crossbars_per_layer(net, d, convention)
    return int(_positions(net)[n_l > 0].max())


def ws_cycles(network, d, m, scheme="row", convention="plain", chip: ChipModel = NEURRAM_CHIP):
    """Weight-stationary cycles per inference on ``m`` crossbars of size ``d``.

    Parameters
    ----------
    network : str or Network
    d : int
        Crossbar size, >= 1.
    m : int or array of int
        Crossbars on the chip, >= 1.
    scheme : {"row", "block"} or ProgrammingScheme
        How reprogramming is done when the network does not fit.
    convention : str or MappingConvention
        Mapping convention for the crossbar count.
    chip : ChipModel
        Only ``programming_parallelism`` is used (``d`` and ``n_crossbars`` come from
        the arguments).

    Returns
    -------
    float or ndarray of float
        Cycles per inference (shape of ``m``).
    """
    net = get_network(network)
    d = check_crossbar_size(d)
    sch = get_scheme(scheme)
    conv = get_convention(convention)
    m_arr = _m_array(m)
    total = crossbar_count(net, d, conv)
    n_l = crossbars_per_layer(net, d, conv)
    keep = n_l > 0
    p_l = _positions(net)[keep][:, None]
    n_l = n_l[keep][:, None]
    mm = m_arr.reshape(1, -1)
    fits = mm >= total
    copies = np.maximum(mm // max(total, 1), 1)
    fit_cycles = (-(-p_l // copies)).max(axis=0)
    compute = (p_l * (-(-n_l // mm))).sum(axis=0)
    par = mm if chip.programming_parallelism is None else np.minimum(mm, chip.programming_parallelism)
    rounds = -(-total // par)
    reprogram = compute + rounds * sch.cycles(d)
    out = np.where(fits, fit_cycles, reprogram).astype(float).reshape(m_arr.shape)
    return float(out) if out.ndim == 0 else out


def basisn_pieces(network, d) -> np.ndarray:
    """Kernel pieces per inference and layer: ``P_l * n_l * ceil(fan_in_l / d)``.

    Returns
    -------
    ndarray of int, shape (layers,)
    """
    net = get_network(network)
    d = check_crossbar_size(d)
    return np.array([lay.positions * lay.n * (-(-lay.fan_in // d)) for lay in net.layers], dtype=np.int64)


def basisn_cycles(network, d, m, bits, chip: ChipModel = NEURRAM_CHIP):
    """BasisN cycles per inference with the documented parallelism assumption.

    ``sum_l ceil(W_l * bits / (m * p))`` with ``p = chip.parallelism`` (K unless
    ``chip.pieces_per_step`` says otherwise).

    Parameters
    ----------
    network : str or Network
    d : int
        Crossbar size = piece length, >= 1.
    m : int or array of int
        Crossbars, >= 1.
    bits : int
        Coefficient bits (1-16): crossbar steps per piece.
    chip : ChipModel
        ``tg_sets`` and ``pieces_per_step``.

    Returns
    -------
    float or ndarray of float
        Cycles per inference (shape of ``m``).
    """
    bits = check_bits(bits)
    m_arr = _m_array(m)
    w = basisn_pieces(network, d).astype(float)[:, None]
    steps = w * bits / chip.parallelism
    return basisn_cycles_from_steps(steps[:, 0], m_arr)


def basisn_cycles_from_steps(steps_per_layer, m):
    """Spread each layer's crossbar steps over ``m`` crossbars: ``sum_l ceil(S_l / m)``.

    Parameters
    ----------
    steps_per_layer : array_like, shape (layers,)
        Crossbar steps per inference of each layer (from the scheduler or from
        ``W_l * bits / p``).
    m : int or array of int
        Crossbars, >= 1.
    """
    m_arr = _m_array(m)
    s = np.asarray(steps_per_layer, dtype=float)[:, None]
    # round before ceil so that exact quotients are not pushed up by float error
    out = np.ceil(np.round(s / m_arr.reshape(1, -1), 9)).sum(axis=0).reshape(m_arr.shape)
    return float(out) if out.ndim == 0 else out


def scheduled_basisn_steps(network, d, bits, K, codes=None, seed: int = 0, rule: str = "one_bit"):
    """Crossbar steps per inference of each layer from the BasisN scheduler.

    Parameters
    ----------
    network : str or Network
    d : int
        Crossbar size = piece length.
    bits : int
        Coefficient bits.
    K : int
        TG sets per crossbar.
    codes : dict, optional
        ``{layer name: int array (kernels, ceil(fan_in/d), d)}`` -- two's complement
        codes of a trained BasisN model. Layers missing from it (or all, if ``None``)
        get the fine-tuning initialisation of paper 3.4 on seeded random weights:
        ``W ~ N(0, 1/fan_in)`` zero-padded to whole pieces, ``C = W_piece B^-1`` with a
        random orthogonal basis ``B``, quantized to ``bits``-bit two's complement with
        the per-layer step that minimises the squared error (:func:`_quantize`).
        Such codes carry no contest regularization (dense bit planes).
    seed : int
        Seed of the random weights and basis.
    rule : {"one_bit", "mixed"}
        Packing rule of :func:`basisn.scheduler.schedule_layer`: one bit significance per
        step (the paper's section 3.5, default) or mixed significances.

    Returns
    -------
    steps : ndarray of int, shape (layers,)
        ``Schedule.steps_per_inference`` per layer.
    pieces_per_step : ndarray of float, shape (layers,)
        ``Schedule.mean_pieces_per_step`` per layer.
    """
    from basisn.scheduler import schedule_codes

    net = get_network(network)
    d = check_crossbar_size(d)
    bits = check_bits(bits)
    codes = {} if codes is None else dict(codes)
    rng = np.random.default_rng([seed, d])
    basis = _orthogonal_basis(d, seed)
    steps, pps = [], []
    for lay in net.layers:
        parts = -(-lay.fan_in // d)
        q = codes.get(lay.name)
        if q is None:
            w = np.zeros((lay.n, parts * d))
            w[:, : lay.fan_in] = rng.standard_normal((lay.n, lay.fan_in)) / np.sqrt(lay.fan_in)
            c = w.reshape(lay.n, parts, d) @ basis  # rows of B are basis vectors: C = W B^-1 = W B^T
            q = _quantize(c, bits)
        sched = schedule_codes(np.asarray(q), bits, K, positions=lay.positions, rule=rule)
        steps.append(sched.steps_per_inference)
        pps.append(sched.mean_pieces_per_step)
    return np.asarray(steps, dtype=np.int64), np.asarray(pps, dtype=float)


def _quantize(c: np.ndarray, bits: int, n_grid: int = 64) -> np.ndarray:
    """Two's complement codes of ``c`` with the per-tensor step of least squared error.

    The step is searched on ``n_grid`` values between ``max|c| / 2**(bits+2)`` and
    ``max|c| / (2**(bits-1) - 1/2)``, as the fine-tuning initialisation ``quantize(W B^-1)``
    of paper 3.4 (restated here so that this package needs only ``basisn.scheduler``).
    """
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    top = float(np.abs(c).max())
    if top == 0.0:
        return np.zeros(c.shape, dtype=np.int64)
    best, best_err = None, np.inf
    for step in np.geomspace(top / 2 ** (bits + 2), top / max(qmax + 0.5, 0.5), n_grid):
        q = np.clip(np.rint(c / step), qmin, qmax)
        err = float(np.sum((c - step * q) ** 2))
        if err < best_err:
            best, best_err = q, err
    return best.astype(np.int64)


@functools.lru_cache(maxsize=16)
def _orthogonal_basis(d: int, seed: int) -> np.ndarray:
    """Seeded random orthogonal ``d x d`` basis (QR of a Gaussian matrix), cached."""
    q = np.linalg.qr(np.random.default_rng([seed, d, 1]).standard_normal((d, d)))[0]
    q.setflags(write=False)
    return q


def crossover(ws, basisn, m) -> int:
    """Smallest ``m`` from which weight-stationary needs no more cycles than BasisN for good.

    Parameters
    ----------
    ws, basisn : array_like, shape (n,)
        Cycles per inference at the crossbar counts ``m``.
    m : array_like of int, shape (n,)
        Increasing crossbar counts.

    Returns
    -------
    int
        The first ``m[i]`` with ``ws[j] <= basisn[j]`` for every ``j >= i``; -1 if WS
        is slower at the largest ``m``.
    """
    ws, basisn, m = (np.asarray(a) for a in (ws, basisn, m))
    wins = ws <= basisn
    if not wins[-1]:
        return -1
    losing = np.flatnonzero(~wins)
    first = 0 if losing.size == 0 else losing[-1] + 1
    return int(m[first])


def slowdown(network, d=256, m=48, scheme="row", convention="plain", chip: ChipModel = NEURRAM_CHIP) -> float:
    """Paper Fig. 2(a): WS cycles on ``m`` crossbars over WS with enough crossbars."""
    return float(ws_cycles(network, d, m, scheme, convention, chip)) / ws_ideal_cycles(network, d, convention)
