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
import logging
import math
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import keras
import numpy as np

from . import __version__
from .config import SAMPLE_RATE, TrainConfig
from .corpora.base import DIMENSIONS
from .dataset import SegmentSet
from .devices import distribute
from .errors import EmoInputError
from .io import atomic_path, atomic_write_json, atomic_write_text
from .metrics import ccc, ccc_avec, ccc_loss, ccc_metrics, pearson
from .model_card import device_info

__all__ = [
    "environment_info",
    "model_input_names",
    "make_optimizer",
    "save_model",
    "compile_model",
    "SegmentBatches",
    "RESUME_NOTE",
    "TrainingResult",
    "train_model",
    "predict_segments",
    "predict_gates",
    "evaluate_model",
    "write_evaluation",
    "score_predictions",
]


class _KnownRetracingNote(logging.Filter):
    """Drops TensorFlow's note that a function was retraced, which every new model triggers.

    Training several models one after the other in one process (a study, a
    notebook) builds a new training function for each: TensorFlow then warns
    that "N out of the last M calls ... triggered tf.function retracing",
    which is expected here and says nothing about the user's input.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_KnownRetracingNote())


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


def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    """RMSprop at ``config.learning_rate`` (the paper), keeping a moving average of the
    weights when ``config.ema_momentum`` is set (Keras's ``use_ema``)."""
    if config.ema_momentum is None:
        return keras.optimizers.RMSprop(learning_rate=config.learning_rate)
    return keras.optimizers.RMSprop(learning_rate=config.learning_rate, use_ema=True,
                                    ema_momentum=config.ema_momentum)


def compile_model(model: keras.Model, config: TrainConfig) -> keras.Model:
    """Compile with RMSprop (:func:`make_optimizer`), the CCC loss and the two CCC metrics.

    ``config.jit_compile="auto"`` turns XLA on when the model has a long direct
    convolution (whose gradient is extremely slow without XLA on a CPU) and
    off otherwise.
    """
    return _compile(model, config, make_optimizer(config))


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
    multiple_of : int
        A shorter last batch is padded to a multiple of this (the number of
        devices a batch is split over) with copies of its first segment whose
        frame and label masks are 0, which leave the loss and the metrics as
        they are.
    """

    def __init__(self, segments: SegmentSet, batch_size: int, input_names: Sequence[str], *,
                 shuffle: bool = False, seed: int = 0, multiple_of: int = 1):
        super().__init__()
        if len(segments) == 0:
            raise EmoInputError("no segments to batch")
        self.segments = segments
        self.batch_size = int(batch_size)
        self.input_names = list(input_names)
        self.shuffle = shuffle
        self.seed = seed
        self.multiple_of = int(multiple_of)
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
        missing = -len(chosen) % self.multiple_of
        if not missing:
            return self.segments.batch(chosen, self.input_names)
        inputs, targets = self.segments.batch([*chosen, *[chosen[0]] * missing], self.input_names)
        targets[len(chosen):, :, 2] = 0
        if "frame_mask" in inputs:
            inputs["frame_mask"][len(chosen):] = 0
        return inputs, targets


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


def save_model(model: keras.Model, path: str | Path) -> None:
    """Save a model to a ``.keras`` file atomically (complete or absent, never half-written)."""
    with atomic_path(Path(path), suffix=".keras") as tmp:
        model.save(tmp)


_save_model = save_model


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
    """After every epoch: the log row, the learning-rate schedule, the best model, the
    checkpoint and the state (the commit point), early stopping.

    With a validation set an epoch is scored by the validation mean CCC (of
    the averaged weights when the optimiser keeps a moving average). A run
    with a fixed learning-rate list (a refit without validation) replays it,
    and its last epoch is the result.
    """

    def __init__(self, out_dir: Path, state: dict[str, Any], config: TrainConfig, batches: "SegmentBatches",
                 swap: keras.callbacks.Callback | None, lr_by_epoch: Sequence[float] | None):
        super().__init__()
        self.out_dir, self.state, self.config, self.batches = out_dir, state, config, batches
        self.swap, self.lr_by_epoch = swap, lr_by_epoch

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._started = time.perf_counter()
        self._epoch = epoch
        if self.lr_by_epoch is not None:
            self.model.optimizer.learning_rate.assign(self.lr_by_epoch[min(epoch, len(self.lr_by_epoch) - 1)])

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # Linear warm-up over the first warmup_epochs epochs (a refit replays its rates instead).
        if self.lr_by_epoch is not None or self._epoch >= self.config.warmup_epochs:
            return
        steps = len(self.batches)
        step = self._epoch * steps + batch + 1
        self.model.optimizer.learning_rate.assign(
            self.config.learning_rate * min(1.0, step / (self.config.warmup_epochs * steps)))

    def _save_best(self) -> None:
        # The best model holds the averaged weights when there are any.
        if self.swap is not None:
            self.swap.on_test_begin()
        try:
            _save_model(self.model, self.out_dir / "best.keras")
        finally:
            if self.swap is not None:
                self.swap.on_test_end()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        state, out_dir, config = self.state, self.out_dir, self.config
        learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}, "lr": learning_rate,
               "seconds": round(time.perf_counter() - getattr(self, "_started", time.perf_counter()), 3)}
        if self.lr_by_epoch is not None:
            score = float(epoch + 1)  # a fixed-length run: the last epoch is the result
        else:
            score = _mean_ccc(row)
            row["val_ccc_mean"] = score if math.isfinite(score) else float("nan")
        state["history"].append(row)
        # Patience counts epochs without a gain of more than min_delta over the score at the
        # last such gain; the best model is always the highest score.
        reference = state.get("reference_score", state["best_score"])
        if score > reference + config.min_delta or not math.isfinite(reference):
            state.update(reference_score=score, wait=0, lr_wait=0)
        else:
            state["wait"] += 1
            state["lr_wait"] = state.get("lr_wait", 0) + 1
        if score > state["best_score"]:
            state.update(best_score=score, best_epoch=epoch + 1)
            self._save_best()
        if (self.lr_by_epoch is None and config.lr_schedule == "plateau"
                and state["lr_wait"] >= config.lr_patience and learning_rate > config.min_learning_rate):
            self.model.optimizer.learning_rate.assign(
                max(learning_rate * config.lr_factor, config.min_learning_rate))
            state["lr_wait"] = 0
        checkpoint = out_dir / "checkpoints" / f"epoch_{epoch + 1:03d}.keras"
        _save_model(self.model, checkpoint)
        state["seed_states"] = _seed_states(self.model)
        previous = state.get("checkpoint")
        stop = state["wait"] >= config.patience and epoch + 1 >= config.min_epochs
        last = len(self.lr_by_epoch) if self.lr_by_epoch is not None else config.max_epochs
        state.update(epochs_done=epoch + 1, checkpoint=str(checkpoint.relative_to(out_dir)),
                     stopped_early=stop, finished=stop or epoch + 1 >= last)
        _write_log(out_dir / "log.csv", state["history"])
        atomic_write_json(out_dir / "state.json", {
            **state, **{key: (state[key] if math.isfinite(state[key]) else None)
                        for key in ("best_score", "reference_score") if key in state}})
        if previous and previous != state["checkpoint"]:
            (out_dir / previous).unlink(missing_ok=True)
        self.batches.set_epoch(epoch + 1)
        if stop:
            self.model.stop_training = True


def _seed_variables(model: keras.Model) -> dict[str, Any]:
    """The dropout layers' seed-generator state variables, keyed by layer name and position."""
    found = {}
    for layer in model.layers:
        seeds = [v for v in layer.variables if v.path.endswith("seed_generator_state")]
        for index, variable in enumerate(seeds):
            found[f"{layer.name}:{index}"] = variable
    return found


def _seed_states(model: keras.Model) -> dict[str, list[int]]:
    """The dropout layers' seed-generator states (Keras saves them in no model file, so a
    checkpoint alone would restart the dropout masks from fresh seeds; ``state.json`` keeps them)."""
    return {key: np.asarray(keras.ops.convert_to_numpy(variable)).tolist()
            for key, variable in _seed_variables(model).items()}


def _restore_seed_states(model: keras.Model, states: dict[str, list[int]]) -> None:
    variables = _seed_variables(model)
    for key, value in states.items():
        if key in variables:
            variables[key].assign(np.asarray(value, dtype=variables[key].dtype))


def _replicate(model: keras.Model) -> keras.Model:
    """A copy of a model, with its weights and dropout seed states, built in the current distribution scope."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    _restore_seed_states(copy, _seed_states(model))
    return copy


def _mean_ccc(row: dict[str, float]) -> float:
    value = 0.5 * (row.get("val_ccc_arousal", float("nan")) + row.get("val_ccc_valence", float("nan")))
    return value if math.isfinite(value) else -math.inf


RESUME_NOTE = (
    "exact: the batch order of every epoch depends only on (seed, epoch), and a checkpoint holds the "
    "weights, the optimiser state (learning rate, moving averages) and the dropout layers' "
    "seed-generator states, so a resumed run continues the same random streams as an uninterrupted one"
)
"""What a resumed run continues (recorded in ``run.json``; tests/test_training.py checks it)."""


def train_model(
    model: keras.Model | None,
    train_set: SegmentSet,
    validation_set: SegmentSet | None,
    out_dir: str | Path,
    config: TrainConfig,
    *,
    resume: bool = False,
    verbose: int | str = "auto",
    run_info: dict[str, Any] | None = None,
    lr_by_epoch: Sequence[float] | None = None,
) -> TrainingResult:
    """Train with per-epoch checkpoints, early stopping on validation mean CCC, and resume.

    Parameters
    ----------
    model : keras.Model or None
        A freshly built model (compiled here). May be ``None`` when resuming.
    train_set : SegmentSet
    validation_set : SegmentSet or None
        Scores every epoch (validation mean CCC of arousal and valence): early
        stopping, the learning-rate schedule and the best epoch follow it.
        ``None`` only with ``lr_by_epoch``.
    out_dir : str or pathlib.Path
        The run folder (module docstring).
    config : TrainConfig
        Batch, learning rate and its schedule, moving average of the weights,
        epochs, patience, seed, XLA, devices. With ``config.devices`` N > 1
        the model (a copy of ``model`` with the same weights) is compiled,
        trained and saved under :func:`emo_lib.devices.distribute`'s scope;
        the model returned is an ordinary one-device model loaded from
        ``model.keras``.
    resume : bool
        Continue the run in ``out_dir`` from its last finished epoch. Without
        it, a folder that already holds a run is refused. A resumed run
        continues exactly (:data:`RESUME_NOTE`).
    verbose : int or "auto"
        Keras progress display: 1 a progress bar per epoch, 2 a line per epoch, 0 silent.
    run_info : dict, optional
        Written to ``run.json`` with the configuration and package versions.
    lr_by_epoch : sequence of float, optional
        A fixed run: train exactly ``len(lr_by_epoch)`` epochs with these
        learning rates, without validation (a refit on all training
        conversations for the number of epochs a validated run chose); the
        last epoch is the result.

    Returns
    -------
    TrainingResult
    """
    out_dir = Path(out_dir)
    state_path = out_dir / "state.json"
    if state_path.exists() and not resume:
        raise EmoInputError("the folder already holds a training run: resume it or choose another folder",
                            path=out_dir)
    if validation_set is None and lr_by_epoch is None:
        raise EmoInputError("a validation set is needed (or a fixed list of learning rates per epoch)")
    if lr_by_epoch is not None and len(lr_by_epoch) < 1:
        raise EmoInputError("lr_by_epoch must hold at least one learning rate")

    state: dict[str, Any] = {"epochs_done": 0, "best_epoch": 0, "best_score": -math.inf, "wait": 0,
                             "lr_wait": 0, "history": [], "checkpoint": None, "finished": False,
                             "stopped_early": False}
    placement = distribute(config.devices)
    with placement.scope():
        if resume and state_path.exists():
            state = json.loads(state_path.read_text(encoding="utf-8"))
            for key in ("best_score", "reference_score"):
                if key in state and state[key] is None:
                    state[key] = -math.inf
            if state.get("checkpoint"):
                from .models import load_model

                model = load_model(out_dir / state["checkpoint"])
                _restore_seed_states(model, state.get("seed_states", {}))
                # Recompile around the restored optimizer (its state is kept) so that the
                # XLA setting of this configuration applies.
                _compile(model, config, optimizer=model.optimizer)
        if model is None:
            raise EmoInputError("nothing to resume and no model given", path=out_dir)
        if not state.get("checkpoint"):
            if placement.count > 1:
                model = _replicate(model)
            compile_model(model, config)

        atomic_write_json(out_dir / "run.json", {
            **(run_info or {}),
            "model": model.name,
            "parameters": int(model.count_params()),
            "train_config": config.to_dict(),
            "train_segments": len(train_set),
            "validation_segments": 0 if validation_set is None else len(validation_set),
            "fixed_learning_rates": None if lr_by_epoch is None else [float(v) for v in lr_by_epoch],
            "resume": RESUME_NOTE,
            "versions": environment_info(),
            "device": device_info(),
            "devices": placement.record(),
        })

        names = model_input_names(model)
        train_batches = SegmentBatches(train_set, config.batch_size, names, shuffle=True, seed=config.seed,
                                       multiple_of=placement.count)
        validation_batches = (None if validation_set is None
                              else SegmentBatches(validation_set, config.batch_size, names,
                                                  multiple_of=placement.count))
        callbacks: list[keras.callbacks.Callback] = []
        swap = None
        if config.ema_momentum is not None:
            # Validation (and the best model) use the weights' moving average.
            swap = keras.callbacks.SwapEMAWeights(swap_on_epoch=False)
            callbacks.append(swap)
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(out_dir / "tensorboard"), write_graph=False))

        history: list[dict[str, float]] = state["history"]
        epoch = state["epochs_done"]
        last = len(lr_by_epoch) if lr_by_epoch is not None else config.max_epochs
        # A run continues unless early stopping ended it (a finished run resumed with more
        # epochs allowed goes on).
        if not state.get("stopped_early") and epoch < last:
            if epoch == 0:
                keras.utils.set_random_seed(config.seed)
            train_batches.set_epoch(epoch)
            bookkeeping = _EpochBookkeeping(out_dir, state, config, train_batches, swap, lr_by_epoch)
            model.fit(train_batches, validation_data=validation_batches, initial_epoch=epoch,
                      epochs=last, verbose=verbose, callbacks=[*callbacks[:-1], bookkeeping, callbacks[-1]],
                      shuffle=False)
        stopped_early = bool(state.get("stopped_early"))

        best_path = out_dir / "best.keras"
        if best_path.exists():
            from .models import load_model

            model.set_weights(load_model(best_path, compile=False).get_weights())
        _save_model(model, out_dir / "model.keras")
        _write_log(out_dir / "log.csv", history)
    if placement.count > 1:
        # A one-device model for what follows (prediction, evaluation) outside the distribution.
        from .models import load_model

        model = load_model(out_dir / "model.keras")
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


def predict_gates(model: keras.Model, segments: SegmentSet, *, batch_size: int = 16,
                  verbose: int | str = 0) -> np.ndarray:
    """The fusion weights of a W+S gated model for every segment of a set.

    The segments are batched and predicted as by :func:`predict_segments`,
    through :func:`emo_lib.models.gate_model`.

    Parameters
    ----------
    model : keras.Model
        A WSG model.
    segments : SegmentSet
    batch_size : int, keyword-only
    verbose : int or "auto", keyword-only

    Returns
    -------
    np.ndarray [shape=(n_segments, T, 2)]
        ``(g_w, g_s)``, the weights of the waveform and spectrogram towers at
        each label step (they sum to 1); padded steps (beyond a segment's
        length) have weights too, to be ignored.

    Raises
    ------
    EmoInputError
        For a model without fusion gates.
    """
    from .models import gate_model

    return predict_segments(gate_model(model), segments, batch_size=batch_size, verbose=verbose)


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

    See :func:`write_evaluation` for the files.

    Returns
    -------
    dict
        The content of ``metrics.json``.
    """
    predictions = predict_segments(model, test_set, batch_size=batch_size)
    return write_evaluation(predictions, test_set, out_dir, model_name=model.name, run_info=run_info)


def write_evaluation(predictions: np.ndarray, test_set: SegmentSet, out_dir: str | Path, *,
                     model_name: str, run_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Score predictions of a test set and write ``predictions.csv`` and ``metrics.json``.

    ``predictions.csv`` has one row per valid label frame: conversation,
    segment, frame, time_s, arousal_true, valence_true, arousal_pred,
    valence_pred. ``metrics.json`` holds :func:`score_predictions` on them
    (concatenated test set and averaged per conversation), the protocol, the
    given ``run_info`` (corpus, variant, preset, seed, split, ...) and the
    package versions.

    Parameters
    ----------
    predictions : np.ndarray [shape=(n_segments, T, 2)]
        Arousal and valence for every label step of every test segment.
    test_set : SegmentSet
    out_dir : str or pathlib.Path
    model_name : str
    run_info : dict, optional

    Returns
    -------
    dict
        The content of ``metrics.json``.
    """
    out_dir = Path(out_dir)
    _, targets = test_set.batch(range(len(test_set)), ())
    if predictions.shape != targets.shape[:2] + (2,):
        raise EmoInputError(f"predictions have shape {predictions.shape}, the test set needs "
                            f"{targets.shape[:2] + (2,)}")
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
        "model": model_name,
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
