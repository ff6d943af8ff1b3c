"""The scheduler's packing rules: one bit significance per step (the paper's, default) or mixed."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from basisn.quant import bit_planes
from basisn.scheduler import RULES, schedule_codes, schedule_layer
from devices.errors import ParameterError


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 10), st.integers(1, 5), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4),
       st.sampled_from([0.1, 0.3, 0.6]), st.integers(0, 2**31 - 1))
def test_one_bit_rule_keeps_one_significance_per_step(d, kernels, parts, bits, K, density, seed):
    planes = np.random.default_rng(seed).random((kernels, parts, bits, d)) < density
    one = schedule_layer(planes, d, K)
    mixed = schedule_layer(planes, d, K, rule="mixed")
    assert one.rule == "one_bit" and mixed.rule == "mixed"
    one.verify(planes)
    mixed.verify(planes)
    for s in range(one.n_steps):
        assert np.unique(one.bit[one.step == s]).size == 1
    assert one.n_items == mixed.n_items == int(planes.any(axis=-1).sum())
    # the one-bit bound sums per-significance bounds, so it never undercuts the mixed one
    assert mixed.lower_bound <= one.lower_bound <= one.n_steps


def test_mixed_packs_significances_together_one_bit_does_not():
    planes = np.zeros((2, 1, 2, 4), bool)
    planes[0, 0, 0, 0] = planes[1, 0, 1, 1] = True  # disjoint columns, bits 0 and 1
    assert schedule_layer(planes, 4, 2, rule="mixed").n_steps == 1
    assert schedule_layer(planes, 4, 2).n_steps == 2


def test_verify_refuses_a_mixed_step_labelled_one_bit():
    planes = np.zeros((2, 1, 2, 4), bool)
    planes[0, 0, 0, 0] = planes[1, 0, 1, 1] = True
    mixed = schedule_layer(planes, 4, 2, rule="mixed")
    forged = mixed.__class__(**{**mixed.__dict__, "rule": "one_bit"})
    with pytest.raises(ParameterError, match="mixes bit significances"):
        forged.verify(planes)


def test_schedule_codes_passes_the_rule_and_bad_rule_is_named():
    q = np.random.default_rng(0).integers(-8, 8, size=(6, 2, 8))
    for rule in RULES:
        sch = schedule_codes(q, 4, 3, rule=rule)
        assert sch.rule == rule
        sch.verify(bit_planes(q, 4))
    with pytest.raises(ParameterError, match="rule must be one of"):
        schedule_codes(q, 4, 3, rule="paper")
