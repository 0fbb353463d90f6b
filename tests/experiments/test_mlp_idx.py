"""MNIST IDX reader/loader, tested on small IDX files written here (no download)."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from subliminal_stats.errors import InputError
from subliminal_stats.experiments.mnist_idx import MNIST_FILES, load_mnist_idx, read_idx, write_idx


def _hand_written_idx(path, images: np.ndarray) -> None:
    """IDX bytes built by hand from the format description (independent of write_idx)."""
    header = b"\x00\x00\x08" + bytes([images.ndim]) + b"".join(struct.pack(">i", d) for d in images.shape)
    path.write_bytes(header + images.astype(np.uint8).tobytes())


def test_read_idx_matches_hand_written_bytes(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _hand_written_idx(tmp_path / "x-idx3-ubyte", images)
    got = read_idx(tmp_path / "x-idx3-ubyte")
    assert got.dtype == np.uint8 and got.shape == (2, 3, 4)
    np.testing.assert_array_equal(got, images)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_read_roundtrip(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    arr = (rng.normal(size=(5, 7)) * 50).astype(dtype)
    path = write_idx(tmp_path / f"a-idx2{suffix}", arr)
    if suffix == ".gz":
        assert gzip.open(path).read(2) == b"\x00\x00"
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, arr)


def test_int16_is_big_endian(tmp_path):
    write_idx(tmp_path / "s", np.array([1, 256], dtype=np.int16))
    raw = (tmp_path / "s").read_bytes()
    assert raw[:4] == b"\x00\x00\x0b\x01" and raw[4:8] == b"\x00\x00\x00\x02"
    assert raw[8:] == b"\x00\x01\x01\x00"


def test_bad_idx_files_raise_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_idx(tmp_path / "missing")
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x00")
    with pytest.raises(InputError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "code").write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x00")
    with pytest.raises(InputError, match="type code 0x07"):
        read_idx(tmp_path / "code")
    _hand_written_idx(tmp_path / "short", np.zeros((4, 2, 2)))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-3])
    with pytest.raises(InputError, match="truncated or corrupt") as info:
        read_idx(tmp_path / "short")
    assert "\n" not in str(info.value)


def _mnist_folder(tmp_path, n_train=12, n_test=5, gz=False):
    rng = np.random.default_rng(1)
    arrays = {
        "train_images": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, size=n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }
    arrays["train_images"][0, 0, 0] = 0
    arrays["train_images"][0, 0, 1] = 255
    for key, stem in MNIST_FILES.items():
        write_idx(tmp_path / (stem + (".gz" if gz else "")), arrays[key])
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_idx_folder(tmp_path, gz):
    arrays = _mnist_folder(tmp_path, gz=gz)
    data = load_mnist_idx(tmp_path)
    assert data.x_train.shape == (12, 784) and data.x_test.shape == (5, 784)
    assert data.x_train.dtype == np.float32
    # 0 → −1, 255 → +1, 51 → 51/127.5 − 1 = −0.6
    assert data.x_train[0, 0] == -1.0 and data.x_train[0, 1] == 1.0
    flat = arrays["train_images"].reshape(12, -1).astype(float)
    np.testing.assert_allclose(data.x_train, flat / 127.5 - 1, atol=1e-6)
    np.testing.assert_array_equal(data.y_test, arrays["test_labels"])
    assert data.test_ids == tuple(f"mnist-test-{i}" for i in range(5))
    assert data.n_inputs == 784 and data.n_classes == 10


def test_load_mnist_idx_limits_and_errors(tmp_path):
    _mnist_folder(tmp_path)
    data = load_mnist_idx(tmp_path, train_limit=4, test_limit=2)
    assert data.x_train.shape == (4, 784) and len(data.test_ids) == 2
    (tmp_path / MNIST_FILES["test_labels"]).unlink()
    with pytest.raises(InputError, match="t10k-labels-idx1-ubyte"):
        load_mnist_idx(tmp_path)
    with pytest.raises(InputError, match="MNIST folder not found"):
        load_mnist_idx(tmp_path / "nope")
    write_idx(tmp_path / MNIST_FILES["test_labels"], np.zeros(4, dtype=np.uint8))
    with pytest.raises(InputError, match="same number of items"):
        load_mnist_idx(tmp_path)
