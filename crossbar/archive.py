"""HDF5 archives of ``xarray.Dataset`` results, written atomically, with provenance.

``write_dataset(ds, path)``
    Writes ``ds`` to ``path`` (HDF5 through h5netcdf) via a temporary file in the same
    folder and ``os.replace``, so a crash never leaves a half-written archive and an
    existing archive is only replaced by a complete one.
``read_dataset(path)``
    Loads an archive fully into memory (the file is closed on return).
``provenance(**extra)``
    Attributes every archive carries: package version, git commit (if any), command
    line, UTC time, Python/NumPy/SciPy versions, plus ``extra``.
"""

from __future__ import annotations

import datetime as _dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from devices.errors import ArchiveError

__all__ = ["write_dataset", "read_dataset", "provenance", "check_writable"]

_ENGINE = "h5netcdf"


def _clean_attrs(attrs: dict) -> dict:
    """Make attribute values storable in netCDF4/HDF5 (bools -> int, None -> '')."""
    out = {}
    for key, value in attrs.items():
        if isinstance(value, (bool, np.bool_)):
            value = int(value)
        elif value is None:
            value = ""
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
            value = ", ".join(value)
        elif isinstance(value, dict):
            value = repr(value)
        out[key] = value
    return out


def check_writable(path) -> Path:
    """Check that ``path`` can be created (its folder exists or can be made, and is writable).

    Raises
    ------
    ArchiveError
        Naming the path and the reason.
    """
    path = Path(path)
    if path.exists() and path.is_dir():
        raise ArchiveError(f"output path {str(path)!r} is a directory; give a file name such as {str(path / 'result.h5')!r}")
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchiveError(f"cannot create folder {str(folder)!r} for output {str(path)!r}: {exc.strerror or exc}") from exc
    if not os.access(folder, os.W_OK):
        raise ArchiveError(f"folder {str(folder)!r} is not writable (output {str(path)!r})")
    return path


def write_dataset(ds: xr.Dataset, path) -> Path:
    """Write ``ds`` to ``path`` atomically (temporary file, then rename).

    Parameters
    ----------
    ds : xarray.Dataset
        The dataset; attributes of the dataset and of every variable are made
        storable (bool -> int, None -> '').
    path : str or Path
        Destination ``.h5`` file.

    Returns
    -------
    Path
        The destination.
    """
    path = check_writable(path)
    ds = ds.copy()
    ds.attrs = _clean_attrs(ds.attrs)
    for name in list(ds.variables):
        ds[name].attrs = _clean_attrs(ds[name].attrs)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine=_ENGINE, invalid_netcdf=True)
        os.replace(tmp, path)
    except Exception as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError(f"could not write archive {str(path)!r}: {exc}") from exc
    return path


def read_dataset(path) -> xr.Dataset:
    """Read an archive written by :func:`write_dataset` fully into memory."""
    path = Path(path)
    if not path.is_file():
        raise ArchiveError(f"archive {str(path)!r} does not exist")
    try:
        with xr.open_dataset(path, engine=_ENGINE) as ds:
            return ds.load()
    except Exception as exc:  # h5py/h5netcdf raise many kinds
        raise ArchiveError(f"could not read archive {str(path)!r}: {exc}") from exc


def _git_commit() -> str:
    here = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )
        commit = out.stdout.strip()
        if out.returncode != 0 or not commit:
            return ""
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=False,
        ).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def provenance(**extra) -> dict:
    """Attributes that say where an archive came from.

    Returns
    -------
    dict
        ``package_version``, ``git_commit``, ``command``, ``created_utc``,
        ``python_version``, ``numpy_version``, ``scipy_version`` and ``extra``.
    """
    import scipy

    try:
        from importlib.metadata import version

        pkg = version("basisn-crossbar")
    except Exception:
        pkg = "unknown"
    attrs = {
        "package_version": pkg,
        "git_commit": _git_commit(),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]) if sys.argv else "",
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python_version": sys.version.split()[0],
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
    }
    attrs.update(extra)
    return _clean_attrs(attrs)
