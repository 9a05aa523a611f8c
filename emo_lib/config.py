"""Presets: the paper's configuration and smaller ones for a CPU, as frozen dataclasses.

A :class:`ModelPreset` fixes the architecture (layer widths, kernels, pooling,
BLSTM sizes, segment length). A :class:`TrainConfig` fixes how a model is
trained. Both are saved, as dictionaries, next to every result.

Presets
-------
``paper``
    Yang & Hirschberg (2018), section 4.2, unchanged: 4,762,834 parameters for
    W+S at 20 ms labels.
``narrow``
    The same layout, kernels, pools and tower outputs (96,000 values per tower
    and segment) with a fifth of the convolution channels and a quarter of the
    BLSTM cells, for the quick profile on a 2-core CPU (the 800-tap convolution
    runs through FFTs).
``tiny``
    A few channels and units, for unit tests and continuous integration only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .errors import EmoInputError

__all__ = [
    "SAMPLE_RATE",
    "FRAME_HOP_SECONDS",
    "FRAME_WINDOW_SECONDS",
    "N_MELS",
    "LABEL_STEPS_MS",
    "ModelPreset",
    "TrainConfig",
    "PRESETS",
    "get_preset",
]

SAMPLE_RATE = 16_000
"""Sample rate of every waveform the models see (Hz)."""
FRAME_HOP_SECONDS = 0.010
"""Hop of the log-mel frames (10 ms)."""
FRAME_WINDOW_SECONDS = 0.025
"""Window of the log-mel frames (25 ms)."""
N_MELS = 40
"""Number of mel bands."""
LABEL_STEPS_MS = (20, 40)
"""Supported label steps: 20 ms (SEMAINE) and 40 ms (RECOLA)."""


@dataclass(frozen=True)
class ModelPreset:
    """Architecture of the waveform and spectrogram towers and of the BLSTMs.

    Field names follow paper-notes.md. The waveform tower is
    ``wave_conv1 -> MaxPool(wave_pool) -> wave_conv2 -> cross-channel max pool
    (wave_channel_pool)``; the spectrogram tower is ``spec_conv1`` (along mel)
    ``-> MaxPool(spec_pool) along mel -> spec_conv2`` (along time) ``->
    cross-channel max pool (spec_channel_pool)``.

    ``long_conv`` selects how the waveform tower's second convolution is
    computed: ``"direct"`` (``keras.layers.Conv1D``), ``"fft"`` (the FFT long
    convolution of :mod:`emo_lib.layers`) or ``"auto"`` (whichever is faster
    for the kernel size). All three compute the same function with the same
    weights.

    ``lstm`` selects the LSTM inside the BLSTMs: ``"projected"``
    (:class:`emo_lib.layers.ProjectedLSTM`, the input projection outside the
    recurrence: faster on a CPU) or ``"keras"`` (``keras.layers.LSTM``).
    Same function and weights; the float32 rounding differs, so a training
    run's numbers differ slightly between the two. The ``paper`` preset uses
    ``"projected"``; ``narrow`` and ``tiny`` keep ``"keras"``, with which the
    study's published quick-profile results (README, 2026-12-02) were
    trained, so that they reproduce to the digit.
    """

    name: str
    wave_conv1_filters: int = 40
    wave_conv1_kernel: int = 80
    wave_pool: int = 2
    wave_conv2_filters: int = 40
    wave_conv2_kernel: int = 800
    wave_channel_pool: int = 20
    spec_conv1_filters: int = 80
    spec_conv1_kernel: int = 10
    spec_pool: int = 2
    spec_conv2_filters: int = 80
    spec_conv2_kernel: int = 10
    spec_channel_pool: int = 10
    lstm_units_fused: int = 256
    lstm_units_single: int = 128
    lstm_layers: int = 2
    dropout: float = 0.5
    segment_seconds: float = 6.0
    long_conv: str = "auto"
    lstm: str = "projected"

    @property
    def segment_samples(self) -> int:
        """Waveform samples per segment (96,000 for 6 s)."""
        return int(round(self.segment_seconds * SAMPLE_RATE))

    @property
    def segment_frames(self) -> int:
        """Log-mel frames per segment (600 for 6 s)."""
        return int(round(self.segment_seconds / FRAME_HOP_SECONDS))

    def label_frames(self, label_step_ms: int) -> int:
        """Label steps per segment (300 at 20 ms, 150 at 40 ms for 6 s)."""
        return int(round(self.segment_seconds * 1000 / label_step_ms))

    def replace(self, **changes: Any) -> "ModelPreset":
        """A copy with some fields changed (for example ``long_conv="direct"``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """All fields, for result files."""
        return dataclasses.asdict(self)


_LR_SCHEDULES = ("constant", "plateau")


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained (paper, section 5.1, where it says; *choice* elsewhere).

    The paper fixes the optimiser (RMSprop), the learning rate (5e-4), the
    batch (50), dropout and the loss; it says nothing of epochs, validation,
    early stopping or schedules. The defaults here are the paper's values and
    plain early stopping; the study's profiles set the rest from measurements
    (benchmarks/convergence.py, benchmarks/README.md).

    Parameters
    ----------
    batch_size : int
        Segments per step (the paper: 50).
    learning_rate : float
        Initial RMSprop learning rate (the paper: 5e-4).
    max_epochs : int
        Upper bound on epochs (not stated in the paper).
    patience : int
        Epochs without improvement of the validation mean CCC before stopping.
    min_epochs : int
        Early stopping never stops a run before this many epochs.
    min_delta : float
        An epoch counts as an improvement (for early stopping and the
        learning-rate schedule) when its validation mean CCC beats the best so
        far by more than this: a curve that still creeps up by less has
        reached its plateau. The best epoch is always the highest score.
    lr_schedule : {"constant", "plateau"}
        ``"plateau"`` multiplies the learning rate by ``lr_factor`` after
        ``lr_patience`` epochs without improvement of the validation mean CCC
        (not below ``min_learning_rate``).
    warmup_epochs : int
        The learning rate rises linearly from ``learning_rate / steps`` to
        ``learning_rate`` over the first ``warmup_epochs`` epochs' steps
        (RMSprop's first steps are large while its running average of squared
        gradients is still small; a warm-up keeps a high learning rate from
        killing the ReLU units at the start).
    lr_factor : float
        In (0, 1).
    lr_patience : int
    min_learning_rate : float
    ema_momentum : float or None
        With a value in (0, 1), the optimiser keeps an exponential moving
        average of the weights (Keras's ``use_ema``, updated every step); the
        validation, the best model and the final model use the averaged
        weights. None: the raw weights.
    refit : bool
        After the validation part has chosen the number of epochs, train a
        fresh model with the same seed on the training and validation
        conversations together for that many epochs (replaying the learning
        rates the first run used), and keep it. Done by
        :func:`emo_lib.study.run_experiment`.
    validation_fraction : float
        Share of the training conversations held out for validation.
    seed : int
        Seed of weights, dropout, shuffling and the validation split.
    jit_compile : bool or "auto"
        Compile with XLA. Here ``"auto"`` turns XLA on when the model has a long
        direct convolution (whose gradient is extremely slow without XLA on a
        CPU; Keras's own "auto" means no XLA on a CPU) and off otherwise.
    devices : int
        Train data-parallel on this many devices of the Keras backend
        (:mod:`emo_lib.devices`: ``keras.distribution.DataParallel`` on JAX,
        ``tf.distribute.MirroredStrategy`` on TensorFlow). ``batch_size`` stays
        the global batch and must be a multiple of it. 1 (the default)
        distributes nothing.
    """

    batch_size: int = 50
    learning_rate: float = 5e-4
    max_epochs: int = 100
    patience: int = 10
    min_epochs: int = 0
    min_delta: float = 0.0
    lr_schedule: str = "constant"
    warmup_epochs: int = 0
    lr_factor: float = 0.5
    lr_patience: int = 3
    min_learning_rate: float = 1e-5
    ema_momentum: float | None = None
    refit: bool = False
    validation_fraction: float = 0.2
    seed: int = 0
    jit_compile: bool | str = "auto"
    devices: int = 1

    def __post_init__(self):
        def bad(message):
            raise EmoInputError(f"training configuration: {message}")

        if int(self.batch_size) < 1:
            bad(f"batch_size must be at least 1, got {self.batch_size!r}")
        if not self.learning_rate > 0:
            bad(f"learning_rate must be positive, got {self.learning_rate!r}")
        if int(self.max_epochs) < 1:
            bad(f"max_epochs must be at least 1, got {self.max_epochs!r}")
        if int(self.patience) < 1 or int(self.lr_patience) < 1:
            bad(f"patience and lr_patience must be at least 1, got {self.patience!r}, {self.lr_patience!r}")
        if not 0 <= int(self.min_epochs) <= int(self.max_epochs):
            bad(f"min_epochs must be from 0 to max_epochs ({self.max_epochs}), got {self.min_epochs!r}")
        if not 0 <= self.min_delta < 1:
            bad(f"min_delta must be in [0, 1), got {self.min_delta!r}")
        if self.lr_schedule not in _LR_SCHEDULES:
            bad(f"lr_schedule must be one of {', '.join(_LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if int(self.warmup_epochs) < 0:
            bad(f"warmup_epochs must be at least 0, got {self.warmup_epochs!r}")
        if not 0 < self.lr_factor < 1:
            bad(f"lr_factor must be in (0, 1), got {self.lr_factor!r}")
        if not 0 < self.min_learning_rate <= self.learning_rate:
            bad(f"min_learning_rate must be in (0, learning_rate], got {self.min_learning_rate!r}")
        if self.ema_momentum is not None and not 0 < self.ema_momentum < 1:
            bad(f"ema_momentum must be None or in (0, 1), got {self.ema_momentum!r}")
        if not 0 < self.validation_fraction < 1:
            bad(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
        if self.jit_compile not in (True, False, "auto"):
            bad(f"jit_compile must be True, False or 'auto', got {self.jit_compile!r}")
        if isinstance(self.devices, bool) or int(self.devices) != self.devices or self.devices < 1:
            bad(f"devices must be a whole number of at least 1, got {self.devices!r}")
        if int(self.batch_size) % int(self.devices):
            bad(f"batch_size ({self.batch_size}) is the global batch, split evenly over the {self.devices} "
                f"devices: it must be a multiple of {self.devices}")

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """All fields, for result files."""
        return dataclasses.asdict(self)


PRESETS: dict[str, ModelPreset] = {
    "paper": ModelPreset(name="paper"),
    "narrow": ModelPreset(
        name="narrow",
        wave_conv1_filters=8,
        wave_conv1_kernel=80,
        wave_conv2_filters=8,
        wave_conv2_kernel=800,
        wave_channel_pool=4,
        spec_conv1_filters=16,
        spec_conv1_kernel=10,
        spec_conv2_filters=16,
        spec_conv2_kernel=10,
        spec_channel_pool=2,
        lstm_units_fused=64,
        lstm_units_single=32,
        lstm="keras",
    ),
    "tiny": ModelPreset(
        name="tiny",
        wave_conv1_filters=4,
        wave_conv1_kernel=16,
        wave_conv2_filters=4,
        wave_conv2_kernel=32,
        wave_channel_pool=2,
        spec_conv1_filters=8,
        spec_conv1_kernel=5,
        spec_conv2_filters=16,
        spec_conv2_kernel=5,
        spec_channel_pool=2,
        lstm_units_fused=16,
        lstm_units_single=8,
        lstm="keras",
    ),
}
"""The named presets: ``paper``, ``narrow`` (quick CPU profile), ``tiny`` (tests)."""


def get_preset(preset: str | ModelPreset) -> ModelPreset:
    """Return a preset by name (or the preset itself).

    Raises
    ------
    EmoInputError
        For an unknown name; the message lists the known ones.
    """
    if isinstance(preset, ModelPreset):
        return preset
    try:
        return PRESETS[preset]
    except KeyError:
        raise EmoInputError(
            f"unknown preset {preset!r}; choose one of {', '.join(sorted(PRESETS))}"
        ) from None
