"""Tests of emo_lib.explain: crest choice, grid, silent cells, LIME's pieces, explanations, stability."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from lime import lime_image

from emo_lib.errors import EmoInputError
from emo_lib.explain import (
    SpectrogramExplanation,
    choose_crest,
    compare_explanations,
    explain_spectrogram,
    explained_outputs,
    explanations_by_seed,
    fit_surrogate,
    grid_segments,
    hide_values,
    lime_distances,
    lime_kernel,
    lime_stability,
    make_classifier_fn,
    perturb_inputs,
    predict_segment,
    sample_cells_on,
)
from emo_lib.features import LOG_FLOOR, silent_frame
from emo_lib.models import build_model

N_FRAMES, N_MELS, T = 100, 40, 10
SILENT_LOG_MEL = float(np.float32(np.log(LOG_FLOOR)))  # about -13.8


# ---------------------------------------------------------------------------
# Small functional models whose answer is known
# ---------------------------------------------------------------------------

def _region_mean(x, frames, bands, name):
    """Mean of the log-mel map (channel 0) over a time x band rectangle: (batch, 1)."""
    cropped = keras.layers.Cropping2D(
        ((frames[0], N_FRAMES - frames[1]), (bands[0], N_MELS - bands[1])), name=f"{name}_crop"
    )(x)
    pooled = keras.layers.GlobalAveragePooling2D(name=f"{name}_pool")(cropped)
    pick = keras.layers.Dense(1, use_bias=False, name=f"{name}_pick")
    out = pick(pooled)
    pick.set_weights([np.array([[1.0], [0.0], [0.0]], dtype=np.float32)])
    return out


def region_model(arousal_region, valence_region, *, with_waveform=False, extra_layer=None):
    """Arousal = mean of one region, valence = mean of another, the same at every frame."""
    spec = keras.Input((N_FRAMES, N_MELS, 3), name="spectrogram")
    x = spec if extra_layer is None else keras.layers.Identity(name=extra_layer)(spec)
    arousal = _region_mean(x, *arousal_region, name="arousal")
    valence = _region_mean(x, *valence_region, name="valence")
    both = keras.layers.Concatenate(name="fusion")([arousal, valence])
    out = keras.layers.RepeatVector(T, name="emotion")(both)
    inputs = {"spectrogram": spec}
    if with_waveform:
        inputs["waveform"] = keras.Input((N_FRAMES * 16, 1), name="waveform")
    return keras.Model(inputs, out)


def time_local_model():
    """Output frame t = mean of the log-mel map over spectrogram frames 10t .. 10t+9."""
    spec = keras.Input((N_FRAMES, N_MELS, 3), name="spectrogram")
    pooled = keras.layers.AveragePooling2D((N_FRAMES // T, N_MELS), name="pool")(spec)
    steps = keras.layers.Reshape((T, 3), name="to_steps")(pooled)
    dense = keras.layers.Dense(2, use_bias=False, name="emotion")
    out = dense(steps)
    dense.set_weights([np.array([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]], dtype=np.float32)])
    return keras.Model({"spectrogram": spec}, out)


def masked_time_local_model():
    """As time_local_model, with a "frame_mask" input: padded frames output 100 + the mean."""
    spec = keras.Input((N_FRAMES, N_MELS, 3), name="spectrogram")
    frame_mask = keras.Input((T,), name="frame_mask")
    pooled = keras.layers.AveragePooling2D((N_FRAMES // T, N_MELS), name="pool")(spec)
    steps = keras.layers.Reshape((T, 3), name="to_steps")(pooled)
    dense = keras.layers.Dense(2, use_bias=False, name="dense")
    out = dense(steps)
    dense.set_weights([np.array([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]], dtype=np.float32)])
    padding = keras.layers.Reshape((T, 1), name="mask_steps")(frame_mask)
    out = keras.layers.Lambda(lambda xs: xs[0] + 100.0 * (1.0 - xs[1]), name="emotion")([out, padding])
    return keras.Model({"spectrogram": spec, "frame_mask": frame_mask}, out)


@pytest.fixture(scope="module")
def spectrogram():
    rng = np.random.default_rng(7)
    return rng.normal(size=(N_FRAMES, N_MELS, 3)).astype(np.float32)


# ---------------------------------------------------------------------------
# choose_crest
# ---------------------------------------------------------------------------

def test_choose_crest_rules():
    trace = np.array([0.0, 0.1, 0.0, -0.5, 0.0, 0.1, 0.05, 0.3, 0.0])
    assert choose_crest(trace, rule="max") == 7
    assert choose_crest(trace, rule="min") == 3
    # median 0.05: the trough at 3 deviates by .55, the crest at 7 by .25
    assert choose_crest(trace, min_distance_frames=1) == 3
    # a larger crest far from the median wins
    assert choose_crest(np.array([0.0, 0.0, 0.9, 0.0, -0.2, 0.0, 0.0]), min_distance_frames=2) == 2


def test_choose_crest_ignores_wiggles_inside_the_neighbourhood():
    # Frame 2 is a local maximum at distance 1 but not at distance 3 (frame 4 is higher
    # and frame 7's trough is larger still); with distance 3 only frames 4 and 7 remain.
    trace = np.array([0.0, 0.1, 0.2, 0.15, 0.3, 0.2, 0.1, -0.6, 0.1, 0.2])
    assert choose_crest(trace, min_distance_frames=3) == 7
    trace_up = -trace
    assert choose_crest(trace_up, min_distance_frames=3) == 7


@pytest.mark.parametrize("bad", [[], [[0.0, 1.0]], [0.0, np.nan, 1.0]])
def test_choose_crest_bad_trace(bad):
    with pytest.raises(EmoInputError):
        choose_crest(np.array(bad, dtype=float))


def test_choose_crest_bad_rule():
    with pytest.raises(EmoInputError, match="unknown crest rule"):
        choose_crest([0.0, 1.0], rule="biggest")


# ---------------------------------------------------------------------------
# Grid, silence, perturbed inputs
# ---------------------------------------------------------------------------

def test_grid_segments_paper_grid():
    segments = grid_segments(600, 40, (30, 8))
    assert segments.shape == (600, 40)
    assert np.array_equal(np.unique(segments), np.arange(240))
    counts = np.bincount(segments.ravel())
    assert np.all(counts == 20 * 5)
    # cell (time 3, mel 5) covers frames 60..79, bands 25..29
    assert np.all(segments[60:80, 25:30] == 3 * 8 + 5)
    assert segments[59, 25] != 29 and segments[60, 24] != 29


def test_grid_segments_uneven_and_bad():
    segments = grid_segments(100, 40, (7, 3))
    rows = [len(np.unique(np.flatnonzero(np.any(segments // 3 == t, axis=1)))) for t in range(7)]
    assert sum(rows) == 100 and max(rows) - min(rows) <= 1
    with pytest.raises(EmoInputError, match="does not fit"):
        grid_segments(100, 40, (101, 8))
    with pytest.raises(EmoInputError, match="does not fit"):
        grid_segments(100, 40, (10, 0))


def test_hide_values(spectrogram):
    silence = hide_values(spectrogram)  # default: silence of the un-normalised input
    assert silence.shape == (N_MELS, 3)
    assert np.all(silence[:, 0] == SILENT_LOG_MEL) and np.all(silence[:, 1:] == 0)
    floor = hide_values(spectrogram, "floor")
    assert floor.shape == (N_MELS, 3) and np.allclose(floor, spectrogram.min(axis=(0, 1)))
    assert np.allclose(hide_values(spectrogram, "zero"), 0)
    assert np.allclose(hide_values(spectrogram, -3.0), -3.0)
    assert np.allclose(hide_values(spectrogram, (1, 2, 3)), [[1, 2, 3]] * N_MELS)
    # silence of a per-conversation normalised spectrogram: (log(1e-6) - mean) / std per band
    rng = np.random.default_rng(1)
    mean, std = rng.normal(size=(N_MELS, 3)), rng.uniform(0.5, 2.0, size=(N_MELS, 3))
    normalised = hide_values(spectrogram, silence=silent_frame(mean, std))
    expected = (np.array([np.log(1e-6), 0.0, 0.0]) - mean) / std
    assert np.allclose(normalised, expected, atol=1e-5)
    for bad in ("mean", (1, 2), np.nan, np.zeros((N_MELS, 2))):
        with pytest.raises(EmoInputError):
            hide_values(spectrogram, bad)
    with pytest.raises(EmoInputError, match="silence"):
        hide_values(spectrogram, "floor", silence=silent_frame())
    with pytest.raises(EmoInputError, match="shape"):
        hide_values(spectrogram, silence=np.zeros((10, 3)))


def test_perturbed_cells_are_silent_in_all_three_maps():
    rng = np.random.default_rng(0)
    spec = rng.normal(size=(10, 40, 3)).astype(np.float32)
    segments = grid_segments(10, 40, (5, 2))  # cells of 2 frames x 20 bands
    cells_on = np.ones((1, 10), dtype=int)
    cells_on[0, 3] = 0  # time column 1 (frames 2-3), bands 20..39
    batch = perturb_inputs({"spectrogram": spec}, cells_on, segments=segments)  # default: silence
    hidden = batch["spectrogram"][0, 2:4, 20:40]
    assert np.all(hidden[..., 0] == SILENT_LOG_MEL)     # log-mel map: log(1e-6)
    assert np.all(hidden[..., 1:] == 0.0)               # deltas: 0, flat
    untouched = np.ones((10, 40), bool)
    untouched[2:4, 20:40] = False
    assert np.array_equal(batch["spectrogram"][0][untouched], spec[untouched])
    # a per-band silence frame lands band by band
    frame = np.arange(120, dtype=np.float32).reshape(40, 3)
    batch = perturb_inputs({"spectrogram": spec}, cells_on, segments=segments, silence=frame)
    assert np.array_equal(batch["spectrogram"][0, 2, 20:40], frame[20:40])
    with pytest.raises(EmoInputError, match="not both"):
        perturb_inputs({"spectrogram": spec}, cells_on, segments=segments, fill=0.0, silence=frame)
    with pytest.raises(EmoInputError, match="0 .cell hidden. or 1"):
        perturb_inputs({"spectrogram": spec}, cells_on * 2, segments=segments)


def test_perturb_inputs_masks_the_same_cells_in_every_map_and_mutes_whole_columns():
    rng = np.random.default_rng(0)
    spec = rng.normal(size=(10, 4, 3)).astype(np.float32)
    wave = rng.normal(size=(100, 1)).astype(np.float32)
    frame_mask = np.array([1, 1, 1, 0], np.float32)
    segments = grid_segments(10, 4, (5, 2))  # cells of 2 frames x 2 bands
    fill = np.array([-9.0, -8.0, -7.0], dtype=np.float32)
    cells_on = np.ones((2, 10), dtype=bool)
    cells_on[0, [4, 5]] = False  # time column 2 (frames 4-5) entirely off
    cells_on[1, 6] = False       # one cell of time column 3 off
    batch = perturb_inputs({"spectrogram": spec, "waveform": wave, "frame_mask": frame_mask},
                           cells_on, segments=segments, fill=fill, waveform="mute_time_cells")
    assert batch["spectrogram"].shape == (2, 10, 4, 3) and batch["waveform"].shape == (2, 100, 1)
    assert np.array_equal(batch["frame_mask"], np.stack([frame_mask] * 2))  # repeated unchanged
    expected0 = spec.copy()
    expected0[4:6, :, :] = fill
    assert np.array_equal(batch["spectrogram"][0], expected0)
    expected1 = spec.copy()
    expected1[6:8, 0:2, :] = fill
    assert np.array_equal(batch["spectrogram"][1], expected1)
    # frames 4-5 of 10 are samples 40..59 of 100
    muted = wave.copy()
    muted[40:60] = 0.0
    assert np.array_equal(batch["waveform"][0], muted)
    assert np.array_equal(batch["waveform"][1], wave)  # a partly hidden column keeps its waveform
    fixed = perturb_inputs({"spectrogram": spec, "waveform": wave}, cells_on, segments=segments,
                           fill=fill, waveform="fixed")
    assert np.array_equal(fixed["waveform"][0], wave)


# ---------------------------------------------------------------------------
# LIME's pieces, each against an independent computation
# ---------------------------------------------------------------------------

def test_sample_cells_on():
    on = sample_cells_on(24, 50, seed=5)
    assert on.shape == (50, 24) and on.dtype == np.int64
    assert np.all(on[0] == 1) and set(np.unique(on[1:])) == {0, 1}
    assert 0.4 < on[1:].mean() < 0.6
    assert np.array_equal(sample_cells_on(24, 50, seed=5), on)         # deterministic
    assert np.array_equal(sample_cells_on(24, 20, seed=5), on[:20])    # fewer samples: a prefix
    assert not np.array_equal(sample_cells_on(24, 50, seed=6), on)
    for bad in ((0, 5, 0), (5, 0, 0), (5, 5, -1), (5, 5, 1.5)):
        with pytest.raises(EmoInputError):
            sample_cells_on(*bad)


def test_lime_distances_and_kernel_closed_forms():
    on = sample_cells_on(30, 40, seed=2)
    on[5] = 0  # every cell off
    k = on.sum(axis=1)
    assert np.allclose(lime_distances(on), 1 - np.sqrt(k / 30), atol=1e-12)
    assert lime_distances(on)[0] == pytest.approx(0.0, abs=1e-12)
    d = np.linspace(0, 1, 11)
    assert np.allclose(lime_kernel(d, 0.25), np.exp(-d ** 2 / (2 * 0.25 ** 2)))
    assert np.allclose(lime_kernel(d, 0.7), np.exp(-d ** 2 / (2 * 0.7 ** 2)))
    with pytest.raises(EmoInputError, match="width"):
        lime_kernel(d, 0.0)
    with pytest.raises(EmoInputError):
        lime_distances(on * 3)


def weighted_ridge_by_hand(on, y, w, alpha):
    """min sum w (y - b - x.beta)^2 + alpha |beta|^2, solved with the normal equations."""
    x = on.astype(np.float64)
    x_mean, y_mean = np.average(x, axis=0, weights=w), np.average(y, weights=w)
    xc, yc = x - x_mean, y - y_mean
    beta = np.linalg.solve(xc.T @ (w[:, None] * xc) + alpha * np.eye(x.shape[1]), xc.T @ (w * yc))
    return beta, y_mean - x_mean @ beta


@pytest.mark.parametrize("alpha", [1.0, 0.0])
def test_surrogate_equals_weighted_least_squares_by_hand(alpha):
    rng = np.random.default_rng(3)
    on = sample_cells_on(12, 400, seed=1)
    true = rng.normal(size=12)
    y = 0.3 + on @ true + 0.05 * rng.normal(size=400)
    fit = fit_surrogate(on, y, ridge_alpha=alpha)
    w = np.exp(-(1 - np.sqrt(on.sum(1) / 12)) ** 2 / (2 * 0.25 ** 2))
    assert np.allclose(fit.sample_weights, w, atol=1e-12)
    beta, intercept = weighted_ridge_by_hand(on, y, w, alpha)
    assert np.allclose(fit.weights, beta, atol=1e-9)
    assert fit.intercept == pytest.approx(intercept, abs=1e-9)
    if alpha == 0.0:  # plain weighted least squares, by lstsq on sqrt(w)-scaled rows
        design = np.c_[np.ones(400), on] * np.sqrt(w)[:, None]
        coef = np.linalg.lstsq(design, y * np.sqrt(w), rcond=None)[0]
        assert np.allclose(fit.weights, coef[1:], atol=1e-9) and fit.intercept == pytest.approx(coef[0])
    residual = y - intercept - on @ beta
    r2 = 1 - np.sum(w * residual ** 2) / np.sum(w * (y - np.average(y, weights=w)) ** 2)
    assert fit.score == pytest.approx(r2, abs=1e-9)
    assert fit.local_prediction == pytest.approx(intercept + beta.sum(), abs=1e-9)
    # and it finds the true linear model (ridge shrinks it by a few per cent)
    assert np.allclose(fit.weights, true, rtol=0.05, atol=0.05)
    with pytest.raises(EmoInputError, match="one per sample"):
        fit_surrogate(on, y[:-1])


def test_library_explanation_is_the_by_hand_pipeline(spectrogram):
    """sample -> explained outputs -> surrogate gives explain_spectrogram's weights exactly."""
    model = time_local_model()
    inputs = {"spectrogram": spectrogram}
    segments = grid_segments(N_FRAMES, N_MELS, (5, 4))
    on = sample_cells_on(20, 64, seed=9)
    y = explained_outputs(model, inputs, on, segments=segments, frame=3, context_frames=1)
    # the model is the mean of the log-mel map over frames 20..49 (label frames 2..4)
    pixel_on = on[:, segments].astype(bool)
    masked = np.where(pixel_on, spectrogram[None, ..., 0], SILENT_LOG_MEL)
    assert np.allclose(y, masked[:, 20:50, :].mean(axis=(1, 2)), atol=1e-4)
    fit = fit_surrogate(on, y)
    explanation = explain_spectrogram(model, inputs, frame=3, context_frames=1, grid=(5, 4),
                                      num_samples=64, seed=9, progress=False)
    assert np.array_equal(explanation.weights.ravel(), fit.weights)
    assert explanation.intercept == fit.intercept and explanation.score == fit.score


def test_same_weights_as_stock_lime_image(spectrogram):
    """lime_image.LimeImageExplainer with the grid, the same seed and silence: the same weights."""
    model = time_local_model()
    inputs = {"spectrogram": spectrogram}
    segments = grid_segments(N_FRAMES, N_MELS, (5, 4))
    classifier_fn = make_classifier_fn(model, inputs, segments=segments, frame=3, context_frames=1)
    stock = lime_image.LimeImageExplainer(random_state=4).explain_instance(
        spectrogram[..., 0].astype(np.float64), classifier_fn, labels=(0,), hide_color=np.nan,
        top_labels=None, num_features=20, num_samples=40, batch_size=16,
        segmentation_fn=lambda image: segments.copy(), random_seed=4)
    stock_weights = np.zeros(20)
    for cell, weight in stock.local_exp[0]:
        stock_weights[cell] = weight
    ours = explain_spectrogram(model, inputs, frame=3, context_frames=1, grid=(5, 4), num_samples=40,
                               seed=4, progress=False)
    assert np.allclose(ours.weights.ravel(), stock_weights, atol=1e-9)
    assert ours.score == pytest.approx(stock.score, abs=1e-9)
    assert ours.intercept == pytest.approx(float(stock.intercept[0]), abs=1e-9)


# ---------------------------------------------------------------------------
# explain_spectrogram
# ---------------------------------------------------------------------------

def test_top_cell_is_the_region_the_model_reads(spectrogram):
    # grid 10 x 8 on 100 x 40: cells of 10 frames x 5 bands
    arousal_region = ((60, 70), (5, 10))   # cell (6, 1) = 49
    valence_region = ((30, 40), (20, 25))  # cell (3, 4) = 28
    model = region_model(arousal_region, valence_region)
    inputs = {"spectrogram": spectrogram}
    # The output is exactly linear in the on/off state of cell 28, so the unpenalised
    # surrogate recovers it exactly: showing the cell instead of silence raises the
    # output by (region mean - log(1e-6)); no other cell matters.
    valence = explain_spectrogram(model, inputs, frame=4, grid=(10, 8), num_samples=300,
                                  progress=False, ridge_alpha=0.0)
    assert isinstance(valence, SpectrogramExplanation)
    assert valence.weights.shape == (10, 8) and valence.segments.shape == (N_FRAMES, N_MELS)
    assert valence.top_cells(1)[0] == 28
    region = spectrogram[30:40, 20:25, 0]
    assert valence.weights[3, 4] == pytest.approx(region.mean() - SILENT_LOG_MEL, abs=1e-4)
    others = np.delete(valence.weights.ravel(), 28)
    assert np.max(np.abs(others)) < 1e-4
    assert valence.intercept == pytest.approx(SILENT_LOG_MEL, abs=1e-4)
    assert valence.prediction == pytest.approx(region.mean(), abs=1e-5)
    assert valence.score == pytest.approx(1.0, abs=1e-9)
    # LIME's default ridge penalty (alpha 1) shrinks the weight a little, never flips it
    shrunk = explain_spectrogram(model, inputs, frame=4, grid=(10, 8), num_samples=300,
                                 progress=False)
    assert 0.9 * valence.weights[3, 4] < shrunk.weights[3, 4] < valence.weights[3, 4]
    assert np.all(valence.hide_values[:, 0] == SILENT_LOG_MEL) and valence.hide == "silence"
    assert np.all(valence.weights.ravel()[valence.top_cells(positive_only=True)] > 0)
    negative = valence.top_cells(negative_only=True)
    assert np.all(np.diff(valence.weights.ravel()[negative]) >= 0)  # most negative first
    with pytest.raises(EmoInputError):
        valence.top_cells(positive_only=True, negative_only=True)
    mask = valence.mask(top_k=1, positive_only=True)
    assert mask.sum() == 50 and mask[30:40, 20:25].all()
    assert np.allclose(valence.heatmap()[30:40, 20:25], valence.weights[3, 4])

    arousal = explain_spectrogram(model, inputs, frame=4, dimension="arousal", grid=(10, 8),
                                  num_samples=300, progress=False)
    assert arousal.top_cells(1)[0] == 49


def test_marker_time_is_the_end_of_the_label_window(spectrogram):
    # 100 spectrogram frames (1 s) and T = 10 labels: step 0.1 s; window 4 covers [0.4, 0.5) s
    explanation = explain_spectrogram(time_local_model(), {"spectrogram": spectrogram}, frame=4,
                                      grid=(5, 4), num_samples=10, progress=False)
    assert explanation.label_step_s == pytest.approx(0.1)
    assert explanation.time_s == pytest.approx(0.5)        # the window's end, not its centre 0.45
    last = explain_spectrogram(time_local_model(), {"spectrogram": spectrogram}, frame=T - 1,
                               grid=(5, 4), num_samples=10, progress=False)
    assert last.time_s == pytest.approx(1.0)               # the last label sits at the segment's end


def test_explained_frame_selects_the_time_column(spectrogram):
    model = time_local_model()
    explanation = explain_spectrogram(model, {"spectrogram": spectrogram}, frame=6,
                                      context_frames=0, grid=(10, 4), num_samples=300,
                                      progress=False)
    top = explanation.top_cells(4)
    assert sorted(top // 4) == [6, 6, 6, 6]  # the four cells of time column 6 (frames 60..69)


def test_same_seed_same_explanation_other_seed_differs(spectrogram):
    model = time_local_model()
    kwargs = dict(frame=2, grid=(10, 4), num_samples=60, progress=False)
    first = explain_spectrogram(model, {"spectrogram": spectrogram}, seed=3, **kwargs)
    second = explain_spectrogram(model, {"spectrogram": spectrogram}, seed=3, **kwargs)
    other = explain_spectrogram(model, {"spectrogram": spectrogram}, seed=4, **kwargs)
    assert np.array_equal(first.weights, second.weights)
    assert first.intercept == second.intercept and first.score == second.score
    assert not np.array_equal(first.weights, other.weights)


def test_frame_mask_is_supplied_and_padding_left_out(spectrogram):
    model = masked_time_local_model()
    full = predict_segment(model, {"spectrogram": spectrogram})  # mask of ones supplied
    expected = spectrogram[..., 0].reshape(T, 10, N_MELS).mean(axis=(1, 2))
    assert np.allclose(full[:, 1], expected, atol=1e-5)
    frame_mask = np.ones(T, np.float32)
    frame_mask[7:] = 0
    padded = predict_segment(model, {"spectrogram": spectrogram, "frame_mask": frame_mask})
    assert np.allclose(padded[7:, 1], expected[7:] + 100, atol=1e-4)  # the model saw the mask
    # the explained quantity at frame 6 +- 2 averages the real frames 4..6 only
    inputs = {"spectrogram": spectrogram, "frame_mask": frame_mask}
    explanation = explain_spectrogram(model, inputs, frame=6, grid=(10, 4), num_samples=200,
                                      progress=False)
    assert explanation.prediction == pytest.approx(expected[4:7].mean(), abs=1e-5)
    assert set(explanation.top_cells(12) // 4) == {4, 5, 6}
    with pytest.raises(EmoInputError, match="padding"):
        explain_spectrogram(model, inputs, frame=8, num_samples=10, progress=False)
    with pytest.raises(EmoInputError, match="0 .padding."):
        predict_segment(model, {"spectrogram": spectrogram, "frame_mask": np.full(T, 0.5)})
    with pytest.raises(EmoInputError, match="steps"):
        predict_segment(model, {"spectrogram": spectrogram, "frame_mask": np.ones(T + 1)})


def test_per_conversation_models_need_their_silence(spectrogram):
    model = region_model(((0, 10), (0, 5)), ((30, 40), (20, 25)),
                         extra_layer="spectrogram_normalised_per_conversation")
    with pytest.raises(EmoInputError, match="silent_frame"):
        explain_spectrogram(model, {"spectrogram": spectrogram}, frame=1, progress=False)
    mean, std = np.full((N_MELS, 3), -5.0), np.full((N_MELS, 3), 2.0)
    silence = silent_frame(mean, std)
    explanation = explain_spectrogram(model, {"spectrogram": spectrogram}, frame=1, grid=(10, 8),
                                      num_samples=200, silence=silence, progress=False,
                                      ridge_alpha=0.0)
    assert np.allclose(explanation.hide_values, silence)
    region = spectrogram[30:40, 20:25, 0]
    assert silence[0, 0] == pytest.approx((np.log(1e-6) + 5.0) / 2.0, abs=1e-5)
    assert explanation.weights[3, 4] == pytest.approx(region.mean() - silence[0, 0], abs=1e-4)


def test_save_and_load(tmp_path, spectrogram):
    model = time_local_model()
    explanation = explain_spectrogram(model, {"spectrogram": spectrogram}, frame=2, grid=(5, 4),
                                      num_samples=20, progress=False)
    path = explanation.save(tmp_path / "lime.npz")
    loaded = SpectrogramExplanation.load(path)
    assert np.array_equal(loaded.weights, explanation.weights)
    assert loaded.frame == 2 and loaded.dimension == "valence" and loaded.hide == "silence"
    assert isinstance(loaded.time_s, float) and loaded.seed == explanation.seed
    assert loaded.kernel_width == 0.25 and loaded.label_step_s == pytest.approx(0.1)
    # a file written before the kernel, penalty and step were stored still loads
    old = {name: value for name, value in np.load(path).items()
           if name not in ("kernel_width", "ridge_alpha", "label_step_s")}
    np.savez(tmp_path / "old.npz", **old)
    assert np.isnan(SpectrogramExplanation.load(tmp_path / "old.npz").label_step_s)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(EmoInputError, match="bad.npz"):
        SpectrogramExplanation.load(tmp_path / "bad.npz")


@pytest.mark.parametrize("frame", [-1, T, 2.5])
def test_bad_frame(frame, spectrogram):
    with pytest.raises(EmoInputError, match="frame"):
        explain_spectrogram(time_local_model(), {"spectrogram": spectrogram}, frame=frame,
                            num_samples=10, progress=False)


def test_bad_inputs(spectrogram):
    model = time_local_model()
    with pytest.raises(EmoInputError, match="shape"):
        explain_spectrogram(model, {"spectrogram": spectrogram[:50]}, frame=1, progress=False)
    with pytest.raises(EmoInputError, match="batch axis"):
        explain_spectrogram(model, {"spectrogram": spectrogram[None]}, frame=1, progress=False)
    with pytest.raises(EmoInputError, match="lack waveform"):
        explain_spectrogram(region_model(((0, 10), (0, 5)), ((0, 10), (0, 5)), with_waveform=True),
                            {"spectrogram": spectrogram}, frame=1, progress=False)
    with pytest.raises(EmoInputError, match="dimension"):
        explain_spectrogram(model, {"spectrogram": spectrogram}, frame=1, dimension="dominance")
    with pytest.raises(EmoInputError, match="num_samples"):
        explain_spectrogram(model, {"spectrogram": spectrogram}, frame=1, num_samples=1)
    bad = spectrogram.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(EmoInputError, match="NaN"):
        explain_spectrogram(model, {"spectrogram": bad}, frame=1, progress=False)


# ---------------------------------------------------------------------------
# Stability
# ---------------------------------------------------------------------------

def test_compare_explanations_by_hand():
    a = np.array([5.0, -4.0, 3.0, 0.1, 0.0, 0.0])   # top 3: {0, 1, 2}
    b = np.array([5.0, 4.0, 0.0, 0.0, 3.0, 0.2])    # top 3: {0, 1, 4}; cell 1 flips sign
    c = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 3.0])    # top 3: {5, 4, 3}
    table = compare_explanations({(0, 100): a, (1, 100): b, (0, 300): c}, top_k=3)
    assert list(table["comparison"]) == ["num_samples", "seeds"]  # (1, 100) vs (0, 300): neither
    seeds = table[table.comparison == "seeds"].iloc[0]
    assert (seeds.seed_a, seeds.seed_b, seeds.num_samples_a) == (0, 1, 100)
    assert seeds.jaccard == pytest.approx(2 / 4) and seeds.n_common == 2
    assert seeds.sign_agreement == pytest.approx(1 / 2)
    assert seeds.weight_correlation == pytest.approx(np.corrcoef(a, b)[0, 1])
    counts = table[table.comparison == "num_samples"].iloc[0]
    assert (counts.num_samples_a, counts.num_samples_b) == (100, 300)
    assert counts.jaccard == 0.0 and np.isnan(counts.sign_agreement)
    with pytest.raises(EmoInputError, match="top_k"):
        compare_explanations({(0, 100): a, (1, 100): b}, top_k=7)
    with pytest.raises(EmoInputError, match="cells"):
        compare_explanations({(0, 100): a, (1, 100): b[:5]})


def test_lime_stability(spectrogram):
    # one dominant cell: every seed and sample count finds it (Jaccard 1 at top_k = 1)
    model = region_model(((60, 70), (5, 10)), ((30, 40), (20, 25)))
    inputs = {"spectrogram": spectrogram}
    table = lime_stability(model, inputs, frame=4, seeds=(0, 1, 2), num_samples=(32, 64), top_k=1,
                           grid=(10, 8), batch_size=32)
    assert len(table) == 3 * 2 + 3 * 1  # seed pairs at each count, count pairs at each seed
    assert set(table.comparison) == {"seeds", "num_samples"}
    assert np.all(table.jaccard == 1.0) and np.all(table.sign_agreement == 1.0)
    # the shared forward passes give what explain_spectrogram gives for each (seed, count)
    explanations = explanations_by_seed(model, inputs, frame=4, seeds=(0, 2), num_samples=(32, 64),
                                        grid=(10, 8), batch_size=32)
    alone = explain_spectrogram(model, inputs, frame=4, seed=2, num_samples=32, grid=(10, 8),
                                batch_size=32, progress=False)
    assert np.allclose(explanations[(2, 32)].weights, alone.weights, atol=1e-6)
    assert explanations[(2, 32)].num_samples == 32 and explanations[(2, 64)].seed == 2
    with pytest.raises(EmoInputError, match="distinct"):
        lime_stability(model, inputs, frame=4, seeds=(0, 0))


# ---------------------------------------------------------------------------
# The project's models
# ---------------------------------------------------------------------------

def test_paper_models_tiny_preset():
    """The project's S and W+S models (tiny preset, with and without frame_mask) end to end."""
    rng = np.random.default_rng(1)
    keras.utils.set_random_seed(0)
    s_model = build_model("S", 20, preset="tiny")
    assert "frame_mask" in [t.name for t in s_model.inputs]
    spec = rng.normal(size=(600, 40, 3)).astype(np.float32)
    wave = rng.normal(size=(96000, 1)).astype(np.float32)
    trace = predict_segment(s_model, {"spectrogram": spec})
    assert trace.shape == (300, 2)
    frame = choose_crest(trace[:, 1])
    explanation = explain_spectrogram(s_model, {"spectrogram": spec}, frame=frame, num_samples=16,
                                      batch_size=8, progress=False)
    assert explanation.weights.shape == (30, 8) and np.all(np.isfinite(explanation.weights))
    assert explanation.prediction == pytest.approx(
        float(trace[max(frame - 2, 0):frame + 3, 1].mean()), abs=1e-5)
    assert explanation.time_s == pytest.approx((frame + 1) * 0.02)
    assert explanation.waveform == "none"

    unmasked = build_model("S", 20, preset="tiny", frame_mask=False)
    assert "frame_mask" not in [t.name for t in unmasked.inputs]
    assert predict_segment(unmasked, {"spectrogram": spec}).shape == (300, 2)

    ws_model = build_model("WS", 20, preset="tiny")
    both = explain_spectrogram(ws_model, {"spectrogram": spec, "waveform": wave}, frame=150,
                               num_samples=8, batch_size=8, progress=False,
                               waveform="mute_time_cells")
    assert both.weights.shape == (30, 8) and both.waveform == "mute_time_cells"
    with pytest.raises(EmoInputError, match="no 'spectrogram' input"):
        explain_spectrogram(build_model("W", 20, preset="tiny"), {"waveform": wave}, frame=1)


# ---------------------------------------------------------------------------
# Reading an explanation
# ---------------------------------------------------------------------------

def test_cell_table_places_every_cell_in_seconds_and_hz(spectrogram):
    from emo_lib.explain import cell_table
    from emo_lib.plots import mel_band_centres

    # valence reads frames 30..39, bands 20..24: the cell (time 3, mel 4) of a 10 x 8 grid
    model = region_model(((60, 70), (5, 10)), ((30, 40), (20, 25)))
    explanation = explain_spectrogram(model, {"spectrogram": spectrogram}, frame=4, grid=(10, 8),
                                      num_samples=64, progress=False)
    table = cell_table(explanation)
    assert len(table) == 80 and list(table.cell) == list(range(80))
    assert np.array_equal(table.weight.to_numpy(), explanation.weights.ravel())
    top = table.loc[table["rank"] == 1].iloc[0]
    assert int(top.cell) == int(explanation.top_cells(1)[0]) == 3 * 8 + 4
    assert (top.time_cell, top.mel_cell) == (3, 4) and top.weight > 0  # hearing it raises valence
    assert top.start_s == pytest.approx(0.30) and top.end_s == pytest.approx(0.40)
    centres = mel_band_centres(40)
    assert top.low_hz == pytest.approx(centres[20]) and top.high_hz == pytest.approx(centres[24])
    assert sorted(table["rank"]) == list(range(1, 81))
    order = table.sort_values("rank").cell.to_numpy()
    assert np.array_equal(order[:len(explanation.top_cells())], explanation.top_cells())
    assert table.start_s.min() == 0 and table.end_s.max() == pytest.approx(1.0)
    with pytest.raises(EmoInputError, match="SpectrogramExplanation"):
        cell_table(object())
