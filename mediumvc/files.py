"""Atomic writes: a file appears complete or not at all, with the permissions an ordinary write would give.

`tempfile.mkstemp` / `mkdtemp` create their files 0600 and folders 0700 whatever the umask; renamed into
place as they are, a converted WAV, a feature store or an exported model would be readable by its owner only
(useless on a shared disk or to a web server running as another user). So the temp file gets the mode
`open()` would have given before it is renamed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def _read_umask() -> int:
    mask = os.umask(0)  # the only portable way to read it: set and restore, once, at import (single-threaded)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
FILE_MODE = 0o666 & ~_UMASK
DIR_MODE = 0o777 & ~_UMASK


def atomic_write(path: str | os.PathLike, write: Callable[[str], object]) -> Path:
    """Call `write(tmp)` on a temp file beside `path`, then rename it to `path` (mode as `open()` gives)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_savez(path: str | os.PathLike, **arrays) -> Path:
    """`np.savez` of these arrays to `path`, atomically (no pickles: plain arrays only)."""
    import numpy as np

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append .npz to the temporary name
            np.savez(f, **arrays)

    return atomic_write(path, write)


def open_up(folder: str | os.PathLike) -> None:
    """Give a staged folder (from `mkdtemp`) and the files in it the modes an ordinary mkdir / open gives."""
    folder = Path(folder)
    os.chmod(folder, DIR_MODE)
    for p in folder.rglob("*"):
        os.chmod(p, DIR_MODE if p.is_dir() else FILE_MODE)


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read 1 MiB at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
