"""Tests of emo_lib.statistics: scores, bootstrap intervals, paired tests and the paper's claims."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from emo_lib import statistics as st
from emo_lib.errors import EmoInputError
from emo_lib.results import format_score

CORPUS_LABEL = "the synthetic stand-in (SEMAINE layout)"


# ---------------------------------------------------------------------------
# Independent reference computations and data
# ---------------------------------------------------------------------------


def lin_ccc(x, y):
    """Lin's CCC with 1/N statistics, written out with numpy's covariance."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    covariance = np.cov(x, y, bias=True)[0, 1]
    return 2 * covariance / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)


def truth_table(n_conversations, n_frames, seed=0):
    """Smooth truth traces with a per-conversation offset; (conversations * frames) rows."""
    rng = np.random.default_rng(seed)
    parts = []
    for c in range(n_conversations):
        trace = np.cumsum(rng.normal(size=(n_frames, 2)) * 0.05, axis=0)
        trace += rng.normal(size=2) * 0.3
        parts.append(
            pd.DataFrame(
                {
                    "conversation": f"conv{c:03d}",
                    "segment": f"s{c}",
                    "frame": np.arange(n_frames),
                    "time_s": np.arange(n_frames) * 0.02,
                    "arousal_true": trace[:, 0],
                    "valence_true": trace[:, 1],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def predict(truth, noise, seed, scale=(1.0, 1.0)):
    """Truth scaled and plus white noise: noise = (arousal sd, valence sd) or one sd."""
    rng = np.random.default_rng(seed)
    noise = np.broadcast_to(np.asarray(noise, float), (2,))
    df = truth.copy()
    for k, d in enumerate(("arousal", "valence")):
        df[f"{d}_pred"] = scale[k] * truth[f"{d}_true"] + rng.normal(size=len(truth)) * noise[k]
    return df


# ---------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------


def test_scores_match_independent_formulas():
    df = predict(truth_table(6, 80), noise=(0.2, 0.5), seed=1, scale=(0.8, 1.1))
    out = st.scores(df)
    assert out["arousal"] == pytest.approx(lin_ccc(df.arousal_true, df.arousal_pred), abs=1e-12)
    assert out["valence"] == pytest.approx(lin_ccc(df.valence_true, df.valence_pred), abs=1e-12)
    r = st.scores(df, metric="pearson")
    assert r["valence"] == pytest.approx(np.corrcoef(df.valence_true, df.valence_pred)[0, 1])
    per = st.scores(df, protocol="per_conversation")
    expected = np.mean(
        [lin_ccc(g.arousal_true, g.arousal_pred) for _, g in df.groupby("conversation")]
    )
    assert per["arousal"] == pytest.approx(expected, abs=1e-12)
    assert per["arousal"] != pytest.approx(out["arousal"], abs=1e-3)  # protocols differ


def test_scores_field_notes_vector():
    df = pd.DataFrame(
        {
            "conversation": ["c"] * 3,
            "arousal_true": [0.0, 1.0, 2.0],
            "arousal_pred": [0.0, 1.0, 1.0],
            "valence_true": [0.0, 1.0, 2.0],
            "valence_pred": [0.0, 1.0, 1.0],
        }
    )
    assert st.scores(df)["arousal"] == pytest.approx(0.666667, abs=1e-6)
    assert st.scores(df, metric="ccc_avec")["valence"] == pytest.approx(0.461538, abs=1e-6)


def test_per_conversation_is_unweighted_and_skips_undefined():
    truth = truth_table(3, 40)
    df = predict(truth, noise=0.3, seed=2)
    df = df[~((df.conversation == "conv002") & (df.frame >= 5))]  # a short conversation
    flat = df.conversation == "conv001"
    df.loc[flat, "arousal_true"] = 0.25  # truth and prediction constant and equal: undefined
    df.loc[flat, "arousal_pred"] = 0.25
    table = st.conversation_scores(df)
    assert np.isnan(table.set_index("conversation").loc["conv001", "arousal"])
    assert list(table.n_frames) == [40, 40, 5]
    defined = [
        lin_ccc(g.arousal_true, g.arousal_pred)
        for name, g in df.groupby("conversation")
        if name != "conv001"
    ]
    got = st.scores(df, protocol="per_conversation")["arousal"]
    assert got == pytest.approx(np.mean(defined), abs=1e-12)


def test_moment_route_equals_metric_functions():
    rng = np.random.default_rng(3)
    x = rng.normal(size=500) * 0.4 + 0.2
    y = 0.7 * x + rng.normal(size=500) * 0.3 - 0.1
    codes = rng.integers(0, 7, size=500)
    sums = st._moments(codes, 7, x, y, shift=float(x.mean())).sum(axis=0)
    for metric, function in st.METRICS.items():
        assert st._score_from_moments(sums, metric) == pytest.approx(function(x, y), abs=1e-12)
    constant = st._moments(np.zeros(4, int), 1, np.full(4, 0.3), np.full(4, 0.3), 0.0)[0]
    assert np.isnan(st._score_from_moments(constant, "ccc"))
    flat_pred = st._moments(np.zeros(4, int), 1, np.arange(4.0), np.full(4, 0.3), 1.5)[0]
    assert np.isnan(st._score_from_moments(flat_pred, "pearson"))
    assert st._score_from_moments(flat_pred, "ccc") == pytest.approx(0.0, abs=1e-12)


def test_bad_input_is_reported():
    df = predict(truth_table(2, 10), noise=0.1, seed=0)
    with pytest.raises(EmoInputError, match="lacks columns"):
        st.scores(df.drop(columns="valence_pred"))
    broken = df.copy()
    broken.loc[3, "arousal_pred"] = np.nan
    with pytest.raises(EmoInputError, match="non-finite"):
        st.scores(broken)
    with pytest.raises(EmoInputError, match="protocol"):
        st.scores(df, protocol="pooled")


def test_read_predictions_round_trip_and_errors(tmp_path):
    df = predict(truth_table(3, 10), noise=0.2, seed=4)
    path = tmp_path / "predictions.csv"
    df.to_csv(path, index=False)
    back = st.read_predictions(path)
    assert back.attrs["path"] == str(path)
    assert st.scores(back)["arousal"] == pytest.approx(st.scores(df)["arousal"], abs=1e-12)
    df.drop(columns="arousal_true").to_csv(path, index=False)
    with pytest.raises(EmoInputError, match="predictions.csv: predictions table lacks"):
        st.read_predictions(path)
    with pytest.raises(EmoInputError, match="missing.csv"):
        st.read_predictions(tmp_path / "missing.csv")


# ---------------------------------------------------------------------------
# Bootstrap
# ---------------------------------------------------------------------------


def naive_replicates(df, dimension, protocol, draws):
    """Scores of resampled conversations, by concatenating the drawn frames (no moments)."""
    names = sorted(df.conversation.unique())
    groups = {name: g for name, g in df.groupby("conversation")}
    replicates = []
    for row in draws:
        chosen = [groups[names[i]] for i in row]
        if protocol == "concatenated":
            sample = pd.concat(chosen)
            replicates.append(lin_ccc(sample[f"{dimension}_true"], sample[f"{dimension}_pred"]))
        else:
            replicates.append(
                np.mean([lin_ccc(g[f"{dimension}_true"], g[f"{dimension}_pred"]) for g in chosen])
            )
    return np.array(replicates)


@pytest.mark.parametrize("protocol", ["concatenated", "per_conversation"])
def test_bootstrap_equals_naive_resampling(protocol):
    # the percentile option is the old computation: quantiles of replicates of resampled
    # conversations (drawn here as scipy.stats.bootstrap draws them)
    df = predict(truth_table(7, 30), noise=(0.3, 0.6), seed=5)
    n_boot, seed, level = 60, 11, 0.9
    low, high = st.bootstrap_ci(
        df, dimension="valence", protocol=protocol, n_boot=n_boot, level=level, seed=seed,
        method="percentile",
    )
    draws = np.random.default_rng(seed).integers(0, 7, size=(n_boot, 7))
    replicates = naive_replicates(df, "valence", protocol, draws)
    expected = np.quantile(replicates, [0.05, 0.95])
    assert (low, high) == pytest.approx(tuple(expected), abs=1e-9)


def test_bca_interval_equals_its_formula_and_corrects_upwards():
    # 9 test conversations: the bootstrap distribution of a concatenated CCC sits below
    # the estimate (z0 > 0), and BCa moves the interval up
    from statistics import NormalDist

    normal = NormalDist()
    df = predict(truth_table(9, 60, seed=2), noise=(0.3, 0.6), seed=22)
    n_boot, seed, level = 400, 3, 0.95
    bca = st.bootstrap_ci(df, dimension="arousal", n_boot=n_boot, level=level, seed=seed)
    percentile = st.bootstrap_ci(
        df, dimension="arousal", n_boot=n_boot, level=level, seed=seed, method="percentile"
    )
    draws = np.random.default_rng(seed).integers(0, 9, size=(n_boot, 9))
    replicates = naive_replicates(df, "arousal", "concatenated", draws)
    estimate = lin_ccc(df.arousal_true, df.arousal_pred)
    ties = np.abs(replicates - estimate) < 1e-9  # a draw of every conversation once
    assert ties.sum() == 1  # this case has one: a tie counts half
    share_below = (2 * np.sum(replicates < estimate - 1e-9) + ties.sum()) / (2 * n_boot)
    z0 = normal.inv_cdf(share_below)
    names = sorted(df.conversation.unique())
    jackknife = np.array(
        [lin_ccc(g.arousal_true, g.arousal_pred)
         for g in (df[df.conversation != name] for name in names)]
    )
    d = jackknife.mean() - jackknife
    acceleration = np.sum(d**3) / (6 * np.sum(d**2) ** 1.5)  # Efron & Tibshirani eq. 14.15
    shares = []
    for z in (normal.inv_cdf((1 - level) / 2), normal.inv_cdf((1 + level) / 2)):
        shares.append(normal.cdf(z0 + (z0 + z) / (1 - acceleration * (z0 + z))))
    expected = np.quantile(replicates, shares)
    assert bca == pytest.approx(tuple(expected), abs=1e-9)
    assert percentile == pytest.approx(tuple(np.quantile(replicates, [0.025, 0.975])), abs=1e-9)
    assert z0 > 0.2  # most replicates below the estimate
    assert bca[0] > percentile[0] + 0.02 and bca[1] > percentile[1] + 0.01
    assert bca[0] < estimate < bca[1]
    with pytest.raises(EmoInputError, match="method"):
        st.bootstrap_ci(df, dimension="arousal", method="basic")


def test_bootstrap_contains_estimate_and_narrows_with_more_conversations():
    widths = []
    for n_conversations in (8, 64):
        df = predict(truth_table(n_conversations, 40, seed=6), noise=0.5, seed=7)
        low, high = st.bootstrap_ci(df, dimension="arousal", n_boot=500, seed=0)
        estimate = st.scores(df)["arousal"]
        assert low < estimate < high
        widths.append(high - low)
    assert widths[1] < 0.6 * widths[0]  # about 1/sqrt(8) in theory


def test_bootstrap_reproducible_and_pools_seeds():
    truth = truth_table(10, 30)
    a0, a1 = predict(truth, 0.4, seed=8), predict(truth, 0.4, seed=9)
    first = st.bootstrap_ci(a0, dimension="arousal", n_boot=200, seed=3)
    assert st.bootstrap_ci(a0, dimension="arousal", n_boot=200, seed=3) == first
    assert st.bootstrap_ci(a0, dimension="arousal", n_boot=200, seed=4) != first
    assert st.bootstrap_ci([a0], dimension="arousal", n_boot=200, seed=3) == first
    low, high = st.bootstrap_ci([a0, a1], dimension="arousal", n_boot=200, seed=3)
    pooled = np.mean([st.scores(a)["arousal"] for a in (a0, a1)])
    assert low < pooled < high


def test_bootstrap_needs_two_conversations():
    df = predict(truth_table(1, 30), noise=0.3, seed=0)
    with pytest.raises(EmoInputError, match="at least 2 test conversations"):
        st.bootstrap_ci(df, dimension="arousal")


# ---------------------------------------------------------------------------
# Paired tests
# ---------------------------------------------------------------------------


def test_paired_test_clear_winner_gives_small_p():
    truth = truth_table(10, 50)
    good, bad = predict(truth, 0.2, seed=1), predict(truth, 0.8, seed=2)
    result = st.paired_test(good, bad, dimension="arousal")
    assert result.exact and result.n_permutations == 2**10
    assert result.p_value == pytest.approx(1 / 2**10)  # the smallest attainable
    expected = lin_ccc(good.arousal_true, good.arousal_pred) - lin_ccc(
        bad.arousal_true, bad.arousal_pred
    )
    assert result.diff == pytest.approx(expected, abs=1e-10)
    assert result.n_conversations == 10
    assert st.paired_test(good, bad, dimension="arousal", alternative="less").p_value == 1.0
    per = st.paired_test(good, bad, dimension="valence", protocol="per_conversation")
    assert per.p_value < 0.01 and per.diff > 0


def test_paired_test_identical_predictions_give_large_p():
    df = predict(truth_table(10, 30), 0.4, seed=3)
    shuffled = df.sample(frac=1.0, random_state=0)  # same frames, another row order
    for protocol in ("concatenated", "per_conversation"):
        result = st.paired_test(df, shuffled, dimension="valence", protocol=protocol)
        assert result.diff == pytest.approx(0.0, abs=1e-12)
        assert result.p_value == 1.0


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_paired_test_equals_naive_enumeration(alternative):
    truth = truth_table(5, 40, seed=4)
    a, b = predict(truth, 0.5, seed=10), predict(truth, 0.55, seed=11)
    result = st.paired_test(a, b, dimension="arousal", alternative=alternative)
    names = sorted(truth.conversation.unique())
    x = a.arousal_true.to_numpy()
    observed = lin_ccc(x, a.arousal_pred) - lin_ccc(x, b.arousal_pred)
    null = []
    for keep in itertools.product([True, False], repeat=5):
        kept = a.conversation.isin([n for n, k in zip(names, keep) if k]).to_numpy()
        ya = np.where(kept, a.arousal_pred, b.arousal_pred)
        yb = np.where(kept, b.arousal_pred, a.arousal_pred)
        null.append(lin_ccc(x, ya) - lin_ccc(x, yb))
    null = np.array(null)
    if alternative == "greater":
        expected = np.mean(null >= observed - 1e-9)
    elif alternative == "less":
        expected = np.mean(null <= observed + 1e-9)
    else:
        expected = np.mean(np.abs(null) >= abs(observed) - 1e-9)
    assert 0.05 < expected < 0.95  # an informative case, not a corner
    assert result.p_value == pytest.approx(expected, abs=1e-12)


def test_paired_test_monte_carlo_is_reproducible():
    truth = truth_table(16, 20)
    a, b = predict(truth, 0.5, seed=12), predict(truth, 0.52, seed=13)
    first = st.paired_test(a, b, dimension="valence", n_resamples=400, seed=5)
    again = st.paired_test(a, b, dimension="valence", n_resamples=400, seed=5)
    other = st.paired_test(a, b, dimension="valence", n_resamples=400, seed=6)
    assert not first.exact and first.n_permutations == 400
    assert first.p_value == again.p_value
    assert first.p_value != other.p_value
    hits = first.p_value * 401 - 1
    assert hits == pytest.approx(round(hits), abs=1e-9)  # (1 + k) / (1 + R)


def test_paired_test_requires_the_same_frames():
    truth = truth_table(4, 20)
    a, b = predict(truth, 0.3, seed=1), predict(truth, 0.3, seed=2)
    with pytest.raises(EmoInputError, match="same test frames"):
        st.paired_test(a, b.iloc[:-1], dimension="arousal")
    as_float = b.assign(frame=b.frame.astype(float))  # as a CSV round trip may give
    assert st.paired_test(a, as_float, dimension="arousal").n_conversations == 4
    other_truth = b.copy()
    other_truth["valence_true"] += 0.1
    with pytest.raises(EmoInputError, match="ground truth differs"):
        st.paired_test(a, other_truth, dimension="arousal")
    with pytest.raises(EmoInputError, match="appears twice"):
        st.paired_test(pd.concat([a, a.iloc[:1]]), b, dimension="arousal")


def test_paired_seed_test():
    better, worse = [0.70, 0.71, 0.72, 0.69, 0.70], [0.60, 0.62, 0.61, 0.60, 0.63]
    result = st.paired_seed_test(better, worse)
    assert result.exact and result.p_value == pytest.approx(1 / 32)
    assert result.diff == pytest.approx(np.mean(better) - np.mean(worse))
    assert result.n_conversations is None
    assert st.paired_seed_test(better, better).p_value == 1.0
    unpaired = st.paired_seed_test(better[:3], worse[:3], paired=False)
    assert unpaired.p_value == pytest.approx(1 / 20)  # one split of C(6, 3) is as extreme
    with pytest.raises(EmoInputError, match="paired=False"):
        st.paired_seed_test(better, worse[:3])


# ---------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------


def paper_like_models(truth):
    """Predictions that make every claim of the paper true, two seeds per model."""
    noise = {"baseline": (1.5, 1.5), "W": (0.3, 0.9), "S": (0.6, 0.5), "WS": (0.15, 0.25)}
    return {
        model: [predict(truth, sd, seed=100 * i + s) for s in range(2)]
        for i, (model, sd) in enumerate(noise.items())
    }


def test_claims_supported_when_true():
    truth = truth_table(12, 40)
    models = paper_like_models(truth)
    table = st.test_claims(models, corpus_label=CORPUS_LABEL, n_resamples=4096)
    assert len(table) == sum(len(c.comparisons) for c in st.PAPER_CLAIMS) == 12
    assert table.tested.all() and table.supported.all() and table.claim_supported.all()
    assert (table.p_value < 0.001).all()
    assert table.p_value.min() == 1 / 4096  # exact test: the smallest p with 12 conversations
    row = table.iloc[0]
    assert (row.model_a, row.model_b, row.dimension) == ("W", "S", "arousal")
    expected_a = np.mean([lin_ccc(t.arousal_true, t.arousal_pred) for t in models["W"]])
    assert row.score_a == pytest.approx(expected_a, abs=1e-12)
    assert row.sentence.startswith(
        f"On {CORPUS_LABEL}, W only beats S only on arousal (CCC .{round(expected_a * 1000):03d}"
    )
    assert row.sentence.endswith(
        "mean of 2 seeds, p < .001; smallest attainable p = .000244 with 12 test conversations): "
        "supported."
    )
    assert (table.min_p == 2.0**-12).all() and (table.verdict == "supported").all()
    assert (table.claim_verdict == "supported").all()


def test_claims_not_supported_and_not_tested():
    truth = truth_table(8, 30)
    models = paper_like_models(truth)
    models["W"], models["S"] = models["S"], models["W"]  # W now worse on arousal
    del models["baseline"]
    table = st.test_claims(models, corpus_label="SEMAINE", alpha=0.05, seed=1)
    first = table.iloc[0]
    assert not first.supported and first.mean_diff < 0 and first.p_value > 0.5
    assert first.sentence.endswith(": not supported.")
    baseline_rows = table[table.claim == "all_beat_baseline"]
    assert not baseline_rows.tested.any() and not baseline_rows.claim_supported.any()
    assert "not tested (no predictions of Baseline)" in baseline_rows.sentence.iloc[0]
    again = st.test_claims(models, corpus_label="SEMAINE", alpha=0.05, seed=1)
    pd.testing.assert_frame_equal(table, again)
    with pytest.raises(EmoInputError, match="unknown model"):
        st.test_claims({"W+S": models["WS"]}, corpus_label="SEMAINE")


# ---------------------------------------------------------------------------
# The smallest attainable p, the engine and verdicts
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_conversations", [3, 5, 9])
def test_min_p_is_reached_by_a_clear_winner(n_conversations):
    truth = truth_table(n_conversations, 40, seed=9)
    good, bad = predict(truth, 0.1, seed=1), predict(truth, 1.0, seed=2)
    one = st.paired_test(good, bad, dimension="arousal")
    assert one.min_p == 2.0**-n_conversations == one.p_value  # every swap lowers the difference
    two = st.paired_test(good, bad, dimension="arousal", alternative="two-sided")
    assert two.min_p == 2.0 ** -(n_conversations - 1) == two.p_value
    assert f"smallest attainable p {one.min_p:.3g}" in one.method


def test_min_p_monte_carlo_and_seed_tests():
    truth = truth_table(16, 20)
    a, b = predict(truth, 0.2, seed=12), predict(truth, 0.9, seed=13)
    mc = st.paired_test(a, b, dimension="valence", n_resamples=400, seed=5)
    assert not mc.exact and mc.min_p == pytest.approx(1 / 401)  # above 2^-16
    assert mc.p_value == pytest.approx(1 / 401)  # no random pattern beats the observed one
    assert st.smallest_p(2**16, n_resamples=400) == pytest.approx(1 / 401)
    assert st.smallest_p(2**16, alternative="two-sided", n_resamples=400) == pytest.approx(2 / 401)
    assert st.smallest_p(2**3, n_resamples=400) == 0.125  # exact when R covers every pattern
    seeds = st.paired_seed_test([0.7, 0.71, 0.72, 0.69, 0.70], [0.6, 0.62, 0.61, 0.6, 0.63])
    assert seeds.min_p == 1 / 32
    assert st.paired_seed_test([0.7, 0.71], [0.6, 0.62], alternative="two-sided").min_p == 0.5
    assert st.paired_seed_test([0.7], [0.6], alternative="two-sided").min_p == 1.0
    unpaired = st.paired_seed_test([0.7, 0.71, 0.72], [0.6, 0.62, 0.61], paired=False)
    assert unpaired.min_p == 1 / 20 and unpaired.n_permutations == 20


def test_monte_carlo_p_is_close_to_the_exact_p():
    truth = truth_table(12, 30, seed=3)
    a, b = predict(truth, 0.5, seed=30), predict(truth, 0.56, seed=31)
    exact = st.paired_test(a, b, dimension="arousal", n_resamples=4096)
    mc = st.paired_test(a, b, dimension="arousal", n_resamples=3000, seed=2)
    assert exact.exact and not mc.exact and mc.n_permutations == 3000
    assert 0.05 < exact.p_value < 0.95
    assert abs(mc.p_value - exact.p_value) < 4 * np.sqrt(exact.p_value * (1 - exact.p_value) / 3000)


def test_seed_tests_equal_enumeration_with_ties():
    # scores rounded to two decimals: many splits have the same mean (ties, counted as extreme)
    a, b = [0.53, 0.55, 0.54, 0.56], [0.54, 0.54, 0.52]
    pooled = np.array(a + b)
    observed = np.mean(a) - np.mean(b)
    null = []
    for members in itertools.combinations(range(7), 4):
        chosen = np.isin(np.arange(7), members)
        null.append(pooled[chosen].mean() - pooled[~chosen].mean())
    null = np.array(null)
    greater = np.mean(null >= observed - 1e-9)
    less = np.mean(null <= observed + 1e-9)
    result = st.paired_seed_test(a, b, paired=False)
    assert result.exact and result.n_permutations == 35
    assert result.p_value == pytest.approx(greater, abs=1e-12)
    assert st.paired_seed_test(a, b, paired=False, alternative="less").p_value == pytest.approx(
        less, abs=1e-12
    )
    # two-sided: twice the smaller one-sided p (the null of unequal groups is not symmetric)
    two = st.paired_seed_test(a, b, paired=False, alternative="two-sided").p_value
    assert two == pytest.approx(min(1.0, 2 * min(greater, less)), abs=1e-12)
    # paired, with equal differences: flipping either of two equal differences is a tie
    diffs = np.array([0.02, 0.02, -0.01, 0.03])
    signs = np.array(list(itertools.product([1, -1], repeat=4)))
    expected = np.mean(signs @ diffs / 4 >= diffs.mean() - 1e-9)
    paired = st.paired_seed_test(0.5 + diffs, np.full(4, 0.5))
    assert paired.p_value == pytest.approx(expected, abs=1e-12)
    # one seed a side: the two assignments enumerated
    single = st.paired_seed_test([0.7], [0.6], paired=False)
    assert single.p_value == 0.5 and single.min_p == 0.5 and single.exact


def test_single_conversation_test():
    truth = truth_table(1, 50)
    a, b = predict(truth, 0.1, seed=1), predict(truth, 0.9, seed=2)
    result = st.paired_test(a, b, dimension="arousal")
    assert result.n_permutations == 2 and result.exact
    assert result.p_value == 0.5 and result.min_p == 0.5
    assert st.paired_test(a, b, dimension="arousal", alternative="less").p_value == 1.0


def test_per_conversation_test_counts_defined_conversations():
    truth = truth_table(6, 30, seed=5)
    a, b = predict(truth, 0.1, seed=1), predict(truth, 0.9, seed=2)
    for df in (truth, a, b):  # conv005: constant truth and predictions, undefined for both
        flat = df.conversation == "conv005"
        df.loc[flat, ["arousal_true"]] = 0.25
    for df in (a, b):
        df.loc[df.conversation == "conv005", "arousal_pred"] = 0.25
    result = st.paired_test(a, b, dimension="arousal", protocol="per_conversation")
    assert result.n_conversations == 5
    assert result.min_p == 2.0**-5 and result.p_value == 2.0**-5  # 2^6 patterns, each twice
    per_a = st.conversation_scores(a).arousal.to_numpy()
    per_b = st.conversation_scores(b).arousal.to_numpy()
    assert result.diff == pytest.approx(np.nanmean(per_a - per_b), abs=1e-12)


def few_conversation_models(n_conversations):
    truth = truth_table(n_conversations, 40, seed=4)
    return {
        "W": [predict(truth, (0.2, 0.9), seed=1)],
        "S": [predict(truth, (0.9, 0.3), seed=2)],
        "WS": [predict(truth, (0.3, 0.35), seed=3)],
    }


def test_claims_untestable_at_this_size():
    models = few_conversation_models(3)
    label = "the synthetic stand-in (RECOLA layout)"
    table = st.test_claims(models, corpus_label=label)
    first = table.iloc[0]
    assert first.min_p == 0.125 and first.p_value == 0.125 and first.mean_diff > 0
    assert first.verdict == "untestable at this size" and not first.supported
    assert first.sentence == (
        f"On {label}, W only beats S only on arousal (CCC {format_score(first.score_a)} vs "
        f"{format_score(first.score_b)}, p = .125; smallest attainable p = .125 with 3 test "
        "conversations): untestable at this size."
    )
    tested = table[table.tested]
    assert (tested.verdict == "untestable at this size").all()  # whatever the direction
    assert (tested.mean_diff < 0).any()
    # the baseline is missing: its claim has untestable and not-tested comparisons
    baseline = table[table.claim == "all_beat_baseline"]
    assert set(baseline.verdict) == {"not tested"}
    assert set(baseline.claim_verdict) == {"not tested"}
    assert set(table[table.claim == "w_beats_s_arousal"].claim_verdict) == {"untestable at this size"}
    assert not table.claim_supported.any()
    # the same models at alpha .2 can be tested with 3 conversations
    loose = st.test_claims(models, corpus_label=label, alpha=0.2)
    assert loose.iloc[0].verdict == "supported" and loose.iloc[0].claim_verdict == "supported"


def test_claim_verdict_rule():
    models = few_conversation_models(3)
    mixed = st.Claim(
        "mixed", "W only beats S only and the baseline on arousal",
        (("W", "S", "arousal"), ("W", "baseline", "arousal")),
    )
    table = st.test_claims(models, corpus_label="X", claims=[mixed])
    assert list(table.verdict) == ["untestable at this size", "not tested"]
    assert set(table.claim_verdict) == {"untestable at this size"}  # none is "not supported"
    big = few_conversation_models(8)
    failing = st.Claim(
        "failing", "S only beats W only on arousal, and W+S beats the baseline",
        (("S", "W", "arousal"), ("WS", "baseline", "arousal")),
    )
    table = st.test_claims(big, corpus_label="X", claims=[failing])
    assert list(table.verdict) == ["not supported", "not tested"]
    assert set(table.claim_verdict) == {"not supported"}
    assert table.iloc[0].min_p == 2.0**-8 < 0.05


def test_claims_summary_is_compact_and_readable():
    models = few_conversation_models(3)
    table = st.test_claims(models, corpus_label="X")
    table.insert(0, "corpus", "recola")  # as emo_lib.study.claims_table adds it
    summary = st.claims_summary(table)
    assert list(summary.columns) == [
        "corpus", "claim", "comparison", "dimension", "scores", "p", "smallest p", "verdict",
        "claim verdict",
    ]
    assert len(summary) == len(table)
    first = summary.iloc[0]
    assert first.claim == "W only beats S only on arousal"
    assert first.comparison == "W only > S only" and first.dimension == "arousal"
    expected_a = lin_ccc(models["W"][0].arousal_true, models["W"][0].arousal_pred)
    expected_b = lin_ccc(models["S"][0].arousal_true, models["S"][0].arousal_pred)
    assert first.scores == f"CCC {format_score(expected_a)} vs {format_score(expected_b)}"
    assert (first.p, first["smallest p"]) == (".125", ".125")
    assert first.verdict == "untestable at this size"
    missing = summary[summary.comparison == "W only > Baseline"].iloc[0]
    assert (missing.scores, missing.p, missing.verdict) == ("n/a", "n/a", "not tested")
    big = st.claims_summary(st.test_claims(paper_like_models(truth_table(12, 40)),
                                           corpus_label="X", n_resamples=4096))
    assert "corpus" not in big.columns
    assert set(big.p) == {"< .001"} and set(big["smallest p"]) == {".000244"}
    with pytest.raises(EmoInputError, match="lacks columns"):
        st.claims_summary(table.drop(columns="min_p"))


def test_format_smallest_p():
    assert st.format_smallest_p(0.125) == ".125"
    assert st.format_smallest_p(2.0**-5) == ".0312"
    assert st.format_smallest_p(2.0**-12) == ".000244"
    assert st.format_smallest_p(2.0**-20) == "9.54e-07"
    assert st.format_smallest_p(float("nan")) == "n/a"


def test_bootstrap_with_undefined_replicates():
    # per-conversation CCC: two of three conversations are undefined (constant and equal),
    # so a replicate drawing only those is undefined and left out; every defined replicate
    # is the one defined conversation's score
    df = predict(truth_table(3, 30, seed=1), noise=0.3, seed=3)
    for name in ("conv000", "conv001"):
        flat = df.conversation == name
        df.loc[flat, ["valence_true", "valence_pred"]] = 0.25
    score = st.conversation_scores(df).set_index("conversation").loc["conv002", "valence"]
    low, high = st.bootstrap_ci(df, dimension="valence", protocol="per_conversation",
                                method="percentile", n_boot=50)
    assert (low, high) == pytest.approx((score, score), abs=1e-12)
    with pytest.warns(RuntimeWarning, match="percentile interval"):
        bca = st.bootstrap_ci(df, dimension="valence", protocol="per_conversation", n_boot=50)
    assert bca == pytest.approx((score, score), abs=1e-12)


def test_claims_take_every_model_of_model_labels():
    from emo_lib.results import MODEL_LABELS

    truth = truth_table(8, 30, seed=6)
    models = {m: [predict(truth, 0.2 + 0.1 * i, seed=40 + i)] for i, m in enumerate(MODEL_LABELS)}
    others = [m for m in MODEL_LABELS if m != "W"]
    claim = st.Claim("w_first", "W only beats every other model on valence",
                     tuple(("W", m, "valence") for m in others))
    table = st.test_claims(models, corpus_label="X", claims=[claim])
    assert list(table.model_b) == others and table.tested.all()
    for _, row in table.iterrows():
        assert f"beats {MODEL_LABELS[row.model_b]} on valence" in row.sentence
    summary = st.claims_summary(table)
    assert list(summary.comparison) == [f"W only > {MODEL_LABELS[m]}" for m in others]
    with pytest.raises(EmoInputError, match="unknown model"):
        st.test_claims(models, corpus_label="X",
                       claims=[st.Claim("bad", "W beats GRU", (("W", "GRU", "arousal"),))])


def test_beyond_the_paper_claim_wsg_beats_ws():
    (claim,) = st.BEYOND_PAPER_CLAIMS
    assert claim.key == "wsg_beats_ws" and claim.text == "W+S gated beats W+S on arousal and valence"
    assert claim.comparisons == (("WSG", "WS", "arousal"), ("WSG", "WS", "valence"))
    truth = truth_table(8, 30, seed=2)
    models = {"WS": [predict(truth, (0.3, 0.3), seed=1)],
              "WSG": [predict(truth, (0.1, 0.6), seed=2)]}  # better on arousal, worse on valence
    table = st.test_claims(models, corpus_label="SEMAINE", claims=st.BEYOND_PAPER_CLAIMS)
    assert list(table.dimension) == ["arousal", "valence"]
    assert list(table.verdict) == ["supported", "not supported"]
    assert not table.claim_supported.any() and (table.claim_verdict == "not supported").all()
    assert table.sentence.iloc[0].startswith("On SEMAINE, W+S gated beats W+S on arousal (CCC ")
    summary = st.claims_summary(table)
    assert list(summary.comparison) == ["W+S gated > W+S"] * 2
    missing = st.test_claims({"WS": models["WS"]}, corpus_label="SEMAINE", claims=st.BEYOND_PAPER_CLAIMS)
    assert not missing.tested.any() and "no predictions of W+S gated" in missing.sentence.iloc[0]
