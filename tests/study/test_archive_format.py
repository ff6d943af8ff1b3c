"""Archives are HDF5 files that plain h5py reads and that are valid netCDF4 (issue 11, section 5)."""

import json

import h5py
import numpy as np
import pytest
import xarray as xr

from crossbar.archive import read_dataset, write_dataset
from crossbar.study import run
from crossbar.study.demo import Powers, PowersConfig


def sample():
    return xr.Dataset(
        {"flag": (("x",), np.array([True, False, True]), {"units": "1"}),
         "value": (("x",), np.array([1.0, np.nan, 3.0]), {"units": "A"}),
         "name": (("x",), np.array(["a", "bb", ""], dtype=object))},
        coords={"x": [0, 1, 2]},
        attrs={"settings": {"n": 3, "r": [1.0, "inf"]}, "names": ["a", "b"], "on": True, "none": None})


def open_all_ways(path):
    """The archive through h5py, xarray's netcdf4 engine and h5netcdf."""
    with h5py.File(path, "r") as f:
        assert f.attrs["Conventions"] in (b"CF-1.10", "CF-1.10")
        h5 = {k: f[k][()] for k in f.keys()}
    with xr.open_dataset(path, engine="netcdf4") as ds:
        nc = ds.load()
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        h5n = ds.load()
    return h5, nc, h5n


def test_booleans_and_attributes_are_netcdf4(tmp_path):
    path = write_dataset(sample(), tmp_path / "s.h5")
    h5, nc, h5n = open_all_ways(path)
    assert h5["flag"].dtype == np.int8
    for ds in (nc, h5n):
        assert ds.attrs["Conventions"] == "CF-1.10"
        assert ds["flag"].attrs["flag_meanings"] == "false true"
        assert json.loads(ds.attrs["settings"]) == {"n": 3, "r": [1.0, "inf"]}
        assert json.loads(ds.attrs["names"]) == ["a", "b"]
        assert ds.attrs["on"] == 1 and ds.attrs["none"] == ""
    back = read_dataset(path)
    assert back["flag"].dtype == bool and back["flag"].values.tolist() == [True, False, True]
    assert back["name"].values.tolist() == ["a", "bb", ""]


def test_engine_archive_opens_with_every_reader(tmp_path):
    out = tmp_path / "demo.h5"
    run(Powers(), PowersConfig(n=3, fail_x=1), out, progress=False)
    h5, nc, h5n = open_all_ways(out)
    for ds in (nc, h5n):
        assert ds.attrs["study"] == "powers_demo" and "git_dirty" in ds.attrs and ds.attrs["command"]
        assert sorted(set(ds["engine_task_status"].values)) == ["failed", "ok"]
        np.testing.assert_array_equal(ds["value"].values, read_dataset(out)["value"].values)


def test_an_archive_written_the_old_way_still_reads(tmp_path):
    """Before issue 11: invalid_netcdf=True (HDF5 booleans), repr() dict attributes, no Conventions."""
    old = sample()
    old.attrs = {"settings": repr({"n": 3})}
    path = tmp_path / "old.h5"
    old.to_netcdf(path, engine="h5netcdf", invalid_netcdf=True)
    back = read_dataset(path)
    assert back["flag"].dtype == bool and back["flag"].values.tolist() == [True, False, True]
    assert back.attrs["settings"] == "{'n': 3}"


TG_TINY = {
    "baseline": {"n": 8, "k": 2, "r_wire": 1.0, "r_on": 100.0, "r_off": 1e9, "r_summing": 0.0,
                 "cell": "1-100uS/4b", "access": "linear", "density": 0.5},
    "groups": {"size_k": {"n": [4, 8], "k": [1, 2]}, "wire_tg": {"r_wire": [0.0, 1.0], "r_on": [1.0, 10.0]}},
    "cells": {"1-100uS/4b": {"g_min": 1e-6, "g_max": 100e-6, "bits": 4, "sigma": 0.0}},
    "samples": 2, "validate_max_n": 0, "validate_samples": 1,
}


def _tg_archive(tmp_path):
    from crossbar.tgsum import run_study
    from crossbar.tgsum.config import config_from_dict

    out = tmp_path / "tg.h5"
    run_study(config_from_dict(TG_TINY), out, progress=False)
    return out


def _paper_archive(tmp_path):
    from basisn.paper_study import PaperConfig, PaperStudy

    out = tmp_path / "pf.h5"
    run(PaperStudy(), PaperConfig(networks=("digits-mlp",), d=(64,), bits=(1,), max_crossbars=100), out,
        progress=False)
    return out


def _accuracy_archive(tmp_path, monkeypatch):
    from dataclasses import replace

    import basisn.accuracy_study as acc
    from basisn.data import Dataset, load_digits
    from basisn.experiments import StudyConfig, protocols
    from basisn.models import basis_mlp, mlp
    from basisn.training import AlternatingConfig, TrainConfig

    full = load_digits()
    small = Dataset("digits", full.x_train[:100], full.y_train[:100], full.x_test[:50], full.y_test[:50], 10)
    alt = AlternatingConfig(epochs=1, t_coeffs=1, t_basis=1, eta_coeffs=1e-3, eta_basis=1e-4)
    tiny = replace(protocols(quick=True)[0], load=lambda: small, build_float=lambda rng: mlp((64, 8, 10), rng),
                   build_basis=lambda cfg, rng: basis_mlp((64, 8, 10), cfg, rng), float_cfg=TrainConfig(epochs=1),
                   finetune_cfg=alt, scratch_cfg=alt, cell_cfg=alt)
    monkeypatch.setattr(acc, "protocols", lambda quick: [tiny])
    cfg = StudyConfig(coeff_bits=(4,), d_values=(16,), cell_bits=(2,), betas=(0.0, 1.0), seeds=(0,), K=2,
                      ref_d=16, ref_bits=4)
    out = tmp_path / "acc.h5"
    acc.run_study(cfg, True, out, only=["digits"], progress=False)
    return out


@pytest.mark.parametrize("study", ["tg_current_summing", "paper_figures", "basisn_accuracy"])
def test_each_study_archive_opens_with_h5py_netcdf4_and_h5netcdf(tmp_path, monkeypatch, study):
    make = {"tg_current_summing": _tg_archive, "paper_figures": _paper_archive,
            "basisn_accuracy": lambda p: _accuracy_archive(p, monkeypatch)}[study]
    path = make(tmp_path)
    h5, nc, h5n = open_all_ways(path)
    assert "engine_task_key" in h5
    back = read_dataset(path)
    for ds in (nc, h5n):
        assert ds.attrs["study"] == study and ds.attrs["Conventions"] == "CF-1.10"
        assert json.loads(ds.attrs["settings_json"])
        for name, var in back.data_vars.items():
            if var.dtype.kind == "f":
                np.testing.assert_array_equal(ds[name].values, var.values, err_msg=name)
            elif var.dtype == bool:
                assert ds[name].dtype == np.int8 and ds[name].attrs["flag_meanings"] == "false true"
