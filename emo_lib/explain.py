"""LIME explanations of a model's output from its spectrogram input (paper, section 5.3).

The paper explains a crest of the S-only model's valence output with LIME
(Ribeiro et al., 2016), treating the spectrogram as an image. This module does
LIME on a fixed grid of spectrogram cells in five public steps, each of which a
reader can redo by hand and check against the library (see "LIME by hand"
below):

1. :func:`grid_segments` cuts the ``(frames, mel bands)`` map into
   ``n_time_cells x n_mel_cells`` rectangles, the *cells*.
2. :func:`sample_cells_on` draws ``num_samples`` on/off vectors over the cells
   from the seed (the first one all on).
3. :func:`perturb_inputs` builds the model inputs in which the off cells are
   silent, and :func:`explained_outputs` runs the model on them and reduces
   each output to the one explained number.
4. :func:`lime_distances` (cosine distance of each on/off vector from the
   all-on vector) and :func:`lime_kernel` (exponential kernel, width 0.25)
   weight every sample by its proximity to the unperturbed input.
5. :func:`fit_surrogate` fits LIME's weighted ridge regression of the outputs
   on the on/off vectors through the public ``lime.lime_base.LimeBase``; its
   coefficients are the cells' weights.

:func:`explain_spectrogram` chains them. The choices the paper leaves open:

Segmentation
    A fixed grid (:func:`grid_segments`): deterministic and readable
    ("200 ms x 5 bands") where LIME's default quickshift superpixels are
    neither.
Hiding a cell: silence
    An off cell takes, in the log-mel map and in the same cells of the delta
    and delta-delta maps, the value of digital silence in the units of the
    model's input: a ``(n_mels, 3)`` frame, one value per band and map
    (``silence``). For the paper's input (``spectrogram_norm="none"``) and for
    models that standardise inside (``"train"``) it is
    :func:`emo_lib.features.silent_frame` (``log(1e-6)`` in the log-mel map, 0
    in both delta maps), the default; for spectrograms normalised per
    conversation it is ``silent_frame(mean, std)`` with that conversation's
    statistics, which the caller must pass. The deltas are set, not
    recomputed: the inside of a hidden cell is silent and flat, and the jumps
    at its borders are not added. Other fills: :func:`hide_values`.
The explained quantity
    The model's ``dimension`` output averaged over the label frames
    ``frame - context_frames .. frame + context_frames`` (clipped to the
    segment, padded frames left out): one number per perturbed input.
The explained time
    Label window ``i`` covers ``[i * step, (i + 1) * step)`` of the segment and
    its label is reported at the window's end, so frame ``i`` is shown at
    ``(i + 1) * step`` seconds (:attr:`SpectrogramExplanation.time_s`), the
    same times as the label traces.
Distance, kernel, surrogate
    ``lime_image``'s defaults, unchanged: cosine distance of each on/off vector
    from the all-on one, kernel ``sqrt(exp(-d**2 / width**2))`` with width
    0.25 (:data:`KERNEL_WIDTH`), ridge regression with intercept and
    ``alpha = 1`` (:data:`RIDGE_ALPHA`) on all cells, weighted by the kernel.
    With the same seed, :func:`explain_spectrogram` gives the weights that
    ``lime_image.LimeImageExplainer(random_state=seed).explain_instance`` gives
    with this grid as its ``segmentation_fn`` (the tests check this), without
    relying on lime's internal ``data_labels``.
Models with a ``"frame_mask"`` input
    The mask is supplied in every forward pass: the segment's own
    (``inputs["frame_mask"]``, 1 for real label steps, 0 for padding) when
    given, else all ones (a full segment). Padded frames are left out of the
    explained quantity, and the explained frame must be a real one.
Two-input (W+S) models
    LIME perturbs the spectrogram only; the waveform is held fixed, so the
    explanation is of the spectrogram's contribution given the waveform. With
    ``waveform="mute_time_cells"`` the waveform samples under a time column
    whose cells are all off are also set to 0 (silence after z-normalisation).

Determinism: the on/off samples come from
``numpy.random.RandomState(seed)`` (the draws lime 0.2.0.1 makes), the model
runs in inference mode (dropout off), and the surrogate is a closed-form fit.
Two runs with one seed give identical weights. How much the top cells move
from one seed or one number of samples to another is measured by
:func:`lime_stability`.

LIME by hand
------------
A few lines redo one explanation and check it, for example in a notebook::

    segments = grid_segments(600, 40, (30, 8))
    on = sample_cells_on(240, 300, seed=0)              # (300, 240) of 0/1
    y = explained_outputs(model, inputs, on, segments=segments, frame=frame)
    d = 1 - np.sqrt(on.sum(1) / 240)                    # cosine distance to all-on
    w = np.exp(-d**2 / (2 * 0.25**2))                   # = lime_kernel(d, 0.25)
    X = on - np.average(on, axis=0, weights=w)          # weighted ridge, intercept
    Y = y - np.average(y, weights=w)                    # by centring
    beta = np.linalg.solve(X.T @ (w[:, None] * X) + 1.0 * np.eye(240), X.T @ (w * Y))
    # beta equals fit_surrogate(on, y).weights to about 1e-9, and
    # explain_spectrogram(model, inputs, frame=frame, num_samples=300,
    #                     seed=0).weights.ravel()

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
import functools
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .config import FRAME_HOP_SECONDS
from .corpora.base import DIMENSIONS
from .errors import EmoInputError
from .features import silent_frame
from .io import atomic_save_npz, load_npz

__all__ = [
    "CREST_RULES",
    "HIDE_MODES",
    "WAVEFORM_MODES",
    "KERNEL_WIDTH",
    "RIDGE_ALPHA",
    "SpectrogramExplanation",
    "SurrogateFit",
    "choose_crest",
    "grid_segments",
    "hide_values",
    "perturb_inputs",
    "predict_segment",
    "sample_cells_on",
    "explained_outputs",
    "lime_distances",
    "lime_kernel",
    "fit_surrogate",
    "make_classifier_fn",
    "explain_spectrogram",
    "explanations_by_seed",
    "compare_explanations",
    "lime_stability",
    "cell_table",
]

CREST_RULES = ("largest_deviation", "max", "min")
"""Rules of :func:`choose_crest`."""
HIDE_MODES = ("silence", "floor", "zero")
"""Named ways of filling a hidden cell (see :func:`hide_values`)."""
WAVEFORM_MODES = ("fixed", "mute_time_cells")
"""What happens to the waveform input of a W+S model while the spectrogram is perturbed."""
KERNEL_WIDTH = 0.25
"""Width of LIME's exponential kernel on cosine distances (``lime_image``'s default)."""
RIDGE_ALPHA = 1.0
"""Ridge penalty of LIME's surrogate (``lime.lime_base.LimeBase``'s default regressor)."""

_PER_CONVERSATION_MARK = "spectrogram_normalised_per_conversation"
"""Layer name by which emo_lib.models marks models fed per-conversation normalised spectrograms."""


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


def _fill_frame(values: Any, n_mels: int, what: str) -> np.ndarray:
    """``values`` as a ``(n_mels, 3)`` float32 frame: a number, one per map, or one per band and map."""
    try:
        array = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        raise EmoInputError(f"{what} must be numbers, got {values!r}") from None
    if array.ndim == 0 or (array.ndim == 1 and array.size in (1, 3)):
        array = np.broadcast_to(array.reshape(1, -1), (n_mels, 3))
    elif array.shape != (n_mels, 3):
        raise EmoInputError(f"{what} must be a number, 3 numbers (one per map) or a ({n_mels}, 3) "
                            f"frame (one per band and map), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise EmoInputError(f"{what} contains NaN or infinite values")
    return np.array(array, dtype=np.float32)


def hide_values(spectrogram: Any, hide: str | float | Sequence[float] = "silence", *,
                silence: Any = None) -> np.ndarray:
    """The value each band of each of the three maps takes in a hidden cell.

    Parameters
    ----------
    spectrogram : np.ndarray [shape=(F, n_mels, 3)]
        Log-mel, delta and delta-delta maps of one segment.
    hide : {"silence", "floor", "zero"} or float or three floats or np.ndarray [shape=(n_mels, 3)]
        ``"silence"`` (the default): the ``silence`` frame, digital silence in
        the input's units. ``"floor"``: each map's own minimum over the segment
        (in the delta maps a steep slope, not silence). ``"zero"``: 0 in all
        maps (the conversation mean of per-conversation normalised features).
        A number, one number per map or a ``(n_mels, 3)`` frame is used as
        given.
    silence : np.ndarray [shape=(n_mels, 3)], optional, keyword-only
        Silence in the units of ``spectrogram``; default
        :func:`emo_lib.features.silent_frame` (``log(1e-6)`` in the log-mel
        map, 0 in the deltas: the paper's un-normalised input). For spectrograms
        normalised per conversation pass ``silent_frame(mean, std)`` with that
        conversation's statistics. Only with ``hide="silence"``.

    Returns
    -------
    np.ndarray [shape=(n_mels, 3), dtype=float32]

    Raises
    ------
    EmoInputError
        For a spectrogram that is not ``(F, n_mels, 3)``, an unknown mode, a
        fill or silence frame of the wrong shape or not finite, or ``silence``
        with another mode.

    Examples
    --------
    >>> spec = np.zeros((10, 40, 3), np.float32)
    >>> [round(float(v), 3) for v in hide_values(spec)[0]]
    [-13.816, 0.0, 0.0]
    """
    spec = np.asarray(spectrogram, dtype=np.float32)
    if spec.ndim != 3 or spec.shape[-1] != 3 or spec.shape[0] == 0:
        raise EmoInputError(f"spectrogram must be (F, n_mels, 3), got shape {spec.shape}")
    n_mels = spec.shape[1]
    if silence is not None and not (isinstance(hide, str) and hide == "silence"):
        raise EmoInputError(f"silence is used with hide='silence' only, not hide={hide!r}")
    if isinstance(hide, str):
        if hide == "silence":
            frame = silent_frame(n_mels=n_mels) if silence is None else silence
            return _fill_frame(frame, n_mels, "silence")
        if hide == "floor":
            return _fill_frame(spec.reshape(-1, 3).min(axis=0), n_mels, "floor")
        if hide == "zero":
            return np.zeros((n_mels, 3), dtype=np.float32)
        raise EmoInputError(f"unknown hide mode {hide!r}; choose one of {', '.join(HIDE_MODES)}, "
                            "a number, one number per map or one per band and map")
    return _fill_frame(hide, n_mels, "hide")


def _cells_on_matrix(cells_on: Any, n_cells: int | None = None) -> np.ndarray:
    """``cells_on`` checked: a 2-D array of 0/1 (or bool), returned as int64."""
    on = np.asarray(cells_on)
    if on.ndim != 2 or on.shape[0] == 0 or on.shape[1] == 0:
        raise EmoInputError(f"cells_on must be a non-empty (n_samples, n_cells) array, got shape {on.shape}")
    if n_cells is not None and on.shape[1] != n_cells:
        raise EmoInputError(f"cells_on must be (n, {n_cells}), got shape {on.shape}")
    if on.dtype != bool:
        if not np.issubdtype(on.dtype, np.number) or not np.all((on == 0) | (on == 1)):
            raise EmoInputError("cells_on must hold 0 (cell hidden) or 1 (cell shown) only")
    return on.astype(np.int64)


def perturb_inputs(inputs: Mapping[str, Any], cells_on: Any, *, segments: np.ndarray,
                   fill: Any = None, waveform: str = "fixed",
                   silence: Any = None) -> dict[str, np.ndarray]:
    """A batch of model inputs with some spectrogram cells hidden (silent).

    Parameters
    ----------
    inputs : dict
        One segment without a batch axis: ``"spectrogram"`` (F, n_mels, 3) and,
        for a two-input model, ``"waveform"`` (S, 1). Any other entry (for
        example ``"frame_mask"`` (T,)) is repeated unchanged in every copy.
    cells_on : np.ndarray [shape=(n, n_cells)] of bool or 0/1
        Which grid cells keep their values in each of ``n`` perturbed copies.
    segments : np.ndarray [shape=(F, n_mels), dtype=int]
        Cell index of every pixel (:func:`grid_segments`).
    fill : np.ndarray [shape=(n_mels, 3) or (3,)], optional
        Value of each band and map in a hidden cell (:func:`hide_values`);
        one value per map is used in every band.
    waveform : {"fixed", "mute_time_cells"}
        ``"fixed"``: every copy gets the original waveform. ``"mute_time_cells"``:
        the samples under a time column whose cells are all off are set to 0
        (frame ``f`` covers samples ``f * S // F`` to ``(f + 1) * S // F``).
    silence : np.ndarray [shape=(n_mels, 3)], optional, keyword-only
        The fill when ``fill`` is not given: silence in the spectrogram's units
        (default :func:`emo_lib.features.silent_frame`). Give one of ``fill``
        and ``silence``, not both.

    Returns
    -------
    dict of np.ndarray
        ``"spectrogram"`` (n, F, n_mels, 3) float32, ``"waveform"`` (n, S, 1)
        float32 when given, and every other entry with a batch axis of ``n``.

    Raises
    ------
    EmoInputError
        For a missing spectrogram, arrays that do not match ``segments``,
        ``cells_on`` that is not 0/1 over every cell, a bad fill, or both
        ``fill`` and ``silence``.
    """
    if waveform not in WAVEFORM_MODES:
        raise EmoInputError(f"unknown waveform mode {waveform!r}; choose one of {', '.join(WAVEFORM_MODES)}")
    if "spectrogram" not in inputs:
        raise EmoInputError("inputs lack 'spectrogram'")
    spec = np.asarray(inputs["spectrogram"], dtype=np.float32)
    segments = np.asarray(segments)
    if spec.ndim != 3 or spec.shape[-1] != 3 or spec.shape[:2] != segments.shape:
        raise EmoInputError(f"spectrogram {spec.shape} does not match segments {segments.shape} "
                            "(expected (F, n_mels, 3))")
    if fill is not None and silence is not None:
        raise EmoInputError("give fill or silence, not both")
    n_mels = spec.shape[1]
    if fill is None:
        fill = silent_frame(n_mels=n_mels) if silence is None else silence
        fill = _fill_frame(fill, n_mels, "silence")
    else:
        fill = _fill_frame(fill, n_mels, "fill")
    on = _cells_on_matrix(cells_on, int(segments.max()) + 1).astype(bool)
    pixel_on = on[:, segments]  # (n, F, n_mels)
    batch = {"spectrogram": np.where(pixel_on[..., None], spec[None], fill[None, None]).astype(np.float32)}
    for name, value in inputs.items():
        if name == "spectrogram":
            continue
        if name == "waveform":
            wave = np.asarray(value, dtype=np.float32)
            wave = wave.reshape(wave.shape[0], -1)
            waves = np.repeat(wave[None], on.shape[0], axis=0)
            if waveform == "mute_time_cells":
                n_frames, n_samples = segments.shape[0], wave.shape[0]
                column_off = ~pixel_on.any(axis=2)  # (n, F): every cell of the frame's column is off
                frame_of_sample = np.minimum(np.arange(n_samples) * n_frames // n_samples, n_frames - 1)
                waves[column_off[:, frame_of_sample]] = 0.0
            batch["waveform"] = waves
        else:
            array = np.asarray(value)
            batch[name] = np.repeat(array[None], on.shape[0], axis=0)
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


def _given_frame_mask(inputs: Mapping[str, Any]) -> np.ndarray | None:
    """``inputs["frame_mask"]`` checked (1-D, 0/1), or None when not given."""
    if inputs.get("frame_mask") is None:
        return None
    mask = np.asarray(inputs["frame_mask"], dtype=np.float32)
    if mask.ndim == 2 and mask.shape[0] == 1:
        raise EmoInputError("inputs['frame_mask'] has a batch axis; give one segment without it")
    if mask.ndim != 1 or mask.size == 0:
        raise EmoInputError(f"inputs['frame_mask'] must be (T,), got shape {mask.shape}")
    if not np.all((mask == 0) | (mask == 1)):
        raise EmoInputError("inputs['frame_mask'] must hold 1 (real label step) or 0 (padding) only")
    return mask


def _check_segment(model, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The model's inputs for one segment, checked; ``"frame_mask"`` supplied when the model takes it."""
    if not isinstance(inputs, Mapping):
        raise EmoInputError("inputs must be a dict of arrays for one segment")
    names = _model_input_names(model)
    if "spectrogram" not in names:
        raise EmoInputError(f"the model has no 'spectrogram' input (inputs: {', '.join(names)}); "
                            "only spectrogram models can be explained")
    data_names = [name for name in names if name != "frame_mask"]
    missing = [name for name in data_names if name not in inputs]
    if missing:
        raise EmoInputError(f"inputs lack {', '.join(missing)} needed by the model")
    shapes = {t.name: tuple(t.shape[1:]) for t in model.inputs}
    segment: dict[str, np.ndarray] = {}
    for name in data_names:
        array = np.asarray(inputs[name], dtype=np.float32)
        expected = shapes[name]
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
    given = _given_frame_mask(inputs)
    if "frame_mask" in names:
        steps = shapes["frame_mask"][0] if len(shapes["frame_mask"]) == 1 else None
        if steps is None:
            steps = _static_label_frames(model)
        if given is None:
            if steps is None:
                raise EmoInputError("the model's frame_mask input has no fixed length: "
                                    "give inputs['frame_mask'] (T,)")
            given = np.ones(steps, dtype=np.float32)
        elif steps is not None and given.size != steps:
            raise EmoInputError(f"inputs['frame_mask'] has {given.size} steps, the model expects {steps}")
        segment["frame_mask"] = given
    return segment


def _valid_frames(inputs: Mapping[str, Any], segment: Mapping[str, np.ndarray], n_labels: int) -> np.ndarray:
    """(T,) bool: the label frames that are real (not padding)."""
    mask = segment.get("frame_mask")
    if mask is None:
        mask = _given_frame_mask(inputs)
    if mask is None:
        return np.ones(n_labels, dtype=bool)
    if mask.size != n_labels:
        raise EmoInputError(f"frame_mask has {mask.size} steps, the model's output {n_labels}")
    return mask > 0.5


def _explained_frames(frame: int, context_frames: int, valid: np.ndarray) -> np.ndarray:
    """Indices of the real label frames ``frame - context_frames .. frame + context_frames``."""
    n_labels = valid.size
    if not 0 <= frame < n_labels:
        raise EmoInputError(f"frame {frame} is outside the model's output (0 .. {n_labels - 1})")
    if not valid[frame]:
        raise EmoInputError(f"frame {frame} is padding (frame_mask 0); explain a real label frame")
    window = np.arange(max(frame - context_frames, 0), min(frame + context_frames, n_labels - 1) + 1)
    return window[valid[window]]


def _check_frame(frame: Any) -> int:
    if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)):
        raise EmoInputError(f"frame must be an integer label frame, got {frame!r}")
    return int(frame)


def _check_count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise EmoInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def predict_segment(model, inputs: Mapping[str, Any]) -> np.ndarray:
    """The model's output for one segment.

    Parameters
    ----------
    model : keras.Model
        Inputs named ``"waveform"`` and/or ``"spectrogram"`` and optionally
        ``"frame_mask"``; output ``"emotion"`` (n, T, 2).
    inputs : dict
        One segment without a batch axis, as for :func:`explain_spectrogram`.
        A model's ``"frame_mask"`` is taken from ``inputs`` when given, else
        all ones (a full segment).

    Returns
    -------
    np.ndarray [shape=(T, 2), dtype=float32]
        Arousal and valence per label frame (inference mode: dropout off).
    """
    segment = _check_segment(model, inputs)
    batch = {name: value[None] for name, value in segment.items()}
    return _emotion(model.predict_on_batch(batch))[0].astype(np.float32)


def _run_quantity(model, segment: Mapping[str, np.ndarray], valid: np.ndarray | None, cells_on: np.ndarray,
                  *, segments: np.ndarray, fill: np.ndarray, frame: int, dim: int, context_frames: int,
                  waveform: str, batch_size: int, progress: bool) -> np.ndarray:
    """The explained quantity for every row of ``cells_on``: (n,) float64."""
    from tqdm import tqdm

    values = []
    window = None
    starts = range(0, cells_on.shape[0], batch_size)
    for start in tqdm(starts, disable=not progress, desc="LIME samples", unit="batch", leave=False):
        batch = perturb_inputs(segment, cells_on[start:start + batch_size], segments=segments,
                               fill=fill, waveform=waveform)
        output = _emotion(model.predict_on_batch(batch))
        if window is None:
            mask = np.ones(output.shape[1], dtype=bool) if valid is None else valid
            if mask.size != output.shape[1]:
                raise EmoInputError(f"frame_mask has {mask.size} steps, the model's output {output.shape[1]}")
            window = _explained_frames(frame, context_frames, mask)
        values.append(output[:, window, dim].astype(np.float64).mean(axis=1))
    return np.concatenate(values)


def _check_options(dimension: str, waveform: str, context_frames: Any, batch_size: Any) -> tuple[int, int]:
    if dimension not in DIMENSIONS:
        raise EmoInputError(f"unknown dimension {dimension!r}; choose one of {', '.join(DIMENSIONS)}")
    if waveform not in WAVEFORM_MODES:
        raise EmoInputError(f"unknown waveform mode {waveform!r}; choose one of {', '.join(WAVEFORM_MODES)}")
    return _check_count("context_frames", context_frames, 0), _check_count("batch_size", batch_size, 1)


def explained_outputs(model, inputs: Mapping[str, Any], cells_on: Any, *, segments: np.ndarray,
                      frame: int, dimension: str = "valence", context_frames: int = 2,
                      fill: Any = None, silence: Any = None, waveform: str = "fixed",
                      batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """The explained quantity for each on/off vector: the model run on the perturbed inputs.

    Parameters
    ----------
    model : keras.Model
        As for :func:`explain_spectrogram`.
    inputs : dict
        One segment without a batch axis (``"frame_mask"`` optional).
    cells_on : np.ndarray [shape=(n, n_cells)] of bool or 0/1
        For example :func:`sample_cells_on`.
    segments : np.ndarray [shape=(F, n_mels), dtype=int]
        :func:`grid_segments` of the spectrogram.
    frame, dimension, context_frames, waveform
        As for :func:`explain_spectrogram`.
    fill, silence : np.ndarray, optional
        As for :func:`perturb_inputs` (default: silence of the un-normalised input).
    batch_size : int
        Perturbed copies per forward pass.
    progress : bool
        Show a progress bar.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]
        The ``dimension`` output averaged over the real label frames
        ``frame - context_frames .. frame + context_frames`` of each copy.

    Raises
    ------
    EmoInputError
        As :func:`explain_spectrogram` and :func:`perturb_inputs`.
    """
    frame = _check_frame(frame)
    context_frames, batch_size = _check_options(dimension, waveform, context_frames, batch_size)
    segment = _check_segment(model, inputs)
    segments = np.asarray(segments)
    if segments.shape != segment["spectrogram"].shape[:2]:
        raise EmoInputError(f"segments {segments.shape} do not match the spectrogram "
                            f"{segment['spectrogram'].shape}")
    on = _cells_on_matrix(cells_on, int(segments.max()) + 1)
    if fill is not None and silence is not None:
        raise EmoInputError("give fill or silence, not both")
    n_mels = segment["spectrogram"].shape[1]
    fill = _fill_frame(fill, n_mels, "fill") if fill is not None else \
        hide_values(segment["spectrogram"], "silence", silence=silence)
    valid = None
    if "frame_mask" in segment or _given_frame_mask(inputs) is not None:
        mask = segment.get("frame_mask", _given_frame_mask(inputs))
        valid = mask > 0.5
    return _run_quantity(model, segment, valid, on, segments=segments, fill=fill, frame=frame,
                         dim=DIMENSIONS.index(dimension), context_frames=context_frames,
                         waveform=waveform, batch_size=batch_size, progress=progress)


def make_classifier_fn(model, inputs: Mapping[str, Any], *, segments: np.ndarray, fill: Any = None,
                       frame: int, dimension: str = "valence", context_frames: int = 2,
                       waveform: str = "fixed", silence: Any = None) -> Callable[[np.ndarray], np.ndarray]:
    """A ``classifier_fn`` for ``lime_image.LimeImageExplainer`` (to compare with it).

    :func:`explain_spectrogram` does not need it; it lets the stock image
    explainer run on the same model, grid and silence, as a cross-check.

    Parameters
    ----------
    model, inputs
        As for :func:`explain_spectrogram`.
    segments : np.ndarray [shape=(F, n_mels), dtype=int]
    fill, silence : np.ndarray, optional
        As for :func:`perturb_inputs`.
    frame, dimension, context_frames, waveform
        As for :func:`explain_spectrogram`.

    Returns
    -------
    callable
        ``images (n, F, n_mels, 3) -> (n, 1)``. An image is LIME's RGB copy of
        the log-mel map with NaN in hidden pixels (pass ``hide_color=np.nan``);
        channel 0 is read, the on/off state of each cell is taken from it, the
        model input is rebuilt with :func:`perturb_inputs`, and the explained
        quantity (:func:`explained_outputs`) is returned.
    """
    segments = np.asarray(segments)
    n_cells = int(segments.max()) + 1
    flat = segments.ravel()
    # one pixel per cell, to read its state from
    representative = np.array([np.flatnonzero(flat == cell)[0] for cell in range(n_cells)])

    def classifier_fn(images: np.ndarray) -> np.ndarray:
        channel = np.asarray(images)[..., 0]
        hidden = np.isnan(channel).reshape(channel.shape[0], -1)
        cells_on = ~hidden[:, representative]
        if not np.array_equal(hidden, ~cells_on[:, flat]):
            raise RuntimeError("a perturbed image hides part of a grid cell: "
                               "LIME did not use the grid segmentation")
        values = explained_outputs(model, inputs, cells_on, segments=segments, frame=frame,
                                   dimension=dimension, context_frames=context_frames, fill=fill,
                                   silence=silence, waveform=waveform, batch_size=max(len(cells_on), 1))
        return values[:, None]

    return classifier_fn


# ---------------------------------------------------------------------------
# LIME's pieces: samples, proximity, surrogate
# ---------------------------------------------------------------------------

def sample_cells_on(n_cells: int, num_samples: int, seed: int) -> np.ndarray:
    """LIME's on/off samples over the cells, the first all on.

    The same draws as ``lime_image`` of lime 0.2.0.1 with
    ``random_state=seed``: one call
    ``numpy.random.RandomState(seed).randint(0, 2, num_samples * n_cells)``,
    reshaped row by row. The first ``m`` rows for ``num_samples = n`` are the
    rows drawn for ``num_samples = m``, so more samples extend fewer.

    Parameters
    ----------
    n_cells : int
        Cells of the grid (240 for 30 x 8).
    num_samples : int
        Rows (perturbed copies), at least 1.
    seed : int
        In ``0 .. 2**32 - 1``.

    Returns
    -------
    np.ndarray [shape=(num_samples, n_cells), dtype=int64]
        1 where the cell is shown, 0 where it is hidden; row 0 all ones.

    Examples
    --------
    >>> sample_cells_on(4, 3, seed=0).tolist()
    [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 0]]
    """
    n_cells = _check_count("n_cells", n_cells, 1)
    num_samples = _check_count("num_samples", num_samples, 1)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2 ** 32:
        raise EmoInputError(f"seed must be an integer in 0 .. 2**32 - 1, got {seed!r}")
    draws = np.random.RandomState(int(seed)).randint(0, 2, num_samples * n_cells)
    data = draws.reshape((num_samples, n_cells)).astype(np.int64)
    data[0, :] = 1
    return data


def lime_distances(cells_on: Any) -> np.ndarray:
    """Cosine distance of every on/off vector from the all-on vector (``lime_image``'s distance).

    For a 0/1 vector with ``k`` of ``n`` cells on it is ``1 - sqrt(k / n)``
    (1 when every cell is off).

    Parameters
    ----------
    cells_on : np.ndarray [shape=(n_samples, n_cells)] of bool or 0/1

    Returns
    -------
    np.ndarray [shape=(n_samples,), dtype=float64]
        In ``[0, 1]``; 0 for the all-on vector.

    Examples
    --------
    >>> lime_distances([[1, 1, 1, 1], [1, 0, 0, 0]]).round(6).tolist()
    [0.0, 0.5]
    """
    from sklearn.metrics import pairwise_distances

    on = _cells_on_matrix(cells_on).astype(np.float64)
    return pairwise_distances(on, np.ones((1, on.shape[1])), metric="cosine").ravel()


def lime_kernel(distances: Any, width: float = KERNEL_WIDTH) -> np.ndarray:
    """LIME's proximity weight of each sample: ``sqrt(exp(-d**2 / width**2))``.

    That is ``exp(-d**2 / (2 width**2))``, a Gaussian of the distance with
    standard deviation ``width`` (``lime_image``'s kernel, width 0.25).

    Parameters
    ----------
    distances : np.ndarray [shape=(n,)]
        For example :func:`lime_distances`.
    width : float
        Kernel width, > 0.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]
        In ``(0, 1]``; 1 at distance 0.

    Examples
    --------
    >>> lime_kernel([0.0, 0.25]).round(6).tolist()
    [1.0, 0.606531]
    """
    d = np.asarray(distances, dtype=np.float64)
    if d.ndim != 1 or not np.all(np.isfinite(d)) or np.any(d < 0):
        raise EmoInputError("distances must be a 1-D array of finite values >= 0")
    width = float(width)
    if not np.isfinite(width) or width <= 0:
        raise EmoInputError(f"kernel width must be a positive number, got {width!r}")
    return np.sqrt(np.exp(-(d ** 2) / width ** 2))


@dataclass(frozen=True)
class SurrogateFit:
    """LIME's weighted linear model of the explained quantity over the cells.

    Attributes
    ----------
    weights : np.ndarray [shape=(n_cells,), dtype=float64]
        Coefficient of each cell: the change of the quantity when the cell is
        shown rather than hidden (positive: showing it raises the output).
    intercept : float
        The model's value with every cell hidden.
    score : float
        Weighted R^2 of the fit on its samples (LIME's ``score``).
    local_prediction : float
        The model's value with every cell shown, ``intercept + weights.sum()``.
    distances : np.ndarray [shape=(n_samples,)]
        :func:`lime_distances` of the samples.
    sample_weights : np.ndarray [shape=(n_samples,)]
        :func:`lime_kernel` of the distances: the weight of each sample in the fit.
    """

    weights: np.ndarray
    intercept: float
    score: float
    local_prediction: float
    distances: np.ndarray
    sample_weights: np.ndarray


def fit_surrogate(cells_on: Any, outputs: Any, *, kernel_width: float = KERNEL_WIDTH,
                  ridge_alpha: float = RIDGE_ALPHA) -> SurrogateFit:
    """Fit LIME's surrogate with ``lime.lime_base.LimeBase`` on given samples.

    ``LimeBase.explain_instance_with_data`` with the distances of
    :func:`lime_distances`, the kernel of :func:`lime_kernel`, every cell
    (``feature_selection="none"``) and ``Ridge(alpha=ridge_alpha)`` with an
    intercept: it minimises
    ``sum_i w_i (y_i - b - x_i . beta)**2 + ridge_alpha * |beta|**2`` with
    ``w_i`` the kernel weights, whose solution is, with ``X`` and ``y``
    centred by their ``w``-weighted means,
    ``beta = (X' W X + ridge_alpha I)^-1 X' W y`` and
    ``b = mean_w(y) - mean_w(x) . beta``.

    Parameters
    ----------
    cells_on : np.ndarray [shape=(n_samples, n_cells)] of bool or 0/1
        The samples (for example :func:`sample_cells_on`).
    outputs : np.ndarray [shape=(n_samples,)]
        The explained quantity of each sample (:func:`explained_outputs`).
    kernel_width : float, keyword-only
        Width of :func:`lime_kernel` (0.25).
    ridge_alpha : float, keyword-only
        Ridge penalty (1, LIME's default; 0 gives weighted least squares).

    Returns
    -------
    SurrogateFit

    Raises
    ------
    EmoInputError
        For fewer than 2 samples, outputs of another length or not finite, a
        non-positive kernel width or a negative penalty.
    """
    from lime.lime_base import LimeBase
    from sklearn.linear_model import Ridge

    on = _cells_on_matrix(cells_on)
    y = np.asarray(outputs, dtype=np.float64)
    if y.shape != (on.shape[0],):
        raise EmoInputError(f"outputs must be ({on.shape[0]},), one per sample, got shape {y.shape}")
    if on.shape[0] < 2:
        raise EmoInputError("the surrogate needs at least 2 samples")
    if not np.all(np.isfinite(y)):
        raise EmoInputError("outputs contain NaN or infinite values")
    alpha = float(ridge_alpha)
    if not np.isfinite(alpha) or alpha < 0:
        raise EmoInputError(f"ridge_alpha must be a number >= 0, got {ridge_alpha!r}")
    distances = lime_distances(on)
    sample_weights = lime_kernel(distances, kernel_width)
    base = LimeBase(functools.partial(lime_kernel, width=float(kernel_width)), random_state=0)
    intercept, pairs, score, _ = base.explain_instance_with_data(
        on.astype(np.float64), y[:, None], distances, 0, on.shape[1], feature_selection="none",
        model_regressor=Ridge(alpha=alpha, fit_intercept=True))
    weights = np.zeros(on.shape[1], dtype=np.float64)
    for cell, weight in pairs:
        weights[int(cell)] = float(weight)
    intercept = float(np.ravel(intercept)[0])
    return SurrogateFit(weights=weights, intercept=intercept, score=float(score),
                        local_prediction=float(intercept + weights.sum()), distances=distances,
                        sample_weights=sample_weights)


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
        cell is shown rather than hidden (silent). Positive: the cell raises
        the output; negative: it lowers it.
    segments : np.ndarray [shape=(F, n_mels), dtype=int64]
        Cell index of every spectrogram pixel (row-major over ``weights``).
    frame : int
        Explained label frame.
    time_s : float
        The explained label's time, the END of label window ``frame``:
        ``(frame + 1) * label_step`` seconds from the segment's start, with
        ``label_step = F * 0.01 s / T`` (window ``i`` covers
        ``[i * step, (i + 1) * step)`` and its label is reported at its end,
        like the label traces).
    dimension : str
        ``"arousal"`` or ``"valence"``.
    prediction : float
        The explained quantity on the unperturbed input.
    intercept : float
        Intercept of LIME's linear model (its value with every cell hidden).
    score : float
        LIME's weighted R^2 of the linear model on its samples.
    local_prediction : float
        The linear model's value with every cell on.
    num_samples : int
    seed : int
    context_frames : int
    hide_values : np.ndarray [shape=(n_mels, 3)]
        The fill of a hidden cell in each band of the log-mel, delta and
        delta-delta maps (files written before per-band fills hold ``(3,)``).
    hide : str
        How ``hide_values`` was chosen (a mode name, or ``"explicit"``).
    waveform : str
        ``"fixed"``, ``"mute_time_cells"`` or ``"none"`` (S-only model).
    time_edges : np.ndarray [shape=(n_time_cells + 1,)]
        Cell boundaries in spectrogram frames.
    mel_edges : np.ndarray [shape=(n_mel_cells + 1,)]
        Cell boundaries in mel bands.
    kernel_width : float
        Width of LIME's kernel (:func:`lime_kernel`).
    ridge_alpha : float
        Ridge penalty of the surrogate (:func:`fit_surrogate`).
    label_step_s : float
        Label step in seconds (NaN in files written before it was stored).
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
    kernel_width: float = KERNEL_WIDTH
    ridge_alpha: float = RIDGE_ALPHA
    label_step_s: float = float("nan")

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
        """Read an explanation written by :meth:`save` (fields added later take their defaults)."""
        try:
            data = load_npz(path)
        except (OSError, ValueError) as error:
            raise EmoInputError(f"cannot read explanation: {error}", path=path) from None
        required = [field.name for field in dataclasses.fields(cls)
                    if field.default is dataclasses.MISSING]
        missing = [name for name in required if name not in data]
        if missing:
            raise EmoInputError(f"not an explanation file (missing {', '.join(missing)})", path=path)
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            if field.name not in data:
                continue
            value = data[field.name]
            if field.type in ("int",):
                value = int(value)
            elif field.type in ("float",):
                value = float(value)
            elif field.type in ("str",):
                value = str(value)
            values[field.name] = value
        return cls(**values)


@dataclass
class _Setup:
    """Everything an explanation of one segment needs before sampling."""

    segment: dict
    valid: np.ndarray
    segments: np.ndarray
    fill: np.ndarray
    hide: str
    frame: int
    dim: int
    context_frames: int
    prediction: float
    label_step: float
    n_time: int
    n_mel: int


def _takes_conversation_normalised(model) -> bool:
    try:
        return any(layer.name == _PER_CONVERSATION_MARK for layer in model.layers)
    except (AttributeError, TypeError):
        return False


def _setup(model, inputs, *, frame, dimension, context_frames, grid, hide, silence, waveform,
           batch_size) -> tuple[_Setup, int]:
    frame = _check_frame(frame)
    context_frames, batch_size = _check_options(dimension, waveform, context_frames, batch_size)
    segment = _check_segment(model, inputs)
    spectrogram = segment["spectrogram"]
    n_frames, n_mels = spectrogram.shape[:2]
    n_time, n_mel = _check_grid(grid, n_frames, n_mels)
    segments = grid_segments(n_frames, n_mels, grid)
    if (isinstance(hide, str) and hide == "silence" and silence is None
            and _takes_conversation_normalised(model)):
        raise EmoInputError("the model takes spectrograms normalised per conversation: pass "
                            "silence=emo_lib.features.silent_frame(mean, std) with the "
                            "conversation's statistics")
    fill = hide_values(spectrogram, hide, silence=silence)
    static_labels = _static_label_frames(model)
    if static_labels is not None and not 0 <= frame < static_labels:
        raise EmoInputError(f"frame {frame} is outside the model's output (0 .. {static_labels - 1})")
    unperturbed = predict_segment(model, segment)
    n_labels = unperturbed.shape[0]
    valid = _valid_frames(inputs, segment, n_labels)
    window = _explained_frames(frame, context_frames, valid)
    dim = DIMENSIONS.index(dimension)
    setup = _Setup(
        segment=segment, valid=valid, segments=segments, fill=fill,
        hide=hide if isinstance(hide, str) else "explicit", frame=frame, dim=dim,
        context_frames=context_frames,
        prediction=float(unperturbed[window, dim].astype(np.float64).mean()),
        label_step=n_frames * FRAME_HOP_SECONDS / n_labels, n_time=n_time, n_mel=n_mel,
    )
    return setup, batch_size


def _outputs(model, setup: _Setup, cells_on: np.ndarray, *, waveform: str, batch_size: int,
             progress: bool) -> np.ndarray:
    return _run_quantity(model, setup.segment, setup.valid, cells_on, segments=setup.segments,
                         fill=setup.fill, frame=setup.frame, dim=setup.dim,
                         context_frames=setup.context_frames, waveform=waveform,
                         batch_size=batch_size, progress=progress)


def _explanation(setup: _Setup, fit: SurrogateFit, *, num_samples: int, seed: int, waveform: str,
                 kernel_width: float, ridge_alpha: float) -> SpectrogramExplanation:
    n_frames, n_mels = setup.segments.shape
    return SpectrogramExplanation(
        weights=fit.weights.reshape(setup.n_time, setup.n_mel),
        segments=setup.segments,
        frame=setup.frame,
        time_s=float((setup.frame + 1) * setup.label_step),
        dimension=DIMENSIONS[setup.dim],
        prediction=setup.prediction,
        intercept=fit.intercept,
        score=fit.score,
        local_prediction=fit.local_prediction,
        num_samples=int(num_samples),
        seed=int(seed),
        context_frames=setup.context_frames,
        hide_values=setup.fill,
        hide=setup.hide,
        waveform=waveform if "waveform" in setup.segment else "none",
        time_edges=_grid_edges(n_frames, setup.n_time),
        mel_edges=_grid_edges(n_mels, setup.n_mel),
        kernel_width=float(kernel_width),
        ridge_alpha=float(ridge_alpha),
        label_step_s=float(setup.label_step),
    )


def explain_spectrogram(model, inputs: Mapping[str, Any], *, frame: int, dimension: str = "valence",
                        context_frames: int = 2, grid: Sequence[int] = (30, 8),
                        num_samples: int = 1000, seed: int = 0,
                        hide: str | float | Sequence[float] = "silence", batch_size: int = 64,
                        progress: bool = True, waveform: str = "fixed",
                        kernel_width: float = KERNEL_WIDTH, silence: Any = None,
                        ridge_alpha: float = RIDGE_ALPHA) -> SpectrogramExplanation:
    """Explain one output of a spectrogram model at one time with LIME.

    :func:`sample_cells_on` -> :func:`explained_outputs` ->
    :func:`fit_surrogate` (``lime.lime_base.LimeBase``) on the
    :func:`grid_segments` grid.

    Parameters
    ----------
    model : keras.Model
        Input ``"spectrogram"`` (F, n_mels, 3), optionally ``"waveform"``
        (S, 1) and ``"frame_mask"`` (T,); output ``"emotion"`` (n, T, 2).
    inputs : dict
        One segment without a batch axis: ``{"spectrogram": (F, n_mels, 3)}``
        plus ``"waveform"`` (S, 1) or (S,) for a W+S model, and optionally
        ``"frame_mask"`` (T,) (1 real label step, 0 padding; all ones when not
        given).
    frame : int
        Label frame to explain, ``0 <= frame < T``, not padding (see
        :func:`choose_crest`).
    dimension : {"arousal", "valence"}
    context_frames : int
        The explained quantity is the output averaged over the real frames
        among ``frame - context_frames .. frame + context_frames`` (clipped).
    grid : (int, int)
        ``(n_time_cells, n_mel_cells)`` of :func:`grid_segments`.
    num_samples : int
        Perturbed copies (forward passes) LIME fits its linear model to.
    seed : int
        Seeds LIME's sampling; equal seeds give equal explanations.
    hide : {"silence", "floor", "zero"} or float or three floats or (n_mels, 3)
        Fill of hidden cells (:func:`hide_values`); ``"silence"`` (default) is
        the ``silence`` frame, in all three maps.
    batch_size : int
        Perturbed copies per forward pass.
    progress : bool
        Show a progress bar.
    waveform : {"fixed", "mute_time_cells"}
        For a W+S model: keep the waveform as it is, or also zero its samples
        under time columns whose cells are all hidden (:func:`perturb_inputs`).
    kernel_width : float
        Width of LIME's kernel on cosine distances (:func:`lime_kernel`, 0.25).
    silence : np.ndarray [shape=(n_mels, 3)], optional, keyword-only
        Digital silence in the units of the spectrogram input: default
        :func:`emo_lib.features.silent_frame` (right for the paper's input
        and for models that standardise inside); for spectrograms normalised
        per conversation, ``silent_frame(mean, std)`` with that conversation's
        statistics (required for models built with
        ``spectrogram_norm="conversation"``).
    ridge_alpha : float, keyword-only
        Ridge penalty of the surrogate (:func:`fit_surrogate`, 1).

    Returns
    -------
    SpectrogramExplanation

    Raises
    ------
    EmoInputError
        When the model has no spectrogram input, the inputs do not match the
        model, ``frame`` is outside the output or padding, an option is
        unknown, or a per-conversation normalised model gets no ``silence``.
    """
    num_samples = _check_count("num_samples", num_samples, 2)
    setup, batch_size = _setup(model, inputs, frame=frame, dimension=dimension,
                               context_frames=context_frames, grid=grid, hide=hide, silence=silence,
                               waveform=waveform, batch_size=batch_size)
    cells_on = sample_cells_on(setup.n_time * setup.n_mel, num_samples, seed)
    outputs = _outputs(model, setup, cells_on, waveform=waveform, batch_size=batch_size,
                       progress=progress)
    fit = fit_surrogate(cells_on, outputs, kernel_width=kernel_width, ridge_alpha=ridge_alpha)
    return _explanation(setup, fit, num_samples=num_samples, seed=seed, waveform=waveform,
                        kernel_width=kernel_width, ridge_alpha=ridge_alpha)


# ---------------------------------------------------------------------------
# Stability over seeds and sample counts
# ---------------------------------------------------------------------------

def _distinct_ints(name: str, values: Any, minimum: int) -> list[int]:
    try:
        items = list(values)
    except TypeError:
        raise EmoInputError(f"{name} must be a sequence of integers, got {values!r}") from None
    checked = [_check_count(f"each of {name}", value, minimum) for value in items]
    if not checked or len(set(checked)) != len(checked):
        raise EmoInputError(f"{name} must be distinct integers, at least one, got {items!r}")
    return checked


def explanations_by_seed(model, inputs: Mapping[str, Any], *, frame: int, seeds: Sequence[int] = (0, 1, 2),
                         num_samples: Sequence[int] = (100, 300, 1000), dimension: str = "valence",
                         context_frames: int = 2, grid: Sequence[int] = (30, 8),
                         hide: str | float | Sequence[float] = "silence", silence: Any = None,
                         waveform: str = "fixed", kernel_width: float = KERNEL_WIDTH,
                         ridge_alpha: float = RIDGE_ALPHA, batch_size: int = 64,
                         progress: bool = False) -> dict[tuple[int, int], SpectrogramExplanation]:
    """One explanation per seed and number of samples, sharing the forward passes.

    For each seed the model runs once on the largest number of samples; the
    explanation with fewer samples is fitted to the first rows, which are the
    samples :func:`sample_cells_on` draws for that number. So
    ``result[(seed, n)]`` equals ``explain_spectrogram(..., seed=seed,
    num_samples=n)`` (up to the last bits of float32 model outputs, which can
    depend on the batch a copy is in).

    Parameters
    ----------
    model, inputs, frame, dimension, context_frames, grid, hide, silence
        As for :func:`explain_spectrogram`.
    waveform, kernel_width, ridge_alpha, batch_size, progress
        As for :func:`explain_spectrogram`.
    seeds : sequence of int
        Distinct LIME seeds.
    num_samples : sequence of int
        Distinct numbers of samples, each at least 2.

    Returns
    -------
    dict
        ``{(seed, num_samples): SpectrogramExplanation}``.

    Cost: ``len(seeds) * max(num_samples)`` forward passes.
    """
    seeds = _distinct_ints("seeds", seeds, 0)
    counts = sorted(_distinct_ints("num_samples", num_samples, 2))
    setup, batch_size = _setup(model, inputs, frame=frame, dimension=dimension,
                               context_frames=context_frames, grid=grid, hide=hide, silence=silence,
                               waveform=waveform, batch_size=batch_size)
    n_cells = setup.n_time * setup.n_mel
    result: dict[tuple[int, int], SpectrogramExplanation] = {}
    for seed in seeds:
        largest = sample_cells_on(n_cells, counts[-1], seed)
        outputs = _outputs(model, setup, largest, waveform=waveform, batch_size=batch_size,
                           progress=progress)
        for count in counts:
            cells_on = sample_cells_on(n_cells, count, seed)
            if np.array_equal(cells_on, largest[:count]):
                values = outputs[:count]
            else:  # not a prefix (another numpy): run the model on these samples
                values = _outputs(model, setup, cells_on, waveform=waveform, batch_size=batch_size,
                                  progress=progress)
            fit = fit_surrogate(cells_on, values, kernel_width=kernel_width, ridge_alpha=ridge_alpha)
            result[(seed, count)] = _explanation(setup, fit, num_samples=count, seed=seed,
                                                 waveform=waveform, kernel_width=kernel_width,
                                                 ridge_alpha=ridge_alpha)
    return result


_STABILITY_COLUMNS = ("comparison", "seed_a", "num_samples_a", "seed_b", "num_samples_b", "top_k",
                      "jaccard", "n_common", "sign_agreement", "weight_correlation")


def _top_set(weights: np.ndarray, top_k: int) -> np.ndarray:
    order = np.argsort(-np.abs(weights), kind="stable")
    return order[:top_k]


def compare_explanations(explanations: Mapping[tuple[int, int], Any], *, top_k: int = 10):
    """How much explanations agree, pair by pair: overlap and sign of their top cells.

    Parameters
    ----------
    explanations : dict
        ``{(seed, num_samples): SpectrogramExplanation or weights array}``, all
        on the same grid (:func:`explanations_by_seed`).
    top_k : int, keyword-only
        Number of cells with the largest ``|weight|`` compared.

    Returns
    -------
    pandas.DataFrame
        One row per pair, columns ``comparison`` (``"seeds"``: two seeds at
        the same number of samples; ``"num_samples"``: one seed at two numbers
        of samples), ``seed_a``, ``num_samples_a``, ``seed_b``,
        ``num_samples_b`` (``a`` the smaller), ``top_k``, ``jaccard``
        (``|A & B| / |A | B|`` of the two top-k sets: 1 the same cells, 0 none
        in common), ``n_common`` (``|A & B|``), ``sign_agreement`` (the
        fraction of the common cells whose weights have the same sign; NaN
        with none in common) and ``weight_correlation`` (Pearson correlation of
        all cell weights; NaN when one set is constant).

    Raises
    ------
    EmoInputError
        For fewer than two explanations, keys that are not (seed, num_samples),
        weights of different shapes, or ``top_k`` outside ``1 .. n_cells``.
    """
    import pandas as pd

    if not isinstance(explanations, Mapping) or len(explanations) < 2:
        raise EmoInputError("explanations must be a dict of at least two "
                            "{(seed, num_samples): explanation} entries")
    weights: dict[tuple[int, int], np.ndarray] = {}
    for key, value in explanations.items():
        try:
            seed, count = (int(k) for k in key)
        except (TypeError, ValueError):
            raise EmoInputError(f"keys must be (seed, num_samples) pairs, got {key!r}") from None
        array = np.asarray(getattr(value, "weights", value), dtype=np.float64).ravel()
        if not np.all(np.isfinite(array)):
            raise EmoInputError(f"the weights of {key!r} contain NaN or infinite values")
        weights[(seed, count)] = array
    sizes = {array.size for array in weights.values()}
    if len(sizes) != 1:
        raise EmoInputError(f"explanations have different numbers of cells: {sorted(sizes)}")
    n_cells = sizes.pop()
    top_k = _check_count("top_k", top_k, 1)
    if top_k > n_cells:
        raise EmoInputError(f"top_k {top_k} is more than the {n_cells} cells")
    rows = []
    for key_a, key_b in itertools.combinations(sorted(weights), 2):
        same_seed, same_count = key_a[0] == key_b[0], key_a[1] == key_b[1]
        if same_seed == same_count:
            continue  # the same run twice, or two seeds at two sample counts
        if same_count:
            kind = "seeds"
        else:
            kind = "num_samples"
            key_a, key_b = sorted((key_a, key_b), key=lambda k: k[1])
        w_a, w_b = weights[key_a], weights[key_b]
        top_a, top_b = set(_top_set(w_a, top_k).tolist()), set(_top_set(w_b, top_k).tolist())
        common = sorted(top_a & top_b)
        union = top_a | top_b
        agreement = float(np.mean(np.sign(w_a[common]) == np.sign(w_b[common]))) if common else np.nan
        correlation = np.nan
        if np.std(w_a) > 0 and np.std(w_b) > 0:
            correlation = float(np.corrcoef(w_a, w_b)[0, 1])
        rows.append({"comparison": kind, "seed_a": key_a[0], "num_samples_a": key_a[1],
                     "seed_b": key_b[0], "num_samples_b": key_b[1], "top_k": top_k,
                     "jaccard": len(common) / len(union), "n_common": len(common),
                     "sign_agreement": agreement, "weight_correlation": correlation})
    table = pd.DataFrame(rows, columns=list(_STABILITY_COLUMNS))
    return table.sort_values(["comparison", "num_samples_a", "num_samples_b", "seed_a", "seed_b"],
                             ignore_index=True)


def lime_stability(model, inputs: Mapping[str, Any], *, frame: int, dimension: str = "valence",
                   seeds: Sequence[int] = (0, 1, 2), num_samples: Sequence[int] = (100, 300, 1000),
                   top_k: int = 10, silence: Any = None, context_frames: int = 2,
                   grid: Sequence[int] = (30, 8), hide: str | float | Sequence[float] = "silence",
                   waveform: str = "fixed", kernel_width: float = KERNEL_WIDTH,
                   ridge_alpha: float = RIDGE_ALPHA, batch_size: int = 64, progress: bool = False):
    """Do LIME's top cells hold across seeds and numbers of samples?

    Explains one output for every seed and number of samples
    (:func:`explanations_by_seed`) and compares the explanations pair by pair
    (:func:`compare_explanations`): the Jaccard overlap of their ``top_k``
    cells by ``|weight|``, the sign agreement of the cells in common and the
    correlation of all weights. Across seeds at a fixed number of samples it
    measures sampling noise; across numbers of samples at one seed, whether
    more samples would change the answer.

    Parameters
    ----------
    model, inputs, frame, dimension, context_frames, grid, hide, silence
        As for :func:`explain_spectrogram`.
    waveform, kernel_width, ridge_alpha, batch_size, progress
        As for :func:`explain_spectrogram`.
    seeds : sequence of int
        Distinct LIME seeds (three by default).
    num_samples : sequence of int
        Distinct numbers of samples.
    top_k : int
        Cells compared.

    Returns
    -------
    pandas.DataFrame
        As :func:`compare_explanations`: with 3 seeds and 3 sample counts,
        9 rows of ``comparison == "seeds"`` and 9 of ``"num_samples"``.

    Cost: ``len(seeds) * max(num_samples)`` forward passes (3,000 by default:
    about 25 s for the ``tiny`` S model on a 2-core CPU).

    Examples
    --------
    >>> table = lime_stability(s_model, {"spectrogram": spec}, frame=120)    # doctest: +SKIP
    >>> table.groupby(["comparison", "num_samples_b"]).jaccard.mean()        # doctest: +SKIP
    """
    explanations = explanations_by_seed(
        model, inputs, frame=frame, seeds=seeds, num_samples=num_samples, dimension=dimension,
        context_frames=context_frames, grid=grid, hide=hide, silence=silence, waveform=waveform,
        kernel_width=kernel_width, ridge_alpha=ridge_alpha, batch_size=batch_size, progress=progress)
    return compare_explanations(explanations, top_k=top_k)


# ---------------------------------------------------------------------------
# Reading an explanation
# ---------------------------------------------------------------------------

def cell_table(explanation):
    """Every cell of an explanation as one row: where it lies (seconds, Hz) and its weight.

    Parameters
    ----------
    explanation : SpectrogramExplanation
        From :func:`explain_spectrogram` (any grid).

    Returns
    -------
    pandas.DataFrame
        One row per cell in cell order (``cell = time_cell * n_mel_cells +
        mel_cell``, the order of ``explanation.weights.ravel()``), columns
        ``cell``, ``time_cell``, ``mel_cell``, ``start_s`` and ``end_s`` (the
        cell's frames in seconds from the segment's start, 10 ms frames),
        ``low_hz`` and ``high_hz`` (centre frequencies of the cell's lowest and
        highest mel band, :func:`emo_lib.plots.mel_band_centres`), ``weight``
        (LIME's signed weight: positive, hearing the cell raises the output)
        and ``rank`` (1 for the largest ``|weight|``; ties in cell order, as
        :meth:`SpectrogramExplanation.top_cells`).

    Raises
    ------
    EmoInputError
        When ``explanation`` is not a :class:`SpectrogramExplanation` or its
        cell edges do not match its weights.

    Examples
    --------
    >>> table = cell_table(explanation)                              # doctest: +SKIP
    >>> table.nsmallest(3, "rank")[["start_s", "end_s", "low_hz", "high_hz", "weight"]]  # doctest: +SKIP
    """
    import pandas as pd

    from .plots import mel_band_centres

    for attribute in ("weights", "time_edges", "mel_edges", "segments"):
        if not hasattr(explanation, attribute):
            raise EmoInputError("explanation must be a SpectrogramExplanation (explain_spectrogram)")
    weights = np.asarray(explanation.weights, dtype=np.float64)
    time_edges = np.asarray(explanation.time_edges, dtype=np.int64)
    mel_edges = np.asarray(explanation.mel_edges, dtype=np.int64)
    if weights.ndim != 2 or weights.shape != (time_edges.size - 1, mel_edges.size - 1):
        raise EmoInputError(f"weights {weights.shape} do not match the cell edges "
                            f"({time_edges.size - 1} x {mel_edges.size - 1} cells)")
    n_time, n_mel = weights.shape
    time_cell, mel_cell = np.divmod(np.arange(n_time * n_mel), n_mel)
    centres = mel_band_centres(int(mel_edges[-1]))
    flat = weights.ravel()
    rank = np.empty(flat.size, dtype=np.int64)
    rank[np.argsort(-np.abs(flat), kind="stable")] = np.arange(1, flat.size + 1)
    return pd.DataFrame({
        "cell": np.arange(flat.size),
        "time_cell": time_cell,
        "mel_cell": mel_cell,
        "start_s": time_edges[time_cell] * FRAME_HOP_SECONDS,
        "end_s": time_edges[time_cell + 1] * FRAME_HOP_SECONDS,
        "low_hz": centres[mel_edges[mel_cell]],
        "high_hz": centres[mel_edges[mel_cell + 1] - 1],
        "weight": flat,
        "rank": rank,
    })
