"""Speech-like test signals whose prosody follows hidden arousal and valence.

This module makes the audio and the rater traces of the synthetic stand-in
corpus (:mod:`emo_lib.corpora.synthetic`). It is a check of the machinery
(readers, features, models, training, evaluation), not a model of emotional
speech: the signal is a crude source-filter vocoder of nonsense syllables, and
the emotional content is a handful of acoustic correlates, each driven by a
hidden trajectory with a fixed, documented strength.

What is modelled
----------------
Hidden trajectories
    Arousal ``a(t)`` and valence ``v(t)`` are independent slow processes in
    (-1, 1): ``tanh(offset + spread * z(t))`` where ``z`` is white noise
    smoothed by a Gaussian kernel (standard deviation
    ``CORRELATION_SECONDS / 2``) and scaled to unit variance, so that the
    autocorrelation falls to 1/e after :data:`CORRELATION_SECONDS` (5 s).
    They are sampled every :data:`EMOTION_STEP_SECONDS` (10 ms).
Speech
    Words of 1 to 3 consonant-vowel syllables (``SHATO``, ``KI``, ...) are laid
    out inside speaking turns, separated by pauses of 50-200 ms (one in seven
    300-700 ms). A vowel is a Rosenberg glottal pulse train (differentiated,
    with a little aspiration noise) through a cascade of five formant
    resonators whose frequencies depend on the vowel (A, E, I, O, U) and on the
    speaker's vocal-tract scale. Consonants are band-passed noise: fricatives
    (S, SH, F), aspiration (H) and plosives (P, T, K: a closure then a burst).
    A few ``<LAUGH>`` tokens (breathy high-pitched ``HA`` pulses) occur, more
    often at positive valence. Silence is a white noise floor at
    :data:`NOISE_FLOOR_DB` dBFS.
Speakers
    A :class:`Voice` fixes the mean pitch (male about 95-130 Hz, female about
    175-230 Hz), the formant scale (female about 15 % higher) and the speech
    level (about -28 dBFS RMS at neutral arousal).

Acoustic correlates (sizes at ``a = +-1`` or ``v = +-1``)
--------------------------------------------------------
Arousal, read at each word's start and middle
    * loudness: speech level ``+-`` :data:`AROUSAL_LEVEL_DB` (9 dB);
    * pitch level: ``+-`` :data:`AROUSAL_PITCH_SEMITONES` (4 semitones);
    * pitch range: ``PITCH_RANGE_SEMITONES[0] + PITCH_RANGE_SEMITONES[1] * a``
      semitones (1 to 7, 4 at neutral);
    * syllable rate: ``SYLLABLE_RATE[0] + SYLLABLE_RATE[1] * a`` syllables per
      second (2.5 to 5.5, 4 at neutral); pauses shrink by the same factor.
Valence, read at each word's middle
    * spectral tilt: a high shelf above :data:`VALENCE_SHELF_HZ` (2 kHz) of
      ``+-`` :data:`VALENCE_SHELF_DB` (8 dB) gain (brighter when positive);
    * formant frequencies scaled by ``1 + VALENCE_FORMANT_SHIFT * v`` (+-6 %);
    * pitch-contour direction: over each word the pitch moves by
      ``v * range`` semitones (rising when positive, falling when negative),
      on top of a random accent.

Each word also gets a random pitch offset (standard deviation a quarter of
the range) and a random level offset (1 dB), so that the correlates are
strong but not deterministic.

Rater traces
    :func:`rater_traces` turns a hidden trajectory into what one rater would
    trace: the trajectory delayed by a reaction lag of 0.5-2 s, scaled by a
    per-rater gain (0.75-1.1), shifted by a per-rater bias (standard
    deviation 0.08), smoothed by the hand's inertia (exponential, 0.2-0.6 s),
    plus smoothed noise (standard deviation 0.05), clipped to [-1, 1], and
    held at exactly 0 until the rater starts moving (0.3-1.2 s), then faded
    in over 1.5 s. Quantisation to the corpus's decimals is left to the
    writer.

Tower-test cues (``cues="tower_test"``)
---------------------------------------
An experiment for the two towers: arousal moves only a cue that no power
spectrogram can see, valence only the spectral envelope.

Arousal, read at each word's middle
    * phase of the excitation: every harmonic's phase in the word is rotated
      by ``theta = AROUSAL_PHASE_DEGREES * (1 - a)`` degrees (:func:`rotate_phase`,
      a constant-phase all-pass filter, ``cos(theta) x + sin(theta) H{x}``
      with ``H`` the Hilbert transform): 0 degrees at ``a = +1`` (the
      Rosenberg pulse's sharp negative closing peak), 90 at ``a = 0``, 180 at
      ``a = -1`` (the waveform inverted, the closing peak positive). The
      magnitude spectrum, and with it the level, is unchanged; so are the
      pitch, the pitch range (fixed at ``PITCH_RANGE_SEMITONES[0]``), the
      syllable rate (fixed at ``SYLLABLE_RATE[0]``) and the pauses. A 25 ms
      power spectrum, hence the 40-band log mel, cannot tell the phases apart
      (up to the leakage of the analysis window, below about 80 Hz); the
      waveform can: its shape and asymmetry change, and at ``a = -1`` it is
      the ``a = +1`` waveform turned upside down (the skewness of the speech
      changes sign, e.g. from about -0.4 at ``a = +0.8`` to +0.2 at
      ``a = -0.8``).
Valence, read at each word's middle
    * spectral tilt and formants exactly as above; the pitch contour does not
      move with valence (no rise or fall) and ``<LAUGH>`` tokens occur at a
      fixed rate (2 % of words).

With the same random generator, renders at different arousal then hold the
same words at the same times, pitches and levels, and differ only in phase.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import fft as sps_fft
from scipy import signal as sps
from scipy.ndimage import gaussian_filter1d

from .errors import EmoInputError

__all__ = [
    "EMOTION_STEP_SECONDS",
    "CORRELATION_SECONDS",
    "AROUSAL_LEVEL_DB",
    "AROUSAL_PITCH_SEMITONES",
    "PITCH_RANGE_SEMITONES",
    "SYLLABLE_RATE",
    "VALENCE_SHELF_DB",
    "VALENCE_SHELF_HZ",
    "VALENCE_FORMANT_SHIFT",
    "NOISE_FLOOR_DB",
    "AROUSAL_PHASE_DEGREES",
    "CUE_MODES",
    "VOWEL_FORMANTS",
    "Voice",
    "SpeechTrack",
    "random_voice",
    "emotion_trajectory",
    "emotion_at",
    "alternating_turns",
    "rotate_phase",
    "synthesize_speech",
    "rater_traces",
]

# ---------------------------------------------------------------------------
# Constants: the strength of every correlate
# ---------------------------------------------------------------------------

EMOTION_STEP_SECONDS = 0.01
"""Time step of the hidden trajectories (s)."""
CORRELATION_SECONDS = 5.0
"""Lag (s) at which the hidden trajectories' autocorrelation falls to 1/e."""
AROUSAL_LEVEL_DB = 9.0
"""Speech level change at ``a = +-1`` (dB)."""
AROUSAL_PITCH_SEMITONES = 4.0
"""Pitch level change at ``a = +-1`` (semitones)."""
PITCH_RANGE_SEMITONES = (4.0, 3.0)
"""Pitch range ``r0 + r1 * a`` (semitones)."""
SYLLABLE_RATE = (4.0, 1.5)
"""Syllable rate ``s0 + s1 * a`` (syllables per second)."""
VALENCE_SHELF_DB = 8.0
"""High-shelf gain at ``v = +-1`` (dB)."""
VALENCE_SHELF_HZ = 2000.0
"""Corner frequency of the valence high shelf (Hz)."""
VALENCE_FORMANT_SHIFT = 0.06
"""Relative formant shift at ``v = +-1``."""
NOISE_FLOOR_DB = -66.0
"""RMS level of the white noise floor (dBFS)."""
AROUSAL_PHASE_DEGREES = 90.0
"""Tower-test cues: phase rotation of the excitation per unit of arousal below +1 (degrees)."""
CUE_MODES = ("standard", "tower_test")
"""What the hidden values drive: ``"standard"`` (the correlates above) or
``"tower_test"`` (arousal only the excitation's phase, valence only the
spectral envelope); see the module docstring."""
_LAUGH_RATE = 0.02

VOWEL_FORMANTS: dict[str, tuple[float, ...]] = {
    "A": (730.0, 1090.0, 2440.0, 3400.0, 4500.0),
    "E": (530.0, 1840.0, 2480.0, 3500.0, 4500.0),
    "I": (270.0, 2290.0, 3010.0, 3700.0, 4500.0),
    "O": (570.0, 840.0, 2410.0, 3400.0, 4500.0),
    "U": (300.0, 870.0, 2240.0, 3300.0, 4500.0),
}
"""Formant frequencies F1-F5 (Hz) of the five vowels for a scale-1 vocal tract."""
_BANDWIDTHS = (80.0, 100.0, 140.0, 200.0, 250.0)

# consonant -> (kind, low Hz, high Hz, level relative to the vowel in dB)
_CONSONANTS: dict[str, tuple[str, float, float, float]] = {
    "S": ("fricative", 4000.0, 9000.0, -8.0),
    "SH": ("fricative", 2000.0, 4500.0, -8.0),
    "F": ("fricative", 1200.0, 10000.0, -14.0),
    "H": ("aspirate", 0.0, 0.0, -16.0),
    "P": ("plosive", 300.0, 1500.0, -6.0),
    "T": ("plosive", 2500.0, 7000.0, -6.0),
    "K": ("plosive", 1200.0, 3000.0, -6.0),
    "": ("none", 0.0, 0.0, 0.0),
}
_CONSONANT_NAMES = tuple(_CONSONANTS)
_CONSONANT_P = np.array([0.14, 0.08, 0.08, 0.08, 0.12, 0.14, 0.14, 0.22])
_VOWEL_NAMES = tuple(VOWEL_FORMANTS)

_WORD_SYLLABLES_P = np.array([0.45, 0.35, 0.20])
_TAIL_SECONDS = 0.03
_OPEN_QUOTIENT = 0.40
_CLOSING_QUOTIENT = 0.16

Word = tuple[float, float, str]


# ---------------------------------------------------------------------------
# Speakers and hidden trajectories
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Voice:
    """A synthetic speaker.

    Attributes
    ----------
    name : str
        Label of the speaker (for logs and transcripts).
    sex : str
        ``"male"`` or ``"female"``.
    f0_hz : float
        Mean pitch at neutral arousal (Hz).
    formant_scale : float
        Factor applied to every formant frequency (vocal-tract length).
    level_db : float
        RMS level of a vowel at neutral arousal (dBFS).
    """

    name: str
    sex: str
    f0_hz: float
    formant_scale: float
    level_db: float


def random_voice(rng: np.random.Generator, sex: str, name: str = "") -> Voice:
    """Draw a speaker of the given sex.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    sex : {"male", "female"}
        Male voices get a mean pitch of 95-130 Hz and formant scale 0.95-1.02;
        female voices 175-230 Hz and 1.12-1.20.
    name : str
        Stored in the returned :class:`Voice`.

    Returns
    -------
    Voice
    """
    if sex == "male":
        f0, scale = rng.uniform(95.0, 130.0), rng.uniform(0.95, 1.02)
    elif sex == "female":
        f0, scale = rng.uniform(175.0, 230.0), rng.uniform(1.12, 1.20)
    else:
        raise EmoInputError(f"sex must be 'male' or 'female', not {sex!r}")
    level = rng.uniform(-29.5, -26.5)
    return Voice(name=name, sex=sex, f0_hz=float(f0), formant_scale=float(scale), level_db=float(level))


def emotion_trajectory(
    duration_s: float,
    rng: np.random.Generator,
    *,
    offset: tuple[float, float] = (0.0, 0.0),
    spread: float = 0.7,
    correlation_s: float = CORRELATION_SECONDS,
    step_s: float = EMOTION_STEP_SECONDS,
) -> np.ndarray:
    """Slowly moving hidden arousal and valence in (-1, 1).

    Each dimension is ``tanh(offset + spread * z(t))`` with ``z`` unit-variance
    Gaussian-smoothed white noise whose autocorrelation falls to 1/e after
    ``correlation_s`` seconds. The two dimensions are independent.

    Parameters
    ----------
    duration_s : float
        Length covered (s); the last row is at ``duration_s`` or just after.
    rng : numpy.random.Generator
        Source of randomness.
    offset : (float, float)
        Mean (before ``tanh``) of arousal and valence.
    spread : float
        Standard deviation (before ``tanh``) of the fluctuations.
    correlation_s : float
        1/e correlation time (s).
    step_s : float
        Row spacing (s).

    Returns
    -------
    np.ndarray [shape=(n, 2)]
        Arousal and valence at times ``step_s * arange(n)``, float64,
        ``n = ceil(duration_s / step_s) + 1``.
    """
    if not duration_s > 0 or not step_s > 0 or not correlation_s > 0:
        raise EmoInputError("duration_s, step_s and correlation_s must be positive")
    n = int(math.ceil(duration_s / step_s - 1e-9)) + 1
    coarse = 0.1
    sigma = correlation_s / 2.0 / coarse
    pad = int(math.ceil(4 * sigma)) + 1
    m = int(math.ceil(duration_s / coarse - 1e-9)) + 2
    noise = rng.standard_normal((m + 2 * pad, 2))
    smooth = gaussian_filter1d(noise, sigma, axis=0, mode="constant")[pad : pad + m]
    # variance of unit white noise smoothed by a unit-area Gaussian of std sigma
    smooth /= math.sqrt(1.0 / (2.0 * math.sqrt(math.pi) * sigma))
    coarse_t = coarse * np.arange(m)
    fine_t = step_s * np.arange(n)
    out = np.empty((n, 2))
    for d in range(2):
        out[:, d] = np.tanh(offset[d] + spread * np.interp(fine_t, coarse_t, smooth[:, d]))
    return out


def emotion_at(emotion: np.ndarray, t: np.ndarray | float, step_s: float = EMOTION_STEP_SECONDS):
    """Linear interpolation of a hidden trajectory.

    Parameters
    ----------
    emotion : np.ndarray [shape=(n, 2)] or [shape=(n,)]
        Trajectory sampled every ``step_s`` from 0.
    t : float or np.ndarray [shape=(m,)]
        Times (s); clamped to the trajectory's span.
    step_s : float
        Row spacing of ``emotion``.

    Returns
    -------
    np.ndarray [shape=(2,)], [shape=(m, 2)], float or [shape=(m,)]
        The values at ``t`` (one per dimension of ``emotion``).
    """
    grid = step_s * np.arange(emotion.shape[0])
    if emotion.ndim == 1:
        return np.interp(t, grid, emotion)
    return np.stack([np.interp(t, grid, emotion[:, d]) for d in range(emotion.shape[1])], axis=-1)


def alternating_turns(
    duration_s: float,
    rng: np.random.Generator,
    *,
    own_s: tuple[float, float] = (2.5, 7.0),
    other_s: tuple[float, float] = (1.5, 5.0),
    gap_s: tuple[float, float] = (0.2, 0.8),
    other_first: bool | None = None,
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Speaking turns of two people who take turns.

    Parameters
    ----------
    duration_s : float
        Length of the conversation (s).
    rng : numpy.random.Generator
        Source of randomness.
    own_s, other_s : (float, float)
        Ranges of the turn lengths of the speaker of interest and of the other
        speaker (s); at least 1 s.
    gap_s : (float, float)
        Range of the silences between turns (s).
    other_first : bool, optional
        Whether the other speaker opens; by default they do when the
        conversation is at least 12 s long (so a short one always holds a turn
        of the speaker of interest).

    Returns
    -------
    own, other : list of (float, float)
        ``(start_s, end_s)`` of each turn, in order; no turn is shorter than
        1 s and all lie within ``[0.4, duration_s - 0.3]``.
    """
    for name, (lo, hi) in (("own_s", own_s), ("other_s", other_s)):
        if not 1.0 <= lo <= hi:
            raise EmoInputError(f"{name} must be a range (low, high) with 1 <= low <= high, not {(lo, hi)}")
    if other_first is None:
        other_first = duration_s >= 12.0
    own: list[tuple[float, float]] = []
    other: list[tuple[float, float]] = []
    t = rng.uniform(0.4, 1.2)
    theirs = other_first
    while True:
        lo, hi = other_s if theirs else own_s
        end = min(t + rng.uniform(lo, hi), duration_s - 0.3)
        if end - t < 1.0:
            break
        (other if theirs else own).append((float(t), float(end)))
        t = end + rng.uniform(*gap_s)
        theirs = not theirs
    return own, other


# ---------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _bandpass(sample_rate: int, low: float, high: float) -> np.ndarray:
    high = min(high, 0.45 * sample_rate)
    return sps.butter(2, [low, high], btype="bandpass", fs=sample_rate, output="sos")


def _formant_sos(formants: np.ndarray, sample_rate: int) -> np.ndarray:
    """Cascade of unity-DC-gain two-pole resonators (Klatt 1980) as SOS rows."""
    keep = formants < 0.45 * sample_rate
    f = formants[keep]
    bw = np.asarray(_BANDWIDTHS)[: len(formants)][keep]
    r = np.exp(-np.pi * bw / sample_rate)
    c = -(r**2)
    b = 2 * r * np.cos(2 * np.pi * f / sample_rate)
    a = 1 - b - c
    sos = np.zeros((len(f), 6))
    sos[:, 0] = a
    sos[:, 3] = 1.0
    sos[:, 4] = -b
    sos[:, 5] = -c
    return sos


def _high_shelf(gain_db: float, corner_hz: float, sample_rate: int) -> np.ndarray:
    """RBJ audio-cookbook high shelf (slope 1) as one SOS row."""
    amp = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * corner_hz / sample_rate
    cw = np.cos(w0)
    alpha = np.sin(w0) / 2 * np.sqrt(2.0)
    sq = 2 * np.sqrt(amp) * alpha
    b0 = amp * ((amp + 1) + (amp - 1) * cw + sq)
    b1 = -2 * amp * ((amp - 1) + (amp + 1) * cw)
    b2 = amp * ((amp + 1) + (amp - 1) * cw - sq)
    a0 = (amp + 1) - (amp - 1) * cw + sq
    a1 = 2 * ((amp - 1) - (amp + 1) * cw)
    a2 = (amp + 1) - (amp - 1) * cw - sq
    return np.array([[b0 / a0, b1 / a0, b2 / a0, 1.0, a1 / a0, a2 / a0]])


def rotate_phase(signal: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate the phase of every frequency component by the same angle.

    A constant-phase all-pass filter: ``cos(theta) x + sin(theta) H{x}``, with
    ``H`` the Hilbert transform, that is the spectrum ``X(f)`` multiplied by
    ``exp(-i theta sign(f))``. The magnitude spectrum is unchanged; 180
    degrees inverts the signal and 90 degrees gives its Hilbert transform. It
    is computed with FFTs on the signal zero-padded to at least twice its
    length, and cut back to the input's length.

    Parameters
    ----------
    signal : np.ndarray [shape=(n,)]
        Samples (real).
    degrees : float
        Rotation angle ``theta`` in degrees.

    Returns
    -------
    np.ndarray [shape=(n,)], float64
        The rotated signal.

    Examples
    --------
    A cosine turns into a sine (away from the edges of the excerpt):

    >>> t = np.arange(64) / 64
    >>> y = rotate_phase(np.cos(2 * np.pi * 8 * t), 90.0)
    >>> bool(np.allclose(y[8:56], np.sin(2 * np.pi * 8 * t)[8:56], atol=0.05))
    True
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise EmoInputError(f"signal must be one-dimensional (n,), not shape {x.shape}")
    theta = math.radians(float(degrees))
    if x.size == 0:
        return x.copy()
    n_fft = sps_fft.next_fast_len(2 * x.size, real=True)
    spectrum = np.fft.rfft(x, n_fft)
    rotation = np.full(spectrum.size, complex(math.cos(theta), -math.sin(theta)))
    rotation[0] = math.cos(theta)  # DC: the Hilbert transform removes it
    if n_fft % 2 == 0:
        rotation[-1] = math.cos(theta)  # Nyquist: likewise
    return np.fft.irfft(spectrum * rotation, n_fft)[: x.size]


def _ramp(n: int, ramp: int) -> np.ndarray:
    """Raised-cosine attack and release of ``ramp`` samples each."""
    env = np.ones(n)
    ramp = max(1, min(ramp, n // 2))
    rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
    env[:ramp] = rise
    env[n - ramp :] = rise[::-1]
    return env


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


# ---------------------------------------------------------------------------
# Syllables and words
# ---------------------------------------------------------------------------


def _rosenberg_tables(size: int = 8192) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rosenberg glottal flow and its derivative per unit of phase on a phase grid."""
    p = np.linspace(0.0, 1.0, size + 1)
    op, cl = _OPEN_QUOTIENT, _CLOSING_QUOTIENT
    opening, closing = p < op, (p >= op) & (p < op + cl)
    flow = np.zeros_like(p)
    flow[opening] = 0.5 - 0.5 * np.cos(np.pi * p[opening] / op)
    flow[closing] = np.cos(np.pi * (p[closing] - op) / (2 * cl))
    slope = np.zeros_like(p)
    slope[opening] = 0.5 * np.pi / op * np.sin(np.pi * p[opening] / op)
    slope[closing] = -np.pi / (2 * cl) * np.sin(np.pi * (p[closing] - op) / (2 * cl))
    return p, flow, slope


_PHASE, _FLOW, _SLOPE = _rosenberg_tables()


def _glottal_source(f0: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Differentiated Rosenberg pulses at the pitch ``f0`` (one value per sample).

    The derivative is taken per unit of phase, so the level depends neither on
    the pitch nor on the sample rate; a little aspiration noise rides on the
    open phase.
    """
    phase = (rng.uniform() + np.cumsum(f0) / sample_rate) % 1.0
    index = (phase * (_PHASE.size - 1) + 0.5).astype(np.intp)  # nearest table entry
    return _SLOPE[index] + 0.15 * _FLOW[index] * _white(rng, f0.size)


def _white(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-variance white noise (uniform: much faster to draw than Gaussian)."""
    return (rng.random(n, dtype=np.float32) - np.float32(0.5)) * np.float32(math.sqrt(12.0))


def _consonant(
    name: str, syllable_n: int, sample_rate: int, vowel_sos: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """Samples of the consonant opening a syllable, and its level relative to the vowel (dB)."""
    kind, low, high, rel_db = _CONSONANTS[name]
    if kind == "none":
        return np.zeros(0), 0.0
    if kind == "fricative":
        n = int(0.3 * syllable_n)
        noise = sps.sosfilt(_bandpass(sample_rate, low, high), _white(rng, n))
        noise *= _ramp(n, int(0.01 * sample_rate))
    elif kind == "aspirate":
        n = int(0.2 * syllable_n)
        noise = sps.sosfilt(vowel_sos, _white(rng, n))
        noise *= _ramp(n, int(0.01 * sample_rate))
    else:  # plosive: closure, then a decaying burst
        closure = int(0.12 * syllable_n)
        burst_n = int(0.018 * sample_rate)
        burst = sps.sosfilt(_bandpass(sample_rate, low, high), _white(rng, burst_n))
        burst *= np.exp(-np.arange(burst_n) / (0.005 * sample_rate))
        noise = np.concatenate([np.zeros(closure), burst])
        n = noise.size
    rms = _rms(noise[noise != 0])
    if rms > 0:
        noise = noise / rms
    return noise, rel_db


def _word(
    syllables: list[tuple[str, str]],
    durations: np.ndarray,
    f0_at: Callable[[np.ndarray], np.ndarray],  # pitch (Hz) at times since the word's start
    gain_db: float,
    formant_scale: float,
    shelf_db: float,
    sample_rate: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Samples of one word (including a short ring-out tail)."""
    total = int(round(durations.sum() * sample_rate))
    tail = int(_TAIL_SECONDS * sample_rate)
    out = np.zeros(total + tail)
    target = 10 ** (gain_db / 20)
    pos = 0
    for (cons, vowel), dur in zip(syllables, durations):
        n = int(round(dur * sample_rate))
        sos = _formant_sos(np.asarray(VOWEL_FORMANTS[vowel]) * formant_scale, sample_rate)
        burst, rel_db = _consonant(cons, n, sample_rate, sos, rng)
        nc = burst.size
        nv = max(n - nc, int(0.03 * sample_rate))
        elapsed = (pos + nc + np.arange(nv)) / sample_rate  # since the word's start
        src = _glottal_source(f0_at(elapsed), sample_rate, rng)
        src *= _ramp(nv, int(0.015 * sample_rate))
        voiced = sps.sosfilt(sos, np.concatenate([src, np.zeros(tail)]))
        rms = _rms(voiced[:nv])
        if rms > 0:
            voiced *= target / rms
        if nc:
            out[pos : pos + nc] += burst * target * 10 ** (rel_db / 20)
        end = min(out.size, pos + nc + voiced.size)
        out[pos + nc : end] += voiced[: end - pos - nc]
        pos += n
    return sps.sosfilt(_high_shelf(shelf_db, VALENCE_SHELF_HZ, sample_rate), out)


# ---------------------------------------------------------------------------
# Tracks
# ---------------------------------------------------------------------------


@dataclass
class SpeechTrack:
    """One speaker's synthetic recording.

    Attributes
    ----------
    signal : np.ndarray [shape=(n,)]
        Float64 samples in [-1, 1].
    sample_rate : int
        Samples per second.
    turns : list of list of (float, float, str)
        The words ``(start_s, end_s, WORD)`` of each speaking turn, in order;
        a turn without room for a word is left out.
    """

    signal: np.ndarray
    sample_rate: int
    turns: list[list[Word]] = field(default_factory=list)

    @property
    def words(self) -> list[Word]:
        """All words, in order."""
        return [w for turn in self.turns for w in turn]

    @property
    def speech_regions(self) -> list[tuple[float, float]]:
        """``(first word start, last word end)`` of each turn (s)."""
        return [(turn[0][0], turn[-1][1]) for turn in self.turns]

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.signal.size / self.sample_rate


def synthesize_speech(
    turns: list[tuple[float, float]],
    duration_s: float,
    sample_rate: int,
    voice: Voice,
    emotion: np.ndarray,
    rng: np.random.Generator,
    *,
    emotion_step: float = EMOTION_STEP_SECONDS,
    laughter: bool = True,
    noise_floor_db: float = NOISE_FLOOR_DB,
    cues: str = "standard",
) -> SpeechTrack:
    """Synthesise one speaker talking in the given turns, silent elsewhere.

    Parameters
    ----------
    turns : list of (float, float)
        Regions (s) where the speaker talks; words are laid out from each
        region's start until no further word fits.
    duration_s : float
        Length of the recording (s).
    sample_rate : int
        Samples per second of the result.
    voice : Voice
        The speaker.
    emotion : np.ndarray [shape=(m, 2)]
        Hidden arousal and valence every ``emotion_step`` seconds from 0
        (see :func:`emotion_trajectory`); they drive the correlates listed in
        the module docstring.
    rng : numpy.random.Generator
        Source of randomness.
    emotion_step : float
        Row spacing of ``emotion`` (s).
    laughter : bool
        Whether ``<LAUGH>`` tokens may occur.
    noise_floor_db : float
        RMS of the white noise floor (dBFS).
    cues : {"standard", "tower_test"}
        What the hidden values drive (:data:`CUE_MODES`, module docstring).
        Both modes draw the same random numbers in the same order. With
        ``"tower_test"`` the words' timing, pitch and level do not depend on
        the hidden values, so renders from the same ``rng`` state at other
        arousal or valence hold the same words at the same times.

    Returns
    -------
    SpeechTrack
        ``round(duration_s * sample_rate)`` samples and the word timings.
    """
    if cues not in CUE_MODES:
        raise EmoInputError(f"unknown cues {cues!r}; choose one of {', '.join(CUE_MODES)}")
    tower_test = cues == "tower_test"
    if emotion.ndim != 2 or emotion.shape[1] != 2:
        raise EmoInputError(f"emotion must have shape (m, 2), not {emotion.shape}")
    if sample_rate < 8000:
        raise EmoInputError(f"sample_rate must be at least 8000 Hz, not {sample_rate}")
    n_total = int(round(duration_s * sample_rate))
    sig = _white(rng, n_total) * 10 ** (noise_floor_db / 20)
    sig = sig.astype(np.float64)
    out_turns: list[list[Word]] = []
    for turn_start, turn_end in turns:
        t = float(turn_start)
        words: list[Word] = []
        while True:
            a, v = emotion_at(emotion, t, emotion_step)
            if tower_test:
                rate = SYLLABLE_RATE[0]
                laugh = laughter and rng.uniform() < _LAUGH_RATE
            else:
                rate = SYLLABLE_RATE[0] + SYLLABLE_RATE[1] * a
                laugh = laughter and rng.uniform() < 0.02 + 0.04 * max(v, 0.0)
            if laugh:
                syllables = [("H", "A")] * int(rng.integers(3, 6))
                durations = np.full(len(syllables), 0.2)
            else:
                k = int(rng.choice(3, p=_WORD_SYLLABLES_P)) + 1
                syllables = [
                    (
                        _CONSONANT_NAMES[rng.choice(len(_CONSONANT_NAMES), p=_CONSONANT_P)],
                        _VOWEL_NAMES[rng.integers(len(_VOWEL_NAMES))],
                    )
                    for _ in range(k)
                ]
                durations = rng.uniform(0.85, 1.15, size=k) / rate
            # drop syllables that do not fit; the first word of a turn always gets one
            while len(syllables) > 1 and t + durations.sum() > turn_end:
                syllables, durations = syllables[:-1], durations[:-1]
            word_d = float(durations.sum())
            if t + word_d > turn_end and words:
                break
            if t + word_d > duration_s - 0.05:
                break
            a_mid, v_mid = emotion_at(emotion, t + word_d / 2, emotion_step)
            if tower_test:
                range_st = PITCH_RANGE_SEMITONES[0]
                level_st = rng.normal(0.0, range_st / 4)
            else:
                range_st = PITCH_RANGE_SEMITONES[0] + PITCH_RANGE_SEMITONES[1] * a_mid
                level_st = AROUSAL_PITCH_SEMITONES * a_mid + rng.normal(0.0, range_st / 4)
            accent = rng.uniform(0.0, 0.5) * range_st
            f0_level = voice.f0_hz * 2 ** (level_st / 12) * (1.4 if laugh else 1.0)
            slope = 0.0 if tower_test else v_mid * range_st

            def f0_at(elapsed, wd=word_d, lvl=f0_level, sl=slope, acc=accent):
                x = np.clip(elapsed / wd, 0.0, 1.0)
                return lvl * 2 ** ((sl * (x - 0.5) + acc * np.sin(np.pi * x)) / 12)

            level_a = 0.0 if tower_test else AROUSAL_LEVEL_DB * a_mid
            gain_db = voice.level_db + level_a + rng.normal(0.0, 1.0)
            if laugh:
                gain_db -= 4.0
            samples = _word(
                syllables,
                durations,
                f0_at,
                gain_db,
                voice.formant_scale * (1 + VALENCE_FORMANT_SHIFT * v_mid),
                VALENCE_SHELF_DB * v_mid,
                sample_rate,
                rng,
            )
            if tower_test:
                samples = rotate_phase(samples, AROUSAL_PHASE_DEGREES * (1.0 - a_mid))
            i0 = int(round(t * sample_rate))
            i1 = min(n_total, i0 + samples.size)
            sig[i0:i1] += samples[: i1 - i0]
            text = "<LAUGH>" if laugh else "".join(c + v_ for c, v_ in syllables)
            words.append((round(float(t), 3), round(float(t + word_d), 3), text))
            pause = rng.uniform(0.3, 0.7) if rng.uniform() < 1 / 7 else rng.uniform(0.05, 0.2)
            t += word_d + pause * SYLLABLE_RATE[0] / rate
            if t >= turn_end:
                break
        if words:
            out_turns.append(words)
    peak = float(np.max(np.abs(sig))) if sig.size else 0.0
    if peak > 0.98:
        sig *= 0.98 / peak
    return SpeechTrack(signal=sig, sample_rate=int(sample_rate), turns=out_turns)


# ---------------------------------------------------------------------------
# Raters
# ---------------------------------------------------------------------------


def _ema(x: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average starting at ``x[0]``."""
    b, a = [alpha], [1.0, alpha - 1.0]
    zi = sps.lfilter_zi(b, a) * x[0]
    return sps.lfilter(b, a, x, zi=zi)[0]


def rater_traces(
    hidden: np.ndarray,
    times: np.ndarray,
    rng: np.random.Generator,
    n_raters: int,
    *,
    hidden_step: float = EMOTION_STEP_SECONDS,
    lag_s: tuple[float, float] = (0.5, 2.0),
    gain: tuple[float, float] = (0.75, 1.1),
    bias_sd: float = 0.08,
    smoothing_s: tuple[float, float] = (0.2, 0.6),
    noise_sd: float = 0.05,
    start_s: tuple[float, float] = (0.3, 1.2),
    fade_s: float = 1.5,
) -> np.ndarray:
    """What ``n_raters`` raters would trace for one hidden dimension.

    Rater ``r`` traces ``clip(bias_r + gain_r * ema(h(t - lag_r)) + noise_r(t), -1, 1)``
    multiplied by a fade-in that is exactly 0 before ``start_r`` and reaches 1
    ``fade_s`` seconds later (cubic), so the first rows are exactly zero as in
    real traces.

    Parameters
    ----------
    hidden : np.ndarray [shape=(m,)]
        The hidden trajectory, every ``hidden_step`` seconds from 0.
    times : np.ndarray [shape=(T,)]
        Times of the trace rows (s), evenly spaced.
    rng : numpy.random.Generator
        Source of randomness.
    n_raters : int
        Number of raters.
    hidden_step : float
        Row spacing of ``hidden`` (s).
    lag_s, gain, smoothing_s, start_s : (float, float)
        Ranges of the per-rater reaction lag, gain, smoothing time constant
        and start time (uniform draws).
    bias_sd, noise_sd : float
        Standard deviations of the per-rater bias and of the smoothed noise.
    fade_s : float
        Length of the fade-in (s).

    Returns
    -------
    np.ndarray [shape=(n_raters, T)]
        Unquantised traces in [-1, 1], float64.
    """
    times = np.asarray(times, dtype=float)
    if times.ndim != 1 or times.size < 2:
        raise EmoInputError("times must be a 1-D array of at least 2 rows")
    dt = float(times[1] - times[0])
    grid = hidden_step * np.arange(hidden.size)
    out = np.empty((n_raters, times.size))
    for r in range(n_raters):
        lag = rng.uniform(*lag_s)
        x = np.interp(times - lag, grid, hidden)
        tau = rng.uniform(*smoothing_s)
        x = _ema(x, dt / (tau + dt))
        alpha_n = dt / (0.3 + dt)
        noise = _ema(rng.standard_normal(times.size), alpha_n)
        noise *= noise_sd / math.sqrt(alpha_n / (2 - alpha_n))
        trace = rng.normal(0.0, bias_sd) + rng.uniform(*gain) * x + noise
        start = rng.uniform(*start_s)
        fade = np.clip((times - start) / fade_s, 0.0, 1.0) ** 3
        out[r] = np.clip(trace, -1.0, 1.0) * fade
    return out
