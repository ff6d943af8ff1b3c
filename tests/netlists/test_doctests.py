"""The numpydoc ``Examples`` of the reader and writer run as doctests."""

import doctest

import netlists.spice


def test_spice_examples_run():
    result = doctest.testmod(netlists.spice, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8
    assert result.failed == 0
