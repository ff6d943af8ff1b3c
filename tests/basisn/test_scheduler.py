"""TG scheduler: never a basis contest, every nonzero plane scheduled once, bounds hold."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from basisn.quant import bit_planes
from basisn.scheduler import schedule_codes, schedule_layer
from devices.errors import BasisContestError, ParameterError


@st.composite
def layer_planes(draw):
    d = draw(st.integers(1, 12))
    shape = (draw(st.integers(1, 6)), draw(st.integers(1, 3)), draw(st.integers(1, 4)), d)
    density = draw(st.sampled_from([0.05, 0.2, 0.5, 0.9]))
    seed = draw(st.integers(0, 2**31 - 1))
    planes = np.random.default_rng(seed).random(shape) < density
    return planes, d, draw(st.integers(1, 5))


@settings(max_examples=150, deadline=None)
@given(layer_planes())
def test_no_step_ever_has_a_contest(case):
    planes, d, K = case
    sch = schedule_layer(planes, d, K)
    sch.verify(planes)  # raises on a contest, a missing or a duplicated item
    n_nonzero = int(planes.any(axis=-1).sum())
    assert sch.n_items == n_nonzero
    assert sch.lower_bound <= sch.n_steps <= n_nonzero
    if sch.n_steps:
        assert 1.0 <= sch.mean_pieces_per_step <= K
    for s in range(sch.n_steps):
        _, pats = sch.step_patterns(planes, s)
        assert pats.sum(axis=0).max() <= 1  # each column routed to at most one TG set


@settings(max_examples=60, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 8)),
              elements=st.integers(-8, 7)), st.integers(1, 4))
def test_schedule_codes_matches_planes(q, K):
    sch = schedule_codes(q, 4, K)
    sch.verify(bit_planes(q, 4))


def test_disjoint_patterns_share_one_step():
    # paper fig. 4(b): [0,1,0,1] and [1,0,0,0] run together; 4(a): [1,1,1,1] and [1,0,0,0] do not
    ok = np.array([[[0, 1, 0, 1]], [[1, 0, 0, 0]]], dtype=bool)
    assert schedule_layer(ok, 4, 2).n_steps == 1
    clash = np.array([[[1, 1, 1, 1]], [[1, 0, 0, 0]]], dtype=bool)
    assert schedule_layer(clash, 4, 2).n_steps == 2


def test_one_hot_patterns_fill_all_sets():
    # 8 one-hot patterns on distinct columns, K=4 -> exactly 2 steps of 4
    planes = np.eye(8, dtype=bool)[:, None, :]
    sch = schedule_layer(planes, 8, 4, positions=10)
    assert sch.n_steps == 2 and sch.mean_pieces_per_step == 4.0
    assert sch.steps_per_inference == 20


def test_partitions_never_share_a_step():
    planes = np.zeros((1, 2, 1, 4), dtype=bool)
    planes[0, 0, 0, 0] = planes[0, 1, 0, 1] = True  # disjoint, but different input slices
    assert schedule_layer(planes, 4, 4).n_steps == 2


def test_verify_detects_a_contest():
    planes = np.ones((2, 1, 4), dtype=bool)
    sch = schedule_layer(planes, 4, 2)
    forged = sch.__class__(**{**sch.__dict__, "step": np.zeros(2, dtype=np.int64),
                               "tg_set": np.arange(2), "n_steps": 1})
    with pytest.raises(BasisContestError, match="columns \\[0, 1, 2, 3\\]"):
        forged.verify(planes)


@pytest.mark.parametrize("kwargs, match", [
    (dict(planes=np.zeros((2, 1, 4), bool), d=0, K=1), "d .* outside"),
    (dict(planes=np.zeros((2, 1, 4), bool), d=5, K=1), "d = 5"),
    (dict(planes=np.zeros((2, 1, 4), bool), d=4, K=0), "K .* outside"),
    (dict(planes=np.zeros((2, 17, 4), bool), d=4, K=1), "bits .* outside"),
    (dict(planes=np.zeros((4,), bool), d=4, K=1), "shape"),
    (dict(planes=np.full((2, 1, 4), 2), d=4, K=1), "bool"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        schedule_layer(**kwargs)
