"""Every figure of the project, one function each.

Figures 1 to 3 of the paper (architecture, arousal of one segment, valence of
one segment with its LIME explanation), one LIME explanation on its own, the
stability of LIME over seeds and sample counts, the learning curves, the
comparison of our CCCs with the paper's, a prediction trace for
``emo predict --plot``, a view of one segment as the model sees it, and the
fusion weights of the W+S gated model (beyond the paper) over one segment.

Each function builds a :class:`matplotlib.figure.Figure` directly (no
``pyplot``, so the session's backend and figure registry are left alone),
writes it as a PNG at :data:`DPI` dots per inch when given a path (atomically,
rendered with Agg) and returns it. Figure sizes are fixed, so a PNG is always
``figsize * DPI`` pixels. Every figure built from corpus data names the corpus
(``corpus_label``, for example ``"synthetic stand-in (SEMAINE layout)"``) in
its title (Figure 1, whose data are only the example inputs, when given).

Conventions a course can rely on: legends sit outside the data (to the right
of the axes or in a strip above them); every colour bar is labelled; maps of
signed values (LIME weights, delta maps) use a diverging colour map centred on
zero; mel axes are labelled in Hz at the centre frequencies of the bands
(:func:`mel_band_centres`, the filterbank of :mod:`emo_lib.features`); times
are seconds from the segment's start, a label drawn at the end of its window.

Line styles of the model comparisons follow the paper's Figures 2 and 3:
ground truth solid blue, W only dashed yellow-orange, S only dotted red, W+S
dash-dot green (:data:`LINE_STYLES`); W+S gated, beyond the paper, purple
dash-dot-dot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.colors import CenteredNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch, Rectangle
from matplotlib.ticker import MaxNLocator

from .config import FRAME_HOP_SECONDS, SAMPLE_RATE
from .corpora.base import DIMENSIONS
from .errors import EmoInputError
from .io import atomic_path
from .metrics import ccc

__all__ = [
    "DPI",
    "LINE_STYLES",
    "MODEL_LABELS",
    "DIVERGING_CMAP",
    "save_figure",
    "mel_band_centres",
    "figure1_architecture",
    "figure2_arousal",
    "figure3_valence",
    "plot_gates",
    "plot_explanation",
    "plot_lime_stability",
    "plot_learning_curves",
    "plot_trace",
    "plot_segment",
    "plot_model_comparison",
    "plot_hidden_cells",
]

DPI = 110
"""Resolution of every PNG written by this module (dots per inch)."""

LINE_STYLES: dict[str, dict[str, Any]] = {
    "truth": {"color": "#1f5fbf", "linestyle": "-", "linewidth": 2.0},
    "W": {"color": "#f0a30a", "linestyle": "--", "linewidth": 1.8},
    "S": {"color": "#d62728", "linestyle": ":", "linewidth": 2.0},
    "WS": {"color": "#2ca02c", "linestyle": "-.", "linewidth": 1.8},
    "WSG": {"color": "#9467bd", "linestyle": (0, (6, 2, 1, 2, 1, 2)), "linewidth": 1.8},
}
"""Matplotlib line properties of the ground truth and of each model (paper, section 5.3)."""

MODEL_LABELS = {"truth": "ground truth", "W": "W only", "S": "S only", "WS": "W + S",
                "WSG": "W + S gated", "baseline": "baseline (ComParE)"}
"""Legend names of the models."""

DIVERGING_CMAP = "RdBu_r"
"""Colour map of signed values (red positive, blue negative), always centred on zero."""

_DIMENSION_COLOURS = {"arousal": "#d62728", "valence": "#1f5fbf"}
_MODEL_ALIASES = {"W": "W", "S": "S", "WS": "WS", "W+S": "WS", "WSG": "WSG", "W+S gated": "WSG"}
_LEGEND_RIGHT = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0}


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def save_figure(fig: Figure, path: str | Path | None) -> Figure:
    """Write ``fig`` as a PNG at :data:`DPI` (atomically) when ``path`` is given; return it."""
    if path is not None:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, format="png", dpi=DPI)
    return fig


def _label(corpus_label: Any) -> str:
    if not isinstance(corpus_label, str) or not corpus_label.strip():
        raise EmoInputError("corpus_label must be a non-empty string naming the data shown")
    return corpus_label.strip()


def _vector(name: str, values: Any, length: int | None = None, *, allow_nan: bool = False) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise EmoInputError(f"{name} must be a non-empty 1-D array, got shape {array.shape}")
    if length is not None and array.size != length:
        raise EmoInputError(f"{name} has {array.size} values, expected {length}")
    bad = np.isinf(array) if allow_nan else ~np.isfinite(array)
    if np.any(bad):
        raise EmoInputError(f"{name} contains {'infinite' if allow_nan else 'NaN or infinite'} values")
    return array


def _predictions(predictions: Mapping[str, Any], length: int) -> dict[str, np.ndarray]:
    if not isinstance(predictions, Mapping) or not predictions:
        raise EmoInputError('predictions must be a dict such as {"W": (T,), "S": (T,), "WS": (T,)}')
    out: dict[str, np.ndarray] = {}
    for key, values in predictions.items():
        if key not in _MODEL_ALIASES:
            raise EmoInputError(f"unknown model {key!r} in predictions; use W, S, WS (and WSG)")
        out[_MODEL_ALIASES[key]] = _vector(f"predictions[{key!r}]", values, length, allow_nan=True)
    return {key: out[key] for key in ("W", "S", "WS", "WSG") if key in out}


def _check_score_table(table: Any, columns: Sequence[str], keys: Sequence[str]) -> None:
    """Refuse a score table that is not a DataFrame, lacks a column, is empty or repeats a key."""
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise EmoInputError("table must be a pandas DataFrame")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise EmoInputError(f"table lacks columns {', '.join(missing)}")
    if table.empty:
        raise EmoInputError("table has no rows")
    if table.duplicated(list(keys)).any():
        raise EmoInputError(f"table has more than one row for a {', '.join(keys[:-1])} and {keys[-1]}")


def _spectrogram_seconds(n_frames: int) -> float:
    return n_frames * FRAME_HOP_SECONDS


def _log_mel(spectrogram: Any) -> np.ndarray:
    spec = np.asarray(spectrogram, dtype=np.float64)
    if spec.ndim == 3:
        spec = spec[..., 0]
    if spec.ndim != 2 or spec.size == 0:
        raise EmoInputError(f"spectrogram must be (F, n_mels) or (F, n_mels, 3), got {np.shape(spectrogram)}")
    if not np.all(np.isfinite(spec)):
        raise EmoInputError("spectrogram contains NaN or infinite values")
    return spec


def mel_band_centres(n_mels: int = 40) -> np.ndarray:
    """Centre frequency of every mel band of :func:`emo_lib.features.log_mel_deltas`.

    The filterbank is librosa's (Slaney mel scale, 0 Hz to the Nyquist
    frequency of 16 kHz audio): band ``b`` is a triangle whose peak is the
    ``b + 1``-th of ``n_mels + 2`` frequencies equally spaced in mel between 0
    and 8,000 Hz.

    Parameters
    ----------
    n_mels : int
        Number of bands (40).

    Returns
    -------
    np.ndarray [shape=(n_mels,), dtype=float64]
        Hz, band 0 (the lowest) first.

    Examples
    --------
    >>> mel_band_centres(40)[[0, -1]].round().tolist()
    [74.0, 7415.0]
    """
    import librosa

    if isinstance(n_mels, bool) or int(n_mels) != n_mels or n_mels < 1:
        raise EmoInputError(f"n_mels must be a positive integer, got {n_mels!r}")
    return librosa.mel_frequencies(int(n_mels) + 2, fmin=0.0, fmax=SAMPLE_RATE / 2)[1:-1]


def _set_mel_axis(ax, n_mels: int, *, every: int = 5) -> None:
    """Label a (band) y axis drawn over ``[0, n_mels]`` with band centre frequencies in Hz."""
    centres = mel_band_centres(n_mels)
    bands = np.unique(np.r_[np.arange(0, n_mels, every), n_mels - 1]) if n_mels > 1 else np.array([0])
    if bands.size > 2 and bands[-1] - bands[-2] < every / 2:
        bands = np.delete(bands, -2)  # keep the top band's tick, drop the crowded one below it
    ax.set_yticks(bands + 0.5, [f"{centres[b]:.0f}" for b in bands])
    ax.set_ylabel("frequency (Hz)")


def _show_map(ax, fig, values: np.ndarray, title: str, *, cmap: str = "magma", colorbar: bool = True,
              label: str | None = None, diverging: bool = False):
    """A (F, n_mels) map with time (s) across and frequency up; a labelled colour bar."""
    n_frames, n_mels = values.shape
    options: dict[str, Any] = {"cmap": cmap}
    if diverging:
        options = {"cmap": DIVERGING_CMAP,
                   "norm": CenteredNorm(vcenter=0.0, halfrange=float(np.max(np.abs(values))) or 1.0)}
    image = ax.imshow(values.T, origin="lower", aspect="auto", interpolation="nearest",
                      extent=(0.0, _spectrogram_seconds(n_frames), 0.0, float(n_mels)), **options)
    _set_mel_axis(ax, n_mels)
    ax.set_title(title, fontsize=10)
    if colorbar:
        if not label:
            raise ValueError("a colour bar needs a label")
        fig.colorbar(image, ax=ax, pad=0.01, fraction=0.03, label=label)
    return image


def _draw_words(ax, words: Sequence[tuple[float, float, str]], xlim: tuple[float, float]) -> None:
    """Words as shaded spans with their text, in a strip under the time axis."""
    ax.set_ylim(0.0, 1.0)
    ax.set_yticks([])
    for spine in ("left", "right", "top"):
        ax.spines[spine].set_visible(False)
    for index, item in enumerate(words):
        try:
            start, end, word = float(item[0]), float(item[1]), str(item[2])
        except (TypeError, ValueError, IndexError):
            raise EmoInputError(f"words[{index}] must be (start_s, end_s, word), got {item!r}") from None
        if end < start:
            raise EmoInputError(f"words[{index}] ends ({end}) before it starts ({start})")
        if end < xlim[0] or start > xlim[1]:
            continue
        ax.axvspan(start, end, color="0.85" if index % 2 else "0.75", alpha=0.6, linewidth=0)
        ax.text((start + end) / 2, 0.68 if index % 2 else 0.32, word, ha="center", va="center",
                fontsize=7, clip_on=True)
    ax.set_xlabel("time (s)")


# ---------------------------------------------------------------------------
# Figure 1: the architecture, read from the model's public configuration
# ---------------------------------------------------------------------------

_INPUT_ORDER = ("waveform", "spectrogram", "compare")
_SIDE_INPUTS = ("frame_mask",)
_TOWER_PREFIXES = ("wave_", "spec_", "compare_")
_COLUMN_COLOURS = {"waveform": "#fde3b5", "spectrogram": "#f7c6c4", "compare": "#d9d9f3",
                   "shared": "#cfe8cf", "input": "#e6e6e6", "side": "#ece4f4"}


def _tensor_refs(value: Any) -> list[tuple[str, tuple]]:
    """``(producing layer, shape)`` of every Keras tensor in a serialised call (an inbound node)."""
    refs: list[tuple[str, tuple]] = []
    if isinstance(value, Mapping):
        if value.get("class_name") == "__keras_tensor__":
            config = value.get("config") or {}
            history = config.get("keras_history")
            if history:
                refs.append((str(history[0]), tuple(config.get("shape") or ())))
            return refs
        for item in value.values():
            refs += _tensor_refs(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            refs += _tensor_refs(item)
    return refs


def _output_refs(value: Any) -> list[str]:
    """Layer names of ``get_config()["output_layers"]`` (one ``[name, node, index]`` or a nest of them)."""
    if isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], str):
        return [value[0]]
    if isinstance(value, Mapping):
        value = list(value.values())
    names: list[str] = []
    if isinstance(value, (list, tuple)):
        for item in value:
            names += _output_refs(item)
    return names


def _model_graph(model) -> tuple[list[dict], dict[str, list[str]], dict[str, tuple]]:
    """Layers (in order), their parents and output shapes from ``model.get_config()``."""
    try:
        config = model.get_config()
        layers = config["layers"]
    except (AttributeError, KeyError, TypeError, NotImplementedError):
        raise EmoInputError(f"expected a functional keras.Model, got {type(model).__name__}") from None
    if not isinstance(layers, list) or not layers:
        raise EmoInputError(f"expected a functional keras.Model, got {type(model).__name__}")
    parents: dict[str, list[str]] = {}
    shapes: dict[str, tuple] = {}
    for layer in layers:
        refs = _tensor_refs(layer.get("inbound_nodes", []))
        parents[layer["name"]] = list(dict.fromkeys(name for name, _ in refs))
        for name, shape in refs:
            shapes.setdefault(name, shape)
    for name, tensor in zip(_output_refs(config.get("output_layers")), list(model.outputs)):
        shapes.setdefault(name, tuple(tensor.shape))
    for layer in layers:  # anything neither consumed nor an output: ask the layer
        if layer["name"] not in shapes:
            try:
                shapes[layer["name"]] = tuple(model.get_layer(layer["name"]).output.shape)
            except (ValueError, AttributeError, RuntimeError):
                pass
    return layers, parents, shapes


def _shape_text(shape: tuple | None) -> str:
    if not shape:
        return "?"
    return " x ".join("?" if d is None else str(d) for d in tuple(shape)[1:])


def _detail(layer: Mapping[str, Any]) -> str:
    kind = str(layer.get("class_name", "?"))
    config = layer.get("config") or {}

    def join(value):
        return " x ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)

    activation = config.get("activation")
    act = f", {activation}" if activation not in (None, "linear") else ""
    if kind == "InputLayer":
        if layer["name"] == "frame_mask":
            return "1 = real step, 0 = padding"
        return "input"
    if "filters" in config:
        return f"{kind} {config['filters']} filters, kernel {join(config.get('kernel_size'))}{act}"
    if kind == "Bidirectional":
        inner = (config.get("layer") or {}).get("config", {})
        return f"Bidirectional {inner.get('units', '?')}-cell LSTM"
    if "units" in config:
        return f"{kind} {config['units']} units, {activation or 'linear'}"
    if kind == "CrossChannelMaxPool":
        return f"cross-channel max, groups of {config.get('pool_size')}"
    if kind == "FrameMasking":
        return "masks padded label steps"
    if kind == "ClearMask":
        return "drops the mask"
    if kind == "Normalization":
        return "Normalization (training-set statistics)"
    if "pool_size" in config:
        return f"{kind} {join(config['pool_size'])}"
    if "rate" in config:
        return f"{kind} {config['rate']}"
    return kind


def figure1_architecture(model, example_inputs: Mapping[str, Any], path: str | Path | None = None, *,
                         corpus_label: str | None = None) -> Figure:
    """The paper's Figure 1, drawn from a built model's public configuration.

    The graph comes from ``model.get_config()`` (its layer list and each
    layer's inbound nodes), the output shapes from the shapes recorded there
    and ``model.outputs``. Every operation is a box with its name, kind, main
    settings and output shape (batch axis left out). Operations that depend on
    one data input only form that input's tower (waveform on the left,
    spectrogram on the right); the fusion and what follows it are centred.
    Arrows follow the graph. The example inputs are drawn on top, and the
    title states the model's parameter count (4,762,834 for the paper's W+S
    model at 20 ms).

    A ``"frame_mask"`` input (1 for real label steps, 0 for padding) is drawn
    as a small side input: a narrow box at the right, level with the layer
    that takes it (``frame_masking``), joined to it by a dashed arrow; it gets
    no example panel and does not count as a tower.

    Parameters
    ----------
    model : keras.Model
        A functional model (W, S, WS or baseline from
        :func:`emo_lib.models.build_model`, with or without ``frame_mask``).
    example_inputs : dict
        One segment per data input, without batch axis: ``"waveform"``
        (S,) or (S, 1), ``"spectrogram"`` (F, 40, 3) or (F, 40).
    path : str or pathlib.Path, optional
        Where to write the PNG.
    corpus_label : str, optional
        Where the example inputs come from, shown in the title (left out when
        not given).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per example input, then the diagram's axes (last).
    """
    label = None if corpus_label is None else _label(corpus_label)
    layers, parents, shapes = _model_graph(model)
    try:
        input_names = [tensor.name for tensor in model.inputs]
    except (AttributeError, TypeError):
        raise EmoInputError(f"expected a functional keras.Model, got {type(model).__name__}") from None
    if not isinstance(example_inputs, Mapping):
        raise EmoInputError("example_inputs must be a dict of arrays, one per model input")
    side_inputs = [name for name in input_names if name in _SIDE_INPUTS]
    data_inputs = [name for name in input_names if name not in _SIDE_INPUTS]
    missing = [name for name in data_inputs if name not in example_inputs]
    if missing:
        raise EmoInputError(f"example_inputs lack {', '.join(missing)} (the model's inputs)")
    ordered_inputs = sorted(data_inputs, key=lambda n: (_INPUT_ORDER.index(n) if n in _INPUT_ORDER
                                                        else len(_INPUT_ORDER), n))
    names = [layer["name"] for layer in layers]
    by_name = {layer["name"]: layer for layer in layers}

    # Which inputs does each operation depend on?
    sources: dict[str, frozenset] = {}

    def source_of(name: str) -> frozenset:
        if name not in sources:
            sources[name] = frozenset()  # guards against cycles in a malformed config
            ups = [p for p in parents.get(name, []) if p in by_name]
            if not ups:
                sources[name] = frozenset([name]) if name in input_names else frozenset()
            else:
                sources[name] = frozenset().union(*(source_of(p) for p in ups))
        return sources[name]

    side_ops = [n for n in names if source_of(n) and source_of(n) <= set(side_inputs)]
    columns: dict[str, list[str]] = {name: [] for name in ordered_inputs}
    shared: list[str] = []
    for name in names:
        if name in side_ops:
            continue
        origin = source_of(name) - set(side_inputs)
        if len(ordered_inputs) == 1:
            columns[ordered_inputs[0]].append(name)
        elif len(origin) == 1:
            columns[next(iter(origin))].append(name)
        else:
            shared.append(name)
    tower_rows = max((len(ops) for ops in columns.values()), default=0)
    n_rows = max(tower_rows + len(shared), 1)

    n_columns = max(len(ordered_inputs), 1)
    main_right = 0.8 if side_ops else 1.0  # the side column takes the right fifth
    x_of_column = {name: main_right * (index + 0.5) / n_columns for index, name in enumerate(ordered_inputs)}
    box_width = main_right * (0.9 / n_columns if n_columns > 1 else 0.56)
    placement: dict[str, tuple[float, float, float, str]] = {}
    for column, ops in columns.items():
        for row, name in enumerate(ops):
            if not parents.get(name):
                colour = "input"
            elif n_columns == 1 and not name.startswith(_TOWER_PREFIXES):
                colour = "shared"  # the sequence model of a one-tower model
            else:
                colour = column
            placement[name] = (x_of_column[column], row, box_width, colour)
    for index, name in enumerate(shared):
        placement[name] = (main_right / 2, tower_rows + index, main_right * 0.56, "shared")
    # side inputs: stacked in the right column, the last one level with its first consumer
    consumers = {s: [n for n in names if s in parents.get(n, []) and n not in side_ops] for s in side_ops}
    first_consumer_rows = [placement[c][1] for s in side_ops for c in consumers[s] if c in placement]
    anchor = min(first_consumer_rows) if first_consumer_rows else n_rows - 1
    start = max(anchor - (len(side_ops) - 1), 0)
    for index, name in enumerate(side_ops):
        placement[name] = (0.9, start + index, 0.17, "side")

    height = round(2.8 + 0.55 * n_rows, 1)  # whole pixels at DPI
    fig = Figure(figsize=(10.0, height), layout="constrained")
    grid = fig.add_gridspec(2, n_columns, height_ratios=(2.2, 0.55 * n_rows))

    # Example inputs on top
    for index, name in enumerate(ordered_inputs):
        ax = fig.add_subplot(grid[0, index])
        value = np.asarray(example_inputs[name], dtype=np.float64)
        if name == "waveform":
            wave = _vector("example waveform", value.reshape(-1))
            ax.plot(np.arange(wave.size) / SAMPLE_RATE, wave, color="#b36b00", linewidth=0.3)
            ax.set_xlabel("time (s)")
            ax.set_ylabel("amplitude (z)")
            ax.set_title(f"example input: waveform, {wave.size:,} samples at "
                         f"{SAMPLE_RATE / 1000:g} kHz", fontsize=9)
            ax.set_xlim(0, wave.size / SAMPLE_RATE)
        elif name == "spectrogram":
            spec = _log_mel(value)
            _show_map(ax, fig, spec, f"example input: log mel, {spec.shape[0]} frames x "
                      f"{spec.shape[1]} bands (+ 2 delta maps)", label="log mel (model input)")
            ax.set_xlabel("time (s)")
        else:
            if value.ndim != 2:
                raise EmoInputError(f"example input {name!r} must be 2-D, got shape {value.shape}")
            image = ax.imshow(value.T, origin="lower", aspect="auto", cmap="viridis",
                              interpolation="nearest")
            fig.colorbar(image, ax=ax, pad=0.01, fraction=0.03, label=f"{name} (model input)")
            ax.set_xlabel("label step")
            ax.set_ylabel("feature")
            ax.set_title(f"example input: {name}, {value.shape[0]} x {value.shape[1]}", fontsize=9)

    # The graph
    ax = fig.add_subplot(grid[1, :])
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(n_rows, 0.0)
    ax.axis("off")
    top, bottom = 0.14, 0.86
    for name in names:
        x, row, width, colour = placement[name]
        side = colour == "side"
        ax.add_patch(FancyBboxPatch((x - width / 2, row + top), width, bottom - top,
                                    boxstyle="round,pad=0.004,rounding_size=0.02",
                                    facecolor=_COLUMN_COLOURS.get(colour, "#eeeeee"),
                                    edgecolor="0.3", linewidth=0.8, linestyle="--" if side else "-"))
        shape = _shape_text(shapes.get(name))
        text = (f"{name}\n{_detail(by_name[name])}\n\u2192 {shape}" if side
                else f"{name}\n{_detail(by_name[name])}  \u2192  {shape}")
        ax.text(x, row + 0.5, text, ha="center", va="center", fontsize=6.5 if side else 7.5,
                linespacing=1.15 if side else 1.3)
        for parent in parents.get(name, []):
            if parent not in placement:
                continue
            px, prow, pwidth, pcolour = placement[parent]
            if pcolour == "side" and not side:  # a side input joins its consumer from the right
                ax.annotate("", xy=(x + width / 2, row + 0.5), xytext=(px - pwidth / 2, prow + 0.5),
                            arrowprops={"arrowstyle": "-|>", "color": "0.35", "linewidth": 0.8,
                                        "linestyle": "--", "shrinkA": 0, "shrinkB": 0})
                continue
            ax.annotate("", xy=(x, row + top), xytext=(px, prow + bottom),
                        arrowprops={"arrowstyle": "-|>", "color": "0.35", "linewidth": 0.8,
                                    "shrinkA": 0, "shrinkB": 0})
    try:
        from .models import describe_model

        variant = describe_model(model)["variant"]
    except Exception:  # a model not built by emo_lib: its name is enough
        variant = None
    shown = {"WS": "W+S", "WSG": "W+S gated"}.get(variant, variant)
    title = (f"{shown or model.name} model \u201c{model.name}\u201d, "
             f"{model.count_params():,} parameters")
    if label:
        title += f"; example inputs: {label}"
    fig.suptitle(title, fontsize=11)
    return save_figure(fig, path)


# ---------------------------------------------------------------------------
# Figures 2 and 3: one segment, ground truth and three models
# ---------------------------------------------------------------------------

def _segment_ccc(truth: np.ndarray, prediction: np.ndarray, valid: np.ndarray) -> tuple[float, int]:
    """CCC (:func:`emo_lib.metrics.ccc`) over the valid frames where both traces are finite."""
    keep = valid & np.isfinite(truth) & np.isfinite(prediction)
    return ccc(truth[keep], prediction[keep]), int(keep.sum())


def _prediction_axes(ax, times, truth, predictions, dimension, valid):
    ax.plot(times, truth, label=MODEL_LABELS["truth"], **LINE_STYLES["truth"])
    for key, values in predictions.items():
        value, _ = _segment_ccc(truth, values, valid)
        score = "n/a" if not np.isfinite(value) else f"{value:.3f}"
        ax.plot(times, values, label=f"{MODEL_LABELS[key]}: CCC {score}", **LINE_STYLES[key])
    ax.set_ylabel(f"{dimension} (rating, -1 to 1)")
    ax.set_xlim(float(times[0]), float(times[-1]))
    ax.grid(True, alpha=0.3)
    n_valid = int((valid & np.isfinite(truth)).sum())
    ax.legend(fontsize=8, title=f"CCC on this segment\n({n_valid} labelled frames)",
              title_fontsize=8, **_LEGEND_RIGHT)


def _segment_figure(times, truth, predictions, words, dimension, corpus_label, extra_rows, mask):
    label = _label(corpus_label)
    times = _vector("times", times)
    if np.any(np.diff(times) <= 0):
        raise EmoInputError("times must increase")
    truth = _vector("truth", truth, times.size, allow_nan=True)
    predictions = _predictions(predictions, times.size)
    valid = np.ones(times.size, dtype=bool)
    if mask is not None:
        values = _vector("mask", mask, times.size)
        if not np.all((values == 0) | (values == 1)):
            raise EmoInputError("mask must hold 1 (labelled frame) or 0 (padding) only")
        valid = values > 0
    rows = [4.0] + ([0.7] if words else []) + list(extra_rows)
    height = round(1.2 + sum(rows) * 0.85, 1)  # whole pixels at DPI
    fig = Figure(figsize=(10.0, height), layout="constrained")
    grid = fig.add_gridspec(len(rows), 1, height_ratios=rows)
    ax = fig.add_subplot(grid[0])
    _prediction_axes(ax, times, truth, predictions, dimension, valid)
    if words:
        strip = fig.add_subplot(grid[1], sharex=ax)
        _draw_words(strip, words, (float(times[0]), float(times[-1])))
        ax.tick_params(labelbottom=False)
    else:
        ax.set_xlabel("time (s)")
    return fig, grid, ax, label, times, len(rows) - len(extra_rows)


def figure2_arousal(times: Any, truth: Any, predictions: Mapping[str, Any], *,
                    words: Sequence[tuple[float, float, str]] | None = None, corpus_label: str,
                    path: str | Path | None = None, mask: Any = None) -> Figure:
    """The paper's Figure 2: arousal of one segment, ground truth and the three models.

    Parameters
    ----------
    times : np.ndarray [shape=(T,)]
        Label times in seconds, relative to the segment's start (the end of
        each label window).
    truth : np.ndarray [shape=(T,)]
        Gold-standard arousal (NaN where masked; drawn as gaps).
    predictions : dict of np.ndarray [shape=(T,)]
        ``{"W": ..., "S": ..., "WS": ...}`` (a subset is allowed; ``"W+S"``
        is read as ``"WS"``; ``"WSG"`` or ``"W+S gated"`` adds W+S gated).
    words : list of (float, float, str), optional
        Words of the segment (start s, end s, word) relative to its start,
        shown in a strip under the time axis.
    corpus_label : str
        Shown in the title.
    path : str or pathlib.Path, optional
        Where to write the PNG.
    mask : np.ndarray [shape=(T,)], optional, keyword-only
        1 for labelled frames, 0 for padding: padded frames are left out of
        the CCC (as are frames where the truth is NaN).

    Returns
    -------
    matplotlib.figure.Figure
        The first axes holds one line per trace, in the paper's styles; its
        legend, to the right of the axes, gives each model's CCC on this
        segment (:func:`emo_lib.metrics.ccc` of the arrays passed in).
    """
    fig, _, _, label, _, _ = _segment_figure(times, truth, predictions, words, "arousal",
                                             corpus_label, [], mask)
    fig.suptitle(f"Arousal of one test segment: ground truth and predictions \u2014 {label}", fontsize=11)
    return save_figure(fig, path)


def _check_explanation(explanation, spectrogram) -> np.ndarray:
    """The log-mel map of ``spectrogram``, checked against the explanation's grid."""
    for attribute in ("weights", "segments", "top_cells", "time_s", "frame", "dimension"):
        if not hasattr(explanation, attribute):
            raise EmoInputError("explanation must be a SpectrogramExplanation "
                                "(emo_lib.explain.explain_spectrogram)")
    log_mel = _log_mel(spectrogram)
    if log_mel.shape != explanation.segments.shape:
        raise EmoInputError(f"spectrogram {log_mel.shape} does not match the explanation's "
                            f"{explanation.segments.shape}")
    return log_mel


_HIGHLIGHTS = ("both", "positive", "negative")


def _chosen_cells(explanation, top_k: int, highlight: str) -> np.ndarray:
    if highlight not in _HIGHLIGHTS:
        raise EmoInputError(f"highlight must be one of {', '.join(_HIGHLIGHTS)}, got {highlight!r}")
    return explanation.top_cells(top_k, positive_only=highlight == "positive",
                                 negative_only=highlight == "negative")


def _outline_cells(ax, segments: np.ndarray, cells: np.ndarray, *, colour: str = "black") -> None:
    """A rectangle around each chosen cell (in seconds and bands)."""
    for cell in cells:
        frames, bands = np.nonzero(segments == cell)
        if frames.size == 0:
            continue
        x0, x1 = frames.min() * FRAME_HOP_SECONDS, (frames.max() + 1) * FRAME_HOP_SECONDS
        ax.add_patch(Rectangle((x0, bands.min()), x1 - x0, bands.max() + 1 - bands.min(), fill=False,
                               edgecolor=colour, linewidth=1.3, label="_top cell"))


def _weights_norm(explanation) -> CenteredNorm:
    limit = float(np.max(np.abs(explanation.weights))) or 1.0
    return CenteredNorm(vcenter=0.0, halfrange=limit)


def _draw_lime_panel(ax, fig, explanation, log_mel: np.ndarray, *, top_k: int, highlight: str,
                     model_name: str) -> None:
    """Signed LIME weights over the spectrogram, top cells outlined, the explained time dashed.

    The log-mel map is drawn in greys (dark = loud); each cell is tinted by its
    weight with a diverging colour map centred on zero (red raises the output,
    blue lowers it), more opaque the larger ``|weight|``.
    """
    chosen = _chosen_cells(explanation, top_k, highlight)
    n_frames, n_mels = log_mel.shape
    extent = (0.0, _spectrogram_seconds(n_frames), 0.0, float(n_mels))
    lo, hi = np.percentile(log_mel, [1, 99])
    ax.imshow(log_mel.T, origin="lower", aspect="auto", interpolation="nearest", cmap="Greys",
              vmin=lo, vmax=max(hi, lo + 1e-9), extent=extent)
    heat = explanation.heatmap()
    norm = _weights_norm(explanation)
    alpha = 0.15 + 0.7 * np.abs(heat.T) / norm.halfrange
    overlay = ax.imshow(heat.T, origin="lower", aspect="auto", interpolation="nearest",
                        cmap=DIVERGING_CMAP, norm=norm, alpha=alpha, extent=extent)
    fig.colorbar(overlay, ax=ax, pad=0.01, fraction=0.03,
                 label=f"LIME weight: change of the {explanation.dimension} output\n"
                       "when the cell is heard (red raises, blue lowers)")
    _outline_cells(ax, explanation.segments, chosen)
    ax.axvline(explanation.time_s, color="black", linestyle="--", linewidth=1.2,
               label="explained time (end of its label window)")
    ax.set_xlim(extent[0], extent[1])
    ax.set_xlabel("time in segment (s)")
    _set_mel_axis(ax, n_mels)
    cells = len(chosen)
    which = {"both": "that move it most", "positive": "that most raise it",
             "negative": "that most lower it"}[highlight]
    ax.set_title(
        f"LIME of the {model_name + ' ' if model_name else ''}model's {explanation.dimension} output "
        f"at {explanation.time_s:.2f} s (\u00b1{explanation.context_frames} frames; dashed line), "
        f"hidden cells silent; outlined: the {cells} cell{'' if cells == 1 else 's'} "
        f"(of {explanation.weights.size}) {which}; local R\u00b2 = {explanation.score:.2f}, "
        f"{explanation.num_samples} samples", fontsize=8.5, wrap=True)
    if not cells:
        ax.text(0.5, 0.5, f"no cell has a {highlight} weight", ha="center", va="center",
                transform=ax.transAxes)


def _model_name(explained_model: str) -> str:
    return MODEL_LABELS.get(_MODEL_ALIASES.get(explained_model, explained_model), explained_model)


def figure3_valence(times: Any, truth: Any, predictions: Mapping[str, Any], explanation=None,
                    spectrogram: Any = None, *, words: Sequence[tuple[float, float, str]] | None = None,
                    corpus_label: str, path: str | Path | None = None, top_k: int = 10,
                    highlight: str = "both", explained_model: str = "S", mask: Any = None) -> Figure:
    """The paper's Figure 3: valence of one segment, and LIME's explanation below.

    Parameters
    ----------
    times, truth, predictions, words, corpus_label, path, mask
        As for :func:`figure2_arousal`, with valence; the legend gives each
        model's CCC on the segment.
    explanation : SpectrogramExplanation, optional
        From :func:`emo_lib.explain.explain_spectrogram`. When given, a
        vertical line marks the explained frame in the upper panel, and a lower
        panel shows ``spectrogram``'s log-mel map in greys with every cell
        tinted by its signed LIME weight (diverging colour map centred on zero,
        red raises the output, blue lowers it; a labelled colour bar), the
        ``top_k`` cells of ``highlight`` outlined, and a dashed line at the
        explained time (the end of the explained label window).
    spectrogram : np.ndarray [shape=(F, n_mels, 3) or (F, n_mels)], optional
        The explained segment's spectrogram (required with ``explanation``).
    top_k : int
        Cells outlined.
    highlight : {"both", "positive", "negative"}
        Outline the cells with the largest ``|weight|`` (default), those that
        most raise the explained output (the paper's figure), or those that
        most lower it (what drives a trough).
    explained_model : {"W", "S", "WS"}
        The model the explanation is of (the paper: S only), for the caption.

    Returns
    -------
    matplotlib.figure.Figure
        Axes: the predictions, the word strip (with words), the LIME panel
        and its colour bar (with an explanation).
    """
    if highlight not in _HIGHLIGHTS:
        raise EmoInputError(f"highlight must be one of {', '.join(_HIGHLIGHTS)}, got {highlight!r}")
    if explanation is not None and spectrogram is None:
        raise EmoInputError("figure3_valence needs the spectrogram to draw the explanation")
    log_mel = None
    if explanation is not None:
        log_mel = _check_explanation(explanation, spectrogram)
    extra = [3.6] if explanation is not None else []
    fig, grid, ax, label, times, used = _segment_figure(times, truth, predictions, words, "valence",
                                                        corpus_label, extra, mask)
    if explanation is not None:
        if not 0 <= explanation.frame < times.size:
            raise EmoInputError(f"the explanation's frame {explanation.frame} is outside the "
                                f"{times.size} label times")
        model_name = _model_name(explained_model)
        ax.axvline(times[explanation.frame], color="0.3", linestyle=(0, (1, 3)), linewidth=1.2,
                   label=f"explained time ({model_name})")
        legend = ax.get_legend()
        ax.legend(fontsize=8, title=legend.get_title().get_text(), title_fontsize=8, **_LEGEND_RIGHT)
        lime_ax = fig.add_subplot(grid[used])
        _draw_lime_panel(lime_ax, fig, explanation, log_mel, top_k=top_k, highlight=highlight,
                         model_name=model_name)
    fig.suptitle(f"Valence of one test segment: ground truth and predictions \u2014 {label}", fontsize=11)
    return save_figure(fig, path)


def plot_explanation(explanation, spectrogram: Any, path: str | Path | None = None, *,
                     corpus_label: str, title: str | None = None, top_k: int = 10,
                     highlight: str = "both", explained_model: str | None = None) -> Figure:
    """One LIME explanation on its own: the spectrogram, and the signed weight of every cell.

    Parameters
    ----------
    explanation : SpectrogramExplanation
        From :func:`emo_lib.explain.explain_spectrogram`.
    spectrogram : np.ndarray [shape=(F, n_mels, 3) or (F, n_mels)]
        The explained segment's spectrogram.
    path : str or pathlib.Path, optional
    corpus_label : str
    title : str, optional
        What is explained (for example ``"W+S valence, waveform held fixed"``);
        defaults to the explanation's dimension and time.
    top_k : int
        Cells outlined in both panels.
    highlight : {"both", "positive", "negative"}
        As for :func:`figure3_valence`.
    explained_model : {"W", "S", "WS"}, optional
        Named in the lower panel's caption ("the model" when not given).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels, each with a labelled colour bar: the log-mel map as the
        model saw it, with the ``top_k`` cells outlined and the explained time
        dashed; the LIME panel of :func:`figure3_valence` (signed weights over
        the spectrogram, diverging colour map centred on zero).
    """
    label = _label(corpus_label)
    if highlight not in _HIGHLIGHTS:
        raise EmoInputError(f"highlight must be one of {', '.join(_HIGHLIGHTS)}, got {highlight!r}")
    log_mel = _check_explanation(explanation, spectrogram)
    fig = Figure(figsize=(10.0, 7.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    _show_map(top, fig, log_mel, f"the explained segment's log mel; outlined: the top "
              f"{len(_chosen_cells(explanation, top_k, highlight))} cells",
              label="log mel (model input)")
    _outline_cells(top, explanation.segments, _chosen_cells(explanation, top_k, highlight),
                   colour="white")
    top.axvline(explanation.time_s, color="white", linestyle="--", linewidth=1.2)
    _draw_lime_panel(bottom, fig, explanation, log_mel, top_k=top_k, highlight=highlight,
                     model_name="" if explained_model is None else _model_name(explained_model))
    what = title or f"{explanation.dimension} at {explanation.time_s:.2f} s"
    fig.suptitle(f"LIME explanation: {what}; intercept {explanation.intercept:.3f}, unperturbed "
                 f"output {explanation.prediction:.3f} \u2014 {label}", fontsize=11)
    return save_figure(fig, path)


# ---------------------------------------------------------------------------
# W+S gated: the weight of each tower over one segment
# ---------------------------------------------------------------------------

_GATE_COLOURS = {"waveform": _COLUMN_COLOURS["waveform"], "spectrogram": _COLUMN_COLOURS["spectrogram"]}


def _gate_weights(gates: Any, length: int) -> np.ndarray:
    """g_w (T,) from ``(T,)`` waveform weights or ``(T, 2)`` gates that sum to 1, checked."""
    array = np.asarray(gates, dtype=np.float64)
    if array.ndim == 2:
        if array.shape != (length, 2):
            raise EmoInputError(f"gates must have shape ({length}, 2) or ({length},), got {array.shape}")
        if not np.all(np.isfinite(array)):
            raise EmoInputError("gates contain NaN or infinite values")
        if np.max(np.abs(array.sum(axis=1) - 1.0)) > 1e-4:
            raise EmoInputError("gates must sum to 1 at every step (g_w + g_s, a softmax)")
        array = array[:, 0]
    weights = _vector("gates", array, length)
    if np.any(weights < -1e-6) or np.any(weights > 1 + 1e-6):
        raise EmoInputError("gate weights must lie between 0 and 1")
    return np.clip(weights, 0.0, 1.0)


def plot_gates(times: Any, truth: Any, prediction: Any, gates: Any, *, corpus_label: str,
               path: str | Path | None = None, mask: Any = None) -> Figure:
    """One test segment of the W+S gated model: its predictions, and how it weighted the two towers.

    Parameters
    ----------
    times : np.ndarray [shape=(T,)]
        Label times in seconds from the segment's start (the end of each
        label window), increasing.
    truth : np.ndarray [shape=(T, 2)]
        Gold-standard arousal and valence (NaN where unlabelled; drawn as gaps).
    prediction : np.ndarray [shape=(T, 2)]
        The W+S gated model's arousal and valence.
    gates : np.ndarray [shape=(T, 2) or (T,)]
        The model's fusion weights ``(g_w, g_s)`` at each label step (rows
        sum to 1; from :func:`emo_lib.training.predict_gates`), or ``g_w``
        alone.
    corpus_label : str
        Shown in the title.
    path : str or pathlib.Path, optional, keyword-only
        Where to write the PNG.
    mask : np.ndarray [shape=(T,)], optional, keyword-only
        1 for labelled frames, 0 for padding: padding is left out of the CCCs
        and of the mean weight, and shaded grey in the gate panel.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes sharing the time axis (seconds): arousal and valence, each
        with the ground truth and the W+S gated prediction in the styles of
        :data:`LINE_STYLES` and the segment's CCC in the legend; then the
        weight of the waveform tower ``g_w`` over time (a line, and a band
        from 0 up to it in the waveform tower's colour of Figure 1), the
        spectrogram tower's ``g_s = 1 - g_w`` filling the rest up to 1, and a
        dashed line at 0.5, where the gated fusion equals the plain W+S
        concatenation.

    Raises
    ------
    EmoInputError
        For arrays of the wrong shape, times that do not increase, gates
        outside [0, 1] or not summing to 1, or a mask that is not 0/1.
    """
    label = _label(corpus_label)
    times = _vector("times", times)
    if np.any(np.diff(times) <= 0):
        raise EmoInputError("times must increase")
    length = times.size
    traces = {}
    for name, values in (("truth", truth), ("prediction", prediction)):
        array = np.asarray(values, dtype=np.float64)
        if array.shape != (length, 2):
            raise EmoInputError(f"{name} must have shape ({length}, 2) (arousal, valence), got {array.shape}")
        for column, dimension in enumerate(DIMENSIONS):
            _vector(f"{name} {dimension}", array[:, column], length, allow_nan=True)
        traces[name] = array
    g_w = _gate_weights(gates, length)
    valid = np.ones(length, dtype=bool)
    if mask is not None:
        values = _vector("mask", mask, length)
        if not np.all((values == 0) | (values == 1)):
            raise EmoInputError("mask must hold 1 (labelled frame) or 0 (padding) only")
        valid = values > 0

    fig = Figure(figsize=(10.0, 7.5), layout="constrained")
    grid = fig.add_gridspec(3, 1, height_ratios=(3.0, 3.0, 2.2))
    first = None
    for row, dimension in enumerate(DIMENSIONS):
        ax = fig.add_subplot(grid[row], sharex=first)
        first = first or ax
        _prediction_axes(ax, times, traces["truth"][:, row], {"WSG": traces["prediction"][:, row]},
                         dimension, valid)
        ax.tick_params(labelbottom=False)
    ax = fig.add_subplot(grid[2], sharex=first)
    ax.fill_between(times, 0.0, g_w, step="pre", color=_GATE_COLOURS["waveform"],
                    label="waveform tower, g_w")
    ax.fill_between(times, g_w, 1.0, step="pre", color=_GATE_COLOURS["spectrogram"],
                    label="spectrogram tower, g_s = 1 \u2212 g_w")
    mean = float(np.mean(g_w[valid])) if valid.any() else float("nan")
    ax.step(times, g_w, where="pre", color=LINE_STYLES["W"]["color"], linewidth=1.4,
            label=f"g_w (mean {mean:.2f} on labelled frames)" if np.isfinite(mean) else "g_w")
    ax.axhline(0.5, color="0.3", linestyle="--", linewidth=1.0, label="0.5: equal weights (= plain W+S)")
    step = float(np.median(np.diff(times))) if length > 1 else float(times[0])
    edges = np.flatnonzero(np.diff(np.r_[0, (~valid).astype(int), 0]))  # starts and ends of padded runs
    for number, (start, stop) in enumerate(zip(edges[::2], edges[1::2])):
        ax.axvspan(float(times[start]) - step, float(times[stop - 1]), color="0.85", zorder=3,
                   label="not labelled (padding)" if number == 0 else "_padding")
    ax.set_ylim(0.0, 1.0)
    ax.set_xlim(float(times[0]) - step, float(times[-1]))
    ax.set_xlabel("time in segment (s)")
    ax.set_ylabel("weight of each tower")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, title="fusion gate per label step", title_fontsize=8, **_LEGEND_RIGHT)
    fig.suptitle(f"W+S gated on one test segment: predictions, and the weight it gave each tower "
                 f"\u2014 {label}", fontsize=11)
    return save_figure(fig, path)


_STABILITY_COLUMNS = ("comparison", "seed_a", "num_samples_a", "seed_b", "num_samples_b", "top_k",
                      "jaccard", "sign_agreement")


def plot_lime_stability(table, path: str | Path | None = None, *, corpus_label: str,
                        title: str | None = None) -> Figure:
    """How stable LIME's top cells are, from :func:`emo_lib.explain.lime_stability`.

    Parameters
    ----------
    table : pandas.DataFrame
        The table of :func:`emo_lib.explain.lime_stability` (or
        :func:`emo_lib.explain.compare_explanations`).
    path : str or pathlib.Path, optional
    corpus_label : str
    title : str, optional
        What was explained (for example ``"S only valence at 1.30 s"``).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes, number of samples across (log scale), overlap up (0 to 1):
        left, two seeds at the same number of samples (one dot per pair of
        seeds, the line their mean); right, one seed at fewer samples against
        the same seed at the most samples (one dot per seed). Jaccard overlap
        of the top-k cells (circles, solid) and sign agreement of the common
        cells (triangles, dashed).
    """
    import pandas as pd

    label = _label(corpus_label)
    if not isinstance(table, pd.DataFrame):
        raise EmoInputError("table must be a pandas DataFrame (emo_lib.explain.lime_stability)")
    missing = [c for c in _STABILITY_COLUMNS if c not in table.columns]
    if missing:
        raise EmoInputError(f"table lacks columns {', '.join(missing)}")
    if table.empty:
        raise EmoInputError("table has no rows")
    fig = Figure(figsize=(10.0, 4.0), layout="constrained")
    seeds_ax, counts_ax = fig.subplots(1, 2, sharey=True)
    across_seeds = table[table["comparison"] == "seeds"]
    most = table["num_samples_b"].max()
    against_most = table[(table["comparison"] == "num_samples") & (table["num_samples_b"] == most)]
    panels = ((seeds_ax, across_seeds, "num_samples_a", "two seeds, same number of samples"),
              (counts_ax, against_most, "num_samples_a",
               f"one seed: fewer samples against {most:,}"))
    for ax, part, column, heading in panels:
        for measure, marker, style in (("jaccard", "o", "-"), ("sign_agreement", "^", "--")):
            if part.empty:
                continue
            x = part[column].to_numpy(float)
            y = part[measure].to_numpy(float)
            ax.scatter(x, y, marker=marker, s=22, color="#4a7fc1" if measure == "jaccard" else "#d62728",
                       alpha=0.7, zorder=3)
            means = part.groupby(column)[measure].mean()
            ax.plot(means.index.to_numpy(float), means.to_numpy(float), linestyle=style,
                    color="#4a7fc1" if measure == "jaccard" else "#d62728")
        if part.empty:
            ax.text(0.5, 0.5, "no such comparison in the table", ha="center", va="center",
                    transform=ax.transAxes)
        else:
            ax.set_xscale("log")
            ticks = sorted(set(part[column].astype(int)))
            ax.set_xticks(ticks, [f"{t:,}" for t in ticks])
            ax.minorticks_off()
        ax.set_ylim(-0.03, 1.05)
        ax.set_xlabel("LIME samples")
        ax.set_title(heading, fontsize=10)
        ax.grid(True, alpha=0.3)
    seeds_ax.set_ylabel("agreement (0 to 1)")
    top_k = int(table["top_k"].iloc[0])
    handles = [Line2D([], [], color="#4a7fc1", marker="o", linestyle="-",
                      label=f"Jaccard overlap of the top {top_k} cells (|weight|)"),
               Line2D([], [], color="#d62728", marker="^", linestyle="--",
                      label="sign agreement of the cells in common")]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8)
    what = f"{title}: " if title else ""
    fig.suptitle(f"LIME stability, {what}top {top_k} cells \u2014 {label}", fontsize=11)
    return save_figure(fig, path)


# ---------------------------------------------------------------------------
# Training, prediction and data figures
# ---------------------------------------------------------------------------

_HISTORY_COLUMNS = ("epoch", "loss", "val_ccc_arousal", "val_ccc_valence")


def _read_history(name: str, history: Any):
    import pandas as pd

    source = None
    if isinstance(history, (str, Path)):
        source = history
        try:
            history = pd.read_csv(history)
        except (OSError, ValueError) as error:
            raise EmoInputError(f"cannot read training log: {error}", path=source) from None
    if not isinstance(history, pd.DataFrame):
        raise EmoInputError(f"history {name!r} must be a DataFrame or a CSV path")
    missing = [c for c in _HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise EmoInputError(f"history {name!r} lacks columns {', '.join(missing)}", path=source)
    if history.empty:
        raise EmoInputError(f"history {name!r} has no epochs", path=source)
    return history


def _best_epoch(history) -> int | None:
    """Row of the best validation mean CCC (``val_ccc_mean`` when logged), or None."""
    if "val_ccc_mean" in history.columns:
        mean_ccc = history["val_ccc_mean"].to_numpy(float)
    else:
        mean_ccc = (history["val_ccc_arousal"] + history["val_ccc_valence"]).to_numpy(float) / 2
    if not np.any(np.isfinite(mean_ccc)):
        return None
    return int(np.nanargmax(mean_ccc))


def plot_learning_curves(histories: Mapping[str, Any], path: str | Path | None = None, *,
                         corpus_label: str) -> Figure:
    """Learning curves as small multiples: one row per model, one panel per quantity.

    Parameters
    ----------
    histories : dict of pandas.DataFrame or path
        ``{name: training log}`` with columns ``epoch``, ``loss``,
        ``val_ccc_arousal``, ``val_ccc_valence`` and optionally ``val_loss``,
        ``val_ccc_mean`` (used to choose the best epoch when present) and
        ``lr`` (drawn in a fourth column when any log has it); other columns
        are ignored. A path to the CSV log written during training is read.
    path : str or pathlib.Path, optional
    corpus_label : str

    Returns
    -------
    matplotlib.figure.Figure
        Rows = models, columns = loss (training solid, validation dashed),
        validation CCC of arousal, of valence, and the learning rate (when
        logged). The best epoch (highest validation mean CCC, the weights
        training restores) is a dotted vertical line in every panel of its row
        with a dot on each CCC curve, and is stated in the row's first title.
        CCC panels share one y range; the legend sits below the panels.
    """
    label = _label(corpus_label)
    if not isinstance(histories, Mapping) or not histories:
        raise EmoInputError("histories must be a non-empty dict {name: DataFrame}")
    logs = {name: _read_history(name, history) for name, history in histories.items()}
    with_lr = any("lr" in log.columns for log in logs.values())
    n_rows, n_cols = len(logs), 4 if with_lr else 3
    fig = Figure(figsize=(3.3 * n_cols, round(2.1 * n_rows + 1.0, 1)), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    ccc_values = []
    for row, (name, log) in enumerate(logs.items()):
        epoch = log["epoch"].to_numpy(dtype=float)
        best = _best_epoch(log)
        loss_ax = axes[row, 0]
        loss_ax.plot(epoch, log["loss"].to_numpy(float), color="black", linestyle="-")
        if "val_loss" in log.columns:
            loss_ax.plot(epoch, log["val_loss"].to_numpy(float), color="0.45", linestyle="--")
        loss_ax.set_ylabel("1 - CCC loss")
        heading = f"{name}: loss"
        if best is not None:
            heading += f" (best epoch {epoch[best]:g})"
        loss_ax.set_title(heading, fontsize=9)
        for col, dimension in enumerate(DIMENSIONS, start=1):
            ax = axes[row, col]
            values = log[f"val_ccc_{dimension}"].to_numpy(float)
            ccc_values.append(values[np.isfinite(values)])
            ax.plot(epoch, values, color=_DIMENSION_COLOURS[dimension], linestyle="-")
            if best is not None:
                ax.scatter([epoch[best]], [values[best]], color=_DIMENSION_COLOURS[dimension], s=20,
                           zorder=3)
            ax.set_ylabel("validation CCC")
            ax.set_title(f"{name}: validation CCC, {dimension}", fontsize=9)
        if with_lr:
            ax = axes[row, 3]
            if "lr" in log.columns:
                ax.plot(epoch, log["lr"].to_numpy(float), color="#6a3d9a")
                if np.all(log["lr"].to_numpy(float) > 0):
                    ax.set_yscale("log")
            else:
                ax.text(0.5, 0.5, "not logged", ha="center", va="center", transform=ax.transAxes)
            ax.set_ylabel("learning rate")
            ax.set_title(f"{name}: learning rate", fontsize=9)
        for ax in axes[row]:
            if epoch.size > 1:
                ax.set_xlim(float(epoch.min()), float(epoch.max()))
            if best is not None:
                ax.axvline(epoch[best], color="0.3", linestyle=":", linewidth=1.0)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(True, alpha=0.3)
    finite = np.concatenate(ccc_values) if ccc_values else np.array([])
    if finite.size:
        low, high = min(0.0, float(finite.min())) - 0.05, max(0.1, float(finite.max())) + 0.05
        for ax in axes[:, 1:3].ravel():
            ax.set_ylim(low, high)
    handles = [Line2D([], [], color="black", linestyle="-", label="training loss"),
               Line2D([], [], color="0.45", linestyle="--", label="validation loss"),
               Line2D([], [], color=_DIMENSION_COLOURS["arousal"], label="validation CCC, arousal"),
               Line2D([], [], color=_DIMENSION_COLOURS["valence"], label="validation CCC, valence"),
               Line2D([], [], color="0.3", linestyle=":", marker="o", markersize=4,
                      label="best epoch (highest validation mean CCC)")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8)
    fig.suptitle(f"Learning curves \u2014 {label}", fontsize=11)
    return save_figure(fig, path)


def plot_trace(times: Any, arousal: Any, valence: Any, path: str | Path | None = None, *,
               title: str) -> Figure:
    """Predicted arousal and valence over a recording (for ``emo predict --plot``).

    Parameters
    ----------
    times : np.ndarray [shape=(T,)]
        Seconds from the start of the recording.
    arousal, valence : np.ndarray [shape=(T,)]
    path : str or pathlib.Path, optional
    title : str
        Typically the file and the model.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with two lines (arousal, valence), the legend to its right.
    """
    times = _vector("times", times)
    arousal = _vector("arousal", arousal, times.size, allow_nan=True)
    valence = _vector("valence", valence, times.size, allow_nan=True)
    fig = Figure(figsize=(10.0, 3.6), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(times, arousal, color=_DIMENSION_COLOURS["arousal"], linewidth=1.2, label="arousal")
    ax.plot(times, valence, color=_DIMENSION_COLOURS["valence"], linewidth=1.2, label="valence")
    low = min(-1.0, float(np.nanmin(np.r_[arousal, valence, 0.0])))
    high = max(1.0, float(np.nanmax(np.r_[arousal, valence, 0.0])))
    ax.set_ylim(low, high)
    ax.set_xlim(float(times[0]), float(times[-1]))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("predicted rating (-1 to 1)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, **_LEGEND_RIGHT)
    ax.set_title(str(title), fontsize=11)
    return save_figure(fig, path)


def plot_segment(waveform: Any, spectrogram: Any, label_times: Any, labels: Any, *,
                 mask: Any = None, corpus_label: str, path: str | Path | None = None) -> Figure:
    """One segment as the model sees it: waveform, the three spectrogram maps, the labels.

    Parameters
    ----------
    waveform : np.ndarray [shape=(S,) or (S, 1)]
        At 16 kHz.
    spectrogram : np.ndarray [shape=(F, n_mels, 3)]
        Log-mel, delta, delta-delta (10 ms frames), in the model's input units.
    label_times : np.ndarray [shape=(T,)]
        Seconds from the segment's start (the end of each label window).
    labels : np.ndarray [shape=(T, 2)]
        Arousal and valence.
    mask : np.ndarray [shape=(T,)], optional
        1 for real frames, 0 for padding; padded frames are shaded.
    corpus_label : str
    path : str or pathlib.Path, optional

    Returns
    -------
    matplotlib.figure.Figure
        Five panels (plus one labelled colour bar per spectrogram map; the
        delta maps on a diverging colour map centred on zero), frequency axes
        in Hz, the labels' legend in a strip above their panel.
    """
    label = _label(corpus_label)
    wave = _vector("waveform", np.asarray(waveform, dtype=np.float64).reshape(-1))
    if np.ndim(waveform) == 2 and np.shape(waveform)[1] != 1:
        raise EmoInputError(f"waveform must be (S,) or (S, 1), got {np.shape(waveform)}")
    spec = np.asarray(spectrogram, dtype=np.float64)
    if spec.ndim != 3 or spec.shape[-1] != 3:
        raise EmoInputError(f"spectrogram must be (F, n_mels, 3), got {spec.shape}")
    if not np.all(np.isfinite(spec)):
        raise EmoInputError("spectrogram contains NaN or infinite values")
    times = _vector("label_times", label_times)
    values = np.asarray(labels, dtype=np.float64)
    if values.shape != (times.size, 2):
        raise EmoInputError(f"labels must be ({times.size}, 2), got {values.shape}")
    if mask is not None:
        mask = _vector("mask", mask, times.size)
    fig = Figure(figsize=(10.0, 11.0), layout="constrained")
    axes = fig.subplots(5, 1, height_ratios=(1.3, 1.6, 1.6, 1.6, 1.5))
    duration = max(wave.size / SAMPLE_RATE, _spectrogram_seconds(spec.shape[0]))
    axes[0].plot(np.arange(wave.size) / SAMPLE_RATE, wave, color="#b36b00", linewidth=0.3)
    axes[0].set_ylabel("amplitude (z)")
    axes[0].set_title(f"waveform: {wave.size:,} samples at {SAMPLE_RATE / 1000:g} kHz", fontsize=10)
    names = ("log mel", "delta (first derivative over frames)", "delta-delta (second derivative)")
    units = ("log mel (model input)", "delta (model input)", "delta-delta (model input)")
    for index, name in enumerate(names):
        _show_map(axes[1 + index], fig, spec[..., index], f"{name}: {spec.shape[0]} frames x "
                  f"{spec.shape[1]} bands", label=units[index], diverging=index > 0)
    axes[4].plot(times, values[:, 0], color=_DIMENSION_COLOURS["arousal"], linewidth=1.4, label="arousal")
    axes[4].plot(times, values[:, 1], color=_DIMENSION_COLOURS["valence"], linewidth=1.4, label="valence")
    if mask is not None and np.any(mask == 0):
        axes[4].fill_between(times, 0, 1, where=mask == 0, transform=axes[4].get_xaxis_transform(),
                             color="0.6", alpha=0.3, step="mid", label="padding (masked)")
    axes[4].set_ylabel("rating (-1 to 1)")
    axes[4].set_title("labels (at the end of each label window)", fontsize=10, loc="left")
    axes[4].grid(True, alpha=0.3)
    axes[4].legend(fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3,
                   borderaxespad=0.2, frameon=False)  # a strip above the panel
    for ax in axes:
        ax.set_xlim(0.0, duration)
        ax.set_xlabel("time (s)")
    fig.suptitle(f"One segment as the model sees it \u2014 {label}", fontsize=11)
    return save_figure(fig, path)


_TABLE_COLUMNS = ("corpus", "model", "dimension", "ours_mean", "ours_sd", "paper")


def plot_model_comparison(table, path: str | Path | None = None, *, corpus_label: str) -> Figure:
    """Our CCC (mean and standard deviation over runs) beside the paper's, per model and dimension.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``corpus``, ``model``, ``dimension``, ``ours_mean``,
        ``ours_sd``, ``paper``: one row per corpus, model and dimension.
        ``ours_sd`` may be NaN (a single run: no error bar); ``paper`` may be
        NaN (no bar, "n/a").
    path : str or pathlib.Path, optional
    corpus_label : str
        What "ours" was measured on, shown in the title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per corpus (rows) and dimension (columns), models along x;
        the legend below the panels.
    """
    label = _label(corpus_label)
    _check_score_table(table, _TABLE_COLUMNS, ("corpus", "model", "dimension"))
    corpora = list(dict.fromkeys(table["corpus"]))
    dimensions = [d for d in DIMENSIONS if d in set(table["dimension"])] + \
        [d for d in dict.fromkeys(table["dimension"]) if d not in DIMENSIONS]
    fig = Figure(figsize=(round(5.2 * len(dimensions), 1), round(3.8 * len(corpora) + 0.6, 1)),
                 layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(corpora), len(dimensions), squeeze=False))
    width = 0.38
    for row, corpus in enumerate(corpora):
        for col, dimension in enumerate(dimensions):
            ax = axes[row, col]
            part = table[(table["corpus"] == corpus) & (table["dimension"] == dimension)]
            models = list(dict.fromkeys(part["model"]))
            x = np.arange(len(models), dtype=float)
            ours = part.set_index("model").loc[models]
            means = ours["ours_mean"].to_numpy(float)
            sds = ours["ours_sd"].to_numpy(float)
            paper = ours["paper"].to_numpy(float)
            bars = ax.bar(x - width / 2, np.nan_to_num(means), width, color="#4a7fc1",
                          label="ours (mean \u00b1 sd)")
            spread = np.isfinite(sds) & np.isfinite(means)
            if spread.any():
                ax.errorbar(x[spread] - width / 2, means[spread], yerr=sds[spread], fmt="none",
                            ecolor="black", elinewidth=1.0, capsize=3)
            ax.bar_label(bars, labels=[f"{m:.3f}" if np.isfinite(m) else "n/a" for m in means],
                         fontsize=7, padding=2)
            have = np.isfinite(paper)
            if have.any():
                paper_bars = ax.bar(x[have] + width / 2, paper[have], width, color="0.8",
                                    edgecolor="0.4", hatch="//", label="paper")
                ax.bar_label(paper_bars, labels=[f"{p:.3f}" for p in paper[have]], fontsize=7,
                             padding=2)
            for position in x[~have]:
                ax.text(position + width / 2, 0.01, "n/a", ha="center", va="bottom", fontsize=7)
            ax.set_xticks(x, [MODEL_LABELS.get(_MODEL_ALIASES.get(m, m), m) for m in models],
                          fontsize=8)
            ax.axhline(0.0, color="0.3", linewidth=0.6)
            finite = np.r_[means[np.isfinite(means)] + np.nan_to_num(sds[np.isfinite(means)]),
                           paper[have], 0.0]
            lowest = np.r_[means[np.isfinite(means)], 0.0].min()
            ax.set_ylim(min(0.0, lowest - 0.05), max(finite.max() * 1.18, 0.1))
            ax.set_ylabel("CCC")
            ax.set_title(f"{corpus}: {dimension}", fontsize=10)
            ax.grid(True, axis="y", alpha=0.3)
    handles = [Rectangle((0, 0), 1, 1, facecolor="#4a7fc1", label="ours (mean \u00b1 sd)"),
               Rectangle((0, 0), 1, 1, facecolor="0.8", edgecolor="0.4", hatch="//", label="paper")]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8)
    fig.suptitle(f"CCC on the test set, ours beside the paper's Table 1 \u2014 ours: {label}", fontsize=11)
    return save_figure(fig, path)


# ---------------------------------------------------------------------------
# Teaching figures: rater traces and the feature pipeline (notebook 01)
# ---------------------------------------------------------------------------

__all__ += ["plot_rater_traces", "plot_feature_pipeline"]

_RATER_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
                  "#ff9da7", "#9c755f", "#bab0ac")


def _rater_array(dimension: str, values: Any, length: int) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] != length:
        raise EmoInputError(
            f"raters[{dimension!r}] must be (R raters, {length} steps), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise EmoInputError(f"raters[{dimension!r}] contains NaN or infinite values")
    return array


def _mean_pairwise_ccc(traces: np.ndarray) -> float:
    values = [ccc(traces[a], traces[b]) for a in range(len(traces)) for b in range(a + 1, len(traces))]
    values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def plot_rater_traces(times: Any, raters: Mapping[str, Any], *, gold: Mapping[str, Any] | None = None,
                      alternative: Mapping[str, Any] | None = None,
                      alternative_label: str = "CCC-centred gold standard", corpus_label: str,
                      title: str = "Rater traces and the gold standard",
                      path: str | Path | None = None) -> Figure:
    """Individual raters' traces of one conversation, their disagreement and the fused gold standard.

    Parameters
    ----------
    times : np.ndarray [shape=(T,)]
        Seconds of each label row (as in :attr:`emo_lib.corpora.base.Conversation.times`).
    raters : dict[str, np.ndarray [shape=(R, T)]]
        One entry per dimension (``"arousal"``, ``"valence"``), one row per
        rater (:attr:`~emo_lib.corpora.base.Conversation.raters`).
    gold : dict[str, np.ndarray [shape=(T,)]], optional
        The gold standard per dimension; by default the mean of the raters
        (:func:`emo_lib.labels.fuse_raters` with ``"mean"``).
    alternative : dict[str, np.ndarray [shape=(T,)]], optional
        A second gold standard drawn dashed (for example ``"ccc_centred"``).
    alternative_label : str
        Its legend entry.
    corpus_label : str
        The data shown, in the title.
    title : str
        The title's first part (typically names the conversation).
    path : str or pathlib.Path, optional

    Returns
    -------
    matplotlib.figure.Figure
        Two panels per dimension sharing the time axis (seconds): the raters
        (thin coloured lines), the gold standard (thick black) with a band of
        one standard deviation across raters, the alternative (dashed); under
        it the standard deviation across raters over time. Each traces panel
        states the raters' mean pairwise CCC (:func:`emo_lib.metrics.ccc`);
        the legend sits to the right of the first panel.
    """
    label = _label(corpus_label)
    times = _vector("times", times)
    if not isinstance(raters, Mapping) or not raters:
        raise EmoInputError('raters must be a dict such as {"arousal": (R, T), "valence": (R, T)}')
    dimensions = [d for d in DIMENSIONS if d in raters] + [d for d in raters if d not in DIMENSIONS]
    traces = {d: _rater_array(d, raters[d], times.size) for d in dimensions}
    golds, alternatives = {}, {}
    for d in dimensions:
        if gold is not None and d not in gold:
            raise EmoInputError(f"gold has no {d!r} trace")
        golds[d] = traces[d].mean(axis=0) if gold is None else _vector(f"gold[{d!r}]", gold[d], times.size)
        if alternative is not None:
            if d not in alternative:
                raise EmoInputError(f"alternative has no {d!r} trace")
            alternatives[d] = _vector(f"alternative[{d!r}]", alternative[d], times.size)
    fig = Figure(figsize=(10.0, 3.4 * len(dimensions) + 0.6), layout="constrained")
    axes = fig.subplots(2 * len(dimensions), 1, sharex=True, height_ratios=(3.0, 1.0) * len(dimensions))
    for index, d in enumerate(dimensions):
        ax, ax_sd = axes[2 * index], axes[2 * index + 1]
        x = traces[d]
        spread = x.std(axis=0)
        for r, row in enumerate(x):
            ax.plot(times, row, color=_RATER_COLOURS[r % len(_RATER_COLOURS)], linewidth=0.8, alpha=0.85,
                    label=f"rater {r + 1}")
        ax.fill_between(times, golds[d] - spread, golds[d] + spread, color="0.5", alpha=0.2, linewidth=0,
                        label="\u00b11 sd across raters")
        ax.plot(times, golds[d], color="black", linewidth=2.0, label="gold standard (mean)")
        if d in alternatives:
            ax.plot(times, alternatives[d], color="black", linestyle="--", linewidth=1.4,
                    label=alternative_label)
        ax.set_ylabel(f"{d} (-1 to 1)")
        ax.grid(True, alpha=0.3)
        ax.set_title(f"{d}: {len(x)} raters, mean pairwise CCC {_mean_pairwise_ccc(x):.2f}",
                     fontsize=10, loc="left")
        ax_sd.plot(times, spread, color="0.3", linewidth=1.0)
        ax_sd.set_ylim(0.0, max(0.05, float(spread.max()) * 1.1))
        ax_sd.set_ylabel("sd across\nraters", fontsize=8)
        ax_sd.grid(True, alpha=0.3)
        if index == 0:
            ax.legend(fontsize=7, **_LEGEND_RIGHT)
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(float(times[0]), float(times[-1]))
    fig.suptitle(f"{title} \u2014 {label}", fontsize=11)
    return save_figure(fig, path)


def plot_feature_pipeline(waveform: Any, *, frame: int | None = None, corpus_label: str,
                          title: str = "From waveform to the spectrogram input",
                          path: str | Path | None = None) -> Figure:
    """The spectrogram input built step by step from an excerpt of a waveform.

    The steps of :func:`emo_lib.features.log_mel_deltas` (see the module
    docstring of :mod:`emo_lib.features`): 25 ms Hann windows every 10 ms
    (centred frames), the power spectrum, the 40-band mel filterbank, the
    natural log, and the first and second temporal derivatives.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,)]
        An excerpt at 16 kHz (a few seconds), normally of the z-normalised waveform.
    frame : int, optional
        The frame drawn on its own (its window in the waveform, the windowed
        samples, its power spectrum under the mel filters); by default the
        frame with the most energy.
    corpus_label : str
        The data shown, in the title.
    title : str
        The title's first part (typically names the conversation and the excerpt).
    path : str or pathlib.Path, optional

    Returns
    -------
    matplotlib.figure.Figure
        Seven panels, times in seconds from the excerpt's start and
        frequencies in Hz: the waveform with the chosen 25 ms window shaded;
        that frame before and after the Hann window (ms); its power spectrum
        (dB) under the mel filters; the power spectrogram (dB, linear
        frequency); the log mel, delta and delta-delta maps (mel bands labelled
        at their centre frequencies, deltas on a diverging colour map centred
        on zero). Every colour bar is labelled.
    """
    import librosa

    from .config import FRAME_WINDOW_SECONDS, N_MELS
    from .features import log_mel_deltas

    label = _label(corpus_label)
    wave = _vector("waveform", waveform)
    win = int(round(FRAME_WINDOW_SECONDS * SAMPLE_RATE))
    hop = int(round(FRAME_HOP_SECONDS * SAMPLE_RATE))
    if wave.size < 10 * hop:
        raise EmoInputError(f"waveform of {wave.size} samples is too short: give at least {10 * hop} "
                            f"({10 * FRAME_HOP_SECONDS:g} s at {SAMPLE_RATE} Hz)")
    n_frames = wave.size // hop
    stft = librosa.stft(wave.astype(np.float32), n_fft=win, hop_length=hop, window="hann", center=True,
                        pad_mode="constant")[:, :n_frames]
    power_db = 10.0 * np.log10(np.abs(stft) ** 2 + 1e-10)
    if frame is None:
        frame = int(np.argmax(power_db.max(axis=0)))
    if isinstance(frame, bool) or int(frame) != frame or not 0 <= frame < n_frames:
        raise EmoInputError(f"frame must be a whole number from 0 to {n_frames - 1}, got {frame!r}")
    frame = int(frame)
    maps = log_mel_deltas(wave)
    bank = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=win, n_mels=N_MELS)
    freqs = librosa.fft_frequencies(sr=SAMPLE_RATE, n_fft=win)
    padded = np.pad(wave, win // 2)
    samples = padded[frame * hop: frame * hop + win]
    hann = librosa.filters.get_window("hann", win, fftbins=True)

    fig = Figure(figsize=(10.0, 15.0), layout="constrained")
    grid = fig.add_gridspec(6, 2, height_ratios=(1.1, 1.3, 1.5, 1.5, 1.5, 1.5))
    ax_wave = fig.add_subplot(grid[0, :])
    seconds = np.arange(wave.size) / SAMPLE_RATE
    ax_wave.plot(seconds, wave, color="#b36b00", linewidth=0.3)
    centre = frame * FRAME_HOP_SECONDS
    ax_wave.axvspan(centre - FRAME_WINDOW_SECONDS / 2, centre + FRAME_WINDOW_SECONDS / 2, color="#1f5fbf",
                    alpha=0.35)
    ax_wave.set_xlim(0.0, n_frames * FRAME_HOP_SECONDS)
    ax_wave.set(xlabel="time (s)", ylabel="amplitude (z)")
    ax_wave.set_title(f"1. waveform: {wave.size:,} samples at {SAMPLE_RATE / 1000:g} kHz, "
                      f"{n_frames} frames of 25 ms every 10 ms; shaded: the window of frame {frame}, "
                      f"centred at {centre:.2f} s", fontsize=10, loc="left")

    ax_frame = fig.add_subplot(grid[1, 0])
    ms = (np.arange(win) - win // 2) / SAMPLE_RATE * 1000 + centre * 1000
    ax_frame.plot(ms, samples, color="0.6", linewidth=0.8)
    ax_frame.plot(ms, samples * hann, color="#1f5fbf", linewidth=1.0)
    ax_frame.plot(ms, hann * np.max(np.abs(samples)), color="black", linestyle="--", linewidth=0.8)
    ax_frame.set(xlabel="time (ms)", ylabel="amplitude (z)")
    ax_frame.set_title(f"2. frame {frame}, {win} samples: as cut (grey), times the Hann\n"
                       "window (blue); the window, scaled (dashed)", fontsize=10, loc="left")

    ax_spec = fig.add_subplot(grid[1, 1])
    ax_spec.plot(freqs, power_db[:, frame], color="#1f5fbf", linewidth=1.0)
    ax_spec.set(xlabel="frequency (Hz)", ylabel="power (dB)", xlim=(0.0, SAMPLE_RATE / 2))
    ax_spec.set_title(f"3. its power spectrum (blue) under the {N_MELS}\n"
                      "mel filters (red, Slaney area-normalised)", fontsize=10, loc="left")
    ax_bank = ax_spec.twinx()
    for band in bank:
        ax_bank.plot(freqs, band, color="#d62728", linewidth=0.6, alpha=0.7)
    ax_bank.set_ylabel("mel filter weight", color="#d62728")
    ax_bank.set_ylim(0.0, float(bank.max()) * 1.05)

    duration = n_frames * FRAME_HOP_SECONDS
    ax_power = fig.add_subplot(grid[2, :])
    image = ax_power.imshow(power_db, origin="lower", aspect="auto", interpolation="nearest", cmap="magma",
                            extent=(0.0, duration, 0.0, SAMPLE_RATE / 2),
                            vmin=float(power_db.max()) - 80.0, vmax=float(power_db.max()))
    fig.colorbar(image, ax=ax_power, pad=0.01, fraction=0.03, label="power (dB)")
    ax_power.set(ylabel="frequency (Hz)")
    ax_power.set_title(f"4. power spectrogram: {n_frames} frames x {len(freqs)} frequencies "
                       f"(every {freqs[1]:g} Hz)", fontsize=10)
    names = ("5. log mel: log(mel energy + 1e-6)", "6. delta: first derivative over 9 frames",
             "7. delta-delta: second derivative over 9 frames")
    units = ("log mel energy (natural log)", "delta (per frame)", "delta-delta (per frame\u00b2)")
    for index, name in enumerate(names):
        ax = fig.add_subplot(grid[3 + index, :])
        _show_map(ax, fig, maps[..., index], f"{name}: {n_frames} frames x {N_MELS} bands",
                  label=units[index], diverging=index > 0)
    for ax in fig.axes:
        if ax.get_label() != "<colorbar>" and ax not in (ax_frame, ax_spec, ax_bank):
            ax.set_xlim(0.0, duration)
            ax.set_xlabel("time (s)")
    fig.suptitle(f"{title} \u2014 {label}", fontsize=11)
    return save_figure(fig, path)


# ---------------------------------------------------------------------------
# What a hidden LIME cell is to the model
# ---------------------------------------------------------------------------

def plot_hidden_cells(copies: Mapping[str, Any], hidden: Any, path: str | Path | None = None, *,
                      corpus_label: str, outputs: Mapping[str, float] | None = None,
                      output_label: str = "output") -> Figure:
    """Copies of one spectrogram with the same cells hidden in different ways (LIME's perturbation).

    Parameters
    ----------
    copies : dict of np.ndarray [shape=(F, n_mels, 3)]
        Row title to spectrogram (log mel, delta, delta-delta) in the model's
        input units, one row each in the given order; for example
        ``{"as heard": spec, "hidden = silence": ..., "hidden = zero": ...}``
        built with :func:`emo_lib.explain.perturb_inputs`.
    hidden : np.ndarray [shape=(F, n_mels)] of bool
        The hidden pixels, outlined in every row.
    path : str or pathlib.Path, optional
    corpus_label : str
    outputs : dict of float, optional
        The model's explained output for some of the rows (same keys as
        ``copies``), written in their titles.
    output_label : str
        What ``outputs`` are (for example ``"valence output at 2.78 s"``).

    Returns
    -------
    matplotlib.figure.Figure
        One row per copy, two columns: the log-mel map (one colour scale for
        all rows, ``magma``) and the delta map (one scale for all rows,
        diverging and centred on zero: 0 is "nothing changes", the delta of
        silence); one labelled colour bar per column; times in seconds,
        frequencies in Hz; the hidden pixels outlined in cyan.
    """
    label = _label(corpus_label)
    if not isinstance(copies, Mapping) or not copies:
        raise EmoInputError("copies must be a non-empty dict {row title: (F, n_mels, 3) spectrogram}")
    maps = {}
    for name, value in copies.items():
        spec = np.asarray(value, dtype=np.float64)
        if spec.ndim != 3 or spec.shape[-1] != 3 or spec.shape[0] == 0:
            raise EmoInputError(f"copies[{name!r}] must be (F, n_mels, 3), got shape {spec.shape}")
        if not np.all(np.isfinite(spec)):
            raise EmoInputError(f"copies[{name!r}] contains NaN or infinite values")
        maps[str(name)] = spec
    shapes = {spec.shape for spec in maps.values()}
    if len(shapes) != 1:
        raise EmoInputError(f"copies have different shapes: {sorted(shapes)}")
    n_frames, n_mels, _ = shapes.pop()
    mask = np.asarray(hidden)
    if mask.shape != (n_frames, n_mels) or not np.all((mask == 0) | (mask == 1)):
        raise EmoInputError(f"hidden must be a ({n_frames}, {n_mels}) array of 0/1 or bool, "
                            f"got shape {mask.shape}")
    outputs = dict(outputs or {})
    unknown = [name for name in outputs if str(name) not in maps]
    if unknown:
        raise EmoInputError(f"outputs name rows that are not in copies: {', '.join(map(str, unknown))}")
    stacked = np.stack(list(maps.values()))
    log_norm = (float(stacked[..., 0].min()), float(stacked[..., 0].max()))
    delta_norm = CenteredNorm(vcenter=0.0, halfrange=float(np.abs(stacked[..., 1]).max()) or 1.0)
    rows = len(maps)
    fig = Figure(figsize=(10.0, round(1.0 + 2.2 * rows, 1)), layout="constrained")
    axes = np.asarray(fig.subplots(rows, 2, sharex=True, sharey=True, squeeze=False))
    extent = (0.0, _spectrogram_seconds(n_frames), 0.0, float(n_mels))
    x = (np.arange(n_frames) + 0.5) * FRAME_HOP_SECONDS
    y = np.arange(n_mels) + 0.5
    images = [None, None]
    for row, (name, spec) in enumerate(maps.items()):
        for column in range(2):
            ax = axes[row, column]
            options = ({"cmap": "magma", "vmin": log_norm[0], "vmax": max(log_norm[1], log_norm[0] + 1e-9)}
                       if column == 0 else {"cmap": DIVERGING_CMAP, "norm": delta_norm})
            images[column] = ax.imshow(spec[..., column].T, origin="lower", aspect="auto",
                                       interpolation="nearest", extent=extent, **options)
            if mask.any() and not mask.all():
                ax.contour(x, y, mask.T.astype(float), levels=[0.5], colors="cyan", linewidths=0.8)
            _set_mel_axis(ax, n_mels)
            title = f"{name}: {'log mel' if column == 0 else 'delta'}"
            if column == 0 and name in {str(k) for k in outputs}:
                value = float(next(v for k, v in outputs.items() if str(k) == name))
                title += f"; {output_label} {value:+.3f}"
            ax.set_title(title, fontsize=9, loc="left")
            if column == 1:
                ax.set_ylabel("")
        axes[row, 0].set_xlim(extent[0], extent[1])
    for column in range(2):
        axes[-1, column].set_xlabel("time in segment (s)")
    fig.colorbar(images[0], ax=list(axes[:, 0]), pad=0.01, fraction=0.04, label="log mel (model input)")
    fig.colorbar(images[1], ax=list(axes[:, 1]), pad=0.01, fraction=0.04,
                 label="delta (model input; 0 = no change)")
    fig.suptitle(f"Hidden cells (outlined in cyan) as the model receives them \u2014 {label}", fontsize=11)
    return save_figure(fig, path)


# ---------------------------------------------------------------------------
# Beyond the paper: one score under two protocols (notebook 03)
# ---------------------------------------------------------------------------

__all__ += ["plot_score_shift"]

_SHIFT_COLUMNS = ("group", "model", "dimension", "before", "after")


def _two_line_label(model: str) -> str:
    """A model's legend name broken after its first word group, so six of them fit under one axes."""
    label = MODEL_LABELS.get(_MODEL_ALIASES.get(model, model), model)
    return label.replace(" (", "\n(").replace("W + S gated", "W + S\ngated")


def plot_score_shift(table, path: str | Path | None = None, *, before: str, after: str, title: str) -> Figure:
    """Each model's score under two protocols, joined by an arrow from the first to the second.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``group`` (a panel row: a corpus, or ``"semaine -> recola"``),
        ``model``, ``dimension``, ``before``, ``after``; optionally
        ``before_low``, ``before_high``, ``after_low``, ``after_high`` (an
        interval drawn as a bar, NaN for none).
    path : str or pathlib.Path, optional
    before, after : str
        Legend names of the two protocols.
    title : str
        The figure's title (say which corpus the numbers come from).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per group (rows) and dimension (columns), models along x.

    Raises
    ------
    EmoInputError
        For a table that is not a DataFrame, lacks a column, has no rows or
        repeats a (group, model, dimension).
    """
    _check_score_table(table, _SHIFT_COLUMNS, ("group", "model", "dimension"))
    groups = list(dict.fromkeys(table["group"]))
    dimensions = [d for d in DIMENSIONS if d in set(table["dimension"])]
    fig = Figure(figsize=(round(4.6 * len(dimensions), 1), round(2.9 * len(groups) + 0.7, 1)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(groups), len(dimensions), squeeze=False))
    offset = 0.12
    for row, group in enumerate(groups):
        for col, dimension in enumerate(dimensions):
            ax = axes[row, col]
            part = table[(table["group"] == group) & (table["dimension"] == dimension)]
            models = list(dict.fromkeys(part["model"]))
            x = np.arange(len(models), dtype=float)
            part = part.set_index("model").loc[models]
            for name, shift, marker, fill in (("before", -offset, "o", _DIMENSION_COLOURS[dimension]),
                                              ("after", offset, "s", "white")):
                values = part[name].to_numpy(float)
                if f"{name}_low" in part.columns:
                    low = part[f"{name}_low"].to_numpy(float)
                    high = part[f"{name}_high"].to_numpy(float)
                    have = np.isfinite(low) & np.isfinite(high)
                    ax.vlines(x[have] + shift, low[have], high[have], color="0.45", linewidth=1.2)
                ax.plot(x + shift, values, linestyle="none", marker=marker, markersize=7,
                        markerfacecolor=fill, markeredgecolor=_DIMENSION_COLOURS[dimension])
            for position, first, second in zip(x, part["before"].to_numpy(float), part["after"].to_numpy(float)):
                if np.isfinite(first) and np.isfinite(second):
                    ax.annotate("", xy=(position + offset, second), xytext=(position - offset, first),
                                arrowprops={"arrowstyle": "->", "color": "0.3", "linewidth": 0.9})
            ax.set_xticks(x, [_two_line_label(m) for m in models], fontsize=8)
            ax.set_xlim(-0.6, len(models) - 0.4)
            ax.axhline(0.0, color="0.3", linewidth=0.6)
            ax.set_ylabel("CCC")
            ax.set_title(f"{group}: {dimension}", fontsize=10)
            ax.grid(True, axis="y", alpha=0.3)
    handles = [Line2D([], [], linestyle="none", marker="o", color="0.3", label=before),
               Line2D([], [], linestyle="none", marker="s", markerfacecolor="white", color="0.3", label=after)]
    if any(c.endswith("_low") for c in table.columns):
        handles.append(Line2D([], [], color="0.45", linewidth=1.2, label="95 % interval over test conversations"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8)
    fig.suptitle(title, fontsize=11)
    return save_figure(fig, path)
