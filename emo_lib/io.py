"""Atomic file writes: a result, cache or checkpoint is either complete or absent.

Each function writes to a temporary file in the destination folder and renames
it over the destination (``os.replace`` is atomic on POSIX and Windows), so a
job killed at any moment never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

__all__ = [
    "atomic_path",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_save_npz",
    "load_npz",
    "settings_key",
]


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    Parameters
    ----------
    path : str or pathlib.Path
        Final destination. Its folder is created when missing.
    suffix : str, optional
        Suffix of the temporary file (some writers, such as Keras, insist on
        one). Defaults to the destination's suffix.

    Yields
    ------
    pathlib.Path
        Where to write. If the block raises, the temporary file is removed and
        the destination is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=path.suffix if suffix is None else suffix, dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; give the file ordinary permissions
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def atomic_write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically (NumPy scalars allowed)."""
    return atomic_write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def atomic_save_npz(path: str | Path, **arrays: np.ndarray) -> Path:
    """Save arrays to an uncompressed ``.npz`` file atomically."""
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
    return Path(path)


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` file into a dict (the file is closed on return)."""
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def settings_key(settings: Any, length: int = 12) -> str:
    """A short stable hash of JSON-able settings, used to key caches.

    Parameters
    ----------
    settings : dict or other JSON-able value
        Everything the cached result depends on.
    length : int
        Number of hex digits kept.

    Returns
    -------
    str
        ``length`` hex digits of the SHA-256 of the canonical JSON text.
    """
    text = json.dumps(settings, sort_keys=True, default=_json_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]
