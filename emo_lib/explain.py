"""LIME explanations of a model's output from its spectrogram input (paper, section 5.3).

The paper explains the crest of the S-only model's valence output with LIME's
image explainer, treating the spectrogram as an image. This module does the
same, with three decisions that the paper leaves open made explicit:

Segmentation
    A fixed grid of ``n_time_cells x n_mel_cells`` rectangles over the
    ``(frames, mel bands)`` map (:func:`grid_segments`), passed to LIME as its
    ``segmentation_fn``. It is deterministic and readable ("200 ms x 5 bands")
    where LIME's default quickshift superpixels are neither.
Hiding a cell
    LIME fills an "off" region with the region's mean colour by default. Here
    an off cell is set to an explicit floor (``hide="floor"``: each of the
    three maps' minimum over the segment), in the log-mel map and in the same
    cells of the delta and delta-delta maps, so hiding means "as quiet as the
    quietest part of this segment", not "average". Other fills:
    :func:`hide_values`.
The explained quantity
    The model's ``dimension`` output averaged over the label frames
    ``frame - context_frames .. frame + context_frames`` (clipped to the
    segment): one number per perturbed spectrogram, explained as LIME's label 0
    (``labels=(0,)``, ``top_labels=None``: regression, not class ranking).

How the perturbed inputs reach the model: LIME receives the log-mel map as a
grey image (it makes it RGB) and a ``hide_color`` of NaN, so in every image it
builds, the hidden pixels are exactly the NaN pixels. ``classifier_fn`` takes
channel 0 back, reads the on/off state of every cell from it and rebuilds all
three maps with :func:`perturb_inputs` (deltas are masked, not recomputed: the
model's inputs are normalised per conversation, and recomputing deltas here
would need that normalisation). The waveform of a two-input (W+S) model cannot
be perturbed by the image explainer; it is held fixed, so the explanation is
of the spectrogram's contribution given the waveform. With
``waveform="mute_time_cells"`` the waveform samples of a time column whose
cells are all off are also set to zero (the conversation mean after
z-normalisation).

Determinism: the explainer is seeded (``random_state=seed``), the segmentation
function ignores LIME's segmentation seed, the model runs in inference mode
(dropout off), and the only random draws left are LIME's on/off samples and
they come from that seed. Two runs with one seed give identical weights.

Sampling follows ``lime_image.LimeImageExplainer.data_labels`` of lime 0.2.0.1
draw for draw (same random state calls, first sample all on), built with array
operations instead of a per-cell loop, and with a progress bar that can be
switched off.

Cost: ``num_samples`` forward passes per explanation (1,000 by default); with
the paper's S-only model on a 2-core CPU, roughly half a minute to a minute.

Examples
--------
>>> trace = predict_segment(s_model, {"spectrogram": spec})        # doctest: +SKIP
>>> frame = choose_crest(trace[:, 1])                                # doctest: +SKIP
>>> explanation = explain_spectrogram(s_model, {"spectrogram": spec},
...                                   frame=frame)                   # doctest: +SKIP
>>> explanation.mask(top_k=10, positive_only=True).shape             # doctest: +SKIP
(600, 40)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .config import FRAME_HOP_SECONDS
from .corpora.base import DIMENSIONS
from .errors import EmoInputError
from .io import atomic_save_npz, load_npz

__all__ = [
    "CREST_RULES",
    "HIDE_MODES",
    "WAVEFORM_MODES",
    "SpectrogramExplanation",
    "choose_crest",
    "grid_segments",
    "hide_values",
    "perturb_inputs",
    "predict_segment",
    "make_classifier_fn",
    "explain_spectrogram",
]

CREST_RULES = ("largest_deviation", "max", "min")
"""Rules of :func:`choose_crest`."""
HIDE_MODES = ("floor", "silence", "zero")
"""Named ways of filling a hidden cell (see :func:`hide_values`)."""
WAVEFORM_MODES = ("fixed", "mute_time_cells")
"""What happens to the waveform input of a W+S model while the spectrogram is perturbed."""


# ---------------------------------------------------------------------------
# Choosing the frame to explain
# ---------------------------------------------------------------------------

def choose_crest(prediction: Any, *, rule: str = "largest_deviation",
                 min_distance_frames: int = 5) -> int:
    """The label frame of a predicted trace to explain.

    Parameters
    ----------
    prediction : np.ndarray [shape=(T,)]
        One output trace of one segment (for the paper's Figure 3, the S-only
        model's valence).
    rule : {"largest_deviation", "max", "min"}
        ``"largest_deviation"``: among the trace's local extrema, the one
        farthest from the trace's median (a crest or a trough, whichever stands
        out more; the paper's "sudden drop" is such a trough). A frame is a local
        extremum when it is the maximum, or the minimum, of the trace within
        ``min_distance_frames`` frames on either side (the window is clipped at
        the segment's ends). ``"max"``: the highest frame. ``"min"``: the
        lowest frame. Ties go to the earliest frame.
    min_distance_frames : int
        Half-width of the neighbourhood of a local extremum (5 frames = 100 ms
        at 20 ms labels); small wiggles inside it do not count as crests.

    Returns
    -------
    int
        A frame index in ``0 .. T-1``.

    Raises
    ------
    EmoInputError
        For an empty, non-1-D or non-finite trace, an unknown rule or a
        negative ``min_distance_frames``.

    Examples
    --------
    >>> choose_crest([0.0, 0.1, 0.0, -0.5, 0.0, 0.1], min_distance_frames=1)
    3
    >>> choose_crest([0.0, 0.1, 0.0, -0.5, 0.0, 0.1], rule="max")
    1
    """
    trace = np.asarray(prediction, dtype=np.float64)
    if trace.ndim != 1 or trace.size == 0:
        raise EmoInputError(f"prediction must be a non-empty (T,) trace, got shape {trace.shape}")
    if not np.all(np.isfinite(trace)):
        raise EmoInputError("prediction contains NaN or infinite values")
    if rule not in CREST_RULES:
        raise EmoInputError(f"unknown crest rule {rule!r}; choose one of {', '.join(CREST_RULES)}")
    distance = int(min_distance_frames)
    if distance < 0:
        raise EmoInputError(f"min_distance_frames must be >= 0, got {min_distance_frames}")
    if rule == "max":
        return int(np.argmax(trace))
    if rule == "min":
        return int(np.argmin(trace))
    n = trace.size
    padded_hi = np.pad(trace, distance, mode="constant", constant_values=-np.inf)
    padded_lo = np.pad(trace, distance, mode="constant", constant_values=np.inf)
    window = 2 * distance + 1
    if window > 1:
        view_hi = np.lib.stride_tricks.sliding_window_view(padded_hi, window)
        view_lo = np.lib.stride_tricks.sliding_window_view(padded_lo, window)
        local_max = trace >= view_hi.max(axis=1)
        local_min = trace <= view_lo.min(axis=1)
        candidates = np.flatnonzero(local_max | local_min)
    else:
        candidates = np.arange(n)
    deviation = np.abs(trace[candidates] - np.median(trace))
    return int(candidates[int(np.argmax(deviation))])


# ---------------------------------------------------------------------------
# Grid segmentation and perturbed inputs
# ---------------------------------------------------------------------------

def _grid_edges(length: int, cells: int) -> np.ndarray:
    return np.round(np.linspace(0, length, cells + 1)).astype(np.int64)


def grid_segments(n_frames: int, n_mels: int, grid: Sequence[int] = (30, 8)) -> np.ndarray:
    """A fixed time x mel-band grid segmentation of a ``(frames, mel bands)`` map.

    Parameters
    ----------
    n_frames, n_mels : int
        Size of the map (600 x 40 for a 6 s segment).
    grid : (int, int)
        ``(n_time_cells, n_mel_cells)``. Cell boundaries are
        ``round(linspace(0, size, cells + 1))``, so unequal divisions differ by
        at most one row. ``(30, 8)`` on 600 x 40 gives 200 ms x 5 bands.

    Returns
    -------
    np.ndarray [shape=(n_frames, n_mels), dtype=int64]
        Cell index ``time_cell * n_mel_cells + mel_cell`` of every pixel: the
        labels ``0 .. n_time_cells * n_mel_cells - 1`` that LIME expects.

    Raises
    ------
    EmoInputError
        When the grid has fewer than one or more cells than pixels along an axis.
    """
    n_time, n_mel = _check_grid(grid, n_frames, n_mels)
    time_cell = np.repeat(np.arange(n_time), np.diff(_grid_edges(n_frames, n_time)))
    mel_cell = np.repeat(np.arange(n_mel), np.diff(_grid_edges(n_mels, n_mel)))
    return (time_cell[:, None] * n_mel + mel_cell[None, :]).astype(np.int64)


def _check_grid(grid: Sequence[int], n_frames: int, n_mels: int) -> tuple[int, int]:
    try:
        n_time, n_mel = (int(g) for g in grid)
    except (TypeError, ValueError):
        raise EmoInputError(f"grid must be two integers (time cells, mel cells), got {grid!r}") from None
    if not (1 <= n_time <= n_frames and 1 <= n_mel <= n_mels):
        raise EmoInputError(
            f"grid {n_time} x {n_mel} does not fit a {n_frames} x {n_mels} spectrogram "
            "(each axis needs 1 to size cells)"
        )
    return n_time, n_mel


def hide_values(spectrogram: Any, hide: str | float | Sequence[float] = "floor") -> np.ndarray:
    """The value each of the three maps takes in a hidden cell.

    Parameters
    ----------
    spectrogram : np.ndarray [shape=(F, n_mels, 3)]
        Log-mel, delta and delta-delta maps of one segment.
    hide : {"floor", "silence", "zero"} or float or three floats
        ``"floor"``: each map's own minimum over the segment. ``"silence"``:
        the log-mel map's minimum, and 0 in the two delta maps (what a constant,
        quiet region would give). ``"zero"``: 0 in all maps (the conversation
        mean of per-conversation normalised features). A number, or one number
        per map, is used as given.

    Returns
    -------
    np.ndarray [shape=(3,), dtype=float32]
    """
    spec = np.asarray(spectrogram, dtype=np.float32)
    if isinstance(hide, str):
        if hide == "floor":
            return spec.reshape(-1, spec.shape[-1]).min(axis=0).astype(np.float32)
        if hide == "silence":
            return np.array([spec[..., 0].min(), 0.0, 0.0], dtype=np.float32)
        if hide == "zero":
            return np.zeros(spec.shape[-1], dtype=np.float32)
        raise EmoInputError(f"unknown hide mode {hide!r}; choose one of {', '.join(HIDE_MODES)}, "
                            "a number or one number per map")
    try:
        values = np.asarray(hide, dtype=np.float32)
    except (TypeError, ValueError):
        values = np.array([np.nan], dtype=np.float32)
    n_maps = spec.shape[-1]
    if values.ndim > 1 or values.size not in (1, n_maps) or not np.all(np.isfinite(values)):
        raise EmoInputError(f"hide must be a mode name, a finite number or {n_maps} finite numbers, "
                            f"got {hide!r}")
    values = np.broadcast_to(values.reshape(-1), (n_maps,)).astype(np.float32)
    return values


def perturb_inputs(inputs: Mapping[str, Any], cells_on: Any, *, segments: np.ndarray,
                   fill: np.ndarray, waveform: str = "fixed") -> dict[str, np.ndarray]:
    """A batch of model inputs with some spectrogram cells hidden.

    Parameters
    ----------
    inputs : dict
        One segment without a batch axis: ``"spectrogram"`` (F, n_mels, 3) and,
        for a two-input model, ``"waveform"`` (S, 1).
    cells_on : np.ndarray [shape=(n, n_cells)] of bool or 0/1
        Which grid cells keep their values in each of ``n`` perturbed copies.
    segments : np.ndarray [shape=(F, n_mels), dtype=int]
        Cell index of every pixel (:func:`grid_segments`).
    fill : np.ndarray [shape=(3,)]
        Value of each map in a hidden cell (:func:`hide_values`).
    waveform : {"fixed", "mute_time_cells"}
        ``"fixed"``: every copy gets the original waveform. ``"mute_time_cells"``:
        the samples under a time column whose cells are all off are set to 0
        (frame ``f`` covers samples ``f * S // F`` to ``(f + 1) * S // F``).

    Returns
    -------
    dict of np.ndarray
        ``"spectrogram"`` (n, F, n_mels, 3) float32 and, when given,
        ``"waveform"`` (n, S, 1) float32.
    """
    if waveform not in WAVEFORM_MODES:
        raise EmoInputError(f"unknown waveform mode {waveform!r}; choose one of {', '.join(WAVEFORM_MODES)}")
    if "spectrogram" not in inputs:
        raise EmoInputError("inputs lack 'spectrogram'")
    spec = np.asarray(inputs["spectrogram"], dtype=np.float32)
    segments = np.asarray(segments)
    if spec.ndim != 3 or spec.shape[:2] != segments.shape:
        raise EmoInputError(f"spectrogram {spec.shape} does not match segments {segments.shape}")
    on = np.asarray(cells_on).astype(bool)
    if on.ndim != 2 or on.shape[1] != int(segments.max()) + 1:
        raise EmoInputError(f"cells_on must be (n, {int(segments.max()) + 1}), got shape {on.shape}")
    pixel_on = on[:, segments]  # (n, F, n_mels)
    fill = np.asarray(fill, dtype=np.float32).reshape(1, 1, 1, -1)
    batch = {"spectrogram": np.where(pixel_on[..., None], spec[None], fill).astype(np.float32)}
    if "waveform" in inputs:
        wave = np.asarray(inputs["waveform"], dtype=np.float32)
        wave = wave.reshape(wave.shape[0], -1)
        waves = np.repeat(wave[None], on.shape[0], axis=0)
        if waveform == "mute_time_cells":
            n_frames, n_samples = segments.shape[0], wave.shape[0]
            column_off = ~pixel_on.any(axis=2)  # (n, F): every cell of the frame's column is off
            frame_of_sample = np.minimum(np.arange(n_samples) * n_frames // n_samples, n_frames - 1)
            waves[column_off[:, frame_of_sample]] = 0.0
        batch["waveform"] = waves
    return batch


# ---------------------------------------------------------------------------
# Running the model
# ---------------------------------------------------------------------------

def _model_input_names(model) -> list[str]:
    return [tensor.name for tensor in model.inputs]


def _static_label_frames(model) -> int | None:
    """T of the model's output when the graph fixes it, else None."""
    try:
        steps = model.outputs[0].shape[1]
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    return None if steps is None else int(steps)


def _emotion(output: Any) -> np.ndarray:
    if isinstance(output, Mapping):
        if "emotion" not in output:
            raise EmoInputError(f"model has no 'emotion' output (outputs: {', '.join(output)})")
        output = output["emotion"]
    elif isinstance(output, (list, tuple)):
        output = output[0]
    array = np.asarray(output)
    if array.ndim != 3 or array.shape[-1] != len(DIMENSIONS):
        raise EmoInputError(f"model output must be (n, T, 2), got shape {array.shape}")
    return array


def _check_segment(model, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    if not isinstance(inputs, Mapping):
        raise EmoInputError("inputs must be a dict of arrays for one segment")
    names = _model_input_names(model)
    if "spectrogram" not in names:
        raise EmoInputError(f"the model has no 'spectrogram' input (inputs: {', '.join(names)}); "
                            "only spectrogram models can be explained")
    missing = [name for name in names if name not in inputs]
    if missing:
        raise EmoInputError(f"inputs lack {', '.join(missing)} needed by the model")
    segment: dict[str, np.ndarray] = {}
    for name in names:
        array = np.asarray(inputs[name], dtype=np.float32)
        expected = tuple(next(t for t in model.inputs if t.name == name).shape[1:])
        if name == "waveform" and array.ndim == 1 and len(expected) == 2:
            array = array[:, None]  # (S,) -> (S, 1)
        if array.ndim == len(expected) + 1 and array.shape[0] == 1:
            raise EmoInputError(f"inputs[{name!r}] has a batch axis; give one segment without it")
        if array.ndim != len(expected) or any(
                e is not None and e != a for e, a in zip(expected, array.shape)):
            raise EmoInputError(f"inputs[{name!r}] has shape {array.shape}, the model expects "
                                f"{tuple('?' if e is None else e for e in expected)}")
        if not np.all(np.isfinite(array)):
            raise EmoInputError(f"inputs[{name!r}] contains NaN or infinite values")
        segment[name] = array
    if segment["spectrogram"].ndim != 3 or segment["spectrogram"].shape[-1] != 3:
        raise EmoInputError("the spectrogram must be (F, n_mels, 3): log-mel, delta, delta-delta")
    return segment


def predict_segment(model, inputs: Mapping[str, Any]) -> np.ndarray:
    """The model's output for one segment.

    Parameters
    ----------
    model : keras.Model
        Inputs named ``"waveform"`` and/or ``"spectrogram"``, output
        ``"emotion"`` (n, T, 2).
    inputs : dict
        One segment without a batch axis, as for :func:`explain_spectrogram`.

    Returns
    -------
    np.ndarray [shape=(T, 2), dtype=float32]
        Arousal and valence per label frame (inference mode: dropout off).
    """
    segment = _check_segment(model, inputs)
    batch = {name: value[None] for name, value in segment.items()}
    return _emotion(model.predict_on_batch(batch))[0].astype(np.float32)


def make_classifier_fn(model, inputs: Mapping[str, Any], *, segments: np.ndarray, fill: np.ndarray,
                       frame: int, dimension: str = "valence", context_frames: int = 2,
                       waveform: str = "fixed") -> Callable[[np.ndarray], np.ndarray]:
    """The ``classifier_fn`` handed to LIME.

    Parameters
    ----------
    model, inputs
        As for :func:`explain_spectrogram` (``inputs`` already checked).
    segments : np.ndarray [shape=(F, n_mels), dtype=int]
    fill : np.ndarray [shape=(3,)]
    frame, dimension, context_frames, waveform
        As for :func:`explain_spectrogram`.

    Returns
    -------
    callable
        ``images (n, F, n_mels, 3) -> (n, 1)``. An image is LIME's RGB copy of
        the log-mel map with NaN in hidden pixels; channel 0 is read, the
        on/off state of each cell is taken from it, the model input is rebuilt
        with :func:`perturb_inputs`, and the ``dimension`` output averaged over
        frames ``frame - context_frames .. frame + context_frames`` is returned.
    """
    n_cells = int(segments.max()) + 1
    flat = segments.ravel()
    # one pixel per cell, to read its state from
    representative = np.array([np.flatnonzero(flat == cell)[0] for cell in range(n_cells)])
    dim = DIMENSIONS.index(dimension)
    segment = {name: np.asarray(value, dtype=np.float32) for name, value in inputs.items()}

    def classifier_fn(images: np.ndarray) -> np.ndarray:
        channel = np.asarray(images)[..., 0]
        hidden = np.isnan(channel).reshape(channel.shape[0], -1)
        cells_on = ~hidden[:, representative]
        if not np.array_equal(hidden, ~cells_on[:, flat]):
            raise RuntimeError("a perturbed image hides part of a grid cell: "
                               "LIME did not use the grid segmentation")
        batch = perturb_inputs(segment, cells_on, segments=segments, fill=fill, waveform=waveform)
        output = _emotion(model.predict_on_batch(batch))
        lo = max(frame - context_frames, 0)
        hi = min(frame + context_frames, output.shape[1] - 1)
        return output[:, lo:hi + 1, dim].mean(axis=1, keepdims=True).astype(np.float64)

    return classifier_fn


# ---------------------------------------------------------------------------
# The explanation
# ---------------------------------------------------------------------------

@dataclass
class SpectrogramExplanation:
    """LIME's linear model of one output around one time, over a grid of spectrogram cells.

    Attributes
    ----------
    weights : np.ndarray [shape=(n_time_cells, n_mel_cells), dtype=float64]
        LIME's weight of each cell: the change of the explained output when the
        cell is shown rather than hidden (positive: the cell raises it).
    segments : np.ndarray [shape=(F, n_mels), dtype=int64]
        Cell index of every spectrogram pixel (row-major over ``weights``).
    frame : int
        Explained label frame.
    time_s : float
        Centre of the explained label window, ``(frame + 0.5) * label_step``
        seconds from the segment's start, with ``label_step = F * 0.01 s / T``
        (label window ``i`` covers ``[i * step, (i + 1) * step)``).
    dimension : str
        ``"arousal"`` or ``"valence"``.
    prediction : float
        The explained quantity on the unperturbed input.
    intercept : float
        Intercept of LIME's linear model.
    score : float
        LIME's weighted R^2 of the linear model on its samples (its ``score``).
    local_prediction : float
        The linear model's value with every cell on.
    num_samples : int
    seed : int
    context_frames : int
    hide_values : np.ndarray [shape=(3,)]
        The fill of a hidden cell in the log-mel, delta and delta-delta maps.
    hide : str
        How ``hide_values`` was chosen (a mode name, or ``"explicit"``).
    waveform : str
        ``"fixed"``, ``"mute_time_cells"`` or ``"none"`` (S-only model).
    time_edges : np.ndarray [shape=(n_time_cells + 1,)]
        Cell boundaries in spectrogram frames.
    mel_edges : np.ndarray [shape=(n_mel_cells + 1,)]
        Cell boundaries in mel bands.
    """

    weights: np.ndarray
    segments: np.ndarray
    frame: int
    time_s: float
    dimension: str
    prediction: float
    intercept: float
    score: float
    local_prediction: float
    num_samples: int
    seed: int
    context_frames: int
    hide_values: np.ndarray
    hide: str
    waveform: str
    time_edges: np.ndarray
    mel_edges: np.ndarray

    @property
    def grid(self) -> tuple[int, int]:
        """``(n_time_cells, n_mel_cells)``."""
        return tuple(int(n) for n in self.weights.shape)

    def heatmap(self) -> np.ndarray:
        """Each pixel's cell weight.

        Returns
        -------
        np.ndarray [shape=(F, n_mels), dtype=float64]
        """
        return self.weights.ravel()[self.segments]

    def top_cells(self, top_k: int | None = None, positive_only: bool = False, *,
                  negative_only: bool = False) -> np.ndarray:
        """Cell indices ordered by importance.

        Parameters
        ----------
        top_k : int, optional
            Keep at most this many cells; all when ``None``.
        positive_only : bool
            Only cells with a positive weight (showing them raises the output),
            largest first.
        negative_only : bool, keyword-only
            Only cells with a negative weight (showing them lowers the output:
            what drives a trough), most negative first.

        With neither, every cell with a non-zero weight, largest ``|weight|``
        first.

        Returns
        -------
        np.ndarray [shape=(k,), dtype=int64]
            Indices into ``weights.ravel()``.
        """
        if positive_only and negative_only:
            raise EmoInputError("positive_only and negative_only cannot both be set")
        flat = self.weights.ravel()
        if positive_only:
            cells = np.flatnonzero(flat > 0)
            order = cells[np.argsort(-flat[cells], kind="stable")]
        elif negative_only:
            cells = np.flatnonzero(flat < 0)
            order = cells[np.argsort(flat[cells], kind="stable")]
        else:
            cells = np.flatnonzero(flat != 0)
            order = cells[np.argsort(-np.abs(flat[cells]), kind="stable")]
        if top_k is not None:
            if int(top_k) < 0:
                raise EmoInputError(f"top_k must be >= 0, got {top_k}")
            order = order[:int(top_k)]
        return order.astype(np.int64)

    def mask(self, top_k: int | None = None, positive_only: bool = False, *,
             negative_only: bool = False) -> np.ndarray:
        """Pixels of the most important cells (arguments as for :meth:`top_cells`).

        Returns
        -------
        np.ndarray [shape=(F, n_mels), dtype=bool]
        """
        return np.isin(self.segments, self.top_cells(top_k, positive_only,
                                                     negative_only=negative_only))

    def save(self, path: str | Path) -> Path:
        """Write the explanation to an ``.npz`` file (atomically)."""
        arrays = {}
        for field in dataclasses.fields(self):
            arrays[field.name] = np.asarray(getattr(self, field.name))
        return atomic_save_npz(path, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> "SpectrogramExplanation":
        """Read an explanation written by :meth:`save`."""
        try:
            data = load_npz(path)
        except (OSError, ValueError) as error:
            raise EmoInputError(f"cannot read explanation: {error}", path=path) from None
        names = [field.name for field in dataclasses.fields(cls)]
        missing = [name for name in names if name not in data]
        if missing:
            raise EmoInputError(f"not an explanation file (missing {', '.join(missing)})", path=path)
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            value = data[field.name]
            if field.type in ("int",):
                value = int(value)
            elif field.type in ("float",):
                value = float(value)
            elif field.type in ("str",):
                value = str(value)
            values[field.name] = value
        return cls(**values)


def _lime_explainer_class():
    from lime import lime_image
    from tqdm.auto import tqdm

    class _GridLimeImageExplainer(lime_image.LimeImageExplainer):
        """LIME's image explainer with a vectorised, quiet-capable ``data_labels``."""

        progress = True

        def data_labels(self, image, fudged_image, segments, classifier_fn, num_samples,
                        batch_size=10):
            # The same draws as lime 0.2.0.1: one randint call, first row all on.
            n_features = np.unique(segments).shape[0]
            data = self.random_state.randint(0, 2, num_samples * n_features) \
                .reshape((num_samples, n_features))
            data[0, :] = 1
            labels = []
            starts = range(0, num_samples, batch_size)
            for start in tqdm(starts, disable=not self.progress, desc="LIME samples",
                              unit="batch", leave=False):
                rows = data[start:start + batch_size]
                off = rows[:, segments] == 0  # (b, H, W): pixels of hidden cells
                images = np.where(off[..., None], fudged_image[None], image[None])
                labels.extend(classifier_fn(images))
            return data, np.array(labels)

    return _GridLimeImageExplainer


def explain_spectrogram(model, inputs: Mapping[str, Any], *, frame: int, dimension: str = "valence",
                        context_frames: int = 2, grid: Sequence[int] = (30, 8),
                        num_samples: int = 1000, seed: int = 0,
                        hide: str | float | Sequence[float] = "floor", batch_size: int = 64,
                        progress: bool = True, waveform: str = "fixed",
                        kernel_width: float = 0.25) -> SpectrogramExplanation:
    """Explain one output of a spectrogram model at one time with LIME.

    Parameters
    ----------
    model : keras.Model
        Input ``"spectrogram"`` (F, n_mels, 3), optionally ``"waveform"``
        (S, 1); output ``"emotion"`` (n, T, 2).
    inputs : dict
        One segment without a batch axis: ``{"spectrogram": (F, n_mels, 3)}``
        plus ``"waveform"`` (S, 1) or (S,) for a W+S model.
    frame : int
        Label frame to explain, ``0 <= frame < T`` (see :func:`choose_crest`).
    dimension : {"arousal", "valence"}
    context_frames : int
        The explained quantity is the output averaged over
        ``frame - context_frames .. frame + context_frames`` (clipped).
    grid : (int, int)
        ``(n_time_cells, n_mel_cells)`` of :func:`grid_segments`.
    num_samples : int
        Perturbed copies (forward passes) LIME fits its linear model to.
    seed : int
        Seeds LIME's sampling; equal seeds give equal explanations.
    hide : {"floor", "silence", "zero"} or float or three floats
        Fill of hidden cells (:func:`hide_values`); ``"floor"`` is each map's
        minimum over the segment, applied to the same cells of all three maps.
    batch_size : int
        Perturbed copies per forward pass.
    progress : bool
        Show a progress bar.
    waveform : {"fixed", "mute_time_cells"}
        For a W+S model: keep the waveform as it is, or also zero its samples
        under time columns whose cells are all hidden (:func:`perturb_inputs`).
    kernel_width : float
        LIME's kernel width on cosine distances between on/off vectors
        (LIME's default 0.25).

    Returns
    -------
    SpectrogramExplanation

    Raises
    ------
    EmoInputError
        When the model has no spectrogram input, the inputs do not match the
        model, ``frame`` is outside the output, or an option is unknown.
    """
    if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)):
        raise EmoInputError(f"frame must be an integer label frame, got {frame!r}")
    if dimension not in DIMENSIONS:
        raise EmoInputError(f"unknown dimension {dimension!r}; choose one of {', '.join(DIMENSIONS)}")
    if waveform not in WAVEFORM_MODES:
        raise EmoInputError(f"unknown waveform mode {waveform!r}; choose one of {', '.join(WAVEFORM_MODES)}")
    if int(num_samples) < 2:
        raise EmoInputError(f"num_samples must be at least 2, got {num_samples}")
    if int(batch_size) < 1:
        raise EmoInputError(f"batch_size must be at least 1, got {batch_size}")
    if int(context_frames) < 0:
        raise EmoInputError(f"context_frames must be >= 0, got {context_frames}")
    segment = _check_segment(model, inputs)
    spectrogram = segment["spectrogram"]
    n_frames, n_mels = spectrogram.shape[:2]
    segments = grid_segments(n_frames, n_mels, grid)
    n_time, n_mel = _check_grid(grid, n_frames, n_mels)
    fill = hide_values(spectrogram, hide)

    static_labels = _static_label_frames(model)
    if static_labels is not None and not 0 <= int(frame) < static_labels:
        raise EmoInputError(f"frame {frame} is outside the model's output (0 .. {static_labels - 1})")
    unperturbed = predict_segment(model, segment)
    n_labels = unperturbed.shape[0]
    if not 0 <= int(frame) < n_labels:
        raise EmoInputError(f"frame {frame} is outside the model's output (0 .. {n_labels - 1})")
    frame = int(frame)
    context_frames = int(context_frames)
    lo, hi = max(frame - context_frames, 0), min(frame + context_frames, n_labels - 1)
    prediction = float(unperturbed[lo:hi + 1, DIMENSIONS.index(dimension)].mean())

    classifier_fn = make_classifier_fn(
        model, segment, segments=segments, fill=fill, frame=frame, dimension=dimension,
        context_frames=context_frames, waveform=waveform,
    )

    def segmentation_fn(image: np.ndarray) -> np.ndarray:
        if image.shape[:2] != segments.shape:
            raise RuntimeError(f"LIME passed an image of shape {image.shape}, expected {segments.shape}")
        return segments.copy()

    explainer = _lime_explainer_class()(kernel_width=kernel_width, random_state=int(seed))
    explainer.progress = bool(progress)
    image = spectrogram[..., 0].astype(np.float64)  # (F, n_mels): LIME turns it into RGB
    result = explainer.explain_instance(
        image, classifier_fn, labels=(0,), hide_color=np.nan, top_labels=None,
        num_features=n_time * n_mel, num_samples=int(num_samples), batch_size=int(batch_size),
        segmentation_fn=segmentation_fn, random_seed=int(seed),
    )
    weights = np.zeros(n_time * n_mel, dtype=np.float64)
    for cell, weight in result.local_exp[0]:
        weights[int(cell)] = float(weight)

    label_step = n_frames * FRAME_HOP_SECONDS / n_labels
    return SpectrogramExplanation(
        weights=weights.reshape(n_time, n_mel),
        segments=segments,
        frame=frame,
        time_s=float((frame + 0.5) * label_step),
        dimension=dimension,
        prediction=prediction,
        intercept=float(np.ravel(result.intercept[0])[0]),
        score=float(result.score),
        local_prediction=float(np.ravel(result.local_pred)[0]),
        num_samples=int(num_samples),
        seed=int(seed),
        context_frames=context_frames,
        hide_values=fill,
        hide=hide if isinstance(hide, str) else "explicit",
        waveform=waveform if "waveform" in segment else "none",
        time_edges=_grid_edges(n_frames, n_time),
        mel_edges=_grid_edges(n_mels, n_mel),
    )
