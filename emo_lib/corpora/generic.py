"""Reader for a corpus of one's own: audio files and continuous arousal and valence labels.

A lab with its own continuous annotations (or another public corpus, converted)
writes them in this layout and uses every part of the project on it (training,
the study, the notebooks) as ``load_corpus("generic", root)``. The layout::

    <root>/audio/<id>.wav          one recording per conversation
    <root>/labels/<id>.csv         its labels: header time,arousal,valence
    <root>/speakers.csv            optional: header conversation,speaker
    <root>/turns/<id>.csv          optional, per conversation: header start,end

``<id>``, the file name without its extension, names the conversation; it may
not begin with a dot (such files are ignored) nor hold a comma. Every id found
in ``audio/``, ``labels/`` or ``turns/`` must have both an audio file and a
label file. Other files in the folders (notes, ``.txt``) are ignored.

Audio
    A WAV file (RIFF WAVE, WAVE_FORMAT_EXTENSIBLE, RF64 or Wave64), any sample
    rate, sample format and number of channels: channels are averaged and the
    rate converted to 16 kHz, as for the real corpora. Only WAV files are read:
    a conversation whose recording is in another format (``.flac``, ``.mp3``,
    ...) is an error naming the file (convert it to WAV first).
Labels
    A comma-separated text file (UTF-8, byte-order mark allowed, LF or CRLF
    line endings, blank lines ignored) whose first line is exactly
    ``time,arousal,valence`` (names in any letter case, spaces around them
    ignored), then one row per label step: the time in seconds and the two
    values, e.g. ``0.04,0.1250,-0.0300``. The labels are one gold standard
    (raters already fused); ``Conversation.raters`` is empty and the ``gold``
    argument of :func:`~emo_lib.corpora.load_corpus` is not used.

    * **Times** are the times the labels describe, as in RECOLA
      (:mod:`emo_lib.corpora.recola`): the row at ``t`` is the label at ``t``
      seconds from the start of the audio; :func:`emo_lib.labels.align_labels`
      gives the label window ``[i * step, (i + 1) * step)`` the row at its end
      by default. Times are non-negative, strictly increasing and evenly
      spaced; each lies on the step's grid (a whole multiple of the step, up to
      a quarter step of rounding: ``0.00, 0.04, 0.08, ...`` or
      ``0.04, 0.08, ...``).
    * **Step**: 20 ms or 40 ms, the two label steps the models support
      (:data:`emo_lib.config.LABEL_STEPS_MS`), read from the times (each
      difference within a quarter step of it). Labels at any other step are
      an error naming the file; they are not resampled here (resample them to
      40 ms, or 20 ms, before use). All conversations of a corpus share one
      step: a conversation whose step differs from that of most of the corpus
      is an error naming its label file.
    * **Values** are finite numbers in [-1, 1] (rescale other scales first).
    * Labels may start after 0 s and end before the audio does (windows
      without a label row are masked out of training and evaluation), but may
      not run more than one label step past the end of the audio.
Speakers (optional)
    ``speakers.csv``: header ``conversation,speaker``, one row per
    conversation, each conversation at most once (rows naming conversations
    not on disk are ignored). The speaker-independent split keeps each
    speaker's conversations together. When present, every conversation must
    have a row; without the file each conversation is its own speaker (as in
    RECOLA).
Turns (optional)
    ``turns/<id>.csv``: header ``start,end``, then one row per speech region of
    the labelled speaker, in seconds, in order, not overlapping, with
    ``0 <= start < end`` and ``end`` at most one label step past the end of
    the audio. Segments are cut from these turns (as from SEMAINE user
    turns). Without the file the whole recording is one turn (as in RECOLA).

Every file is checked as for the other corpora: a missing folder or file, a
file that is not audio or holds no samples, an empty label file, another
header, a row with a missing, non-numeric, NaN or infinite value, a value
outside [-1, 1], irregular times or an unsupported step, labels longer than
the audio: each raises :class:`~emo_lib.errors.EmoInputError` naming the file
and the problem, every conversation's files are checked before any label file
is parsed, and ``skip_bad=True`` leaves bad conversations out instead
(recorded in ``Corpus.skipped``, with a warning).

Examples
--------
A corpus of one conversation, labelled every 40 ms for its first second:

>>> import pathlib, tempfile
>>> import numpy as np
>>> from emo_lib.audio import write_wav
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_wav(root / "audio" / "talk1.wav", np.zeros(16_000), 16_000)
>>> rows = "".join(f"{0.04 * i:.2f},0.1,-0.2\\n" for i in range(26))
>>> (root / "labels").mkdir()
>>> _ = (root / "labels" / "talk1.csv").write_text("time,arousal,valence\\n" + rows)
>>> corpus = read_generic(root)
>>> conversation = corpus["talk1"]
>>> conversation.label_step_ms, conversation.labels.shape, conversation.speaker
(40, (26, 2), 'talk1')
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import LABEL_STEPS_MS
from ..errors import EmoInputError
from ._common import (
    audio_duration,
    check_audio_covers,
    check_gold,
    check_label_step,
    read_text,
    require_dir,
    require_file,
    run_readers,
    skip,
)
from .base import Conversation, Corpus

__all__ = [
    "GENERIC_LABEL_STEPS",
    "LABEL_HEADER",
    "SPEAKERS_HEADER",
    "TURNS_HEADER",
    "GenericLabels",
    "read_label_csv",
    "read_label_csv_header",
    "label_step_of",
    "read_speakers_csv",
    "read_turns_csv",
    "read_generic",
]

GENERIC_LABEL_STEPS = tuple(ms / 1000 for ms in LABEL_STEPS_MS)
"""Label steps (s) a generic corpus may use: 0.02 and 0.04."""
LABEL_HEADER = ("time", "arousal", "valence")
"""Columns of a label file, in order."""
SPEAKERS_HEADER = ("conversation", "speaker")
"""Columns of ``speakers.csv``, in order."""
TURNS_HEADER = ("start", "end")
"""Columns of a turns file, in order."""

_AUDIO_DIR, _LABELS_DIR, _TURNS_DIR, _SPEAKERS_FILE = "audio", "labels", "turns", "speakers.csv"
_AUDIO_SUFFIX = ".wav"
_OTHER_AUDIO_SUFFIXES = (
    ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".wma",
    ".aif", ".aiff", ".aifc", ".au", ".snd", ".caf", ".webm", ".mp4",
)  # fmt: skip
_LAYOUT = (
    "expected the generic layout: <root>/audio/<id>.wav and <root>/labels/<id>.csv "
    "(header time,arousal,valence), optionally <root>/speakers.csv and <root>/turns/<id>.csv"
)


# ---------------------------------------------------------------------------
# Comma-separated files
# ---------------------------------------------------------------------------


def _rows(path: Path, what: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows of a comma-separated file as (line number, stripped fields)."""
    require_file(path, what)
    text = read_text(path)
    rows = []
    for number, fields in enumerate(csv.reader(text.splitlines()), start=1):
        fields = [field.strip() for field in fields]
        if not any(fields):
            continue
        while len(fields) > 1 and fields[-1] == "":  # a trailing separator
            fields.pop()
        rows.append((number, fields))
    return rows


def _check_header(rows: list[tuple[int, list[str]]], expected: tuple[str, ...], path: Path, what: str) -> None:
    if not rows:
        raise EmoInputError(f"empty {what}", path=path)
    number, fields = rows[0]
    if [field.lower() for field in fields] != list(expected):
        raise EmoInputError(
            f"unexpected header {','.join(fields)!r} on line {number}; expected "
            f"{','.join(expected)!r} (comma-separated)",
            path=path,
        )


def _numbers(rows: list[tuple[int, list[str]]], width: int, path: Path) -> tuple[np.ndarray, list[int]]:
    """The rows after the header as a finite (N, width) float64 array, and their line numbers."""
    parsed: list[list[float]] = []
    lines = [number for number, _fields in rows]
    for number, fields in rows:
        if len(fields) != width:
            raise EmoInputError(f"line {number} has {len(fields)} fields, the header {width}", path=path)
        if "" in fields:
            raise EmoInputError(f"line {number} has an empty field (missing value)", path=path)
        try:
            parsed.append([float(field) for field in fields])
        except ValueError:
            raise EmoInputError(
                f"line {number} holds a value that is not a number: {','.join(fields)!r}", path=path
            ) from None
    values = np.asarray(parsed, dtype=np.float64).reshape(len(rows), width)
    finite = np.isfinite(values).all(axis=1)
    if not finite.all():
        raise EmoInputError(f"NaN or infinite value on line {lines[int(np.argmin(finite))]}", path=path)
    return values, lines


# ---------------------------------------------------------------------------
# Label files
# ---------------------------------------------------------------------------


@dataclass
class GenericLabels:
    """The content of one generic label file.

    Attributes
    ----------
    path : pathlib.Path
        The file read.
    times : np.ndarray [shape=(T,)]
        Label times in seconds (float64), as written.
    values : np.ndarray [shape=(T, 2)]
        Arousal and valence per row (float64).
    step : float
        The label step read from the times: 0.02 or 0.04 s.
    """

    path: Path
    times: np.ndarray
    values: np.ndarray
    step: float


def read_label_csv_header(path: str | Path) -> None:
    """Check that a label file exists and starts with ``time,arousal,valence``.

    Parameters
    ----------
    path : str or pathlib.Path
        The label file.

    Raises
    ------
    EmoInputError
        Missing or unreadable file, an empty file, or another first line.
    """
    path = Path(path)
    require_file(path, "label file")
    first = None
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    first = (number, line)
                    break
    except UnicodeDecodeError:
        raise EmoInputError("not a text file", path=path) from None
    except OSError as error:
        raise EmoInputError(f"cannot read file ({error.strerror})", path=path) from None
    if first is None:
        raise EmoInputError("empty label file", path=path)
    fields = [field.strip() for field in next(csv.reader([first[1]]))]
    while len(fields) > 1 and fields[-1] == "":
        fields.pop()
    _check_header([(first[0], fields)], LABEL_HEADER, path, "label file")


def label_step_of(times: np.ndarray, path: str | Path) -> float:
    """The label step of evenly spaced times: 0.02 or 0.04 s.

    Parameters
    ----------
    times : np.ndarray [shape=(T,)]
        Label times in seconds, as read from ``path``.
    path : str or pathlib.Path
        The file, for the error messages.

    Returns
    -------
    float
        0.02 or 0.04.

    Raises
    ------
    EmoInputError
        Fewer than 2 rows, a negative first time, times that do not increase
        strictly, a median spacing that is neither 20 ms nor 40 ms (within a
        quarter step), a spacing that is not even (a difference off the step
        by more than a quarter step: gaps, rows too close), or times off the
        step's grid.

    Examples
    --------
    >>> label_step_of(np.array([0.0, 0.04, 0.08]), "a.csv")
    0.04
    """
    path = Path(path)
    times = np.asarray(times, dtype=np.float64)
    if times.shape[0] < 2:
        raise EmoInputError(f"fewer than 2 label rows ({times.shape[0]})", path=path)
    if times[0] < 0:
        raise EmoInputError(f"negative label time {times[0]:g} s on the first row", path=path)
    diffs = np.diff(times)
    if np.any(diffs <= 0):
        row = int(np.argmax(diffs <= 0)) + 1
        raise EmoInputError(
            f"label times must increase: row {row + 1} ({times[row]:g} s) does not follow row {row} "
            f"({times[row - 1]:g} s)",
            path=path,
        )
    spacing = float(np.median(diffs))
    steps = [step for step in GENERIC_LABEL_STEPS if abs(spacing - step) <= 0.25 * step]
    if not steps:
        supported = " or ".join(f"{step * 1000:g} ms" for step in GENERIC_LABEL_STEPS)
        raise EmoInputError(
            f"label rows are {spacing * 1000:.4g} ms apart; the models take labels every "
            f"{supported} only: resample the labels to one of these steps",
            path=path,
        )
    step = check_label_step(times, steps[0], path)
    offset = times / step - np.round(times / step)
    if np.any(np.abs(offset) > 0.25):
        first = int(np.argmax(np.abs(offset) > 0.25))
        raise EmoInputError(
            f"label time {times[first]:g} s (row {first + 1}) is not a multiple of the "
            f"{step * 1000:g} ms step; times must lie on the step's grid (0, {step:g}, "
            f"{2 * step:g}, ... s)",
            path=path,
        )
    return step


def read_label_csv(path: str | Path) -> GenericLabels:
    """Read and check a generic label file.

    Parameters
    ----------
    path : str or pathlib.Path
        A comma-separated file ``time,arousal,valence`` (see the module
        docstring).

    Returns
    -------
    GenericLabels
        Times (T,), values (T, 2) and the step read from the times.

    Raises
    ------
    EmoInputError
        Missing or empty file, another header, a row with a missing value, a
        value that is not a number, NaN or infinite values, values outside
        [-1, 1], or times that are not evenly spaced at 20 or 40 ms on the
        step's grid (:func:`label_step_of`).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = path.write_bytes(b"time,arousal,valence\\r\\n0.00,0.1,-0.5\\r\\n0.04,0.2,-0.25\\r\\n")
    >>> labels = read_label_csv(path)
    >>> labels.step, labels.values.tolist()
    (0.04, [[0.1, -0.5], [0.2, -0.25]])
    """
    path = Path(path)
    rows = _rows(path, "label file")
    _check_header(rows, LABEL_HEADER, path, "label file")
    if len(rows) == 1:
        raise EmoInputError("no label rows after the header", path=path)
    table, lines = _numbers(rows[1:], len(LABEL_HEADER), path)
    outside = np.abs(table[:, 1:]) > 1.0
    if np.any(outside):
        row, column = (int(i) for i in np.argwhere(outside)[0])
        raise EmoInputError(
            f"{LABEL_HEADER[column + 1]} {table[row, column + 1]:g} on line {lines[row]} is outside "
            "[-1, 1]; rescale the labels to [-1, 1]",
            path=path,
        )
    times = table[:, 0].copy()
    step = label_step_of(times, path)
    return GenericLabels(path=path, times=times, values=table[:, 1:].copy(), step=step)


# ---------------------------------------------------------------------------
# Speakers and turns
# ---------------------------------------------------------------------------


def read_speakers_csv(path: str | Path) -> dict[str, str]:
    """Read ``speakers.csv``: which speaker each conversation is.

    Parameters
    ----------
    path : str or pathlib.Path
        A comma-separated file with the header ``conversation,speaker``.

    Returns
    -------
    dict[str, str]
        Conversation id to speaker, in the file's order.

    Raises
    ------
    EmoInputError
        Missing or empty file, another header, a row without exactly two
        non-empty fields, or a conversation listed twice.
    """
    path = Path(path)
    rows = _rows(path, "speakers file")
    _check_header(rows, SPEAKERS_HEADER, path, "speakers file")
    speakers: dict[str, str] = {}
    for number, fields in rows[1:]:
        if len(fields) != 2 or "" in fields:
            raise EmoInputError(
                f"line {number} must hold a conversation and a speaker, not {','.join(fields)!r}",
                path=path,
            )
        conversation, speaker = fields
        if conversation in speakers:
            raise EmoInputError(f"conversation {conversation!r} is listed twice (line {number})", path=path)
        speakers[conversation] = speaker
    return speakers


def read_turns_csv(path: str | Path, duration: float, step: float) -> list[tuple[float, float]]:
    """Read a turns file: the speech regions of the labelled speaker.

    Parameters
    ----------
    path : str or pathlib.Path
        A comma-separated file with the header ``start,end``, seconds.
    duration : float
        Length of the conversation's audio (s).
    step : float
        Its label step (s): a turn may end at most one step past the audio.

    Returns
    -------
    list of (float, float)
        ``(start, end)`` of each turn, in order.

    Raises
    ------
    EmoInputError
        Missing or empty file, another header, no rows, a missing or
        non-numeric value, a turn with ``start < 0`` or ``end <= start``,
        turns out of order or overlapping, or a turn ending more than one
        label step past the audio.
    """
    path = Path(path)
    rows = _rows(path, "turns file")
    _check_header(rows, TURNS_HEADER, path, "turns file")
    if len(rows) == 1:
        raise EmoInputError("no turns after the header", path=path)
    table, lines = _numbers(rows[1:], len(TURNS_HEADER), path)
    previous_end = -math.inf
    for (start, end), number in zip(table, lines):
        if start < 0 or end <= start:
            raise EmoInputError(
                f"line {number}: a turn needs 0 <= start < end, not {start:g} to {end:g} s", path=path
            )
        if start < previous_end:
            raise EmoInputError(
                f"line {number}: the turn starting at {start:g} s overlaps or precedes the one before "
                f"(which ends at {previous_end:g} s); turns must be in order and not overlap",
                path=path,
            )
        if end - duration > step + 1e-9:
            raise EmoInputError(
                f"line {number}: the turn ends at {end:g} s, more than one {step * 1000:g} ms label "
                f"step past the end of the audio ({duration:.3f} s)",
                path=path,
            )
        previous_end = end
    return [(float(start), float(end)) for start, end in table]


# ---------------------------------------------------------------------------
# The reader
# ---------------------------------------------------------------------------


@dataclass
class _GenericConversation:
    id: str
    audio_path: Path
    labels_path: Path
    turns_path: Path | None
    speaker: str | None
    speakers_path: Path | None
    duration: float = 0.0

    def check(self) -> None:
        if "," in self.id:
            raise EmoInputError(
                f"conversation id {self.id!r} (the file name without its extension) holds a comma",
                path=self.labels_path,
            )
        if self.audio_path.suffix.lower() != _AUDIO_SUFFIX and self.audio_path.is_file():
            raise EmoInputError(
                f"only WAV audio is read, not {self.audio_path.suffix} files; convert it to "
                f"{self.audio_path.with_suffix('.wav').name}",
                path=self.audio_path,
            )
        self.duration = audio_duration(self.audio_path)
        read_label_csv_header(self.labels_path)
        if self.turns_path is not None:
            require_file(self.turns_path, "turns file")
        if self.speakers_path is not None and self.speaker is None:
            raise EmoInputError(f"no row for conversation {self.id!r}", path=self.speakers_path)

    def read(self) -> Conversation:
        labels = read_label_csv(self.labels_path)
        check_audio_covers(self.audio_path, self.duration, labels.times, labels.step)
        if self.turns_path is not None:
            turns = read_turns_csv(self.turns_path, self.duration, labels.step)
        else:
            turns = [(0.0, self.duration)]
        return Conversation(
            id=self.id,
            corpus="generic",
            speaker=self.speaker if self.speaker is not None else self.id,
            audio_path=self.audio_path,
            label_step=labels.step,
            times=labels.times,
            labels=labels.values.astype(np.float32),
            raters={},
            turns=turns,
            partition=None,
            words=[],
            audio_duration=self.duration,
        )


def _stems(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    """Map stem -> path of the files in ``folder`` with one of ``suffixes`` (any case), hidden files left out."""
    if not folder.is_dir():
        return {}
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file() or path.suffix.lower() not in suffixes:
            continue
        found.setdefault(path.stem, path)
    return found


def _one_step(corpus: Corpus, skip_bad: bool) -> Corpus:
    """Keep the conversations at the corpus's label step (that of most of them)."""
    steps = Counter(round(c.label_step, 6) for c in corpus.conversations)
    if len(steps) <= 1:
        return corpus
    # the most frequent step; on a tie, the step of the first conversation
    order = [round(c.label_step, 6) for c in corpus.conversations]
    step = max(steps, key=lambda s: (steps[s], -order.index(s)))
    kept = []
    for conversation in corpus.conversations:
        if round(conversation.label_step, 6) == step:
            kept.append(conversation)
            continue
        error = EmoInputError(
            f"labels every {conversation.label_step_ms} ms, but {steps[step]} of the corpus's "
            f"{len(order)} conversations have {step * 1000:g} ms; a corpus must use one label step",
            path=Path(corpus.root) / _LABELS_DIR / f"{conversation.id}.csv",
        )
        if not skip_bad:
            raise error
        skip(corpus.skipped, conversation.id, error)
    corpus.conversations = kept
    return corpus


def read_generic(root: str | Path, *, gold: str = "mean", skip_bad: bool = False) -> Corpus:
    """Read a corpus in the generic layout (see the module docstring).

    Parameters
    ----------
    root : str or pathlib.Path
        The folder holding ``audio/`` and ``labels/`` (and optionally
        ``speakers.csv`` and ``turns/``).
    gold : {"mean", "ccc_centred"}
        Checked but not used: the label files hold a gold standard already.
    skip_bad : bool
        Leave bad conversations out (recorded in ``Corpus.skipped``, with a
        warning) instead of raising.

    Returns
    -------
    Corpus
        Named ``"generic"``; one Conversation per id, sorted by id, with
        ``labels`` (T, 2) float32, the label step read from the files (0.02 or
        0.04 s), ``raters`` empty, ``turns`` from ``turns/<id>.csv`` or the
        whole recording, ``speaker`` from ``speakers.csv`` or the id.

    Raises
    ------
    EmoInputError
        A missing root, ``audio/`` or ``labels/`` folder, no conversations, a
        bad ``speakers.csv``, or any bad conversation (see the module
        docstring).
    """
    check_gold(gold)
    root = Path(root)
    require_dir(root, _LAYOUT)
    audio_dir = require_dir(root / _AUDIO_DIR, _LAYOUT)
    labels_dir = require_dir(root / _LABELS_DIR, _LAYOUT)
    turns_dir = root / _TURNS_DIR
    if turns_dir.exists():
        require_dir(turns_dir, _LAYOUT)
    speakers_path = root / _SPEAKERS_FILE
    speakers = read_speakers_csv(speakers_path) if speakers_path.exists() else None

    wavs = _stems(audio_dir, (_AUDIO_SUFFIX,))
    others = _stems(audio_dir, _OTHER_AUDIO_SUFFIXES)
    labels = _stems(labels_dir, (".csv",))
    turns = _stems(turns_dir, (".csv",))
    ids = sorted(set(wavs) | set(others) | set(labels) | set(turns))
    if not ids:
        raise EmoInputError(f"no audio or label files found; {_LAYOUT}", path=root)
    pending = [
        _GenericConversation(
            id=cid,
            audio_path=wavs.get(cid) or others.get(cid) or audio_dir / f"{cid}.wav",
            labels_path=labels.get(cid, labels_dir / f"{cid}.csv"),
            turns_path=turns.get(cid),
            speaker=None if speakers is None else speakers.get(cid),
            speakers_path=None if speakers is None else speakers_path,
        )
        for cid in ids
    ]
    return _one_step(run_readers("generic", root, pending, [], skip_bad), skip_bad)
