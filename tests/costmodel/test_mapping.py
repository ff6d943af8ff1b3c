"""Crossbar counts: hand-checked small cases, then the paper's Table 1 column."""

import math

import pytest

from basisn.costmodel.mapping import (
    CONVENTIONS,
    PAPER_CROSSBARS_256,
    MappingConvention,
    convention_grid,
    crossbar_count,
    crossbars_per_layer,
)
from basisn.costmodel.networks import Layer, Network
from devices.errors import ParameterError


def one_fc(n, t, bias=True):
    return Network("fc", (Layer("fc", n, t, kind="fc", has_bias=bias),))


def test_single_fc_layer_by_hand():
    net = one_fc(300, 1000)  # matrix (300 kernels, 1000 inputs)
    # rows = 1000 -> 4 blocks of 256, cols = 300 -> 2 blocks: 8
    assert crossbar_count(net, 256, "plain") == 8
    assert crossbar_count(net, 256, "bias-row") == 8  # 1001 rows still 4 blocks
    assert crossbar_count(net, 256, "differential") == 4 * 3  # 600 columns
    assert crossbar_count(net, 256, "dense-packing") == math.ceil(300 * 1000 / 256**2)  # 5
    assert crossbar_count(net, 1000, "plain") == 1
    assert crossbar_count(net, 1, "plain") == 300_000


def test_network_that_fits_exactly():
    net = one_fc(256, 256, bias=False)
    assert crossbar_count(net, 256, "plain") == 1
    assert crossbar_count(net, 256, "bias-row") == 2  # the bias row spills into a 2nd crossbar
    assert crossbar_count(net, 128, "plain") == 4


def test_conv_layer_uses_t_w_h():
    net = Network("c", (Layer("c", 32, 128, 3, 3, positions=49),))
    assert crossbars_per_layer(net, 256).tolist() == [math.ceil(1152 / 256)]  # 5


def test_transposed_mapping_gives_the_same_count():
    for n, t in [(300, 1000), (64, 27), (513, 1025)]:
        for d in (64, 100, 256):
            assert crossbar_count(one_fc(n, t), d) == crossbar_count(one_fc(t, n), d)


def test_first_and_last_exclusion():
    net = Network("two", (Layer("a", 10, 10), Layer("b", 10, 10), Layer("c", 10, 10, kind="fc")))
    conv = MappingConvention("x", include_first=False, include_last=False)
    assert crossbar_count(net, 16, conv) == 1
    assert crossbars_per_layer(net, 16, conv).tolist() == [0, 1, 0]


def test_plain_count_is_below_the_paper():
    # regression of the numbers reported in the README (exact integers)
    got = {n: crossbar_count(n, 256, "plain") for n in PAPER_CROSSBARS_256}
    assert got == {"densenet121-imagenet": 466, "densenet121-cifar100": 454, "resnet34-cifar100": 365}
    assert all(got[n] < PAPER_CROSSBARS_256[n] for n in got)


def test_bias_row_convention_is_the_best_match():
    got = {n: crossbar_count(n, 256, "bias-row") for n in PAPER_CROSSBARS_256}
    assert got == {"densenet121-imagenet": 480, "densenet121-cifar100": 465, "resnet34-cifar100": 391}
    # within 1.3 % of every Table 1 value, exact for DenseNet-ImageNet
    for n, paper in PAPER_CROSSBARS_256.items():
        assert abs(got[n] - paper) / paper < 0.013
    errors = {c.name: sum(abs(crossbar_count(n, 256, c) - p) for n, p in PAPER_CROSSBARS_256.items())
              for c in convention_grid()}
    best = min(errors, key=errors.get)
    assert best == "bias rows: all, packing: ceil" and errors[best] == 9
    # no discrete convention reproduces all three numbers
    assert min(errors.values()) > 0
    assert len(errors) == 48


def test_bad_input_names_value_and_range():
    with pytest.raises(ParameterError, match=r"d = 0; allowed: an integer >= 1"):
        crossbar_count("resnet34-cifar100", 0)
    with pytest.raises(ParameterError, match=r"d = -64"):
        crossbar_count("resnet34-cifar100", -64)
    with pytest.raises(ParameterError, match=r"d = 2.5"):
        crossbar_count("resnet34-cifar100", 2.5)
    with pytest.raises(ParameterError, match="unknown network 'alexnet'"):
        crossbar_count("alexnet", 256)
    with pytest.raises(ParameterError, match="unknown mapping convention 'magic'.*plain"):
        crossbar_count("resnet34-cifar100", 256, "magic")
    with pytest.raises(ParameterError, match="bias_rows"):
        MappingConvention("x", bias_rows="some")
    assert set(CONVENTIONS) >= {"plain", "bias-row"}
