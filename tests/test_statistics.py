"""Tests of emo_lib.statistics: scores, bootstrap intervals, paired tests and the paper's claims."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from emo_lib import statistics as st
from emo_lib.errors import EmoInputError

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


@pytest.mark.parametrize("protocol", ["concatenated", "per_conversation"])
def test_bootstrap_equals_naive_resampling(protocol):
    df = predict(truth_table(7, 30), noise=(0.3, 0.6), seed=5)
    n_boot, seed, level = 60, 11, 0.9
    low, high = st.bootstrap_ci(
        df, dimension="valence", protocol=protocol, n_boot=n_boot, level=level, seed=seed
    )
    names = sorted(df.conversation.unique())
    groups = {name: g for name, g in df.groupby("conversation")}
    counts = np.random.default_rng(seed).multinomial(7, np.full(7, 1 / 7), size=n_boot)
    replicates = []
    for row in counts:
        chosen = [groups[name] for name, k in zip(names, row) for _ in range(k)]
        if protocol == "concatenated":
            sample = pd.concat(chosen)
            replicates.append(lin_ccc(sample.valence_true, sample.valence_pred))
        else:
            replicates.append(np.mean([lin_ccc(g.valence_true, g.valence_pred) for g in chosen]))
    expected = np.quantile(replicates, [0.05, 0.95])
    assert (low, high) == pytest.approx(tuple(expected), abs=1e-9)


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
    assert row.sentence.endswith("mean of 2 seeds, p < .001): supported.")


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
