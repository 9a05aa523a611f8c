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


# ---------------------------------------------------------------------------
# The streaming metric stays accurate far from zero
# ---------------------------------------------------------------------------


def offset_batches(seed, truth_offset, pred_offset, truth_scale, pred_scale, n_batches=6):
    """Masked batches (4 segments x 50 frames) of values near an offset with a small spread.

    Returns a list of (y_true (4, 50, 3) with a 0/1 mask channel, y_pred (4, 50, 2)), float32.
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_batches):
        walk = np.cumsum(rng.normal(size=(4, 50)), axis=1) * 0.2  # batch means differ
        truth = truth_offset + truth_scale * walk
        pred = pred_offset + pred_scale * (0.8 * walk + rng.normal(size=walk.shape))
        mask = rng.random(walk.shape) > 0.25
        y_true = np.stack([truth, truth[:, ::-1], mask], -1).astype("float32")
        y_pred = np.stack([pred, pred[:, ::-1]], -1).astype("float32")
        y_pred[~mask] = 1e3  # padded frames: garbage that must not count
        out.append((y_true, y_pred))
    return out


def naive_float32_ccc(batches, dimension):
    """CCC from raw moments (n, sums, sums of squares and products) accumulated in float32."""
    sums = np.zeros(6, np.float32)
    for y_true, y_pred in batches:
        m = y_true[..., 2]
        x, y = y_true[..., dimension] * m, y_pred[..., dimension] * m
        sums += np.array([m.sum(), x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum()],
                         dtype=np.float32)
    n, sx, sy, sxx, syy, sxy = sums
    mx, my = sx / n, sy / n
    return float(2 * (sxy / n - mx * my) / ((sxx / n - mx * mx) + (syy / n - my * my) + (mx - my) ** 2))


@pytest.mark.parametrize(
    "offsets",
    [
        (5.0, 5.0, 2e-3, 1e-3),  # predictions 5.0 + 1e-3 noise
        (5.0, 5.001, 2e-3, 1e-3),  # and a small bias
        (100.0, 100.0, 0.05, 0.05),  # truth and prediction with a large offset
    ],
)
def test_streaming_metric_is_stable_far_from_zero(offsets):
    batches = offset_batches(7, *offsets)
    for dimension in (0, 1):
        keep = np.concatenate([t[..., 2].ravel() > 0 for t, _ in batches])
        x = np.concatenate([t[..., dimension].ravel() for t, _ in batches])[keep]
        y = np.concatenate([p[..., dimension].ravel() for _, p in batches])[keep]
        expected = lin_ccc(x, y)  # float64, explicit sums, on the valid frames only
        assert 0.2 < expected < 0.9  # an informative value, not a corner
        for accumulator in (None, "float32"):  # the backend's choice, and float32 (as JAX without x64)
            metric = metrics.ConcordanceCorrelation(dimension, accumulator_dtype=accumulator)
            for y_true, y_pred in batches:
                metric.update_state(y_true, y_pred)
            assert float(metric.result()) == pytest.approx(expected, abs=1e-4)
        # the same data through raw float32 moments: the test can tell the difference
        assert abs(naive_float32_ccc(batches, dimension) - expected) > 1e-2


def test_streaming_metric_skips_empty_batches_and_resets():
    batches = offset_batches(8, 5.0, 5.0, 2e-3, 1e-3, n_batches=3)
    metric = metrics.ConcordanceCorrelation(0, accumulator_dtype="float32")
    empty_true = batches[0][0].copy()
    empty_true[..., 2] = 0.0  # an all-padding batch before any frame: changes nothing
    metric.update_state(empty_true, batches[0][1] + 3.0)
    for y_true, y_pred in batches:
        metric.update_state(y_true, y_pred)
        metric.update_state(empty_true, y_pred + 3.0)  # and between batches
    keep = np.concatenate([t[..., 2].ravel() > 0 for t, _ in batches])
    x = np.concatenate([t[..., 0].ravel() for t, _ in batches])[keep]
    y = np.concatenate([p[..., 0].ravel() for _, p in batches])[keep]
    assert float(metric.result()) == pytest.approx(lin_ccc(x, y), abs=1e-4)
    metric.reset_state()
    assert float(metric.result()) == 0.0  # nothing seen
    metric.update_state(*batches[1])  # the shift is taken afresh after a reset
    keep = batches[1][0][..., 2].ravel() > 0
    expected = lin_ccc(batches[1][0][..., 0].ravel()[keep], batches[1][1][..., 0].ravel()[keep])
    assert float(metric.result()) == pytest.approx(expected, abs=1e-4)
    config = metrics.ConcordanceCorrelation(1, accumulator_dtype="float32").get_config()
    assert metrics.ConcordanceCorrelation.from_config(config).accumulator_dtype == "float32"
    with pytest.raises(ValueError, match="accumulator_dtype"):
        metrics.ConcordanceCorrelation(0, accumulator_dtype="float16")


# ---------------------------------------------------------------------------
# Saved models
# ---------------------------------------------------------------------------


def test_saved_model_with_loss_and_metrics_loads(tmp_path):
    import json
    import zipfile

    keras.utils.set_random_seed(5)
    inputs = keras.Input((8, 3))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer=keras.optimizers.RMSprop(1e-2), loss=metrics.ccc_loss,
                  metrics=metrics.ccc_metrics(), jit_compile=False)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(24, 8, 3)).astype("float32")
    y = np.concatenate([x[..., :2] + 0.3 * x[..., 2:], np.ones_like(x[..., :1])], -1)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    before = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    path = tmp_path / "tiny.keras"
    model.save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))["compile_config"]
    assert config["loss"]["config"] == "emo_lib>ccc_loss"
    assert [m["registered_name"] for m in config["metrics"]] == ["emo_lib>ConcordanceCorrelation"] * 2
    loaded = keras.saving.load_model(path)
    after = loaded.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert after == pytest.approx(before, abs=1e-6)
    # the loaded metrics are the project's, and agree with numpy on the predictions
    prediction = loaded.predict(x, verbose=0)
    assert after["ccc_valence"] == pytest.approx(metrics.ccc(y[..., 1], prediction[..., 1]), abs=1e-5)

    # a file written before the Keras names moved to emo_lib.keras_metrics names the old module
    text = zipfile.ZipFile(path).read("config.json").decode()
    assert '"module": "emo_lib.keras_metrics"' in text
    old = tmp_path / "old.keras"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(old, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "config.json":
                data = text.replace('"emo_lib.keras_metrics"', '"emo_lib.metrics"').encode()
            target.writestr(item, data)
    from_old = keras.saving.load_model(old)
    assert from_old.evaluate(x, y, batch_size=8, verbose=0, return_dict=True) == pytest.approx(
        before, abs=1e-6
    )
