"""Every figure of the project, one function each.

Figures 1 to 3 of the paper (architecture, arousal of one segment, valence of
one segment with its LIME explanation), one LIME explanation on its own, the
learning curves, the comparison of our CCCs with the paper's, a prediction
trace for ``emo predict --plot`` and a view of one segment as the model sees
it.

Each function builds a :class:`matplotlib.figure.Figure` directly (no
``pyplot``, so the session's backend and figure registry are left alone),
writes it as a PNG at :data:`DPI` dots per inch when given a path (atomically,
rendered with Agg) and returns it. Figure sizes are fixed, so a PNG is always
``figsize * DPI`` pixels. Every figure built from corpus data names the corpus
(``corpus_label``, for example ``"synthetic stand-in (SEMAINE layout)"``) in
its title (Figure 1, whose data are only the example inputs, when given).

Line styles of the model comparisons follow the paper's Figures 2 and 3:
ground truth solid blue, W only dashed yellow-orange, S only dotted red, W+S
dash-dot green (:data:`LINE_STYLES`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from matplotlib.ticker import MaxNLocator

from .config import FRAME_HOP_SECONDS, SAMPLE_RATE
from .corpora.base import DIMENSIONS
from .errors import EmoInputError
from .io import atomic_path

__all__ = [
    "DPI",
    "LINE_STYLES",
    "MODEL_LABELS",
    "save_figure",
    "figure1_architecture",
    "figure2_arousal",
    "figure3_valence",
    "plot_explanation",
    "plot_learning_curves",
    "plot_trace",
    "plot_segment",
    "plot_model_comparison",
]

DPI = 150
"""Resolution of every PNG written by this module (dots per inch)."""

LINE_STYLES: dict[str, dict[str, Any]] = {
    "truth": {"color": "#1f5fbf", "linestyle": "-", "linewidth": 2.0},
    "W": {"color": "#f0a30a", "linestyle": "--", "linewidth": 1.8},
    "S": {"color": "#d62728", "linestyle": ":", "linewidth": 2.0},
    "WS": {"color": "#2ca02c", "linestyle": "-.", "linewidth": 1.8},
}
"""Matplotlib line properties of the ground truth and of each model (paper, section 5.3)."""

MODEL_LABELS = {"truth": "ground truth", "W": "W only", "S": "S only", "WS": "W + S",
                "baseline": "baseline (ComParE)"}
"""Legend names of the models."""

_MODEL_ALIASES = {"W": "W", "S": "S", "WS": "WS", "W+S": "WS"}


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
            raise EmoInputError(f"unknown model {key!r} in predictions; use W, S and WS")
        out[_MODEL_ALIASES[key]] = _vector(f"predictions[{key!r}]", values, length, allow_nan=True)
    return {key: out[key] for key in ("W", "S", "WS") if key in out}


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


def _show_map(ax, fig, values: np.ndarray, title: str, *, cmap: str = "magma", colorbar: bool = True):
    """A (F, n_mels) map with time (s) across and mel band up."""
    n_frames, n_mels = values.shape
    image = ax.imshow(values.T, origin="lower", aspect="auto", cmap=cmap, interpolation="nearest",
                      extent=(0.0, _spectrogram_seconds(n_frames), 0.0, float(n_mels)))
    ax.set_ylabel("mel band")
    ax.set_title(title, fontsize=10)
    if colorbar:
        fig.colorbar(image, ax=ax, pad=0.01, fraction=0.03)
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
# Figure 1: the architecture, read from the built model
# ---------------------------------------------------------------------------

_INPUT_ORDER = ("waveform", "spectrogram", "compare")
_TOWER_PREFIXES = ("wave_", "spec_", "compare_")
_COLUMN_COLOURS = {"waveform": "#fde3b5", "spectrogram": "#f7c6c4", "compare": "#d9d9f3",
                   "shared": "#cfe8cf", "input": "#e6e6e6"}


def _producer(tensor):
    history = getattr(tensor, "_keras_history", None)
    return None if history is None else history.operation


def _parents(operation) -> list:
    import keras

    if isinstance(operation, keras.layers.InputLayer):
        return []
    try:
        inputs = operation.input
    except (AttributeError, ValueError, RuntimeError):
        return []
    parents = []
    for tensor in keras.tree.flatten(inputs):
        producer = _producer(tensor)
        if producer is not None and producer not in parents:
            parents.append(producer)
    return parents


def _shape_text(operation) -> str:
    try:
        shape = operation.output.shape
    except (AttributeError, ValueError, RuntimeError):
        return "?"
    return " x ".join("?" if d is None else str(d) for d in tuple(shape)[1:])


def _detail(operation) -> str:
    kind = type(operation).__name__
    try:
        config = operation.get_config()
    except (NotImplementedError, AttributeError, TypeError):
        config = {}

    def join(value):
        return " x ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)

    activation = config.get("activation")
    act = f", {activation}" if activation not in (None, "linear") else ""
    if "filters" in config:
        return f"{kind} {config['filters']} filters, kernel {join(config.get('kernel_size'))}{act}"
    if kind == "Bidirectional":
        inner = config.get("layer", {}).get("config", {})
        return f"Bidirectional {inner.get('units', '?')}-cell LSTM"
    if "units" in config:
        return f"{kind} {config['units']} units, {activation or 'linear'}"
    if kind == "CrossChannelMaxPool":
        return f"cross-channel max, groups of {config.get('pool_size')}"
    if "pool_size" in config:
        return f"{kind} {join(config['pool_size'])}"
    if "rate" in config:
        return f"{kind} {config['rate']}"
    if kind == "InputLayer":
        return "input"
    return kind


def figure1_architecture(model, example_inputs: Mapping[str, Any], path: str | Path | None = None, *,
                         corpus_label: str | None = None) -> Figure:
    """The paper's Figure 1, drawn from a built model's own layers.

    Every operation of the functional model is a box with its name, kind,
    main settings and output shape (batch axis left out). Operations that
    depend on one input only form that input's tower (waveform on the left,
    spectrogram on the right); the fusion and what follows it are centred.
    Arrows follow the model's graph. The example inputs are drawn on top.

    Parameters
    ----------
    model : keras.Model
        A functional model (W, S, WS or baseline from
        :func:`emo_lib.models.build_model`).
    example_inputs : dict
        One segment per model input, without batch axis: ``"waveform"``
        (S,) or (S, 1), ``"spectrogram"`` (F, 40, 3) or (F, 40).
    path : str or pathlib.Path, optional
        Where to write the PNG.
    corpus_label : str, optional
        Where the example inputs come from, shown in the title (left out when
        not given).

    Returns
    -------
    matplotlib.figure.Figure
    """
    label = None if corpus_label is None else _label(corpus_label)
    try:
        input_names = [tensor.name for tensor in model.inputs]
        operations = list(getattr(model, "operations", model.layers))
    except (AttributeError, TypeError):
        raise EmoInputError(f"expected a functional keras.Model, got {type(model).__name__}") from None
    if not isinstance(example_inputs, Mapping):
        raise EmoInputError("example_inputs must be a dict of arrays, one per model input")
    missing = [name for name in input_names if name not in example_inputs]
    if missing:
        raise EmoInputError(f"example_inputs lack {', '.join(missing)} (the model's inputs)")
    ordered_inputs = sorted(input_names, key=lambda n: (_INPUT_ORDER.index(n) if n in _INPUT_ORDER
                                                         else len(_INPUT_ORDER), n))

    # Which inputs does each operation depend on?
    sources: dict[int, frozenset] = {}

    def source_of(operation) -> frozenset:
        key = id(operation)
        if key not in sources:
            parents = _parents(operation)
            if not parents:
                sources[key] = frozenset([operation.name]) if operation.name in input_names \
                    else frozenset()
            else:
                sources[key] = frozenset().union(*(source_of(p) for p in parents))
        return sources[key]

    columns: dict[str, list] = {name: [] for name in ordered_inputs}
    shared: list = []
    for operation in operations:
        origin = source_of(operation)
        if len(ordered_inputs) > 1 and len(origin) == 1:
            columns[next(iter(origin))].append(operation)
        elif len(ordered_inputs) == 1:
            columns[ordered_inputs[0]].append(operation)
        else:
            shared.append(operation)
    tower_rows = max(len(ops) for ops in columns.values())
    n_rows = tower_rows + len(shared)

    n_columns = len(ordered_inputs)
    x_of_column = {name: (index + 0.5) / n_columns for index, name in enumerate(ordered_inputs)}
    box_width = 0.9 / n_columns if n_columns > 1 else 0.56
    placement: dict[int, tuple[float, float, float, str]] = {}
    for name, ops in columns.items():
        for row, operation in enumerate(ops):
            if not _parents(operation):
                colour = "input"
            elif n_columns == 1 and not operation.name.startswith(_TOWER_PREFIXES):
                colour = "shared"  # the sequence model of a one-tower model
            else:
                colour = name
            placement[id(operation)] = (x_of_column[name], row, box_width, colour)
    for index, operation in enumerate(shared):
        placement[id(operation)] = (0.5, tower_rows + index, 0.56, "shared")

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
            _show_map(ax, fig, spec, f"example input: log-mel, {spec.shape[0]} frames x "
                      f"{spec.shape[1]} bands (+ 2 delta maps)", colorbar=False)
            ax.set_xlabel("time (s)")
        else:
            if value.ndim != 2:
                raise EmoInputError(f"example input {name!r} must be 2-D, got shape {value.shape}")
            ax.imshow(value.T, origin="lower", aspect="auto", cmap="viridis", interpolation="nearest")
            ax.set_xlabel("label step")
            ax.set_ylabel("feature")
            ax.set_title(f"example input: {name}, {value.shape[0]} x {value.shape[1]}", fontsize=9)

    # The graph
    ax = fig.add_subplot(grid[1, :])
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(n_rows, 0.0)
    ax.axis("off")
    top, bottom = 0.14, 0.86
    for operation in operations:
        x, row, width, colour = placement[id(operation)]
        ax.add_patch(FancyBboxPatch((x - width / 2, row + top), width, bottom - top,
                                    boxstyle="round,pad=0.004,rounding_size=0.02",
                                    facecolor=_COLUMN_COLOURS.get(colour, "#eeeeee"),
                                    edgecolor="0.3", linewidth=0.8))
        ax.text(x, row + 0.5, f"{operation.name}\n{_detail(operation)}  \u2192  {_shape_text(operation)}",
                ha="center", va="center", fontsize=7.5, linespacing=1.3)
        for parent in _parents(operation):
            if id(parent) not in placement:
                continue
            px, prow, _, _ = placement[id(parent)]
            ax.annotate("", xy=(x, row + top), xytext=(px, prow + bottom),
                        arrowprops={"arrowstyle": "-|>", "color": "0.35", "linewidth": 0.8,
                                    "shrinkA": 0, "shrinkB": 0})
    try:
        from .models import describe_model

        variant = describe_model(model)["variant"]
    except Exception:  # a model not built by emo_lib: its name is enough
        variant = None
    title = (f"{'W+S' if variant == 'WS' else variant or model.name} model \u201c{model.name}\u201d, "
             f"{model.count_params():,} parameters")
    if label:
        title += f"; example inputs: {label}"
    fig.suptitle(title, fontsize=11)
    return save_figure(fig, path)


# ---------------------------------------------------------------------------
# Figures 2 and 3: one segment, ground truth and three models
# ---------------------------------------------------------------------------

def _prediction_axes(ax, times, truth, predictions, dimension):
    ax.plot(times, truth, label=MODEL_LABELS["truth"], **LINE_STYLES["truth"])
    for key, values in predictions.items():
        ax.plot(times, values, label=MODEL_LABELS[key], **LINE_STYLES[key])
    ax.set_ylabel(f"{dimension} (rating, -1 to 1)")
    ax.set_xlim(float(times[0]), float(times[-1]))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8, ncols=2)


def _segment_figure(times, truth, predictions, words, dimension, corpus_label, extra_rows):
    label = _label(corpus_label)
    times = _vector("times", times)
    if np.any(np.diff(times) <= 0):
        raise EmoInputError("times must increase")
    truth = _vector("truth", truth, times.size, allow_nan=True)
    predictions = _predictions(predictions, times.size)
    rows = [4.0] + ([0.7] if words else []) + list(extra_rows)
    height = round(1.2 + sum(rows) * 0.85, 1)  # whole pixels at DPI
    fig = Figure(figsize=(10.0, height), layout="constrained")
    grid = fig.add_gridspec(len(rows), 1, height_ratios=rows)
    ax = fig.add_subplot(grid[0])
    _prediction_axes(ax, times, truth, predictions, dimension)
    if words:
        strip = fig.add_subplot(grid[1], sharex=ax)
        _draw_words(strip, words, (float(times[0]), float(times[-1])))
        ax.tick_params(labelbottom=False)
    else:
        ax.set_xlabel("time (s)")
    return fig, grid, ax, label, times, len(rows) - len(extra_rows)


def figure2_arousal(times: Any, truth: Any, predictions: Mapping[str, Any], *,
                    words: Sequence[tuple[float, float, str]] | None = None, corpus_label: str,
                    path: str | Path | None = None) -> Figure:
    """The paper's Figure 2: arousal of one segment, ground truth and the three models.

    Parameters
    ----------
    times : np.ndarray [shape=(T,)]
        Label times in seconds, relative to the segment's start.
    truth : np.ndarray [shape=(T,)]
        Gold-standard arousal (NaN where masked; drawn as gaps).
    predictions : dict of np.ndarray [shape=(T,)]
        ``{"W": ..., "S": ..., "WS": ...}`` (a subset is allowed; ``"W+S"``
        is read as ``"WS"``).
    words : list of (float, float, str), optional
        Words of the segment (start s, end s, word) relative to its start,
        shown in a strip under the time axis.
    corpus_label : str
        Shown in the title.
    path : str or pathlib.Path, optional
        Where to write the PNG.

    Returns
    -------
    matplotlib.figure.Figure
        The first axes holds one line per trace, in the paper's styles.
    """
    fig, _, _, label, _, _ = _segment_figure(times, truth, predictions, words, "arousal",
                                             corpus_label, [])
    fig.suptitle(f"Arousal of one test segment: ground truth and predictions \u2014 {label}", fontsize=11)
    return save_figure(fig, path)


def _lime_image(log_mel: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """RGB (F, n_mels, 3): bright colours where ``mask``, dimmed dark blue elsewhere."""
    from matplotlib import colormaps

    lo, hi = np.percentile(log_mel, [1, 99])
    scaled = np.clip((log_mel - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    bright = colormaps["inferno"](0.3 + 0.7 * scaled)[..., :3]
    dark_blue = np.array([0.03, 0.07, 0.30])
    dim = 0.8 * dark_blue + 0.2 * colormaps["Blues"](scaled)[..., :3]
    return np.where(mask[..., None], bright, dim)


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


def _draw_lime_panel(ax, explanation, log_mel: np.ndarray, *, top_k: int, highlight: str,
                     model_name: str) -> None:
    """The spectrogram with the chosen cells bright, the rest dark blue, the explained time dashed."""
    chosen = explanation.top_cells(top_k, positive_only=highlight == "positive",
                                   negative_only=highlight == "negative")
    mask = np.isin(explanation.segments, chosen)
    n_frames, n_mels = log_mel.shape
    ax.imshow(np.transpose(_lime_image(log_mel, mask), (1, 0, 2)), origin="lower", aspect="auto",
              interpolation="nearest", extent=(0.0, _spectrogram_seconds(n_frames), 0.0, float(n_mels)))
    ax.axvline(explanation.time_s, color="white", linestyle="--", linewidth=1.2)
    ax.set_xlabel("time in segment (s)")
    ax.set_ylabel("mel band")
    cells = len(chosen)
    ax.set_title(
        f"LIME: the {cells} grid cell{'' if cells == 1 else 's'} (of {explanation.weights.size}) "
        f"that most {'raise' if highlight == 'positive' else 'lower'} "
        f"the {model_name + ' ' if model_name else ''}model's "
        f"{explanation.dimension} output at {explanation.time_s:.2f} s "
        f"(\u00b1{explanation.context_frames} frames); local R\u00b2 = {explanation.score:.2f}, "
        f"{explanation.num_samples} samples", fontsize=9)
    if not cells:
        ax.text(0.5, 0.5, f"no cell has a {highlight} weight", color="white", ha="center",
                va="center", transform=ax.transAxes)


def _model_name(explained_model: str) -> str:
    return MODEL_LABELS.get(_MODEL_ALIASES.get(explained_model, explained_model), explained_model)


def figure3_valence(times: Any, truth: Any, predictions: Mapping[str, Any], explanation=None,
                    spectrogram: Any = None, *, words: Sequence[tuple[float, float, str]] | None = None,
                    corpus_label: str, path: str | Path | None = None, top_k: int = 10,
                    highlight: str = "positive", explained_model: str = "S") -> Figure:
    """The paper's Figure 3: valence of one segment, and LIME's explanation below.

    Parameters
    ----------
    times, truth, predictions, words, corpus_label, path
        As for :func:`figure2_arousal`, with valence.
    explanation : SpectrogramExplanation, optional
        From :func:`emo_lib.explain.explain_spectrogram`. When given, a
        vertical line marks the explained frame in the upper panel, and a lower
        panel shows ``spectrogram``'s log-mel map with the explanation's
        ``top_k`` positive cells (``highlight``) in bright colours and the rest
        dimmed to dark blue, with a dashed line at the explained time.
    spectrogram : np.ndarray [shape=(F, n_mels, 3) or (F, n_mels)], optional
        The explained segment's spectrogram (required with ``explanation``).
    top_k : int
        Cells highlighted.
    highlight : {"positive", "negative"}
        Highlight the cells that raise the explained output (the default, as
        in the paper's figure) or those that lower it (what drives a trough).
    explained_model : {"W", "S", "WS"}
        The model the explanation is of (the paper: S only), for the caption.

    Returns
    -------
    matplotlib.figure.Figure
        Axes: the predictions, the word strip (with words), the LIME panel
        (with an explanation).
    """
    if highlight not in ("positive", "negative"):
        raise EmoInputError(f"highlight must be 'positive' or 'negative', got {highlight!r}")
    if explanation is not None and spectrogram is None:
        raise EmoInputError("figure3_valence needs the spectrogram to draw the explanation")
    log_mel = None
    if explanation is not None:
        log_mel = _check_explanation(explanation, spectrogram)
    extra = [3.6] if explanation is not None else []
    fig, grid, ax, label, times, used = _segment_figure(times, truth, predictions, words, "valence",
                                                        corpus_label, extra)
    if explanation is not None:
        if not 0 <= explanation.frame < times.size:
            raise EmoInputError(f"the explanation's frame {explanation.frame} is outside the "
                                f"{times.size} label times")
        model_name = _model_name(explained_model)
        ax.axvline(times[explanation.frame], color="0.3", linestyle=(0, (1, 3)), linewidth=1.2,
                   label="explained time")
        ax.legend(loc="best", fontsize=8, ncols=2)
        lime_ax = fig.add_subplot(grid[used])
        _draw_lime_panel(lime_ax, explanation, log_mel, top_k=top_k, highlight=highlight,
                         model_name=model_name)
    fig.suptitle(f"Valence of one test segment: ground truth and predictions \u2014 {label}", fontsize=11)
    return save_figure(fig, path)


def plot_explanation(explanation, spectrogram: Any, path: str | Path | None = None, *,
                     corpus_label: str, title: str | None = None, top_k: int = 10,
                     highlight: str = "positive", explained_model: str | None = None) -> Figure:
    """One LIME explanation on its own: the highlighted spectrogram and the weight of every cell.

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
        Cells highlighted in the upper panel.
    highlight : {"positive", "negative"}
        As for :func:`figure3_valence`.
    explained_model : {"W", "S", "WS"}, optional
        Named in the upper panel's caption ("the model" when not given).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: the spectrogram with the chosen cells bright and the rest
        dark blue; LIME's weight per cell (red raises the output, blue lowers
        it), with a colour bar.
    """
    label = _label(corpus_label)
    if highlight not in ("positive", "negative"):
        raise EmoInputError(f"highlight must be 'positive' or 'negative', got {highlight!r}")
    log_mel = _check_explanation(explanation, spectrogram)
    fig = Figure(figsize=(10.0, 7.0), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    _draw_lime_panel(top, explanation, log_mel, top_k=top_k, highlight=highlight,
                     model_name="" if explained_model is None else _model_name(explained_model))
    heat = explanation.heatmap()
    limit = float(np.max(np.abs(heat))) or 1.0
    image = bottom.imshow(heat.T, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-limit,
                          vmax=limit, interpolation="nearest",
                          extent=(0.0, _spectrogram_seconds(log_mel.shape[0]), 0.0,
                                  float(log_mel.shape[1])))
    bottom.axvline(explanation.time_s, color="black", linestyle="--", linewidth=1.0)
    fig.colorbar(image, ax=bottom, pad=0.01, fraction=0.03, label="LIME weight (output units)")
    bottom.set_xlabel("time in segment (s)")
    bottom.set_ylabel("mel band")
    bottom.set_title(f"weight of every cell ({explanation.grid[0]} x {explanation.grid[1]} grid); "
                     f"intercept {explanation.intercept:.3f}, unperturbed output "
                     f"{explanation.prediction:.3f}", fontsize=9)
    what = title or f"{explanation.dimension} at {explanation.time_s:.2f} s"
    fig.suptitle(f"LIME explanation: {what} \u2014 {label}", fontsize=11)
    return save_figure(fig, path)


# ---------------------------------------------------------------------------
# Training, prediction and data figures
# ---------------------------------------------------------------------------

_HISTORY_COLUMNS = ("epoch", "loss", "val_loss", "val_ccc_arousal", "val_ccc_valence")


def plot_learning_curves(histories: Mapping[str, Any], path: str | Path | None = None, *,
                         corpus_label: str) -> Figure:
    """Training and validation loss, and validation CCC, per epoch and model.

    Parameters
    ----------
    histories : dict of pandas.DataFrame or path
        ``{name: training log}`` with columns ``epoch``, ``loss``,
        ``val_loss``, ``val_ccc_arousal``, ``val_ccc_valence`` (the CSV log
        written during training; a path to it is read).
    path : str or pathlib.Path, optional
    corpus_label : str

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: losses (training solid, validation dashed) and validation CCC
        (arousal solid, valence dotted); the best epoch by mean validation CCC
        is marked with a dot.
    """
    import pandas as pd

    label = _label(corpus_label)
    if not isinstance(histories, Mapping) or not histories:
        raise EmoInputError("histories must be a non-empty dict {name: DataFrame}")
    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
    loss_ax, ccc_ax = fig.subplots(1, 2)
    for index, (name, history) in enumerate(histories.items()):
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
        colour = f"C{index % 10}"
        epoch = history["epoch"].to_numpy(dtype=float)
        loss_ax.plot(epoch, history["loss"], color=colour, linestyle="-", label=f"{name} training")
        loss_ax.plot(epoch, history["val_loss"], color=colour, linestyle="--",
                     label=f"{name} validation")
        ccc_ax.plot(epoch, history["val_ccc_arousal"], color=colour, linestyle="-",
                    label=f"{name} arousal")
        ccc_ax.plot(epoch, history["val_ccc_valence"], color=colour, linestyle=":",
                    label=f"{name} valence")
        mean_ccc = (history["val_ccc_arousal"] + history["val_ccc_valence"]).to_numpy(float) / 2
        if np.any(np.isfinite(mean_ccc)):
            best = int(np.nanargmax(mean_ccc))
            ccc_ax.scatter([epoch[best]] * 2, [history["val_ccc_arousal"].iloc[best],
                                               history["val_ccc_valence"].iloc[best]],
                           color=colour, s=18, zorder=3)
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss (CCC loss, lower is better)")
    loss_ax.set_title("training and validation loss", fontsize=10)
    ccc_ax.set_xlabel("epoch")
    ccc_ax.set_ylabel("validation CCC")
    ccc_ax.set_title("validation CCC (dot: best epoch by mean CCC)", fontsize=10)
    for ax in (loss_ax, ccc_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
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
        One axes with two lines (arousal, valence).
    """
    times = _vector("times", times)
    arousal = _vector("arousal", arousal, times.size, allow_nan=True)
    valence = _vector("valence", valence, times.size, allow_nan=True)
    fig = Figure(figsize=(10.0, 3.6), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(times, arousal, color="#d62728", linewidth=1.2, label="arousal")
    ax.plot(times, valence, color="#1f5fbf", linewidth=1.2, label="valence")
    low = min(-1.0, float(np.nanmin(np.r_[arousal, valence, 0.0])))
    high = max(1.0, float(np.nanmax(np.r_[arousal, valence, 0.0])))
    ax.set_ylim(low, high)
    ax.set_xlim(float(times[0]), float(times[-1]))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("predicted rating (-1 to 1)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
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
        Log-mel, delta, delta-delta (10 ms frames).
    label_times : np.ndarray [shape=(T,)]
        Seconds from the segment's start.
    labels : np.ndarray [shape=(T, 2)]
        Arousal and valence.
    mask : np.ndarray [shape=(T,)], optional
        1 for real frames, 0 for padding; padded frames are shaded.
    corpus_label : str
    path : str or pathlib.Path, optional

    Returns
    -------
    matplotlib.figure.Figure
        Five panels (plus one colour bar per spectrogram map).
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
    names = ("log-mel (normalised per band)", "delta", "delta-delta")
    for index, name in enumerate(names):
        _show_map(axes[1 + index], fig, spec[..., index], f"{name}: {spec.shape[0]} frames x "
                  f"{spec.shape[1]} bands", cmap="magma" if index == 0 else "coolwarm")
    axes[4].plot(times, values[:, 0], color="#d62728", linewidth=1.4, label="arousal")
    axes[4].plot(times, values[:, 1], color="#1f5fbf", linewidth=1.4, label="valence")
    if mask is not None and np.any(mask == 0):
        axes[4].fill_between(times, 0, 1, where=mask == 0, transform=axes[4].get_xaxis_transform(),
                             color="0.6", alpha=0.3, step="mid", label="padding (masked)")
    axes[4].set_ylabel("rating (-1 to 1)")
    axes[4].set_title("labels", fontsize=10)
    axes[4].grid(True, alpha=0.3)
    axes[4].legend(loc="upper right", fontsize=8)
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
        One axes per corpus (rows) and dimension (columns), models along x.
    """
    import pandas as pd

    label = _label(corpus_label)
    if not isinstance(table, pd.DataFrame):
        raise EmoInputError("table must be a pandas DataFrame")
    missing = [c for c in _TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise EmoInputError(f"table lacks columns {', '.join(missing)}")
    if table.empty:
        raise EmoInputError("table has no rows")
    if table.duplicated(["corpus", "model", "dimension"]).any():
        raise EmoInputError("table has more than one row for a corpus, model and dimension")
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
            if row == 0 and col == 0:
                ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"CCC on the test set, ours beside the paper's Table 1 \u2014 ours: {label}", fontsize=11)
    return save_figure(fig, path)
