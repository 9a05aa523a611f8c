"""Tests of emo_lib.plots: every figure writes a PNG of the expected size and draws what it says."""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from emo_lib import plots
from emo_lib.errors import EmoInputError
from emo_lib.explain import SpectrogramExplanation, grid_segments
from emo_lib.models import build_model

LABEL = "synthetic stand-in (SEMAINE layout)"
T = 300
TIMES = np.arange(T) * 0.02


def png_size(path):
    """(width, height) in pixels from the PNG header (IHDR chunk)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def check_png(fig, path):
    assert path.exists() and path.stat().st_size > 1000
    width, height = fig.get_size_inches() * plots.DPI
    assert png_size(path) == (int(round(width)), int(round(height)))


def all_text(fig):
    texts = [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:
        texts.append(fig._suptitle.get_text())
    for ax in fig.axes:
        texts += [t.get_text() for t in ax.texts] + [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    return "\n".join(texts)


@pytest.fixture(scope="module")
def segment():
    rng = np.random.default_rng(3)
    wave = rng.normal(size=96000).astype(np.float32)
    spec = rng.normal(size=(600, 40, 3)).astype(np.float32)
    return wave, spec


@pytest.fixture(scope="module")
def traces():
    truth = 0.3 * np.sin(TIMES)
    predictions = {"W": truth + 0.1, "S": truth - 0.1, "WS": 0.9 * truth}
    return truth, predictions


# ---------------------------------------------------------------------------
# Figure 1
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["W", "S", "WS"])
def test_figure1_lists_every_layer(variant, segment, tmp_path):
    wave, spec = segment
    model = build_model(variant, 20, preset="tiny")
    path = tmp_path / f"fig1_{variant}.png"
    fig = plots.figure1_architecture(model, {"waveform": wave, "spectrogram": spec}, path,
                                     corpus_label=LABEL)
    check_png(fig, path)
    diagram = fig.axes[-1]
    box_texts = [t.get_text() for t in diagram.texts if t.get_text()]
    first_lines = [text.split("\n")[0] for text in box_texts]
    assert sorted(first_lines) == sorted(layer.name for layer in model.layers)
    # each box shows the layer's output shape without the batch axis
    for layer in model.layers:
        shape = " x ".join(str(d) for d in layer.output.shape[1:])
        assert any(t.startswith(layer.name + "\n") and t.endswith(shape) for t in box_texts)
    # one example-input panel per model input, above the diagram
    assert len(fig.axes) == len(model.inputs) + 1
    assert LABEL in fig._suptitle.get_text()
    assert f"{model.count_params():,} parameters" in fig._suptitle.get_text()


def test_figure1_places_towers_left_and_right(segment):
    wave, spec = segment
    model = build_model("WS", 20, preset="tiny")
    fig = plots.figure1_architecture(model, {"waveform": wave, "spectrogram": spec},
                                     corpus_label=LABEL)
    x_of = {t.get_text().split("\n")[0]: t.get_position()[0] for t in fig.axes[-1].texts
            if t.get_text()}
    assert x_of["wave_conv1"] < 0.5 < x_of["spec_conv1"]
    assert x_of["fusion"] == x_of["blstm1"] == x_of["emotion"] == 0.5
    assert x_of["waveform"] == x_of["wave_to_steps"]


def test_figure1_needs_the_model_inputs(segment):
    wave, spec = segment
    fig = plots.figure1_architecture(build_model("S", 20, preset="tiny"), {"spectrogram": spec})
    assert "parameters" in fig._suptitle.get_text() and "example inputs" not in fig._suptitle.get_text()
    with pytest.raises(EmoInputError, match="spectrogram"):
        plots.figure1_architecture(build_model("S", 20, preset="tiny"), {"waveform": wave},
                                   corpus_label=LABEL)


# ---------------------------------------------------------------------------
# Figures 2 and 3
# ---------------------------------------------------------------------------

PAPER_STYLES = [("truth", "-"), ("W", "--"), ("S", ":"), ("WS", "-.")]


def check_paper_lines(ax):
    lines = ax.get_lines()[:4]
    for line, (key, style) in zip(lines, PAPER_STYLES):
        assert line.get_linestyle() == style
        assert to_rgba(line.get_color()) == to_rgba(plots.LINE_STYLES[key]["color"])
        assert line.get_label() == plots.MODEL_LABELS[key]


def test_figure2_lines_and_words(traces, tmp_path):
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
    strip_words = [t.get_text() for t in fig.axes[1].texts]
    assert strip_words == ["EHH", "FRIGGING"]
    assert fig.axes[1].get_xlabel() == "time (s)"
    assert LABEL in fig._suptitle.get_text()


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
    weights[3, 3] = -0.4   # frames 60..79, bands 15..19: negative, not highlighted
    return SpectrogramExplanation(
        weights=weights, segments=grid_segments(600, 40, (30, 8)), frame=235, time_s=4.71,
        dimension="valence", prediction=-0.2, intercept=-0.5, score=0.8, local_prediction=-0.21,
        num_samples=1000, seed=0, context_frames=2, hide_values=np.zeros(3, np.float32),
        hide="floor", waveform="none", time_edges=np.arange(0, 601, 20),
        mel_edges=np.arange(0, 41, 5))


def test_figure3_with_lime_panel(traces, segment, tmp_path):
    truth, predictions = traces
    _, spec = segment
    explanation = hand_made_explanation()
    path = tmp_path / "fig3.png"
    fig = plots.figure3_valence(TIMES, truth, predictions, explanation, spec,
                                words=[(4.6, 5.0, "FRIGGING")], corpus_label=LABEL, path=path,
                                top_k=2)
    check_png(fig, path)
    assert len(fig.axes) == 3
    top, _, lime_ax = fig.axes
    check_paper_lines(top)
    assert len(top.get_lines()) == 5  # four traces and the explained time
    assert np.allclose(top.get_lines()[4].get_xdata(), TIMES[235])
    assert np.allclose(lime_ax.get_lines()[0].get_xdata(), 4.71)
    rgb = np.asarray(lime_ax.images[0].get_array())  # (mel band, frame, 3)
    assert rgb.shape == (40, 600, 3)
    brightness = rgb @ np.array([0.299, 0.587, 0.114])  # luminance
    highlighted = brightness[30:35, 480:500].mean(), brightness[5:10, 200:220].mean()
    dimmed = brightness[15:20, 60:80].mean(), brightness[15:20, 300:320].mean()  # includes the negative cell
    assert min(highlighted) > 2 * max(dimmed)
    # the dimmed part is dark blue: blue dominates
    assert np.all(rgb[:, :, 2][~explanation.mask(2, True).T] >= rgb[:, :, 0][~explanation.mask(2, True).T])
    assert "2 grid cells" in lime_ax.get_title() and "4.71 s" in lime_ax.get_title()
    assert lime_ax.get_xlabel().endswith("(s)") and lime_ax.get_ylabel() == "mel band"

    # what lowers the output: the one negative cell (frames 60..79, bands 15..19)
    fig = plots.figure3_valence(TIMES, truth, predictions, explanation, spec, corpus_label=LABEL,
                                highlight="negative")
    lime_ax = fig.axes[-1]
    luminance = np.asarray(lime_ax.images[0].get_array()) @ np.array([0.299, 0.587, 0.114])
    assert luminance[15:20, 60:80].mean() > 2 * luminance[30:35, 480:500].mean()
    assert "1 grid cell (" in lime_ax.get_title() and "lower" in lime_ax.get_title()
    with pytest.raises(EmoInputError, match="highlight"):
        plots.figure3_valence(TIMES, truth, predictions, explanation, spec, corpus_label=LABEL,
                              highlight="both")


def test_plot_explanation(segment, tmp_path):
    _, spec = segment
    explanation = hand_made_explanation()
    path = tmp_path / "lime.png"
    fig = plots.plot_explanation(explanation, spec, path, corpus_label=LABEL, top_k=2,
                                 title="W+S valence, waveform held fixed", explained_model="WS")
    check_png(fig, path)
    top, bottom = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(fig.axes) == 3  # and the colour bar of the weights
    assert "W + S model's valence output at 4.71 s" in top.get_title()
    weights_image = np.asarray(bottom.images[0].get_array())  # (mel band, frame)
    assert weights_image[32, 490] == 0.5 and weights_image[17, 70] == -0.4 and weights_image[0, 0] == 0
    assert bottom.images[0].get_clim() == (-0.5, 0.5)  # symmetric around 0
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


# ---------------------------------------------------------------------------
# Learning curves, trace, segment, comparison
# ---------------------------------------------------------------------------

def history(seed):
    rng = np.random.default_rng(seed)
    epochs = np.arange(12)
    return pd.DataFrame({"epoch": epochs, "loss": 1.6 - 0.05 * epochs, "val_loss": 1.7 - 0.04 * epochs,
                         "val_ccc_arousal": 0.04 * epochs + rng.normal(0, 0.01, 12),
                         "val_ccc_valence": 0.02 * epochs + rng.normal(0, 0.01, 12)})


def test_learning_curves(tmp_path):
    csv = tmp_path / "S.csv"
    history(1).to_csv(csv, index=False)
    path = tmp_path / "curves.png"
    fig = plots.plot_learning_curves({"W": history(0), "S": csv}, path, corpus_label=LABEL)
    check_png(fig, path)
    loss_ax, ccc_ax = fig.axes
    assert len(loss_ax.get_lines()) == 4 and len(ccc_ax.get_lines()) == 4
    assert [line.get_linestyle() for line in loss_ax.get_lines()] == ["-", "--", "-", "--"]
    assert np.allclose(ccc_ax.get_lines()[1].get_ydata(), history(0)["val_ccc_valence"])
    # the best-epoch dots sit on the epoch of the best mean validation CCC
    best = int(np.argmax(history(0)["val_ccc_arousal"] + history(0)["val_ccc_valence"]))
    assert np.allclose(ccc_ax.collections[0].get_offsets()[:, 0], best)
    assert loss_ax.get_xlabel() == "epoch" and "CCC" in ccc_ax.get_ylabel()
    with pytest.raises(EmoInputError, match="val_ccc_valence"):
        plots.plot_learning_curves({"W": history(0).drop(columns="val_ccc_valence")},
                                   corpus_label=LABEL)


def test_plot_trace(tmp_path):
    times = np.arange(500) * 0.04
    path = tmp_path / "trace.png"
    fig = plots.plot_trace(times, np.sin(times) / 2, np.cos(times) / 3, path, title="talk.wav: WS")
    check_png(fig, path)
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == ["arousal", "valence"]
    assert ax.get_title() == "talk.wav: WS" and ax.get_xlabel() == "time (s)"
    assert ax.get_ylim() == (-1.0, 1.0)
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
    main = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(main) == 5
    assert all(ax.get_xlabel() == "time (s)" for ax in main)
    assert [len(ax.images) for ax in main] == [0, 1, 1, 1, 0]
    assert np.array_equal(main[2].images[0].get_array(), spec[..., 1].T)
    assert len(main[4].get_lines()) == 2 and len(main[4].collections) == 1  # the masked span
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
    with pytest.raises(EmoInputError, match="more than one row"):
        plots.plot_model_comparison(pd.concat([table, table.iloc[:1]]), corpus_label=LABEL)
    with pytest.raises(EmoInputError, match="paper"):
        plots.plot_model_comparison(table.drop(columns="paper"), corpus_label=LABEL)


def test_no_path_writes_nothing(tmp_path, monkeypatch, traces):
    monkeypatch.chdir(tmp_path)
    truth, predictions = traces
    plots.figure2_arousal(TIMES, truth, predictions, corpus_label=LABEL)
    assert list(tmp_path.iterdir()) == []


def test_figure1_other_functional_model():
    """A model built elsewhere, with an operation that is not a layer, is drawn too."""
    import keras

    wave_in = keras.Input((160, 1), name="waveform")
    spec_in = keras.Input((10, 40, 3), name="spectrogram")
    a = keras.layers.Conv1D(2, 3, padding="same", name="wave_conv1")(wave_in)
    a = keras.layers.Dropout(0.5)(a)
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
    x_of = {t.get_text().split("\n")[0]: t.get_position()[0] for t in fig.axes[-1].texts
            if t.get_text()}
    assert set(x_of) == {op.name for op in model.operations}
    assert x_of["multiply"] > 0.5 and x_of["dropout"] < 0.5 and x_of["emotion"] == 0.5
    assert "stand_in" in fig._suptitle.get_text()
