"""Write a synthetic stand-in for SEMAINE, RECOLA, RECOLA (AVEC 2016) or a generic corpus in its on-disk layout.

The real corpora are licensed and cannot be shipped. The tests, the default run
and the notebooks use instead a generated corpus written in exactly the layouts
of ``docs/corpora.md`` (sections 1, 2, 3 and 5), so that the same readers load
a real copy and the stand-in. It is a check of the machinery (readers,
features, models, training, evaluation), not emotional speech: results on it
say that the pipeline works, nothing about emotion recognition.

What the audio models
---------------------
Each labelled speaker talks in turns separated by silence: nonsense words of
1-3 consonant-vowel syllables made by a source-filter vocoder (Rosenberg
glottal pulses through five formant resonators that change per vowel; noise
bursts for S, SH, F, H, P, T, K; a few ``<LAUGH>`` tokens), male voices at
95-130 Hz and female voices at 175-230 Hz with formants about 15 % higher, over
a -66 dBFS noise floor. Hidden arousal ``a`` and valence ``v`` in (-1, 1) are
independent smoothed random walks (autocorrelation 1/e after 5 s) around a
per-conversation offset (SEMAINE users, before the ``tanh``: Poppy (+0.3,
+0.5), Spike (+0.5, -0.4), Obadiah (-0.5, -0.4), Prudence (-0.1, +0.15); the
operator playing the character twice these; RECOLA participants: normal
draws with standard deviation 0.25) and drive, at ``a, v = +-1``:

* arousal: speech level +-9 dB, pitch level +-4 semitones, pitch range 4 +- 3
  semitones, syllable rate 4 +- 1.5 syllables per second (pauses scale
  alike);
* valence: a high shelf above 2 kHz of +-8 dB (brighter when positive),
  formants +-6 %, and the pitch contour of every word rising (positive) or
  falling (negative) by ``v`` times the pitch range.

Raters trace the hidden trajectory with a reaction lag of 0.5-2 s, a gain of
0.75-1.1, a bias (standard deviation 0.08), 0.2-0.6 s of smoothing and noise
(standard deviation 0.05), clipped to [-1, 1], exactly 0 until they start
moving (0.3-1.2 s) and then faded in over 1.5 s; values are written with the
corpus's decimals (SEMAINE 4, RECOLA 2). :mod:`emo_lib.synthesis` holds the
generator and the constants above.

Tower-test cues
---------------
With ``cues="tower_test"`` the hidden values drive other cues (the rest of the
corpus is as above), an experiment for the waveform and spectrogram towers:

* arousal: only the phase of the excitation. Every harmonic's phase is
  rotated by ``90 * (1 - a)`` degrees (``synthesis.AROUSAL_PHASE_DEGREES``):
  the Rosenberg pulse as it is at ``a = +1``, its Hilbert transform at
  ``a = 0``, the waveform turned upside down at ``a = -1``. The magnitude
  spectrum, the level, the pitch (level and range), the syllable rate and the
  pauses do not move with arousal, so the 40-band log mel of 25 ms frames
  (a power spectrogram) does not see it; the waveform's asymmetry does.
* valence: only the spectral envelope, the high shelf above 2 kHz (+-8 dB)
  and the formant shift (+-6 %); the pitch contour does not follow valence
  and ``<LAUGH>`` tokens occur at a fixed rate.

The marker records ``"cues": "tower_test"`` among the parameters (the key is
left out for the standard cues, so that the standard corpora's files are the
same as before the option existed).

The layouts and their quirks
----------------------------
``semaine``
    ``Sessions/<n>/`` with ``session.xml`` (root attributes ``recording`` and
    ``character``, the latter in varying letter case), user and operator
    head-mounted WAVs at 48 kHz PCM_24 with literal spaces in their names,
    traces ``R<r>S<rec>T<U|O>C<Po|Sp|Ob|Pr>[2]D<A|V|P|E>.txt`` (first row at
    0.02 s, 4 decimals, 6-8 raters whose traces differ in length by up to 4
    rows, 0-2 trailing blank lines, one rater in every other session with an
    ``A`` prefix), category traces ``...DAn.txt`` with unrelated values in
    [0, 1], operator traces ``TO``, a sentence-level ``alignedTranscript_...``
    and word-level transcripts ``wordLevel_alignedTranscript_<rec>.<k><Char>_user``
    and ``..._operator`` whose word times are those of the synthesised words,
    plus one ``beginning`` session (no traces) that readers must skip. Session
    numbers leave gaps between recordings.
``recola``
    ``RECOLA-Audio-recordings/P<nn>.wav`` (44.1 kHz, 16-bit, mono),
    ``RECOLA-Annotation/emotional_behaviour/{arousal,valence}/P<nn>.csv`` with
    the header ``time;FM1 ;FM2 ;FM3 ;FF1 ;FF2 ;FF3``, rows every 40 ms from
    0.00 to the end, 2 decimals, LF or CRLF line endings (alternating by
    participant), and ``RECOLA-Audio_timings/P<nn>.csv`` (``start;stop``).
    Participants take the 23 public numbers P16, P17, ... P65 in order, then
    (up to the 46 participants of the full corpus) the numbers in between
    that are not public: P18, P20, ... (:data:`RECOLA_PARTICIPANTS`).
``recola-avec2016``
    ``recordings_audio/{train,dev,test}_<k>.wav`` (16 kHz, 16-bit),
    ``ratings_gold_standard/{arousal,valence}/{train,dev}_<k>.arff`` (CRLF,
    the 9-line header, times in shortest form, values with 6 significant
    digits, the smallest in exponent form; the gold standard is the plain
    mean of the unrounded rater traces) and
    ``ratings_individual/{arousal,valence}/{train,dev}_<k>.csv`` in the RECOLA
    CSV format; no labels for ``test``.
``generic``
    The layout of :mod:`emo_lib.corpora.generic`: ``audio/<id>.wav``
    (22.05 kHz, 16-bit, mono), ``labels/<id>.csv`` (``time,arousal,valence``,
    rows from 0.00 s to the end every 40 ms, or 20 ms with
    ``label_step_ms=20``, times with 2 decimals, values with 4: the plain mean
    of six unrounded rater traces), ``speakers.csv`` and ``turns/<id>.csv``
    (``start,end``: the labelled speaker's turns, 3 decimals); LF or CRLF line
    endings, alternating by conversation. ``n_speakers`` speakers
    (``spk01`` ...) hold ``conversations_per_speaker`` conversations each
    (``spk01_1``, ``spk01_2``, ...), in which the speaker alternates with a
    silent partner.

Every folder written gets a ``SYNTHETIC.json`` marker with the parameters and
the list of files, present only once the corpus is complete (while it is
being written the marker is ``SYNTHETIC.partial.json``). Writing into a
non-empty folder without either marker for the same corpus is refused; a
rewrite removes the files of the previous one that the new one does not have.
Every file is written atomically. The same seed and parameters give
byte-identical files.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .. import __version__
from ..errors import EmoInputError
from ..audio import write_wav
from ..io import atomic_path, atomic_write_json
from ..synthesis import (
    CUE_MODES,
    alternating_turns,
    emotion_trajectory,
    random_voice,
    rater_traces,
    synthesize_speech,
)

__all__ = [
    "SYNTHETIC_CORPORA",
    "SYNTHETIC_DEFAULTS",
    "SYNTHETIC_CORPUS_DESCRIPTION",
    "MARKER_NAME",
    "PARTIAL_MARKER_NAME",
    "RECOLA_PUBLIC_PARTICIPANTS",
    "RECOLA_PARTICIPANTS",
    "TOWER_TEST_DESCRIPTION",
    "CUE_MODES",
    "describe_synthetic_corpus",
    "write_synthetic_corpus",
]

SYNTHETIC_CORPORA = ("semaine", "recola", "recola-avec2016", "generic")
"""Corpus names :func:`write_synthetic_corpus` accepts."""

SYNTHETIC_DEFAULTS: dict[str, dict[str, Any]] = {
    "semaine": {"n_speakers": 6, "conversations_per_speaker": 3, "duration_s": 60.0},
    "recola": {"n_speakers": 9, "conversations_per_speaker": 1, "duration_s": 60.0},
    "recola-avec2016": {"n_speakers": 3, "conversations_per_speaker": 1, "duration_s": 60.0},
    "generic": {"n_speakers": 6, "conversations_per_speaker": 2, "duration_s": 60.0},
}
"""Default sizes: SEMAINE 6 users x 3 character sessions (+ one ``beginning``
session), RECOLA 9 participants, AVEC 2016 3 recordings per partition, generic
6 speakers x 2 conversations; 60 s each. For ``recola-avec2016`` ``n_speakers``
counts recordings per partition."""

MARKER_NAME = "SYNTHETIC.json"
"""Name of the marker file at the root of every complete synthetic corpus."""
PARTIAL_MARKER_NAME = "SYNTHETIC.partial.json"
"""Name of the marker present while a synthetic corpus is being written."""
_MARKER_FORMAT = "emo_lib synthetic corpus"

RECOLA_PUBLIC_PARTICIPANTS = (
    "P16", "P17", "P19", "P21", "P23", "P25", "P26", "P28", "P30", "P34", "P37", "P39",
    "P41", "P42", "P43", "P45", "P46", "P48", "P56", "P58", "P62", "P64", "P65",
)  # fmt: skip
"""The 23 publicly released RECOLA participants, in order."""

RECOLA_PARTICIPANTS = RECOLA_PUBLIC_PARTICIPANTS + (
    "P18", "P20", "P22", "P24", "P27", "P29", "P31", "P32", "P33", "P35", "P36", "P38",
    "P40", "P44", "P47", "P49", "P50", "P51", "P52", "P53", "P54", "P55", "P57",
)  # fmt: skip
"""The participant ids of the RECOLA-layout stand-in, 46 as in the full corpus:
the 23 public ones in order, then 23 numbers between them that are not public."""

SYNTHETIC_CORPUS_DESCRIPTION = (
    "The synthetic stand-in corpus is a check of the machinery, not emotional speech. "
    "Each speaker utters nonsense consonant-vowel words from a source-filter vocoder "
    "(glottal pulses through five vowel-dependent formants, noise consonants, pauses "
    "between words and turns; male and female voices). Hidden arousal and valence in "
    "(-1, 1) drift slowly (correlation time 5 s) and set the acoustics: arousal raises "
    "the speech level by up to 9 dB, the pitch by up to 4 semitones, the pitch range "
    "(1 to 7 semitones) and the syllable rate (2.5 to 5.5 per second); valence tilts "
    "the spectrum (up to +-8 dB above 2 kHz), shifts the formants by up to 6 % and "
    "makes each word's pitch rise (positive) or fall (negative). Six to eight "
    "simulated raters trace the hidden values with 0.5-2 s of reaction lag, bias, "
    "smoothing and noise, written in the exact file layouts of SEMAINE, RECOLA and "
    "RECOLA as packaged for AVEC 2016."
)
"""A short paragraph describing the stand-in, for the README and reports."""

TOWER_TEST_DESCRIPTION = (
    "The synthetic stand-in corpus with tower-test cues is a check of the machinery, not "
    "emotional speech. Each speaker utters nonsense consonant-vowel words from a source-filter "
    "vocoder (glottal pulses through five vowel-dependent formants, noise consonants, pauses "
    "between words and turns; male and female voices). Hidden arousal and valence in (-1, 1) "
    "drift slowly (correlation time 5 s). Arousal moves only the phase of the glottal "
    "excitation: every harmonic is rotated by 90 degrees times (1 - arousal), so the waveform "
    "is turned upside down at the lowest arousal, while its magnitude spectrum, level, pitch, "
    "pitch range (4 semitones) and syllable rate (4 per second) stay fixed: a power "
    "spectrogram such as the 40-band log mel cannot see it. Valence moves only the spectral "
    "envelope: it tilts the spectrum (up to +-8 dB above 2 kHz) and shifts the formants by "
    "up to 6 %. Six to eight simulated raters trace the hidden values with 0.5-2 s of "
    "reaction lag, bias, smoothing and noise."
)
"""A short paragraph describing the stand-in written with ``cues="tower_test"``."""

_SEMAINE_RATE, _SEMAINE_SUBTYPE = 48_000, "PCM_24"
_RECOLA_RATE, _RECOLA_SUBTYPE = 44_100, "PCM_16"
_AVEC_RATE, _AVEC_SUBTYPE = 16_000, "PCM_16"
_RECOLA_RATERS = ("FM1", "FM2", "FM3", "FF1", "FF2", "FF3")
_GENERIC_RATE, _GENERIC_SUBTYPE = 22_050, "PCM_16"
_CORPUS_CODE = {"semaine": 1, "recola": 2, "recola-avec2016": 3, "generic": 4}
_MIN_DURATION, _MAX_DURATION = 5.0, 600.0

# character -> (code, operator sex, user offset (a, v)); the operator's offset is twice the user's
_CHARACTERS: dict[str, tuple[str, str, tuple[float, float]]] = {
    "Poppy": ("Po", "female", (0.3, 0.5)),
    "Spike": ("Sp", "male", (0.5, -0.4)),
    "Obadiah": ("Ob", "male", (-0.5, -0.4)),
    "Prudence": ("Pr", "female", (-0.1, 0.15)),
}
_CHARACTER_NAMES = tuple(_CHARACTERS)


def describe_synthetic_corpus(cues: str = "standard") -> str:
    """A short paragraph describing the synthetic stand-in corpus.

    Parameters
    ----------
    cues : {"standard", "tower_test"}
        Which cues the hidden values drive (:data:`CUE_MODES`).

    Returns
    -------
    str
        :data:`SYNTHETIC_CORPUS_DESCRIPTION` or :data:`TOWER_TEST_DESCRIPTION`.
    """
    if cues not in CUE_MODES:
        raise EmoInputError(f"unknown cues {cues!r}; choose one of {', '.join(CUE_MODES)}")
    return TOWER_TEST_DESCRIPTION if cues == "tower_test" else SYNTHETIC_CORPUS_DESCRIPTION


# ---------------------------------------------------------------------------
# File writing
# ---------------------------------------------------------------------------


def _write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _write_text(path: Path, text: str, newline: str = "\n") -> None:
    if newline != "\n":
        text = text.replace("\n", newline)
    _write_bytes(path, text.encode("utf-8"))


def _rng(seed: int, corpus: str, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, _CORPUS_CODE[corpus], *keys])


def _fmt_rows(times: np.ndarray, values: np.ndarray, time_fmt: str, value_fmt: str, sep: str) -> str:
    """Rows ``time<sep>v1<sep>v2...`` from times (T,) and values (R, T)."""
    values = np.atleast_2d(values)
    decimals = int(value_fmt.strip(".f"))
    values = np.round(values, decimals) + 0.0  # quantise; "+ 0.0" turns -0.0 into 0.0
    pattern = sep.join(["{:" + time_fmt + "}"] + ["{:" + value_fmt + "}"] * len(values)) + "\n"
    return "".join(map(pattern.format, np.asarray(times).tolist(), *values.tolist()))


@dataclass
class _Job:
    """One conversation: the files it writes and how."""

    name: str
    files: list[str]
    write: Callable[[Path], None]


# ---------------------------------------------------------------------------
# SEMAINE
# ---------------------------------------------------------------------------


def _semaine_trace(times: np.ndarray, values: np.ndarray, trailing: int) -> str:
    return _fmt_rows(times, values, ".2f", ".4f", " ") + "\n" * trailing


def _semaine_words(turns: list[tuple[int, str, list]], who: str, tag: str) -> str:
    lines = []
    for number, speaker, words in turns:
        if speaker != who:
            continue
        lines.append(f"---recording {tag} {who} turn {number}---")
        for start, end, word in words:
            lines.append(f"{int(round(start * 1000))} {int(round(end * 1000))} {word}")
        lines.append(".")
    return "\n".join(lines) + "\n"


def _semaine_sentences(turns: list[tuple[int, str, list]]) -> str:
    lines = []
    for _number, speaker, words in turns:
        text = " ".join(w for _s, _e, w in words)
        lines.append(f"{words[0][0]:.2f} {words[-1][1]:.2f} {speaker.capitalize()}: {text}")
    return "\n".join(lines) + "\n"


def _session_xml(number: int, recording: int, character: str, files: list[str], start: str) -> str:
    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")

    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<session sessionId="{number}" recording="{recording}" character="{esc(character)}" '
        f'startTime="{start}" database="SEMAINE synthetic stand-in">',
    ]
    for name in files:
        if name.endswith(".wav"):
            view = "User HeadMounted" if "_User " in name else "Operator HeadMounted"
            lines.append(f'  <track type="Audio" view="{view}" filename="{esc(name)}"/>')
        elif name != "session.xml":
            lines.append(f'  <annotation filename="{esc(name)}"/>')
    lines.append("</session>")
    return "\n".join(lines) + "\n"


def _plan_semaine(seed: int, n_users: int, per_user: int, duration: float, cues: str) -> list[_Job]:
    plan = _rng(seed, "semaine", 0)
    first_sex = ("female", "male")[int(plan.integers(2))]
    users = [
        random_voice(plan, (first_sex, "male" if first_sex == "female" else "female")[u % 2], f"user{u + 1}")
        for u in range(n_users)
    ]
    operators = {c: random_voice(plan, _CHARACTERS[c][1], c) for c in _CHARACTER_NAMES}
    jobs: list[_Job] = []
    number = 0
    for u in range(n_users):
        recording = u + 1
        number += 1  # gap between recordings: session numbers are not contiguous
        day = _dt.datetime(2009, 1, 12, 9, 30, 0) + _dt.timedelta(days=3 * u, seconds=int(plan.integers(0, 3600)))
        sessions: list[tuple[str, str, float]] = []
        if u == 0:
            sessions.append(("beginning", "", max(_MIN_DURATION, duration / 2)))
        for j in range(per_user):
            character = _CHARACTER_NAMES[(u + j) % len(_CHARACTER_NAMES)]
            sessions.append((character, "2" if j >= len(_CHARACTER_NAMES) else "", duration))
        for k, (character, repeat, length) in enumerate(sessions):
            number += 1
            stamp = (day + _dt.timedelta(seconds=int(k * (duration + 90)))).strftime("%Y.%m.%d.%H.%M.%S")
            n_raters = int(plan.integers(6, 9))
            raters = sorted(int(r) for r in plan.choice(np.arange(1, 10), size=n_raters, replace=False))
            a_prefix = raters[-1] if k % 2 == 1 else None
            jobs.append(
                _semaine_session(
                    seed, number, recording, k, character, repeat, length, stamp,
                    users[u], operators.get(character), raters, a_prefix,
                    lower_case=recording % 2 == 0, cues=cues,
                )
            )  # fmt: skip
    return jobs


def _semaine_session(
    seed: int,
    number: int,
    recording: int,
    k: int,
    character: str,
    repeat: str,
    duration: float,
    stamp: str,
    user: Any,
    operator: Any,
    raters: list[int],
    a_prefix: int | None,
    lower_case: bool,
    cues: str,
) -> _Job:
    folder = f"Sessions/{number}"
    beginning = character == "beginning"
    shown = "Beginning" if beginning else character
    user_wav = f"{stamp}_User HeadMounted_{shown}.wav"
    operator_wav = f"{stamp}_Operator HeadMounted_{shown}.wav"
    tag = f"{recording}.{k}{shown}"
    words_user = f"wordLevel_alignedTranscript_{tag}_user"
    words_operator = f"wordLevel_alignedTranscript_{tag}_operator"
    sentences = f"alignedTranscript_{tag}.txt"
    names = ["session.xml", user_wav, operator_wav, sentences, words_user, words_operator]
    traces: list[tuple[str, str, str, int]] = []  # (file name, target, dimension, rater)
    if not beginning:
        code = _CHARACTERS[character][0] + repeat
        for r in raters:
            prefix = "A" if r == a_prefix else "R"
            for dim in ("A", "V", "P", "E"):
                traces.append((f"{prefix}{r}S{recording}TUC{code}D{dim}.txt", "U", dim, r))
        for r in raters[:2]:
            traces.append((f"R{r}S{recording}TUC{code}DAn.txt", "U", "An", r))
        for r in raters[-2:]:
            prefix = "A" if r == a_prefix else "R"
            for dim in ("A", "V"):
                traces.append((f"{prefix}{r}S{recording}TOC{code}D{dim}.txt", "O", dim, r))
        names += [t[0] for t in traces]
    xml_character = character.lower() if (lower_case or beginning) else character

    def write(root: Path) -> None:
        rng = _rng(seed, "semaine", 1, number)
        base = root / folder
        if beginning:
            user_offset, op_offset = (0.0, 0.0), (0.0, 0.3)
            op_voice = random_voice(rng, "female", "greeter")
        else:
            user_offset = _CHARACTERS[character][2]
            op_offset = (2 * user_offset[0], 2 * user_offset[1])
            op_voice = operator
        user_emo = emotion_trajectory(duration, rng, offset=user_offset)
        op_emo = emotion_trajectory(duration, rng, offset=op_offset, spread=0.4)
        user_turns, op_turns = alternating_turns(duration, rng)
        user_track = synthesize_speech(user_turns, duration, _SEMAINE_RATE, user, user_emo, rng, cues=cues)
        op_track = synthesize_speech(op_turns, duration, _SEMAINE_RATE, op_voice, op_emo, rng, cues=cues)
        write_wav(base / user_wav, user_track.signal, _SEMAINE_RATE, _SEMAINE_SUBTYPE)
        write_wav(base / operator_wav, op_track.signal, _SEMAINE_RATE, _SEMAINE_SUBTYPE)
        dialogue = sorted(
            [("user", t) for t in user_track.turns] + [("operator", t) for t in op_track.turns],
            key=lambda item: item[1][0][0],
        )
        numbered = [(i + 1, who, words) for i, (who, words) in enumerate(dialogue)]
        _write_text(base / words_user, _semaine_words(numbered, "user", tag))
        _write_text(base / words_operator, _semaine_words(numbered, "operator", tag))
        _write_text(base / sentences, _semaine_sentences(numbered))
        if not beginning:
            n_rows = int(np.floor(duration / 0.02 + 1e-9))
            times = 0.02 * np.arange(1, n_rows + 1)
            # hidden values each trace follows: arousal, valence, and unrelated
            # power, expectation and category ("An") trajectories
            other = emotion_trajectory(duration, rng, spread=0.6)
            category = emotion_trajectory(duration, rng, offset=(-1.0, 0.0), spread=1.0)[:, 0]
            hidden = {
                ("U", "A"): user_emo[:, 0],
                ("U", "V"): user_emo[:, 1],
                ("U", "P"): other[:, 0],
                ("U", "E"): other[:, 1],
                ("U", "An"): 0.5 + 0.5 * category,
                ("O", "A"): op_emo[:, 0],
                ("O", "V"): op_emo[:, 1],
            }
            for key, series in hidden.items():
                wanted = [t for t in traces if (t[1], t[2]) == key]
                values = rater_traces(series, times, rng, len(wanted))
                if key[1] == "An":
                    values = np.clip(values, 0.0, 1.0)
                for (name, _target, _dim, r), row in zip(wanted, values):
                    keep = n_rows - int(rng.integers(0, 5))
                    _write_text(base / name, _semaine_trace(times[:keep], row[:keep], trailing=r % 3))
        start = stamp.replace(".", "-", 2).replace(".", " ", 1).replace(".", ":")
        _write_text(base / "session.xml", _session_xml(number, recording, xml_character, names, start))

    return _Job(name=folder, files=[f"{folder}/{n}" for n in names], write=write)


# ---------------------------------------------------------------------------
# RECOLA (original release and AVEC 2016 packaging)
# ---------------------------------------------------------------------------


def _recola_csv(times: np.ndarray, traces: np.ndarray) -> str:
    header = "time;" + ";".join(f"{r} " for r in _RECOLA_RATERS[:-1]) + ";" + _RECOLA_RATERS[-1] + "\n"
    return header + _fmt_rows(times, traces, ".2f", ".2f", ";")


def _shortest(x: float) -> str:
    """Shortest form with 6 significant digits: ``0``, ``0.04``, ``300``, ``-1.2e-05``."""
    text = format(float(x), ".6g")
    return "0" if text in ("-0", "0") else text


def _arff(stem: str, dimension: str, times: np.ndarray, values: np.ndarray) -> str:
    header = [
        f"@relation GOLDSTANDARD_{dimension.upper()}",
        "",
        "@attribute Instance_name string",
        "@attribute frameTime numeric",
        "@attribute GoldStandard numeric",
        "",
        "",
        "@data",
        "",
    ]
    rows = [f"{stem},{_shortest(round(t, 2))},{_shortest(v)}" for t, v in zip(times, values)]
    return "\n".join(header + rows) + "\n"


def _recola_conversation(
    seed: int,
    corpus: str,
    index: int,
    voice: Any,
    offset: tuple[float, float],
    duration: float,
    sample_rate: int,
    cues: str,
    step: float = 0.04,
):
    """Audio, speech regions, label times and unrounded rater traces of one RECOLA-style recording."""
    rng = _rng(seed, corpus, 1, index)
    emotion = emotion_trajectory(duration, rng, offset=offset)
    own, _other = alternating_turns(duration, rng, own_s=(2.0, 10.0), other_s=(1.0, 6.0))
    track = synthesize_speech(own, duration, sample_rate, voice, emotion, rng, cues=cues)
    times = step * np.arange(int(round(duration / step)) + 1)
    traces = {
        dim: rater_traces(emotion[:, d], times, rng, len(_RECOLA_RATERS))
        for d, dim in enumerate(("arousal", "valence"))
    }
    return track, times, traces


def _plan_recola(seed: int, n: int, duration: float, cues: str) -> list[_Job]:
    plan = _rng(seed, "recola", 0)
    jobs = []
    for i, pid in enumerate(RECOLA_PARTICIPANTS[:n]):
        voice = random_voice(plan, ("female", "male")[i % 2], pid)
        offset = (float(plan.normal(0, 0.25)), float(plan.normal(0.1, 0.25)))
        files = [
            f"RECOLA-Audio-recordings/{pid}.wav",
            f"RECOLA-Annotation/emotional_behaviour/arousal/{pid}.csv",
            f"RECOLA-Annotation/emotional_behaviour/valence/{pid}.csv",
            f"RECOLA-Audio_timings/{pid}.csv",
        ]

        def write(root: Path, i=i, pid=pid, voice=voice, offset=offset, files=files) -> None:
            track, times, traces = _recola_conversation(
                seed, "recola", i, voice, offset, duration, _RECOLA_RATE, cues
            )
            write_wav(root / files[0], track.signal, _RECOLA_RATE, _RECOLA_SUBTYPE)
            newline = "\r\n" if i % 2 else "\n"
            for name, dim in zip(files[1:3], ("arousal", "valence")):
                _write_text(root / name, _recola_csv(times, traces[dim]), newline)
            timings = "start;stop\n" + "".join(f"{s:.2f};{e:.2f}\n" for s, e in track.speech_regions)
            _write_text(root / files[3], timings)

        jobs.append(_Job(name=pid, files=files, write=write))
    return jobs


def _plan_avec2016(seed: int, n: int, duration: float, cues: str) -> list[_Job]:
    plan = _rng(seed, "recola-avec2016", 0)
    jobs = []
    index = 0
    for partition in ("train", "dev", "test"):
        for k in range(1, n + 1):
            stem = f"{partition}_{k}"
            voice = random_voice(plan, ("female", "male")[index % 2], stem)
            offset = (float(plan.normal(0, 0.25)), float(plan.normal(0.1, 0.25)))
            files = [f"recordings_audio/{stem}.wav"]
            if partition != "test":
                for dim in ("arousal", "valence"):
                    files.append(f"ratings_gold_standard/{dim}/{stem}.arff")
                    files.append(f"ratings_individual/{dim}/{stem}.csv")

            def write(root: Path, i=index, stem=stem, voice=voice, offset=offset, labelled=partition != "test") -> None:
                track, times, traces = _recola_conversation(
                    seed, "recola-avec2016", i, voice, offset, duration, _AVEC_RATE, cues
                )
                write_wav(root / "recordings_audio" / f"{stem}.wav", track.signal, _AVEC_RATE, _AVEC_SUBTYPE)
                if not labelled:
                    return
                for dim in ("arousal", "valence"):
                    gold = traces[dim].mean(axis=0)
                    arff = _arff(stem, dim, times, gold)
                    _write_text(root / "ratings_gold_standard" / dim / f"{stem}.arff", arff, "\r\n")
                    _write_text(root / "ratings_individual" / dim / f"{stem}.csv", _recola_csv(times, traces[dim]))

            jobs.append(_Job(name=stem, files=files, write=write))
            index += 1
    return jobs


# ---------------------------------------------------------------------------
# Generic layout
# ---------------------------------------------------------------------------


def _generic_labels(times: np.ndarray, arousal: np.ndarray, valence: np.ndarray) -> str:
    return "time,arousal,valence\n" + _fmt_rows(times, np.stack([arousal, valence]), ".2f", ".4f", ",")


def _plan_generic(seed: int, n: int, per: int, duration: float, cues: str, step: float) -> list[_Job]:
    plan = _rng(seed, "generic", 0)
    jobs = []
    speakers = []
    index = 0
    for s in range(n):
        speaker = f"spk{s + 1:02d}"
        voice = random_voice(plan, ("female", "male")[s % 2], speaker)
        for k in range(per):
            cid = f"{speaker}_{k + 1}"
            speakers.append((cid, speaker))
            offset = (float(plan.normal(0, 0.25)), float(plan.normal(0.1, 0.25)))
            files = [f"audio/{cid}.wav", f"labels/{cid}.csv", f"turns/{cid}.csv"]

            def write(root: Path, i=index, cid=cid, voice=voice, offset=offset, files=files) -> None:
                track, times, traces = _recola_conversation(
                    seed, "generic", i, voice, offset, duration, _GENERIC_RATE, cues, step
                )
                write_wav(root / files[0], track.signal, _GENERIC_RATE, _GENERIC_SUBTYPE)
                newline = "\r\n" if i % 2 else "\n"
                gold = [traces[dim].mean(axis=0) for dim in ("arousal", "valence")]
                _write_text(root / files[1], _generic_labels(times, *gold), newline)
                turns = "start,end\n" + "".join(f"{a:.3f},{b:.3f}\n" for a, b in track.speech_regions)
                _write_text(root / files[2], turns, newline)

            jobs.append(_Job(name=cid, files=files, write=write))
            index += 1
    table = "conversation,speaker\n" + "".join(f"{cid},{speaker}\n" for cid, speaker in speakers)
    jobs.append(_Job(name="speakers.csv", files=["speakers.csv"],
                     write=lambda root: _write_text(root / "speakers.csv", table)))  # fmt: skip
    return jobs


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def _check_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise EmoInputError(f"{name} must be an integer from {low} to {high}, not {value!r}")
    return int(value)


def _previous_files(out: Path, corpus: str) -> list[str]:
    """Files of the synthetic corpus already in ``out``; refuses anything else."""
    if out.exists() and not out.is_dir():
        raise EmoInputError("exists and is not a folder", out)
    if not out.exists() or not any(out.iterdir()):
        return []
    markers = [out / name for name in (MARKER_NAME, PARTIAL_MARKER_NAME) if (out / name).is_file()]
    if not markers:
        raise EmoInputError(
            f"folder is not empty and holds no synthetic corpus ({MARKER_NAME} missing); "
            "refusing to write into it",
            out,
        )
    files: list[Any] = []
    for marker in markers:
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EmoInputError(f"unreadable marker ({exc}); refusing to write into the folder", marker) from None
        if not isinstance(info, dict) or info.get("format") != _MARKER_FORMAT:
            raise EmoInputError("not a synthetic-corpus marker; refusing to write into the folder", marker)
        if info.get("corpus") != corpus:
            raise EmoInputError(
                f"folder holds a synthetic {info.get('corpus')!r} corpus, not {corpus!r}; refusing to mix them",
                out,
            )
        listed = info.get("files", [])
        if not isinstance(listed, list):
            raise EmoInputError("marker's 'files' is not a list", marker)
        files += listed
    safe = []
    for name in files:
        if isinstance(name, str) and name and not Path(name).is_absolute() and ".." not in Path(name).parts:
            safe.append(name)
    return sorted(set(safe))


def _remove_stale(out: Path, stale: set[str]) -> None:
    folders = set()
    for name in sorted(stale):
        path = out / name
        if path.is_file() or path.is_symlink():
            path.unlink()
        parent = path.parent
        while parent != out and out in parent.parents:
            folders.add(parent)
            parent = parent.parent
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()  # only when empty
        except OSError:
            pass


def write_synthetic_corpus(
    corpus: str,
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    n_speakers: int | None = None,
    conversations_per_speaker: int | None = None,
    duration_s: float | None = None,
    progress: bool = True,
    cues: str = "standard",
    label_step_ms: int | None = None,
) -> Path:
    """Write a synthetic stand-in corpus in the on-disk layout of a real one (or the generic layout).

    Parameters
    ----------
    corpus : {"semaine", "recola", "recola-avec2016", "generic"}
        Which layout to write (see the module docstring).
    out_dir : str or os.PathLike
        Root folder of the corpus. It must be missing, empty, or a previous
        synthetic corpus of the same kind (which is then replaced).
    seed : int
        Seed of everything random; the same seed and sizes give
        byte-identical files.
    n_speakers : int, optional
        SEMAINE: users (recordings), 1-99, default 6. RECOLA: participants,
        1-46, default 9 (the first 23 take the public ids). AVEC 2016:
        recordings per partition, 1-9, default 3. Generic: speakers, 1-99,
        default 6.
    conversations_per_speaker : int, optional
        SEMAINE: character sessions per user, 1-8, default 3 (sessions
        beyond the fourth revisit a character and carry the ``2`` code
        suffix). Generic: conversations per speaker, 1-8, default 2. Must be
        1 (or left out) for the RECOLA layouts.
    duration_s : float, optional
        Length of each conversation, 5-600 s, default 60 (the SEMAINE
        ``beginning`` session lasts half of it, at least 5 s).
    progress : bool
        Show a progress bar.
    cues : {"standard", "tower_test"}
        What the hidden arousal and valence drive: the standard correlates, or
        arousal only the excitation's phase and valence only the spectral
        envelope (module docstring, "Tower-test cues"). Recorded in the
        marker when not ``"standard"``.
    label_step_ms : {40, 20}, optional
        Generic layout only: the label step, default 40 ms. The other layouts
        have their corpus's step (SEMAINE 20 ms, RECOLA 40 ms); for them it
        must be left out or equal that step.

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    EmoInputError
        For an unknown corpus or cues, sizes out of range, a label step other
        than 20 or 40 ms (or other than the layout's), or an ``out_dir`` that
        is a file or a non-empty folder other than a synthetic corpus of the
        same kind.

    Examples
    --------
    >>> root = write_synthetic_corpus("recola", "data/synthetic/recola", progress=False)  # doctest: +SKIP
    """
    if corpus not in SYNTHETIC_CORPORA:
        raise EmoInputError(f"unknown corpus {corpus!r}; choose one of {', '.join(SYNTHETIC_CORPORA)}")
    defaults = SYNTHETIC_DEFAULTS[corpus]
    seed = _check_int("seed", seed, 0, 2**63 - 1)
    limit = {"semaine": 99, "recola": len(RECOLA_PARTICIPANTS), "recola-avec2016": 9, "generic": 99}[corpus]
    n = _check_int("n_speakers", defaults["n_speakers"] if n_speakers is None else n_speakers, 1, limit)
    per = defaults["conversations_per_speaker"] if conversations_per_speaker is None else conversations_per_speaker
    per = _check_int("conversations_per_speaker", per, 1, 8 if corpus in ("semaine", "generic") else 1)
    if not isinstance(cues, str) or cues not in CUE_MODES:
        raise EmoInputError(f"unknown cues {cues!r}; choose one of {', '.join(CUE_MODES)}")
    layout_step = {"semaine": 20, "recola": 40, "recola-avec2016": 40, "generic": None}[corpus]
    step_ms = 40 if label_step_ms is None else label_step_ms
    if isinstance(step_ms, bool) or not isinstance(step_ms, (int, np.integer)) or step_ms not in (20, 40):
        raise EmoInputError(f"label_step_ms must be 20 or 40, not {label_step_ms!r}")
    step_ms = int(step_ms)
    if layout_step is not None and label_step_ms is not None and step_ms != layout_step:
        raise EmoInputError(
            f"label_step_ms is {layout_step} in the {corpus} layout, not {label_step_ms!r} "
            "(only the generic layout takes another step)"
        )
    duration = defaults["duration_s"] if duration_s is None else duration_s
    try:
        duration = float(duration)
    except (TypeError, ValueError):
        raise EmoInputError(f"duration_s must be a number, not {duration_s!r}") from None
    if not _MIN_DURATION <= duration <= _MAX_DURATION:
        raise EmoInputError(f"duration_s must be from {_MIN_DURATION:g} to {_MAX_DURATION:g} s, not {duration_s!r}")

    out = Path(out_dir)
    previous = _previous_files(out, corpus)
    if corpus == "semaine":
        jobs = _plan_semaine(seed, n, per, duration, cues)
    elif corpus == "recola":
        jobs = _plan_recola(seed, n, duration, cues)
    elif corpus == "recola-avec2016":
        jobs = _plan_avec2016(seed, n, duration, cues)
    else:
        jobs = _plan_generic(seed, n, per, duration, cues, step_ms / 1000)
    files = sorted(f for job in jobs for f in job.files)
    parameters: dict[str, Any] = {
        "seed": seed,
        "n_speakers": n,
        "conversations_per_speaker": per,
        "duration_s": duration,
    }
    if corpus == "generic":
        parameters["label_step_ms"] = step_ms
    if cues != "standard":  # left out for the standard cues: their markers stay as they were
        parameters["cues"] = cues
    parameters["emo_lib_version"] = __version__
    marker: dict[str, Any] = {
        "format": _MARKER_FORMAT,
        "corpus": corpus,
        "parameters": parameters,
        "description": describe_synthetic_corpus(cues),
        "complete": False,
        # while writing, list old and new files so an interrupted run can be cleaned up
        "files": sorted(set(files) | set(previous)),
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / PARTIAL_MARKER_NAME, marker)
    (out / MARKER_NAME).unlink(missing_ok=True)  # present only while the corpus is complete
    for job in tqdm(jobs, desc=f"synthetic {corpus}", unit="conversation", disable=not progress):
        job.write(out)
    _remove_stale(out, set(previous) - set(files))
    marker.update(complete=True, files=files)
    atomic_write_json(out / MARKER_NAME, marker)
    (out / PARTIAL_MARKER_NAME).unlink()
    return out
