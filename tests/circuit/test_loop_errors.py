"""Bad input gets a clear error from devices.errors."""

import dataclasses

import numpy as np
import pytest

from basisn.circuit import ChipSystem, CircuitCrossbar, HardwarePreset, get_preset, map_basis
from basisn.circuit.feedback import circuit_aware
from basisn.circuit.loop import LoopConfig
from basisn.layers import BasisConfig
from basisn.models import basis_mlp
from devices import NMOSLevel1, TransmissionGate
from devices.errors import BasisContestError, ParameterError


def test_basis_that_does_not_fit(realistic8):
    with pytest.raises(ParameterError, match=r"does not fit the 8x8 crossbar"):
        map_basis(np.eye(16), realistic8)
    with pytest.raises(ParameterError, match="all zero"):
        map_basis(np.zeros((8, 8)), realistic8)
    with pytest.raises(ParameterError, match="NaN"):
        map_basis(np.full((8, 8), np.nan), realistic8)


@pytest.mark.parametrize("field, value, match", [
    ("d", 1, r"d must be an integer in \[2, 256\]"),
    ("d", 1024, r"d must be an integer in \[2, 256\]"),
    ("K", 0, r"K must be an integer in \[1, 16\]"),
    ("K", 9, "exceeds d"),
    ("v_read", 5.0, "v_read"),
    ("encoding", "offset", "encoding"),
    ("access", NMOSLevel1(kp=1e-6, w=0.1e-6, l=1e-6, v_gate=0.5), r"g_max \* r_on"),
    ("chip_seed", -1, "chip_seed"),
])
def test_preset_out_of_range(realistic8, field, value, match):
    with pytest.raises(ParameterError, match=match):
        dataclasses.replace(realistic8, **{field: value})


def test_unknown_preset_and_fields():
    with pytest.raises(ParameterError, match="known"):
        get_preset("fastest")
    with pytest.raises(ParameterError, match="unknown preset field"):
        get_preset("neurram", r_tg=5)
    with pytest.raises(ParameterError):
        HardwarePreset(tg=TransmissionGate(1e3, 1e9), access="1k")


def test_schedule_with_contest(basis8, realistic8):
    m = map_basis(basis8, realistic8)
    pats = np.zeros((3, 8), bool)
    pats[0, [1, 2]] = True
    pats[2, [2, 5]] = True
    with pytest.raises(BasisContestError, match="column") as info:
        ChipSystem(m).step_transfer(pats)
    assert info.value.columns == [2]
    with pytest.raises(ParameterError, match="shape"):
        m.check_patterns(np.zeros((4, 8), bool))  # more sets than K


def test_network_and_crossbar_size_mismatch(basis8, realistic8):
    chip = ChipSystem(map_basis(basis8, realistic8))
    net = basis_mlp((16, 4), BasisConfig(4, 2), np.random.default_rng(0))
    with pytest.raises(ParameterError, match="does not match"):
        net.forward(np.zeros((1, 16)), crossbar=CircuitCrossbar(chip))
    with pytest.raises(ParameterError, match="does not match"):
        with circuit_aware(net, CircuitCrossbar(chip)):
            pass


def test_loop_config_validation():
    with pytest.raises(ParameterError, match="unknown data set"):
        LoopConfig(datasets=("cifar",))
    with pytest.raises(ParameterError, match="unknown hardware preset"):
        LoopConfig(presets=("nope",))
    with pytest.raises(ParameterError, match="bad preset override"):
        LoopConfig(overrides={"colour": 1})
    with pytest.raises(ParameterError, match="K"):
        LoopConfig(d=4, K=8)


def test_loop_config_seeds():
    with pytest.raises(ParameterError, match="seeds"):
        LoopConfig(seeds=(0, 0))
    with pytest.raises(ParameterError, match="seeds"):
        LoopConfig(seeds=())


def test_bad_weight_range(realistic8):
    with pytest.raises(ParameterError, match="weight_range"):
        dataclasses.replace(realistic8, weight_range="clip")
