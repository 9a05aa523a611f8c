"""Audio input and output: read any audio file, mix to mono, resample, normalise, write.

Every waveform the models see is mono, 16 kHz, float32 and z-normalised per
conversation (paper, section 4.1.1). The corpora come in other shapes: SEMAINE
user tracks are 48 kHz 24-bit PCM, RECOLA files have a rate that must be read
from the header. This module turns any of them into that form:

``read_audio``
    Samples of any file libsndfile reads (WAV, FLAC, OGG Vorbis and Opus, MP3,
    AIFF, CAF, ...) as float32, channels averaged.
``read_wav``
    The same for WAV files only (RIFF WAVE and its 64-bit variants): the
    corpora are WAV, and their readers refuse anything else.
``audio_info``
    Rate, channels, length, container and sample format from the header alone
    (WAV only unless ``wav_only=False``).
``resample``
    A band-limited resampler (soxr, "HQ" quality).
``load_audio``
    ``read_audio`` (or ``read_wav``) followed by ``resample``.
``znormalise``
    Zero mean, unit (population) variance.
``write_wav``
    Atomic writer used by the synthetic corpus and the tests.

Every problem with a file or an array raises :class:`emo_lib.errors.EmoInputError`
naming the file, before any long computation starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import soxr

from .config import SAMPLE_RATE
from .errors import EmoInputError
from .io import atomic_path

__all__ = [
    "WAV_FORMATS",
    "AUDIO_EXTENSIONS",
    "AudioInfo",
    "audio_info",
    "read_audio",
    "read_wav",
    "resample",
    "load_audio",
    "znormalise",
    "write_wav",
]

WAV_FORMATS = ("WAV", "WAVEX", "RF64", "W64")
"""libsndfile container formats accepted as WAV files (RIFF WAVE and its 64-bit variants)."""

AUDIO_EXTENSIONS = (
    ".wav", ".wave", ".bwf", ".rf64", ".w64", ".flac", ".ogg", ".oga", ".opus", ".mp3",
    ".aif", ".aiff", ".aifc", ".au", ".snd", ".caf", ".sph", ".nist", ".voc", ".sd2",
)
"""File name extensions of audio files (lower case) looked for in folders given to prediction.

Any file libsndfile reads can be read by :func:`read_audio` whatever its
name; the extensions only decide which files of a folder count as audio.
"""

_FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioInfo:
    """What an audio file's header says about it.

    Attributes
    ----------
    sample_rate : int
        Samples per second per channel (Hz).
    channels : int
        Number of interleaved channels.
    frames : int
        Samples per channel.
    duration : float
        ``frames / sample_rate`` in seconds.
    subtype : str
        libsndfile's name of the sample format (``"PCM_16"``, ``"PCM_24"``,
        ``"FLOAT"``, ``"VORBIS"``, ...).
    format : str
        libsndfile's name of the container (``"WAV"``, ``"WAVEX"``, ``"FLAC"``,
        ``"OGG"``, ``"MP3"``, ...).
    """

    sample_rate: int
    channels: int
    frames: int
    duration: float
    subtype: str
    format: str = "WAV"


def _kind(wav_only: bool) -> str:
    return "WAV" if wav_only else "audio"


def _check_file(path: str | Path, wav_only: bool = True) -> Path:
    """Fail early on a missing path or a folder."""
    path = Path(path)
    if not path.exists():
        raise EmoInputError("audio file not found", path=path)
    if path.is_dir():
        raise EmoInputError(f"is a directory, not {'a WAV' if wav_only else 'an audio'} file", path=path)
    return path


def _header(path: Path, wav_only: bool = True):
    """Open the header with libsndfile; translate its errors into EmoInputError."""
    kind = _kind(wav_only)
    try:
        info = soundfile.info(str(path))
    except (soundfile.SoundFileError, RuntimeError, OSError) as error:
        raise EmoInputError(f"not a readable {kind} file ({error})", path=path) from None
    if wav_only and info.format not in WAV_FORMATS:
        raise EmoInputError(
            f"not a WAV file (libsndfile reads it as {info.format}: {info.format_info})",
            path=path,
        )
    if info.frames <= 0:
        raise EmoInputError(f"empty {kind} file (0 samples)", path=path)
    if info.channels <= 0 or info.samplerate <= 0:
        raise EmoInputError(
            f"invalid {kind} header ({info.channels} channels at {info.samplerate} Hz)", path=path
        )
    return info


def audio_info(path: str | Path, *, wav_only: bool = True) -> AudioInfo:
    """Read an audio file's header (fast: no samples are decoded).

    Corpus readers use it to check every file before long work starts.

    Parameters
    ----------
    path : str or pathlib.Path
        A WAV file (RIFF WAVE, WAVE_FORMAT_EXTENSIBLE, RF64 or Wave64), or with
        ``wav_only=False`` any file libsndfile reads.
    wav_only : bool, keyword-only
        Refuse containers other than WAV (default: the corpora are WAV).

    Returns
    -------
    AudioInfo
        Sample rate, channels, frames per channel, duration, sample format and
        container. For compressed formats the frame count is the header's.

    Raises
    ------
    EmoInputError
        The file is missing, is a folder, cannot be read (as WAV), or holds no
        samples. (Non-finite samples and damaged compressed data are only
        detected by :func:`read_audio`.)
    """
    path = _check_file(path, wav_only)
    info = _header(path, wav_only)
    return AudioInfo(
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
        duration=float(info.frames) / float(info.samplerate),
        subtype=str(info.subtype),
        format=str(info.format),
    )


def _read(path: str | Path, wav_only: bool) -> tuple[np.ndarray, int]:
    path = _check_file(path, wav_only)
    _header(path, wav_only)  # rejects other containers before decoding
    kind = _kind(wav_only)
    try:
        data, sample_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.SoundFileError, RuntimeError, OSError) as error:
        raise EmoInputError(f"not a readable {kind} file ({error})", path=path) from None
    if data.shape[0] == 0:
        raise EmoInputError(f"empty {kind} file (0 samples)", path=path)
    if data.shape[1] == 1:
        signal = data[:, 0]
    else:
        signal = data.mean(axis=1, dtype=np.float64).astype(np.float32)
    if not np.all(np.isfinite(data)):
        bad = ~np.all(np.isfinite(data), axis=1)
        first = int(np.argmax(bad))
        raise EmoInputError(
            f"{int(bad.sum())} non-finite (NaN or infinite) samples, the first at sample "
            f"{first} ({first / sample_rate:.3f} s)",
            path=path,
        )
    return np.ascontiguousarray(signal, dtype=np.float32), int(sample_rate)


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read any audio file libsndfile reads as mono float32 samples.

    WAV (every sample format), FLAC, OGG (Vorbis, Opus), MP3, AIFF, CAF, AU,
    ... : the container is recognised from the file's content, not its name.
    Integer samples are scaled to [-1, 1) (full scale = 1); float samples are
    kept as stored; decoded compressed formats are on the same scale. Several
    channels are averaged into one.

    Parameters
    ----------
    path : str or pathlib.Path
        The audio file.

    Returns
    -------
    signal : np.ndarray [shape=(n_samples,), dtype=float32]
        The mono signal.
    sample_rate : int
        Its sample rate (Hz), from the header.

    Raises
    ------
    EmoInputError
        The file is missing, is a folder, is not audio libsndfile reads, is
        damaged (a truncated FLAC, ...), holds no samples, or holds NaN or
        infinite samples.

    See Also
    --------
    read_wav : the same for WAV files only.

    Examples
    --------
    >>> signal, rate = read_audio("talk.flac")  # doctest: +SKIP
    """
    return _read(path, wav_only=False)


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a WAV file as mono float32 samples.

    Any sample format libsndfile reads in a WAV container is accepted:
    unsigned 8-bit, 16/24/32-bit PCM, 32/64-bit float, A-law, mu-law, ADPCM.
    PCM is scaled to [-1, 1) (full scale = 1); float samples are kept as
    stored. Several channels are averaged into one. Other containers (FLAC,
    OGG, ...) are refused: the corpora's readers use it.

    Parameters
    ----------
    path : str or pathlib.Path
        The WAV file.

    Returns
    -------
    signal : np.ndarray [shape=(n_samples,), dtype=float32]
        The mono signal.
    sample_rate : int
        Its sample rate (Hz), from the header.

    Raises
    ------
    EmoInputError
        The file is missing, is a folder, cannot be read as WAV, holds no
        samples, or holds NaN or infinite samples.

    See Also
    --------
    read_audio : any format libsndfile reads.

    Examples
    --------
    >>> signal, rate = read_wav("P16.wav")  # doctest: +SKIP
    """
    return _read(path, wav_only=True)


# ---------------------------------------------------------------------------
# Signal processing
# ---------------------------------------------------------------------------


def _as_signal(signal: np.ndarray, what: str = "signal") -> np.ndarray:
    """Check a 1-D, non-empty, finite signal and return it as float32."""
    array = np.asarray(signal)
    if array.ndim != 1:
        raise EmoInputError(f"{what} must be one-dimensional (n_samples,), got shape {array.shape}")
    if array.size == 0:
        raise EmoInputError(f"{what} is empty")
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise EmoInputError(f"{what} must hold real numbers, got dtype {array.dtype}")
    array = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(array)):
        raise EmoInputError(f"{what} holds NaN or infinite values")
    return array


def _as_rate(rate: int, what: str) -> int:
    """Check a sample rate: a positive whole number of Hz."""
    try:
        whole = int(rate)
        ok = not isinstance(rate, (bool, str)) and whole == rate and whole > 0
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise EmoInputError(f"{what} must be a positive whole number of Hz, got {rate!r}")
    return whole


def resample(signal: np.ndarray, orig_sr: int, target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Resample a mono signal with soxr (band-limited, "HQ" quality).

    Parameters
    ----------
    signal : np.ndarray [shape=(n_samples,)]
        Input samples.
    orig_sr : int
        Their sample rate (Hz).
    target_sr : int
        Wanted sample rate (Hz); 16 kHz by default.

    Returns
    -------
    np.ndarray [shape=(round(n_samples * target_sr / orig_sr),), dtype=float32]
        The resampled signal; the input itself (as float32) when the rates
        are equal.

    Raises
    ------
    EmoInputError
        For a signal that is not 1-D, empty or not finite, or a rate that is
        not a positive integer.
    """
    array = _as_signal(signal)
    orig_sr = _as_rate(orig_sr, "orig_sr")
    target_sr = _as_rate(target_sr, "target_sr")
    if orig_sr == target_sr:
        return array
    out = soxr.resample(array, orig_sr, target_sr, quality="HQ")
    return np.ascontiguousarray(out, dtype=np.float32)


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE, *, wav_only: bool = False) -> np.ndarray:
    """Read an audio file, mix it to mono and resample it.

    Parameters
    ----------
    path : str or pathlib.Path
        The audio file: any format libsndfile reads (:func:`read_audio`), or
        WAV only with ``wav_only``. The corpora's readers check that every
        file is WAV (:func:`audio_info`) before any is loaded.
    sample_rate : int
        Wanted sample rate (Hz); 16 kHz by default.
    wav_only : bool, keyword-only
        Refuse containers other than WAV (:func:`read_wav`).

    Returns
    -------
    np.ndarray [shape=(n_samples,), dtype=float32]
        Mono signal at ``sample_rate``. It is not normalised: see
        :func:`znormalise`.

    Raises
    ------
    EmoInputError
        As :func:`read_audio` (or :func:`read_wav`), or for an invalid
        ``sample_rate``.
    """
    sample_rate = _as_rate(sample_rate, "sample_rate")
    signal, rate = read_wav(path) if wav_only else read_audio(path)
    return resample(signal, rate, sample_rate)


def znormalise(signal: np.ndarray) -> np.ndarray:
    """Zero mean and unit variance (population variance, 1/N).

    Statistics are computed in float64. A constant signal (all samples equal)
    has no scale: it becomes all zeros, never NaN.

    Parameters
    ----------
    signal : np.ndarray [shape=(n_samples,)]
        Samples of one conversation (paper, section 4.1.1: normalised on the
        conversation level).

    Returns
    -------
    np.ndarray [shape=(n_samples,), dtype=float32]
        ``(signal - mean) / std``.

    Raises
    ------
    EmoInputError
        For a signal that is not 1-D, empty or not finite.

    Examples
    --------
    >>> znormalise(np.array([1.0, 3.0])).tolist()
    [-1.0, 1.0]
    """
    array = _as_signal(signal).astype(np.float64)
    if array.max() == array.min():
        return np.zeros(array.shape, dtype=np.float32)
    centred = array - array.mean()
    std = float(np.sqrt(np.mean(centred * centred)))
    return (centred / std).astype(np.float32)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def write_wav(
    path: str | Path, signal: np.ndarray, sample_rate: int, subtype: str = "PCM_16"
) -> Path:
    """Write a WAV file atomically (complete or absent, never half-written).

    Parameters
    ----------
    path : str or pathlib.Path
        Destination; its folder is created when missing.
    signal : np.ndarray [shape=(n_samples,) or (n_samples, channels)]
        Samples; for PCM subtypes they must lie in [-1, 1] (full scale).
    sample_rate : int
        Sample rate (Hz).
    subtype : str
        libsndfile sample format: ``"PCM_U8"``, ``"PCM_16"``, ``"PCM_24"``,
        ``"PCM_32"``, ``"FLOAT"``, ``"DOUBLE"``, ...

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    EmoInputError
        For an empty, non-finite or badly shaped signal, an unknown subtype,
        an invalid rate, or PCM samples outside [-1, 1] (libsndfile would clip
        them silently).
    """
    path = Path(path)
    array = np.asarray(signal)
    if array.ndim not in (1, 2) or array.size == 0:
        raise EmoInputError(
            f"signal must be a non-empty (n_samples,) or (n_samples, channels) array, "
            f"got shape {array.shape}",
            path=path,
        )
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise EmoInputError(f"signal must hold real numbers, got dtype {array.dtype}", path=path)
    if not np.all(np.isfinite(array)):
        raise EmoInputError("signal holds NaN or infinite values", path=path)
    sample_rate = _as_rate(sample_rate, "sample_rate")
    subtype = str(subtype).upper()
    if not soundfile.check_format("WAV", subtype):
        known = ", ".join(sorted(soundfile.available_subtypes("WAV")))
        raise EmoInputError(f"unknown WAV subtype {subtype!r}; choose one of {known}", path=path)
    if subtype not in _FLOAT_SUBTYPES:
        peak = float(np.max(np.abs(array)))
        if peak > 1.0:
            raise EmoInputError(
                f"samples reach {peak:.4g}, outside [-1, 1]: {subtype} would clip them; "
                "scale the signal or write FLOAT",
                path=path,
            )
    data = array.astype(np.float64 if subtype == "DOUBLE" else np.float32, copy=False)
    with atomic_path(path) as tmp:
        soundfile.write(str(tmp), data, sample_rate, subtype=subtype, format="WAV")
    return path
