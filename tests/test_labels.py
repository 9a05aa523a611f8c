"""Tests of emo_lib.labels: rater fusion, truncation of unequal traces, label alignment."""

import warnings

import numpy as np
import pytest

from emo_lib.errors import EmoInputError
from emo_lib.labels import (
    LABEL_CONVENTIONS,
    LabelLengthWarning,
    align_labels,
    fuse_raters,
    truncate_traces,
)

# ---------------------------------------------------------------------------
# Rater fusion
# ---------------------------------------------------------------------------


def _lin_ccc(x, y):
    """Lin's CCC with 1/N statistics, written out."""
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y)) / n
    sxx = sum((a - mx) ** 2 for a in x) / n
    syy = sum((b - my) ** 2 for b in y) / n
    return 2 * sxy / (sxx + syy + (mx - my) ** 2)


def _ccc_centred(ratings):
    """AVEC 2016/2018 gold standard, following the description in corpora.md step by step."""
    raters = [list(map(float, row)) for row in ratings]
    n_raters, n_steps = len(raters), len(raters[0])
    agreement = []
    for r in range(n_raters):
        others = [_lin_ccc(raters[r], raters[o]) for o in range(n_raters) if o != r]
        agreement.append(sum(others) / len(others))
    means = [sum(row) / n_steps for row in raters]
    w = sum(m * c for m, c in zip(means, agreement)) / sum(agreement)
    overall = sum(sum(row) for row in raters) / (n_raters * n_steps)
    return [sum(row[t] for row in raters) / n_raters - overall + w for t in range(n_steps)]


def _random_raters(seed, n_raters=6, n_steps=120):
    rng = np.random.default_rng(seed)
    truth = np.cumsum(rng.normal(scale=0.05, size=n_steps))
    bias = rng.normal(scale=0.2, size=(n_raters, 1))
    gain = rng.uniform(0.3, 1.5, size=(n_raters, 1))
    return np.clip(gain * truth + bias + rng.normal(scale=0.1, size=(n_raters, n_steps)), -1, 1)


def test_mean_fusion():
    ratings = _random_raters(0)
    out = fuse_raters(ratings)
    assert out.dtype == np.float32 and out.shape == (120,)
    np.testing.assert_allclose(out, ratings.mean(axis=0), atol=1e-6)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ccc_centred_matches_an_independent_implementation(seed):
    ratings = _random_raters(seed)
    out = fuse_raters(ratings, method="ccc_centred")
    expected = np.array(_ccc_centred(ratings))
    np.testing.assert_allclose(out, expected, atol=1e-6)
    # the shape of the plain mean is kept; only its level moves
    shift = out - ratings.mean(axis=0)
    assert np.ptp(shift) < 1e-6
    assert abs(shift[0]) > 1e-4


def test_ccc_centred_equals_mean_for_identical_raters():
    trace = _random_raters(4, n_raters=1)[0]
    ratings = np.stack([trace] * 5)
    np.testing.assert_allclose(fuse_raters(ratings, "ccc_centred"), trace, atol=1e-6)
    np.testing.assert_allclose(fuse_raters(ratings, "ccc_centred"), fuse_raters(ratings), atol=1e-6)


def test_ccc_centred_falls_back_to_mean_when_raters_disagree():
    trace = np.sin(np.linspace(0, 6, 50)) + 0.5
    ratings = np.stack([trace, -trace])  # CCC = -1 between them: weights sum to -2
    with pytest.warns(RuntimeWarning, match="plain mean"):
        out = fuse_raters(ratings, "ccc_centred")
    np.testing.assert_allclose(out, ratings.mean(axis=0), atol=1e-6)


def test_fusion_errors():
    ratings = _random_raters(5)
    with pytest.raises(EmoInputError, match="unknown rater fusion method"):
        fuse_raters(ratings, method="median")
    with pytest.raises(EmoInputError, match="at least 2 raters"):
        fuse_raters(ratings[:1], method="ccc_centred")
    with pytest.raises(EmoInputError, match="shape"):
        fuse_raters(ratings[0])
    bad = ratings.copy()
    bad[2, 3] = np.nan
    with pytest.raises(EmoInputError, match="NaN"):
        fuse_raters(bad)


# ---------------------------------------------------------------------------
# Unequal traces
# ---------------------------------------------------------------------------


def test_truncate_traces_warns_and_cuts_to_the_shortest():
    traces = [np.arange(10.0), np.arange(8.0) + 100, np.arange(9.0)]
    with pytest.warns(LabelLengthWarning, match=r"session 7 arousal: .*10, 8, 9.*8 rows"):
        out = truncate_traces(traces, "session 7 arousal")
    assert out.shape == (3, 8)
    np.testing.assert_array_equal(out[1], np.arange(8.0) + 100)
    np.testing.assert_array_equal(out[0], np.arange(8.0))


def test_truncate_traces_is_silent_for_equal_lengths():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = truncate_traces([np.zeros(5, np.float32), np.ones(5, np.float32)], "s1")
    assert out.shape == (2, 5) and out.dtype == np.float32


def test_truncate_traces_errors():
    with pytest.raises(EmoInputError, match="s2: no traces"):
        truncate_traces([], "s2")
    with pytest.raises(EmoInputError, match="s3: trace 1 is empty"):
        truncate_traces([np.zeros(3), np.zeros(0)], "s3")
    with pytest.raises(EmoInputError, match="one-dimensional"):
        truncate_traces([np.zeros((3, 2))], "s4")


# ---------------------------------------------------------------------------
# Alignment
# ---------------------------------------------------------------------------

# SEMAINE grid: rows every 20 ms from 0.02 s; RECOLA grid: rows every 40 ms from 0.00 s
SEMAINE_TIMES = np.array([0.02, 0.04, 0.06, 0.08, 0.10])
SEMAINE_VALUES = np.array([[10.0, -1.0], [20.0, -2.0], [30.0, -3.0], [40.0, -4.0], [50.0, -5.0]])
RECOLA_TIMES = np.array([0.00, 0.04, 0.08, 0.12, 0.16, 0.20])
RECOLA_VALUES = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])


def test_conventions_listed():
    assert LABEL_CONVENTIONS == ("end", "start", "interpolate")


def test_semaine_grid_end():
    aligned, valid = align_labels(SEMAINE_TIMES, SEMAINE_VALUES, 0.02, 6)  # "end" by default
    assert aligned.dtype == np.float32 and aligned.shape == (6, 2)
    assert valid.tolist() == [True] * 5 + [False]
    np.testing.assert_array_equal(aligned[:5], SEMAINE_VALUES)  # window 0 takes the 0.02 row
    np.testing.assert_array_equal(aligned[5], [0.0, 0.0])  # t = 0.12: no row


def test_semaine_grid_start():
    aligned, valid = align_labels(SEMAINE_TIMES, SEMAINE_VALUES, 0.02, 6, convention="start")
    assert valid.tolist() == [False] + [True] * 5  # window 0 (t = 0) has no row
    np.testing.assert_array_equal(aligned[0], [0.0, 0.0])
    np.testing.assert_array_equal(aligned[1:], SEMAINE_VALUES)


def test_semaine_grid_interpolate():
    aligned, valid = align_labels(SEMAINE_TIMES, SEMAINE_VALUES, 0.02, 6, convention="interpolate")
    # centres 0.01, 0.03, ..., 0.11: the first and last lie half a step outside the rows (held)
    assert valid.tolist() == [True] * 6
    np.testing.assert_allclose(aligned[:, 0], [10, 15, 25, 35, 45, 50])
    np.testing.assert_allclose(aligned[:, 1], [-1, -1.5, -2.5, -3.5, -4.5, -5])
    _, valid = align_labels(SEMAINE_TIMES, SEMAINE_VALUES, 0.02, 7, convention="interpolate")
    assert valid.tolist() == [True] * 6 + [False]  # centre 0.13 is 1.5 steps past the last row


def test_recola_grid_end_and_start():
    aligned, valid = align_labels(RECOLA_TIMES, RECOLA_VALUES, 0.04, 6, convention="end")
    assert valid.tolist() == [True] * 5 + [False]
    assert aligned[:, 0].tolist() == [1, 2, 3, 4, 5, 0]  # row 0 (t = 0) unused
    aligned, valid = align_labels(RECOLA_TIMES, RECOLA_VALUES, 0.04, 7, convention="start")
    assert valid.tolist() == [True] * 6 + [False]
    assert aligned[:, 0].tolist() == [0, 1, 2, 3, 4, 5, 0]


def test_recola_grid_interpolate_and_one_dimensional_values():
    aligned, valid = align_labels(
        RECOLA_TIMES, RECOLA_VALUES[:, 0], 0.04, 5, convention="interpolate"
    )
    assert aligned.shape == (5,) and valid.all()
    np.testing.assert_allclose(aligned, [0.5, 1.5, 2.5, 3.5, 4.5])


def test_a_missing_row_invalidates_its_window_only():
    times = np.delete(RECOLA_TIMES, 3)  # no row at 0.12
    values = np.delete(RECOLA_VALUES, 3, axis=0)
    aligned, valid = align_labels(times, values, 0.04, 5, convention="end")
    assert valid.tolist() == [True, True, False, True, True]
    assert aligned[:, 0].tolist() == [1, 2, 0, 4, 5]


def test_full_recola_file_with_rounded_times():
    times = np.round(np.arange(7501) * 0.04, 2)  # as parsed from "0.00", "0.04", ... "300.00"
    values = np.stack([np.sin(times), np.cos(times)], axis=1)
    for convention, rows in (("end", slice(1, None)), ("start", slice(0, -1))):
        aligned, valid = align_labels(times, values, 0.04, 7500, convention=convention)
        assert valid.all()
        np.testing.assert_allclose(aligned, values[rows], atol=1e-6)
    aligned, valid = align_labels(times, values, 0.04, 7500, convention="interpolate")
    assert valid.all()
    np.testing.assert_allclose(aligned, (values[1:] + values[:-1]) / 2, atol=1e-6)


def test_jittered_times_pick_the_nearest_row():
    rng = np.random.default_rng(6)
    times = np.arange(1, 51) * 0.02 + rng.uniform(-0.004, 0.004, size=50)
    values = np.arange(50.0)
    aligned, valid = align_labels(times, values, 0.02, 50)
    assert valid.all()
    np.testing.assert_array_equal(aligned, values)


def test_alignment_errors():
    with pytest.raises(EmoInputError, match="unknown label convention"):
        align_labels(SEMAINE_TIMES, SEMAINE_VALUES, 0.02, 3, convention="middle")
    with pytest.raises(EmoInputError, match="increase strictly"):
        align_labels(SEMAINE_TIMES[::-1], SEMAINE_VALUES, 0.02, 3)
    with pytest.raises(EmoInputError, match="rows"):
        align_labels(SEMAINE_TIMES, SEMAINE_VALUES[:4], 0.02, 3)
    with pytest.raises(EmoInputError, match="step"):
        align_labels(SEMAINE_TIMES, SEMAINE_VALUES, 0.0, 3)
    with pytest.raises(EmoInputError, match="n_windows"):
        align_labels(SEMAINE_TIMES, SEMAINE_VALUES, 0.02, -1)
    empty, valid = align_labels(SEMAINE_TIMES, SEMAINE_VALUES, 0.02, 0)
    assert empty.shape == (0, 2) and valid.shape == (0,)


@pytest.mark.parametrize("convention", LABEL_CONVENTIONS)
def test_invalid_windows_are_zero(convention):
    grids = ((SEMAINE_TIMES, SEMAINE_VALUES, 0.02), (RECOLA_TIMES, RECOLA_VALUES, 0.04))
    for times, values, step in grids:
        aligned, valid = align_labels(times, values, step, 12, convention=convention)
        assert not valid[-1]
        assert np.all(aligned[~valid] == 0)


def test_every_convention_targets_its_documented_time():
    # a linear label (value = time) recovers each convention's target time
    times = np.arange(0, 101) * 0.04
    for convention, offset in zip(LABEL_CONVENTIONS, (1.0, 0.0, 0.5)):
        aligned, valid = align_labels(times, times, 0.04, 50, convention=convention)
        assert valid.all()
        np.testing.assert_allclose(aligned, (np.arange(50) + offset) * 0.04, atol=1e-6)

