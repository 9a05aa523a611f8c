"""Checks and the two-pass driver shared by the three corpus readers.

Every reader first validates all of a corpus's files (folders, headers, audio
headers) and only then parses the labels, so that bad input is reported before
any long work starts; :func:`run_readers` runs those two passes and applies
``skip_bad``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from ..audio import audio_info
from ..errors import EmoInputError
from ..labels import FUSION_METHODS as GOLD_METHODS
from ..labels import fuse_raters
from .base import Conversation, Corpus

__all__ = [
    "read_text",
    "check_gold",
    "fuse",
    "require_dir",
    "require_file",
    "files_with_suffix",
    "check_label_step",
    "check_audio_covers",
    "audio_duration",
    "check_same_times",
    "Pending",
    "skip",
    "run_readers",
]


def read_text(path: Path) -> str:
    """The text of a label or transcript file (UTF-8, BOM allowed); EmoInputError naming it if unreadable."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise EmoInputError("missing file", path=path) from None
    except UnicodeDecodeError as error:
        raise EmoInputError(
            f"not a text file ({error.reason} at byte {error.start})", path=path
        ) from None
    except OSError as error:
        raise EmoInputError(f"cannot read file ({error.strerror})", path=path) from None


def check_gold(gold: str) -> str:
    """Return ``gold`` if it names a fusion method, else raise EmoInputError."""
    if gold not in GOLD_METHODS:
        raise EmoInputError(
            f"unknown gold standard {gold!r}; expected one of {', '.join(GOLD_METHODS)}"
        )
    return gold


def fuse(ratings: np.ndarray, gold: str, path: Path) -> np.ndarray:
    """Fuse (R, T) ratings into a (T,) float32 gold standard, naming ``path`` in any error."""
    try:
        return fuse_raters(ratings, method=gold)
    except EmoInputError as error:
        raise EmoInputError(f"cannot fuse the raters: {error}", path=path) from None


def require_dir(path: Path, layout: str) -> Path:
    """Raise EmoInputError naming ``path`` and the expected layout unless it is a folder."""
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "folder is missing"
        raise EmoInputError(f"{what}; {layout}", path=path)
    return path


def require_file(path: Path, what: str) -> Path:
    """Raise EmoInputError naming ``path`` unless it is an existing file."""
    if not path.is_file():
        raise EmoInputError(f"missing {what}", path=path)
    return path


def files_with_suffix(folder: Path, pattern: str, suffix: str) -> dict[str, Path]:
    """Map stem -> path for files in ``folder`` matching ``pattern`` with ``suffix`` (any case)."""
    if not folder.is_dir():
        return {}
    return {
        path.stem: path
        for path in sorted(folder.glob(pattern))
        if path.is_file() and path.suffix.lower() == suffix
    }


def check_label_step(times: np.ndarray, step: float, path: Path) -> float:
    """Check that label rows are ``step`` seconds apart and return ``step``.

    Parameters
    ----------
    times : np.ndarray [shape=(T,)]
        Times read from the file, in seconds.
    step : float
        Expected spacing in seconds; each difference may be off by a quarter
        step (rounding in the files).
    path : pathlib.Path
        The file, for the error message.

    Returns
    -------
    float
        ``step``.
    """
    if times.shape[0] < 2:
        raise EmoInputError(f"fewer than 2 label rows ({times.shape[0]})", path=path)
    diffs = np.diff(times)
    if np.any(np.abs(diffs - step) > 0.25 * step):
        raise EmoInputError(
            f"label rows are not {step * 1000:g} ms apart (steps from {diffs.min() * 1000:.4g} "
            f"to {diffs.max() * 1000:.4g} ms)",
            path=path,
        )
    return step


def check_audio_covers(audio_path: Path, duration: float, times: np.ndarray, step: float) -> None:
    """Raise EmoInputError when the audio ends more than one label step before the last label."""
    last = float(times[-1])
    if last - duration > step + 1e-9:
        raise EmoInputError(
            f"audio lasts {duration:.3f} s but its labels run to {last:.3f} s "
            f"(more than one {step * 1000:g} ms label step beyond the audio)",
            path=audio_path,
        )


def audio_duration(path: Path) -> float:
    """Duration in seconds of the WAV at ``path`` from its header (EmoInputError if unusable)."""
    require_file(path, "audio file")
    info = audio_info(path)
    if info.frames <= 0:
        raise EmoInputError("audio file holds no samples", path=path)
    return float(info.duration)


def check_same_times(
    times_a: np.ndarray, path_a: Path, times_v: np.ndarray, path_v: Path, step: float
) -> None:
    """Raise EmoInputError unless arousal and valence have rows at the same times."""
    if times_a.shape[0] != times_v.shape[0]:
        raise EmoInputError(
            f"arousal and valence have unequal lengths: {times_a.shape[0]} rows in {path_a.name}, "
            f"{times_v.shape[0]} rows in {path_v.name}",
            path=path_v,
        )
    if np.any(np.abs(times_a - times_v) > 0.5 * step):
        raise EmoInputError(
            f"arousal ({path_a.name}) and valence rows are at different times", path=path_v
        )


class Pending(Protocol):
    """One conversation found on disk: validated first, parsed second."""

    id: str

    def check(self) -> None:
        """Cheap validation (files present, audio headers, label file headers)."""

    def read(self) -> Conversation:
        """Parse the label files and build the record."""


def skip(
    skipped: list[tuple[str, str]], what: str, error: EmoInputError | str, *, warn: bool = True
) -> None:
    """Record a left-out conversation in ``skipped`` and (by default) warn about it."""
    reason = str(error)
    skipped.append((what, reason))
    if warn:
        warnings.warn(f"skipped {what}: {reason}", UserWarning, stacklevel=3)


def run_readers(
    name: str,
    root: Path,
    pending: Sequence[Pending],
    skipped: list[tuple[str, str]],
    skip_bad: bool,
) -> Corpus:
    """Validate every conversation, then parse them, applying the ``skip_bad`` policy.

    Parameters
    ----------
    name : str
        Corpus name stored in the result.
    root : pathlib.Path
        The corpus folder.
    pending : sequence of Pending
        The conversations found on disk.
    skipped : list of (str, str)
        Conversations already left out (extended in place).
    skip_bad : bool
        False: the first bad conversation raises its EmoInputError (all are
        validated before any is parsed). True: a bad conversation is left out,
        recorded in ``skipped`` and warned about.

    Returns
    -------
    Corpus
        Conversations sorted by id.
    """
    valid: list[Pending] = []
    for item in pending:
        try:
            item.check()
        except EmoInputError as error:
            if not skip_bad:
                raise
            skip(skipped, item.id, error)
            continue
        valid.append(item)
    conversations: list[Conversation] = []
    for item in valid:
        try:
            conversations.append(item.read())
        except EmoInputError as error:
            if not skip_bad:
                raise
            skip(skipped, item.id, error)
    conversations.sort(key=lambda conversation: conversation.id)
    return Corpus(name=name, root=root, conversations=conversations, skipped=skipped)
