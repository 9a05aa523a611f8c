"""Prediction on audio files: an arousal and valence trace for any recording.

:func:`predict_audio` reads a file, preprocesses it as the model's training
data were preprocessed, cuts it into the model's segments and blends their
outputs into one trace at the model's label step.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .config import SAMPLE_RATE
from .errors import EmoInputError
from .io import atomic_write_text

__all__ = ["predict_audio", "write_trace_csv"]



def predict_audio(model: keras.Model, path: str | Path, *, batch_size: int = 8,
                  label_convention: str = "end", overlap: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Arousal and valence over a whole audio file of any length, rate and channel count.

    The audio is read, averaged to mono, resampled to 16 kHz and z-normalised
    over the file; it is cut into the model's segments (the last one zero
    padded), predicted, and the segments' outputs are stitched back into one
    trace with one row per label window of the audio. With ``overlap`` the
    segments overlap by half and are blended with triangular weights, which
    removes the jumps a bidirectional LSTM shows at segment edges.

    Parameters
    ----------
    model : keras.Model
        One of :func:`emo_lib.models.build_model`'s variants.
    path : str or pathlib.Path
        A WAV file.
    batch_size : int
    label_convention : {"end", "start", "interpolate"}
        Which time each window's value is reported at (window end by default).
    overlap : bool
        Half-overlapping segments blended together (default) or back-to-back ones.

    Returns
    -------
    times : np.ndarray [shape=(n,)]
        Seconds.
    predictions : np.ndarray [shape=(n, 2)]
        Arousal and valence.
    """
    from .audio import load_audio, znormalise
    from .features import log_mel_deltas, normalise_per_band
    from .models import describe_model
    from .training import model_input_names, predict_segments

    description = describe_model(model)
    step = description["label_step_ms"] / 1000.0
    waveform = znormalise(load_audio(path, SAMPLE_RATE)).astype(np.float32)
    samples_per_window = int(round(step * SAMPLE_RATE))
    n_windows = len(waveform) // samples_per_window
    if n_windows == 0:
        raise EmoInputError(f"audio is shorter than one label step ({step * 1000:.0f} ms)", path=path)
    from .dataset import ConversationArrays, SegmentRef, SegmentSet, _label_target_times

    spectrogram, _, _ = normalise_per_band(log_mel_deltas(waveform))
    names = model_input_names(model)
    compare = None
    if "compare" in names:
        from .baseline import compare_features

        compare = compare_features(waveform, SAMPLE_RATE, step)[:n_windows]
    arrays = ConversationArrays(
        conversation_id="audio", label_step=step, waveform=waveform, spectrogram=spectrogram,
        labels=np.zeros((n_windows, 2), np.float32), valid=np.zeros(n_windows, bool),
        label_times=_label_target_times(n_windows, step, label_convention), compare=compare)
    per_segment = description["label_frames"]
    hop = max(1, per_segment // 2) if overlap else per_segment
    starts = list(range(0, max(1, n_windows - per_segment + hop), hop))
    refs = [SegmentRef("audio", i, start, min(per_segment, n_windows - start))
            for i, start in enumerate(starts) if start < n_windows]
    segments = SegmentSet(refs, {"audio": arrays}, description["segment_seconds"], step)
    predictions = predict_segments(model, segments, batch_size=batch_size)
    # Overlapping segments are blended with triangular weights, so that every window is
    # mostly predicted from a segment where it has context on both sides.
    total = np.zeros((n_windows, 2), np.float64)
    weight = np.zeros((n_windows, 1), np.float64)
    ramp = np.minimum(np.arange(per_segment) + 0.5, per_segment - np.arange(per_segment) - 0.5)
    for i, ref in enumerate(refs):
        w = ramp[: ref.length, None] if overlap else np.ones((ref.length, 1))
        total[ref.start : ref.start + ref.length] += predictions[i, : ref.length] * w
        weight[ref.start : ref.start + ref.length] += w
    trace = (total / weight).astype(np.float32)
    return arrays.label_times, trace


def write_trace_csv(path: str | Path, times: np.ndarray, predictions: np.ndarray) -> Path:
    """Write a (time, arousal, valence) CSV atomically."""
    lines = ["time,arousal,valence"]
    lines.extend(f"{t:.3f},{a:.6f},{v:.6f}" for t, (a, v) in zip(times, predictions))
    return atomic_write_text(path, "\n".join(lines) + "\n")
