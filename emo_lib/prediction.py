"""Prediction on audio files: arousal and valence traces for any recordings.

:func:`predict_audio` reads one file, preprocesses it as the model's training
data were preprocessed, cuts it into the model's segments and blends their
outputs into one trace at the model's label step. :func:`predict_audio_gates`
does the same with the fusion weights of a W+S gated model.

On top of it, for many files at once (what ``emo predict`` does):

:func:`find_audio_files`
    Files and folders given by a user, expanded into audio files.
:func:`predict_files`
    Loads a model once and predicts every file; a bad file is reported and
    skipped, the others are still predicted.
:func:`write_prediction_table`
    One CSV for all files: ``file,start,end,arousal,valence``, one row per
    label window (window *i* covers [*i* step, (*i* + 1) step) seconds).
:func:`write_prediction_sidecar`
    A JSON file beside the table: the model file and its SHA-256, the corpus
    and split it was trained on (from ``run.json`` beside the model), the value
    scale, the label step, the emo_lib version and the time.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .config import SAMPLE_RATE
from .errors import EmoInputError
from .io import atomic_write_json, atomic_write_text

__all__ = [
    "predict_audio",
    "predict_audio_gates",
    "write_trace_csv",
    "TABLE_COLUMNS",
    "VALUE_SCALE",
    "FilePrediction",
    "PredictionRun",
    "find_audio_files",
    "model_provenance",
    "predict_files",
    "write_prediction_table",
    "prediction_sidecar",
    "write_prediction_sidecar",
]

logger = logging.getLogger(__name__)

TABLE_COLUMNS = ("file", "start", "end", "arousal", "valence")
"""Columns of the prediction table: the audio file, the label window's start and end
(seconds from the file's start) and the model's arousal and valence for it."""

VALUE_SCALE = (
    "arousal and valence on the rating scale of the corpus the model was trained on (its raters' "
    "traces averaged), nominally [-1, 1]; predictions are not clipped to it"
)
"""What the predicted numbers mean (written into every sidecar)."""


def predict_audio(model: keras.Model, path: str | Path, *, batch_size: int = 8,
                  label_convention: str = "end", overlap: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Arousal and valence over a whole audio file of any length, rate and channel count.

    The audio is read (any format libsndfile reads), averaged to mono and
    resampled to 16 kHz, then preprocessed exactly as the model's training
    conversations were (:func:`emo_lib.dataset.arrays_from_audio`: the
    waveform z-normalised over the file, the log mel computed from it and
    normalised as the model expects, which :func:`emo_lib.models.describe_model`
    reads from the model; the baseline's ComParE features from the audio at its
    recorded level). It is cut into the model's segments (the last one padded
    and masked), predicted, and the segments' outputs are stitched back into
    one trace with one row per label window of the audio. With ``overlap`` the
    segments overlap by half and are blended with triangular weights, which
    removes the jumps a bidirectional LSTM shows at segment edges.

    Parameters
    ----------
    model : keras.Model
        One of :func:`emo_lib.models.build_model`'s variants.
    path : str or pathlib.Path
        An audio file (WAV, FLAC, OGG, ...).
    batch_size : int
    label_convention : {"end", "start", "interpolate"}
        Which time each window's value is reported at (window end by default).
    overlap : bool
        Half-overlapping segments blended together (default) or back-to-back ones.

    Returns
    -------
    times : np.ndarray [shape=(n,)]
        Seconds; row ``i`` is label window ``i``, ``[i * step, (i + 1) * step)``.
    predictions : np.ndarray [shape=(n, 2)]
        Arousal and valence.
    """
    from .training import predict_segments

    return _audio_trace(model, path, predict_segments, batch_size=batch_size,
                        label_convention=label_convention, overlap=overlap)


def predict_audio_gates(model: keras.Model, path: str | Path, *, batch_size: int = 8,
                        label_convention: str = "end", overlap: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The fusion weights of a W+S gated model over a whole audio file.

    The file is read, preprocessed, cut and blended exactly as by
    :func:`predict_audio`; the segments give the model's gates
    (:func:`emo_lib.training.predict_gates`) instead of its predictions.
    Blending averages the gates of overlapping segments, so each row still
    sums to 1.

    Parameters
    ----------
    model : keras.Model
        A WSG model (:func:`emo_lib.models.build_model` variant ``"WSG"``).
    path, batch_size, label_convention, overlap
        As for :func:`predict_audio`.

    Returns
    -------
    times : np.ndarray [shape=(n,)]
        Seconds; row ``i`` is label window ``i``.
    gates : np.ndarray [shape=(n, 2)]
        ``(g_w, g_s)``: the weights of the waveform and spectrogram towers.

    Raises
    ------
    EmoInputError
        For a model without fusion gates, or an audio file that cannot be read.
    """
    from .models import gate_model
    from .training import predict_gates

    gate_model(model)  # refuse a model without gates before the audio is read
    return _audio_trace(model, path, predict_gates, batch_size=batch_size,
                        label_convention=label_convention, overlap=overlap)


def _audio_trace(model, path, predict, *, batch_size: int, label_convention: str,
                 overlap: bool) -> tuple[np.ndarray, np.ndarray]:
    """``predict(model, segments, batch_size=...)`` -> (n_segments, T, 2) over a file, blended."""
    from .audio import load_audio
    from .dataset import PreprocessConfig, SegmentRef, SegmentSet, arrays_from_audio
    from .models import describe_model
    from .training import model_input_names

    description = describe_model(model)
    step = description["label_step_ms"] / 1000.0
    names = model_input_names(model)
    config = PreprocessConfig(
        segment_seconds=description["segment_seconds"], label_convention=label_convention,
        with_compare="compare" in names, spectrogram_norm=description["spectrogram_norm"] or "none")
    arrays = arrays_from_audio(load_audio(path, SAMPLE_RATE), step, config, path=path)
    n_windows = arrays.n_windows
    per_segment = description["label_frames"]
    hop = max(1, per_segment // 2) if overlap else per_segment
    starts = list(range(0, max(1, n_windows - per_segment + hop), hop))
    refs = [SegmentRef("audio", i, start, min(per_segment, n_windows - start))
            for i, start in enumerate(starts) if start < n_windows]
    segments = SegmentSet(refs, {"audio": arrays}, description["segment_seconds"], step)
    predictions = predict(model, segments, batch_size=batch_size)
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


# ----------------------------------------------------------------------------
# Many files: table and sidecar
# ----------------------------------------------------------------------------


@dataclass
class FilePrediction:
    """The prediction for one audio file.

    Attributes
    ----------
    path : pathlib.Path
        The file, as given or as found in a given folder.
    start, end : np.ndarray [shape=(n,)]
        Start and end of each label window in seconds: window *i* covers
        [*i* step, (*i* + 1) step).
    values : np.ndarray [shape=(n, 2)]
        Arousal and valence of each window.
    duration : float
        Seconds of audio in the file.
    format : str
        libsndfile's name of its container (``"WAV"``, ``"FLAC"``, ...).
    """

    path: Path
    start: np.ndarray
    end: np.ndarray
    values: np.ndarray
    duration: float
    format: str


@dataclass
class PredictionRun:
    """Everything :func:`predict_files` did: the model, the predictions, the failures.

    Attributes
    ----------
    model_path : pathlib.Path
    provenance : dict
        :func:`model_provenance` of the model file, with the model's name,
        label step and segment length once it is loaded.
    label_step : float or None
        Seconds per label window (None when no file could be read, and the
        model was not loaded).
    predictions : list of FilePrediction
        The files predicted, in the order given.
    failures : list of EmoInputError
        One per input that could not be predicted, naming it and the problem.
    """

    model_path: Path
    provenance: dict[str, Any]
    label_step: float | None
    predictions: list[FilePrediction] = field(default_factory=list)
    failures: list[EmoInputError] = field(default_factory=list)


def find_audio_files(inputs: Iterable[str | Path], *, recursive: bool = False
                     ) -> tuple[list[Path], list[EmoInputError]]:
    """Expand files and folders into the audio files to predict.

    A file is taken whatever its name (libsndfile recognises audio by its
    content). A folder contributes the files directly inside it whose
    extension is one of :data:`emo_lib.audio.AUDIO_EXTENSIONS`, in sorted
    order; with ``recursive`` also those in its subfolders, at any depth.
    Other files in a folder are left out (logged at DEBUG).

    Parameters
    ----------
    inputs : iterable of str or pathlib.Path
        Files and folders.
    recursive : bool, keyword-only
        Search folders' subfolders too.

    Returns
    -------
    files : list of pathlib.Path
        The audio files, each once, in the order given.
    problems : list of EmoInputError
        A path that does not exist, or a folder without audio files.
    """
    from .audio import AUDIO_EXTENSIONS

    files: list[Path] = []
    problems: list[EmoInputError] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            files.append(path)

    for item in inputs:
        path = Path(item)
        if path.is_dir():
            candidates = sorted(p for p in (path.rglob("*") if recursive else path.iterdir()) if p.is_file())
            found = [p for p in candidates if p.suffix.lower() in AUDIO_EXTENSIONS]
            for other in sorted(set(candidates) - set(found)):
                logger.debug("%s: not an audio file name, left out", other)
            if not found:
                where = "in it or its subfolders" if recursive else "directly in it (add --recursive for subfolders)"
                problems.append(EmoInputError(f"folder holds no audio files {where}", path=path))
            for p in found:
                add(p)
        elif path.exists():
            add(path)
        else:
            problems.append(EmoInputError("audio file not found", path=path))
    return files, problems


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_provenance(model_path: str | Path) -> dict[str, Any]:
    """What is known about a model file: its hash, and how it was trained.

    Parameters
    ----------
    model_path : str or pathlib.Path
        A ``.keras`` model. When a ``run.json`` lies beside it (a run folder of
        ``emo train`` or the study), the corpus, split, variant, preset and seed
        are read from it.

    Returns
    -------
    dict
        ``file`` (the path as given), ``sha256``, ``run_json`` (its path or
        None), ``corpus``, ``corpus_kind`` (``"real"`` or ``"synthetic"``),
        ``split`` (method, seed and the conversations of each part), ``variant``,
        ``preset``, ``seed`` (None where unknown).

    Raises
    ------
    EmoInputError
        The model file is missing, or ``run.json`` is not valid JSON.
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        raise EmoInputError("model file not found", path=model_path)
    record: dict[str, Any] = {"file": str(model_path), "sha256": _sha256(model_path), "run_json": None,
                              "corpus": None, "corpus_kind": None, "split": None, "variant": None,
                              "preset": None, "seed": None}
    run_path = model_path.parent / "run.json"
    if run_path.is_file():
        try:
            run = json.loads(run_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise EmoInputError(f"not valid JSON ({error})", path=run_path) from None
        if not isinstance(run, dict):
            raise EmoInputError("not a run record (expected a JSON object)", path=run_path)
        split = run.get("split")
        record.update(
            run_json=str(run_path),
            corpus=run.get("corpus"),
            corpus_kind=run.get("corpus_kind"),
            split=None if not isinstance(split, dict) else {
                key: split.get(key) for key in ("method", "seed", "train", "validation", "test")},
            variant=run.get("variant"),
            preset=run.get("preset_name"),
            seed=run.get("seed"),
        )
    return record


def _window_times(n_windows: int, step: float) -> tuple[np.ndarray, np.ndarray]:
    index = np.arange(n_windows, dtype=np.float64)
    return index * step, (index + 1) * step


def predict_files(model_path: str | Path, inputs: Iterable[str | Path], *, recursive: bool = False,
                  batch_size: int = 8,
                  on_error: Callable[[EmoInputError], None] | None = None) -> PredictionRun:
    """Predict arousal and valence for many audio files with one model.

    Every file's header is checked first; then the model is loaded once (not
    at all when no file can be read) and every file goes through
    :func:`predict_audio`. A file that cannot be predicted (missing, not
    audio, damaged, shorter than one label step, ...) is reported through
    ``on_error`` and recorded in ``failures``; the other files are still
    predicted.

    Parameters
    ----------
    model_path : str or pathlib.Path
        A ``.keras`` model from ``emo train`` or the study.
    inputs : iterable of str or pathlib.Path
        Audio files (any format libsndfile reads: WAV, FLAC, OGG, MP3, ...)
        and folders (:func:`find_audio_files`).
    recursive : bool, keyword-only
        Search folders' subfolders too.
    batch_size : int, keyword-only
        Segments per model call.
    on_error : callable, optional
        Called with each file's :class:`EmoInputError` as it happens.

    Returns
    -------
    PredictionRun

    Raises
    ------
    EmoInputError
        For a model file that is missing or cannot be loaded (nothing is
        predicted then).
    """
    from .audio import audio_info
    from .models import describe_model, load_model

    model_path = Path(model_path)
    provenance = model_provenance(model_path)
    run = PredictionRun(model_path=model_path, provenance=provenance, label_step=None)

    def fail(error: EmoInputError) -> None:
        run.failures.append(error)
        if on_error is not None:
            on_error(error)

    # Every header is read before the model is loaded: bad files are reported at once.
    files, problems = find_audio_files(inputs, recursive=recursive)
    for problem in problems:
        fail(problem)
    checked = []
    for path in files:
        try:
            checked.append((path, audio_info(path, wav_only=False)))
        except EmoInputError as error:
            fail(error)
    if not checked:
        return run

    model = load_model(model_path, compile=False)
    description = describe_model(model)
    step = description["label_step_ms"] / 1000.0
    run.label_step = step
    provenance.update(name=model.name, label_step_ms=description["label_step_ms"],
                      segment_seconds=description["segment_seconds"])
    if provenance["variant"] is None:
        provenance["variant"] = description["variant"]
    if provenance["preset"] is None:
        provenance["preset"] = description.get("preset")
    logger.info("model %s (%s, %g ms label step), sha256 %s", model_path, model.name,
                description["label_step_ms"], provenance["sha256"][:12])
    for number, (path, info) in enumerate(checked, 1):
        logger.info("[%d/%d] %s (%s, %.1f s)", number, len(checked), path, info.format, info.duration)
        try:
            _, values = predict_audio(model, path, batch_size=batch_size)
        except EmoInputError as error:
            fail(error)
            continue
        values = np.asarray(values, dtype=np.float32)
        start, end = _window_times(len(values), step)
        run.predictions.append(FilePrediction(path=path, start=start, end=end, values=values,
                                              duration=info.duration, format=info.format))
    return run


def write_prediction_table(path: str | Path, predictions: Sequence[FilePrediction]) -> Path:
    """Write one CSV for all files: ``file,start,end,arousal,valence``.

    One row per label window of each file, files in the given order. ``start``
    and ``end`` are seconds from the file's start (window *i* covers
    [*i* step, (*i* + 1) step), written to the millisecond); arousal and
    valence have six decimals. Written atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV to write; its folder is created when missing.
    predictions : sequence of FilePrediction

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TABLE_COLUMNS)
    for item in predictions:
        name = str(item.path)
        for start, end, (arousal, valence) in zip(item.start, item.end, item.values):
            writer.writerow([name, f"{start:.3f}", f"{end:.3f}", f"{arousal:.6f}", f"{valence:.6f}"])
    return atomic_write_text(path, buffer.getvalue())


def prediction_sidecar(run: PredictionRun, table_path: str | Path) -> dict[str, Any]:
    """The description of a prediction table, as written by :func:`write_prediction_sidecar`.

    Parameters
    ----------
    run : PredictionRun
    table_path : str or pathlib.Path
        The table it describes.

    Returns
    -------
    dict
        ``table``, ``columns``, ``model`` (file, sha256, name, variant, preset,
        label step, segment length), ``trained_on`` (corpus, corpus kind,
        split, seed, the ``run.json`` read; None without one), ``scale``,
        ``label_step_s``, ``files`` (each file's rows, duration and format),
        ``failed`` (each failing file and its problem), ``emo_lib_version``,
        ``created`` (UTC, ISO 8601) and, for a model trained on the synthetic
        stand-in, a ``warning``.
    """
    from . import __version__

    prov = run.provenance
    trained_on = None
    if prov.get("run_json"):
        trained_on = {"corpus": prov.get("corpus"), "corpus_kind": prov.get("corpus_kind"),
                      "split": prov.get("split"), "seed": prov.get("seed"), "run_json": prov["run_json"]}
    record: dict[str, Any] = {
        "table": str(table_path),
        "columns": {
            "file": "the audio file",
            "start": "start of the label window, seconds from the file's start",
            "end": "end of the label window (window i covers [i * step, (i + 1) * step))",
            "arousal": "predicted arousal of the window",
            "valence": "predicted valence of the window",
        },
        "model": {key: prov.get(key) for key in ("file", "sha256", "name", "variant", "preset",
                                                  "label_step_ms", "segment_seconds")},
        "trained_on": trained_on,
        "scale": VALUE_SCALE,
        "label_step_s": run.label_step,
        "files": [{"file": str(p.path), "rows": int(len(p.values)), "duration_s": round(p.duration, 3),
                   "format": p.format} for p in run.predictions],
        "failed": [{"file": None if e.path is None else str(e.path), "error": e.reason}
                   for e in run.failures],
        "emo_lib_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if prov.get("corpus_kind") == "synthetic":
        record["warning"] = ("the model was trained on the synthetic stand-in corpus: numbers on the "
                             "stand-in check the machinery; they are not the paper's claims")
    return record


def write_prediction_sidecar(path: str | Path, run: PredictionRun, table_path: str | Path) -> Path:
    """Write :func:`prediction_sidecar` as JSON, atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        The JSON file (``emo predict`` writes the table's name with ``.json``).
    run : PredictionRun
    table_path : str or pathlib.Path

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    return atomic_write_json(path, prediction_sidecar(run, table_path))
