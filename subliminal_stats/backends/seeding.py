"""The package's one seed hasher: stable integer seeds from labels.

Every seed the pipelines derive (a teacher prompt's sampling seed, an evaluation
sample's seed shared by every model, a local request's random stream) comes from
SHA-256 of its labels here, so a seed never depends on Python's ``hash``, on the
process, or on which other items share a batch.

Two widths exist because both are frozen into finished runs (changing either
would change every bundled completion): :func:`stable_seed` gives a 31-bit seed
(what OpenAI-compatible servers accept), :func:`request_seed` the 63-bit seed of a
local torch generator. Both go through :func:`seed_digest`.

Examples
--------
>>> stable_seed(0, "owl", 3) == stable_seed("0", "owl", "3")
True
>>> 0 <= stable_seed(0, "owl", 3) < 2**31
True
"""

from __future__ import annotations

import hashlib

__all__ = ["file_sha256", "request_seed", "seed_digest", "stable_seed"]


def seed_digest(parts: tuple[object, ...], *, sep: str) -> bytes:
    """SHA-256 of the labels joined by ``sep`` (each label through ``str``)."""
    return hashlib.sha256(sep.join(map(str, parts)).encode()).digest()


def stable_seed(*parts: object) -> int:
    """A stable 31-bit seed of ``parts`` (joined with ``:``), e.g. ``(prompt_seed, teacher, i)``."""
    return int.from_bytes(seed_digest(parts, sep=":")[:4], "little") & 0x7FFFFFFF


def request_seed(seed: int, custom_id: str) -> int:
    """Per-request sampling seed of the local backend: a stable 63-bit hash of ``(seed, custom_id)``."""
    return int.from_bytes(seed_digest((seed, custom_id), sep="\x1f")[:8], "big") >> 1


def file_sha256(path) -> str:
    """Hex SHA-256 of a file's bytes, read in 4 MiB chunks (training files, model files)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()
