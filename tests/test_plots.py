"""Tests of emo_lib.plots: every figure writes a PNG of the expected size and draws what it says."""

from __future__ import annotations

import struct

import keras
import librosa
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import CenteredNorm, to_rgba
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation

from emo_lib import plots
from emo_lib.errors import EmoInputError
from emo_lib.explain import SpectrogramExplanation, compare_explanations, grid_segments
from emo_lib.models import build_model

LABEL = "synthetic stand-in (SEMAINE layout)"
T = 300
TIMES = (np.arange(T) + 1) * 0.02  # label times: the end of each 20 ms window


def png_size(path):
    """(width, height) in pixels from the PNG header (IHDR chunk)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def check_png(fig, path):
    assert path.exists() and path.stat().st_size > 1000
    width, height = fig.get_size_inches() * plots.DPI
    assert png_size(path) == (int(round(width)), int(round(height)))


def main_axes(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def colour_bars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def clear_of(fig, legend, axes):
    """True when the legend's drawn box overlaps none of the axes' data areas."""
    fig.draw_without_rendering()
    box = legend.get_window_extent()
    return not any(box.overlaps(ax.get_window_extent()) for ax in axes)


def ccc_by_hand(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    covariance = np.mean((x - x.mean()) * (y - y.mean()))
    return 2 * covariance / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)


@pytest.fixture(scope="module")
def segment():
    rng = np.random.default_rng(3)
    wave = rng.normal(size=96000).astype(np.float32)
    spec = rng.normal(size=(600, 40, 3)).astype(np.float32)
    return wave, spec


@pytest.fixture(scope="module")
def traces():
    truth = 0.3 * np.sin(TIMES)
    predictions = {"W": truth + 0.1 * np.cos(3 * TIMES), "S": truth - 0.1, "WS": 0.9 * truth}
    return truth, predictions


def test_resolution_is_modest():
    assert 100 <= plots.DPI <= 120


def test_mel_axis_ticks_are_band_centres_of_the_features_filterbank(segment):
    _, spec = segment
    centres = plots.mel_band_centres(40)
    # independent: the peak of each row of the filterbank emo_lib.features applies (25 ms FFT)
    bank = librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)
    peaks = librosa.fft_frequencies(sr=16000, n_fft=400)[bank.argmax(axis=1)]
    assert np.all(np.abs(centres - peaks) <= 40.0) and np.all(np.diff(centres) > 0)
    fig = plots.plot_segment(spec[:, 0, 0].repeat(160), spec, TIMES, np.zeros((T, 2)), corpus_label=LABEL)
    ax = main_axes(fig)[1]
    ticks = ax.get_yticks()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    bands = (ticks - 0.5).astype(int)
    assert np.allclose(ticks, bands + 0.5) and bands[0] == 0 and bands[-1] == 39
    assert labels == [f"{centres[b]:.0f}" for b in bands]
    assert "Hz" in ax.get_ylabel()


# ---------------------------------------------------------------------------
# Figure 1
# ---------------------------------------------------------------------------

def box_texts(fig):
    return [t.get_text() for t in fig.axes[-1].texts if t.get_text()]


@pytest.mark.parametrize("variant", ["W", "S", "WS", "WSG"])
def test_figure1_lists_every_layer(variant, segment, tmp_path):
    wave, spec = segment
    model = build_model(variant, 20, preset="tiny")
    path = tmp_path / f"fig1_{variant}.png"
    fig = plots.figure1_architecture(model, {"waveform": wave, "spectrogram": spec}, path,
                                     corpus_label=LABEL)
    check_png(fig, path)
    texts = box_texts(fig)
    first_lines = [text.split("\n")[0] for text in texts]
    assert sorted(first_lines) == sorted(op.name for op in model.operations)
    # each box shows the layer's output shape without the batch axis
    for layer in model.layers:
        shape = " x ".join(str(d) for d in layer.output.shape[1:])
        assert any(t.startswith(layer.name + "\n") and t.endswith(shape) for t in texts)
    # one example-input panel per data input (frame_mask gets none), above the diagram
    data_inputs = [t.name for t in model.inputs if t.name != "frame_mask"]
    assert len(main_axes(fig)) == len(data_inputs) + 1
    for bar in colour_bars(fig):
        assert bar.get_ylabel()  # every colour bar labelled
    assert LABEL in fig._suptitle.get_text()
    assert f"{model.count_params():,} parameters" in fig._suptitle.get_text()
    if variant == "WSG":
        assert fig._suptitle.get_text().startswith("W+S gated model")


def test_figure1_places_towers_left_and_right_and_frame_mask_aside(segment):
    wave, spec = segment
    model = build_model("WS", 20, preset="tiny")
    fig = plots.figure1_architecture(model, {"waveform": wave, "spectrogram": spec},
                                     corpus_label=LABEL)
    x_of = {t.get_text().split("\n")[0]: t.get_position()[0] for t in fig.axes[-1].texts
            if t.get_text()}
    y_of = {t.get_text().split("\n")[0]: t.get_position()[1] for t in fig.axes[-1].texts
            if t.get_text()}
    assert x_of["wave_conv1"] < x_of["fusion"] < x_of["spec_conv1"]
    assert x_of["fusion"] == x_of["blstm1"] == x_of["emotion"]
    assert x_of["waveform"] == x_of["wave_to_steps"]
    # frame_mask: a side box right of everything, level with the layer that takes it
    assert x_of["frame_mask"] > x_of["spec_conv1"] + 0.1
    assert y_of["frame_mask"] <= y_of["frame_masking"]
    # without the mask input the layout is the plain two-tower one, centred
    plain = build_model("WS", 20, preset="tiny", frame_mask=False)
    fig = plots.figure1_architecture(plain, {"waveform": wave, "spectrogram": spec})
    x_of = {t.get_text().split("\n")[0]: t.get_position()[0] for t in fig.axes[-1].texts
            if t.get_text()}
    assert "frame_mask" not in x_of and x_of["fusion"] == 0.5


def test_figure1_paper_preset_states_its_parameter_count(segment):
    wave, spec = segment
    model = build_model("WS", 20, preset="paper")
    fig = plots.figure1_architecture(model, {"waveform": wave, "spectrogram": spec},
                                     corpus_label=LABEL)
    assert "4,762,834 parameters" in fig._suptitle.get_text()
    texts = box_texts(fig)
    assert any(t.startswith("blstm1\n") and "256-cell" in t and t.endswith("300 x 512") for t in texts)
    assert any(t.startswith("wave_conv2\n") and "kernel 800" in t and t.endswith("48000 x 40")
               for t in texts)


def test_figure1_needs_the_model_inputs(segment):
    wave, spec = segment
    fig = plots.figure1_architecture(build_model("S", 20, preset="tiny"), {"spectrogram": spec})
    assert "parameters" in fig._suptitle.get_text() and "example inputs" not in fig._suptitle.get_text()
    with pytest.raises(EmoInputError, match="spectrogram"):
        plots.figure1_architecture(build_model("S", 20, preset="tiny"), {"waveform": wave},
                                   corpus_label=LABEL)
    with pytest.raises(EmoInputError, match="functional"):
        plots.figure1_architecture(object(), {"spectrogram": spec})


def test_figure1_other_functional_model():
    """A model built elsewhere, with an operation that is not a layer, is drawn from its config."""
    wave_in = keras.Input((160, 1), name="waveform")
    spec_in = keras.Input((10, 40, 3), name="spectrogram")
    a = keras.layers.Conv1D(2, 3, padding="same", name="wave_conv1")(wave_in)
    a = keras.layers.Dropout(0.5, name="dropout")(a)
    a = keras.layers.Reshape((5, 64), name="wave_to_steps")(a)
    b = keras.layers.Reshape((5, 240), name="spec_to_steps")(spec_in)
    b = keras.ops.multiply(b, 2.0)
    fused = keras.layers.Concatenate(name="fusion")([a, b])
    model = keras.Model({"waveform": wave_in, "spectrogram": spec_in},
                        keras.layers.Dense(2, name="emotion")(fused), name="stand_in")
    rng = np.random.default_rng(0)
    fig = plots.figure1_architecture(model, {"waveform": rng.normal(size=160),
                                             "spectrogram": rng.normal(size=(10, 40, 3))},
                                     corpus_label=LABEL)
    texts = {t.get_text().split("\n")[0]: t for t in fig.axes[-1].texts if t.get_text()}
    x_of = {name: text.get_position()[0] for name, text in texts.items()}
    multiply = next(name for name in x_of if name.startswith("multiply"))
    assert set(x_of) == {op.name for op in model.operations}
    assert x_of[multiply] > 0.5 and x_of["dropout"] < 0.5 and x_of["emotion"] == 0.5
    assert texts[multiply].get_text().endswith("5 x 240") and texts["emotion"].get_text().endswith("5 x 2")
    # the arrows are the graph's 8 edges: wave->conv->dropout->reshape, spec->reshape->multiply,
    # both into fusion, fusion->emotion
    arrows = [t for t in fig.axes[-1].texts if isinstance(t, Annotation) and not t.get_text()]
    assert len(arrows) == 8
    assert "stand_in" in fig._suptitle.get_text()


# ---------------------------------------------------------------------------
# Figures 2 and 3
# ---------------------------------------------------------------------------

PAPER_STYLES = [("truth", "-"), ("W", "--"), ("S", ":"), ("WS", "-.")]


def check_paper_lines(ax):
    lines = ax.get_lines()[:4]
    for line, (key, style) in zip(lines, PAPER_STYLES):
        assert line.get_linestyle() == style
        assert to_rgba(line.get_color()) == to_rgba(plots.LINE_STYLES[key]["color"])
        assert line.get_label().startswith(plots.MODEL_LABELS[key])


def test_figure2_lines_words_and_ccc(traces, tmp_path):
    truth, predictions = traces
    words = [(0.1, 0.6, "EHH"), (4.6, 5.0, "FRIGGING")]
    path = tmp_path / "fig2.png"
    fig = plots.figure2_arousal(TIMES, truth, predictions, words=words, corpus_label=LABEL, path=path)
    check_png(fig, path)
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 4
    check_paper_lines(ax)
    assert np.allclose(ax.get_lines()[3].get_ydata(), predictions["WS"])
    assert "arousal" in ax.get_ylabel()
    # each model's CCC on the segment, in its legend entry, from the arrays passed in
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    for key, label in zip(("W", "S", "WS"), labels[1:]):
        assert label == f"{plots.MODEL_LABELS[key]}: CCC {ccc_by_hand(truth, predictions[key]):.3f}"
    assert clear_of(fig, ax.get_legend(), fig.axes)
    strip_words = [t.get_text() for t in fig.axes[1].texts]
    assert strip_words == ["EHH", "FRIGGING"]
    assert fig.axes[1].get_xlabel() == "time (s)"
    assert LABEL in fig._suptitle.get_text()


def test_figure2_ccc_on_valid_frames_only(traces):
    truth, predictions = traces
    truth = truth.copy()
    truth[:20] = np.nan                       # unlabelled frames
    mask = np.ones(T)
    mask[250:] = 0                            # padding
    broken = predictions["S"].copy()
    broken[260:] = 50.0                       # nonsense in the padding must not count
    fig = plots.figure2_arousal(TIMES, truth, {"S": broken}, corpus_label=LABEL, mask=mask)
    legend = fig.axes[0].get_legend()
    expected = ccc_by_hand(truth[20:250], broken[20:250])
    assert legend.get_texts()[1].get_text() == f"S only: CCC {expected:.3f}"
    assert "230 labelled frames" in legend.get_title().get_text()
    with pytest.raises(EmoInputError, match="mask"):
        plots.figure2_arousal(TIMES, truth, predictions, corpus_label=LABEL, mask=np.full(T, 0.5))


def test_figure2_without_words_and_subset(traces):
    truth, predictions = traces
    fig = plots.figure2_arousal(TIMES, truth, {"W+S": predictions["WS"]}, corpus_label=LABEL)
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 2
    assert fig.axes[0].get_lines()[1].get_linestyle() == "-."


def hand_made_explanation():
    """An explanation with known weights (as explain_spectrogram returns them)."""
    weights = np.zeros((30, 8))
    weights[24, 6] = 0.5   # frames 480..499, bands 30..34
    weights[10, 1] = 0.2   # frames 200..219, bands 5..9
    weights[3, 3] = -0.4   # frames 60..79, bands 15..19: lowers the output
    return SpectrogramExplanation(
        weights=weights, segments=grid_segments(600, 40, (30, 8)), frame=235, time_s=4.72,
        dimension="valence", prediction=-0.2, intercept=-0.5, score=0.8, local_prediction=-0.21,
        num_samples=1000, seed=0, context_frames=2, hide_values=np.zeros((40, 3), np.float32),
        hide="silence", waveform="none", time_edges=np.arange(0, 601, 20),
        mel_edges=np.arange(0, 41, 5), label_step_s=0.02)


def outlined(ax):
    """(x0 s, band0) of every outlined cell."""
    return sorted((round(p.get_x(), 6), round(p.get_y(), 6)) for p in ax.patches
                  if isinstance(p, Rectangle) and not p.get_fill())


def check_signed_panel(fig, ax, explanation):
    background, overlay = ax.images
    assert isinstance(overlay.norm, CenteredNorm) and overlay.norm.vcenter == 0.0
    assert overlay.norm.halfrange == pytest.approx(np.max(np.abs(explanation.weights)))
    assert overlay.get_cmap().name == plots.DIVERGING_CMAP
    assert np.array_equal(np.asarray(overlay.get_array()), explanation.heatmap().T)
    bar = next(b for b in colour_bars(fig) if "LIME weight" in b.get_ylabel())
    assert "raises" in bar.get_ylabel() and "lowers" in bar.get_ylabel()
    assert "Hz" in ax.get_ylabel() and ax.get_xlabel().endswith("(s)")


def test_figure3_with_signed_lime_panel(traces, segment, tmp_path):
    truth, predictions = traces
    _, spec = segment
    explanation = hand_made_explanation()
    path = tmp_path / "fig3.png"
    fig = plots.figure3_valence(TIMES, truth, predictions, explanation, spec,
                                words=[(4.6, 5.0, "FRIGGING")], corpus_label=LABEL, path=path,
                                top_k=2)
    check_png(fig, path)
    top, _, lime_ax = main_axes(fig)
    check_paper_lines(top)
    assert len(top.get_lines()) == 5  # four traces and the explained time
    # the explained time: the end of label window 235 in both panels
    assert np.allclose(top.get_lines()[4].get_xdata(), TIMES[235]) and TIMES[235] == pytest.approx(4.72)
    assert np.allclose(lime_ax.get_lines()[0].get_xdata(), 4.72)
    check_signed_panel(fig, lime_ax, explanation)
    # the two cells of largest |weight|: (24, 6) at 4.8 s band 30 and (3, 3) at 0.6 s band 15
    assert outlined(lime_ax) == [(0.6, 15.0), (4.8, 30.0)]
    assert "2 cells" in lime_ax.get_title() and "4.72 s" in lime_ax.get_title()
    assert clear_of(fig, top.get_legend(), main_axes(fig))
    assert "CCC" in top.get_legend().get_title().get_text()

    # what raises the output, what lowers it
    fig = plots.figure3_valence(TIMES, truth, predictions, explanation, spec, corpus_label=LABEL,
                                highlight="positive", top_k=5)
    assert outlined(main_axes(fig)[-1]) == [(2.0, 5.0), (4.8, 30.0)]  # only two positive cells
    fig = plots.figure3_valence(TIMES, truth, predictions, explanation, spec, corpus_label=LABEL,
                                highlight="negative")
    lime_ax = main_axes(fig)[-1]
    assert outlined(lime_ax) == [(0.6, 15.0)]
    assert "1 cell (" in lime_ax.get_title() and "lower" in lime_ax.get_title()
    with pytest.raises(EmoInputError, match="highlight"):
        plots.figure3_valence(TIMES, truth, predictions, explanation, spec, corpus_label=LABEL,
                              highlight="all")


def test_plot_explanation(segment, tmp_path):
    _, spec = segment
    explanation = hand_made_explanation()
    path = tmp_path / "lime.png"
    fig = plots.plot_explanation(explanation, spec, path, corpus_label=LABEL, top_k=2,
                                 title="W+S valence, waveform held fixed", explained_model="WS")
    check_png(fig, path)
    top, bottom = main_axes(fig)
    assert len(colour_bars(fig)) == 2 and all(bar.get_ylabel() for bar in colour_bars(fig))
    assert np.array_equal(np.asarray(top.images[0].get_array()), spec[..., 0].T)
    assert outlined(top) == outlined(bottom) == [(0.6, 15.0), (4.8, 30.0)]
    assert np.allclose(top.get_lines()[0].get_xdata(), 4.72)
    check_signed_panel(fig, bottom, explanation)
    assert "W + S model's valence output at 4.72 s" in bottom.get_title()
    assert "W+S valence, waveform held fixed" in fig._suptitle.get_text()
    assert LABEL in fig._suptitle.get_text()
    with pytest.raises(EmoInputError, match="does not match"):
        plots.plot_explanation(explanation, spec[:300], corpus_label=LABEL)
    with pytest.raises(EmoInputError, match="SpectrogramExplanation"):
        plots.plot_explanation(object(), spec, corpus_label=LABEL)


def test_figure3_without_explanation_and_bad_input(traces, segment):
    truth, predictions = traces
    fig = plots.figure3_valence(TIMES, truth, predictions, corpus_label=LABEL)
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 4
    check_paper_lines(fig.axes[0])
    with pytest.raises(EmoInputError, match="spectrogram"):
        plots.figure3_valence(TIMES, truth, predictions, explanation=object(), corpus_label=LABEL)
    with pytest.raises(EmoInputError, match="expected 300"):
        plots.figure3_valence(TIMES, truth[:-1], predictions, corpus_label=LABEL)
    with pytest.raises(EmoInputError, match="unknown model"):
        plots.figure2_arousal(TIMES, truth, {"X": truth}, corpus_label=LABEL)
    with pytest.raises(EmoInputError, match="corpus_label"):
        plots.figure2_arousal(TIMES, truth, predictions, corpus_label="  ")


def test_plot_lime_stability(tmp_path):
    rng = np.random.default_rng(0)
    explanations = {(seed, n): rng.normal(size=(6, 4)) for seed in (0, 1, 2) for n in (50, 100, 200)}
    table = compare_explanations(explanations, top_k=5)
    path = tmp_path / "stability.png"
    fig = plots.plot_lime_stability(table, path, corpus_label=LABEL, title="S only valence")
    check_png(fig, path)
    seeds_ax, counts_ax = fig.axes
    jaccard_dots = seeds_ax.collections[0].get_offsets()
    across = table[table.comparison == "seeds"]
    assert np.allclose(np.sort(jaccard_dots[:, 1]), np.sort(across.jaccard))
    against = table[(table.comparison == "num_samples") & (table.num_samples_b == 200)]
    assert np.allclose(np.sort(counts_ax.collections[0].get_offsets()[:, 1]), np.sort(against.jaccard))
    assert set(counts_ax.collections[0].get_offsets()[:, 0]) == {50, 100}
    assert clear_of(fig, fig.legends[0], fig.axes)
    assert "top 5 cells" in fig._suptitle.get_text() and LABEL in fig._suptitle.get_text()
    with pytest.raises(EmoInputError, match="jaccard"):
        plots.plot_lime_stability(table.drop(columns="jaccard"), corpus_label=LABEL)


# ---------------------------------------------------------------------------
# Learning curves, trace, segment, comparison
# ---------------------------------------------------------------------------

def history(seed, *, extra=False):
    rng = np.random.default_rng(seed)
    epochs = np.arange(12)
    log = pd.DataFrame({"epoch": epochs, "loss": 1.6 - 0.05 * epochs, "val_loss": 1.7 - 0.04 * epochs,
                        "val_ccc_arousal": 0.04 * epochs + rng.normal(0, 0.01, 12),
                        "val_ccc_valence": 0.02 * epochs + rng.normal(0, 0.01, 12)})
    if extra:
        log["lr"] = 5e-4 * 0.5 ** (epochs // 4)
        log["val_ccc_mean"] = 0.0
        log.loc[5, "val_ccc_mean"] = 1.0   # the logged mean decides the best epoch: 5
        log["something_else"] = "x"
    return log


def test_learning_curves_small_multiples(tmp_path):
    csv = tmp_path / "S.csv"
    history(1).to_csv(csv, index=False)
    path = tmp_path / "curves.png"
    fig = plots.plot_learning_curves({"W": history(0), "S": csv}, path, corpus_label=LABEL)
    check_png(fig, path)
    assert len(fig.axes) == 2 * 3  # rows = models; loss, arousal CCC, valence CCC
    loss_ax, arousal_ax, valence_ax = fig.axes[:3]
    assert [line.get_linestyle() for line in loss_ax.get_lines()[:2]] == ["-", "--"]
    assert np.allclose(valence_ax.get_lines()[0].get_ydata(), history(0)["val_ccc_valence"])
    # the best epoch (mean validation CCC) is dotted in every panel of the row, dotted on the CCCs
    best = int(np.argmax(history(0)["val_ccc_arousal"] + history(0)["val_ccc_valence"]))
    for ax in fig.axes[:3]:
        assert np.allclose(ax.get_lines()[-1].get_xdata(), best)
    assert np.allclose(arousal_ax.collections[0].get_offsets(),
                       [[best, history(0)["val_ccc_arousal"][best]]])
    assert f"best epoch {best}" in loss_ax.get_title()
    assert arousal_ax.get_ylim() == fig.axes[4].get_ylim()  # CCC panels share a range
    assert loss_ax.get_xlabel() == "epoch" and "CCC" in arousal_ax.get_ylabel()
    assert clear_of(fig, fig.legends[0], fig.axes)
    with pytest.raises(EmoInputError, match="val_ccc_valence"):
        plots.plot_learning_curves({"W": history(0).drop(columns="val_ccc_valence")},
                                   corpus_label=LABEL)


def test_learning_curves_with_lr_and_logged_mean():
    fig = plots.plot_learning_curves({"W": history(0, extra=True), "S": history(1)}, corpus_label=LABEL)
    assert len(fig.axes) == 2 * 4  # a learning-rate column
    lr_ax = fig.axes[3]
    assert np.allclose(lr_ax.get_lines()[0].get_ydata(), history(0, extra=True)["lr"])
    assert lr_ax.get_yscale() == "log" and lr_ax.get_ylabel() == "learning rate"
    assert "best epoch 5" in fig.axes[0].get_title()  # from val_ccc_mean, not the recomputed mean
    assert "not logged" in [t.get_text() for t in fig.axes[7].texts]


def test_plot_trace(tmp_path):
    times = np.arange(500) * 0.04
    path = tmp_path / "trace.png"
    fig = plots.plot_trace(times, np.sin(times) / 2, np.cos(times) / 3, path, title="talk.wav: WS")
    check_png(fig, path)
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == ["arousal", "valence"]
    assert ax.get_title() == "talk.wav: WS" and ax.get_xlabel() == "time (s)"
    assert ax.get_ylim() == (-1.0, 1.0)
    assert clear_of(fig, ax.get_legend(), [ax])
    with pytest.raises(EmoInputError, match="valence"):
        plots.plot_trace(times, times, times[:-1], title="x")


def test_plot_segment(segment, tmp_path):
    wave, spec = segment
    labels = np.c_[np.sin(TIMES) / 3, np.cos(TIMES) / 3]
    mask = np.ones(T)
    mask[250:] = 0
    path = tmp_path / "segment.png"
    fig = plots.plot_segment(wave[:, None], spec, TIMES, labels, mask=mask, corpus_label=LABEL,
                             path=path)
    check_png(fig, path)
    assert len(fig.axes) == 8  # waveform, three maps, labels, three colour bars
    main = main_axes(fig)
    assert len(main) == 5
    assert all(ax.get_xlabel() == "time (s)" for ax in main)
    assert [len(ax.images) for ax in main] == [0, 1, 1, 1, 0]
    assert np.array_equal(main[2].images[0].get_array(), spec[..., 1].T)
    # every colour bar labelled; the delta maps diverge around 0
    assert [bar.get_ylabel() for bar in colour_bars(fig)] == [
        "log mel (model input)", "delta (model input)", "delta-delta (model input)"]
    for ax in main[2:4]:
        norm = ax.images[0].norm
        assert isinstance(norm, CenteredNorm) and norm.vcenter == 0.0
    assert len(main[4].get_lines()) == 2 and len(main[4].collections) == 1  # the masked span
    assert clear_of(fig, main[4].get_legend(), main)
    assert LABEL in fig._suptitle.get_text()
    with pytest.raises(EmoInputError, match="labels"):
        plots.plot_segment(wave, spec, TIMES, labels[:, :1], corpus_label=LABEL)
    with pytest.raises(EmoInputError, match="spectrogram"):
        plots.plot_segment(wave, spec[..., 0], TIMES, labels, corpus_label=LABEL)


def comparison_table():
    rows = []
    paper = {"baseline": (0.376, 0.177), "W": (0.675, 0.435), "S": (0.656, 0.494), "WS": (0.680, 0.506)}
    for corpus in ("SEMAINE", "RECOLA"):
        for model, (arousal, valence) in paper.items():
            rows.append(dict(corpus=corpus, model=model, dimension="arousal", ours_mean=arousal - 0.1,
                             ours_sd=0.02, paper=arousal))
            rows.append(dict(corpus=corpus, model=model, dimension="valence", ours_mean=valence - 0.1,
                             ours_sd=np.nan, paper=np.nan if model == "baseline" else valence))
    return pd.DataFrame(rows)


def test_plot_model_comparison(tmp_path):
    table = comparison_table()
    path = tmp_path / "comparison.png"
    fig = plots.plot_model_comparison(table, path, corpus_label=LABEL)
    check_png(fig, path)
    assert len(fig.axes) == 4  # 2 corpora x 2 dimensions
    first = fig.axes[0]  # SEMAINE arousal
    heights = [patch.get_height() for patch in first.patches]
    assert np.allclose(heights, [0.276, 0.575, 0.556, 0.580, 0.376, 0.675, 0.656, 0.680])
    assert [t.get_text() for t in first.get_xticklabels()] == ["baseline (ComParE)", "W only",
                                                               "S only", "W + S"]
    assert len(first.containers) == 3  # ours, the error bars, the paper
    valence = fig.axes[1]  # SEMAINE valence: no sd, no paper value for the baseline
    assert len(valence.patches) == 4 + 3
    assert "n/a" in [t.get_text() for t in valence.texts]
    assert first.get_ylabel() == "CCC" and LABEL in fig._suptitle.get_text()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["ours (mean \u00b1 sd)", "paper"]
    assert clear_of(fig, fig.legends[0], fig.axes)
    with pytest.raises(EmoInputError, match="more than one row"):
        plots.plot_model_comparison(pd.concat([table, table.iloc[:1]]), corpus_label=LABEL)
    with pytest.raises(EmoInputError, match="paper"):
        plots.plot_model_comparison(table.drop(columns="paper"), corpus_label=LABEL)


def test_no_path_writes_nothing(tmp_path, monkeypatch, traces):
    monkeypatch.chdir(tmp_path)
    truth, predictions = traces
    plots.figure2_arousal(TIMES, truth, predictions, corpus_label=LABEL)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------
# Teaching figures: rater traces and the feature pipeline
# ---------------------------------------------------------------------------

def rater_data(n_raters=5, n_steps=400, step=0.04):
    rng = np.random.default_rng(5)
    times = np.arange(n_steps) * step
    hidden = np.sin(times / 2)
    raters = {d: np.clip(hidden * (0.8 + 0.05 * np.arange(n_raters))[:, None] + shift
                         + 0.05 * rng.normal(size=(n_raters, n_steps)), -1, 1)
              for d, shift in (("arousal", 0.0), ("valence", -0.2))}
    return times, raters


def test_plot_rater_traces(tmp_path):
    times, raters = rater_data()
    alternative = {d: x.mean(axis=0) + 0.03 for d, x in raters.items()}
    path = tmp_path / "raters.png"
    fig = plots.plot_rater_traces(times, raters, alternative=alternative, corpus_label=LABEL, path=path)
    check_png(fig, path)
    assert not colour_bars(fig) and len(fig.axes) == 4  # traces and spread, per dimension
    traces_a, spread_a, traces_v, spread_v = fig.axes
    # five raters, the mean (default gold standard) and the alternative
    assert len(traces_a.get_lines()) == 7 and len(traces_v.get_lines()) == 7
    gold_line = [line for line in traces_a.get_lines() if line.get_label() == "gold standard (mean)"][0]
    assert np.allclose(gold_line.get_ydata(), raters["arousal"].mean(axis=0))
    assert np.allclose(spread_v.get_lines()[0].get_ydata(), raters["valence"].std(axis=0))
    x = raters["arousal"]
    pairwise = np.mean([ccc_by_hand(x[a], x[b]) for a in range(5) for b in range(a + 1, 5)])
    assert f"mean pairwise CCC {pairwise:.2f}" in traces_a.get_title(loc="left")
    assert traces_a.get_title(loc="left").startswith("arousal")
    assert traces_v.get_ylabel().startswith("valence")
    assert fig.axes[-1].get_xlabel() == "time (s)"
    assert clear_of(fig, traces_a.get_legend(), fig.axes)
    assert LABEL in fig._suptitle.get_text()
    gold = {d: np.zeros(len(times)) for d in raters}
    fig = plots.plot_rater_traces(times, {"valence": raters["valence"]}, gold=gold, corpus_label=LABEL)
    assert len(fig.axes) == 2 and np.allclose(fig.axes[0].get_lines()[-1].get_ydata(), 0.0)
    with pytest.raises(EmoInputError, match="arousal"):
        plots.plot_rater_traces(times[:-1], raters, corpus_label=LABEL)
    with pytest.raises(EmoInputError, match="gold"):
        plots.plot_rater_traces(times, raters, gold={"arousal": gold["arousal"]}, corpus_label=LABEL)
    with pytest.raises(EmoInputError, match="corpus_label"):
        plots.plot_rater_traces(times, raters, corpus_label="")


def test_plot_feature_pipeline(tmp_path):
    from emo_lib.features import log_mel_deltas

    rng = np.random.default_rng(2)
    seconds = np.arange(32_000) / 16_000
    wave = (np.sin(2 * np.pi * 440 * seconds) * (seconds > 1.0) + 0.01 * rng.normal(size=seconds.size))
    path = tmp_path / "pipeline.png"
    fig = plots.plot_feature_pipeline(wave, corpus_label=LABEL, path=path)
    check_png(fig, path)
    bars = colour_bars(fig)
    assert [bar.get_ylabel() for bar in bars] == ["power (dB)", "log mel energy (natural log)",
                                                   "delta (per frame)", "delta-delta (per frame\u00b2)"]
    main = main_axes(fig)
    wave_ax, frame_ax, spectrum_ax, bank_ax, power_ax, *maps = main
    assert len(maps) == 3
    # the default frame is the loudest: inside the tone, after 1 s
    import re

    chosen = int(re.search(r"window of frame (\d+)", wave_ax.get_title(loc="left")).group(1))
    assert chosen >= 100 and len(wave_ax.patches) == 1
    assert len(bank_ax.get_lines()) == 40 and "Hz" in spectrum_ax.get_xlabel()
    assert power_ax.images[0].get_array().shape == (201, 200) and "Hz" in power_ax.get_ylabel()
    expected = log_mel_deltas(wave)
    for index, ax in enumerate(maps):
        assert np.allclose(ax.images[0].get_array(), expected[..., index].T)
        assert "Hz" in ax.get_ylabel() and ax.get_xlabel() == "time (s)"
        assert isinstance(ax.images[0].norm, CenteredNorm) == (index > 0)
    assert wave_ax.get_xlim() == maps[0].get_xlim() == (0.0, 2.0)
    assert LABEL in fig._suptitle.get_text()
    fig = plots.plot_feature_pipeline(wave, frame=10, corpus_label=LABEL)
    assert "frame 10," in fig.axes[0].get_title(loc="left")
    with pytest.raises(EmoInputError, match="frame"):
        plots.plot_feature_pipeline(wave, frame=200, corpus_label=LABEL)
    with pytest.raises(EmoInputError, match="too short"):
        plots.plot_feature_pipeline(wave[:1000], corpus_label=LABEL)


def test_plot_hidden_cells(segment, tmp_path):
    from emo_lib.explain import hide_values, perturb_inputs, sample_cells_on
    from emo_lib.features import silent_frame

    _, spec = segment
    segments = grid_segments(600, 40, (30, 8))
    on = sample_cells_on(240, 2, seed=3)[1:]
    hidden = on[0][segments] == 0
    copies = {"as heard": spec}
    for name, fill in (("silence", silent_frame()), ("zero", hide_values(spec, "zero"))):
        copies[f"hidden = {name}"] = perturb_inputs({"spectrogram": spec}, on, segments=segments,
                                                    fill=fill)["spectrogram"][0]
    path = tmp_path / "hidden.png"
    fig = plots.plot_hidden_cells(copies, hidden, path, corpus_label=LABEL,
                                  outputs={"hidden = zero": -0.25}, output_label="valence output")
    check_png(fig, path)
    main = main_axes(fig)
    assert len(main) == 6  # three rows, log mel and delta
    for row, (name, copy) in enumerate(copies.items()):
        log_ax, delta_ax = main[2 * row], main[2 * row + 1]
        assert np.allclose(log_ax.images[0].get_array(), copy[..., 0].T)
        assert np.allclose(delta_ax.images[0].get_array(), copy[..., 1].T)
        assert isinstance(delta_ax.images[0].norm, CenteredNorm) and delta_ax.images[0].norm.vcenter == 0
        assert log_ax.get_title(loc="left").startswith(name) and "Hz" in log_ax.get_ylabel()
        assert log_ax.collections  # the hidden cells outlined
    # one colour scale per column: silence is the darkest log mel, zero is inside the range
    assert main[0].images[0].norm.vmin == pytest.approx(min(float(c[..., 0].min()) for c in copies.values()))
    assert "valence output -0.250" in main[4].get_title(loc="left")
    assert "valence output" not in main[2].get_title(loc="left")
    labels = sorted(bar.get_ylabel() for bar in colour_bars(fig))
    assert labels == ["delta (model input; 0 = no change)", "log mel (model input)"]
    assert main[-1].get_xlabel().endswith("(s)") and LABEL in fig._suptitle.get_text()
    with pytest.raises(EmoInputError, match="hidden"):
        plots.plot_hidden_cells(copies, hidden[:10], corpus_label=LABEL)
    with pytest.raises(EmoInputError, match="different shapes"):
        plots.plot_hidden_cells({"a": spec, "b": spec[:10]}, hidden, corpus_label=LABEL)
    with pytest.raises(EmoInputError, match="not in copies"):
        plots.plot_hidden_cells(copies, hidden, corpus_label=LABEL, outputs={"other": 1.0})
    with pytest.raises(EmoInputError, match="non-empty"):
        plots.plot_hidden_cells({}, hidden, corpus_label=LABEL)


# ---------------------------------------------------------------------------
# W+S gated: the fusion weights over one segment
# ---------------------------------------------------------------------------

def test_plot_gates(traces, tmp_path):
    truth, predictions = traces
    truth2 = np.c_[truth, -truth]
    prediction = np.c_[predictions["WS"], -0.8 * truth]
    g_w = 0.5 + 0.4 * np.sin(TIMES * 2)
    mask = np.ones(T)
    mask[280:] = 0
    path = tmp_path / "gates.png"
    fig = plots.plot_gates(TIMES, np.where(mask[:, None] > 0, truth2, np.nan), prediction,
                           np.c_[g_w, 1 - g_w], mask=mask, corpus_label=LABEL, path=path)
    check_png(fig, path)
    arousal, valence, gate = main_axes(fig)
    for ax, dimension in ((arousal, "arousal"), (valence, "valence")):
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels[0] == "ground truth" and labels[1].startswith("W + S gated: CCC ")
        assert ax.get_ylabel().startswith(dimension)
    assert arousal.get_lines()[1].get_linestyle() != valence.get_lines()[0].get_linestyle()
    assert np.allclose(valence.get_lines()[1].get_ydata(), prediction[:, 1])
    assert gate.get_xlabel() == "time in segment (s)" and gate.get_ylim() == (0.0, 1.0)
    step_line = next(line for line in gate.get_lines() if line.get_label().startswith("g_w"))
    assert np.allclose(step_line.get_ydata(), g_w)
    assert f"mean {g_w[:280].mean():.2f}" in step_line.get_label()
    legend = [text.get_text() for text in gate.get_legend().get_texts()]
    assert "spectrogram tower, g_s = 1 \u2212 g_w" in legend and "not labelled (padding)" in legend
    assert any(text.startswith("0.5: equal weights") for text in legend)
    assert gate.get_xlim()[1] == pytest.approx(TIMES[-1]) and gate.get_xlim()[0] == pytest.approx(0.0)
    assert LABEL in fig._suptitle.get_text() and clear_of(fig, gate.get_legend(), [gate])
    # g_w alone draws the same figure
    alone = plots.plot_gates(TIMES, truth2, prediction, g_w, corpus_label=LABEL)
    assert np.allclose(next(line for line in main_axes(alone)[2].get_lines()
                            if line.get_label().startswith("g_w")).get_ydata(), g_w)
    with pytest.raises(EmoInputError, match="sum to 1"):
        plots.plot_gates(TIMES, truth2, prediction, np.c_[g_w, g_w], corpus_label=LABEL)
    with pytest.raises(EmoInputError, match="between 0 and 1"):
        plots.plot_gates(TIMES, truth2, prediction, g_w + 1, corpus_label=LABEL)
    with pytest.raises(EmoInputError, match="prediction must have shape"):
        plots.plot_gates(TIMES, truth2, prediction[:, 0], g_w, corpus_label=LABEL)


def test_plot_score_shift(tmp_path):
    rows = []
    for group, offset in (("semaine", 0.0), ("semaine \u2192 recola", 0.1)):
        for model, base in (("ridge", 0.3), ("WS", 0.7)):
            for dimension, shift in (("arousal", -0.2), ("valence", 0.05)):
                rows.append({"group": group, "model": model, "dimension": dimension, "before": base + offset,
                             "after": base + offset + shift, "before_low": base + offset - 0.1,
                             "before_high": base + offset + 0.1, "after_low": np.nan, "after_high": np.nan})
    table = pd.DataFrame(rows)
    path = tmp_path / "shift.png"
    fig = plots.plot_score_shift(table, path, before="random", after="speaker", title=LABEL)
    check_png(fig, path)
    assert len(fig.axes) == 4  # 2 groups x 2 dimensions
    first = fig.axes[0]  # semaine, arousal
    before_line, after_line = [line for line in first.get_lines() if line.get_linestyle() == "None"]
    np.testing.assert_allclose(before_line.get_ydata(), [0.3, 0.7])
    np.testing.assert_allclose(after_line.get_ydata(), [0.1, 0.5])
    assert len(first.collections[0].get_segments()) == 2  # the two "before" intervals; "after" has none
    arrows = [t for t in first.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == 2 and arrows[0].xy[1] == pytest.approx(0.1)
    assert [t.get_text() for t in first.get_xticklabels()] == ["ridge", "W + S"]
    assert plots._two_line_label("WSG") == "W + S\ngated" and plots._two_line_label("baseline").startswith("baseline\n")
    assert fig.axes[3].get_title() == "semaine \u2192 recola: valence"
    assert [t.get_text() for t in fig.legends[0].get_texts()][:2] == ["random", "speaker"]
    assert clear_of(fig, fig.legends[0], fig.axes)
    with pytest.raises(EmoInputError, match="more than one row"):
        plots.plot_score_shift(pd.concat([table, table.iloc[:1]]), before="a", after="b", title="t")
    with pytest.raises(EmoInputError, match="lacks columns after"):
        plots.plot_score_shift(table.drop(columns="after"), before="a", after="b", title="t")
    with pytest.raises(EmoInputError, match="no rows"):
        plots.plot_score_shift(table.iloc[:0], before="a", after="b", title="t")
