"""Tests of emo_lib.models: paper parameter counts, names and shapes, tower numerics, saving.

The paper-size training steps (``test_paper_model_trains_one_step``) are marked
``slow``: deselect them with ``-m "not slow"``.
"""

import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from emo_lib.config import get_preset
from emo_lib.errors import EmoInputError
from emo_lib.features import silent_frame
from emo_lib.layers import ProjectedLSTM, make_conv1d
from emo_lib.metrics import ccc_loss
from emo_lib.models import (adapt_standardiser, build_model, copy_weights, describe_model, gate_model,
                             load_model)

PAPER_COUNTS = {
    ("WS", 20): 4_762_834,
    ("WS", 40): 6_073_554,
    ("W", 20): 2_137_810,
    ("W", 40): 2_465_490,
    ("S", 20): 921_090,
    ("S", 40): 1_248_770,
    # W+S gated: W+S and the gate, Dense(2) on both towers' steps (640 values at 20 ms, 1,280 at 40 ms).
    ("WSG", 20): 4_762_834 + (640 * 2 + 2),
    ("WSG", 40): 6_073_554 + (1280 * 2 + 2),
}
INPUTS = {"W": {"waveform", "frame_mask"}, "S": {"spectrogram", "frame_mask"},
          "WS": {"waveform", "spectrogram", "frame_mask"}, "WSG": {"waveform", "spectrogram", "frame_mask"},
          "baseline": {"compare", "frame_mask"}}
WAVE_LAYERS = {"waveform", "wave_conv1", "wave_pool", "wave_dropout1", "wave_conv2",
               "wave_channel_pool", "wave_dropout2", "wave_to_steps"}
SPEC_LAYERS = {"spectrogram", "spec_conv1", "spec_pool", "spec_dropout1", "spec_conv2",
               "spec_channel_pool", "spec_dropout2", "spec_to_steps"}
HEAD_LAYERS = {"frame_mask", "frame_masking", "blstm1", "blstm2", "clear_mask", "emotion"}
LAYERS = {
    "W": WAVE_LAYERS | HEAD_LAYERS,
    "S": SPEC_LAYERS | HEAD_LAYERS,
    "WS": WAVE_LAYERS | SPEC_LAYERS | {"fusion"} | HEAD_LAYERS,
    "WSG": WAVE_LAYERS | SPEC_LAYERS | {"gate_features", "fusion_gate", "fusion"} | HEAD_LAYERS,
    "baseline": {"compare", "compare_standardise"} | HEAD_LAYERS,
}
ALL_MODELS = [(variant, step) for variant in ("W", "S", "WS", "WSG", "baseline") for step in (20, 40)]
FFT_AVAILABLE = not isinstance(make_conv1d(2, 8, implementation="fft"), keras.layers.Conv1D)


def random_batch(model, n, seed=0):
    """Random inputs for every input of ``model`` (a frame mask of ones) and targets (n, T, 3)."""
    rng = np.random.default_rng(seed)
    inputs = {tensor.name: rng.standard_normal((n, *tensor.shape[1:])).astype(np.float32)
              for tensor in model.inputs}
    if "frame_mask" in inputs:
        inputs["frame_mask"] = np.ones_like(inputs["frame_mask"])
    steps = model.outputs[0].shape[1]
    targets = np.concatenate([rng.uniform(-1, 1, (n, steps, 2)), np.ones((n, steps, 1))], axis=-1)
    return inputs, targets.astype(np.float32)


def blstm_params(n_inputs, units):
    """Keras Bidirectional(LSTM): per direction 4*units*(inputs + units) weights + 4*units biases."""
    return 2 * (4 * units * (n_inputs + units) + 4 * units)


# ----------------------------------------------------------------------------
# The paper configuration: counts, names, shapes, layer settings (build only)
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("variant,step", sorted(PAPER_COUNTS))
def test_paper_parameter_counts(variant, step):
    model = build_model(variant, step)
    assert model.count_params() == PAPER_COUNTS[variant, step]
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == PAPER_COUNTS[variant, step]


def test_gated_paper_counts_are_the_stated_numbers():
    assert PAPER_COUNTS["WSG", 20] == 4_764_116 and PAPER_COUNTS["WSG", 40] == 6_076_116
    model = build_model("WSG", 40)
    assert tuple(model.get_layer("fusion_gate").kernel.shape) == (1280, 2)
    assert model.get_layer("fusion_gate").get_config()["activation"] == "softmax"


def test_baseline_parameter_count():
    model = build_model("baseline", 40, n_features=6373)
    trainable = blstm_params(6373, 256) + blstm_params(512, 256) + (512 * 2 + 2)
    assert trainable == 15_154_178
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == trainable
    # The Normalization layer adds non-trainable statistics: mean and variance per
    # feature and a sample count.
    non_trainable = 6373 + 6373 + 1
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == non_trainable
    assert model.count_params() == trainable + non_trainable


@pytest.mark.parametrize("variant,step", ALL_MODELS)
def test_names_and_shapes(variant, step):
    model = build_model(variant, step)
    steps = 6000 // step
    assert model.name == f"{variant}_{step}ms_paper"
    shapes = {tensor.name: tuple(tensor.shape) for tensor in model.inputs}
    assert set(shapes) == INPUTS[variant]
    expected = {"waveform": (None, 96000, 1), "spectrogram": (None, 600, 40, 3),
                "compare": (None, steps, 6373), "frame_mask": (None, steps)}
    for name, shape in shapes.items():
        assert shape == expected[name]
    assert model.output_names == ["emotion"]
    assert tuple(model.outputs[0].shape) == (None, steps, 2)
    assert {layer.name for layer in model.layers} == LAYERS[variant]
    assert model.get_layer("emotion").get_config()["activation"] == "linear"
    units = 256 if variant in ("WS", "WSG", "baseline") else 128
    assert tuple(model.get_layer("blstm2").output.shape) == (None, steps, 2 * units)
    for tower in ("wave_to_steps", "spec_to_steps"):
        if tower in {layer.name for layer in model.layers}:
            assert tuple(model.get_layer(tower).output.shape) == (None, steps, 96000 // steps)
    if variant in ("WS", "WSG"):
        assert tuple(model.get_layer("fusion").output.shape) == (None, steps, 2 * 96000 // steps)
    if variant == "WSG":
        assert tuple(model.get_layer("fusion_gate").output.shape) == (None, steps, 2)


def test_paper_layer_settings():
    model = build_model("WS", 20, long_conv="direct")
    shape = {layer.name: tuple(layer.output.shape[1:]) for layer in model.layers}
    assert shape["wave_conv1"] == (96000, 40)
    assert shape["wave_pool"] == (48000, 40)
    assert shape["wave_conv2"] == (48000, 40)
    assert shape["wave_channel_pool"] == (48000, 2)
    assert shape["spec_conv1"] == (600, 40, 80)
    assert shape["spec_pool"] == (600, 20, 80)
    assert shape["spec_conv2"] == (600, 20, 80)
    assert shape["spec_channel_pool"] == (600, 20, 8)
    kernels = {name: tuple(model.get_layer(name).kernel.shape)
               for name in ("wave_conv1", "wave_conv2", "spec_conv1", "spec_conv2")}
    assert kernels == {"wave_conv1": (80, 1, 40), "wave_conv2": (800, 40, 40),
                       "spec_conv1": (1, 10, 3, 80), "spec_conv2": (10, 1, 80, 80)}
    for name in kernels:
        config = model.get_layer(name).get_config()
        assert config["activation"] == "relu" and config["padding"] == "same"
    for name in ("wave_dropout1", "wave_dropout2", "spec_dropout1", "spec_dropout2"):
        assert model.get_layer(name).rate == 0.5


def test_long_conv_override_keeps_weights_and_function():
    direct = build_model("W", 20, "tiny", long_conv="direct")
    assert isinstance(direct.get_layer("wave_conv2"), keras.layers.Conv1D)
    fft = build_model("W", 20, "tiny", long_conv="fft")
    assert not isinstance(fft.get_layer("wave_conv2"), keras.layers.Conv1D)
    auto = build_model("W", 20, "tiny", long_conv="auto")
    for other in (fft, auto):
        assert [w.shape for w in other.weights] == [w.shape for w in direct.weights]
    fft.set_weights(direct.get_weights())
    inputs, _ = random_batch(direct, 1, seed=5)
    outputs = [keras.Model(model.inputs, model.get_layer("wave_to_steps").output)
               .predict(inputs, verbose=0) for model in (direct, fft)]
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-4, atol=1e-5)


def test_lstm_choice_keeps_weights_and_function():
    assert get_preset("paper").lstm == "projected" and get_preset("tiny").lstm == "keras"
    projected = build_model("WS", 40, "tiny", lstm="projected")
    stock = build_model("WS", 40, "tiny")
    for index in (1, 2):
        assert isinstance(projected.get_layer(f"blstm{index}").forward_layer, ProjectedLSTM)
        assert type(stock.get_layer(f"blstm{index}").backward_layer) is keras.layers.LSTM
    assert projected.count_params() == stock.count_params()
    assert [w.path for w in projected.weights] == [w.path for w in stock.weights]
    stock.set_weights(projected.get_weights())
    inputs, _ = random_batch(projected, 2, seed=6)
    inputs["frame_mask"][1, 100:] = 0  # padded steps: the masks must agree too
    np.testing.assert_allclose(projected.predict_on_batch(inputs), stock.predict_on_batch(inputs),
                               rtol=0, atol=1e-5)
    with pytest.raises(EmoInputError, match="unknown LSTM 'gru'"):
        build_model("WS", 40, "tiny", lstm="gru")


@pytest.mark.parametrize("preset", ["narrow", "tiny"])
@pytest.mark.parametrize("variant,step", ALL_MODELS)
def test_small_presets_build(preset, variant, step):
    model = build_model(variant, step, preset, n_features=12)
    steps = 6000 // step
    assert tuple(model.outputs[0].shape) == (None, steps, 2)
    assert {layer.name for layer in model.layers} == LAYERS[variant]
    for tower in ("wave_to_steps", "spec_to_steps"):  # as in the paper: 96,000 values per tower
        if tower in {layer.name for layer in model.layers}:
            assert tuple(model.get_layer(tower).output.shape) == (None, steps, 96000 // steps)
    assert describe_model(model)["preset"] == preset


# ----------------------------------------------------------------------------
# The towers against a NumPy computation
# ----------------------------------------------------------------------------


def conv_same(x, kernel, bias):
    """'same' cross-correlation along axis 0 of x (N, ..., C_in) with kernel (k, C_in, C_out)."""
    k = kernel.shape[0]
    left, right = (k - 1) // 2, k // 2
    padded = np.pad(x, [(left, right)] + [(0, 0)] * (x.ndim - 1))
    windows = sliding_window_view(padded, k, axis=0)  # (N, ..., C_in, k)
    return np.einsum("...cj,jcd->...d", windows, kernel) + bias


def relu(x):
    return np.maximum(x, 0.0)


def test_towers_match_numpy():
    preset = get_preset("tiny")
    model = build_model("WS", 20, preset)
    rng = np.random.default_rng(1)
    for weight in model.weights:  # non-zero biases too
        weight.assign(rng.normal(0, 0.3, weight.shape).astype(np.float32))
    inputs, _ = random_batch(model, 1, seed=2)
    towers = keras.Model(model.inputs, [model.get_layer("wave_to_steps").output,
                                        model.get_layer("spec_to_steps").output])
    wave_out, spec_out = towers.predict(inputs, verbose=0)

    def weights(name):
        return [np.asarray(w, np.float64) for w in model.get_layer(name).get_weights()]

    x = inputs["waveform"][0].astype(np.float64)                      # (96000, 1)
    y = relu(conv_same(x, *weights("wave_conv1")))                     # (96000, F1)
    y = y.reshape(-1, preset.wave_pool, y.shape[-1]).max(axis=1)       # time max pool
    y = relu(conv_same(y, *weights("wave_conv2")))
    y = y.reshape(y.shape[0], -1, preset.wave_channel_pool).max(axis=-1)
    np.testing.assert_allclose(wave_out[0], y.reshape(300, -1), rtol=1e-4, atol=1e-4)

    s = inputs["spectrogram"][0].astype(np.float64)                   # (600, 40, 3)
    kernel, bias = weights("spec_conv1")                               # (1, k, 3, F)
    z = relu(np.swapaxes(conv_same(np.swapaxes(s, 0, 1), kernel[0], bias), 0, 1))  # along mel
    z = z.reshape(600, -1, preset.spec_pool, z.shape[-1]).max(axis=2)  # mel max pool
    kernel, bias = weights("spec_conv2")                               # (k, 1, F, F)
    z = relu(conv_same(z, kernel[:, 0], bias))                         # along time
    z = z.reshape(600, z.shape[1], -1, preset.spec_channel_pool).max(axis=-1)
    np.testing.assert_allclose(spec_out[0], z.reshape(300, -1), rtol=1e-4, atol=1e-4)


def test_label_step_sees_its_own_time():
    """Changing the last second of input leaves the towers' early label steps alone."""
    model = build_model("WS", 40, "tiny")
    towers = keras.Model(model.inputs, [model.get_layer("wave_to_steps").output,
                                        model.get_layer("spec_to_steps").output])
    inputs, _ = random_batch(model, 1, seed=3)
    changed = {name: value.copy() for name, value in inputs.items()}
    changed["waveform"][0, 80000:] += 1.0     # last second
    changed["spectrogram"][0, 500:] += 1.0
    before, after = towers.predict(inputs, verbose=0), towers.predict(changed, verbose=0)
    for first, second in zip(before, after):
        # 5 s = 125 steps of 40 ms; the receptive fields are under 40 ms.
        np.testing.assert_array_equal(first[0, :124], second[0, :124])
        assert not np.array_equal(first[0, 126:], second[0, 126:])


# ----------------------------------------------------------------------------
# Training, saving, describing (tiny preset)
# ----------------------------------------------------------------------------


def test_tiny_trains_saves_and_reloads(tmp_path):
    keras.utils.set_random_seed(0)
    model = build_model("WS", 20, "tiny")
    model.compile(optimizer=keras.optimizers.RMSprop(5e-4), loss=ccc_loss, jit_compile=False)
    inputs, targets = random_batch(model, 2)
    before = [w.copy() for w in model.get_weights()]
    loss = float(model.train_on_batch(inputs, targets))
    assert np.isfinite(loss) and 0.0 <= loss <= 2.0
    changed = [not np.array_equal(a, b) for a, b in zip(before, model.get_weights())]
    assert all(changed[i] for i, w in enumerate(model.weights) if w.trainable)

    predictions = model.predict(inputs, verbose=0)
    assert predictions.shape == (2, 300, 2) and np.all(np.isfinite(predictions))
    path = tmp_path / "ws.keras"
    model.save(path)
    loaded = load_model(path)
    assert loaded.name == "WS_20ms_tiny"
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), predictions, rtol=1e-6, atol=1e-6)
    assert describe_model(loaded) == describe_model(model)
    assert loaded.loss is ccc_loss or getattr(loaded.loss, "__name__", "") == "ccc_loss"


@pytest.mark.parametrize("variant,step", ALL_MODELS)
def test_describe_model(variant, step):
    model = build_model(variant, step, "tiny", n_features=5)
    assert describe_model(model) == {"variant": variant, "label_step_ms": step,
                                     "segment_seconds": 6.0, "label_frames": 6000 // step,
                                     "preset": "tiny", "frame_mask": True,
                                     "spectrogram_norm": "none" if "S" in variant else None}
    without = build_model(variant, step, "tiny", n_features=5, frame_mask=False)
    assert describe_model(without)["frame_mask"] is False
    assert {t.name for t in without.inputs} == INPUTS[variant] - {"frame_mask"}


# ----------------------------------------------------------------------------
# W+S gated
# ----------------------------------------------------------------------------


def _ws_and_gated_with_equal_gates(**kwargs):
    """A freshly built tiny WSG model and a WS model holding its weights: the gate starts at zero
    weights (0.5 / 0.5), so the two are the same function."""
    keras.utils.set_random_seed(2)
    gated = build_model("WSG", 20, "tiny", **kwargs)
    plain = build_model("WS", 20, "tiny", **kwargs)
    copied = copy_weights(gated, plain)  # every layer of WS is in WSG, by name
    assert "blstm1" in copied and "fusion_gate" not in copied
    assert all(not np.any(w) for w in gated.get_layer("fusion_gate").get_weights())  # zero-initialised
    return gated, plain


def run(model, inputs):
    """The model's output for one batch (inference: dropout off)."""
    return np.asarray(model.predict_on_batch(inputs))


def test_equal_gates_give_the_plain_ws_model():
    gated, plain = _ws_and_gated_with_equal_gates()
    inputs, _ = random_batch(plain, 2, seed=3)
    inputs["frame_mask"][1, 200:] = 0  # a padded segment too
    np.testing.assert_allclose(run(gate_model(gated), inputs), 0.5, atol=1e-7)
    want = run(plain, inputs)
    np.testing.assert_allclose(run(gated, inputs), want, rtol=1e-5, atol=1e-5)
    # A gate that is not even changes the function: the test above can fail.
    gate = gated.get_layer("fusion_gate")
    gate.set_weights([gate.get_weights()[0], np.array([2.0, -2.0], np.float32)])
    assert np.abs(run(gated, inputs) - want).max() > 1e-4
    with pytest.raises(EmoInputError, match="fusion_gate"):
        copy_weights(plain, gated)  # WS has no gate to give


def test_describe_model_tells_ws_from_wsg():
    gated, plain = _ws_and_gated_with_equal_gates(frame_mask=False)
    assert describe_model(plain)["variant"] == "WS" and describe_model(gated)["variant"] == "WSG"
    assert describe_model(gated)["preset"] == "tiny" and describe_model(gated)["frame_mask"] is False
    # The gate layer decides, not the name.
    renamed = keras.Model(gated.inputs, gated.outputs, name="WS_20ms_tiny")
    assert describe_model(renamed)["variant"] == "WSG" and describe_model(renamed)["preset"] is None
    for norm in ("train", "conversation"):
        assert describe_model(build_model("WSG", 40, "tiny", spectrogram_norm=norm))["spectrogram_norm"] == norm


def test_gated_model_saves_reloads_and_gives_its_gates(tmp_path):
    keras.utils.set_random_seed(0)
    model = build_model("WSG", 40, "tiny", spectrogram_norm="train", long_conv="fft")
    assert model.name == "WSG_40ms_tiny"
    adapt_standardiser(model, np.random.default_rng(1).normal(2.0, 3.0, (2, 600, 40, 3)),
                       input_name="spectrogram")
    gate = model.get_layer("fusion_gate")  # a trained gate: weights away from their zero start
    gate.set_weights([np.random.default_rng(2).normal(0, 0.5, w.shape).astype("float32")
                      for w in gate.get_weights()])
    inputs, _ = random_batch(model, 2)
    gates = gate_model(model)
    assert gates.name == "WSG_40ms_tiny_gates"
    assert {t.name for t in gates.inputs} == INPUTS["WSG"]
    values = run(gates, inputs)
    assert values.shape == (2, 150, 2)
    np.testing.assert_allclose(values.sum(-1), 1.0, atol=1e-6)
    assert np.all(values > 0) and np.ptp(values[..., 0]) > 0  # a weight per step, not a constant
    predictions = run(model, inputs)

    model.save(tmp_path / "wsg.keras")
    loaded = load_model(tmp_path / "wsg.keras", compile=False)
    assert describe_model(loaded) == describe_model(model)
    assert type(loaded.get_layer("fusion")) is type(model.get_layer("fusion"))
    np.testing.assert_allclose(run(loaded, inputs), predictions, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(run(gate_model(loaded), inputs), values, rtol=1e-6, atol=1e-7)
    # The same weights in the model with the direct long convolution compute the same function.
    direct = build_model("WSG", 40, "tiny", spectrogram_norm="train", long_conv="direct")
    assert isinstance(direct.get_layer("wave_conv2"), keras.layers.Conv1D)
    assert "fusion_gate" in copy_weights(loaded, direct)
    np.testing.assert_allclose(run(direct, inputs), predictions, rtol=1e-4, atol=1e-5)


def test_gate_model_refuses_models_without_a_gate():
    for variant in ("WS", "S"):
        with pytest.raises(EmoInputError, match="no fusion_gate layer"):
            gate_model(build_model(variant, 40, "tiny"))
    with pytest.raises(EmoInputError, match="keras.Model"):
        gate_model("WSG_40ms_tiny")


def _padded_segment(model_seconds, valid_seconds, seed=0):
    """A tiny S model whose segments last ``model_seconds``, fed the same ``valid_seconds`` of input."""
    rng = np.random.default_rng(seed)
    preset = get_preset("tiny").replace(segment_seconds=model_seconds)
    frames, steps, valid_steps = int(model_seconds * 100), int(model_seconds * 25), int(valid_seconds * 25)
    spectrogram = np.broadcast_to(silent_frame(), (1, frames, 40, 3)).copy()  # padding: silence
    spectrogram[0, : valid_steps * 4] = rng.standard_normal((valid_steps * 4, 40, 3))
    mask = np.zeros((1, steps), np.float32)
    mask[0, :valid_steps] = 1
    return preset, {"spectrogram": spectrogram, "frame_mask": mask}, valid_steps


def test_padding_does_not_reach_valid_steps():
    """A short segment's valid predictions do not change when its padding is extended (masked BLSTMs)."""
    short_preset, short_inputs, valid = _padded_segment(2.0, 1.2)
    long_preset, long_inputs, _ = _padded_segment(6.0, 1.2)
    keras.utils.set_random_seed(0)
    short = build_model("S", 40, short_preset)
    longer = build_model("S", 40, long_preset)
    longer.set_weights(short.get_weights())  # the same weights: no layer depends on the length
    a = short.predict(short_inputs, verbose=0)[0, :valid]
    b = longer.predict(long_inputs, verbose=0)[0, :valid]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # Without the mask the backward LSTMs read the padding before the speech: the valid steps change.
    unmasked = build_model("S", 40, long_preset, frame_mask=False)
    unmasked.set_weights(short.get_weights())
    c = unmasked.predict({"spectrogram": long_inputs["spectrogram"]}, verbose=0)[0, :valid]
    assert np.abs(c - b).max() > 1e-3


def test_spectrogram_standardiser_is_saved_inside_the_model(tmp_path):
    rng = np.random.default_rng(1)
    model = build_model("S", 40, "tiny", spectrogram_norm="train")
    assert model.count_params() == build_model("S", 40, "tiny").count_params() + 241
    spectrograms = rng.normal(3.0, 2.0, size=(3, 600, 40, 3)).astype(np.float32)
    mask = np.ones((3, 600))
    mask[2, 300:] = 0  # padding stays out of the statistics
    stats = adapt_standardiser(model, spectrograms, mask, input_name="spectrogram")
    chosen = np.concatenate([spectrograms[0], spectrograms[1], spectrograms[2, :300]]).astype(np.float64)
    np.testing.assert_allclose(stats["mean"], chosen.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(stats["variance"], chosen.var(axis=0), rtol=1e-10)
    model.save(tmp_path / "s.keras")
    loaded = load_model(tmp_path / "s.keras")
    assert describe_model(loaded)["spectrogram_norm"] == "train"
    layer = loaded.get_layer("spectrogram_standardise")
    np.testing.assert_allclose(np.asarray(layer.adapt_mean), chosen.mean(axis=0), rtol=1e-5)
    # Streaming blocks give the same statistics as one array.
    blocks = ((spectrograms[i:i + 1], mask[i:i + 1]) for i in range(3))
    streamed = adapt_standardiser(build_model("S", 40, "tiny", spectrogram_norm="train"), blocks,
                                  input_name="spectrogram")
    np.testing.assert_allclose(streamed["mean"], stats["mean"], rtol=1e-12)
    np.testing.assert_allclose(streamed["variance"], stats["variance"], rtol=1e-10)
    assert describe_model(build_model("S", 40, "tiny", spectrogram_norm="conversation"))["spectrogram_norm"] \
        == "conversation"
    with pytest.raises(EmoInputError, match="spectrogram_standardise"):
        adapt_standardiser(build_model("S", 40, "tiny"), spectrograms, input_name="spectrogram")


def test_describe_model_reads_shapes_not_names():
    model = build_model("S", 40, "tiny")
    renamed = keras.Model(model.inputs, model.outputs, name="something_else")
    assert describe_model(renamed) == {"variant": "S", "label_step_ms": 40, "segment_seconds": 6.0,
                                       "label_frames": 150, "preset": None, "frame_mask": True,
                                       "spectrogram_norm": "none"}
    lying = keras.Model(model.inputs, model.outputs, name="S_20ms_tiny")  # the name disagrees
    assert describe_model(lying)["label_step_ms"] == 40
    assert describe_model(lying)["preset"] is None
    baseline = build_model("baseline", 40, "tiny", n_features=5)
    renamed = keras.Model(baseline.inputs, baseline.outputs, name="renamed")  # 6 s assumed
    assert describe_model(renamed) == {"variant": "baseline", "label_step_ms": 40,
                                       "segment_seconds": 6.0, "label_frames": 150, "preset": None,
                                       "frame_mask": True, "spectrogram_norm": None}
    shorter = build_model("W", 20, get_preset("tiny").replace(name="short", segment_seconds=3.0))
    assert describe_model(shorter) == {"variant": "W", "label_step_ms": 20, "segment_seconds": 3.0,
                                       "label_frames": 150, "preset": "short", "frame_mask": True,
                                       "spectrogram_norm": None}


def test_describe_model_rejects_foreign_models():
    inputs = keras.Input((10, 3), name="features")
    foreign = keras.Model(inputs, keras.layers.Dense(2, name="emotion")(inputs))
    with pytest.raises(EmoInputError, match="inputs"):
        describe_model(foreign)
    wave = keras.Input((96000, 1), name="waveform")
    wrong_output = keras.Model(wave, keras.layers.Dense(2, name="other")(wave))
    with pytest.raises(EmoInputError, match="outputs"):
        describe_model(wrong_output)
    wave = keras.Input((96000, 2), name="waveform")
    steps = keras.layers.Reshape((300, -1))(wave)
    two_channels = keras.Model(wave, keras.layers.Dense(2, name="emotion")(steps))
    with pytest.raises(EmoInputError, match="waveform input"):
        describe_model(two_channels)
    wave = keras.Input((96000, 1), name="waveform")
    steps = keras.layers.Reshape((250, -1))(wave)           # 24 ms steps
    odd_step = keras.Model(wave, keras.layers.Dense(2, name="emotion")(steps))
    with pytest.raises(EmoInputError, match="20 or 40 ms"):
        describe_model(odd_step)
    with pytest.raises(EmoInputError, match="keras.Model"):
        describe_model("WS_20ms_paper")


# ----------------------------------------------------------------------------
# The baseline's standardisation
# ----------------------------------------------------------------------------


def test_adapt_standardiser_matches_numpy(tmp_path):
    model = build_model("baseline", 40, "tiny", n_features=7)
    rng = np.random.default_rng(4)
    features = rng.normal(3.0, 2.0, (9, 150, 7)) * rng.uniform(0.1, 10, 7)
    mask = rng.uniform(size=(9, 150)) < 0.7
    features[~mask] = 1e6                          # padding must not leak into the statistics
    stats = adapt_standardiser(model, features.astype(np.float32), mask.astype(np.float32),
                               chunk_size=4)
    rows = features.astype(np.float32).astype(np.float64)[mask]
    np.testing.assert_allclose(stats["mean"], rows.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats["variance"], rows.var(axis=0), rtol=1e-10)
    assert stats["count"] == mask.sum()
    layer = model.get_layer("compare_standardise")
    np.testing.assert_allclose(np.asarray(layer.adapt_mean), rows.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(layer.adapt_variance), rows.var(axis=0), rtol=1e-6)

    probe = features[:2].astype(np.float32)
    compare_input = next(t for t in model.inputs if t.name == "compare")
    standardised = keras.Model(compare_input, layer.output).predict(probe, verbose=0)
    expected = (probe - rows.mean(axis=0)) / np.sqrt(rows.var(axis=0))
    np.testing.assert_allclose(standardised[mask[:2]], expected[mask[:2]], rtol=1e-4, atol=1e-4)

    probe = {"compare": probe, "frame_mask": np.ones((2, 150), np.float32)}
    predictions = model.predict(probe, verbose=0)
    model.save(tmp_path / "baseline.keras")
    loaded = load_model(tmp_path / "baseline.keras", compile=False)
    loaded_layer = loaded.get_layer("compare_standardise")
    np.testing.assert_array_equal(np.asarray(loaded_layer.adapt_mean), np.asarray(layer.adapt_mean))
    np.testing.assert_array_equal(np.asarray(loaded_layer.adapt_variance),
                                  np.asarray(layer.adapt_variance))
    np.testing.assert_allclose(loaded.predict(probe, verbose=0), predictions,
                               rtol=1e-6, atol=1e-6)
    assert describe_model(loaded)["variant"] == "baseline"


def test_adapt_standardiser_without_mask_uses_every_frame():
    model = build_model("baseline", 20, "tiny", n_features=3)
    features = np.arange(2 * 300 * 3, dtype=np.float32).reshape(2, 300, 3)
    stats = adapt_standardiser(model, features)
    rows = features.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(stats["mean"], rows.mean(axis=0))
    np.testing.assert_allclose(stats["variance"], rows.var(axis=0))


def test_adapt_standardiser_rejects_bad_input():
    model = build_model("baseline", 40, "tiny", n_features=4)
    good = np.ones((2, 150, 4), np.float32)
    with pytest.raises(EmoInputError, match="compare_standardise"):
        adapt_standardiser(build_model("S", 40, "tiny"), good)
    with pytest.raises(EmoInputError, match=r"\(n, T, 4\)"):
        adapt_standardiser(model, np.ones((2, 150, 5), np.float32))
    with pytest.raises(EmoInputError, match="mask must have shape"):
        adapt_standardiser(model, good, np.ones((2, 149)))
    with pytest.raises(EmoInputError, match="0 or 1"):
        adapt_standardiser(model, good, np.full((2, 150), 0.5))
    with pytest.raises(EmoInputError, match="at least 2"):
        adapt_standardiser(model, good, np.zeros((2, 150)))
    bad = good.copy()
    bad[1, 3, 2] = np.nan
    with pytest.raises(EmoInputError, match="non-finite"):
        adapt_standardiser(model, bad)


# ----------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("args,kwargs,match", [
    (("V", 20), {}, "unknown model variant"),
    (("ws", 20), {}, "unknown model variant"),
    (("WS", 30), {}, "label step"),
    (("WS", True), {}, "label step"),
    (("WS", "20"), {}, "label step"),
    (("WS", 20, "huge"), {}, "unknown preset"),
    (("WS", 20), {"long_conv": "winograd"}, "long convolution"),
    (("baseline", 20), {"n_features": 0}, "n_features"),
    (("W", 20, get_preset("tiny").replace(wave_channel_pool=3)), {}, "groups of 3"),
    (("S", 40, get_preset("tiny").replace(segment_seconds=6.02)), {}, "label steps"),
])
def test_build_model_rejects_bad_arguments(args, kwargs, match):
    with pytest.raises(EmoInputError, match=match):
        build_model(*args, **kwargs)


def test_load_model_errors(tmp_path):
    missing = tmp_path / "missing.keras"
    with pytest.raises(EmoInputError, match="no such model file") as caught:
        load_model(missing)
    assert str(caught.value).startswith(str(missing))
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    with pytest.raises(EmoInputError, match="not a zip archive"):
        load_model(text)
    wrong_suffix = tmp_path / "model.h5"
    wrong_suffix.write_bytes(b"\x89HDF")
    with pytest.raises(EmoInputError, match="not a .keras model file"):
        load_model(wrong_suffix)
    with pytest.raises(EmoInputError, match="not a file"):
        load_model(tmp_path)
    other_zip = tmp_path / "archive.keras"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(EmoInputError, match="cannot load the model") as caught:
        load_model(other_zip)
    assert str(caught.value).startswith(str(other_zip))
    inputs = keras.Input((4,), name="x")
    foreign = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    foreign.save(tmp_path / "foreign.keras")
    with pytest.raises(EmoInputError, match="not an emo_lib model"):
        load_model(tmp_path / "foreign.keras")


# ----------------------------------------------------------------------------
# Paper-size training steps and the JAX backend
# ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not FFT_AVAILABLE, reason="emo_lib.layers has no FFT long convolution yet; "
                    "the direct 800-tap Conv1D takes minutes per step on a CPU")
@pytest.mark.parametrize("variant,step", sorted(PAPER_COUNTS))
def test_paper_model_trains_one_step(variant, step):
    keras.utils.set_random_seed(0)
    model = build_model(variant, step, "paper", long_conv="fft")
    model.compile(optimizer=keras.optimizers.RMSprop(5e-4), loss=ccc_loss, jit_compile=False)
    inputs, targets = random_batch(model, 1)
    before = [np.asarray(w).copy() for w in model.trainable_weights]
    loss = float(model.train_on_batch(inputs, targets))
    assert np.isfinite(loss)
    for old, variable in zip(before, model.trainable_weights):
        new = np.asarray(variable)
        assert np.all(np.isfinite(new)), variable.path
        assert not np.array_equal(old, new), f"{variable.path} did not change"


def test_builds_trains_saves_and_loads_on_jax(tmp_path):
    pytest.importorskip("jax")
    code = f"""
import keras, numpy as np
from emo_lib.metrics import ccc_loss, ccc_metrics
from emo_lib.models import build_model, describe_model, load_model
assert keras.backend.backend() == "jax"
counts = {{(v, s): build_model(v, s, "paper", long_conv="fft").count_params()
           for v in ("W", "S", "WS", "WSG") for s in (20, 40)}}
assert counts == {{("W", 20): 2137810, ("W", 40): 2465490, ("S", 20): 921090, ("S", 40): 1248770,
                   ("WS", 20): 4762834, ("WS", 40): 6073554, ("WSG", 20): 4764116,
                   ("WSG", 40): 6076116}}, counts
keras.utils.set_random_seed(0)
m = build_model("WS", 40, "tiny", long_conv="fft")
m.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss=ccc_loss, metrics=ccc_metrics())
rng = np.random.default_rng(0)
x = {{"waveform": rng.normal(size=(2, 96000, 1)).astype("float32"),
      "spectrogram": rng.normal(size=(2, 600, 40, 3)).astype("float32"),
      "frame_mask": np.ones((2, 150), "float32")}}
y = np.concatenate([rng.normal(size=(2, 150, 2)), np.ones((2, 150, 1))], -1).astype("float32")
before = [w.copy() for w in m.get_weights()]
loss = m.train_on_batch(x, y)
assert np.isfinite(loss).all()
assert any(not np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
m.save(r"{tmp_path / 'm.keras'}")
again = load_model(r"{tmp_path / 'm.keras'}")
np.testing.assert_allclose(again.predict(x, verbose=0), m.predict(x, verbose=0), atol=1e-6)
assert describe_model(again)["variant"] == "WS"
"""
    env = dict(os.environ, KERAS_BACKEND="jax")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
