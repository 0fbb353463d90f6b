"""Labelled image sets for the MLP experiment (numpy only, no torch)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ImageData:
    """Labelled images as float32 rows scaled to [−1, 1], split into train and test.

    Attributes
    ----------
    x_train, x_test : ndarray of shape (n, n_inputs)
    y_train, y_test : ndarray of int64 labels in ``0 .. n_classes - 1``
    test_ids : tuple of str
        One identifier per test image (the ``question`` column of the responses table).
    n_classes : int
    name : str
        Where the images came from.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_ids: tuple[str, ...]
    n_classes: int = 10
    name: str = ""

    @property
    def n_inputs(self) -> int:
        return int(self.x_train.shape[1])

    def fingerprint(self) -> str:
        """SHA-256 of the arrays (recorded in run manifests)."""
        digest = hashlib.sha256()
        for arr in (self.x_train, self.y_train, self.x_test, self.y_test):
            digest.update(np.ascontiguousarray(arr).tobytes())
        digest.update("\n".join(self.test_ids).encode())
        return digest.hexdigest()


def load_digits_data(*, test_fraction: float = 0.2, split_seed: int = 0) -> ImageData:
    """scikit-learn's bundled 8×8 handwritten digits (1,797 images, no download).

    Pixels (0–16) are scaled to [−1, 1], the range of the paper's uniform noise.
    The split is stratified and fixed by ``split_seed``; test image ids are
    ``digits-<row in load_digits>``.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = bunch.data.astype(np.float32) / 8.0 - 1.0
    y = bunch.target.astype(np.int64)
    idx = np.arange(len(y))
    train_idx, test_idx = train_test_split(
        idx, test_size=test_fraction, random_state=split_seed, stratify=y
    )
    test_idx = np.sort(test_idx)
    return ImageData(
        x_train=x[train_idx],
        y_train=y[train_idx],
        x_test=x[test_idx],
        y_test=y[test_idx],
        test_ids=tuple(f"digits-{i}" for i in test_idx),
        n_classes=10,
        name="sklearn-digits-8x8",
    )
