"""Keras models of Yang & Hirschberg (2018): waveform, spectrogram and fused, and the baseline.

:func:`build_model` builds one of five functional models for 20 ms (SEMAINE)
or 40 ms (RECOLA) labels, from a :class:`~emo_lib.config.ModelPreset`:

``"W"``
    the waveform tower, two BLSTM layers of ``lstm_units_single`` cells, and a
    per-step ``Dense(2)``;
``"S"``
    the same with the spectrogram tower;
``"WS"``
    both towers concatenated per label step, BLSTMs of ``lstm_units_fused``
    cells (the paper's proposed model);
``"WSG"``
    W+S with gated fusion, beyond the paper (whose conclusion asks for models
    that weight their inputs by the characteristics of the instance): per
    label step a ``Dense(2, softmax)`` on both towers' features gives the
    weights ``(g_w, g_s)`` of the two towers, and the fusion is
    ``concat(2 g_w x_w, 2 g_s x_s)`` (:class:`emo_lib.layers.GatedFusion`);
    equal weights give W+S's concatenation. :func:`gate_model` reads the
    weights out;
``"baseline"``
    openSMILE ComParE functionals per label step, standardised with
    training-set statistics (:func:`adapt_standardiser`), then the BLSTMs of
    the fused model.

The layers and their names follow paper-notes.md, "Architecture"; with the
``paper`` preset the models have exactly the parameter counts listed there
(W+S: 4,762,834 at 20 ms, 6,073,554 at 40 ms; the gate adds 1,282 and 2,562
to them). Every model takes a dict of
named inputs (``"waveform"``, ``"spectrogram"``, ``"compare"``) and returns
``"emotion"``, shape ``(batch, label_frames, 2)`` (arousal, valence), linear.

Models are named ``"<variant>_<step>ms_<preset>"`` (for example
``"WS_20ms_paper"``); :func:`describe_model` reads a model (also one loaded
with :func:`load_model`) back into these settings.

Only ``keras.layers`` and ``keras.ops`` are used, so the models also run on
the JAX backend.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import keras
import numpy as np

from . import layers as emo_layers
from . import metrics as emo_metrics
from .config import (
    FRAME_HOP_SECONDS,
    LABEL_STEPS_MS,
    N_MELS,
    SAMPLE_RATE,
    ModelPreset,
    get_preset,
)
from .errors import EmoInputError

__all__ = [
    "VARIANTS",
    "N_COMPARE_FEATURES",
    "variant_inputs",
    "build_model",
    "adapt_standardiser",
    "describe_model",
    "copy_weights",
    "gate_model",
    "load_model",
]

VARIANTS = ("W", "S", "WS", "WSG", "baseline")
"""Model variants: waveform only, spectrogram only, both fused, both with gated fusion, ComParE baseline."""

N_COMPARE_FEATURES = 6373
"""Functionals in the openSMILE ComParE 2016 feature set (the baseline's input width)."""

_LONG_CONV_CHOICES = ("auto", "direct", "fft")
_INPUTS_OF_VARIANT = {
    "W": ("waveform",),
    "S": ("spectrogram",),
    "WS": ("waveform", "spectrogram"),
    "WSG": ("waveform", "spectrogram"),
    "baseline": ("compare",),
}
_NAME_PATTERN = re.compile(r"^(WSG|WS|W|S|baseline)_(\d+)ms_(.+)$")
_GATE_LAYER = "fusion_gate"
_SPECTROGRAM_NORMS = ("none", "conversation", "train")  # emo_lib.features.SPECTROGRAM_NORMS
_PER_CONVERSATION_MARK = "spectrogram_normalised_per_conversation"
_STANDARDISERS = {"compare": "compare_standardise", "spectrogram": "spectrogram_standardise"}


# ----------------------------------------------------------------------------
# Building
# ----------------------------------------------------------------------------


def _check_variant(variant: Any) -> str:
    if not isinstance(variant, str) or variant not in VARIANTS:
        raise EmoInputError(f"unknown model variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return variant


def variant_inputs(variant: str) -> tuple[str, ...]:
    """The data inputs a variant takes, besides ``"frame_mask"``.

    Parameters
    ----------
    variant : {"W", "S", "WS", "WSG", "baseline"}

    Returns
    -------
    tuple of str
        Some of ``"waveform"``, ``"spectrogram"``, ``"compare"``: for example
        ``("waveform", "spectrogram")`` for WS and WSG.

    Raises
    ------
    EmoInputError
        For an unknown variant.
    """
    return _INPUTS_OF_VARIANT[_check_variant(variant)]


def _check_label_step(label_step_ms: Any) -> int:
    if isinstance(label_step_ms, bool) or not isinstance(label_step_ms, (int, float, np.integer,
                                                                          np.floating)):
        raise EmoInputError(f"label step must be 20 or 40 (ms), got {label_step_ms!r}")
    if label_step_ms not in LABEL_STEPS_MS:
        raise EmoInputError(
            f"label step must be one of {', '.join(map(str, LABEL_STEPS_MS))} ms, got {label_step_ms!r}"
        )
    return int(label_step_ms)


def _check_geometry(preset: ModelPreset, variant: str, steps: int) -> None:
    """Raise EmoInputError when the preset's towers cannot be cut into ``steps`` label steps."""
    where = f"preset {preset.name!r}"
    if steps < 1:
        raise EmoInputError(f"{where}: a {preset.segment_seconds} s segment has no label step")
    if "waveform" in _INPUTS_OF_VARIANT[variant]:
        samples = preset.segment_samples
        if samples % preset.wave_pool:
            raise EmoInputError(
                f"{where}: {samples} samples cannot be max-pooled by {preset.wave_pool}"
            )
        pooled = samples // preset.wave_pool
        if pooled % steps:
            raise EmoInputError(
                f"{where}: {pooled} pooled samples do not divide into {steps} label steps"
            )
        if preset.wave_conv2_filters % preset.wave_channel_pool:
            raise EmoInputError(
                f"{where}: {preset.wave_conv2_filters} waveform channels cannot be pooled in "
                f"groups of {preset.wave_channel_pool}"
            )
    if "spectrogram" in _INPUTS_OF_VARIANT[variant]:
        frames = preset.segment_frames
        if frames % steps:
            raise EmoInputError(f"{where}: {frames} frames do not divide into {steps} label steps")
        if N_MELS // preset.spec_pool < 1:
            raise EmoInputError(f"{where}: spectral pool {preset.spec_pool} exceeds {N_MELS} bands")
        if preset.spec_conv2_filters % preset.spec_channel_pool:
            raise EmoInputError(
                f"{where}: {preset.spec_conv2_filters} spectrogram channels cannot be pooled in "
                f"groups of {preset.spec_channel_pool}"
            )


def _waveform_tower(waveform, preset: ModelPreset, steps: int):
    """(batch, samples, 1) -> (batch, steps, samples / pool * channels / steps)."""
    x = keras.layers.Conv1D(
        preset.wave_conv1_filters, preset.wave_conv1_kernel, padding="same", activation="relu",
        name="wave_conv1",
    )(waveform)
    x = keras.layers.MaxPooling1D(preset.wave_pool, name="wave_pool")(x)
    x = keras.layers.Dropout(preset.dropout, name="wave_dropout1")(x)
    x = emo_layers.make_conv1d(
        preset.wave_conv2_filters, preset.wave_conv2_kernel, implementation=preset.long_conv,
        activation="relu", name="wave_conv2",
    )(x)
    x = emo_layers.CrossChannelMaxPool(preset.wave_channel_pool, name="wave_channel_pool")(x)
    x = keras.layers.Dropout(preset.dropout, name="wave_dropout2")(x)
    return keras.layers.Reshape((steps, -1), name="wave_to_steps")(x)


def _spectrogram_tower(spectrogram, preset: ModelPreset, steps: int):
    """(batch, frames, mels, 3) -> (batch, steps, frames * mels / pool * channels / steps)."""
    x = keras.layers.Conv2D(
        preset.spec_conv1_filters, (1, preset.spec_conv1_kernel), padding="same",
        activation="relu", name="spec_conv1",
    )(spectrogram)
    x = keras.layers.MaxPooling2D((1, preset.spec_pool), name="spec_pool")(x)
    x = keras.layers.Dropout(preset.dropout, name="spec_dropout1")(x)
    x = keras.layers.Conv2D(
        preset.spec_conv2_filters, (preset.spec_conv2_kernel, 1), padding="same",
        activation="relu", name="spec_conv2",
    )(x)
    x = emo_layers.CrossChannelMaxPool(preset.spec_channel_pool, name="spec_channel_pool")(x)
    x = keras.layers.Dropout(preset.dropout, name="spec_dropout2")(x)
    return keras.layers.Reshape((steps, -1), name="spec_to_steps")(x)


_LSTM_CHOICES = ("projected", "keras")


def _sequence_head(x, units: int, n_layers: int, frame_mask=None, lstm: str = "projected"):
    """BLSTM layers ``blstm1``, ``blstm2``, ... and the per-step linear ``emotion`` output.

    With ``frame_mask`` (batch, T) the padded steps (mask 0) are masked out of
    the BLSTMs (``frame_masking``); the mask is dropped (``clear_mask``)
    before the output.
    """
    if frame_mask is not None:
        x = emo_layers.FrameMasking(name="frame_masking")([x, frame_mask])
    lstm_class = emo_layers.ProjectedLSTM if lstm == "projected" else keras.layers.LSTM
    for index in range(1, n_layers + 1):
        x = keras.layers.Bidirectional(
            lstm_class(units, return_sequences=True, name=f"blstm{index}_lstm"),
            name=f"blstm{index}",
        )(x)
    if frame_mask is not None:
        x = emo_layers.ClearMask(name="clear_mask")(x)
    return keras.layers.Dense(2, activation=None, name="emotion")(x)


def build_model(variant: str, label_step_ms: int, preset: str | ModelPreset = "paper", *,
                n_features: int = N_COMPARE_FEATURES, long_conv: str | None = None,
                frame_mask: bool = True, spectrogram_norm: str = "none",
                lstm: str | None = None) -> keras.Model:
    """Build one of the paper's models (not compiled).

    Parameters
    ----------
    variant : {"W", "S", "WS", "WSG", "baseline"}
        Waveform only, spectrogram only, both fused, both with gated fusion
        (beyond the paper), or the ComParE baseline.
    label_step_ms : {20, 40}
        Label step: 20 ms (SEMAINE, 300 steps per 6 s) or 40 ms (RECOLA, 150).
    preset : str or ModelPreset
        ``"paper"``, ``"narrow"``, ``"tiny"`` or a preset object.
    n_features : int, keyword-only
        Width of the baseline's ``"compare"`` input (6,373 ComParE functionals);
        ignored by the other variants.
    long_conv : {"auto", "direct", "fft"}, optional, keyword-only
        Overrides ``preset.long_conv``: how the waveform tower's second (long)
        convolution is computed. The three give the same function and weights.
    frame_mask : bool, keyword-only
        Add the ``"frame_mask"`` input ``(batch, label_frames)``, 1 for real
        label steps and 0 for padding, which masks padded steps out of the
        BLSTMs (default). Adds no parameter.
    spectrogram_norm : {"none", "conversation", "train"}, keyword-only
        What the spectrogram input holds
        (:data:`emo_lib.features.SPECTROGRAM_NORMS`): ``"none"`` (the paper)
        adds nothing; ``"conversation"`` adds an identity layer
        ``spectrogram_normalised_per_conversation`` that records it;
        ``"train"`` adds ``spectrogram_standardise``, a Normalization per
        (band, map) set to training-set statistics by
        :func:`adapt_standardiser` (240 non-trainable values and a count:
        241 more parameters). Ignored by the W and baseline variants.
    lstm : {"projected", "keras"}, optional, keyword-only
        Overrides ``preset.lstm``: the LSTM inside each BLSTM,
        :class:`emo_lib.layers.ProjectedLSTM` (the input projection outside
        the recurrence, faster on a CPU) or the stock ``keras.layers.LSTM``.
        Same function, weights and parameter count; weights files move
        between the two.

    Returns
    -------
    keras.Model
        A functional model named ``"<variant>_<step>ms_<preset>"`` taking a
        dict of inputs, each ``(batch, ...)``:

        - ``"waveform"`` : ``(segment_samples, 1)`` (W, WS, WSG), 96,000 for 6 s
        - ``"spectrogram"`` : ``(segment_frames, 40, 3)`` (S, WS, WSG), 600 for 6 s;
          log-mel, delta, delta-delta on the last axis
        - ``"compare"`` : ``(label_frames, n_features)`` (baseline)
        - ``"frame_mask"`` : ``(label_frames,)`` (with ``frame_mask=True``)

        and returning ``"emotion"`` of shape ``(batch, label_frames, 2)``
        (arousal, valence; linear).

    Raises
    ------
    EmoInputError
        For an unknown variant, preset or long-convolution choice, a label
        step other than 20 or 40 ms, a non-positive ``n_features``, or a preset
        whose towers do not cut into whole label steps.

    Notes
    -----
    Waveform tower: ``wave_conv1`` Conv1D(40, 80, same, ReLU) -> ``wave_pool``
    MaxPool1D(2) -> ``wave_dropout1`` -> ``wave_conv2`` (40, 800, same, ReLU;
    :func:`emo_lib.layers.make_conv1d`) -> ``wave_channel_pool``
    CrossChannelMaxPool(20) -> ``wave_dropout2`` -> ``wave_to_steps``
    Reshape((T, -1)): (T, 320) at 20 ms. Spectrogram tower: ``spec_conv1``
    Conv2D(80, (1, 10)) along mel -> ``spec_pool`` MaxPool2D((1, 2)) ->
    ``spec_dropout1`` -> ``spec_conv2`` Conv2D(80, (10, 1)) along time ->
    ``spec_channel_pool`` CrossChannelMaxPool(10) -> ``spec_dropout2`` ->
    ``spec_to_steps``: (T, 320) at 20 ms. ``fusion`` concatenates the two
    per step. Then ``blstm1``, ``blstm2`` (Bidirectional LSTM, sequences) and
    ``emotion`` Dense(2) on every step. The numbers are the paper preset's.

    WSG: ``gate_features`` concatenates the two towers' steps, ``fusion_gate``
    Dense(2, softmax; zero-initialised, so that an untrained model is exactly
    the W+S model) gives ``(g_w, g_s)`` per step, (T, 2), and ``fusion``
    (:class:`emo_lib.layers.GatedFusion`) returns ``concat(2 g_w x_w, 2 g_s
    x_s)``, (T, 640) at 20 ms; the rest is W+S's. The gate adds
    ``640 * 2 + 2`` parameters at 20 ms (4,764,116 in all) and ``1280 * 2 +
    2`` at 40 ms (6,076,116).

    Examples
    --------
    >>> model = build_model("WS", 20)                    # doctest: +SKIP
    >>> model.count_params()                             # doctest: +SKIP
    4762834
    """
    variant = _check_variant(variant)
    step = _check_label_step(label_step_ms)
    preset = get_preset(preset)
    if long_conv is not None:
        if long_conv not in _LONG_CONV_CHOICES:
            raise EmoInputError(
                f"unknown long convolution {long_conv!r}; choose one of {', '.join(_LONG_CONV_CHOICES)}"
            )
        preset = preset.replace(long_conv=long_conv)
    if preset.long_conv not in _LONG_CONV_CHOICES:
        raise EmoInputError(f"preset {preset.name!r}: unknown long convolution {preset.long_conv!r}")
    if spectrogram_norm not in _SPECTROGRAM_NORMS:
        raise EmoInputError(
            f"unknown spectrogram normalisation {spectrogram_norm!r}; "
            f"choose one of {', '.join(_SPECTROGRAM_NORMS)}"
        )
    if lstm is not None:
        preset = preset.replace(lstm=lstm)
    if preset.lstm not in _LSTM_CHOICES:
        raise EmoInputError(f"unknown LSTM {preset.lstm!r}; choose one of {', '.join(_LSTM_CHOICES)}")
    steps = preset.label_frames(step)
    _check_geometry(preset, variant, steps)
    name = f"{variant}_{step}ms_{preset.name}"
    inputs: dict[str, Any] = {}
    mask = keras.Input((steps,), name="frame_mask") if frame_mask else None

    if variant == "baseline":
        if isinstance(n_features, bool) or not isinstance(n_features, (int, np.integer)) \
                or n_features < 1:
            raise EmoInputError(f"n_features must be a positive integer, got {n_features!r}")
        inputs["compare"] = keras.Input((steps, int(n_features)), name="compare")
        x = keras.layers.Normalization(axis=-1, name="compare_standardise")(inputs["compare"])
        units = preset.lstm_units_fused
    else:
        streams = []
        if "waveform" in _INPUTS_OF_VARIANT[variant]:
            inputs["waveform"] = keras.Input((preset.segment_samples, 1), name="waveform")
            streams.append(_waveform_tower(inputs["waveform"], preset, steps))
        if "spectrogram" in _INPUTS_OF_VARIANT[variant]:
            inputs["spectrogram"] = keras.Input((preset.segment_frames, N_MELS, 3), name="spectrogram")
            spectrogram = inputs["spectrogram"]
            if spectrogram_norm == "train":
                spectrogram = keras.layers.Normalization(
                    axis=(-2, -1), name="spectrogram_standardise")(spectrogram)
            elif spectrogram_norm == "conversation":
                spectrogram = keras.layers.Identity(name=_PER_CONVERSATION_MARK)(spectrogram)
            streams.append(_spectrogram_tower(spectrogram, preset, steps))
        if variant == "WSG":
            both = keras.layers.Concatenate(axis=-1, name="gate_features")(streams)
            # Zero weights: the gate starts at (0.5, 0.5) everywhere, i.e. as the W+S model, and
            # moves away from it only where the training data ask for it.
            gate = keras.layers.Dense(2, activation="softmax", kernel_initializer="zeros",
                                      name=_GATE_LAYER)(both)
            x = emo_layers.GatedFusion(name="fusion")([*streams, gate])
            units = preset.lstm_units_fused
        elif len(streams) == 2:
            x = keras.layers.Concatenate(axis=-1, name="fusion")(streams)
            units = preset.lstm_units_fused
        else:
            x = streams[0]
            units = preset.lstm_units_single
    if mask is not None:
        inputs["frame_mask"] = mask
    output = _sequence_head(x, units, preset.lstm_layers, frame_mask=mask, lstm=preset.lstm)
    return keras.Model(inputs, output, name=name)


# ----------------------------------------------------------------------------
# The baseline's standardisation
# ----------------------------------------------------------------------------


def _merge_moments(state, rows: np.ndarray):
    """Chan et al.'s parallel update of (count, mean, M2) with a block of rows, in float64."""
    count, mean, m2 = state
    n = rows.shape[0]
    if n == 0:
        return state
    block_mean = rows.mean(axis=0)
    block_m2 = np.square(rows - block_mean).sum(axis=0)
    total = count + n
    delta = block_mean - mean
    mean = mean + delta * (n / total)
    m2 = m2 + block_m2 + np.square(delta) * (count * n / total)
    return total, mean, m2


def adapt_standardiser(model: keras.Model, features, mask=None, *, input_name: str = "compare",
                       chunk_size: int = 64) -> dict:
    """Set a model's input standardiser to training-set statistics.

    The baseline's ``compare_standardise`` (one mean and variance per ComParE
    functional) and the ``spectrogram_standardise`` of models built with
    ``spectrogram_norm="train"`` (one per mel band and map) are Keras
    ``Normalization`` layers whose statistics are saved with the model. The
    mean and the population variance (1/N) are computed in float64 over the
    frames whose mask is 1, streaming over chunks (Chan et al.'s pairwise
    update), so that a memory-mapped array, or a generator of batches, is
    never held in memory whole. A feature with zero variance is divided by
    Keras's epsilon (1e-7) rather than by 0.

    Parameters
    ----------
    model : keras.Model
        A model from :func:`build_model` with the standardiser of ``input_name``.
    features : array_like [shape=(n, T, *feature_shape)] or iterable of (array, mask)
        Training inputs: the baseline's ``(n, T, 6373)`` ComParE features or a
        spectrogram model's ``(n, F, 40, 3)`` spectrograms; or an iterable
        yielding ``(block, block_mask)`` pairs of such blocks and their
        ``(m, T)`` masks (then ``mask`` must be None).
    mask : array_like [shape=(n, T)], optional
        1 for frames to use, 0 for padding; all frames when omitted.
    input_name : {"compare", "spectrogram"}, keyword-only
        Which input's standardiser to set.
    chunk_size : int, keyword-only
        Segments read at a time from an array.

    Returns
    -------
    dict
        ``{"mean": feature_shape float64, "variance": feature_shape float64,
        "count": int}``, the statistics written (the layer stores float32).

    Raises
    ------
    EmoInputError
        When the model has no such standardiser, the shapes do not match the
        model, the mask is not 0/1, fewer than two frames are selected, or a
        selected value is not finite.
    """
    layer_name = _STANDARDISERS.get(input_name)
    try:
        if layer_name is None:
            raise ValueError(input_name)
        layer = model.get_layer(layer_name)
    except (ValueError, AttributeError):
        raise EmoInputError(
            f"model {getattr(model, 'name', model)!r} has no {layer_name or input_name} layer "
            "(only baseline models and spectrogram models built with spectrogram_norm='train' "
            "are standardised)"
        ) from None
    feature_shape = tuple(int(d) for d in layer.adapt_mean.shape)  # (6373,) or (40, 3)

    def blocks():
        if mask is None and not hasattr(features, "shape") and not isinstance(features, (list, np.ndarray)):
            yield from features
            return
        shape = np.shape(features)
        if len(shape) != 2 + len(feature_shape) or tuple(shape[2:]) != feature_shape:
            raise EmoInputError(
                f"features must have shape (n, T, {', '.join(map(str, feature_shape))}), got {shape}"
            )
        n, steps = shape[:2]
        full = np.ones((n, steps), dtype=bool) if mask is None else np.asarray(mask)
        if full.shape != (n, steps):
            raise EmoInputError(f"mask must have shape ({n}, {steps}), got {full.shape}")
        for start in range(0, n, max(1, int(chunk_size))):
            yield features[start:start + chunk_size], full[start:start + chunk_size]

    state = (0, np.zeros(feature_shape), np.zeros(feature_shape))
    for position, (block, block_mask) in enumerate(blocks()):
        block = np.asarray(block, dtype=np.float64)
        block_mask = np.asarray(block_mask)
        if block.shape[2:] != feature_shape or block_mask.shape != block.shape[:2]:
            raise EmoInputError(
                f"block {position}: features {block.shape} and mask {block_mask.shape} do not fit "
                f"(n, T, {', '.join(map(str, feature_shape))}) and (n, T)"
            )
        if not np.all((block_mask == 0) | (block_mask == 1)):
            raise EmoInputError("mask values must be 0 or 1")
        rows = block[block_mask.astype(bool)]
        if not np.all(np.isfinite(rows)):
            raise EmoInputError(f"features contain non-finite values (block {position})")
        state = _merge_moments(state, rows.reshape(-1, *feature_shape))
    count, mean, m2 = state
    if count < 2:
        raise EmoInputError(f"need at least 2 unmasked frames to standardise, got {count}")
    variance = m2 / count

    layer.adapt_mean.assign(mean.reshape(layer.adapt_mean.shape).astype(np.float32))
    layer.adapt_variance.assign(variance.reshape(layer.adapt_variance.shape).astype(np.float32))
    layer.count.assign(count)
    layer.finalize_state()
    return {"mean": mean, "variance": variance, "count": int(count)}


# ----------------------------------------------------------------------------
# Reading a model back
# ----------------------------------------------------------------------------


def _not_ours(model, why: str) -> EmoInputError:
    return EmoInputError(f"model {getattr(model, 'name', '?')!r} is not an emo_lib model: {why}")


def _has_layer(model: keras.Model, name: str) -> bool:
    return any(layer.name == name for layer in model.layers)


def describe_model(model: keras.Model) -> dict:
    """Read the variant and segment geometry of a model from its inputs and output.

    Parameters
    ----------
    model : keras.Model
        A model from :func:`build_model` or :func:`load_model`.

    Returns
    -------
    dict
        ``variant`` ("W", "S", "WS", "WSG", "baseline"), ``label_step_ms`` (20 or 40),
        ``segment_seconds`` (float), ``label_frames`` (int, T), ``preset``
        (the preset name from the model name, or None when the name does not
        follow ``"<variant>_<step>ms_<preset>"`` or disagrees with the shapes),
        ``frame_mask`` (whether the model takes the ``"frame_mask"`` input),
        ``spectrogram_norm`` (what its spectrogram input holds: ``"none"``,
        ``"conversation"`` or ``"train"``; None without a spectrogram input).

    Raises
    ------
    EmoInputError
        For a model whose inputs, output or shapes are not those of one of the
        five variants.

    Notes
    -----
    The waveform's length (samples at 16 kHz) or the spectrogram's (frames of
    10 ms) gives the segment length, and with the output's T the label step.
    The baseline's input carries no segment length: its label step is read
    from the model name, or, for a model named otherwise, assumed from 6 s
    segments (all presets use 6 s). WS and WSG take the same inputs: a model
    with a layer named ``fusion_gate`` is WSG.
    """
    if not isinstance(model, keras.Model):
        raise EmoInputError(f"expected a keras.Model, got {type(model).__name__}")
    try:
        input_names = tuple(tensor.name for tensor in model.inputs)
        output_names = tuple(model.output_names)
    except (AttributeError, TypeError, ValueError):
        raise _not_ours(model, "not a functional model") from None
    data_inputs = set(input_names) - {"frame_mask"}
    variant = next(
        (name for name, wanted in _INPUTS_OF_VARIANT.items() if name != "WSG" and set(wanted) == data_inputs),
        None,
    )
    if variant is None or len(input_names) != len(set(input_names)):
        raise _not_ours(model, f"inputs {list(input_names)}")
    if variant == "WS" and _has_layer(model, _GATE_LAYER):
        variant = "WSG"
    if output_names != ("emotion",):
        raise _not_ours(model, f"outputs {list(output_names)}, expected ['emotion']")
    output_shape = tuple(model.outputs[0].shape)
    if len(output_shape) != 3 or output_shape[2] != 2 or not output_shape[1]:
        raise _not_ours(model, f"output shape {output_shape}, expected (batch, T, 2)")
    steps = int(output_shape[1])
    shapes = {tensor.name: tuple(tensor.shape)[1:] for tensor in model.inputs}

    segment_seconds = []
    if "waveform" in shapes:
        shape = shapes["waveform"]
        if len(shape) != 2 or shape[1] != 1 or not shape[0]:
            raise _not_ours(model, f"waveform input {shape}, expected (samples, 1)")
        segment_seconds.append(shape[0] / SAMPLE_RATE)
    if "spectrogram" in shapes:
        shape = shapes["spectrogram"]
        if len(shape) != 3 or shape[1:] != (N_MELS, 3) or not shape[0]:
            raise _not_ours(model, f"spectrogram input {shape}, expected (frames, {N_MELS}, 3)")
        segment_seconds.append(round(shape[0] * FRAME_HOP_SECONDS, 6))
    if "compare" in shapes:
        shape = shapes["compare"]
        if len(shape) != 2 or shape[0] != steps or not shape[1]:
            raise _not_ours(model, f"compare input {shape}, expected ({steps}, n_features)")
    if "frame_mask" in shapes and shapes["frame_mask"] != (steps,):
        raise _not_ours(model, f"frame_mask input {shapes['frame_mask']}, expected ({steps},)")

    match = _NAME_PATTERN.match(model.name or "")
    named_step = int(match.group(2)) if match else None
    if segment_seconds:
        if len(segment_seconds) == 2 and not np.isclose(*segment_seconds):
            raise _not_ours(
                model, f"waveform ({segment_seconds[0]} s) and spectrogram ({segment_seconds[1]} s) "
                "segments differ"
            )
        seconds = float(segment_seconds[0])
        step = seconds * 1000 / steps
    else:
        step = named_step if named_step is not None else 6000 / steps
        seconds = step * steps / 1000
    if not any(np.isclose(step, allowed) for allowed in LABEL_STEPS_MS):
        raise _not_ours(model, f"{steps} label steps in {seconds} s is not a 20 or 40 ms step")
    step = int(round(step))
    preset = None
    if match and match.group(1) == variant and named_step == step:
        preset = match.group(3)
    spectrogram_norm = None
    if "spectrogram" in shapes:
        names = {layer.name for layer in model.layers}
        spectrogram_norm = ("train" if _STANDARDISERS["spectrogram"] in names
                            else "conversation" if _PER_CONVERSATION_MARK in names else "none")
    return {
        "variant": variant,
        "label_step_ms": step,
        "segment_seconds": seconds,
        "label_frames": steps,
        "preset": preset,
        "frame_mask": "frame_mask" in shapes,
        "spectrogram_norm": spectrogram_norm,
    }


def copy_weights(source: keras.Model, target: keras.Model) -> list[str]:
    """Copy every layer's weights from one model into another, matching layers by name.

    The models of :func:`build_model` name every layer with weights
    (``wave_conv1``, ``wave_conv2``, ``spec_conv1``, ``blstm1``, ...), whatever
    computes them: a model trained with the FFT long convolution gives its
    weights to the same model built with ``long_conv="direct"`` and the other
    way round (the two compute the same function of the same weights). A
    standardiser (``spectrogram_standardise``, ``compare_standardise``) takes
    the source's statistics, and uses them at once.

    Parameters
    ----------
    source, target : keras.Model
        Built models; ``target`` is changed in place.

    Returns
    -------
    list of str
        The names of the layers whose weights were copied.

    Raises
    ------
    EmoInputError
        When a layer of ``target`` with weights has no layer of the same name
        in ``source``, or their weights differ in number or shape (for example
        models of two presets).
    """
    copied = []
    for layer in target.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        try:
            other = source.get_layer(layer.name)
        except ValueError:
            raise EmoInputError(f"model {source.name!r} has no layer {layer.name!r} to copy weights from") from None
        values = other.get_weights()
        shapes = [w.shape for w in weights]
        if [v.shape for v in values] != shapes:
            raise EmoInputError(f"layer {layer.name!r}: weights of shapes {[v.shape for v in values]} in "
                                f"{source.name!r} do not fit {shapes} in {target.name!r}")
        layer.set_weights(values)
        if isinstance(layer, keras.layers.Normalization):
            layer.finalize_state()  # the mean and variance it divides by are derived from its weights
        copied.append(layer.name)
    return copied


def gate_model(model: keras.Model) -> keras.Model:
    """A model that returns a gated model's fusion weights instead of its predictions.

    Parameters
    ----------
    model : keras.Model
        A WSG model (:func:`build_model` or :func:`load_model`), trained or not.

    Returns
    -------
    keras.Model
        Named ``"<model name>_gates"``, taking the same inputs as ``model``
        (the same dict: ``"waveform"``, ``"spectrogram"``, ``"frame_mask"``
        when it has one) and sharing its layers and weights; its output is
        the ``fusion_gate`` tensor, shape ``(batch, T, 2)``: the weights
        ``(g_w, g_s)`` of the waveform and spectrogram towers at each label
        step, which sum to 1. The frame mask does not reach the gate: padded
        steps have gates too, to be ignored.

    Raises
    ------
    EmoInputError
        For a model without a ``fusion_gate`` layer (any variant but WSG).

    See Also
    --------
    emo_lib.training.predict_gates : the gates of every segment of a set.
    emo_lib.prediction.predict_audio_gates : the gates over a whole recording.
    """
    if not isinstance(model, keras.Model):
        raise EmoInputError(f"expected a keras.Model, got {type(model).__name__}")
    if not _has_layer(model, _GATE_LAYER):
        raise EmoInputError(
            f"model {model.name!r} has no {_GATE_LAYER} layer: only W+S gated (WSG) models have fusion gates"
        )
    return keras.Model(model.input, model.get_layer(_GATE_LAYER).output, name=f"{model.name}_gates")


def _custom_objects() -> dict:
    """The project's layers, loss and metrics, by class or function name."""
    objects = {}
    for module in (emo_layers, emo_metrics):
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, type) or name == "ccc_loss":
                objects[name] = value
    return objects


def load_model(path: str | Path, *, compile: bool = True) -> keras.Model:
    """Load a model saved with ``model.save("....keras")``.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.keras`` file.
    compile : bool, keyword-only
        Restore the loss, metrics and optimiser state too (for resuming
        training); ``False`` is enough for prediction.

    Returns
    -------
    keras.Model
        The model, checked with :func:`describe_model`.

    Raises
    ------
    EmoInputError
        For a missing file, a file that is not a ``.keras`` archive, one Keras
        cannot load, or a model that is not one of :data:`VARIANTS`; the
        message starts with the path.
    """
    path = Path(path)
    if not path.exists():
        raise EmoInputError("no such model file", path=path)
    if not path.is_file():
        raise EmoInputError("not a file (expected a .keras model)", path=path)
    if path.suffix != ".keras":
        raise EmoInputError(f"not a .keras model file (extension {path.suffix or 'none'!r})",
                            path=path)
    if not zipfile.is_zipfile(path):
        raise EmoInputError("not a .keras model (not a zip archive)", path=path)
    try:
        model = keras.saving.load_model(path, custom_objects=_custom_objects(), compile=compile)
    except Exception as error:  # Keras raises many types for a damaged archive
        raise EmoInputError(f"cannot load the model: {type(error).__name__}: {error}",
                            path=path) from error
    try:
        describe_model(model)
    except EmoInputError as error:
        raise EmoInputError(error.reason, path=path) from None
    return model
