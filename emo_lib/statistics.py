r"""Statistics of the paper's claims: test-set scores, bootstrap intervals and paired tests.

The paper reports single runs and no significance test. This module puts an
uncertainty on every number of Table 1 and tests the four claims of its
section 5.2 on the same test conversations.

Inputs
------
A *predictions table* (``pandas.DataFrame``, as evaluation writes it to
``predictions.csv``) has one row per valid label frame of the test set and the
columns ``conversation, segment, frame, time_s, arousal_true, valence_true,
arousal_pred, valence_pred``. Functions that take "predictions of several
seeds" accept a list of such tables that cover the same frames.

The unit of resampling is the conversation
------------------------------------------
Frames 20 ms apart are strongly autocorrelated, so resampling frames would
give intervals far too narrow. Everything here resamples or permutes whole
test conversations, the independent units of the design.

Protocols
---------
``"concatenated"``
    One score over all test frames together (the default, and the protocol of
    our Table 1).
``"per_conversation"``
    One score per conversation, then the unweighted mean over conversations;
    a conversation whose score is undefined (NaN: fewer than two frames,
    constant truth and prediction, or a constant series for Pearson) is left
    out of the mean.

Metrics are :func:`emo_lib.metrics.ccc` (1/N estimator),
:func:`emo_lib.metrics.ccc_avec` and :func:`emo_lib.metrics.pearson`. Inside
the resampling loops the concatenated scores are computed from per-conversation
sums (count, sums of truth, prediction, their squares and product), which
gives the same value as the metric on the concatenated frames (to about 1e-12)
without touching the frames again.

Engines
-------
The resampling itself is SciPy's: :func:`scipy.stats.permutation_test` for the
tests and :func:`scipy.stats.bootstrap` for the intervals. What this module
adds is the unit and the statistic: SciPy permutes or resamples conversation
*indices*, and the statistic turns a set of indices into a score from the
per-conversation moments (or per-conversation scores), so whole
conversations move together and the concatenated protocol stays exact.

Bootstrap
---------
:func:`bootstrap_ci` resamples test conversations with replacement and gives
the BCa interval by default (bias-corrected and accelerated, Efron 1987), the
better interval with few test conversations (5-10), where the bootstrap
distribution of a concatenated CCC is skewed and sits below the estimate;
``method="percentile"`` gives the plain percentile interval.

Tests
-----
:func:`paired_test` is a **paired permutation test over conversations**:
under the null hypothesis that models a and b are exchangeable (neither is
better), swapping their predictions within any set of conversations leaves
the distribution of the data unchanged. The statistic is the difference of the
scores (a minus b) under the chosen protocol; its permutation distribution is
obtained by swapping a and b in every subset of conversations (exactly, when
:math:`2^C` does not exceed ``n_resamples``) or in random subsets (Monte
Carlo, with :math:`p = (1 + \#\{T^* \ge T\}) / (1 + R)`). For the
per-conversation protocol a swap flips the sign of that conversation's score
difference: this is the sign-flip test on per-conversation differences. The
test is one-sided by default (``alternative="greater"``: a beats b).

The smallest attainable p-value
-------------------------------
A permutation test over C conversations has :math:`2^C` equally likely swap
patterns, so its p-value can never go below :math:`2^{-C}` (one-sided;
:math:`2^{-(C-1)}` two-sided), whatever the data: with 4 test conversations
p >= .0625, and nothing can be significant at .05. Every
:class:`PairedTestResult` carries this bound as ``min_p`` (see
:func:`smallest_p`), and :func:`test_claims` calls a comparison whose design
cannot reach ``alpha`` "untestable at this size" rather than "not supported".

Several seeds
-------------
Seeds are pooled by averaging **scores**, not predictions: a model's score is
the mean over its seeds of the score of each seed's predictions (averaging
predictions would test an ensemble, whose CCC differs from that of a single
model). In a test the statistic is the mean over seed pairs of the score
difference, and one swap pattern over conversations is applied to every seed
pair at once, so the single p-value accounts for the dependence between seeds
that share the test conversations (no independence is assumed, unlike
Fisher's combination of per-seed p-values). Seeds are paired by index when
both models have the same number of seeds, and all pairs are used otherwise.
:func:`paired_seed_test` tests over seeds instead, with seed-level scores.

Claims
------
:data:`PAPER_CLAIMS` holds the paper's four claims; :func:`test_claims` tests
each comparison at level ``alpha`` and reports a claim supported when every
one of its comparisons is (an intersection-union test, which needs no
multiplicity correction inside a claim). The four claims are tested
separately, each at level ``alpha``. :data:`BEYOND_PAPER_CLAIMS` holds the
project's question beyond the paper (does W+S gated beat W+S?), tested by the
same machinery. :func:`claims_summary` turns its output into a compact table
to read.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pandas as pd
import scipy.stats

from .corpora.base import DIMENSIONS
from .errors import EmoInputError
from .metrics import ccc, ccc_avec, pearson
from .results import MODEL_LABELS, format_p, format_score

__all__ = [
    "PREDICTION_COLUMNS",
    "PROTOCOLS",
    "METRICS",
    "METRIC_LABELS",
    "read_predictions",
    "scores",
    "conversation_scores",
    "BOOTSTRAP_METHODS",
    "bootstrap_ci",
    "ALTERNATIVES",
    "PairedTestResult",
    "smallest_p",
    "paired_test",
    "paired_seed_test",
    "Claim",
    "PAPER_CLAIMS",
    "BEYOND_PAPER_CLAIMS",
    "VERDICTS",
    "format_smallest_p",
    "test_claims",
    "claims_summary",
]

PREDICTION_COLUMNS = (
    "conversation",
    "segment",
    "frame",
    "time_s",
    "arousal_true",
    "valence_true",
    "arousal_pred",
    "valence_pred",
)
"""Columns of a predictions table (``predictions.csv``), one row per valid label frame."""

_VALUE_COLUMNS = ("arousal_true", "valence_true", "arousal_pred", "valence_pred")
_KEY_COLUMNS = ("conversation", "segment", "frame")

PROTOCOLS = ("concatenated", "per_conversation")
"""Scoring protocols (see the module docstring)."""

METRICS: dict[str, Callable[..., float]] = {"ccc": ccc, "ccc_avec": ccc_avec, "pearson": pearson}
"""Metric name -> function ``(y_true, y_pred) -> float`` of :mod:`emo_lib.metrics`."""

METRIC_LABELS = {"ccc": "CCC", "ccc_avec": "CCC (AVEC estimator)", "pearson": "Pearson r"}
"""How each metric is named in sentences."""

_ZERO = 1e-12  # relative size below which a variance or denominator counts as zero
_TIE_DECIMALS = 10  # permutation statistics are compared on a grid of 1e-10 (ties)


# ---------------------------------------------------------------------------
# Checking and aligning predictions tables
# ---------------------------------------------------------------------------


def _where(df: pd.DataFrame) -> str | None:
    return df.attrs.get("path") if isinstance(df, pd.DataFrame) else None


def _check_predictions(df: pd.DataFrame, *, keys: bool = False) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise EmoInputError(f"predictions must be a pandas DataFrame, got {type(df).__name__}")
    path = _where(df)
    needed = ("conversation",) + _VALUE_COLUMNS + (_KEY_COLUMNS[1:] if keys else ())
    missing = [column for column in needed if column not in df.columns]
    if missing:
        raise EmoInputError(f"predictions table lacks columns {missing}", path=path)
    if len(df) == 0:
        raise EmoInputError("predictions table has no rows", path=path)
    for column in _VALUE_COLUMNS:
        values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            raise EmoInputError(
                f"column {column!r} has {int(bad.sum())} missing or non-finite values "
                f"(first at row {int(np.argmax(bad))})",
                path=path,
            )
    if df["conversation"].isna().any():
        raise EmoInputError("column 'conversation' has missing values", path=path)
    return df


def _as_list(predictions: pd.DataFrame | Sequence[pd.DataFrame], what: str) -> list[pd.DataFrame]:
    if isinstance(predictions, pd.DataFrame):
        return [predictions]
    items = list(predictions)
    if not items:
        raise EmoInputError(f"{what}: no predictions tables given")
    return items


@dataclass
class _Aligned:
    """Frames shared by several predictions tables, sorted by conversation, segment, frame."""

    codes: np.ndarray  # (N,) conversation index of each frame
    conversations: list[str]  # (C,)
    truth: dict[str, np.ndarray]  # dimension -> (N,)
    preds: list[dict[str, np.ndarray]]  # per table: dimension -> (N,)


def _frame_numbers(table: pd.DataFrame) -> np.ndarray:
    """Frame numbers as integers, so that 3 and 3.0 (CSV round trips) compare equal."""
    frame = pd.to_numeric(table["frame"], errors="coerce").to_numpy(dtype=np.float64)
    if not (np.isfinite(frame).all() and np.all(np.mod(frame, 1.0) == 0)):
        raise EmoInputError("column 'frame' must hold whole frame numbers", path=_where(table))
    return frame.astype(np.int64)


def _codes_across(tables: list[pd.DataFrame], column: str) -> tuple[list[np.ndarray], np.ndarray]:
    """Integer codes of a column over several tables (one shared, sorted vocabulary)."""
    values = pd.concat([t[column].astype(str) for t in tables], ignore_index=True)
    codes, names = pd.factorize(values, sort=True)
    bounds = np.cumsum([0] + [len(t) for t in tables])
    return [codes[bounds[i] : bounds[i + 1]] for i in range(len(tables))], np.asarray(names)


def _align(tables: list[pd.DataFrame], what: str) -> _Aligned:
    """Check that tables cover the same frames with the same truth; return sorted arrays.

    One table is used in its row order. Several tables are each sorted by
    (conversation, segment, frame) and must then hold the same keys and the
    same ground truth (within 1e-6).
    """
    keyed = len(tables) > 1
    for table in tables:
        _check_predictions(table, keys=keyed)
    conversation_codes, conversation_names = _codes_across(tables, "conversation")
    rows: list[np.ndarray | slice] = [slice(None)] * len(tables)
    if keyed:
        segment_codes, _ = _codes_across(tables, "segment")
        sorted_keys = []
        for index, table in enumerate(tables):
            keys = np.stack(
                [conversation_codes[index], segment_codes[index], _frame_numbers(table)], axis=1
            )
            order = np.lexsort((keys[:, 2], keys[:, 1], keys[:, 0]))
            keys = keys[order]
            if len(keys) > 1 and np.any(np.all(keys[1:] == keys[:-1], axis=1)):
                raise EmoInputError(
                    f"{what}: a (conversation, segment, frame) appears twice",
                    path=_where(table),
                )
            if index > 0 and not np.array_equal(keys, sorted_keys[0]):
                raise EmoInputError(
                    f"{what}: predictions tables do not cover the same test frames "
                    f"({len(tables[0])} vs {len(table)} rows, or other conversation/segment/"
                    "frame keys); compare models on one test set",
                    path=_where(table),
                )
            sorted_keys.append(keys)
            rows[index] = order
    used, codes = np.unique(np.asarray(conversation_codes[0])[rows[0]], return_inverse=True)
    names = [str(name) for name in conversation_names[used]]

    def column(index: int, name: str) -> np.ndarray:
        return tables[index][name].to_numpy(dtype=np.float64)[rows[index]]

    truth = {d: column(0, f"{d}_true") for d in DIMENSIONS}
    preds = []
    for index, table in enumerate(tables):
        if index > 0:
            for d in DIMENSIONS:
                if not np.allclose(column(index, f"{d}_true"), truth[d], rtol=0.0, atol=1e-6):
                    raise EmoInputError(
                        f"{what}: the {d} ground truth differs between predictions tables of "
                        "the same frames (different label processing?)",
                        path=_where(table),
                    )
        preds.append({d: column(index, f"{d}_pred") for d in DIMENSIONS})
    return _Aligned(codes=codes.ravel(), conversations=names, truth=truth, preds=preds)


def read_predictions(path: str | Path) -> pd.DataFrame:
    """Read a ``predictions.csv`` written by evaluation and check it.

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PREDICTION_COLUMNS` (``conversation`` and ``segment``
        as strings); ``df.attrs["path"]`` holds the file, so later errors name it.

    Raises
    ------
    EmoInputError
        The file is missing or unreadable, lacks a column, or has a missing
        or non-finite value.
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype={"conversation": str, "segment": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise EmoInputError(f"cannot read the predictions table: {error}", path=path) from error
    df.attrs["path"] = str(path)
    return _check_predictions(df, keys=True)


# ---------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------


def _check_choice(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise EmoInputError(f"{what} must be one of {tuple(allowed)}, got {value!r}")
    return value


def _per_conversation(
    codes: np.ndarray, n_conversations: int, x: np.ndarray, y: np.ndarray, metric: str
) -> np.ndarray:
    """Score of each conversation with the metric function, (C,) with NaN where undefined."""
    function = METRICS[metric]
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_conversations + 1))
    out = np.empty(n_conversations)
    for c in range(n_conversations):
        rows = order[bounds[c] : bounds[c + 1]]
        out[c] = function(x[rows], y[rows])
    return out


def _moments(codes: np.ndarray, n_conversations: int, x: np.ndarray, y: np.ndarray,
             shift: float) -> np.ndarray:
    """Per-conversation sums (C, 6): count, sum x, sum x^2, sum y, sum y^2, sum xy."""
    xs, ys = x - shift, y - shift
    columns = [np.ones_like(xs), xs, xs * xs, ys, ys * ys, xs * ys]
    return np.stack(
        [np.bincount(codes, weights=col, minlength=n_conversations) for col in columns], axis=-1
    )


def _score_from_moments(sums: np.ndarray, metric: str) -> np.ndarray:
    """Metric from summed moments, vectorised over leading axes: (..., 6) -> (...)."""
    n, sx, sxx, sy, syy, sxy = np.moveaxis(np.asarray(sums, dtype=np.float64), -1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        safe_n = np.where(n > 0, n, 1.0)
        mean_x, mean_y = sx / safe_n, sy / safe_n
        var_x = np.maximum(sxx / safe_n - mean_x**2, 0.0)
        var_y = np.maximum(syy / safe_n - mean_y**2, 0.0)
        covariance = sxy / safe_n - mean_x * mean_y
        scale_x = sxx / safe_n + _ZERO
        scale_y = syy / safe_n + _ZERO
        if metric == "pearson":
            defined = (var_x > _ZERO * scale_x) & (var_y > _ZERO * scale_y)
            value = covariance / np.sqrt(var_x * var_y)
        else:
            if metric == "ccc_avec":
                correction = np.where(n > 1, n / np.maximum(n - 1, 1.0), np.nan)
                var_x, var_y = var_x * correction, var_y * correction
            denominator = var_x + var_y + (mean_x - mean_y) ** 2
            defined = denominator > _ZERO * (scale_x + scale_y)
            value = 2.0 * covariance / denominator
        return np.where(defined & (n >= 2), value, np.nan)


def conversation_scores(
    predictions: pd.DataFrame, *, metric: str = "ccc"
) -> pd.DataFrame:
    """Score of every test conversation.

    Parameters
    ----------
    predictions : pandas.DataFrame
        A predictions table (:data:`PREDICTION_COLUMNS`).
    metric : {"ccc", "ccc_avec", "pearson"}

    Returns
    -------
    pandas.DataFrame
        One row per conversation (sorted): ``conversation``, ``n_frames``,
        ``arousal``, ``valence`` (NaN where the score is undefined).
    """
    _check_choice(metric, tuple(METRICS), "metric")
    data = _align([predictions], "conversation_scores")
    n_conversations = len(data.conversations)
    table = {
        "conversation": data.conversations,
        "n_frames": np.bincount(data.codes, minlength=n_conversations),
    }
    for d in DIMENSIONS:
        table[d] = _per_conversation(
            data.codes, n_conversations, data.truth[d], data.preds[0][d], metric
        )
    return pd.DataFrame(table)


def _mean_defined(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def _score(data: _Aligned, index: int, dimension: str, metric: str, protocol: str) -> float:
    x, y = data.truth[dimension], data.preds[index][dimension]
    if protocol == "concatenated":
        return float(METRICS[metric](x, y))
    per = _per_conversation(data.codes, len(data.conversations), x, y, metric)
    return _mean_defined(per)


def scores(
    predictions: pd.DataFrame, *, protocol: str = "concatenated", metric: str = "ccc"
) -> dict[str, float]:
    """Test-set score of arousal and valence.

    Parameters
    ----------
    predictions : pandas.DataFrame
        A predictions table (:data:`PREDICTION_COLUMNS`), one row per valid frame.
    protocol : {"concatenated", "per_conversation"}
        One score over all frames, or the mean of per-conversation scores
        (undefined conversations left out).
    metric : {"ccc", "ccc_avec", "pearson"}
        CCC with 1/N statistics, CCC with the AVEC estimator, or Pearson's r.

    Returns
    -------
    dict
        ``{"arousal": float, "valence": float}`` (NaN where undefined).

    Raises
    ------
    EmoInputError
        Unknown protocol or metric, missing columns, empty table, non-finite values.

    Examples
    --------
    >>> df = pd.DataFrame({"conversation": ["c1"] * 3, "arousal_true": [0, 1, 2],
    ...                    "arousal_pred": [0, 1, 1], "valence_true": [0, 1, 2],
    ...                    "valence_pred": [0, 1, 2]})
    >>> {k: round(v, 6) for k, v in scores(df).items()}
    {'arousal': 0.666667, 'valence': 1.0}
    """
    _check_choice(protocol, PROTOCOLS, "protocol")
    _check_choice(metric, tuple(METRICS), "metric")
    data = _align([predictions], "scores")
    return {d: _score(data, 0, d, metric, protocol) for d in DIMENSIONS}


# ---------------------------------------------------------------------------
# Scores of reweighted and permuted conversations
# ---------------------------------------------------------------------------


def _sequential_sum(values: np.ndarray, axis: int) -> np.ndarray:
    """Sum along ``axis`` strictly left to right.

    Elementwise additions in a fixed order give bit-identical results for the
    same operands whatever the shape of the batch they sit in, so a
    permutation statistic evaluated on the observed assignment (alone) and on
    the identity pattern (inside a batch of patterns) gives exactly the same
    number, and ties in the permutation distribution stay ties.
    """
    values = np.moveaxis(np.asarray(values), axis, 0)
    total = np.array(values[0], dtype=np.float64, copy=True)
    for part in values[1:]:
        total += part
    return total


def _weighted_score_function(
    data: _Aligned, dimension: str, metric: str, protocol: str
) -> Callable[[np.ndarray], np.ndarray]:
    """Score as a function of conversation weights: (R, C) -> (R,), mean over tables.

    A weight is how many times a conversation counts (a bootstrap count).
    ``"concatenated"`` sums weighted per-conversation moments;
    ``"per_conversation"`` takes the weighted mean of the defined
    per-conversation scores.
    """
    n_conversations = len(data.conversations)
    x = data.truth[dimension]
    shift = float(x.mean())
    parts = []
    for index in range(len(data.preds)):
        y = data.preds[index][dimension]
        if protocol == "concatenated":
            parts.append(_moments(data.codes, n_conversations, x, y, shift))
        else:
            parts.append(_per_conversation(data.codes, n_conversations, x, y, metric))

    def score(weights: np.ndarray) -> np.ndarray:
        # sums in a fixed order (not a matrix product, whose order may depend on the batch):
        # one multiset of conversations, one value, so that a replicate drawing every
        # conversation once equals the estimate exactly
        weights = np.asarray(weights, dtype=np.float64)
        total = np.zeros(weights.shape[0])
        for part in parts:
            if protocol == "concatenated":
                sums = _sequential_sum(weights.T[:, :, None] * part[:, None, :], 0)
                total += _score_from_moments(sums, metric)
            else:
                defined = np.isfinite(part)
                if not defined.any():
                    total += np.nan
                    continue
                counted = weights[:, defined]
                weighted = _sequential_sum(counted.T * part[defined][:, None], 0)
                with np.errstate(invalid="ignore", divide="ignore"):
                    total += weighted / _sequential_sum(counted.T, 0)
        return total / len(parts)

    return score


# ---------------------------------------------------------------------------
# Bootstrap interval
# ---------------------------------------------------------------------------

BOOTSTRAP_METHODS = ("bca", "percentile")
"""Bootstrap intervals :func:`bootstrap_ci` computes (see its docstring)."""


def _counts_from_indices(indices: np.ndarray, n_units: int) -> np.ndarray:
    """How often each unit is drawn: indices (..., k) -> counts (prod(...), n_units)."""
    flat = np.asarray(indices).astype(np.intp).reshape(-1, np.shape(indices)[-1])
    rows = flat.shape[0]
    offsets = (flat + n_units * np.arange(rows)[:, None]).ravel()
    return np.bincount(offsets, minlength=rows * n_units).reshape(rows, n_units).astype(np.float64)


def bootstrap_ci(
    predictions: pd.DataFrame | Sequence[pd.DataFrame],
    *,
    dimension: str,
    metric: str = "ccc",
    protocol: str = "concatenated",
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    method: str = "bca",
) -> tuple[float, float]:
    r"""Bootstrap interval of a test-set score, resampling whole test conversations.

    The engine is :func:`scipy.stats.bootstrap` with the conversation index
    as the unit: each replicate draws as many conversations as the test set
    has, with replacement (``numpy.random.default_rng(seed).integers(0, C,
    size=(n_boot, C))``), and recomputes the score on the drawn conversations
    (a conversation drawn twice counts twice; concatenated scores come from
    summed per-conversation moments).

    ``method="bca"`` (the default) gives the bias-corrected and accelerated
    interval (Efron 1987; Efron & Tibshirani 1993, ch. 14): the quantiles at

    .. math::

        \alpha_{1,2} = \Phi\Big(z_0 + \frac{z_0 + z_{\alpha}}{1 - a (z_0 + z_{\alpha})}\Big),
        \quad z_{\alpha} = \Phi^{-1}\big((1 \mp \mathrm{level}) / 2\big),

    with the bias correction :math:`z_0 = \Phi^{-1}` of the share of replicates
    below the estimate (ties counted half) and the acceleration :math:`a` from
    the leave-one-conversation-out jackknife. With 5-10 test conversations
    the bootstrap distribution of a concatenated CCC is skewed and sits below
    the estimate, and the percentile interval undercovers; BCa corrects both.
    ``method="percentile"`` gives the plain ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles of the replicates.

    Replicates whose score is undefined (NaN) are left out. When BCa cannot be
    computed (all replicates equal, or an undefined leave-one-out score) the
    percentile interval of the defined replicates is returned, with a warning.

    Parameters
    ----------
    predictions : pandas.DataFrame or sequence of them
        One predictions table, or one per seed of the same model on the same
        frames: the score is then the mean over seeds, and each replicate
        resamples the same conversations for every seed.
    dimension : {"arousal", "valence"}
    metric : {"ccc", "ccc_avec", "pearson"}
    protocol : {"concatenated", "per_conversation"}
    n_boot : int
        Number of bootstrap replicates.
    level : float
        Coverage, in (0, 1).
    seed : int
        Seed of the generator: one seed, one interval.
    method : {"bca", "percentile"}
        Which interval (see above).

    Returns
    -------
    (float, float)
        Lower and upper bounds (NaN when no replicate is defined).

    Raises
    ------
    EmoInputError
        Fewer than 2 test conversations, a bad argument, or tables that do
        not cover the same frames.
    """
    _check_choice(dimension, DIMENSIONS, "dimension")
    _check_choice(metric, tuple(METRICS), "metric")
    _check_choice(protocol, PROTOCOLS, "protocol")
    _check_choice(method, BOOTSTRAP_METHODS, "method")
    if not (0.0 < float(level) < 1.0):
        raise EmoInputError(f"level must be in (0, 1), got {level!r}")
    if int(n_boot) < 1:
        raise EmoInputError(f"n_boot must be at least 1, got {n_boot!r}")
    data = _align(_as_list(predictions, "bootstrap_ci"), "bootstrap_ci")
    n_conversations = len(data.conversations)
    if n_conversations < 2:
        raise EmoInputError(
            f"a bootstrap over conversations needs at least 2 test conversations, "
            f"got {n_conversations}"
        )
    score = _weighted_score_function(data, dimension, metric, protocol)

    def statistic(indices: np.ndarray, axis: int = -1) -> np.ndarray:
        indices = np.moveaxis(np.asarray(indices), axis, -1)
        counts = _counts_from_indices(indices, n_conversations)
        return score(counts).reshape(indices.shape[:-1])

    units = (np.arange(n_conversations),)
    engine = "BCa" if method == "bca" else "percentile"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.stats.DegenerateDataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # NaN replicates, handled below
        result = scipy.stats.bootstrap(
            units, statistic, n_resamples=int(n_boot), confidence_level=float(level),
            method=engine, vectorized=True, rng=np.random.default_rng(seed),
        )
        low, high = result.confidence_interval
        replicates = np.asarray(result.bootstrap_distribution)
        defined = replicates[np.isfinite(replicates)]
        if defined.size == 0:
            return (math.nan, math.nan)
        if method == "bca" and not (np.isfinite(low) and np.isfinite(high)):
            if defined.size < replicates.size:  # BCa of the defined replicates
                again = scipy.stats.bootstrap(
                    units, statistic, n_resamples=0, confidence_level=float(level),
                    method="BCa", vectorized=True,
                    bootstrap_result=SimpleNamespace(bootstrap_distribution=defined),
                )
                low, high = again.confidence_interval
    if np.isfinite(low) and np.isfinite(high):
        return (float(low), float(high))
    if method == "bca":
        warnings.warn(
            "bootstrap_ci: the BCa interval is undefined here (replicates all equal or an "
            "undefined leave-one-conversation-out score); returning the percentile interval",
            RuntimeWarning,
            stacklevel=2,
        )
    low, high = np.quantile(defined, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return (float(low), float(high))


# ---------------------------------------------------------------------------
# Paired tests
# ---------------------------------------------------------------------------

ALTERNATIVES = ("greater", "less", "two-sided")
"""Alternatives of the tests: a beats b, a is beaten by b, they differ."""

VERDICTS = ("supported", "not supported", "untestable at this size", "not tested")
"""Verdicts of :func:`test_claims` (see its docstring)."""


@dataclass(frozen=True)
class PairedTestResult:
    """Outcome of a one-sided (by default) paired test of model a against model b.

    Attributes
    ----------
    diff : float
        The tested statistic: score of a minus score of b (means over seeds).
    p_value : float
        Probability under the null hypothesis of a statistic at least as
        extreme as ``diff`` in the direction of ``alternative``.
    n_conversations : int or None
        Test conversations entering the test: all of them for
        ``"concatenated"``, those whose score difference is defined for at
        least one seed pair for ``"per_conversation"`` (None for a test over
        seeds).
    method : str
        The test in words.
    score_a, score_b : float
        The two scores (means over seeds).
    n_permutations : int
        Swap (or sign, or split) patterns evaluated.
    exact : bool
        Whether every pattern was enumerated.
    n_seeds : (int, int)
        Seeds of a and of b.
    min_p : float
        The smallest p-value the design can give, whatever the data: with
        ``K`` distinct patterns (:math:`2^C` swap patterns over C
        conversations or paired seeds, :math:`\\binom{n_a + n_b}{n_a}` splits
        of unpaired seeds) it is :math:`1/K` one-sided and :math:`2/K`
        two-sided; a Monte Carlo test cannot go below :math:`1/(R + 1)`
        (two-sided :math:`2/(R + 1)`) either, so it gets the larger of the two.
        A test with ``min_p >= alpha`` cannot reject at level ``alpha``.
    """

    diff: float
    p_value: float
    n_conversations: int | None
    method: str
    score_a: float = math.nan
    score_b: float = math.nan
    n_permutations: int = 0
    exact: bool = False
    n_seeds: tuple[int, int] = (1, 1)
    min_p: float = math.nan


def smallest_p(n_patterns: int, *, alternative: str = "greater",
               n_resamples: int | None = None) -> float:
    """Smallest p-value a permutation test with ``n_patterns`` distinct patterns can give.

    Parameters
    ----------
    n_patterns : int
        Distinct, equally likely patterns under the null hypothesis: ``2**C``
        for a paired (swap or sign-flip) test over C units, ``comb(n_a + n_b,
        n_a)`` for a two-group split.
    alternative : {"greater", "less", "two-sided"}
    n_resamples : int, optional
        Random patterns of a Monte Carlo test (None: the test is exact).
        A Monte Carlo p is at least ``1 / (R + 1)`` (``2 / (R + 1)``
        two-sided).

    Returns
    -------
    float
        In (0, 1].

    Examples
    --------
    >>> smallest_p(2**3), smallest_p(2**3, alternative="two-sided"), smallest_p(2**12)
    (0.125, 0.25, 0.000244140625)
    >>> smallest_p(2**20, n_resamples=9999)
    0.0001
    """
    _check_choice(alternative, ALTERNATIVES, "alternative")
    sides = 2 if alternative == "two-sided" else 1
    bound = sides / float(n_patterns)
    if n_resamples is not None and n_resamples < n_patterns:
        bound = max(bound, sides / (float(n_resamples) + 1.0))
    return float(min(1.0, bound))


def _p_from_null(null: np.ndarray, observed: float, alternative: str, exact: bool) -> float:
    """p-value with the rule of :func:`scipy.stats.permutation_test` (tolerance, +1, 2 x min)."""
    adjustment = 0 if exact else 1
    gamma = abs(np.finfo(np.float64).eps * 100 * observed)
    size = null.size + adjustment
    less = (np.count_nonzero(null <= observed + gamma) + adjustment) / size
    greater = (np.count_nonzero(null >= observed - gamma) + adjustment) / size
    value = {"less": less, "greater": greater, "two-sided": 2.0 * min(less, greater)}[alternative]
    return float(min(1.0, max(0.0, value)))


def _on_tie_grid(statistic: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """The statistic rounded to :data:`_TIE_DECIMALS` decimals.

    Values that are equal in exact arithmetic (two splits of seeds with the
    same sum, a sign pattern that reorders equal differences) can differ by
    rounding error, far more than SciPy's tie tolerance (:math:`10^{-14} |T|`)
    when T is small. Rounding to a grid of 1e-10 makes them equal; the
    rounding is odd (``round(-t) == -round(t)``), so a symmetric permutation
    distribution stays symmetric.
    """

    def wrapped(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.round(np.asarray(statistic(*samples, axis=axis), dtype=np.float64),
                        _TIE_DECIMALS)

    return wrapped


def _finite_or_zero(statistic: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """The statistic with undefined values (NaN) counted as no difference (0)."""

    def wrapped(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        value = np.asarray(statistic(*samples, axis=axis), dtype=np.float64)
        return np.where(np.isfinite(value), value, 0.0)

    return wrapped


_BATCH = 50_000  # permutation patterns evaluated at once (bounds memory, fixed for reproducibility)


def _swap_permutation(
    statistic: Callable[..., np.ndarray],
    n_units: int,
    *,
    n_resamples: int,
    seed: int,
    alternative: str,
) -> tuple[float, float, int, bool]:
    """Paired permutation test over units by :func:`scipy.stats.permutation_test`.

    The two samples are the unit indices ``0..n-1`` (a's side) and ``n..2n-1``
    (b's side); ``permutation_type="samples"`` swaps a unit's two entries, so
    ``statistic(x, y, axis)`` receives, per pattern, which side of each unit
    counts as a and which as b. Exact (all :math:`2^n` patterns) when that is
    at most ``n_resamples``, Monte Carlo with ``default_rng(seed)`` otherwise.
    A single unit (which scipy does not take) is enumerated here.

    Returns
    -------
    (observed, p_value, n_patterns, exact)
    """
    side_a = np.arange(n_units)
    side_b = side_a + n_units
    observed = float(statistic(side_a, side_b, axis=-1))
    if not math.isfinite(observed):
        return observed, math.nan, 0, False
    safe = _on_tie_grid(_finite_or_zero(statistic))
    if n_units < 2:
        null = safe(np.array([[0], [1]]), np.array([[1], [0]]), axis=-1)
        return observed, _p_from_null(null, float(null[0]), alternative, True), 2, True
    result = scipy.stats.permutation_test(
        (side_a, side_b), safe, permutation_type="samples", vectorized=True,
        n_resamples=int(n_resamples), batch=_BATCH, alternative=alternative,
        rng=np.random.default_rng(seed),
    )
    n_patterns = int(np.size(result.null_distribution))
    return observed, float(result.pvalue), n_patterns, 2**n_units <= n_resamples


def _split_permutation(
    a: np.ndarray, b: np.ndarray, *, n_resamples: int, seed: int, alternative: str
) -> tuple[float, float, int, bool]:
    """Two-group permutation test of the difference of means (``permutation_type="independent"``).

    A group of a single value (which scipy does not take) is handled by
    enumerating every split here.
    """

    def statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        x = np.sort(np.moveaxis(x, axis, -1), axis=-1)  # one multiset, one sum
        y = np.sort(np.moveaxis(y, axis, -1), axis=-1)
        return _sequential_sum(x, -1) / x.shape[-1] - _sequential_sum(y, -1) / y.shape[-1]

    exact_diff = float(statistic(a, b))
    statistic = _on_tie_grid(statistic)
    if min(a.size, b.size) >= 2:
        result = scipy.stats.permutation_test(
            (a, b), statistic, permutation_type="independent", vectorized=True,
            n_resamples=int(n_resamples), batch=_BATCH, alternative=alternative,
            rng=np.random.default_rng(seed),
        )
        n_patterns = int(np.size(result.null_distribution))
        exact = math.comb(a.size + b.size, a.size) <= n_resamples
        return exact_diff, float(result.pvalue), n_patterns, exact
    pooled = np.concatenate([a, b])
    n_total, n_a = pooled.size, a.size
    chosen = np.zeros((math.comb(n_total, n_a), n_total), dtype=bool)
    for row, members in enumerate(itertools.combinations(range(n_total), n_a)):
        chosen[row, list(members)] = True
    null = np.array([float(statistic(pooled[row], pooled[~row])) for row in chosen])
    observed = float(statistic(a, b))
    return exact_diff, _p_from_null(null, observed, alternative, True), null.size, True


def _direction(alternative: str) -> str:
    return {"greater": "a > b", "less": "a < b", "two-sided": "a != b"}[alternative]


def _sided(alternative: str) -> str:
    return "two-sided" if alternative == "two-sided" else "one-sided"


def _swap_test(
    data: _Aligned,
    index_a: list[int],
    index_b: list[int],
    *,
    dimension: str,
    metric: str,
    protocol: str,
    n_resamples: int,
    seed: int,
    alternative: str,
) -> PairedTestResult:
    n_conversations = len(data.conversations)
    if len(index_a) == len(index_b):
        pairs = list(zip(index_a, index_b))
        pairing = "paired by seed index"
    else:
        pairs = list(itertools.product(index_a, index_b))
        pairing = "all seed pairs"
    x = data.truth[dimension]
    if protocol == "concatenated":
        shift = float(x.mean())
        moments = {
            i: _moments(data.codes, n_conversations, x, data.preds[i][dimension], shift)
            for i in set(index_a) | set(index_b)
        }
        # rows 0..C-1: model a's moments of each conversation, rows C..2C-1: model b's;
        # (2C, pairs, 6)
        table = np.concatenate(
            [
                np.stack([moments[ia] for ia, _ in pairs], axis=1),
                np.stack([moments[ib] for _, ib in pairs], axis=1),
            ],
            axis=0,
        )
        used = n_conversations

        def statistic(side_x, side_y, axis=-1):
            side_x = np.moveaxis(np.asarray(side_x), axis, -1).astype(np.intp)
            side_y = np.moveaxis(np.asarray(side_y), axis, -1).astype(np.intp)
            conversation_axis = side_x.ndim - 1
            sums_a = _sequential_sum(table[side_x], conversation_axis)  # (..., pairs, 6)
            sums_b = _sequential_sum(table[side_y], conversation_axis)
            diff = _score_from_moments(sums_a, metric) - _score_from_moments(sums_b, metric)
            return _sequential_sum(diff, -1) / len(pairs)

    else:
        per = {
            i: _per_conversation(data.codes, n_conversations, x, data.preds[i][dimension], metric)
            for i in set(index_a) | set(index_b)
        }
        defined = np.stack(
            [np.isfinite(per[ia]) & np.isfinite(per[ib]) for ia, ib in pairs], axis=1
        )  # (C, pairs)
        counts = defined.sum(axis=0)  # conversations entering each pair's mean
        used = int(defined.any(axis=1).sum())
        table = np.concatenate(
            [
                np.where(defined, np.stack([per[ia] for ia, _ in pairs], axis=1), 0.0),
                np.where(defined, np.stack([per[ib] for _, ib in pairs], axis=1), 0.0),
            ],
            axis=0,
        )  # (2C, pairs); an undefined conversation adds 0 on both sides

        def statistic(side_x, side_y, axis=-1):
            side_x = np.moveaxis(np.asarray(side_x), axis, -1).astype(np.intp)
            side_y = np.moveaxis(np.asarray(side_y), axis, -1).astype(np.intp)
            signed = np.sort(table[side_x] - table[side_y], axis=-2)  # one multiset, one sum
            with np.errstate(invalid="ignore", divide="ignore"):
                means = _sequential_sum(signed, side_x.ndim - 1) / np.where(counts > 0, counts, np.nan)
            return _sequential_sum(means, -1) / len(pairs)

    observed, p_value, n_patterns, exact = _swap_permutation(
        statistic, n_conversations, n_resamples=n_resamples, seed=seed, alternative=alternative
    )
    min_p = smallest_p(2**used, alternative=alternative,
                       n_resamples=None if exact else n_resamples)
    score_a = float(np.mean([_score(data, i, dimension, metric, protocol) for i in index_a]))
    score_b = float(np.mean([_score(data, i, dimension, metric, protocol) for i in index_b]))
    seeds_text = (
        f"{len(index_a)} vs {len(index_b)} seeds, score difference averaged over "
        f"{len(pairs)} seed pairs ({pairing}); "
        if len(index_a) * len(index_b) > 1
        else ""
    )
    kind = "exact" if exact else f"Monte Carlo, seed {seed}"
    method = (
        f"paired permutation test over {n_conversations} test conversations "
        f"(scipy.stats.permutation_test, permutation_type='samples', {kind}, {n_patterns} "
        f"patterns): a's and b's predictions swapped within conversations; statistic "
        f"{protocol} {METRIC_LABELS[metric]} of a minus b; {seeds_text}"
        f"{_sided(alternative)} ({_direction(alternative)}); smallest attainable p {min_p:.3g}"
    )
    return PairedTestResult(
        diff=float(observed),
        p_value=p_value,
        n_conversations=used,
        method=method,
        score_a=score_a,
        score_b=score_b,
        n_permutations=n_patterns,
        exact=exact,
        n_seeds=(len(index_a), len(index_b)),
        min_p=min_p,
    )


def _check_test_arguments(dimension, metric, protocol, n_resamples, alternative):
    _check_choice(dimension, DIMENSIONS, "dimension")
    _check_choice(metric, tuple(METRICS), "metric")
    _check_choice(protocol, PROTOCOLS, "protocol")
    _check_choice(alternative, ALTERNATIVES, "alternative")
    if int(n_resamples) < 1:
        raise EmoInputError(f"n_resamples must be at least 1, got {n_resamples!r}")


def paired_test(
    pred_a: pd.DataFrame | Sequence[pd.DataFrame],
    pred_b: pd.DataFrame | Sequence[pd.DataFrame],
    *,
    dimension: str,
    metric: str = "ccc",
    protocol: str = "concatenated",
    n_resamples: int = 10000,
    seed: int = 0,
    alternative: str = "greater",
) -> PairedTestResult:
    """Does model a beat model b on the same test conversations? A paired permutation test.

    Under the null hypothesis the two models are exchangeable, so swapping
    their predictions within any subset of conversations is as likely as the
    observed assignment. The statistic is score(a) - score(b) under
    ``protocol``; for ``"per_conversation"`` a swap flips the sign of the
    conversation's score difference (the sign-flip test on per-conversation
    differences). The engine is :func:`scipy.stats.permutation_test` with
    ``permutation_type="samples"`` and the conversation index as the paired
    unit (the statistic recomputes the scores from per-conversation moments
    or scores for each swap pattern). All :math:`2^C` swap patterns are
    enumerated when that is at most ``n_resamples`` (exact p-value, smallest
    :math:`2^{-C}` one-sided, :math:`2^{-(C-1)}` two-sided); otherwise
    ``n_resamples`` random patterns drawn with ``numpy.random.default_rng(seed)``
    give :math:`p = (1 + \\#\\{T^* \\ge T\\}) / (1 + R)`. A two-sided p is
    twice the smaller one-sided p (at most 1). Statistics are compared on a
    grid of :math:`10^{-10}`, so values equal in exact arithmetic count as ties.
    Identical predictions give p = 1.

    Parameters
    ----------
    pred_a, pred_b : pandas.DataFrame or sequence of them
        Predictions tables of the two models (one per seed when a sequence),
        all covering the same (conversation, segment, frame) keys with the
        same ground truth.
    dimension : {"arousal", "valence"}
    metric : {"ccc", "ccc_avec", "pearson"}
    protocol : {"concatenated", "per_conversation"}
    n_resamples : int
        Largest number of swap patterns evaluated.
    seed : int
        Seed of the random patterns: one seed, one p-value.
    alternative : {"greater", "less", "two-sided"}
        ``"greater"``: a beats b (one-sided, the default).

    Returns
    -------
    PairedTestResult
        ``diff`` (a minus b), ``p_value``, ``min_p`` (the smallest attainable
        p), ``n_conversations``, ``method`` and the two scores.

    Raises
    ------
    EmoInputError
        The tables do not cover the same frames or disagree on the truth, a
        key is duplicated, a column is missing, or an argument is unknown.
    """
    _check_test_arguments(dimension, metric, protocol, n_resamples, alternative)
    tables_a = _as_list(pred_a, "paired_test (model a)")
    tables_b = _as_list(pred_b, "paired_test (model b)")
    tables = tables_a + tables_b
    data = _align(tables, "paired_test")  # two or more tables: keys are checked
    index_a = list(range(len(tables_a)))
    index_b = list(range(len(tables_a), len(tables)))
    return _swap_test(
        data,
        index_a,
        index_b,
        dimension=dimension,
        metric=metric,
        protocol=protocol,
        n_resamples=n_resamples,
        seed=seed,
        alternative=alternative,
    )


def paired_seed_test(
    scores_a: Sequence[float],
    scores_b: Sequence[float],
    *,
    paired: bool = True,
    n_resamples: int = 10000,
    seed: int = 0,
    alternative: str = "greater",
) -> PairedTestResult:
    """Test over seeds: is model a's score above model b's across training seeds?

    With ``paired=True`` (seed i of a and seed i of b share the split, the
    data order and the initialisation seed) this is the sign-flip test on the
    per-seed differences (:func:`scipy.stats.permutation_test`,
    ``permutation_type="samples"``, the seed as the paired unit); with
    ``paired=False`` a permutation test of the group labels on the difference
    of means (``permutation_type="independent"``). Exact when the number of
    patterns (:math:`2^n`, or :math:`\\binom{n_a + n_b}{n_a}` splits) is at
    most ``n_resamples``. This test treats the test set as fixed: it measures
    training variability only (see :func:`paired_test` for the variability of
    the test conversations). With n paired seeds the smallest one-sided
    p-value is :math:`2^{-n}`: five seeds are needed to reach p < .05. A
    two-sided p is twice the smaller one-sided p (SciPy's definition; with
    unequal numbers of unpaired seeds the permutation distribution is not
    symmetric, and this differs from counting :math:`|T^*| \\ge |T|`).
    Statistics are compared on a grid of :math:`10^{-10}`, so splits with
    equal means count as ties.

    Parameters
    ----------
    scores_a, scores_b : sequence of float [shape=(n_seeds,)]
        One score per seed (e.g. the concatenated CCC of each run).
    paired : bool
        Pair the seeds by position (lengths must match).
    n_resamples : int
        Largest number of patterns evaluated.
    seed : int
        Seed of random patterns (used only when not exact).
    alternative : {"greater", "less", "two-sided"}

    Returns
    -------
    PairedTestResult
        ``diff`` = mean(a) - mean(b), ``min_p`` the smallest attainable p,
        ``n_conversations`` None.

    Raises
    ------
    EmoInputError
        Empty or non-finite scores, or lengths that differ when ``paired``.

    Examples
    --------
    >>> result = paired_seed_test([.70, .71, .72, .69, .70], [.60, .62, .61, .60, .63])
    >>> result.p_value, result.min_p
    (0.03125, 0.03125)
    """
    _check_choice(alternative, ALTERNATIVES, "alternative")
    a = np.asarray(scores_a, dtype=np.float64).ravel()
    b = np.asarray(scores_b, dtype=np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise EmoInputError("paired_seed_test needs at least one score per model")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise EmoInputError("paired_seed_test: a score is NaN or infinite")
    if int(n_resamples) < 1:
        raise EmoInputError(f"n_resamples must be at least 1, got {n_resamples!r}")
    n_resamples = int(n_resamples)
    if paired:
        if a.size != b.size:
            raise EmoInputError(
                f"paired_seed_test: {a.size} seeds for a but {b.size} for b; pass paired=False"
            )
        table = np.concatenate([a, b])  # rows 0..n-1: a's seeds, n..2n-1: b's

        def statistic(side_x, side_y, axis=-1):
            side_x = np.moveaxis(np.asarray(side_x), axis, -1).astype(np.intp)
            side_y = np.moveaxis(np.asarray(side_y), axis, -1).astype(np.intp)
            signed = np.sort(table[side_x] - table[side_y], axis=-1)  # one multiset, one sum
            return _sequential_sum(signed, -1) / a.size

        _, p_value, n_patterns, exact = _swap_permutation(
            statistic, a.size, n_resamples=n_resamples, seed=seed, alternative=alternative
        )
        min_p = smallest_p(2**a.size, alternative=alternative,
                           n_resamples=None if exact else n_resamples)
        units = f"sign-flip permutation test over {a.size} paired seeds"
        kind = "permutation_type='samples'"
        what = "patterns"
    else:
        _, p_value, n_patterns, exact = _split_permutation(
            a, b, n_resamples=n_resamples, seed=seed, alternative=alternative
        )
        min_p = smallest_p(math.comb(a.size + b.size, a.size), alternative=alternative,
                           n_resamples=None if exact else n_resamples)
        units = f"permutation test of group labels over {a.size} + {b.size} seeds"
        kind = "permutation_type='independent'"
        what = "splits"
    method = (
        f"{units} (scipy.stats.permutation_test, {kind}, "
        f"{'exact' if exact else f'Monte Carlo, seed {seed}'}, {n_patterns} {what}); "
        f"{_sided(alternative)} ({_direction(alternative)}); smallest attainable p {min_p:.3g}"
    )
    return PairedTestResult(
        diff=float(a.mean() - b.mean()),
        p_value=p_value,
        n_conversations=None,
        method=method,
        score_a=float(a.mean()),
        score_b=float(b.mean()),
        n_permutations=n_patterns,
        exact=exact,
        n_seeds=(int(a.size), int(b.size)),
        min_p=min_p,
    )


# ---------------------------------------------------------------------------
# The paper's claims
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One claim of the paper, as the comparisons that must all hold.

    Attributes
    ----------
    key : str
        Short identifier.
    text : str
        The claim in words.
    comparisons : tuple of (str, str, str)
        ``(better model, worse model, dimension)`` triples.
    """

    key: str
    text: str
    comparisons: tuple[tuple[str, str, str], ...]


PAPER_CLAIMS: tuple[Claim, ...] = (
    Claim("w_beats_s_arousal", "W only beats S only on arousal", (("W", "S", "arousal"),)),
    Claim("s_beats_w_valence", "S only beats W only on valence", (("S", "W", "valence"),)),
    Claim(
        "ws_beats_both",
        "W+S beats W only and S only on arousal and valence",
        tuple((("WS", other, d)) for other in ("W", "S") for d in DIMENSIONS),
    ),
    Claim(
        "all_beat_baseline",
        "every model beats the baseline on arousal and valence",
        tuple((model, "baseline", d) for model in ("W", "S", "WS") for d in DIMENSIONS),
    ),
)
"""The four claims of the paper's section 5.2, in its order."""

BEYOND_PAPER_CLAIMS: tuple[Claim, ...] = (
    Claim(
        "wsg_beats_ws",
        "W+S gated beats W+S on arousal and valence",
        tuple(("WSG", "WS", d) for d in DIMENSIONS),
    ),
)
"""Claims beyond the paper, tested like its own (``claims=`` of :func:`test_claims`): the gated
fusion of the paper's closing suggestion against the plain W+S concatenation, per dimension."""


def format_smallest_p(p_value: float) -> str:
    """Format a smallest attainable p-value with three significant digits.

    Unlike :func:`emo_lib.results.format_p`, small values are not cut at
    .001: the point is to show how small the design lets p become.

    Examples
    --------
    >>> format_smallest_p(0.125), format_smallest_p(2**-5), format_smallest_p(2**-12)
    ('.125', '.0312', '.000244')
    >>> format_smallest_p(2**-20), format_smallest_p(1.0)
    ('9.54e-07', '1')
    """
    if p_value is None or not math.isfinite(float(p_value)):
        return "n/a"
    if p_value < 1e-4:
        return f"{p_value:.3g}"
    text = f"{p_value:.3g}"
    return text[1:] if text.startswith("0.") else text


def _verdict(supported: bool, min_p: float, alpha: float) -> str:
    if supported:
        return "supported"
    if math.isfinite(min_p) and min_p >= alpha:
        return "untestable at this size"
    return "not supported"


def _claim_verdict(verdicts: Sequence[str]) -> str:
    """A claim's verdict from its comparisons' verdicts (rule in :func:`test_claims`)."""
    if all(v == "supported" for v in verdicts):
        return "supported"
    if "not supported" in verdicts:
        return "not supported"
    if "untestable at this size" in verdicts:
        return "untestable at this size"
    return "not tested"


def _units_text(result: PairedTestResult) -> str:
    n = result.n_conversations
    return f"with {n} test conversation{'s' if n != 1 else ''}"


def test_claims(
    predictions_by_model: Mapping[str, pd.DataFrame | Sequence[pd.DataFrame]],
    *,
    corpus_label: str,
    alpha: float = 0.05,
    seed: int = 0,
    metric: str = "ccc",
    protocol: str = "concatenated",
    n_resamples: int = 10000,
    claims: Sequence[Claim] = PAPER_CLAIMS,
) -> pd.DataFrame:
    """Test the paper's claims on one test set, one row per comparison.

    Each comparison (a beats b on a dimension) is a one-sided
    :func:`paired_test` with every seed of both models (scores averaged over
    seeds, one swap pattern for all seed pairs). Its verdict is

    ``"supported"``
        a's score is higher and p < ``alpha``;
    ``"untestable at this size"``
        the smallest attainable p of the design (``min_p``: :math:`2^{-C}`
        with C test conversations, exact test) is at least ``alpha``, so no
        data could have made it significant: with 4 test conversations
        (min_p = .0625) nothing can be shown at .05;
    ``"not supported"``
        otherwise (the design could have shown it, the data did not);
    ``"not tested"``
        a model of the comparison has no predictions.

    A claim is supported when all its comparisons are (an intersection-union
    test, which needs no multiplicity correction inside a claim). Otherwise
    its verdict (``claim_verdict``) is "not supported" when any comparison is
    not supported; else "untestable at this size" when any comparison is
    untestable; else "not tested". That is, a claim is called untestable
    only when nothing in it was testable-and-failed: the data never spoke
    against it, the design could not speak for it.

    Parameters
    ----------
    predictions_by_model : mapping
        ``{model: predictions table or list of tables (one per seed)}``, model
        names from :data:`emo_lib.results.MODEL_LABELS` (``"baseline"``,
        ``"W"``, ``"S"``, ``"WS"``, ...), all on the same test frames.
    corpus_label : str
        How the test set is named in sentences, e.g. ``"the synthetic
        stand-in (SEMAINE layout)"`` or ``"SEMAINE"``.
    alpha : float
        Level of each comparison.
    seed : int
        Seed of the permutation patterns (the same for every comparison).
    metric : {"ccc", "ccc_avec", "pearson"}
    protocol : {"concatenated", "per_conversation"}
    n_resamples : int
        Largest number of swap patterns per comparison.
    claims : sequence of Claim
        Defaults to :data:`PAPER_CLAIMS`.

    Returns
    -------
    pandas.DataFrame
        Columns ``claim`` (key), ``claim_text``, ``comparison`` (``"W > S"``),
        ``model_a``, ``model_b``, ``dimension``, ``score_a``, ``score_b``,
        ``mean_diff``, ``p_value``, ``min_p``, ``n_seeds_a``, ``n_seeds_b``,
        ``n_conversations``, ``tested``, ``supported``, ``verdict``,
        ``claim_supported``, ``claim_verdict``, ``metric``, ``protocol``,
        ``method``, ``sentence``, e.g.
        "On the synthetic stand-in (RECOLA layout), W only beats S only on
        arousal (CCC .612 vs .540, p = .125; smallest attainable p = .125 with
        3 test conversations): untestable at this size."

    Raises
    ------
    EmoInputError
        Unknown model names, bad arguments, or predictions of two models that
        do not cover the same frames.

    See Also
    --------
    claims_summary : the same rows as a compact table to read.
    """
    if not (0.0 < float(alpha) < 1.0):
        raise EmoInputError(f"alpha must be in (0, 1), got {alpha!r}")
    _check_choice(metric, tuple(METRICS), "metric")
    _check_choice(protocol, PROTOCOLS, "protocol")
    unknown = [model for model in predictions_by_model if model not in MODEL_LABELS]
    unknown += [
        model
        for claim in claims
        for comparison in claim.comparisons
        for model in comparison[:2]
        if model not in MODEL_LABELS and model not in unknown
    ]
    if unknown:
        raise EmoInputError(
            f"unknown model names {unknown}; expected some of {tuple(MODEL_LABELS)}"
        )
    tables = {model: _as_list(p, f"model {model}") for model, p in predictions_by_model.items()}
    label = METRIC_LABELS[metric]
    rows = []
    for claim in claims:
        claim_rows = []
        for model_a, model_b, dimension in claim.comparisons:
            row = {
                "claim": claim.key,
                "claim_text": claim.text,
                "comparison": f"{model_a} > {model_b}",
                "model_a": model_a,
                "model_b": model_b,
                "dimension": dimension,
                "metric": metric,
                "protocol": protocol,
            }
            phrase = (
                f"On {corpus_label}, {MODEL_LABELS[model_a]} beats {MODEL_LABELS[model_b]} "
                f"on {dimension}"
            )
            missing = [m for m in (model_a, model_b) if m not in tables]
            if missing:
                names = " and ".join(MODEL_LABELS[m] for m in missing)
                row.update(
                    score_a=math.nan, score_b=math.nan, mean_diff=math.nan, p_value=math.nan,
                    min_p=math.nan,
                    n_seeds_a=len(tables.get(model_a, [])), n_seeds_b=len(tables.get(model_b, [])),
                    n_conversations=None, tested=False, supported=False, verdict="not tested",
                    method="", sentence=f"{phrase}: not tested (no predictions of {names}).",
                )
            else:
                result = paired_test(
                    tables[model_a],
                    tables[model_b],
                    dimension=dimension,
                    metric=metric,
                    protocol=protocol,
                    n_resamples=n_resamples,
                    seed=seed,
                    alternative="greater",
                )
                supported = bool(result.diff > 0 and result.p_value < alpha)
                verdict = _verdict(supported, result.min_p, alpha)
                seeds = result.n_seeds
                seeds_text = ""
                if max(seeds) > 1:
                    seeds_text = (
                        f", mean of {seeds[0]} seeds"
                        if seeds[0] == seeds[1]
                        else f", means of {seeds[0]} and {seeds[1]} seeds"
                    )
                row.update(
                    score_a=result.score_a, score_b=result.score_b, mean_diff=result.diff,
                    p_value=result.p_value, min_p=result.min_p, n_seeds_a=seeds[0],
                    n_seeds_b=seeds[1], n_conversations=result.n_conversations, tested=True,
                    supported=supported, verdict=verdict, method=result.method,
                    sentence=(
                        f"{phrase} ({label} {format_score(result.score_a)} vs "
                        f"{format_score(result.score_b)}{seeds_text}, {format_p(result.p_value)}; "
                        f"smallest attainable p = {format_smallest_p(result.min_p)} "
                        f"{_units_text(result)}): {verdict}."
                    ),
                )
            claim_rows.append(row)
        claim_supported = all(r["supported"] for r in claim_rows)
        claim_verdict = _claim_verdict([r["verdict"] for r in claim_rows])
        for row in claim_rows:
            row["claim_supported"] = claim_supported
            row["claim_verdict"] = claim_verdict
        rows.extend(claim_rows)
    columns = [
        "claim", "claim_text", "comparison", "model_a", "model_b", "dimension", "score_a",
        "score_b", "mean_diff", "p_value", "min_p", "n_seeds_a", "n_seeds_b", "n_conversations",
        "tested", "supported", "verdict", "claim_supported", "claim_verdict", "metric",
        "protocol", "method", "sentence",
    ]
    return pd.DataFrame(rows, columns=columns)


test_claims.__test__ = False  # a library function, not a pytest test


def claims_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """The output of :func:`test_claims` as a compact table to read, one row per comparison.

    Parameters
    ----------
    frame : pandas.DataFrame
        As :func:`test_claims` returns it (or :func:`emo_lib.study.claims_table`,
        whose ``corpus`` column is kept).

    Returns
    -------
    pandas.DataFrame
        Columns (``corpus``,) ``claim`` (the claim in words), ``comparison``
        (``"W only > S only"``), ``dimension``, ``scores`` (``"CCC .612 vs
        .540"``, a's first), ``p`` (``".125"``, ``"< .001"``), ``smallest p``
        (the smallest attainable p), ``verdict`` (of the comparison) and
        ``claim verdict``; all text, formatted as in the paper.

    Raises
    ------
    EmoInputError
        ``frame`` lacks a column of :func:`test_claims`'s output.
    """
    needed = ("claim_text", "model_a", "model_b", "dimension", "score_a", "score_b", "p_value",
              "min_p", "verdict", "claim_verdict")
    if not isinstance(frame, pd.DataFrame):
        raise EmoInputError(f"claims_summary takes a DataFrame, got {type(frame).__name__}")
    missing = [column for column in needed if column not in frame.columns]
    if missing:
        raise EmoInputError(
            f"claims_summary: the table lacks columns {missing} (pass the output of test_claims)"
        )
    rows = []
    for _, row in frame.iterrows():
        tested = bool(np.isfinite(row["p_value"]))
        metric_label = METRIC_LABELS.get(row.get("metric", "ccc"), str(row.get("metric")))
        out = {"corpus": row["corpus"]} if "corpus" in frame.columns else {}
        out.update(
            {
                "claim": row["claim_text"],
                "comparison": f"{MODEL_LABELS.get(row['model_a'], row['model_a'])} > "
                f"{MODEL_LABELS.get(row['model_b'], row['model_b'])}",
                "dimension": row["dimension"],
                "scores": (
                    f"{metric_label} {format_score(row['score_a'])} vs {format_score(row['score_b'])}"
                    if tested
                    else "n/a"
                ),
                "p": format_p(row["p_value"]).removeprefix("p = ").removeprefix("p ")
                if tested
                else "n/a",
                "smallest p": format_smallest_p(row["min_p"]),
                "verdict": row["verdict"],
                "claim verdict": row["claim_verdict"],
            }
        )
        rows.append(out)
    return pd.DataFrame(rows)
