"""Tests of emo_lib.layers: the FFT long convolution against Conv1D, the block plan,
cross-channel max pooling, serialisation, and weights moving between implementations.

The reference for :class:`FFTConv1D` is ``keras.layers.Conv1D(padding="same")``
holding the same weights (and, for one small case, the cross-correlation
formula in NumPy). Outputs and gradients (input, kernel, bias) must agree to
1e-4 of the reference's largest magnitude.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from numpy.lib.stride_tricks import sliding_window_view

from emo_lib.errors import EmoInputError
from emo_lib.layers import (
    FFT_MIN_KERNEL,
    CrossChannelMaxPool,
    FFTConv1D,
    GatedFusion,
    ProjectedLSTM,
    fft_block_plan,
    make_conv1d,
)

TOLERANCE = 1e-4


def relative_error(value, reference):
    """Largest absolute difference over the reference's largest magnitude."""
    value, reference = np.asarray(value, np.float64), np.asarray(reference, np.float64)
    return float(np.max(np.abs(value - reference)) / np.max(np.abs(reference)))


def conv_same_numpy(x, kernel, bias):
    """Keras 'same' Conv1D by its formula: x (B, L, C_in), kernel (k, C_in, C_out)."""
    k = kernel.shape[0]
    padded = np.pad(x, [(0, 0), ((k - 1) // 2, k // 2), (0, 0)])
    windows = sliding_window_view(padded, k, axis=1)  # (B, L, C_in, k)
    return np.einsum("blcj,jco->blo", windows, kernel) + bias


def paired_layers(steps, in_channels, filters, kernel_size, seed=0, **fft_kwargs):
    """An FFTConv1D and a Conv1D holding the same random weights."""
    rng = np.random.default_rng(seed)
    fft = FFTConv1D(filters, kernel_size, **fft_kwargs)
    direct = keras.layers.Conv1D(filters, kernel_size, padding="same",
                                 activation=fft_kwargs.get("activation"))
    fft.build((None, steps, in_channels))
    direct.build((None, steps, in_channels))
    weights = [rng.normal(size=(kernel_size, in_channels, filters)).astype("float32"),
               rng.normal(size=filters).astype("float32")]
    fft.set_weights(weights)
    direct.set_weights(weights)
    return fft, direct


def outputs_and_gradients(layer, x, cotangent, jit=False):
    """Output and the gradients of sum(output * cotangent) w.r.t. input, kernel, bias."""

    def run():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * cotangent)
        return [y, *tape.gradient(loss, [x, layer.kernel, layer.bias])]

    return [np.asarray(t) for t in tf.function(run, jit_compile=jit)()]


def assert_same_function(fft, direct, batch, steps, in_channels, seed=1, jit_direct=False):
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.normal(size=(batch, steps, in_channels)).astype("float32"))
    cotangent = tf.constant(rng.normal(size=(batch, steps, fft.filters)).astype("float32"))
    got = outputs_and_gradients(fft, x, cotangent)
    want = outputs_and_gradients(direct, x, cotangent, jit=jit_direct)
    for what, value, reference in zip(("output", "d/input", "d/kernel", "d/bias"), got, want):
        assert value.shape == reference.shape, what
        error = relative_error(value, reference)
        assert error < TOLERANCE, f"{what}: relative error {error:.2e}"


# ----------------------------------------------------------------------------
# The block plan
# ----------------------------------------------------------------------------


def test_block_plan_paper_shapes():
    # 4096-point FFTs, 3200 samples per block (a divisor of 48,000: no padding).
    assert fft_block_plan(48_000, 800) == {"fft_length": 4096, "hop": 3200, "blocks": 15,
                                           "pieces": 2}


def test_block_plan_whole_signal_in_one_block():
    plan = fft_block_plan(100, 300)
    assert plan == {"fft_length": 512, "hop": 100, "blocks": 1, "pieces": 4}


def test_block_plan_explicit_block_size_and_unknown_length():
    plan = fft_block_plan(None, 40, block_size=64)
    assert plan == {"fft_length": 64, "hop": 25, "blocks": -1, "pieces": 3}
    # Every block's output (hop + kernel - 1 samples) fits in its FFT.
    for steps, kernel, block in [(1001, 37, "auto"), (997, 16, 64), (48_000, 200, "auto"),
                                 (5, 5, "auto"), (96_000, 80, 1024)]:
        plan = fft_block_plan(steps, kernel, block)
        assert plan["hop"] + kernel - 1 <= plan["fft_length"]
        assert plan["blocks"] * plan["hop"] >= steps > (plan["blocks"] - 1) * plan["hop"]


def test_block_size_shorter_than_kernel_is_refused():
    with pytest.raises(EmoInputError, match="shorter than the kernel"):
        fft_block_plan(1000, 100, block_size=64)
    with pytest.raises(EmoInputError, match="at least one step"):
        fft_block_plan(0, 3)
    with pytest.raises(EmoInputError, match="block_size"):
        FFTConv1D(4, 100, block_size=64)
    with pytest.raises(EmoInputError, match="block_size"):
        FFTConv1D(4, 10, block_size="large")


@pytest.mark.parametrize("kwargs,match", [
    ({"filters": 0, "kernel_size": 3}, "filters"),
    ({"filters": 2, "kernel_size": 0}, "kernel_size"),
    ({"filters": 2, "kernel_size": (3, 3)}, "kernel_size"),
])
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(EmoInputError, match=match):
        FFTConv1D(**kwargs)


def test_unknown_input_channels_are_refused():
    with pytest.raises(EmoInputError, match="input channels"):
        FFTConv1D(2, 3).build((None, 100, None))


# ----------------------------------------------------------------------------
# FFTConv1D computes Conv1D(padding="same")
# ----------------------------------------------------------------------------


def test_matches_the_formula():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 57, 3)).astype("float32")
    layer = FFTConv1D(4, 10, block_size=32)  # even kernel, several ragged blocks
    layer.build(x.shape)
    kernel = rng.normal(size=(10, 3, 4)).astype("float32")
    bias = rng.normal(size=4).astype("float32")
    layer.set_weights([kernel, bias])
    want = conv_same_numpy(x.astype(np.float64), kernel.astype(np.float64), bias)
    assert relative_error(layer(x), want) < 1e-5


@pytest.mark.parametrize("batch,steps,in_channels,filters,kernel,block", [
    (2, 1001, 3, 5, 37, "auto"),   # odd length, odd kernel, in != out
    (2, 1000, 4, 3, 36, "auto"),   # even kernel
    (1, 50, 2, 3, 1, "auto"),      # kernel 1
    (1, 100, 2, 2, 300, "auto"),   # kernel longer than the signal
    (1, 64, 3, 2, 64, "auto"),     # kernel as long as the signal
    (2, 997, 3, 2, 16, 64),        # many small ragged blocks
    (1, 1000, 3, 2, 40, 64),       # a block's output spans three hops
    (1, 3000, 2, 2, 33, 128),      # hop 75: the largest divisor of 3000 below 96
])
def test_matches_conv1d(batch, steps, in_channels, filters, kernel, block):
    fft, direct = paired_layers(steps, in_channels, filters, kernel, block_size=block)
    assert_same_function(fft, direct, batch, steps, in_channels)


def test_matches_conv1d_at_paper_shapes():
    # The paper's wave_conv2: 48,000 steps, 40 -> 40 channels, 800 taps, ReLU.
    # The direct gradient runs under XLA (without it, it takes minutes on a CPU).
    fft, direct = paired_layers(48_000, 40, 40, 800, activation="relu")
    assert_same_function(fft, direct, 1, 48_000, 40, jit_direct=True)


def test_matches_conv1d_under_xla():
    fft, direct = paired_layers(700, 3, 4, 45)
    rng = np.random.default_rng(5)
    x = tf.constant(rng.normal(size=(2, 700, 3)).astype("float32"))
    cotangent = tf.constant(rng.normal(size=(2, 700, 4)).astype("float32"))
    got = outputs_and_gradients(fft, x, cotangent, jit=True)
    want = outputs_and_gradients(direct, x, cotangent)
    for value, reference in zip(got, want):
        assert relative_error(value, reference) < TOLERANCE


def test_unknown_length_in_a_functional_model():
    fft, direct = paired_layers(None, 3, 2, 25)
    inputs = keras.Input((None, 3))
    model_fft = keras.Model(inputs, fft(inputs))
    model_direct = keras.Model(inputs, direct(inputs))
    assert tuple(model_fft.output.shape) == (None, None, 2)
    rng = np.random.default_rng(2)
    for steps in (30, 517):
        x = rng.normal(size=(2, steps, 3)).astype("float32")
        got = model_fft.predict_on_batch(x)
        assert got.shape == (2, steps, 2)
        assert relative_error(got, model_direct.predict_on_batch(x)) < TOLERANCE


def test_activation_and_no_bias():
    layer = FFTConv1D(3, 5, activation="relu", use_bias=False)
    x = np.random.default_rng(0).normal(size=(1, 40, 2)).astype("float32")
    y = np.asarray(layer(x))
    assert [w.path.split("/")[-1] for w in layer.weights] == ["kernel"]
    assert y.min() == 0.0 and y.max() > 0.0
    want = np.maximum(conv_same_numpy(x, np.asarray(layer.kernel), 0.0), 0.0)
    assert relative_error(y, want) < 1e-5


def test_lower_precision_inputs():
    layer = FFTConv1D(3, 9, dtype="mixed_float16")
    x = np.random.default_rng(0).normal(size=(1, 100, 2)).astype("float32")
    y = layer(x)
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    want = conv_same_numpy(x, np.asarray(layer.kernel), np.asarray(layer.bias))
    assert relative_error(y, want) < 2e-3


# ----------------------------------------------------------------------------
# Weights: names, shapes, initialisers, moving between implementations
# ----------------------------------------------------------------------------


def test_weights_named_and_shaped_as_conv1d():
    fft = FFTConv1D(6, 11, name="long")
    direct = keras.layers.Conv1D(6, 11, padding="same", name="long")
    fft.build((None, 200, 4))
    direct.build((None, 200, 4))
    assert [(w.path, w.shape) for w in fft.weights] == [(w.path, w.shape) for w in direct.weights]
    assert np.all(np.asarray(fft.bias) == 0)
    # Glorot uniform: limit sqrt(6 / (fan_in + fan_out)) with fans 11*4 and 11*6.
    limit = np.sqrt(6 / (11 * 4 + 11 * 6))
    kernel = np.asarray(fft.kernel)
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit


def test_set_weights_both_ways():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 300, 3)).astype("float32")
    fft, direct = FFTConv1D(2, 21), keras.layers.Conv1D(2, 21, padding="same")
    fft(x), direct(x)
    fft.set_weights(direct.get_weights())
    assert relative_error(fft(x), direct(x)) < TOLERANCE
    direct2 = keras.layers.Conv1D(2, 21, padding="same")
    direct2(x)
    fft2 = FFTConv1D(2, 21)
    fft2(x)
    direct2.set_weights(fft2.get_weights())
    assert relative_error(fft2(x), direct2(x)) < TOLERANCE


@pytest.mark.parametrize("source,target", [("direct", "fft"), ("fft", "direct")])
def test_model_takes_the_other_implementations_weights(tmp_path, source, target):
    from emo_lib.models import build_model, copy_weights, load_model

    keras.utils.set_random_seed(7)
    model_a = build_model("W", 20, "tiny", long_conv=source)
    keras.utils.set_random_seed(8)
    model_b = build_model("W", 20, "tiny", long_conv=target)
    kinds = {type(m.get_layer("wave_conv2")) for m in (model_a, model_b)}
    assert kinds == {FFTConv1D, keras.layers.Conv1D}
    model_a.save(tmp_path / "a.keras")
    loaded = load_model(tmp_path / "a.keras", compile=False)
    assert type(loaded.get_layer("wave_conv2")) is type(model_a.get_layer("wave_conv2"))  # no disguise
    copied = copy_weights(loaded, model_b)
    assert {"wave_conv1", "wave_conv2", "blstm1", "blstm2", "emotion"} <= set(copied)
    for a, b in zip(model_a.weights, model_b.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    x = {"waveform": np.random.default_rng(0).normal(size=(2, 96_000, 1)).astype("float32"),
         "frame_mask": np.ones((2, 300), "float32")}
    assert relative_error(model_b.predict_on_batch(x), model_a.predict_on_batch(x)) < TOLERANCE
    with pytest.raises(EmoInputError, match=r"layer 'wave_conv1': weights of shapes .* do not fit"):
        copy_weights(build_model("W", 20, "narrow"), model_b)  # another preset: shapes differ


# ----------------------------------------------------------------------------
# Serialisation
# ----------------------------------------------------------------------------


def test_config_round_trip():
    layer = FFTConv1D(5, 17, activation="relu", use_bias=False, block_size=128,
                      kernel_initializer="he_normal", name="conv")
    config = layer.get_config()
    assert config["block_size"] == 128 and config["kernel_size"] == 17
    clone = FFTConv1D.from_config(config)
    assert clone.get_config() == config
    # A Conv1D's config (kernel_size as a 1-tuple) also works.
    conv_config = keras.layers.Conv1D(5, 17).get_config()
    assert FFTConv1D(conv_config["filters"], conv_config["kernel_size"]).kernel_size == 17


def test_saved_model_file_round_trip(tmp_path):
    inputs = keras.Input((500, 3))
    x = FFTConv1D(4, 31, activation="relu", name="long")(inputs)
    outputs = CrossChannelMaxPool(2, name="maxout")(x)
    model = keras.Model(inputs, outputs)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.get_layer("long"), FFTConv1D)
    assert isinstance(loaded.get_layer("maxout"), CrossChannelMaxPool)
    x = np.random.default_rng(0).normal(size=(2, 500, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict_on_batch(x), model.predict_on_batch(x), rtol=0,
                               atol=1e-6)


# ----------------------------------------------------------------------------
# make_conv1d
# ----------------------------------------------------------------------------


def test_make_conv1d_choices():
    direct = make_conv1d(8, 800, implementation="direct", name="a")
    assert type(direct) is keras.layers.Conv1D and direct.padding == "same"
    fft = make_conv1d(8, 5, implementation="fft", activation=None, name="b")
    assert isinstance(fft, FFTConv1D) and fft.name == "b"
    assert fft.get_config()["activation"] == "linear"
    assert isinstance(make_conv1d(8, FFT_MIN_KERNEL, implementation="auto"), FFTConv1D)
    assert isinstance(make_conv1d(8, 800, implementation="auto"), FFTConv1D)
    assert type(make_conv1d(8, FFT_MIN_KERNEL - 1, implementation="auto")) is keras.layers.Conv1D
    relu = make_conv1d(8, 5, implementation="fft")
    assert relu.get_config()["activation"] == "relu"
    with pytest.raises(EmoInputError, match="implementation"):
        make_conv1d(8, 5, implementation="winograd")


# ----------------------------------------------------------------------------
# CrossChannelMaxPool
# ----------------------------------------------------------------------------


def test_cross_channel_max_pool_against_numpy():
    x = np.random.default_rng(0).normal(size=(2, 7, 5, 12)).astype("float32")
    y = np.asarray(CrossChannelMaxPool(4)(x))
    want = np.stack([x[..., j * 4:(j + 1) * 4].max(axis=-1) for j in range(3)], axis=-1)
    np.testing.assert_array_equal(y, want)
    assert CrossChannelMaxPool(3).compute_output_shape((None, 7, 12)) == (None, 7, 4)


def test_cross_channel_max_pool_bad_sizes():
    with pytest.raises(EmoInputError, match="pool_size"):
        CrossChannelMaxPool(0)
    with pytest.raises(EmoInputError, match="cannot be pooled"):
        CrossChannelMaxPool(5)(np.zeros((1, 3, 12), "float32"))
    layer = CrossChannelMaxPool(6, name="pool")
    assert CrossChannelMaxPool.from_config(layer.get_config()).pool_size == 6


# ----------------------------------------------------------------------------
# GatedFusion
# ----------------------------------------------------------------------------


def test_gated_fusion_against_numpy():
    rng = np.random.default_rng(4)
    waveform = rng.normal(size=(2, 6, 3)).astype("float32")
    spectrogram = rng.normal(size=(2, 6, 5)).astype("float32")
    logits = rng.normal(size=(2, 6, 2)) * 2
    gate = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype("float32")
    got = np.asarray(GatedFusion()([waveform, spectrogram, gate]))
    want = np.concatenate([2 * gate[..., :1] * waveform, 2 * gate[..., 1:] * spectrogram], axis=-1)
    assert got.shape == (2, 6, 8)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # Equal gates give the plain concatenation; a gate of (1, 0) doubles one tower and drops the other.
    half = np.full((2, 6, 2), 0.5, "float32")
    np.testing.assert_allclose(np.asarray(GatedFusion()([waveform, spectrogram, half])),
                               np.concatenate([waveform, spectrogram], -1), rtol=1e-6)
    one_sided = np.stack([np.ones((2, 6)), np.zeros((2, 6))], -1).astype("float32")
    out = np.asarray(GatedFusion()([waveform, spectrogram, one_sided]))
    np.testing.assert_allclose(out[..., :3], 2 * waveform, rtol=1e-6)
    assert not out[..., 3:].any()
    assert GatedFusion().compute_output_shape([(None, 6, 3), (None, 6, 5), (None, 6, 2)]) == (None, 6, 8)


def test_gated_fusion_serialises_and_refuses_bad_inputs():
    layer = GatedFusion(name="fusion")
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(again, GatedFusion) and again.name == "fusion" and not again.weights
    x, y = np.zeros((1, 4, 3), "float32"), np.zeros((1, 4, 2), "float32")
    with pytest.raises(EmoInputError, match="2 values per step"):
        GatedFusion()([x, y, np.zeros((1, 4, 3), "float32")])
    with pytest.raises(EmoInputError, match="steps"):
        GatedFusion()([x, np.zeros((1, 5, 2), "float32"), np.zeros((1, 4, 2), "float32")])
    with pytest.raises(EmoInputError, match="expects"):
        GatedFusion()([x, y])


# ----------------------------------------------------------------------------
# ProjectedLSTM
# ----------------------------------------------------------------------------


def _lstm_pair(units, input_dim, **kwargs):
    """A keras LSTM and a ProjectedLSTM with the same (random) weights, both built."""
    keras.utils.set_random_seed(3)
    reference = keras.layers.LSTM(units, **kwargs)
    projected = ProjectedLSTM(units, **kwargs)
    for layer in (reference, projected):
        layer.build((None, None, input_dim))
    rng = np.random.default_rng(4)
    # Random biases too (the initial forget-gate bias of ones would hide a missing bias).
    projected.set_weights([rng.normal(scale=0.3, size=w.shape).astype("float32")
                           for w in reference.get_weights()])
    reference.set_weights(projected.get_weights())
    return reference, projected


def _outputs_and_gradients(layer, x, mask, cotangent):
    """Output, and gradients of sum(output * cotangent) w.r.t. x and the weights."""
    @tf.function
    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, mask=mask)
            loss = tf.reduce_sum(y * cotangent)
        return y, tape.gradient(loss, [x, *layer.trainable_weights])

    y, grads = run(tf.constant(x))
    return np.asarray(y), [np.asarray(g) for g in grads]


@pytest.mark.parametrize("return_sequences, go_backwards", [(True, False), (True, True), (False, False)])
def test_projected_lstm_matches_lstm(return_sequences, go_backwards):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 17, 6)).astype("float32")
    mask = np.ones((3, 17), bool)
    mask[1, 12:] = False  # a padded tail
    mask[2, 5:] = False
    reference, projected = _lstm_pair(5, 6, return_sequences=return_sequences, go_backwards=go_backwards)
    out_shape = (3, 17, 5) if return_sequences else (3, 5)
    cotangent = tf.constant(rng.normal(size=out_shape).astype("float32"))
    want, want_grads = _outputs_and_gradients(reference, x, tf.constant(mask), cotangent)
    got, got_grads = _outputs_and_gradients(projected, x, tf.constant(mask), cotangent)
    assert got.shape == out_shape
    assert relative_error(got, want) < 1e-5
    assert len(got_grads) == 4  # inputs, kernel, recurrent kernel, bias
    for g, w in zip(got_grads, want_grads):
        assert relative_error(g, w) < 1e-5
    # The masked steps matter: without the mask the output changes.
    unmasked, _ = _outputs_and_gradients(projected, x, None, cotangent)
    assert relative_error(unmasked, want) > 1e-3


def test_projected_lstm_in_bidirectional_model_takes_lstm_weights(tmp_path):
    """A model saved with keras LSTMs (older runs) loads into ProjectedLSTMs and agrees."""
    def model(cls):
        keras.utils.set_random_seed(1)
        inputs = keras.Input((20, 7))
        x = keras.layers.Bidirectional(cls(4, return_sequences=True, name="lstm"), name="blstm")(inputs)
        return keras.Model(inputs, keras.layers.Dense(2, name="out")(x))

    old = model(keras.layers.LSTM)
    old.save_weights(tmp_path / "old.weights.h5")
    new = model(ProjectedLSTM)
    new.load_weights(tmp_path / "old.weights.h5")
    assert [w.path for w in new.weights] == [w.path for w in old.weights]
    x = np.random.default_rng(2).normal(size=(2, 20, 7)).astype("float32")
    np.testing.assert_allclose(new.predict_on_batch(x), old.predict_on_batch(x), rtol=0, atol=1e-5)
    new.save(tmp_path / "new.keras")
    loaded = keras.models.load_model(tmp_path / "new.keras")
    assert isinstance(loaded.get_layer("blstm").forward_layer, ProjectedLSTM)
    np.testing.assert_allclose(loaded.predict_on_batch(x), new.predict_on_batch(x), rtol=0, atol=1e-6)


def test_projected_lstm_leaves_dropout_to_keras():
    assert ProjectedLSTM(3, dropout=0.5)._keeps_keras_loop(training=True)
    assert not ProjectedLSTM(3, dropout=0.5)._keeps_keras_loop(training=False)
    assert ProjectedLSTM(3, recurrent_dropout=0.2)._keeps_keras_loop(training=False)
    assert not ProjectedLSTM(3)._keeps_keras_loop(training=True)
    # With dropout in training it still runs (Keras's own loop) and drops something.
    layer = ProjectedLSTM(3, dropout=0.9, return_sequences=True, seed=0)
    x = np.ones((2, 6, 4), "float32")
    assert layer(x, training=True).shape == (2, 6, 3)
    assert not np.allclose(layer(x, training=True), layer(x, training=False))


# ----------------------------------------------------------------------------
# Other backends
# ----------------------------------------------------------------------------


def test_runs_on_jax():
    pytest.importorskip("jax")
    import subprocess
    import sys

    code = (
        "import numpy as np, keras; from emo_lib.layers import FFTConv1D; "
        "from numpy.lib.stride_tricks import sliding_window_view as sw; "
        "rng = np.random.default_rng(0); x = rng.normal(size=(2, 900, 3)).astype('float32'); "
        "layer = FFTConv1D(4, 40, block_size=128); layer.build(x.shape); "
        "w = rng.normal(size=(40, 3, 4)).astype('float32'); layer.set_weights([w, np.zeros(4, 'float32')]); "
        "want = np.einsum('blcj,jco->blo', sw(np.pad(x, [(0, 0), (19, 20), (0, 0)]), 40, axis=1), w); "
        "got = np.asarray(layer(x)); "
        "assert np.abs(got - want).max() < 1e-4 * np.abs(want).max(), np.abs(got - want).max()"
    )
    lstm = (
        "import jax, numpy as np, keras; from emo_lib.layers import ProjectedLSTM; "
        "rng = np.random.default_rng(0); x = rng.normal(size=(2, 9, 3)).astype('float32'); "
        "m = np.ones((2, 9), bool); m[1, 6:] = False; "
        "a = keras.layers.LSTM(4, return_sequences=True); b = ProjectedLSTM(4, return_sequences=True); "
        "a.build((None, 9, 3)); b.build((None, 9, 3)); b.set_weights(a.get_weights()); "
        "f = lambda layer: (lambda x: (layer(x, mask=m) ** 2).sum()); "
        "ya, yb = np.asarray(a(x, mask=m)), np.asarray(b(x, mask=m)); "
        "ga, gb = np.asarray(jax.grad(f(a))(x)), np.asarray(jax.grad(f(b))(x)); "
        "assert np.abs(ya - yb).max() < 1e-5 * np.abs(ya).max(), np.abs(ya - yb).max(); "
        "assert np.abs(ga - gb).max() < 1e-5 * np.abs(ga).max(), np.abs(ga - gb).max()"
    )
    env = dict(os.environ, KERAS_BACKEND="jax")
    for snippet in (code, lstm):
        result = subprocess.run([sys.executable, "-c", snippet], env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
