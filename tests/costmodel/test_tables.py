"""Datasets for the paper figures: units, paper columns, archive round trip."""

import numpy as np
import xarray as xr

from basisn.costmodel import ChipModel, convention_counts, cycle_sweep, slowdown_table, table1
from basisn.costmodel.tables import PAPER_TABLE1, crossbar_grid
from crossbar.archive import read_dataset, write_dataset


def test_table1_columns_units_and_paper_values():
    t = table1()
    for name, var in t.data_vars.items():
        assert "units" in var.attrs, name
    assert t.crossbars_paper.values.tolist() == [480, 460, 395]
    assert t.crossbars.values.tolist() == [480, 465, 391]
    assert t.crossbars_plain.values.tolist() == [466, 454, 365]
    np.testing.assert_allclose(t.ratio_available, 48 / t.crossbars, rtol=1e-12)
    assert np.all(t.cycle_ratio_row < t.cycle_ratio_block)  # row-based is the slower baseline
    assert np.all(t.cycle_ratio_block < 0.05)  # BasisN faster on 48 crossbars (model outcome)
    assert t.cycle_ratio_row_paper.sel(network="densenet121-imagenet") == PAPER_TABLE1["cycle_ratio_row"]["densenet121-imagenet"]


def test_table1_cycle_ratio_by_formula():
    # DenseNet-CIFAR100 at d = 256, M = 48, 4 bits, p = K = 4, sequential programming:
    # WS(row) = sum_l P_l ceil(N_l / 48) + 465 * 2e5; BasisN = sum_l ceil(W_l * 4 / (48 * 4))
    from basisn.costmodel.cycles import basisn_pieces
    from basisn.costmodel.mapping import crossbars_per_layer
    from basisn.costmodel.networks import get_network

    net = get_network("densenet121-cifar100")
    n_l = crossbars_per_layer(net, 256, "bias-row")
    p_l = np.array([lay.positions for lay in net.layers])
    ws = (p_l * np.ceil(n_l / 48)).sum() + 465 * 2e5
    bn = np.ceil(basisn_pieces(net, 256) * 4 / (48 * 4)).sum()
    t = table1()
    assert float(t.cycle_ratio_row.sel(network=net.name)) == bn / ws


def test_cycle_sweep_small_and_slowdown():
    s = cycle_sweep(("digits-mlp",), ds=(64,), bits=(1, 2), max_crossbars=50)
    for name, var in s.data_vars.items():
        assert "units" in var.attrs, name
    need = int(s.crossbars_needed.sel(network="digits-mlp", d=64))
    assert need == 9  # (65 x 128) -> 2x2, (129 x 64) -> 3x1, (65 x 10) -> 2x1 with bias rows
    assert need in s.n_crossbars.values and 48 in s.n_crossbars.values
    assert np.all(s.pieces_per_step >= 1)
    assert np.all(np.diff(s.basisn_cycles.sel(network="digits-mlp", d=64, bits=1).values) <= 0)
    sl = slowdown_table()
    assert np.all(sl.slowdown.values > 1)
    allpar = slowdown_table(chip=ChipModel(programming_parallelism=None))
    assert np.all(allpar.slowdown.values < sl.slowdown.values)


def test_convention_counts_and_grid():
    c = convention_counts()
    assert c.sizes == {"network": 3, "convention": 48}
    assert int(c.abs_error.min()) == 9
    g = crossbar_grid(1000, 20, extra=[48, 480])
    assert g[0] == 1 and g[-1] == 1000 and {47, 48, 479, 480} <= set(g.tolist())


def test_archive_round_trip(tmp_path):
    t = table1()
    path = write_dataset(t, tmp_path / "t.h5")
    xr.testing.assert_identical(read_dataset(path), t)
