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
