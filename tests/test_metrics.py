"""Tests of emo_lib.metrics: pinned CCC values, an independent formula, the Keras loss and metrics."""

import keras
import numpy as np
import pytest

from emo_lib import metrics


def lin_ccc(x, y, ddof_var=0, ddof_cov=0):
    """Lin's CCC written out with explicit sums (independent of the module)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y)) / (n - ddof_cov)
    sxx = sum((a - mx) ** 2 for a in x) / (n - ddof_var)
    syy = sum((b - my) ** 2 for b in y) / (n - ddof_var)
    return 2 * sxy / (sxx + syy + (mx - my) ** 2)


def test_pinned_values():
    assert metrics.ccc([0, 1, 2], [0, 1, 1]) == pytest.approx(0.666667, abs=1e-6)
    assert metrics.ccc_avec([0, 1, 2], [0, 1, 1]) == pytest.approx(0.461538, abs=1e-6)
    assert lin_ccc([0, 1, 2], [0, 1, 1], ddof_var=1, ddof_cov=1) == pytest.approx(0.692308, abs=1e-6)


def test_random_data_against_formula():
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.normal(size=200)
        y = 0.6 * x + rng.normal(scale=0.7, size=200) + 0.3
        assert metrics.ccc(x, y) == pytest.approx(lin_ccc(x, y), rel=1e-10)
        assert metrics.ccc_avec(x, y) == pytest.approx(lin_ccc(x, y, ddof_var=1), rel=1e-10)
        assert metrics.pearson(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-10)


def test_edge_cases_give_nan():
    assert np.isnan(metrics.ccc([1.0], [1.0]))
    assert np.isnan(metrics.ccc([2, 2, 2], [2, 2, 2]))
    assert np.isnan(metrics.pearson([1, 2, 3], [1, 1, 1]))
    assert metrics.ccc([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert metrics.ccc([1, np.nan, 3, 4], [1, 5, 3, 4], ignore_nan=True) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        metrics.ccc([1, 2], [1, 2, 3])


def test_loss_matches_numpy_and_respects_mask():
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(3, 20, 2)).astype("float32")
    pred = (0.5 * truth + rng.normal(scale=0.5, size=truth.shape)).astype("float32")
    mask = np.ones((3, 20, 1), "float32")
    mask[2, 12:] = 0
    pred_masked = pred.copy()
    pred_masked[2, 12:] = 100.0  # garbage in padded frames must not matter
    y_true = np.concatenate([truth, mask], axis=-1)
    loss = float(metrics.ccc_loss(y_true, pred_masked))
    keep = mask[..., 0].ravel() > 0
    expected = 1 - np.mean([metrics.ccc(truth[..., d].ravel()[keep], pred[..., d].ravel()[keep])
                            for d in range(2)])
    assert loss == pytest.approx(expected, abs=1e-5)
    # without a mask channel every frame counts
    loss_all = float(metrics.ccc_loss(truth, pred))
    expected_all = 1 - np.mean([metrics.ccc(truth[..., d], pred[..., d]) for d in range(2)])
    assert loss_all == pytest.approx(expected_all, abs=1e-5)


def test_loss_finite_for_constant_predictions():
    truth = np.random.default_rng(2).normal(size=(2, 10, 2)).astype("float32")
    loss = float(metrics.ccc_loss(truth, np.zeros_like(truth)))
    assert np.isfinite(loss) and loss == pytest.approx(1.0, abs=1e-4)


def test_streaming_metric_equals_concatenated_ccc():
    rng = np.random.default_rng(3)
    metric = metrics.ConcordanceCorrelation(1)
    truths, preds = [], []
    for _ in range(4):
        t = rng.normal(size=(2, 15, 2)).astype("float32")
        p = (t * 0.7 + rng.normal(scale=0.4, size=t.shape)).astype("float32")
        m = (rng.random((2, 15, 1)) > 0.2).astype("float32")
        metric.update_state(np.concatenate([t, m], -1), p)
        keep = m[..., 0] > 0
        truths.append(t[..., 1][keep])
        preds.append(p[..., 1][keep])
    expected = metrics.ccc(np.concatenate(truths), np.concatenate(preds))
    assert float(metric.result()) == pytest.approx(expected, abs=1e-4)
    metric.reset_state()
    assert float(metric.result()) == pytest.approx(0.0, abs=1e-6)
    clone = metrics.ConcordanceCorrelation.from_config(metric.get_config())
    assert clone.name == "ccc_valence" and clone.dimension == 1


def test_loss_trains_a_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 3))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer=keras.optimizers.RMSprop(1e-2), loss=metrics.ccc_loss,
                  metrics=metrics.ccc_metrics())
    rng = np.random.default_rng(4)
    x = rng.normal(size=(64, 8, 3)).astype("float32")
    y = np.stack([x[..., 0] + x[..., 1], x[..., 2]], -1)
    y = np.concatenate([y, np.ones_like(y[..., :1])], -1).astype("float32")
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["ccc_arousal"][-1] > 0.8
