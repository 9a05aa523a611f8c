"""Spectrogram input: 40-band log mel filterbank with first and second temporal derivatives.

Paper, section 4.1.2: "the output of a 40-dimensional mel-scale log filter
bank", with its first and second temporal derivatives, over 25 ms windows moved
by 10 ms, giving three 40 x 600 matrices per 6 s segment, normalised per
conversation.

Choices made here (the paper does not state them):

* Filterbank: librosa's mel filterbank (Slaney mel scale and area
  normalisation, 0 Hz to the Nyquist frequency) applied to the power spectrum
  (``|STFT|^2``) of 400-sample Hann windows (``n_fft = 400``) with a 160-sample
  hop, at 16 kHz.
* Log: natural logarithm with a fixed floor, ``log(mel + 1e-6)``
  (:data:`LOG_FLOOR`). Unlike ``librosa.power_to_db`` it has no per-signal
  ``top_db`` clipping, so a frame's value does not depend on the loudest frame
  of whatever excerpt it was computed in.
* Framing: windows are centred (``center=True``, zero padding of half a window
  at both ends). Frame ``i`` is centred at sample ``i * 160``, that is at
  ``i * 10`` ms, and covers ``[i * 10 - 12.5, i * 10 + 12.5)`` ms. librosa
  returns ``n // 160 + 1`` frames for ``n`` samples; the last one (centred at
  or past the end of the signal, mostly padding) is dropped, so a signal of
  ``n`` samples gives exactly ``n // 160`` frames (600 for 96,000 samples), the
  same number as there are 10 ms steps in it.
* Derivatives: ``librosa.feature.delta`` with ``width=9`` and ``mode="interp"``
  (Savitzky-Golay derivative, polynomial fits at the edges), computed on all
  ``n // 160 + 1`` frames before the last is dropped. A signal too short for 9
  frames uses ``mode="nearest"`` (edge frames repeated) instead.
* Map order on the last axis: ``[log-mel, delta, delta-delta]``.
"""

from __future__ import annotations

import librosa
import numpy as np

from .config import FRAME_HOP_SECONDS, FRAME_WINDOW_SECONDS, N_MELS, SAMPLE_RATE
from .errors import EmoInputError

__all__ = [
    "LOG_FLOOR",
    "DELTA_WIDTH",
    "STD_FLOOR",
    "frame_count",
    "log_mel_deltas",
    "normalise_per_band",
    "silent_frame",
    "SPECTROGRAM_NORMS",
    "feature_settings",
]

SPECTROGRAM_NORMS = ("none", "conversation", "train")
"""How the spectrogram input is normalised.

The paper (section 4.1.2): "Similar with our preprocessing of waveforms, we
first perform normalization and segmentation"; the features are then computed.
Every choice below computes them from the waveform z-normalised per
conversation; they differ in what follows.

``"none"``
    The log mel and its derivatives as they are (values from about -14 in
    silence to +5).
``"conversation"``
    Then zero mean and unit variance per (band, map) over the conversation
    (:func:`normalise_per_band`): removes each conversation's mean spectrum,
    its level and spectral tilt with it.
``"train"``
    As ``"none"`` at the input; the model standardises every (band, map) with
    training-set statistics saved inside it: the information of ``"none"``,
    one fixed rescaling for every conversation, at a scale the network trains
    on. The study's choice (``"none"`` leaves the W+S model's spectrogram
    features about five times larger than its waveform features, and it
    hardly trains: benchmarks/README.md).
"""

LOG_FLOOR = 1e-6
"""Added to the mel energies before the natural logarithm."""
DELTA_WIDTH = 9
"""Frames in the window of ``librosa.feature.delta`` (odd, at least 3)."""
STD_FLOOR = 1e-3
"""Smallest standard deviation :func:`normalise_per_band` divides by."""
_FEATURE_REVISION = 1
"""Bumped whenever :func:`log_mel_deltas` changes its output for the same settings."""


def feature_settings() -> dict:
    """Every setting the spectrogram features depend on (for cache keys and result files).

    Returns
    -------
    dict
        Sample rate, window, hop, mel bands, filterbank, log floor, delta
        width, normalisation floor and the features' revision.
    """
    return {
        "sample_rate": SAMPLE_RATE,
        "window_seconds": FRAME_WINDOW_SECONDS,
        "hop_seconds": FRAME_HOP_SECONDS,
        "n_mels": N_MELS,
        "filterbank": f"librosa {librosa.__version__} slaney mel, hann, power 2, centred",
        "log_floor": LOG_FLOOR,
        "delta_width": DELTA_WIDTH,
        "std_floor": STD_FLOOR,
        "revision": _FEATURE_REVISION,
    }


def _frame_sizes(win_seconds: float, hop_seconds: float, sample_rate: int) -> tuple[int, int]:
    """Window and hop in samples, checked."""
    if isinstance(sample_rate, bool) or int(sample_rate) != sample_rate or sample_rate <= 0:
        raise EmoInputError(
            f"sample_rate must be a positive whole number of Hz, got {sample_rate!r}"
        )
    win = int(round(float(win_seconds) * sample_rate))
    hop = int(round(float(hop_seconds) * sample_rate))
    if hop < 1 or win < 1:
        raise EmoInputError(
            f"window ({win_seconds} s) and hop ({hop_seconds} s) must each be at least one sample "
            f"at {sample_rate} Hz"
        )
    return win, hop


def frame_count(
    n_samples: int,
    *,
    hop_seconds: float = FRAME_HOP_SECONDS,
    sample_rate: int = SAMPLE_RATE,
) -> int:
    """Number of frames :func:`log_mel_deltas` gives for ``n_samples`` samples.

    Parameters
    ----------
    n_samples : int
        Length of the signal.
    hop_seconds : float
        Frame hop (10 ms).
    sample_rate : int
        Sample rate (16 kHz).

    Returns
    -------
    int
        ``n_samples // hop`` with ``hop = round(hop_seconds * sample_rate)``.

    Examples
    --------
    >>> frame_count(96_000)
    600
    """
    _, hop = _frame_sizes(FRAME_WINDOW_SECONDS, hop_seconds, sample_rate)
    return int(n_samples) // hop


def log_mel_deltas(
    signal_16k: np.ndarray,
    *,
    n_mels: int = N_MELS,
    win_seconds: float = FRAME_WINDOW_SECONDS,
    hop_seconds: float = FRAME_HOP_SECONDS,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Log mel filterbank energies and their first and second temporal derivatives.

    See the module docstring for every choice (filterbank, log floor, frame
    centring, derivative estimator).

    Parameters
    ----------
    signal_16k : np.ndarray [shape=(n_samples,)]
        Mono signal at ``sample_rate`` (normally already z-normalised per
        conversation, as the paper does before computing features).
    n_mels : int
        Number of mel bands (40).
    win_seconds : float
        Analysis window (25 ms: 400 samples at 16 kHz, also the FFT size).
    hop_seconds : float
        Frame hop (10 ms: 160 samples).
    sample_rate : int
        Sample rate of ``signal_16k`` (16 kHz).

    Returns
    -------
    np.ndarray [shape=(n_samples // hop, n_mels, 3), dtype=float32]
        ``[..., 0]`` log mel, ``[..., 1]`` its first derivative, ``[..., 2]``
        its second derivative along frames. Frame ``i`` is centred at
        ``i * hop`` samples; band 0 is the lowest frequency.

    Raises
    ------
    EmoInputError
        For a signal that is not 1-D, not finite, or shorter than one window,
        or for invalid sizes.

    Examples
    --------
    >>> log_mel_deltas(np.random.default_rng(0).normal(size=96_000)).shape
    (600, 40, 3)
    """
    win, hop = _frame_sizes(win_seconds, hop_seconds, sample_rate)
    if isinstance(n_mels, bool) or int(n_mels) != n_mels or n_mels < 1:
        raise EmoInputError(f"n_mels must be a positive integer, got {n_mels!r}")
    signal = np.asarray(signal_16k)
    if signal.ndim != 1:
        raise EmoInputError(
            f"signal must be one-dimensional (n_samples,), got shape {signal.shape}"
        )
    if not np.issubdtype(signal.dtype, np.number) or np.iscomplexobj(signal):
        raise EmoInputError(f"signal must hold real numbers, got dtype {signal.dtype}")
    if signal.size < win:
        raise EmoInputError(
            f"signal of {signal.size} samples is shorter than one {win}-sample window "
            f"({win_seconds * 1000:g} ms at {sample_rate} Hz)"
        )
    signal = signal.astype(np.float32, copy=False)
    if not np.all(np.isfinite(signal)):
        raise EmoInputError("signal holds NaN or infinite values")

    mel = librosa.feature.melspectrogram(
        y=signal,
        sr=sample_rate,
        n_fft=win,
        hop_length=hop,
        win_length=win,
        window="hann",
        center=True,
        pad_mode="constant",
        power=2.0,
        n_mels=int(n_mels),
    )  # (n_mels, n // hop + 1)
    log_mel = np.log(mel + LOG_FLOOR)
    mode = "interp" if log_mel.shape[1] >= DELTA_WIDTH else "nearest"
    delta = librosa.feature.delta(log_mel, width=DELTA_WIDTH, order=1, axis=-1, mode=mode)
    delta2 = librosa.feature.delta(log_mel, width=DELTA_WIDTH, order=2, axis=-1, mode=mode)
    n_frames = signal.size // hop
    stacked = np.stack([log_mel, delta, delta2], axis=-1)[:, :n_frames, :]  # (n_mels, frames, 3)
    return np.ascontiguousarray(stacked.transpose(1, 0, 2), dtype=np.float32)


def normalise_per_band(
    features: np.ndarray,
    mean: np.ndarray | None = None,
    std: np.ndarray | None = None,
    *,
    std_floor: float = STD_FLOOR,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero mean and unit variance per (band, map) over frames.

    The paper normalises the spectrogram per conversation (section 4.1.2):
    compute the statistics over a whole conversation's frames, or pass
    statistics computed elsewhere (for example over its speech turns only)
    to apply them to another excerpt.

    Parameters
    ----------
    features : np.ndarray [shape=(frames, n_mels, maps)]
        Output of :func:`log_mel_deltas` (any shape whose first axis is
        frames is accepted; statistics are per entry of the other axes).
    mean, std : np.ndarray [shape=features.shape[1:]], optional
        Statistics to use. Give both or neither; when neither is given they
        are computed from ``features`` (population standard deviation).
    std_floor : float
        Standard deviations below it are raised to it, so a constant band
        (digital silence) becomes zeros instead of infinities.

    Returns
    -------
    normalised : np.ndarray [shape=features.shape, dtype=float32]
        ``(features - mean) / max(std, std_floor)``.
    mean : np.ndarray [shape=features.shape[1:], dtype=float32]
        Mean per (band, map).
    std : np.ndarray [shape=features.shape[1:], dtype=float32]
        Standard deviation per (band, map), after the floor.

    Raises
    ------
    EmoInputError
        For no frames, non-finite values, only one of ``mean`` and ``std``,
        statistics of the wrong shape, or a non-positive ``std_floor``.
    """
    array = np.asarray(features)
    if array.ndim < 2 or array.shape[0] == 0:
        raise EmoInputError(
            f"features must be (frames, ...) with at least one frame, got shape {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array)):
        raise EmoInputError("features hold NaN, infinite or non-numeric values")
    if not std_floor > 0:
        raise EmoInputError(f"std_floor must be positive, got {std_floor!r}")
    if (mean is None) != (std is None):
        raise EmoInputError("give both mean and std, or neither")
    if mean is None:
        values = array.astype(np.float64)
        mean_ = values.mean(axis=0)
        std_ = values.std(axis=0)
    else:
        mean_ = np.asarray(mean, dtype=np.float64)
        std_ = np.asarray(std, dtype=np.float64)
        for name, stat in (("mean", mean_), ("std", std_)):
            if stat.shape != array.shape[1:]:
                raise EmoInputError(
                    f"{name} has shape {stat.shape}, features need {array.shape[1:]}"
                )
            if not np.all(np.isfinite(stat)):
                raise EmoInputError(f"{name} holds NaN or infinite values")
        if np.any(std_ < 0):
            raise EmoInputError("std holds negative values")
    std_ = np.maximum(std_, std_floor)
    normalised = ((array - mean_) / std_).astype(np.float32)
    return normalised, mean_.astype(np.float32), std_.astype(np.float32)


def silent_frame(
    mean: np.ndarray | None = None,
    std: np.ndarray | None = None,
    *,
    n_mels: int = N_MELS,
) -> np.ndarray:
    """The spectrogram frame of digital silence, in the units the model sees.

    Silence has zero mel energy, so its log mel is ``log(LOG_FLOOR)`` in every
    band and its first and second derivatives are 0. When the spectrogram is
    normalised (per conversation with :func:`normalise_per_band`, or with
    training-set statistics), pass the same ``mean`` and ``std`` to get the
    normalised value of silence.

    Parameters
    ----------
    mean, std : np.ndarray [shape=(n_mels, 3)], optional
        Normalisation statistics; give both or neither.
    n_mels : int
        Number of bands (40).

    Returns
    -------
    np.ndarray [shape=(n_mels, 3), dtype=float32]
        ``[:, 0]`` the log mel of silence, ``[:, 1:]`` zeros (before normalisation).

    Examples
    --------
    >>> frame = silent_frame()
    >>> float(frame[0, 0]) == float(np.float32(np.log(LOG_FLOOR))), float(abs(frame[:, 1:]).max())
    (True, 0.0)
    """
    frame = np.zeros((int(n_mels), 3), np.float64)
    frame[:, 0] = np.log(LOG_FLOOR)
    if (mean is None) != (std is None):
        raise EmoInputError("give both mean and std, or neither")
    if mean is not None:
        mean = np.asarray(mean, np.float64)
        std = np.maximum(np.asarray(std, np.float64), STD_FLOOR)
        if mean.shape != frame.shape or std.shape != frame.shape:
            raise EmoInputError(
                f"mean and std must have shape {frame.shape}, got {mean.shape} and {std.shape}"
            )
        frame = (frame - mean) / std
    return frame.astype(np.float32)
