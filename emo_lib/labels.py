"""Continuous labels: fuse raters into a gold standard and align it to label windows.

Rater fusion (:func:`fuse_raters`)
    ``"mean"``: the plain mean of the raters at every time step (AVEC 2015,
    and the paper: "averaged"). ``"ccc_centred"``: the AVEC 2016/2018 gold
    standard, the mean shifted so that its overall level is the raters' mean
    levels weighted by their agreement with the others.

Unequal traces (:func:`truncate_traces`)
    Raters' traces of one SEMAINE session differ by a few rows; they are cut
    to the shortest, with a warning naming the session.

Alignment (:func:`align_labels`)
    The audio is cut into label windows of one label step (20 ms SEMAINE,
    40 ms RECOLA): window ``i`` covers ``[i * step, (i + 1) * step)`` seconds.
    Public end-to-end code pairs a window with different label rows; the
    choice is an explicit option (:data:`LABEL_CONVENTIONS`):

    ``"end"`` (default)
        The row at the window's end, ``t = (i + 1) * step`` (Trigeorgis et al.,
        Tzirakis et al.): the label describes the audio heard up to then.
    ``"start"``
        The row at the window's start, ``t = i * step`` (end2you).
    ``"interpolate"``
        Linear interpolation of the rows at the window's centre,
        ``t = (i + 0.5) * step`` (LeBenchmark).

    For ``"end"`` and ``"start"`` the window takes the row nearest to ``t``
    (the earlier one on a tie). A window is valid only when some label row
    lies within half a step of ``t`` (a relative tolerance of 1e-6 absorbs
    rounding in the files' times); otherwise (``t`` before the first row or
    after the last by more than half a step, or in a gap of missing rows) it
    is invalid: ``valid`` is False and its value 0. For ``"interpolate"`` the
    value of a valid window is interpolated between the rows around ``t``, and
    held at the first or last row when ``t`` lies just outside them.

    Examples on the two corpora's grids: SEMAINE rows start at 0.02 s, so with
    ``"end"`` window 0 takes the 0.02 row, while with ``"start"`` window 0
    (``t = 0``) has no row and is invalid. RECOLA rows start at 0.00 s, so with
    ``"end"`` windows take rows 1, 2, ... and row 0 is never used; with
    ``"start"`` they take rows 0, 1, ... and the last row is never used.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from .errors import EmoInputError

__all__ = [
    "LABEL_CONVENTIONS",
    "FUSION_METHODS",
    "LabelLengthWarning",
    "fuse_raters",
    "truncate_traces",
    "align_labels",
]

LABEL_CONVENTIONS = ("end", "start", "interpolate")
"""Ways to pair a label window with label rows (see the module docstring)."""
FUSION_METHODS = ("mean", "ccc_centred")
"""Ways to fuse rater traces into one gold standard (see :func:`fuse_raters`)."""

_TARGET_OFFSET = {"end": 1.0, "start": 0.0, "interpolate": 0.5}
_RELATIVE_TOLERANCE = 1e-6


class LabelLengthWarning(UserWarning):
    """Rater traces of one recording differ in length and were truncated."""


# ---------------------------------------------------------------------------
# Rater fusion
# ---------------------------------------------------------------------------


def fuse_raters(ratings: np.ndarray, method: str = "mean") -> np.ndarray:
    r"""Fuse several raters' traces of one recording into a gold standard.

    ``"mean"``
        :math:`GS(t) = \frac{1}{R} \sum_r x_r(t)`.
    ``"ccc_centred"`` (AVEC 2016/2018, scripts_GES/GSCreation.py)
        For each rater, :math:`CCC_r` is the mean CCC (:func:`emo_lib.metrics.ccc`,
        1/N statistics) of its trace against every other rater's, pairs with an
        undefined CCC left out; :math:`m_r` is the rater's time mean;
        :math:`w = \sum_r m_r CCC_r / \sum_r CCC_r`;
        :math:`GS(t) = \frac{1}{R} \sum_r x_r(t) - \overline{x} + w`, where
        :math:`\overline{x}` is the mean over all raters and times. When the
        weights are undefined or their sum is not positive (raters that do not
        agree at all), :math:`w` is replaced by :math:`\overline{x}` (the plain
        mean results) and a warning says so.

    Parameters
    ----------
    ratings : np.ndarray [shape=(R, T)]
        One row per rater, one column per label step, same time grid.
    method : {"mean", "ccc_centred"}
        Fusion rule.

    Returns
    -------
    np.ndarray [shape=(T,), dtype=float32]
        The gold standard.

    Raises
    ------
    EmoInputError
        For an unknown method, ratings that are not a finite (R, T) array
        with R >= 1 and T >= 1, or fewer than 2 raters (or 2 steps) with
        ``"ccc_centred"``.

    Examples
    --------
    >>> np.allclose(fuse_raters(np.array([[0.0, 0.2], [0.2, 0.4]])), [0.1, 0.3])
    True
    """
    if method not in FUSION_METHODS:
        raise EmoInputError(
            f"unknown rater fusion method {method!r}; choose one of {', '.join(FUSION_METHODS)}"
        )
    x = np.asarray(ratings)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise EmoInputError(f"ratings must be an (R raters, T steps) array, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
        raise EmoInputError("ratings hold NaN, infinite or non-numeric values")
    x = x.astype(np.float64)
    mean_trace = x.mean(axis=0)
    if method == "mean":
        return mean_trace.astype(np.float32)

    n_raters, n_steps = x.shape
    if n_raters < 2 or n_steps < 2:
        raise EmoInputError(
            f"ccc_centred fusion needs at least 2 raters and 2 steps, got {n_raters} x {n_steps}"
        )
    # imported here: emo_lib.metrics loads Keras, which corpus readers do not need
    from .metrics import ccc

    pair = np.full((n_raters, n_raters), np.nan)
    for a in range(n_raters):
        for b in range(a + 1, n_raters):
            pair[a, b] = pair[b, a] = ccc(x[a], x[b])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a rater with no defined CCC
        agreement = np.nanmean(pair, axis=1)  # (R,)
    rater_means = x.mean(axis=1)  # (R,)
    overall = float(x.mean())
    keep = np.isfinite(agreement)
    total = float(agreement[keep].sum())
    if not keep.any() or not total > 0:
        warnings.warn(
            "ccc_centred fusion: the raters' agreement weights are undefined or sum to "
            f"{total:.3g}; using the plain mean",
            RuntimeWarning,
            stacklevel=2,
        )
        weighted = overall
    else:
        weighted = float(np.sum(rater_means[keep] * agreement[keep]) / total)
    return (mean_trace - overall + weighted).astype(np.float32)


def truncate_traces(traces: Sequence[np.ndarray], what: str) -> np.ndarray:
    """Cut traces of unequal length to the shortest and stack them.

    Parameters
    ----------
    traces : sequence of np.ndarray [shape=(T_i,)]
        One trace per rater (values or times).
    what : str
        What the traces are (a file or session name); named in the warning
        and in errors.

    Returns
    -------
    np.ndarray [shape=(R, min_i T_i)]
        The stacked traces, in the inputs' common floating dtype.

    Warns
    -----
    LabelLengthWarning
        When the lengths differ (the message names ``what`` and the lengths).

    Raises
    ------
    EmoInputError
        For no traces, a trace that is not 1-D, or an empty trace.
    """
    if len(traces) == 0:
        raise EmoInputError(f"{what}: no traces to stack")
    arrays = [np.asarray(trace) for trace in traces]
    for index, array in enumerate(arrays):
        if array.ndim != 1:
            raise EmoInputError(
                f"{what}: trace {index} must be one-dimensional, got shape {array.shape}"
            )
        if not np.issubdtype(array.dtype, np.number):
            raise EmoInputError(f"{what}: trace {index} is not numeric (dtype {array.dtype})")
    lengths = [array.shape[0] for array in arrays]
    shortest = min(lengths)
    if shortest == 0:
        raise EmoInputError(f"{what}: trace {lengths.index(0)} is empty")
    if max(lengths) != shortest:
        warnings.warn(
            f"{what}: traces differ in length ({', '.join(map(str, lengths))} rows); "
            f"truncated to the shortest, {shortest} rows",
            LabelLengthWarning,
            stacklevel=2,
        )
    dtype = np.result_type(np.float32, *[array.dtype for array in arrays])
    return np.stack([array[:shortest] for array in arrays]).astype(dtype, copy=False)


# ---------------------------------------------------------------------------
# Alignment to label windows
# ---------------------------------------------------------------------------


def align_labels(
    times: np.ndarray,
    values: np.ndarray,
    step: float,
    n_windows: int,
    convention: str = "end",
) -> tuple[np.ndarray, np.ndarray]:
    """Give each label window of the audio one label row (or an interpolated value).

    Window ``i`` covers ``[i * step, (i + 1) * step)`` seconds of the audio;
    the conventions and the validity rule are described in the module
    docstring.

    Parameters
    ----------
    times : np.ndarray [shape=(T,)]
        Time of each label row in seconds, strictly increasing.
    values : np.ndarray [shape=(T, D)] or [shape=(T,)]
        Label rows (D = 2: arousal, valence).
    step : float
        Label window length in seconds (0.02 or 0.04).
    n_windows : int
        Number of windows (normally ``len(audio) // samples per step``).
    convention : {"end", "start", "interpolate"}
        Which time of the window the label belongs to.

    Returns
    -------
    aligned : np.ndarray [shape=(n_windows, D)] or [shape=(n_windows,)], float32
        One label per window; 0 for invalid windows.
    valid : np.ndarray [shape=(n_windows,), dtype=bool]
        Whether a label row lies within half a step of the window's target time.

    Raises
    ------
    EmoInputError
        For an unknown convention, times that are not finite and strictly
        increasing, values whose length differs from the times' or that are
        not finite, a non-positive step, or a negative number of windows.

    Examples
    --------
    >>> times = np.array([0.02, 0.04, 0.06])            # SEMAINE-like grid
    >>> values = np.array([[1.0], [2.0], [3.0]])
    >>> aligned, valid = align_labels(times, values, 0.02, 3, "start")
    >>> aligned[:, 0].tolist(), valid.tolist()
    ([0.0, 1.0, 2.0], [False, True, True])
    """
    if convention not in LABEL_CONVENTIONS:
        raise EmoInputError(
            f"unknown label convention {convention!r}; choose one of {', '.join(LABEL_CONVENTIONS)}"
        )
    t = np.asarray(times)
    v = np.asarray(values)
    if t.ndim != 1 or t.size == 0:
        raise EmoInputError(f"times must be a non-empty (T,) array, got shape {t.shape}")
    if not np.issubdtype(t.dtype, np.number) or not np.all(np.isfinite(t)):
        raise EmoInputError("times hold NaN, infinite or non-numeric values")
    t = t.astype(np.float64)
    if t.size > 1 and not np.all(np.diff(t) > 0):
        first = int(np.argmax(np.diff(t) <= 0))
        raise EmoInputError(
            f"times must increase strictly; row {first + 1} ({t[first + 1]:g} s) does not follow "
            f"row {first} ({t[first]:g} s)"
        )
    if v.ndim not in (1, 2) or v.shape[0] != t.size:
        raise EmoInputError(
            f"values must be (T,) or (T, D) with T = {t.size} rows as the times, "
            f"got shape {v.shape}"
        )
    if not np.issubdtype(v.dtype, np.number) or not np.all(np.isfinite(v)):
        raise EmoInputError("label values hold NaN, infinite or non-numeric values")
    try:
        step = float(step)
    except (TypeError, ValueError):
        raise EmoInputError(f"step must be a number of seconds, got {step!r}") from None
    if not (np.isfinite(step) and step > 0):
        raise EmoInputError(f"step must be a positive number of seconds, got {step!r}")
    if isinstance(n_windows, bool) or int(n_windows) != n_windows or n_windows < 0:
        raise EmoInputError(f"n_windows must be a non-negative integer, got {n_windows!r}")
    n_windows = int(n_windows)

    squeeze = v.ndim == 1
    rows = v.reshape(t.size, -1).astype(np.float64)
    target = (np.arange(n_windows, dtype=np.float64) + _TARGET_OFFSET[convention]) * step

    # nearest row to each target (the earlier on a tie)
    right = np.clip(np.searchsorted(t, target, side="left"), 0, t.size - 1)
    left = np.clip(right - 1, 0, t.size - 1)
    use_left = np.abs(target - t[left]) <= np.abs(t[right] - target)
    nearest = np.where(use_left, left, right)
    distance = np.abs(t[nearest] - target)
    valid = distance <= 0.5 * step * (1.0 + _RELATIVE_TOLERANCE)

    if convention == "interpolate":
        aligned = np.stack([np.interp(target, t, rows[:, d]) for d in range(rows.shape[1])], axis=1)
    else:
        aligned = rows[nearest]
    aligned = np.where(valid[:, None], aligned, 0.0).astype(np.float32)
    if squeeze:
        aligned = aligned[:, 0]
    return aligned, valid
