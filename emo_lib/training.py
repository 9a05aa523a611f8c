"""Training with checkpoints and resume, and evaluation on test segments.

Training follows the paper (section 5.1): RMSprop, learning rate 5e-4, batch
50 in the paper configuration, the 1 - CCC loss; plus (*choice*, the paper is
silent) a validation part carved from the training conversations and early
stopping on the validation mean CCC with the best weights restored.

A run folder holds::

    checkpoints/epoch_NNN.keras   the model and optimizer after epoch NNN (the latest only)
    state.json                    epochs done, best epoch and score, the history (the commit point)
    best.keras                    the best model so far
    model.keras                   the final model (best weights), written when training ends
    log.csv                       one row per epoch: loss, val_loss, val_ccc_arousal, ...
    tensorboard/                  TensorBoard logs
    run.json                      configuration, preset, seed, package versions

Every file is written atomically and ``state.json`` is written last, so a run
killed at any moment (SIGKILL included) restarts with ``resume=True`` from the
last finished epoch and ends with the same files as an uninterrupted run.
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import keras
import numpy as np

from . import __version__
from .config import SAMPLE_RATE, TrainConfig
from .corpora.base import DIMENSIONS
from .dataset import SegmentSet
from .errors import EmoInputError
from .io import atomic_path, atomic_write_json, atomic_write_text
from .metrics import ccc, ccc_avec, ccc_loss, ccc_metrics, pearson

__all__ = [
    "environment_info",
    "model_input_names",
    "compile_model",
    "SegmentBatches",
    "TrainingResult",
    "train_model",
    "predict_segments",
    "evaluate_model",
    "score_predictions",
]


def environment_info() -> dict[str, str]:
    """Versions of Python, the platform and the packages results depend on."""
    info = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "emo_lib": __version__,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "numpy": np.__version__,
    }
    for package in ("tensorflow", "jax", "librosa", "opensmile", "soundfile", "soxr"):
        module = sys.modules.get(package)
        if module is None:
            try:
                module = __import__(package)
            except ImportError:
                continue
        info[package] = getattr(module, "__version__", "unknown")
    return info


def model_input_names(model: keras.Model) -> list[str]:
    """The names of a model's inputs (``"waveform"``, ``"spectrogram"``, ``"compare"``)."""
    return [tensor.name for tensor in model.inputs]


_XLA_MIN_DIRECT_KERNEL = 256
"""A direct Conv1D with a kernel at least this long makes ``jit_compile="auto"`` use XLA."""


def _uses_long_direct_conv(model: keras.Model) -> bool:
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv1D) and layer.kernel_size[0] >= _XLA_MIN_DIRECT_KERNEL:
            return True
    return False


def compile_model(model: keras.Model, config: TrainConfig) -> keras.Model:
    """Compile with RMSprop, the CCC loss and the two CCC metrics.

    ``config.jit_compile="auto"`` turns XLA on when the model has a long direct
    convolution (whose gradient is extremely slow without XLA on a CPU) and
    off otherwise.
    """
    return _compile(model, config, keras.optimizers.RMSprop(learning_rate=config.learning_rate))


def _compile(model: keras.Model, config: TrainConfig, optimizer) -> keras.Model:
    jit = config.jit_compile
    if jit == "auto":
        jit = _uses_long_direct_conv(model)
    model.compile(
        optimizer=optimizer,
        loss=ccc_loss,
        metrics=ccc_metrics(),
        jit_compile=bool(jit),
    )
    return model


class SegmentBatches(keras.utils.PyDataset):
    """Batches of a :class:`SegmentSet`, shuffled per epoch from a seed.

    The order of epoch ``e`` depends only on ``(seed, e)``, so a resumed run
    sees the same batches as an uninterrupted one.

    Parameters
    ----------
    segments : SegmentSet
    batch_size : int
    input_names : sequence of str
    shuffle : bool
    seed : int
    """

    def __init__(self, segments: SegmentSet, batch_size: int, input_names: Sequence[str], *,
                 shuffle: bool = False, seed: int = 0):
        super().__init__()
        if len(segments) == 0:
            raise EmoInputError("no segments to batch")
        self.segments = segments
        self.batch_size = int(batch_size)
        self.input_names = list(input_names)
        self.shuffle = shuffle
        self.seed = seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Fix the order for ``epoch``."""
        if self.shuffle:
            self.order = np.random.default_rng([self.seed, epoch]).permutation(len(self.segments))
        else:
            self.order = np.arange(len(self.segments))

    def __len__(self) -> int:
        return math.ceil(len(self.segments) / self.batch_size)

    def __getitem__(self, index: int):
        chosen = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        return self.segments.batch(chosen, self.input_names)


@dataclass
class TrainingResult:
    """What :func:`train_model` returns.

    Attributes
    ----------
    model : keras.Model
        With the best epoch's weights.
    history : list of dict
        One row per epoch (the content of log.csv).
    best_epoch : int
        1-based; 0 if no epoch ran.
    best_score : float
        Validation mean CCC of the best epoch.
    stopped_early : bool
    out_dir : pathlib.Path
    """

    model: keras.Model
    history: list[dict[str, float]]
    best_epoch: int
    best_score: float
    stopped_early: bool
    out_dir: Path


def _save_model(model: keras.Model, path: Path) -> None:
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)


def _write_log(path: Path, history: list[dict[str, float]]) -> None:
    if not history:
        return
    columns = list(history[0])
    for row in history[1:]:
        columns.extend(k for k in row if k not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(history)
    atomic_write_text(path, buffer.getvalue())


class _EpochBookkeeping(keras.callbacks.Callback):
    """After every epoch: the log row, best model, checkpoint and state (the commit point), early stop."""

    def __init__(self, out_dir: Path, state: dict[str, Any], config: TrainConfig, batches: "SegmentBatches"):
        super().__init__()
        self.out_dir, self.state, self.config, self.batches = out_dir, state, config, batches

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        state, out_dir = self.state, self.out_dir
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        score = _mean_ccc(row)
        row["val_ccc_mean"] = score if math.isfinite(score) else float("nan")
        state["history"].append(row)
        if score > state["best_score"]:
            state.update(best_score=score, best_epoch=epoch + 1, wait=0)
            _save_model(self.model, out_dir / "best.keras")
        else:
            state["wait"] += 1
        checkpoint = out_dir / "checkpoints" / f"epoch_{epoch + 1:03d}.keras"
        _save_model(self.model, checkpoint)
        previous = state.get("checkpoint")
        stop = state["wait"] >= self.config.patience
        state.update(epochs_done=epoch + 1, checkpoint=str(checkpoint.relative_to(out_dir)),
                     finished=stop or epoch + 1 >= self.config.max_epochs)
        _write_log(out_dir / "log.csv", state["history"])
        atomic_write_json(out_dir / "state.json", {
            **state, "best_score": state["best_score"] if math.isfinite(state["best_score"]) else None})
        if previous and previous != state["checkpoint"]:
            (out_dir / previous).unlink(missing_ok=True)
        self.batches.set_epoch(epoch + 1)
        if stop:
            self.model.stop_training = True


def _mean_ccc(row: dict[str, float]) -> float:
    value = 0.5 * (row.get("val_ccc_arousal", float("nan")) + row.get("val_ccc_valence", float("nan")))
    return value if math.isfinite(value) else -math.inf


def train_model(
    model: keras.Model | None,
    train_set: SegmentSet,
    validation_set: SegmentSet,
    out_dir: str | Path,
    config: TrainConfig,
    *,
    resume: bool = False,
    verbose: int | str = "auto",
    run_info: dict[str, Any] | None = None,
) -> TrainingResult:
    """Train with per-epoch checkpoints, early stopping on validation mean CCC, and resume.

    Parameters
    ----------
    model : keras.Model or None
        A freshly built model (compiled here). May be ``None`` when resuming.
    train_set, validation_set : SegmentSet
    out_dir : str or pathlib.Path
        The run folder (module docstring).
    config : TrainConfig
    resume : bool
        Continue the run in ``out_dir`` from its last finished epoch. Without
        it, a folder that already holds a run is refused.
    verbose : int or "auto"
        Keras progress display: 1 a progress bar per epoch, 2 a line per epoch, 0 silent.
    run_info : dict, optional
        Written to ``run.json`` with the configuration and package versions.

    Returns
    -------
    TrainingResult
    """
    out_dir = Path(out_dir)
    state_path = out_dir / "state.json"
    if state_path.exists() and not resume:
        raise EmoInputError("the folder already holds a training run: resume it or choose another folder",
                            path=out_dir)

    state: dict[str, Any] = {"epochs_done": 0, "best_epoch": 0, "best_score": -math.inf, "wait": 0,
                             "history": [], "checkpoint": None, "finished": False}
    if resume and state_path.exists():
        state = json.loads(state_path.read_text(encoding="utf-8"))
        if state["best_score"] is None:
            state["best_score"] = -math.inf
        if state.get("checkpoint"):
            model = keras.saving.load_model(out_dir / state["checkpoint"])
            # Recompile around the restored optimizer (its state is kept) so that the
            # XLA setting of this configuration applies.
            _compile(model, config, optimizer=model.optimizer)
    if model is None:
        raise EmoInputError("nothing to resume and no model given", path=out_dir)
    if not state.get("checkpoint"):
        compile_model(model, config)

    atomic_write_json(out_dir / "run.json", {
        **(run_info or {}),
        "model": model.name,
        "parameters": int(model.count_params()),
        "train_config": config.to_dict(),
        "train_segments": len(train_set),
        "validation_segments": len(validation_set),
        "versions": environment_info(),
    })

    names = model_input_names(model)
    train_batches = SegmentBatches(train_set, config.batch_size, names, shuffle=True, seed=config.seed)
    validation_batches = SegmentBatches(validation_set, config.batch_size, names)
    tensorboard = keras.callbacks.TensorBoard(log_dir=str(out_dir / "tensorboard"), write_graph=False)

    history: list[dict[str, float]] = state["history"]
    epoch = state["epochs_done"]
    if not state.get("finished") and epoch < config.max_epochs:
        # A resumed run continues the batch order of its epoch and reseeds the dropout masks
        # from the seed and the epoch it starts at.
        keras.utils.set_random_seed(config.seed if epoch == 0 else config.seed * 100_003 + epoch)
        train_batches.set_epoch(epoch)
        bookkeeping = _EpochBookkeeping(out_dir, state, config, train_batches)
        model.fit(train_batches, validation_data=validation_batches, initial_epoch=epoch,
                  epochs=config.max_epochs, verbose=verbose, callbacks=[bookkeeping, tensorboard],
                  shuffle=False)
    stopped_early = bool(state.get("finished")) and state["epochs_done"] < config.max_epochs

    best_path = out_dir / "best.keras"
    if best_path.exists():
        model.set_weights(keras.saving.load_model(best_path).get_weights())
    _save_model(model, out_dir / "model.keras")
    _write_log(out_dir / "log.csv", history)
    return TrainingResult(model=model, history=history, best_epoch=state["best_epoch"],
                          best_score=float(state["best_score"]), stopped_early=bool(stopped_early),
                          out_dir=out_dir)


# ----------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------


def predict_segments(model: keras.Model, segments: SegmentSet, *, batch_size: int = 16,
                     verbose: int | str = 0) -> np.ndarray:
    """Predictions for every segment of a set.

    Returns
    -------
    np.ndarray [shape=(n_segments, T, 2)]
    """
    batches = SegmentBatches(segments, batch_size, model_input_names(model))
    return np.asarray(model.predict(batches, verbose=verbose), dtype=np.float32)


def score_predictions(table: dict[str, np.ndarray]) -> dict[str, Any]:
    """CCC (1/N and AVEC), Pearson per dimension, concatenated and averaged per conversation.

    Parameters
    ----------
    table : dict of np.ndarray
        Columns ``conversation``, ``arousal_true``, ``valence_true``,
        ``arousal_pred``, ``valence_pred`` (valid frames only).

    Returns
    -------
    dict
        ``{"ccc": {"concatenated": {"arousal": .., "valence": ..},
        "per_conversation": {...}}, "ccc_avec": {...}, "pearson": {...}}``.
    """
    conversations = np.asarray(table["conversation"])
    scores: dict[str, Any] = {}
    for name, function in (("ccc", ccc), ("ccc_avec", ccc_avec), ("pearson", pearson)):
        concatenated, per_conversation = {}, {}
        for dimension in DIMENSIONS:
            truth, prediction = table[f"{dimension}_true"], table[f"{dimension}_pred"]
            concatenated[dimension] = function(truth, prediction)
            values = [function(truth[conversations == c], prediction[conversations == c])
                      for c in dict.fromkeys(conversations.tolist())]
            finite = [v for v in values if math.isfinite(v)]
            per_conversation[dimension] = float(np.mean(finite)) if finite else float("nan")
        scores[name] = {"concatenated": concatenated, "per_conversation": per_conversation}
    return scores


def evaluate_model(model: keras.Model, test_set: SegmentSet, out_dir: str | Path, *,
                   run_info: dict[str, Any] | None = None, batch_size: int = 16) -> dict[str, Any]:
    """Predict the test set and write ``predictions.csv`` and ``metrics.json``.

    ``predictions.csv`` has one row per valid label frame: conversation,
    segment, frame, time_s, arousal_true, valence_true, arousal_pred,
    valence_pred. ``metrics.json`` holds :func:`score_predictions` on them
    (concatenated test set and averaged per conversation), the protocol, the
    given ``run_info`` (corpus, variant, preset, seed, split, ...) and the
    package versions.

    Returns
    -------
    dict
        The content of ``metrics.json``.
    """
    out_dir = Path(out_dir)
    predictions = predict_segments(model, test_set, batch_size=batch_size)
    _, targets = test_set.batch(range(len(test_set)), ())
    frames = test_set.frame_table()
    keep = targets[..., 2].ravel() > 0
    table = {key: value[keep] for key, value in frames.items()}
    for index, dimension in enumerate(DIMENSIONS):
        table[f"{dimension}_true"] = targets[..., index].ravel()[keep]
        table[f"{dimension}_pred"] = predictions[..., index].ravel()[keep]
    if not keep.any():
        raise EmoInputError("the test set has no labelled frames")

    buffer = io.StringIO()
    columns = ["conversation", "segment", "frame", "time_s", "arousal_true", "valence_true",
               "arousal_pred", "valence_pred"]
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in zip(*(table[c] for c in columns)):
        writer.writerow([row[0], int(row[1]), int(row[2]), f"{row[3]:.3f}",
                         *(f"{v:.6f}" for v in row[4:])])
    atomic_write_text(out_dir / "predictions.csv", buffer.getvalue())

    result = {
        **(run_info or {}),
        "model": model.name,
        "test_segments": len(test_set),
        "test_conversations": len(test_set.conversation_ids),
        "test_frames": int(keep.sum()),
        "protocol": "CCC with 1/N statistics on the concatenated test frames ('concatenated') and "
                    "averaged over test conversations ('per_conversation'); padded frames excluded",
        "metrics": score_predictions(table),
        "versions": environment_info(),
    }
    atomic_write_json(out_dir / "metrics.json", result)
    return result
