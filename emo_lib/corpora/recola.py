"""Reader for the original RECOLA release (Ringeval et al. 2013).

Expected layout (only these parts are read)::

    <root>/RECOLA-Audio-recordings/P16.wav ...
    <root>/RECOLA-Annotation/emotional_behaviour/arousal/P16.csv ...
    <root>/RECOLA-Annotation/emotional_behaviour/valence/P16.csv ...

Each annotation CSV has one header row ``time;FM1 ;FM2 ;FM3 ;FF1 ;FF2 ;FF3``
(column names are stripped, so the trailing spaces do not matter), then one row
every 40 ms: the time in seconds and one value per rater. LF and CRLF line
endings are both accepted, and so is a decimal comma. The gold standard is the
fusion of the raters (:func:`emo_lib.labels.fuse_raters`, plain mean by
default, as in the paper). The whole conversation is one turn, as in the paper
(RECOLA publishes no turn boundaries for the labelled speaker).

This module also holds the steps shared by the three readers of
:mod:`emo_lib.corpora`: checking that label rows are evenly spaced, that the
audio covers the labels, and running the two passes (validate every
conversation, then parse) with the ``skip_bad`` policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EmoInputError
from ..labels import FUSION_METHODS
from ._common import (
    audio_duration,
    check_audio_covers,
    check_gold,
    check_label_step,
    check_same_times,
    files_with_suffix,
    fuse,
    read_text,
    require_dir,
    require_file,
    run_readers,
)
from .base import Conversation, Corpus

__all__ = [
    "RECOLA_LABEL_STEP",
    "GOLD_METHODS",
    "RatingTable",
    "read_rating_csv",
    "read_rating_csv_header",
    "read_recola",
]

RECOLA_LABEL_STEP = 0.04
"""Seconds between RECOLA label rows (original release and AVEC 2016)."""

GOLD_METHODS = FUSION_METHODS
"""Ways to fuse the raters into a gold standard (see :func:`emo_lib.labels.fuse_raters`)."""

_AUDIO_DIR = "RECOLA-Audio-recordings"
_ANNOTATION_DIR = Path("RECOLA-Annotation") / "emotional_behaviour"
_LAYOUT = (
    "expected the original RECOLA layout: <root>/RECOLA-Audio-recordings/P*.wav and "
    "<root>/RECOLA-Annotation/emotional_behaviour/{arousal,valence}/P*.csv"
)


# ---------------------------------------------------------------------------
# The RECOLA rating CSV
# ---------------------------------------------------------------------------


@dataclass
class RatingTable:
    """The content of one RECOLA rating CSV.

    Attributes
    ----------
    path : pathlib.Path
        The file read.
    raters : list of str
        Rater column names, stripped (``["FM1", ..., "FF3"]``).
    times : np.ndarray [shape=(T,)]
        First column, seconds (float64).
    values : np.ndarray [shape=(R, T)]
        One row per rater (float64).
    """

    path: Path
    raters: list[str]
    times: np.ndarray
    values: np.ndarray


def _parse_header(line: str, path: Path) -> list[str]:
    names = [name.strip() for name in line.split(";")]
    while len(names) > 1 and names[-1] == "":
        names.pop()
    if len(names) < 2 or names[0].lower() != "time" or any(name == "" for name in names):
        raise EmoInputError(
            f"unexpected header {line.strip()!r}; expected 'time;<rater>;...' with at least "
            "one rater column separated by ';'",
            path=path,
        )
    return names[1:]


def read_rating_csv_header(path: str | Path) -> list[str]:
    """Read and check the header of a RECOLA rating CSV; return the rater names.

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file.

    Returns
    -------
    list of str
        Rater column names, stripped.

    Raises
    ------
    EmoInputError
        Missing file, or a header other than ``time;<rater>;...``.
    """
    path = Path(path)
    require_file(path, "rating file")
    first = ""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            for line in handle:
                if line.strip():
                    first = line
                    break
    except UnicodeDecodeError:
        raise EmoInputError("not a text file", path=path) from None
    if not first:
        raise EmoInputError("empty rating file", path=path)
    return _parse_header(first.rstrip("\r\n"), path)


def _to_float(field: str) -> float:
    field = field.strip()
    if "," in field and "." not in field:
        field = field.replace(",", ".")
    return float(field)


def read_rating_csv(path: str | Path) -> RatingTable:
    """Read a RECOLA rating CSV (original release or AVEC 2016 ``ratings_individual``).

    Parameters
    ----------
    path : str or pathlib.Path
        A ``;``-separated file: header ``time;FM1 ;FM2 ;...`` (names are
        stripped), then ``<time>;<value>;...`` rows. LF or CRLF line endings;
        blank lines are ignored; a decimal comma is accepted.

    Returns
    -------
    RatingTable
        Times (T,) and values (R, T) as float64.

    Raises
    ------
    EmoInputError
        Missing file, unexpected header, a row with the wrong number of fields,
        a value that is not a number, NaN or infinite values, or no rows.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "P16.csv"
    >>> _ = path.write_bytes(b"time;FM1 ;FM2\\r\\n0.00;0.10;0.30\\r\\n0.04;0.20;0.40\\r\\n")
    >>> table = read_rating_csv(path)
    >>> table.raters, table.values.mean(axis=0).round(2).tolist()
    (['FM1', 'FM2'], [0.2, 0.3])
    """
    path = Path(path)
    require_file(path, "rating file")
    lines = read_text(path).splitlines()
    header_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_index is None:
        raise EmoInputError("empty rating file", path=path)
    raters = _parse_header(lines[header_index], path)
    width = len(raters) + 1
    rows: list[list[float]] = []
    for number, line in enumerate(lines[header_index + 1 :], start=header_index + 2):
        if not line.strip():
            continue
        fields = line.split(";")
        while len(fields) > width and fields[-1].strip() == "":
            fields.pop()
        if len(fields) != width:
            raise EmoInputError(
                f"line {number} has {len(fields)} fields, the header {width}", path=path
            )
        if any(field.strip() == "" for field in fields):
            raise EmoInputError(f"line {number} has an empty field (missing value)", path=path)
        try:
            rows.append([_to_float(field) for field in fields])
        except ValueError:
            raise EmoInputError(
                f"line {number} holds a value that is not a number: {line.strip()!r}", path=path
            ) from None
    if not rows:
        raise EmoInputError("no rating rows after the header", path=path)
    table = np.asarray(rows, dtype=np.float64)
    if not np.all(np.isfinite(table)):
        bad = int(np.argwhere(~np.isfinite(table))[0, 0]) + header_index + 2
        raise EmoInputError(
            f"NaN or infinite values in the ratings (first at line {bad})", path=path
        )
    return RatingTable(
        path=path, raters=raters, times=table[:, 0].copy(), values=table[:, 1:].T.copy()
    )


# ---------------------------------------------------------------------------
# The RECOLA reader
# ---------------------------------------------------------------------------


@dataclass
class _RecolaConversation:
    id: str
    audio_path: Path
    arousal_path: Path
    valence_path: Path
    gold: str
    duration: float = 0.0

    def check(self) -> None:
        self.duration = audio_duration(self.audio_path)
        read_rating_csv_header(self.arousal_path)
        read_rating_csv_header(self.valence_path)

    def read(self) -> Conversation:
        arousal = read_rating_csv(self.arousal_path)
        valence = read_rating_csv(self.valence_path)
        check_label_step(arousal.times, RECOLA_LABEL_STEP, arousal.path)
        check_label_step(valence.times, RECOLA_LABEL_STEP, valence.path)
        check_same_times(
            arousal.times, arousal.path, valence.times, valence.path, RECOLA_LABEL_STEP
        )
        check_audio_covers(self.audio_path, self.duration, arousal.times, RECOLA_LABEL_STEP)
        labels = np.stack(
            [
                fuse(arousal.values, self.gold, arousal.path),
                fuse(valence.values, self.gold, valence.path),
            ],
            axis=1,
        ).astype(np.float32)
        return Conversation(
            id=self.id,
            corpus="recola",
            speaker=self.id,
            audio_path=self.audio_path,
            label_step=RECOLA_LABEL_STEP,
            times=arousal.times,
            labels=labels,
            raters={
                "arousal": arousal.values.astype(np.float32),
                "valence": valence.values.astype(np.float32),
            },
            turns=[(0.0, self.duration)],
            partition=None,
            words=[],
            audio_duration=self.duration,
        )


def read_recola(root: str | Path, *, gold: str = "mean", skip_bad: bool = False) -> Corpus:
    """Read the original RECOLA release.

    Parameters
    ----------
    root : str or pathlib.Path
        The folder holding ``RECOLA-Audio-recordings`` and ``RECOLA-Annotation``.
    gold : {"mean", "ccc_centred"}
        How the six raters are fused into the gold standard.
    skip_bad : bool
        Leave bad conversations out (recorded in ``Corpus.skipped``, with a
        warning) instead of raising.

    Returns
    -------
    Corpus
        One Conversation per participant (``id`` and ``speaker`` = ``"P16"``
        ...), 40 ms label step, ``labels`` (T, 2), ``raters`` (6, T) per
        dimension, one turn spanning the whole audio.

    Raises
    ------
    EmoInputError
        Missing root or sub-folder, a participant without audio or without
        either annotation file, unusable audio, an unexpected CSV header,
        NaN values, arousal and valence of unequal lengths, labels that run
        past the audio by more than one label step.
    """
    check_gold(gold)
    root = Path(root)
    require_dir(root, _LAYOUT)
    audio_dir = require_dir(root / _AUDIO_DIR, _LAYOUT)
    annotation = {
        dim: require_dir(root / _ANNOTATION_DIR / dim, _LAYOUT) for dim in ("arousal", "valence")
    }
    audio = files_with_suffix(audio_dir, "P*", ".wav")
    labels = {dim: files_with_suffix(folder, "P*", ".csv") for dim, folder in annotation.items()}
    ids = sorted(set(audio) | set(labels["arousal"]) | set(labels["valence"]))
    if not ids:
        raise EmoInputError(
            f"no P*.wav recordings or P*.csv annotations found; {_LAYOUT}", path=root
        )
    pending = [
        _RecolaConversation(
            id=pid,
            audio_path=audio.get(pid, audio_dir / f"{pid}.wav"),
            arousal_path=labels["arousal"].get(pid, annotation["arousal"] / f"{pid}.csv"),
            valence_path=labels["valence"].get(pid, annotation["valence"] / f"{pid}.csv"),
            gold=gold,
        )
        for pid in ids
    ]
    return run_readers("recola", root, pending, [], skip_bad)
