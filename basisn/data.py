"""Data sets that need no download, with fixed train/test splits.

``load_digits(test_fraction=0.25, seed=0)``
    scikit-learn's 8x8 digits (1797 images, shipped with scikit-learn), pixels scaled to
    [0, 1], stratified split (1347 train / 450 test by default).
``load_mnist1d(seed=42, num_samples=5000)``
    MNIST-1D generated locally with ``mnist1d.data.make_dataset`` (never
    ``get_dataset``, which downloads); length-40 signals, the package's own 80/20 split
    (4000 train / 1000 test by default).
``Dataset``
    Frozen container; validates shapes, labels and finiteness (NaN refused).

Inputs are dimensionless (network activations); labels are class indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices.errors import ParameterError

from ._checks import check_finite, check_int

__all__ = ["Dataset", "load_digits", "load_mnist1d"]


@dataclass(frozen=True)
class Dataset:
    """A classification data set with a fixed split.

    Raises
    ------
    ParameterError
        If an array contains NaN/inf, sample counts of inputs and labels differ, the
        train and test inputs have different feature shapes, or labels are outside
        ``[0, n_classes)``.
    """

    name: str
    """Short name ("digits", "mnist1d")."""
    x_train: np.ndarray
    """Training inputs (n_train, features...)."""
    y_train: np.ndarray
    """Training labels (n_train,), int."""
    x_test: np.ndarray
    """Test inputs (n_test, features...)."""
    y_test: np.ndarray
    """Test labels (n_test,), int."""
    n_classes: int
    """Number of classes."""

    def __post_init__(self):
        n_classes = check_int(self.n_classes, "n_classes", 2)
        for split in ("train", "test"):
            x = check_finite(getattr(self, "x_" + split), f"x_{split}")
            y = np.asarray(getattr(self, "y_" + split))
            if y.ndim != 1 or y.shape[0] != x.shape[0]:
                raise ParameterError(f"y_{split} has shape {y.shape}; expected ({x.shape[0]},) to match x_{split} {x.shape}")
            if not np.issubdtype(y.dtype, np.integer):
                raise ParameterError(f"y_{split} must hold integer class indices, got dtype {y.dtype}")
            if y.size and (y.min() < 0 or y.max() >= n_classes):
                raise ParameterError(f"y_{split} spans [{y.min()}, {y.max()}]; allowed [0, {n_classes - 1}]")
            x = x.copy()
            x.setflags(write=False)
            y = y.astype(np.int64)
            y.setflags(write=False)
            object.__setattr__(self, "x_" + split, x)
            object.__setattr__(self, "y_" + split, y)
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ParameterError(f"x_train features {self.x_train.shape[1:]} differ from x_test features {self.x_test.shape[1:]}")

    @property
    def n_features(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))

    def as_images(self, height: int, width: int, channels: int = 1) -> "Dataset":
        """The same data with inputs reshaped to NCHW ``(n, channels, height, width)``."""
        n = channels * height * width
        if n != self.n_features:
            raise ParameterError(f"{channels}x{height}x{width} = {n} does not match {self.n_features} features")
        shape = (channels, height, width)
        return Dataset(self.name, self.x_train.reshape((-1,) + shape), self.y_train,
                       self.x_test.reshape((-1,) + shape), self.y_test, self.n_classes)


def load_digits(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """scikit-learn digits, pixels / 16, stratified fixed split.

    Parameters
    ----------
    test_fraction : float
        Share of samples in the test set, in (0, 1).
    seed : int
        Split seed (the default split is the one every result in this package uses).
    """
    from sklearn.datasets import load_digits as _load
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise ParameterError(f"test_fraction = {test_fraction!r} is outside the allowed range (0, 1)")
    bunch = _load()
    x = bunch.data.astype(float) / 16.0
    y = bunch.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return Dataset("digits", xtr, ytr, xte, yte, 10)


def load_mnist1d(seed: int = 42, num_samples: int = 5000) -> Dataset:
    """MNIST-1D generated locally (no download).

    Parameters
    ----------
    seed : int
        Generator seed (42 is the package default and gives the reference data set).
    num_samples : int
        Total samples (>= 100); 80 % train, 20 % test as in the package.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = check_int(seed, "seed", 0)
    args.num_samples = check_int(num_samples, "num_samples", 100)
    data = make_dataset(args)
    return Dataset("mnist1d", data["x"], data["y"], data["x_test"], data["y_test"], 10)
