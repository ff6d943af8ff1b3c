"""Layer shapes against published parameter counts (exact integers, no tolerance).

Truth: the parameter counts that the reference implementations report --
torchvision ``densenet121()`` 7,978,856; torchvision ``resnet34()`` 21,797,672;
kuangliu/pytorch-cifar ``ResNet34()`` (CIFAR-10) 21,282,122. They include batch-norm
weights and biases (2 per channel) and the classifier bias, which are added here from the
layer list (a BN after every conv in ResNet; before every conv but the stem, plus after
the stem and at the end, in DenseNet).
"""

import pytest

from basisn.costmodel.networks import (
    BIG_NETWORKS,
    NETWORK_NAMES,
    Layer,
    densenet121,
    digits_mlp,
    get_network,
    mnist1d_cnn,
    resnet34_cifar,
)
from devices.errors import ParameterError


def test_densenet121_imagenet_matches_torchvision_parameter_count():
    net = densenet121("imagenet")
    convs = [lay for lay in net.layers if lay.kind == "conv"]
    assert len(convs) == 120 and len(net.layers) == 121  # "121" = 120 convs + classifier
    bn_channels = 64 + sum(lay.t for lay in convs[1:]) + 1024  # norm0, every pre-conv BN, norm5
    assert net.n_weights + 2 * bn_channels + 1000 == 7_978_856


def test_densenet121_cifar_differs_only_in_stem_and_classifier():
    a, b = densenet121("imagenet"), densenet121("cifar100")
    assert [(x.n, x.t) for x in a.layers[1:-1]] == [(x.n, x.t) for x in b.layers[1:-1]]
    assert (b.layers[0].kh, b.layers[-1].n) == (3, 100)
    assert a.layers[-1].t == b.layers[-1].t == 1024


def test_resnet34_matches_reference_parameter_counts():
    cifar10 = resnet34_cifar(10)
    bn = sum(lay.n for lay in cifar10.layers if lay.kind == "conv")
    assert len(cifar10.layers) == 37  # 33 convs + 3 projection shortcuts + fc
    assert cifar10.n_weights + 2 * bn + 10 == 21_282_122
    # torchvision: 7x7 stem (64*3*(49-9) more weights) and 1000 classes
    imnet = resnet34_cifar(1000)
    assert imnet.n_weights + 2 * bn + 1000 + 64 * 3 * 40 == 21_797_672


def test_positions_follow_the_feature_maps():
    net = densenet121("imagenet")
    by_name = {lay.name: lay for lay in net.layers}
    assert by_name["conv0"].positions == 112 * 112
    assert by_name["denseblock1.layer1.conv1"].positions == 56 * 56
    assert by_name["denseblock4.layer16.conv2"].positions == 7 * 7
    assert by_name["classifier"].positions == 1
    r = {lay.name: lay for lay in resnet34_cifar().layers}
    assert r["layer4.0.conv1"].positions == 4 * 4 and r["layer4.0.shortcut"].fan_in == 256


def test_small_models():
    mlp = digits_mlp()
    assert [(lay.n, lay.t) for lay in mlp.layers] == [(128, 64), (64, 128), (10, 64)]
    cnn = mnist1d_cnn()
    assert [(lay.n, lay.fan_in, lay.positions) for lay in cnn.layers] == [(32, 5, 40), (32, 160, 20), (10, 320, 1)]  # the trained model (issue 14)


def test_registry_and_errors():
    for name in NETWORK_NAMES:
        assert get_network(name).name == name
    assert set(BIG_NETWORKS) <= set(NETWORK_NAMES)
    with pytest.raises(ParameterError, match="'vgg16'.*densenet121-imagenet"):
        get_network("vgg16")
    with pytest.raises(ParameterError, match="'svhn'"):
        densenet121("svhn")
    with pytest.raises(ParameterError, match="n must be an integer >= 1, got 0"):
        Layer("x", 0, 3)
    with pytest.raises(ParameterError, match="kind"):
        Layer("x", 1, 3, kind="lstm")
