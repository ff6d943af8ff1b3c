"""The study protocol on a tiny configuration: structure, NaN policy, archive round trip,
figures and summary regenerated from the archive."""

from dataclasses import replace

import numpy as np
import pytest
import xarray as xr

from basisn.data import Dataset, load_digits
from basisn.experiments import StudyConfig, count_runs, network_parallelism, protocols, run_protocol
from basisn.layers import BasisConfig
from basisn.models import basis_mlp, mlp
from basisn.training import AlternatingConfig, TrainConfig
from crossbar.archive import read_dataset, write_dataset
from devices.errors import ParameterError
from tests.scripts import load_study


def tiny_protocol(grid):
    full = load_digits()
    small = Dataset("digits", full.x_train[:200], full.y_train[:200], full.x_test[:100], full.y_test[:100], 10)
    alt = AlternatingConfig(epochs=2, t_coeffs=1, t_basis=1, eta_coeffs=1e-3, eta_basis=1e-4)
    return replace(
        protocols(quick=True)[0], load=lambda: small,
        build_float=lambda rng: mlp((64, 16, 10), rng),
        build_basis=lambda cfg, rng: basis_mlp((64, 16, 10), cfg, rng),
        float_cfg=TrainConfig(epochs=3), finetune_cfg=alt, scratch_cfg=alt, cell_cfg=alt, grid=grid,
    )


CFG = StudyConfig(coeff_bits=(2, 4), d_values=(8, 16), cell_bits=(1, 4), betas=(0.0, 1.0), seeds=(0,), K=2,
                  ref_d=16, ref_bits=4)


@pytest.fixture(scope="module")
def cross_result():
    return run_protocol(tiny_protocol("cross"), CFG)


def test_structure_and_nan_policy(cross_result):
    ds = cross_result
    assert ds["accuracy"].dims == ("coeff_bits", "d", "seed")
    for name, var in ds.data_vars.items():
        assert "units" in var.attrs and "description" in var.attrs, name
    # cross grid: (2 bits, d=8) is the only point off the cross -> NaN, everything else set
    acc = ds["accuracy"].sel(seed=0)
    assert np.isnan(float(acc.sel(coeff_bits=2, d=8)))
    assert np.isfinite(acc.drop_sel(coeff_bits=2).values).all() and np.isfinite(acc.sel(d=16).values).all()
    for name in ("float_accuracy", "cell_accuracy", "reg_accuracy", "scratch_accuracy", "reg_pieces_per_step"):
        assert np.isfinite(ds[name].values).all(), name
    assert ((ds["accuracy"] >= 0) & (ds["accuracy"] <= 1)).sum() == 3
    assert (ds["reg_pieces_per_step"] >= 1).all() and (ds["reg_pieces_per_step"] <= CFG.K).all()
    # the beta=0 entries of both penalties are the grid's reference point
    assert list(ds["penalty"].values) == ["ones", "balanced"]
    ref = ds["reg_accuracy"].sel(beta=0.0, seed=0).values
    assert (ref == float(acc.sel(coeff_bits=4, d=16))).all() and ref.shape == (2,)
    assert count_runs(tiny_protocol("cross"), CFG) == 1 + 3 + 2 + 2 * 1 + 1


def test_archive_round_trip_and_plot_only(cross_result, tmp_path):
    ds = xr.concat([cross_result], dim="dataset").assign_coords(dataset=("dataset", ["digits"]))
    ds.attrs.update(K=CFG.K, ref_d=CFG.ref_d, ref_bits=CFG.ref_bits, digits_model="tiny")
    path = write_dataset(ds, tmp_path / "a.h5")
    back = read_dataset(path)
    xr.testing.assert_identical(back, read_dataset(path))
    xr.testing.assert_allclose(back["accuracy"], ds["accuracy"])
    study = load_study("basisn_accuracy")
    assert study.main(["--plot-only", str(path)]) == 0
    assert len(list(tmp_path.glob("a_*.png"))) == 3
    text = study.summary(back)
    assert "| 4 |" in text and "targets (issue 4)" in text
    assert "regularizer 'ones'" in text and "regularizer 'balanced'" in text
    # an archive without the penalty dim (written before the 'balanced' penalty) still reads
    old = back.sel(penalty="ones", drop=True)
    assert "regularizer 'ones'" in study.summary(old) and "'balanced'" not in study.summary(old).split("targets")[1]


def test_network_parallelism_counts_conv_positions():
    from basisn.models import basis_cnn1d

    rng = np.random.default_rng(0)
    net = basis_cnn1d(BasisConfig(8, 3), rng, length=12, channels=(2, 3))
    with pytest.raises(ParameterError, match="has not seen an input yet"):
        network_parallelism(net, 2)
    net.forward(rng.normal(size=(1, 1, 1, 12)))
    par = network_parallelism(net, 2)
    layers = net.basis_layers()
    assert [layer.positions for layer in layers] == [12, 6, 1]
    from basisn.scheduler import schedule_layer

    expect = sum(schedule_layer(l.core.planes(), 8, 2).n_steps * p for l, p in zip(layers, [12, 6, 1]))
    assert par["steps_per_inference"] == expect


def test_bad_study_config():
    with pytest.raises(ParameterError, match="reference point"):
        StudyConfig(coeff_bits=(1, 2), ref_bits=4)
    with pytest.raises(ParameterError, match="must include 0"):
        StudyConfig(betas=(0.1,))
    with pytest.raises(ParameterError, match="d \\(crossbar size, piece length\\) = 0"):
        StudyConfig(d_values=(0, 16))


def test_cli_rejects_bad_settings_before_running(capsys, tmp_path):
    study = load_study("basisn_accuracy")
    assert study.main(["--quick", "--contest-power", "0.5", "--out", str(tmp_path / "x.h5")]) == 2
    assert "power = 0.5 is outside the allowed range [1, 64]" in capsys.readouterr().err
    assert study.main(["--quick", "--out", str(tmp_path)]) == 2  # a directory, refused before training
    assert "is a directory" in capsys.readouterr().err
    with pytest.raises(ParameterError, match="contest_density = -1.0"):
        StudyConfig(contest_density=-1.0)


def _script():
    return load_study("basisn_accuracy")


@pytest.mark.parametrize("argv, needle", [
    (["--seeds", "2**70"], "--seeds: not an integer: '2**70'"),
    (["--seeds", str(2**70)], "--seeds: 1180591620717411303424 is outside the allowed range"),
    (["--seeds", "-1"], "--seeds: -1 is outside the allowed range"),
    (["--seeds", "1", "1"], "lists a seed twice"),
    (["--K", "0"], "--K: 0 is outside the allowed range"),
    (["--only", "cifar"], "argument --only: invalid choice: 'cifar'"),
    (["--jobs", "0"], "--jobs: 0 is outside"),
    (["--scheduler", "somewhere"], "--scheduler must be a Dask scheduler address"),
])
def test_every_bad_argument_exits_2_in_one_line_before_training(tmp_path, capsys, argv, needle):
    assert _script().main(["--quick", *argv, "--out", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1, err
    assert not (tmp_path / "x.h5").exists()


def test_seed_tasks_give_the_protocol_numbers(tmp_path, monkeypatch):
    """One task per (data set, seed), run in two (forked) processes and combined with xr.concat,
    equals the protocol run seed after seed in this process; the archive is valid netCDF4."""
    import basisn.accuracy_study as acc

    monkeypatch.setattr(acc, "protocols", lambda quick: [tiny_protocol("cross")])  # inherited by forked workers
    cfg = replace(CFG, seeds=(3, 1))
    ds = acc.run_study(cfg, True, tmp_path / "acc.h5", only=["digits"], jobs=2, progress=False)
    ref = run_protocol(tiny_protocol("cross"), cfg)
    assert ds["seed"].values.tolist() == [3, 1] and ds["dataset"].values.tolist() == ["digits"]
    for name in ref.data_vars:
        np.testing.assert_array_equal(ds[name].sel(dataset="digits").values, ref[name].values, err_msg=name)
    with xr.open_dataset(tmp_path / "acc.h5", engine="netcdf4") as nc:
        assert nc.attrs["study"] == "basisn_accuracy" and nc.attrs["Conventions"] == "CF-1.10"
    assert acc.AccuracyStudy().recognizes(read_dataset(tmp_path / "acc.h5"))
    # the command line on the same tasks: archive, summary and the three figures (the figures
    # once failed on the engine's text variables)
    out = tmp_path / "cli" / "acc.h5"
    assert _script().main(["--quick", "--only", "digits", "--seeds", "3", "--jobs", "1", "--no-progress",
                           "--out", str(out)]) == 0
    assert sorted(p.name for p in out.parent.glob("*.png")) == [
        "acc_fig5_bits_vs_d.png", "acc_fig6_cell_bits.png", "acc_regularizer.png"]
