"""A linear floor: ridge regression on a handful of smoothed prosodic features.

Any deep model of Table 1 must do better than this. It sees exactly what the
waveform model sees (the waveform z-normalised per conversation), reduced to
six frame descriptors that carry the usual correlates of arousal and valence,
and maps them linearly to the labels. A CNN that scores below it on held-out
conversations has not learnt what a straight line through loudness and pitch
gets; that is a defect to explain, not a result.

Frame descriptors (25 ms frames every 10 ms, 16 kHz)
----------------------------------------------------
``energy_db``
    Frame energy, ``10 log10(mean x^2 + 1e-10)``, of the z-normalised waveform.
``log2_f0``
    ``log2`` of the fundamental frequency from ``librosa.yin`` (60-500 Hz,
    64 ms analysis frames) in voiced frames, undefined elsewhere.
``f0_slope``
    Pitch change between consecutive voiced frames, semitones per 10 ms
    (rising or falling words).
``centroid_khz``
    Spectral centroid of the power spectrum, kHz.
``high_band_db``
    Energy above 2 kHz over energy below it, dB (the spectral tilt).
``zcr``
    Zero-crossing rate per sample.

A frame is voiced when its energy is within 30 dB of the conversation's 95th
percentile frame energy and its zero-crossing rate is below 0.2.

Window features
---------------
For each label window ``i`` (``[i * step, (i + 1) * step)``, the labels'
windows) and each smoothing length ``s`` in :data:`SMOOTHING_SECONDS`, the
frames whose centre lies in ``[(i + 1) * step - s, (i + 1) * step)`` give: the
mean of every descriptor (pitch descriptors over voiced frames only), the
standard deviation of ``energy_db`` and ``log2_f0``, and the voiced fraction:
9 features per length, 18 in all (:func:`feature_names`). A window without
voiced frames takes the training mean (0 after standardisation) for its
pitch features.

The model
---------
Features are standardised with training-set statistics; one ridge regression
per dimension, ``w = (X'X + alpha I)^-1 X'y`` on centred data with an
unpenalised intercept; ``alpha`` is chosen from :data:`ALPHAS` by the mean CCC
on the validation conversations (the deep models' early-stopping criterion).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .config import SAMPLE_RATE
from .errors import EmoInputError
from .io import atomic_write_json

__all__ = [
    "DESCRIPTORS",
    "SMOOTHING_SECONDS",
    "ALPHAS",
    "frame_descriptors",
    "window_features",
    "feature_names",
    "segment_features",
    "RidgeFloor",
    "fit_ridge_floor",
]

DESCRIPTORS = ("energy_db", "log2_f0", "f0_slope", "centroid_khz", "high_band_db", "zcr")
"""The frame descriptors, in column order."""
SMOOTHING_SECONDS = (0.5, 2.0)
"""Lengths of the windows the descriptors are summarised over, ending at each label window's end."""
ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
"""Ridge penalties tried; the validation conversations choose one."""

_HOP = 160
_FRAME = 400
_SPLIT_HZ = 2000.0
_VOICED_RANGE_DB = 30.0
_VOICED_MAX_ZCR = 0.2


def frame_descriptors(waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The six frame descriptors of :data:`DESCRIPTORS`, every 10 ms.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,)]
        16 kHz mono signal (the models' input: z-normalised per conversation).
    sample_rate : int
        Must be 16,000.

    Returns
    -------
    np.ndarray [shape=(n_samples // 160, 6), dtype=float64]
        Frame ``j`` is centred at ``j * 10`` ms. ``log2_f0`` and ``f0_slope``
        are NaN in unvoiced frames.

    Raises
    ------
    EmoInputError
        For a signal that is not 1-D, not finite, shorter than one 25 ms
        frame, or at another rate.
    """
    import librosa

    if sample_rate != SAMPLE_RATE:
        raise EmoInputError(f"the floor's descriptors need {SAMPLE_RATE} Hz audio, got {sample_rate}")
    x = np.asarray(waveform, dtype=np.float32)
    if x.ndim != 1 or x.size < _FRAME:
        raise EmoInputError(f"waveform must be 1-D with at least {_FRAME} samples, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise EmoInputError("waveform holds NaN or infinite values")
    n_frames = x.size // _HOP
    frames = librosa.util.frame(np.pad(x, _FRAME // 2), frame_length=_FRAME, hop_length=_HOP)[:, :n_frames]
    energy = 10.0 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=0) + 1e-10)
    signs = np.signbit(frames)
    zcr = np.mean(signs[1:] != signs[:-1], axis=0)
    power = np.abs(np.fft.rfft(frames * np.hanning(_FRAME)[:, None], axis=0)) ** 2
    freqs = np.fft.rfftfreq(_FRAME, 1.0 / sample_rate)
    total = power.sum(axis=0) + 1e-12
    centroid = (freqs[:, None] * power).sum(axis=0) / total / 1000.0
    high = power[freqs >= _SPLIT_HZ].sum(axis=0) + 1e-12
    low = power[freqs < _SPLIT_HZ].sum(axis=0) + 1e-12
    high_band = 10.0 * np.log10(high / low)
    f0 = librosa.yin(x, fmin=60.0, fmax=500.0, sr=sample_rate, frame_length=1024, hop_length=_HOP)[:n_frames]
    voiced = (energy > np.percentile(energy, 95) - _VOICED_RANGE_DB) & (zcr < _VOICED_MAX_ZCR)
    log_f0 = np.where(voiced, np.log2(np.maximum(f0, 1.0)), np.nan)
    slope = np.full(n_frames, np.nan)
    both = voiced[1:] & voiced[:-1]
    slope[1:][both] = 12.0 * (log_f0[1:][both] - log_f0[:-1][both])
    return np.stack([energy, log_f0, slope, centroid, high_band, zcr], axis=1)


def feature_names() -> list[str]:
    """Names of the 18 window features, in column order."""
    names = []
    for seconds in SMOOTHING_SECONDS:
        tag = f"{seconds:g}s"
        names += [f"{d}_mean_{tag}" for d in DESCRIPTORS]
        names += [f"energy_db_std_{tag}", f"log2_f0_std_{tag}", f"voiced_fraction_{tag}"]
    return names


def _window_sums(values: np.ndarray, ends: np.ndarray, length: int) -> np.ndarray:
    """Sums of ``values`` (frames, k) over frames ``[end - length, end)`` for every end."""
    cumulative = np.concatenate([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    ends = np.clip(ends, 0, values.shape[0])
    starts = np.clip(ends - length, 0, values.shape[0])
    return cumulative[ends] - cumulative[starts]


def window_features(descriptors: np.ndarray, n_windows: int, label_step: float) -> np.ndarray:
    """Summaries of the frame descriptors over windows ending at each label window's end.

    Parameters
    ----------
    descriptors : np.ndarray [shape=(n_frames, 6)]
        From :func:`frame_descriptors`.
    n_windows : int
        Label windows of the conversation.
    label_step : float
        Seconds per label window (0.02 or 0.04).

    Returns
    -------
    np.ndarray [shape=(n_windows, 18), dtype=float64]
        Columns of :func:`feature_names`; NaN where a window has no voiced
        frame (pitch features) or no frame at all.
    """
    frames_per_step = int(round(label_step / 0.01))
    ends = (np.arange(n_windows) + 1) * frames_per_step
    defined = np.isfinite(descriptors)
    values = np.where(defined, descriptors, 0.0)
    columns = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for seconds in SMOOTHING_SECONDS:
            length = int(round(seconds / 0.01))
            count = _window_sums(defined.astype(float), ends, length)
            total = _window_sums(values, ends, length)
            squares = _window_sums(values ** 2, ends, length)
            mean = total / count
            std = np.sqrt(np.maximum(squares / count - mean ** 2, 0.0))
            frames = _window_sums(np.ones((descriptors.shape[0], 1)), ends, length)[:, 0]
            columns += [mean, std[:, :2], (count[:, 1] / frames)[:, None]]
    return np.concatenate(columns, axis=1)


def segment_features(segments, descriptor_cache: dict | None = None) -> np.ndarray:
    """Window features for every label step of every segment of a set.

    Parameters
    ----------
    segments : emo_lib.dataset.SegmentSet
    descriptor_cache : dict, optional
        Conversation id -> window features, filled and reused.

    Returns
    -------
    np.ndarray [shape=(n_segments, T, 18)]
        NaN past a segment's end.
    """
    cache = {} if descriptor_cache is None else descriptor_cache
    frames = segments.label_frames
    out = np.full((len(segments), frames, len(feature_names())), np.nan)
    for row, ref in enumerate(segments.segments):
        if ref.conversation_id not in cache:
            arrays = segments.arrays[ref.conversation_id]
            cache[ref.conversation_id] = window_features(
                frame_descriptors(arrays.waveform), arrays.n_windows, segments.label_step)
        out[row, :ref.length] = cache[ref.conversation_id][ref.start:ref.start + ref.length]
    return out


def _ccc_columns(truth: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    mean_t, mean_p = truth.mean(0), prediction.mean(0)
    covariance = ((truth - mean_t) * (prediction - mean_p)).mean(0)
    denominator = truth.var(0) + prediction.var(0) + (mean_t - mean_p) ** 2
    return 2 * covariance / np.maximum(denominator, 1e-12)


@dataclass
class RidgeFloor:
    """A fitted floor model.

    Attributes
    ----------
    mean, std : np.ndarray [shape=(18,)]
        Training statistics of the window features.
    fill : np.ndarray [shape=(18,)]
        Values used for undefined features (the training means).
    weights : np.ndarray [shape=(18, 2)]
    intercept : np.ndarray [shape=(2,)]
    alpha : float
        The chosen ridge penalty.
    validation_ccc : dict
        Validation mean CCC for every penalty tried.
    label_step : float
    """

    mean: np.ndarray
    std: np.ndarray
    fill: np.ndarray
    weights: np.ndarray
    intercept: np.ndarray
    alpha: float
    validation_ccc: dict
    label_step: float

    def _standardise(self, features: np.ndarray) -> np.ndarray:
        filled = np.where(np.isfinite(features), features, self.fill)
        return (filled - self.mean) / self.std

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Arousal and valence from window features ``(..., 18)`` -> ``(..., 2)`` (float32)."""
        shape = features.shape[:-1]
        x = self._standardise(features.reshape(-1, features.shape[-1]))
        return (x @ self.weights + self.intercept).reshape(*shape, 2).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able content (for ``floor.json``)."""
        return {
            "model": "ridge floor",
            "features": feature_names(),
            "smoothing_seconds": list(SMOOTHING_SECONDS),
            "label_step": self.label_step,
            "alpha": self.alpha,
            "validation_ccc_mean_by_alpha": self.validation_ccc,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "fill": self.fill.tolist(),
            "weights": self.weights.tolist(),
            "intercept": self.intercept.tolist(),
        }

    def save(self, path: str | Path) -> Path:
        """Write ``floor.json`` atomically."""
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> "RidgeFloor":
        """Read a model written by :meth:`save`."""
        path = Path(path)
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
            return cls(mean=np.asarray(content["mean"]), std=np.asarray(content["std"]),
                       fill=np.asarray(content["fill"]), weights=np.asarray(content["weights"]),
                       intercept=np.asarray(content["intercept"]), alpha=float(content["alpha"]),
                       validation_ccc=dict(content["validation_ccc_mean_by_alpha"]),
                       label_step=float(content["label_step"]))
        except FileNotFoundError:
            raise EmoInputError("no such floor model file", path=path) from None
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as error:
            raise EmoInputError(f"not a floor model file ({error})", path=path) from None


def _valid_rows(features: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = targets[..., 2].ravel() > 0
    return features.reshape(-1, features.shape[-1])[keep], targets[..., :2].reshape(-1, 2)[keep]


def fit_ridge_floor(train_features: np.ndarray, train_targets: np.ndarray,
                    validation_features: np.ndarray, validation_targets: np.ndarray, *,
                    label_step: float, alphas: Sequence[float] = ALPHAS) -> RidgeFloor:
    """Fit the floor on training segments, choosing the penalty on validation segments.

    Parameters
    ----------
    train_features, validation_features : np.ndarray [shape=(n, T, 18)]
        From :func:`segment_features`.
    train_targets, validation_targets : np.ndarray [shape=(n, T, 3)]
        Arousal, valence and the 0/1 label mask (:meth:`SegmentSet.batch`).
    label_step : float
    alphas : sequence of float

    Returns
    -------
    RidgeFloor

    Raises
    ------
    EmoInputError
        With fewer labelled training frames than features plus one, or no
        labelled validation frame.
    """
    x, y = _valid_rows(train_features, train_targets)
    if x.shape[0] <= x.shape[1]:
        raise EmoInputError(f"the floor needs more than {x.shape[1]} labelled training frames, got {x.shape[0]}")
    xv, yv = _valid_rows(validation_features, validation_targets)
    if xv.shape[0] < 2:
        raise EmoInputError("the floor needs labelled validation frames to choose its penalty")
    fill = np.nanmean(np.where(np.isfinite(x), x, np.nan), axis=0)
    fill = np.where(np.isfinite(fill), fill, 0.0)
    x = np.where(np.isfinite(x), x, fill)
    mean, std = x.mean(0), x.std(0)
    std = np.where(std > 1e-9, std, 1.0)
    z = (x - mean) / std
    y_mean = y.mean(0)
    gram, moment = z.T @ z, z.T @ (y - y_mean)
    scores, fitted = {}, {}
    for alpha in alphas:
        weights = np.linalg.solve(gram + alpha * np.eye(gram.shape[0]), moment)
        model = RidgeFloor(mean, std, fill, weights, y_mean, float(alpha), {}, float(label_step))
        score = float(np.mean(_ccc_columns(yv, model.predict(xv).astype(np.float64))))
        scores[f"{alpha:g}"] = score if math.isfinite(score) else None
        fitted[alpha] = (score if math.isfinite(score) else -np.inf, model)
    best_alpha = max(fitted, key=lambda a: fitted[a][0])
    best = fitted[best_alpha][1]
    best.validation_ccc = scores
    return best
