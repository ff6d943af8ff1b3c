"""Cycle model: hand-computed small cases, the scheduler path, and errors."""

import numpy as np
import pytest

from basisn.costmodel.cycles import (
    basisn_cycles,
    basisn_cycles_from_steps,
    basisn_pieces,
    crossover,
    scheduled_basisn_steps,
    slowdown,
    ws_cycles,
    ws_ideal_cycles,
)
from basisn.costmodel.networks import Layer, Network
from basisn.costmodel.parameters import BLOCK_BASED, ROW_BASED, ChipModel, ProgrammingScheme
from devices.errors import ParameterError

# one FC layer 512 -> 512 at d = 256: 2 x 2 = 4 crossbars, one position
FC = Network("fc512", (Layer("fc", 512, 512, kind="fc"),))


def test_programming_schemes_scale_with_rows():
    assert ROW_BASED.cycles(128) == 1e5 and BLOCK_BASED.cycles(128) == 1e4
    assert ROW_BASED.cycles(256) == 2e5 and BLOCK_BASED.cycles(64) == 5e3


def test_ws_fits_no_reprogramming():
    assert ws_cycles(FC, 256, 4) == 1.0  # fits exactly: one MVM round
    assert ws_cycles(FC, 256, 400) == 1.0
    assert ws_ideal_cycles(FC, 256) == 1
    assert slowdown(FC, 256, 4) == 1.0


def test_ws_reprogramming_by_hand():
    # M = 2 < 4: compute ceil(4/2) = 2 rounds of 1 position; program 4 crossbars in turn
    assert ws_cycles(FC, 256, 2, "row") == 4 * 2e5 + 2
    assert ws_cycles(FC, 256, 2, "block") == 4 * 2e4 + 2
    allpar = ChipModel(programming_parallelism=None)
    assert ws_cycles(FC, 256, 2, "row", chip=allpar) == 2 * 2e5 + 2
    custom = ProgrammingScheme("x", 10.0, d_ref=256)
    assert ws_cycles(FC, 256, 3, custom) == 4 * 10 + 2


def test_ws_replicates_positions_when_it_fits_twice():
    net = Network("c", (Layer("c", 256, 256, 1, 1, positions=10),))
    assert ws_cycles(net, 256, 1) == 10.0
    assert ws_cycles(net, 256, 2) == 5.0  # two copies split the 10 positions
    assert ws_cycles(net, 256, 3) == 4.0  # three copies: ceil(10 / 3)


def test_basisn_by_hand():
    # pieces = 1 position * 512 kernels * 2 partitions = 1024; 4 bits; p = K = 4
    assert basisn_pieces(FC, 256).tolist() == [1024]
    assert basisn_cycles(FC, 256, 2, 4) == 1024 * 4 / 4 / 2
    assert basisn_cycles(FC, 256, 3, 4) == np.ceil(1024 / 3)
    assert basisn_cycles(FC, 256, 1, 1, ChipModel(tg_sets=4, pieces_per_step=2)) == 512
    m = np.array([1, 2, 1024, 5000])
    assert basisn_cycles(FC, 256, m, 1).tolist() == [256, 128, 1, 1]


def test_scheduler_path_with_disjoint_patterns():
    # 4 kernels, fan_in 4, d = 4, 1-bit codes: kernel i uses basis column i only
    net = Network("tiny", (Layer("fc", 4, 4, kind="fc"),))
    q = np.zeros((4, 1, 4), dtype=np.int64)
    q[np.arange(4), 0, np.arange(4)] = -1  # 1-bit two's complement: -1 is the set bit
    steps, pps = scheduled_basisn_steps(net, 4, 1, K=4, codes={"fc": q})
    assert steps.tolist() == [1] and pps.tolist() == [4.0]
    steps, _ = scheduled_basisn_steps(net, 4, 1, K=2, codes={"fc": q})
    assert steps.tolist() == [2]
    # a column shared by all kernels forces one kernel per step
    q[:, 0, 0] = -1
    steps, _ = scheduled_basisn_steps(net, 4, 1, K=4, codes={"fc": q})
    assert steps.tolist() == [4]
    assert basisn_cycles_from_steps([4, 9], 2) == 2 + 5


def test_scheduler_on_random_codes_is_near_serial():
    # unregularized fine-tuning codes have dense bit planes: about one piece per step
    from basisn.costmodel.networks import digits_mlp

    steps, pps = scheduled_basisn_steps(digits_mlp(), 16, 3, K=4, seed=1)
    assert np.all(pps >= 1.0) and np.all(pps < 1.5)
    pieces = basisn_pieces(digits_mlp(), 16) * 3
    assert np.all(steps <= pieces)  # never more steps than bit planes


def test_crossover():
    m = np.array([1, 2, 3, 4, 5])
    assert crossover([9, 9, 1, 1, 1], [5, 4, 3, 2, 1], m) == 3
    assert crossover([9, 9, 9, 9, 9], [5, 4, 3, 2, 1], m) == -1
    assert crossover([1, 9, 1, 1, 1], [5, 4, 3, 2, 1], m) == 3  # must stay ahead


def test_errors():
    with pytest.raises(ParameterError, match="number of crossbars M = 0"):
        ws_cycles(FC, 256, 0)
    with pytest.raises(ParameterError, match="number of crossbars M"):
        basisn_cycles(FC, 256, np.array([4, 0]), 4)
    with pytest.raises(ParameterError, match="coefficient bits = 0; allowed: an integer in 1..16"):
        basisn_cycles(FC, 256, 4, 0)
    with pytest.raises(ParameterError, match="unknown programming scheme 'fast'"):
        ws_cycles(FC, 256, 4, "fast")
    with pytest.raises(ParameterError, match="d = 0"):
        ws_cycles(FC, 0, 4)
    with pytest.raises(ParameterError, match="pieces_per_step = 5"):
        ChipModel(tg_sets=4, pieces_per_step=5)
    with pytest.raises(ParameterError, match="n_crossbars = 0"):
        ChipModel(n_crossbars=0)
