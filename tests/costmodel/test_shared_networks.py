"""The cost model's small networks are the trained models: one definition of their shapes."""

import numpy as np
import pytest

from basisn.costmodel.networks import DIGITS_MLP_SIZES, MNIST1D_CHANNELS, digits_mlp, mnist1d_cnn
from basisn.costmodel.tables import schedule_rule_table
from basisn.experiments import protocols
from basisn.nn import Conv2D, Dense


def _weight_shapes(model):
    """(kernels, fan_in) of every Conv2D / Dense layer, in order."""
    out = []
    stack = [model]
    while stack:
        m = stack.pop(0)
        if isinstance(m, (Conv2D, Dense)):
            w = m.W.value
            out.append((w.shape[0], int(np.prod(w.shape[1:]))))
        stack = list(getattr(m, "layers", [])) + stack
    return out


@pytest.mark.parametrize("name, net", [("digits", digits_mlp()), ("mnist1d", mnist1d_cnn())])
def test_cost_model_layers_match_the_trained_float_model(name, net):
    proto = {p.name: p for p in protocols(quick=True)}[name]
    model = proto.build_float(np.random.default_rng(0))
    trained = _weight_shapes(model)
    assert trained, "no weight layers found"
    assert [(lay.n, lay.fan_in) for lay in net.layers] == trained


def test_the_shared_constants_are_the_trained_ones():
    assert MNIST1D_CHANNELS == (32, 32)  # the trained MNIST-1D CNN (was 16/32 in the cost model)
    assert DIGITS_MLP_SIZES == (64, 128, 64, 10)
    assert [lay.n for lay in mnist1d_cnn().layers] == [32, 32, 10]


def test_schedule_rule_table_reports_both_rules():
    t = schedule_rule_table(networks=("digits-mlp",), ds=(64,), bits=(2, 4), K=4)
    assert list(t.rule.values) == ["one_bit", "mixed"]
    one, mixed = t.steps.sel(rule="one_bit"), t.steps.sel(rule="mixed")
    assert np.all(one.values > 0) and np.all(mixed.values > 0)
    # pieces x bits is the same work under both rules: pieces per step is its inverse
    np.testing.assert_allclose((t.pieces_per_step * t.steps).sel(rule="one_bit"),
                               (t.pieces_per_step * t.steps).sel(rule="mixed"), rtol=1e-12)
    assert np.all(t.pieces_per_step.values <= 4 + 1e-12)
