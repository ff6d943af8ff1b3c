"""HDF5 archives of ``xarray.Dataset`` results: valid netCDF4, written atomically, with provenance.

An archive is one ``.h5`` file that plain h5py reads and that is also a valid netCDF4
file (xarray's ``netcdf4`` and ``h5netcdf`` engines both open it):

* boolean variables are stored as ``int8`` with ``flag_values = [0, 1]`` and
  ``flag_meanings = "false true"`` (CF), and read back as booleans;
* dict, list and boolean attributes are stored as JSON text (``None`` as ``""``);
* the file carries ``Conventions = "CF-1.10"``.

``write_dataset(ds, path)``
    Writes ``ds`` to a temporary file in the destination folder, then ``os.replace``: a
    crash or Ctrl-C never leaves a half-written archive nor a stray temporary file, and an
    existing archive is only replaced by a complete one.  The file mode follows the user's
    umask.
``read_dataset(path)``
    Loads an archive fully into memory (the file is closed on return); archives written
    before this format (HDF5 booleans, ``invalid_netcdf``) still read.
``provenance(**extra)``
    Attributes every archive carries: package version, git commit and whether the work
    tree had uncommitted changes, the full command line, UTC time, library versions.
``ArchiveLock(path)``
    An exclusive lock on an archive path, so two runs cannot write one file.

Examples
--------
>>> import tempfile, pathlib, numpy as np, xarray as xr
>>> ds = xr.Dataset({"ok": ("x", np.array([True, False]))}, attrs={"settings": {"n": 4}})
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = write_dataset(ds, pathlib.Path(tmp) / "a.h5")
...     back = read_dataset(path)
>>> back["ok"].dtype, back.attrs["settings"]
(dtype('bool'), '{"n": 4}')
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import shlex
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import xarray as xr

from devices.errors import ArchiveError

__all__ = ["write_dataset", "read_dataset", "provenance", "check_writable", "encode_dataset", "decode_dataset",
           "ArchiveLock", "CONVENTIONS"]

log = logging.getLogger(__name__)

_ENGINE = "h5netcdf"
CONVENTIONS = "CF-1.10"
_FLAG_MEANINGS = "false true"


def _json_default(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON-serializable: {type(x).__name__}")


def _clean_attr(value):
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=_json_default)
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
                         for v in value):
            return np.asarray(value)
        return json.dumps(list(value), default=_json_default)
    if isinstance(value, Path):
        return str(value)
    return value


def _clean_attrs(attrs: dict) -> dict:
    """Attribute values storable in netCDF4: bool -> int, None -> '', dict/list -> JSON text."""
    return {str(k): _clean_attr(v) for k, v in attrs.items()}


def encode_dataset(ds: xr.Dataset) -> xr.Dataset:
    """The dataset as it is stored: booleans as int8 flags, attributes cleaned, ``Conventions`` set.

    Examples
    --------
    >>> import xarray as xr
    >>> enc = encode_dataset(xr.Dataset({"m": ("x", [True, False])}))
    >>> enc["m"].dtype, enc["m"].attrs["flag_meanings"]
    (dtype('int8'), 'false true')
    """
    ds = ds.copy()
    for name in list(ds.variables):
        var = ds[name]
        attrs = _clean_attrs(var.attrs)
        if var.dtype == bool:
            attrs.update(flag_values=np.array([0, 1], np.int8), flag_meanings=_FLAG_MEANINGS)
            if name in ds.coords:
                ds = ds.assign_coords({name: (var.dims, var.values.astype(np.int8), attrs)})
            else:
                ds[name] = (var.dims, var.values.astype(np.int8), attrs)
        else:
            ds[name].attrs = attrs
    ds.attrs = _clean_attrs(ds.attrs)
    ds.attrs["Conventions"] = CONVENTIONS
    return ds


def decode_dataset(ds: xr.Dataset) -> xr.Dataset:
    """Undo :func:`encode_dataset`: boolean flags (int8 with ``flag_meanings = "false true"``) become
    booleans again and the file-format attribute ``Conventions`` is dropped, so that a dataset
    read back from an archive is identical to the one written."""
    ds = ds.copy()
    if ds.attrs.get("Conventions") == CONVENTIONS:
        ds.attrs = {k: v for k, v in ds.attrs.items() if k != "Conventions"}
    for name in list(ds.variables):
        var = ds[name]
        if var.attrs.get("flag_meanings") == _FLAG_MEANINGS and var.dtype.kind in "iu":
            attrs = {k: v for k, v in var.attrs.items() if k not in ("flag_values", "flag_meanings")}
            values = var.values.astype(bool)
            if name in ds.coords:
                ds = ds.assign_coords({name: (var.dims, values, attrs)})
            else:
                ds[name] = (var.dims, values, attrs)
    return ds


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
    if not folder.is_dir():
        raise ArchiveError(f"cannot create folder {str(folder)!r} for output {str(path)!r}: a file is in the way")
    if not os.access(folder, os.W_OK):
        raise ArchiveError(f"folder {str(folder)!r} is not writable (output {str(path)!r})")
    if path.exists() and not os.access(path, os.W_OK):
        raise ArchiveError(f"output {str(path)!r} exists and is not writable")
    return path


def write_dataset(ds: xr.Dataset, path) -> Path:
    """Write ``ds`` to ``path`` atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    ds : xarray.Dataset
        The dataset (see the module docstring for how booleans and attributes are stored).
    path : str or Path
        Destination ``.h5`` file.

    Returns
    -------
    Path
        The destination.

    Raises
    ------
    ArchiveError
        If the file cannot be written; no temporary file is left behind, also on Ctrl-C.
    """
    path = check_writable(path)
    enc = encode_dataset(ds)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        # created through os.open so that the user's umask sets the mode (mkstemp would give 0600)
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        enc.to_netcdf(tmp, engine=_ENGINE)
        os.replace(tmp, path)
    except BaseException as exc:  # also KeyboardInterrupt: never leave the temporary file
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, ArchiveError) or not isinstance(exc, Exception):
            raise
        raise ArchiveError(f"could not write archive {str(path)!r}: {exc}") from exc
    return path


def read_dataset(path) -> xr.Dataset:
    """Read an archive written by :func:`write_dataset` (or an older one) fully into memory.

    Raises
    ------
    ArchiveError
        If the file is missing or is not an HDF5/netCDF dataset.
    """
    path = Path(path)
    if not path.is_file():
        raise ArchiveError(f"archive {str(path)!r} does not exist")
    try:
        with xr.open_dataset(path, engine=_ENGINE) as ds:
            ds = ds.load()
        ds = ds.drop_encoding()  # the file's storage details (int8 flags, chunks) must not follow the data
    except Exception as exc:  # h5py/h5netcdf raise many kinds
        raise ArchiveError(f"{str(path)!r} is not an HDF5/netCDF archive ({type(exc).__name__}: {exc})") from exc
    return decode_dataset(ds)


def _git(*args) -> subprocess.CompletedProcess:
    here = Path(__file__).resolve().parent.parent
    return subprocess.run(["git", "-C", str(here), *args], capture_output=True, text=True, timeout=10, check=False)


def git_state() -> tuple[str, int]:
    """The git commit of the package's checkout and 1 if its tracked files have uncommitted
    changes (``("", -1)`` outside a git checkout)."""
    try:
        out = _git("rev-parse", "HEAD")
        commit = out.stdout.strip()
        if out.returncode != 0 or not commit:
            return "", -1
        dirty = _git("status", "--porcelain", "--untracked-files=no").stdout.strip()
        return commit, int(bool(dirty))
    except (OSError, subprocess.SubprocessError):
        return "", -1


def provenance(**extra) -> dict:
    """Attributes that say where an archive came from.

    Returns
    -------
    dict
        ``package_version``, ``git_commit``, ``git_dirty`` (1: uncommitted changes, 0: clean,
        -1: not a git checkout), ``command`` (the full command line, shell-quoted),
        ``python_executable``, ``host``, ``created_utc``, ``python_version``, ``numpy_version``,
        ``scipy_version``, ``xarray_version``, plus ``extra`` (dicts and lists as JSON text).
    """
    import scipy

    try:
        from importlib.metadata import version

        pkg = version("basisn-crossbar")
    except Exception:
        pkg = "unknown"
    commit, dirty = git_state()
    attrs = {
        "package_version": pkg,
        "git_commit": commit,
        "git_dirty": dirty,
        "command": shlex.join(sys.argv) if sys.argv else "",
        "python_executable": sys.executable,
        "host": socket.gethostname(),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python_version": sys.version.split()[0],
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "xarray_version": xr.__version__,
    }
    attrs.update(extra)
    return _clean_attrs(attrs)


class ArchiveLock:
    """Exclusive lock on an archive path (``<path>.lock``, an OS file lock), as a context manager.

    A second process asking for the same path gets :class:`ArchiveError` at once, naming the
    process that holds it.  The OS releases the lock when its holder dies (also on SIGKILL),
    so a stale lock file never blocks a later run.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = pathlib.Path(tmp) / "a.h5"
    ...     with ArchiveLock(out):
    ...         try:
    ...             ArchiveLock(out).acquire()
    ...         except ArchiveError as exc:
    ...             print("refused")
    refused
    """

    def __init__(self, path):
        self.path = Path(path)
        self.lock_path = self.path.parent / (self.path.name + ".lock")
        self._fd = None

    def acquire(self) -> "ArchiveLock":
        import fcntl

        while True:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                try:
                    holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
                finally:
                    os.close(fd)
                raise ArchiveError(f"another run ({holder}) is writing {str(self.path)!r}; wait for it to finish "
                                   f"or choose another --out") from None
            try:  # the holder before us may have removed the file after we opened it: retry on the new one
                same = os.fstat(fd).st_ino == os.stat(self.lock_path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.unlink(self.lock_path)
        except OSError:
            pass
        os.close(self._fd)  # closing drops the lock
        self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
