"""Reader for the Solid-SAL part of the SEMAINE database.

Expected layout (only these parts are read)::

    <root>/Sessions/<n>/session.xml                        root attributes recording, character
    <root>/Sessions/<n>/<stamp>_User HeadMounted_<Char>.wav
    <root>/Sessions/<n>/R<rater>S<rec>TUC<char>[2]D<dim>.txt continuous traces of the user
    <root>/Sessions/<n>/wordLevel_alignedTranscript..._user word-level transcript of the user

Which sessions are Solid-SAL character interactions is decided by content,
never by number: a session is read when its character is not ``beginning``,
``end`` or ``forbidden`` (compared case-insensitively) and it holds a user WAV,
user arousal (``DA``) and valence (``DV``) traces and a user word-level
transcript. Every other session is recorded in ``Corpus.skipped`` with the
reason.

Trace file names are parsed with one regular expression anchored at both ends,
so category traces (``DAn``, ``DAm``, ``DAgre``) are never read as arousal; the
rater letter may be ``R`` or ``A``. A trace holds ``<time_s> <value>`` lines
(the first time is 0.02, blank lines occur). The raters of one dimension are
truncated to the shortest trace (with a warning) and fused with
:func:`emo_lib.labels.fuse_raters`; arousal and valence are then truncated to
their common length, again with a warning when they differ. (Unlike RECOLA,
where every file has the same number of rows and a difference is an error,
SEMAINE traces routinely differ by a few rows.)

Speakers: a SEMAINE recording is one user talking to the four characters in
turn, one session each, so the ``recording`` attribute of session.xml
identifies the user: ``speaker = "user<recording>"``. All sessions of a
recording share that speaker, which is what a speaker-independent split needs.
(The timestamp prefix of the WAV names differs from session to session and
cannot identify the user.) When session.xml lacks the attribute, the ``S<rec>``
part of the trace names is used.
"""

from __future__ import annotations

import io
import re
import warnings
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EmoInputError
from ..labels import LabelLengthWarning, truncate_traces
from .base import Conversation, Corpus
from ._common import (
    audio_duration,
    check_audio_covers,
    check_gold,
    check_label_step,
    fuse,
    read_text,
    require_dir,
    require_file,
    run_readers,
    skip,
)

__all__ = [
    "SEMAINE_LABEL_STEP",
    "NON_INTERACTION_CHARACTERS",
    "TraceName",
    "parse_trace_name",
    "read_trace",
    "read_word_transcript",
    "read_semaine",
]

SEMAINE_LABEL_STEP = 0.02
"""Seconds between SEMAINE trace rows."""

NON_INTERACTION_CHARACTERS = ("beginning", "end", "forbidden")
"""session.xml characters of sessions that are not character interactions."""

_DIMENSION_CODES = {"A": "arousal", "V": "valence"}
_TRACE = re.compile(
    r"(?P<prefix>[RA])(?P<rater>\d+)[SR](?P<recording>\d+)T(?P<target>[UO])"
    r"C(?P<character>[A-Z][a-z]*)(?P<repeat>2?)D(?P<dimension>[A-Za-z]+)"
)
_WORDS = re.compile(r"wordLevel_alignedTranscript.*_user(\.[A-Za-z0-9]+)?")
_WORD_LINE = re.compile(r"(?P<start>\d+)\s+(?P<end>\d+)\s+(?P<word>\S.*)")
_LAYOUT = (
    "expected the SEMAINE layout: <root>/Sessions/<n>/ with session.xml, "
    "*User HeadMounted*.wav, R<rater>S<rec>TUC<char>D{A,V}.txt traces and "
    "wordLevel_alignedTranscript*_user"
)


# ---------------------------------------------------------------------------
# File formats
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceName:
    """The fields of a trace file name such as ``R5S1TUCPo2DA.txt``.

    Attributes
    ----------
    prefix : str
        ``"R"`` or ``"A"``.
    rater : int
        Rater number.
    recording : int
        Recording number (``S<rec>``).
    target : str
        ``"U"`` (user) or ``"O"`` (operator).
    character : str
        Character code (``"Po"``, ``"Sp"``, ``"Pr"``, ``"Ob"``).
    repeat : bool
        True for the ``2`` marker of a second interaction with a character.
    dimension : str
        The dimension code exactly as written (``"A"``, ``"V"``, ``"An"``, ...).
    """

    prefix: str
    rater: int
    recording: int
    target: str
    character: str
    repeat: bool
    dimension: str


def parse_trace_name(name: str) -> TraceName | None:
    """Parse a trace file name; ``None`` when it is not one.

    Parameters
    ----------
    name : str
        A file name, e.g. ``"R5S1TUCPoDA.txt"``.

    Returns
    -------
    TraceName or None
        The whole stem must match, so ``...DAn.txt`` gives dimension ``"An"``,
        never ``"A"``.

    Examples
    --------
    >>> parse_trace_name("R5S1TUCPoDA.txt").dimension
    'A'
    >>> parse_trace_name("A12S3TUCOb2DAn.txt").dimension
    'An'
    >>> parse_trace_name("session.xml") is None
    True
    """
    path = Path(name)
    if path.suffix.lower() != ".txt":
        return None
    match = _TRACE.fullmatch(path.stem)
    if match is None:
        return None
    return TraceName(
        prefix=match["prefix"],
        rater=int(match["rater"]),
        recording=int(match["recording"]),
        target=match["target"],
        character=match["character"],
        repeat=match["repeat"] == "2",
        dimension=match["dimension"],
    )


def read_trace(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one continuous trace file.

    Parameters
    ----------
    path : str or pathlib.Path
        Lines ``<time_s> <value>`` (whitespace-separated); blank lines are
        ignored.

    Returns
    -------
    times : np.ndarray [shape=(T,)]
        Seconds, as written (float64).
    values : np.ndarray [shape=(T,)]
        Trace values (float64).

    Raises
    ------
    EmoInputError
        Missing file, a line without exactly two numbers, NaN or infinite
        values, no rows.
    """
    path = Path(path)
    require_file(path, "trace file")
    text = read_text(path)
    if not text.strip():
        raise EmoInputError("empty trace file", path=path)
    try:
        table = np.loadtxt(io.StringIO(text), dtype=np.float64, ndmin=2, comments=None)
    except ValueError as error:
        raise EmoInputError(f"not '<time> <value>' lines ({error})", path=path) from None
    if table.shape[1] != 2:
        raise EmoInputError(
            f"{table.shape[1]} columns per line; expected '<time> <value>'", path=path
        )
    if not np.all(np.isfinite(table)):
        bad = int(np.argwhere(~np.isfinite(table))[0, 0]) + 1
        raise EmoInputError(f"NaN or infinite values in the trace (first at row {bad})", path=path)
    return table[:, 0].copy(), table[:, 1].copy()


def read_word_transcript(
    path: str | Path,
) -> tuple[list[tuple[float, float]], list[tuple[float, float, str]]]:
    """Read a SEMAINE word-level transcript.

    Parameters
    ----------
    path : str or pathlib.Path
        Turns open with a line starting ``---recording`` (ending ``turn
        <N>---``), hold one ``<start_ms> <end_ms> <WORD>`` line per word and
        close with a line holding only ``.``. Non-speech tokens such as
        ``<LAUGH>`` are words like any other. Words outside a turn header open
        a turn of their own; other lines are ignored with one warning.

    Returns
    -------
    turns : list of (float, float)
        Per turn with at least one word: first word's start and last word's
        end, in seconds.
    words : list of (float, float, str)
        Every word: start and end in seconds, and the token.

    Raises
    ------
    EmoInputError
        Missing file, a word ending before it starts.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "wordLevel_alignedTranscript_1_user"
    >>> _ = path.write_text("---recording 1 turn 1---\\n120 480 HELLO\\n500 900 <LAUGH>\\n.\\n")
    >>> read_word_transcript(path)
    ([(0.12, 0.9)], [(0.12, 0.48, 'HELLO'), (0.5, 0.9, '<LAUGH>')])
    """
    path = Path(path)
    require_file(path, "word-level transcript")
    turns: list[tuple[float, float]] = []
    words: list[tuple[float, float, str]] = []
    current: list[tuple[float, float, str]] | None = None
    ignored: list[int] = []

    def close() -> None:
        if current:
            turns.append((current[0][0], current[-1][1]))

    for number, raw in enumerate(read_text(path).splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("---recording"):
            close()
            current = []
        elif line == ".":
            close()
            current = None
        elif (match := _WORD_LINE.fullmatch(line)) is not None:
            start_ms, end_ms = int(match["start"]), int(match["end"])
            if end_ms < start_ms:
                raise EmoInputError(
                    f"line {number}: word ends ({end_ms} ms) before it starts ({start_ms} ms)",
                    path=path,
                )
            word = (start_ms / 1000.0, end_ms / 1000.0, match["word"].strip())
            if current is None:
                current = []
            current.append(word)
            words.append(word)
        else:
            ignored.append(number)
    close()
    if ignored:
        warnings.warn(
            f"{path}: ignored {len(ignored)} line(s) that are neither turn headers, words nor '.' "
            f"(first: line {ignored[0]})",
            UserWarning,
            stacklevel=2,
        )
    return turns, words


def _session_attributes(path: Path) -> dict[str, str]:
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as error:
        raise EmoInputError(f"malformed session.xml ({error})", path=path) from None
    except OSError as error:
        raise EmoInputError(f"cannot read session.xml ({error.strerror})", path=path) from None
    return {key.split("}")[-1].lower(): value.strip() for key, value in root.attrib.items()}


# ---------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------


@dataclass
class _SemaineSession:
    id: str
    number: int
    folder: Path
    speaker: str
    user_wavs: list[Path]
    traces: dict[str, list[Path]]
    word_files: list[Path]
    gold: str
    duration: float = 0.0

    @property
    def audio_path(self) -> Path:
        return self.user_wavs[0]

    def check(self) -> None:
        if len(self.user_wavs) > 1:
            names = ", ".join(path.name for path in self.user_wavs)
            raise EmoInputError(f"several user WAV files ({names})", path=self.folder)
        if len(self.word_files) > 1:
            names = ", ".join(path.name for path in self.word_files)
            raise EmoInputError(f"several user word-level transcripts ({names})", path=self.folder)
        self.duration = audio_duration(self.audio_path)
        for paths in self.traces.values():
            for path in paths:
                require_file(path, "trace file")
        require_file(self.word_files[0], "word-level transcript")

    def _dimension(self, dim: str) -> tuple[np.ndarray, np.ndarray]:
        paths = self.traces[dim]
        read = [read_trace(path) for path in paths]
        for (times, _), path in zip(read, paths):
            check_label_step(times, SEMAINE_LABEL_STEP, path)
        ratings = truncate_traces(
            [values for _, values in read], f"{dim} traces of session {self.id} ({self.folder})"
        )
        length = ratings.shape[1]
        times = read[0][0][:length]
        for (other, _), path in zip(read[1:], paths[1:]):
            if np.any(np.abs(other[:length] - times) > 0.5 * SEMAINE_LABEL_STEP):
                raise EmoInputError(f"trace times differ from those of {paths[0].name}", path=path)
        return times, ratings

    def read(self) -> Conversation:
        times_a, arousal = self._dimension("arousal")
        times_v, valence = self._dimension("valence")
        length = min(times_a.shape[0], times_v.shape[0])
        if times_a.shape[0] != times_v.shape[0]:
            warnings.warn(
                f"{self.folder}: arousal traces have {times_a.shape[0]} rows and valence traces "
                f"{times_v.shape[0]}; both truncated to {length}",
                LabelLengthWarning,
                stacklevel=2,
            )
        times = times_a[:length]
        if np.any(np.abs(times_v[:length] - times) > 0.5 * SEMAINE_LABEL_STEP):
            raise EmoInputError(
                "arousal and valence traces are at different times", path=self.traces["valence"][0]
            )
        arousal, valence = arousal[:, :length], valence[:, :length]
        check_audio_covers(self.audio_path, self.duration, times, SEMAINE_LABEL_STEP)
        turns, words = read_word_transcript(self.word_files[0])
        labels = np.stack(
            [fuse(arousal, self.gold, self.folder), fuse(valence, self.gold, self.folder)],
            axis=1,
        ).astype(np.float32)
        return Conversation(
            id=self.id,
            corpus="semaine",
            speaker=self.speaker,
            audio_path=self.audio_path,
            label_step=SEMAINE_LABEL_STEP,
            times=np.asarray(times, dtype=np.float64),
            labels=labels,
            raters={"arousal": arousal.astype(np.float32), "valence": valence.astype(np.float32)},
            turns=turns,
            partition=None,
            words=words,
            audio_duration=self.duration,
        )


def _find_session(folder: Path, number: int, gold: str) -> _SemaineSession | str:
    """Return the session to read, or the reason it is not a character interaction."""
    xml_path = folder / "session.xml"
    attributes: dict[str, str] | None = None
    xml_error: EmoInputError | None = None
    if xml_path.is_file():
        try:
            attributes = _session_attributes(xml_path)
        except EmoInputError as error:
            xml_error = error
    character = (attributes or {}).get("character", "")
    if character.lower() in NON_INTERACTION_CHARACTERS:
        return f"not a character interaction (character {character!r})"

    files = sorted(path for path in folder.iterdir() if path.is_file())
    user_wavs = [
        p for p in files if p.suffix.lower() == ".wav" and "user headmounted" in p.name.lower()
    ]
    word_files = [p for p in files if _WORDS.fullmatch(p.name)]
    traces: dict[str, list[Path]] = {dim: [] for dim in _DIMENSION_CODES.values()}
    recordings: set[int] = set()
    for path in files:
        name = parse_trace_name(path.name)
        if name is not None and name.target == "U" and name.dimension in _DIMENSION_CODES:
            traces[_DIMENSION_CODES[name.dimension]].append(path)
            recordings.add(name.recording)
    if not user_wavs:
        return "no user WAV (*User HeadMounted*.wav)"
    for dim, code in (("arousal", "A"), ("valence", "V")):
        if not traces[dim]:
            return f"no user {dim} traces (R<rater>S<rec>TUC<char>D{code}.txt)"
    if not word_files:
        return "no user word-level transcript (wordLevel_alignedTranscript*_user)"

    if xml_error is not None:
        raise xml_error
    if attributes is None:
        raise EmoInputError("missing session.xml", path=xml_path)
    recording = attributes.get("recording", "")
    if not recording:
        if len(recordings) != 1:
            raise EmoInputError("session.xml has no 'recording' attribute", path=xml_path)
        recording = str(recordings.pop())
    recording = str(int(recording)) if recording.isdigit() else recording
    return _SemaineSession(
        id=f"S{number}",
        number=number,
        folder=folder,
        speaker=f"user{recording}",
        user_wavs=user_wavs,
        traces=traces,
        word_files=word_files,
        gold=gold,
    )


def read_semaine(root: str | Path, *, gold: str = "mean", skip_bad: bool = False) -> Corpus:
    """Read the Solid-SAL character interactions of a SEMAINE copy.

    Parameters
    ----------
    root : str or pathlib.Path
        The folder holding ``Sessions/``.
    gold : {"mean", "ccc_centred"}
        How the raters' traces are fused into the gold standard.
    skip_bad : bool
        Leave bad sessions out (recorded in ``Corpus.skipped``, with a
        warning) instead of raising.

    Returns
    -------
    Corpus
        One Conversation per interaction: ``id`` ``"S<n>"``, ``speaker``
        ``"user<recording>"``, 20 ms label step, ``times`` as in the traces
        (from 0.02), ``labels`` (T, 2), ``raters`` (R, T) per dimension, user
        ``turns`` and ``words`` from the word-level transcript. Sessions that
        are not interactions are listed in ``skipped``.

    Raises
    ------
    EmoInputError
        Missing root or ``Sessions`` folder, no session folders, a missing or
        malformed session.xml, unusable audio, malformed traces, NaN values,
        trace rows not 20 ms apart, labels that run past the audio by more
        than one label step.
    """
    check_gold(gold)
    root = Path(root)
    require_dir(root, _LAYOUT)
    sessions_dir = require_dir(root / "Sessions", _LAYOUT)
    skipped: list[tuple[str, str]] = []
    pending: list[_SemaineSession] = []
    folders = sorted(path for path in sessions_dir.iterdir() if path.is_dir())
    if not folders:
        raise EmoInputError(f"no session folders; {_LAYOUT}", path=sessions_dir)
    for folder in folders:
        if not folder.name.isdigit():
            skipped.append((str(folder), "not a numbered session folder"))
            continue
        number = int(folder.name)
        try:
            found = _find_session(folder, number, gold)
        except EmoInputError as error:
            if not skip_bad:
                raise
            skip(skipped, f"S{number}", error)
            continue
        if isinstance(found, str):
            skipped.append((f"S{number}", found))
        else:
            pending.append(found)
    return run_readers("semaine", root, pending, skipped, skip_bad)
