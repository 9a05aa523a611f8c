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
test is one-sided by default (``alternative="greater"``: a beats b). With C
test conversations the smallest attainable one-sided p-value is
:math:`2^{-C}`.

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
separately, each at level ``alpha``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

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
    "bootstrap_ci",
    "PairedTestResult",
    "paired_test",
    "paired_seed_test",
    "Claim",
    "PAPER_CLAIMS",
    "test_claims",
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
_TIE = 1e-10  # permutation statistics within this of the observed one count as ties


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
# Bootstrap interval
# ---------------------------------------------------------------------------


def _resampled_statistic(
    data: _Aligned, dimension: str, metric: str, protocol: str, weights: np.ndarray
) -> np.ndarray:
    """Mean over tables of the score with conversation weights (R, C) -> (R,)."""
    n_conversations = len(data.conversations)
    x = data.truth[dimension]
    shift = float(x.mean())
    total = np.zeros(weights.shape[0])
    for index in range(len(data.preds)):
        y = data.preds[index][dimension]
        if protocol == "concatenated":
            sums = weights @ _moments(data.codes, n_conversations, x, y, shift)
            total += _score_from_moments(sums, metric)
        else:
            per = _per_conversation(data.codes, n_conversations, x, y, metric)
            defined = np.isfinite(per)
            counted = weights[:, defined]
            with np.errstate(invalid="ignore", divide="ignore"):
                total += (counted @ per[defined]) / counted.sum(axis=1)
    return total / len(data.preds)


def bootstrap_ci(
    predictions: pd.DataFrame | Sequence[pd.DataFrame],
    *,
    dimension: str,
    metric: str = "ccc",
    protocol: str = "concatenated",
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a test-set score, resampling test conversations.

    Each replicate draws as many conversations as the test set has, with
    replacement (``numpy.random.default_rng(seed).multinomial`` counts), and
    recomputes the score on the drawn conversations (a conversation drawn
    twice counts twice). The interval is the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles of the replicates; replicates whose score is
    undefined are dropped.

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
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(
        n_conversations, np.full(n_conversations, 1.0 / n_conversations), size=int(n_boot)
    ).astype(np.float64)
    replicates = _resampled_statistic(data, dimension, metric, protocol, counts)
    replicates = replicates[np.isfinite(replicates)]
    if replicates.size == 0:
        return (math.nan, math.nan)
    low, high = np.quantile(replicates, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return (float(low), float(high))


# ---------------------------------------------------------------------------
# Paired tests
# ---------------------------------------------------------------------------


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
        Test conversations the test resampled (None for a test over seeds).
    method : str
        The test in words.
    score_a, score_b : float
        The two scores (means over seeds).
    n_permutations : int
        Swap (or sign) patterns evaluated.
    exact : bool
        Whether every pattern was enumerated.
    n_seeds : (int, int)
        Seeds of a and of b.
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


def _patterns(n_units: int, n_resamples: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """0/1 patterns (R, n_units): all 2^n when that is at most n_resamples, else random."""
    if n_units <= 24 and 2**n_units <= n_resamples:
        codes = np.arange(2**n_units, dtype=np.int64)
        return ((codes[:, None] >> np.arange(n_units)) & 1).astype(np.float64), True
    return rng.integers(0, 2, size=(int(n_resamples), n_units)).astype(np.float64), False


def _p_value(null: np.ndarray, observed: float, alternative: str, exact: bool) -> float:
    if not math.isfinite(observed):
        return math.nan
    null = np.where(np.isfinite(null), null, 0.0)
    tie = _TIE * max(1.0, abs(observed))
    if alternative == "greater":
        extreme = null >= observed - tie
    elif alternative == "less":
        extreme = null <= observed + tie
    else:
        extreme = np.abs(null) >= abs(observed) - tie
    hits = int(extreme.sum())
    if exact:
        return hits / null.size
    return (1 + hits) / (1 + null.size)


def _direction(alternative: str) -> str:
    return {"greater": "a > b", "less": "a < b", "two-sided": "a != b"}[alternative]


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
    rng = np.random.default_rng(seed)
    patterns, exact = _patterns(n_conversations, int(n_resamples), rng)
    x = data.truth[dimension]
    null = np.zeros(patterns.shape[0])
    observed = 0.0
    used = n_conversations
    for ia, ib in pairs:
        ya, yb = data.preds[ia][dimension], data.preds[ib][dimension]
        if protocol == "concatenated":
            shift = float(x.mean())
            moments_a = _moments(data.codes, n_conversations, x, ya, shift)
            moments_b = _moments(data.codes, n_conversations, x, yb, shift)
            total_a, total_b = moments_a.sum(axis=0), moments_b.sum(axis=0)
            delta = patterns @ (moments_a - moments_b)  # pattern 1 keeps a, 0 swaps
            null += _score_from_moments(total_b + delta, metric)
            null -= _score_from_moments(total_a - delta, metric)
            observed += float(
                _score_from_moments(total_a, metric) - _score_from_moments(total_b, metric)
            )
        else:
            per_a = _per_conversation(data.codes, n_conversations, x, ya, metric)
            per_b = _per_conversation(data.codes, n_conversations, x, yb, metric)
            defined = np.isfinite(per_a) & np.isfinite(per_b)
            used = min(used, int(defined.sum()))
            if not defined.any():
                observed = math.nan
                continue
            diffs = per_a[defined] - per_b[defined]
            signs = 2.0 * patterns[:, defined] - 1.0
            null += signs @ diffs / diffs.size
            observed += float(diffs.mean())
    null /= len(pairs)
    observed /= len(pairs)
    score_a = float(np.mean([_score(data, i, dimension, metric, protocol) for i in index_a]))
    score_b = float(np.mean([_score(data, i, dimension, metric, protocol) for i in index_b]))
    seeds_text = (
        f"{len(index_a)} vs {len(index_b)} seeds, score difference averaged over "
        f"{len(pairs)} seed pairs ({pairing}); "
        if len(index_a) * len(index_b) > 1
        else ""
    )
    kind = "exact" if exact else "Monte Carlo"
    method = (
        f"paired permutation test over {n_conversations} test conversations ({kind}, "
        f"{patterns.shape[0]} patterns): a's and b's predictions swapped within conversations; "
        f"statistic {protocol} {METRIC_LABELS[metric]} of a minus b; {seeds_text}"
        f"{'one-sided' if alternative != 'two-sided' else 'two-sided'} ({_direction(alternative)})"
    )
    return PairedTestResult(
        diff=float(observed),
        p_value=_p_value(null, observed, alternative, exact),
        n_conversations=used,
        method=method,
        score_a=score_a,
        score_b=score_b,
        n_permutations=int(patterns.shape[0]),
        exact=exact,
        n_seeds=(len(index_a), len(index_b)),
    )


def _check_test_arguments(dimension, metric, protocol, n_resamples, alternative):
    _check_choice(dimension, DIMENSIONS, "dimension")
    _check_choice(metric, tuple(METRICS), "metric")
    _check_choice(protocol, PROTOCOLS, "protocol")
    _check_choice(alternative, ("greater", "less", "two-sided"), "alternative")
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
    differences). All :math:`2^C` swap patterns are enumerated when that is at
    most ``n_resamples`` (exact p-value, smallest :math:`2^{-C}`); otherwise
    ``n_resamples`` random patterns give :math:`p = (1 + \\#\\{T^* \\ge T\\}) / (1 + R)`.
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
        ``diff`` (a minus b), ``p_value``, ``n_conversations``, ``method`` and
        the two scores.

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
    per-seed differences; with ``paired=False`` a permutation test of the
    group labels on the difference of means. Exact when the number of patterns
    is at most ``n_resamples``. This test treats the test set as fixed: it
    measures training variability only (see :func:`paired_test` for the
    variability of the test conversations). With n paired seeds the smallest
    one-sided p-value is :math:`2^{-n}`: five seeds are needed to reach p < .05.

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
        ``diff`` = mean(a) - mean(b), ``n_conversations`` None.

    Raises
    ------
    EmoInputError
        Empty or non-finite scores, or lengths that differ when ``paired``.
    """
    _check_choice(alternative, ("greater", "less", "two-sided"), "alternative")
    a = np.asarray(scores_a, dtype=np.float64).ravel()
    b = np.asarray(scores_b, dtype=np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise EmoInputError("paired_seed_test needs at least one score per model")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise EmoInputError("paired_seed_test: a score is NaN or infinite")
    if int(n_resamples) < 1:
        raise EmoInputError(f"n_resamples must be at least 1, got {n_resamples!r}")
    rng = np.random.default_rng(seed)
    observed = float(a.mean() - b.mean())
    sided = "one-sided" if alternative != "two-sided" else "two-sided"
    if paired:
        if a.size != b.size:
            raise EmoInputError(
                f"paired_seed_test: {a.size} seeds for a but {b.size} for b; pass paired=False"
            )
        diffs = a - b
        patterns, exact = _patterns(diffs.size, int(n_resamples), rng)
        null = (2.0 * patterns - 1.0) @ diffs / diffs.size
        method = (
            f"sign-flip permutation test over {diffs.size} paired seeds "
            f"({'exact' if exact else 'Monte Carlo'}, {patterns.shape[0]} patterns); "
            f"{sided} ({_direction(alternative)})"
        )
    else:
        pooled = np.concatenate([a, b])
        n_total, n_a = pooled.size, a.size
        n_splits = math.comb(n_total, n_a)
        if n_splits <= n_resamples:
            exact = True
            splits = np.zeros((n_splits, n_total), dtype=bool)
            for row, chosen in enumerate(itertools.combinations(range(n_total), n_a)):
                splits[row, list(chosen)] = True
        else:
            exact = False
            splits = np.zeros((int(n_resamples), n_total), dtype=bool)
            for row in range(int(n_resamples)):
                splits[row, rng.permutation(n_total)[:n_a]] = True
        null = (splits @ pooled) / n_a - ((~splits) @ pooled) / (n_total - n_a)
        patterns = splits
        method = (
            f"permutation test of group labels over {a.size} + {b.size} seeds "
            f"({'exact' if exact else 'Monte Carlo'}, {splits.shape[0]} splits); "
            f"{sided} ({_direction(alternative)})"
        )
    return PairedTestResult(
        diff=observed,
        p_value=_p_value(null, observed, alternative, exact),
        n_conversations=None,
        method=method,
        score_a=float(a.mean()),
        score_b=float(b.mean()),
        n_permutations=int(patterns.shape[0]),
        exact=exact,
        n_seeds=(int(a.size), int(b.size)),
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
    seeds, one swap pattern for all seed pairs). A comparison is supported
    when a's score is higher and p < ``alpha``; a claim is supported when all
    its comparisons are. A comparison whose model has no predictions is
    reported as not tested (and its claim as not supported).

    Parameters
    ----------
    predictions_by_model : mapping
        ``{"baseline" | "W" | "S" | "WS": predictions table or list of tables
        (one per seed)}``, all on the same test frames.
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
        ``mean_diff``, ``p_value``, ``n_seeds_a``, ``n_seeds_b``,
        ``n_conversations``, ``tested``, ``supported``, ``claim_supported``,
        ``method``, ``sentence``, e.g. "On the synthetic stand-in (SEMAINE
        layout), W only beats S only on arousal (CCC .612 vs .540, p = .003):
        supported."

    Raises
    ------
    EmoInputError
        Unknown model names, bad arguments, or predictions of two models that
        do not cover the same frames.
    """
    if not (0.0 < float(alpha) < 1.0):
        raise EmoInputError(f"alpha must be in (0, 1), got {alpha!r}")
    _check_choice(metric, tuple(METRICS), "metric")
    _check_choice(protocol, PROTOCOLS, "protocol")
    unknown = [model for model in predictions_by_model if model not in MODEL_LABELS]
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
                    n_seeds_a=len(tables.get(model_a, [])), n_seeds_b=len(tables.get(model_b, [])),
                    n_conversations=None, tested=False, supported=False, method="",
                    sentence=f"{phrase}: not tested (no predictions of {names}).",
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
                seeds = result.n_seeds
                seeds_text = ""
                if max(seeds) > 1:
                    seeds_text = (
                        f", mean of {seeds[0]} seeds"
                        if seeds[0] == seeds[1]
                        else f", means of {seeds[0]} and {seeds[1]} seeds"
                    )
                verdict = "supported" if supported else "not supported"
                row.update(
                    score_a=result.score_a, score_b=result.score_b, mean_diff=result.diff,
                    p_value=result.p_value, n_seeds_a=seeds[0], n_seeds_b=seeds[1],
                    n_conversations=result.n_conversations, tested=True, supported=supported,
                    method=result.method,
                    sentence=(
                        f"{phrase} ({label} {format_score(result.score_a)} vs "
                        f"{format_score(result.score_b)}{seeds_text}, {format_p(result.p_value)}): "
                        f"{verdict}."
                    ),
                )
            claim_rows.append(row)
        claim_supported = all(r["supported"] for r in claim_rows)
        for row in claim_rows:
            row["claim_supported"] = claim_supported
        rows.extend(claim_rows)
    columns = [
        "claim", "claim_text", "comparison", "model_a", "model_b", "dimension", "score_a",
        "score_b", "mean_diff", "p_value", "n_seeds_a", "n_seeds_b", "n_conversations", "tested",
        "supported", "claim_supported", "method", "sentence",
    ]
    return pd.DataFrame(rows, columns=columns)


test_claims.__test__ = False  # a library function, not a pytest test
