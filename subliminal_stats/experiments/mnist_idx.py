"""Read and write IDX files (the MNIST format) and load an MNIST folder the user already has.

No download: the user points at a folder holding the four standard files
(``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``, each optionally gzipped with ``.gz``). Fashion-MNIST and
KMNIST use the same names and format. numpy only (no torch).

IDX layout: two zero bytes, a type code, the number of dimensions, then each
dimension as a big-endian int32, then the values in big-endian C order.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from subliminal_stats.errors import InputError
from subliminal_stats.experiments.image_data import ImageData

#: IDX type code → numpy big-endian dtype.
IDX_DTYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
MNIST_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (gzipped when the name ends in ``.gz``) into a numpy array.

    Raises
    ------
    InputError
        Missing file, wrong magic number, unknown type code, or a size that does not
        match the header.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"IDX file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise InputError(f"{path} is not an IDX file (its first two bytes must be zero)")
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        raise InputError(f"{path}: unknown IDX type code 0x{code:02X}")
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise InputError(f"{path}: truncated IDX header ({ndim} dimensions announced)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    dtype = np.dtype(IDX_DTYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header_end != expected:
        raise InputError(
            f"{path}: header says shape {shape} ({expected} bytes of data) but the file holds "
            f"{len(raw) - header_end} bytes; the file is truncated or corrupt"
        )
    values = np.frombuffer(raw, dtype=dtype, offset=header_end).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write an array as an IDX file (gzipped when the name ends in ``.gz``)."""
    path = Path(path)
    array = np.asarray(array)
    code = next(
        (c for c, d in IDX_DTYPES.items() if np.dtype(d).newbyteorder("=") == array.dtype.newbyteorder("=")),
        None,
    )
    if code is None:
        raise InputError(f"cannot write dtype {array.dtype} as IDX; use uint8, int8, int16, int32, float32 or float64")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">i4").tobytes()
    body = array.astype(IDX_DTYPES[code]).tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as handle:
        handle.write(header + body)
    return path


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise InputError(f"{folder}: no {stem} (or {stem}.gz); point [data] path at a folder with the four MNIST IDX files")


def load_mnist_idx(
    folder: str | Path,
    *,
    train_limit: int | None = None,
    test_limit: int | None = None,
) -> ImageData:
    """Load MNIST-format IDX files from ``folder`` as flattened images scaled to [−1, 1].

    Parameters
    ----------
    folder : path
        Folder with ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (``.gz`` allowed).
    train_limit, test_limit : int, optional
        Keep only the first so many images (for quick runs).

    Returns
    -------
    ImageData
        Test image ids are ``mnist-test-<index in the t10k files>``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"MNIST folder not found: {folder}")
    arrays = {key: read_idx(_find(folder, stem)) for key, stem in MNIST_FILES.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim < 2 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise InputError(
                f"{folder}: {split} images have shape {images.shape} but labels {labels.shape}; "
                "they must hold the same number of items"
            )
    limits = {"train": train_limit, "test": test_limit}
    out = {}
    for split in ("train", "test"):
        n = arrays[f"{split}_labels"].shape[0] if limits[split] is None else int(limits[split])
        images = arrays[f"{split}_images"][:n]
        scale = 255.0 if images.dtype == np.uint8 else max(float(np.abs(images).max()), 1e-12)
        flat = images.reshape(images.shape[0], -1).astype(np.float32)
        out[f"x_{split}"] = flat / (scale / 2.0) - 1.0 if images.dtype == np.uint8 else flat / scale
        out[f"y_{split}"] = arrays[f"{split}_labels"][:n].astype(np.int64)
    n_classes = int(max(out["y_train"].max(), out["y_test"].max())) + 1
    return ImageData(
        x_train=out["x_train"],
        y_train=out["y_train"],
        x_test=out["x_test"],
        y_test=out["y_test"],
        test_ids=tuple(f"mnist-test-{i}" for i in range(len(out["y_test"]))),
        n_classes=max(n_classes, 10),
        name=f"mnist-idx:{folder.name}",
    )
