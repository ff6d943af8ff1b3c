"""The Examples sections of the transient modules run (numpydoc examples are tested)."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["crossbar.transient", "crossbar.transient.waveforms", "basisn.scheduler"])
def test_examples_run(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
