"""Tests of emo_lib.explain: crest choice, grid, perturbed inputs, LIME explanations."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from lime import lime_image

from emo_lib.errors import EmoInputError
from emo_lib.explain import (
    SpectrogramExplanation,
    choose_crest,
    explain_spectrogram,
    grid_segments,
    hide_values,
    make_classifier_fn,
    perturb_inputs,
    predict_segment,
)
from emo_lib.models import build_model

N_FRAMES, N_MELS, T = 100, 40, 10


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


def region_model(arousal_region, valence_region, *, with_waveform=False):
    """Arousal = mean of one region, valence = mean of another, the same at every frame."""
    spec = keras.Input((N_FRAMES, N_MELS, 3), name="spectrogram")
    arousal = _region_mean(spec, *arousal_region, name="arousal")
    valence = _region_mean(spec, *valence_region, name="valence")
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
# Grid, hide values, perturbed inputs
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
    assert np.allclose(hide_values(spectrogram, "floor"), spectrogram.min(axis=(0, 1)))
    assert np.allclose(hide_values(spectrogram, "silence"), [spectrogram[..., 0].min(), 0, 0])
    assert np.allclose(hide_values(spectrogram, "zero"), 0)
    assert np.allclose(hide_values(spectrogram, -3.0), -3.0)
    assert np.allclose(hide_values(spectrogram, (1, 2, 3)), [1, 2, 3])
    for bad in ("mean", (1, 2), np.nan):
        with pytest.raises(EmoInputError):
            hide_values(spectrogram, bad)


def test_perturb_inputs_masks_the_same_cells_in_every_map_and_mutes_whole_columns():
    rng = np.random.default_rng(0)
    spec = rng.normal(size=(10, 4, 3)).astype(np.float32)
    wave = rng.normal(size=(100, 1)).astype(np.float32)
    segments = grid_segments(10, 4, (5, 2))  # cells of 2 frames x 2 bands
    fill = np.array([-9.0, -8.0, -7.0], dtype=np.float32)
    cells_on = np.ones((2, 10), dtype=bool)
    cells_on[0, [4, 5]] = False  # time column 2 (frames 4-5) entirely off
    cells_on[1, 6] = False       # one cell of time column 3 off
    batch = perturb_inputs({"spectrogram": spec, "waveform": wave}, cells_on, segments=segments,
                           fill=fill, waveform="mute_time_cells")
    assert batch["spectrogram"].shape == (2, 10, 4, 3) and batch["waveform"].shape == (2, 100, 1)
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


def test_vectorised_sampling_matches_lime(spectrogram):
    """Our data_labels draws the same samples and builds the same images as lime 0.2.0.1's."""
    from emo_lib.explain import _lime_explainer_class

    model = time_local_model()
    segments = grid_segments(N_FRAMES, N_MELS, (5, 4))
    fill = hide_values(spectrogram, "floor")
    classifier_fn = make_classifier_fn(model, {"spectrogram": spectrogram}, segments=segments,
                                       fill=fill, frame=3, dimension="valence", context_frames=1)
    image = np.stack([spectrogram[..., 0].astype(np.float64)] * 3, axis=-1)
    fudged = np.full_like(image, np.nan)
    stock = lime_image.LimeImageExplainer(random_state=5)
    ours = _lime_explainer_class()(random_state=5)
    ours.progress = False
    data_a, labels_a = stock.data_labels(image, fudged, segments, classifier_fn, 24, batch_size=7)
    data_b, labels_b = ours.data_labels(image, fudged, segments, classifier_fn, 24, batch_size=7)
    assert np.array_equal(data_a, data_b)
    assert np.allclose(labels_a, labels_b, atol=1e-6)
    # and the values are the model on the masked input: an independent computation
    pixel_on = data_a[:, segments].astype(bool)
    masked = np.where(pixel_on, spectrogram[None, ..., 0], fill[0])
    expected = masked[:, 20:50, :].mean(axis=(1, 2))  # label frames 2..4 = spectrogram frames 20..49
    assert np.allclose(labels_a[:, 0], expected, atol=1e-4)


# ---------------------------------------------------------------------------
# explain_spectrogram
# ---------------------------------------------------------------------------

def test_top_cell_is_the_region_the_model_reads(spectrogram):
    # grid 10 x 8 on 100 x 40: cells of 10 frames x 5 bands
    arousal_region = ((60, 70), (5, 10))   # cell (6, 1) = 49
    valence_region = ((30, 40), (20, 25))  # cell (3, 4) = 28
    model = region_model(arousal_region, valence_region)
    inputs = {"spectrogram": spectrogram}
    valence = explain_spectrogram(model, inputs, frame=4, grid=(10, 8), num_samples=300,
                                  progress=False)
    assert isinstance(valence, SpectrogramExplanation)
    assert valence.weights.shape == (10, 8) and valence.segments.shape == (N_FRAMES, N_MELS)
    assert valence.top_cells(1)[0] == 28
    # showing the cell instead of the floor raises the mean by (region mean - floor)
    region = spectrogram[30:40, 20:25, 0]
    assert valence.weights[3, 4] == pytest.approx(region.mean() - spectrogram[..., 0].min(), rel=0.05)
    others = np.delete(valence.weights.ravel(), 28)
    assert np.max(np.abs(others)) < 0.05 * valence.weights[3, 4]
    assert valence.prediction == pytest.approx(region.mean(), abs=1e-5)
    assert valence.score > 0.95
    assert np.all(valence.weights.ravel()[valence.top_cells(positive_only=True)] > 0)
    negative = valence.top_cells(negative_only=True)
    assert np.all(np.diff(valence.weights.ravel()[negative]) >= 0)  # most negative first
    with pytest.raises(EmoInputError):
        valence.top_cells(positive_only=True, negative_only=True)
    mask = valence.mask(top_k=1, positive_only=True)
    assert mask.sum() == 50 and mask[30:40, 20:25].all()
    assert np.allclose(valence.heatmap()[30:40, 20:25], valence.weights[3, 4])
    assert valence.time_s == pytest.approx(4.5 * N_FRAMES * 0.01 / T)

    arousal = explain_spectrogram(model, inputs, frame=4, dimension="arousal", grid=(10, 8),
                                  num_samples=300, progress=False)
    assert arousal.top_cells(1)[0] == 49


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


def test_save_and_load(tmp_path, spectrogram):
    model = time_local_model()
    explanation = explain_spectrogram(model, {"spectrogram": spectrogram}, frame=2, grid=(5, 4),
                                      num_samples=20, progress=False)
    path = explanation.save(tmp_path / "lime.npz")
    loaded = SpectrogramExplanation.load(path)
    assert np.array_equal(loaded.weights, explanation.weights)
    assert loaded.frame == 2 and loaded.dimension == "valence" and loaded.hide == "floor"
    assert isinstance(loaded.time_s, float) and loaded.seed == explanation.seed
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
    bad = spectrogram.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(EmoInputError, match="NaN"):
        explain_spectrogram(model, {"spectrogram": bad}, frame=1, progress=False)


def test_paper_models_tiny_preset():
    """The project's S and W+S models (tiny preset) are explained end to end."""
    rng = np.random.default_rng(1)
    keras.utils.set_random_seed(0)
    s_model = build_model("S", 20, preset="tiny")
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
    assert explanation.time_s == pytest.approx((frame + 0.5) * 0.02)
    assert explanation.waveform == "none"

    ws_model = build_model("WS", 20, preset="tiny")
    both = explain_spectrogram(ws_model, {"spectrogram": spec, "waveform": wave}, frame=150,
                               num_samples=8, batch_size=8, progress=False,
                               waveform="mute_time_cells")
    assert both.weights.shape == (30, 8) and both.waveform == "mute_time_cells"
    with pytest.raises(EmoInputError, match="no 'spectrogram' input"):
        explain_spectrogram(build_model("W", 20, preset="tiny"), {"waveform": wave}, frame=1)
