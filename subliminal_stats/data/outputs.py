"""Writing outputs safely: never over an input, never over a folder or a special file, never half.

Every command that writes a file goes through :func:`check_output_path` (before any work
is done, so a mistake costs nothing) and writes with :func:`atomic_write` (a unique
temporary name in the same folder, fsync, rename: readers see the old file or the new one).

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> data = folder / "d.csv"; _ = data.write_text("x\\n")
>>> check_output_path(data, inputs=[data])
Traceback (most recent call last):
...
subliminal_stats.errors.InputError: output d.csv is also an input: choose another output path
>>> atomic_write(folder / "out.txt", "done\\n").read_text()
'done\\n'
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from subliminal_stats.errors import InputError

__all__ = ["STDOUT", "atomic_write", "check_output_path", "is_stdout"]

#: The output path that means "standard output".
STDOUT = "-"


def is_stdout(path: str | Path | None) -> bool:
    """Whether ``path`` is ``-`` (write to standard output)."""
    return path is not None and str(path) == STDOUT


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output_path(
    path: str | Path,
    *,
    inputs: Iterable[str | Path] = (),
    what: str = "output",
    overwrite: bool = True,
) -> Path:
    """Refuse an output path that would destroy something; return it as a :class:`Path`.

    Refused: an input of the same command (by path or by being the same file), a folder,
    a special file (device, pipe, socket), a parent that is not a folder, an existing
    file when ``overwrite`` is false. The parent folder is created when missing.

    Raises
    ------
    InputError
        One line naming the path and the fix.
    """
    out = Path(path)
    shown = out.name or str(out)
    for source in inputs:
        source = Path(source)
        if out.resolve() == source.resolve() or _same_file(out, source):
            raise InputError(f"{what} {shown} is also an input: choose another {what} path")
    if out.is_symlink() and not out.exists():
        raise InputError(f"{what} {out} is a broken link: remove it or choose another path")
    if out.exists():
        mode = out.stat().st_mode
        if stat.S_ISDIR(mode):
            raise InputError(f"{what} {out} is a folder: give a file path inside it")
        if not stat.S_ISREG(mode):
            raise InputError(f"{what} {out} is not a regular file: choose a file path")
        if not overwrite:
            raise InputError(f"{what} {out} exists: remove it or choose another path")
    parent = out.parent
    for ancestor in [parent, *parent.parents]:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise InputError(f"cannot write {what} {out}: {ancestor} is a file, not a folder")
            break
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create folder {parent} for {what} {out}: {exc.strerror}") from exc
    if not os.access(parent, os.W_OK):
        raise InputError(f"cannot write {what} {out}: folder {parent} is not writable")
    return out


def atomic_write(path: str | Path, data: str | bytes, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` atomically; ``-`` writes to standard output instead.

    The temporary file has a unique name (two writers never share it) and keeps the
    user's umask (``mkstemp`` alone would make it private).
    """
    if is_stdout(path):
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        sys.stdout.flush()
        return Path(STDOUT)
    path = Path(path)
    payload = data.encode(encoding) if isinstance(data, str) else data
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from exc
    tmp = Path(tmp_name)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
