"""Tests of emo_lib.training: determinism, checkpoints and resume, evaluation files."""

import csv
import json

import keras
import numpy as np
import pytest

from emo_lib.config import TrainConfig
from emo_lib.errors import EmoInputError
from emo_lib.metrics import ccc
from emo_lib.models import build_model
from emo_lib.training import SegmentBatches, evaluate_model, score_predictions, train_model

from synthetic_arrays import make_segment_set

CONFIG = TrainConfig(batch_size=2, learning_rate=1e-3, max_epochs=2, patience=5, seed=3, jit_compile=False)


def _train(tmp_path, name, config=CONFIG, variant="S", resume=False):
    train = make_segment_set(3, seed=1)
    validation = make_segment_set(1, seed=2)
    keras.utils.set_random_seed(config.seed)
    model = build_model(variant, 40, "tiny")
    return train_model(model, train, validation, tmp_path / name, config, verbose=0, resume=resume)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One two-epoch run shared by the tests that only read its outputs."""
    tmp_path = tmp_path_factory.mktemp("trained")
    return tmp_path, _train(tmp_path, "run")


def test_same_seed_same_numbers(tmp_path, trained):
    first = trained[1]
    second = _train(tmp_path, "b")
    assert [row["loss"] for row in first.history] == [row["loss"] for row in second.history]
    for w1, w2 in zip(first.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(w1, w2)
    other = _train(tmp_path, "c", CONFIG.replace(seed=4, max_epochs=1))
    assert other.history[0]["loss"] != first.history[0]["loss"]


def test_run_folder_contents_and_refusal(trained):
    tmp_path, result = trained
    out = tmp_path / "run"
    for name in ("model.keras", "best.keras", "log.csv", "run.json", "state.json"):
        assert (out / name).exists(), name
    assert len(list((out / "checkpoints").glob("*.keras"))) == 1
    rows = list(csv.DictReader((out / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert {"loss", "val_loss", "val_ccc_arousal", "val_ccc_valence", "val_ccc_mean"} <= set(rows[0])
    run = json.loads((out / "run.json").read_text())
    assert run["train_config"]["seed"] == 3 and "keras" in run["versions"]
    best = max(range(2), key=lambda i: result.history[i]["val_ccc_mean"])
    assert result.best_epoch == best + 1
    with pytest.raises(EmoInputError, match="already holds a training run"):
        _train(tmp_path, "run")


def test_resume_continues_exactly(tmp_path):
    """A run killed after epoch 1 and resumed ends with the weights of an uninterrupted run
    (batch order, optimiser state with the moving average, learning-rate schedule, dropout streams)."""
    recipe = CONFIG.replace(max_epochs=3, ema_momentum=0.9, lr_schedule="plateau", lr_patience=1,
                            patience=5)
    straight = _train(tmp_path, "straight", recipe, variant="WS")
    _train(tmp_path, "killed", recipe.replace(max_epochs=1), variant="WS")
    keras.utils.set_random_seed(12345)  # whatever else happened in the process meanwhile
    resumed = train_model(None, make_segment_set(3, seed=1), make_segment_set(1, seed=2), tmp_path / "killed",
                          recipe, resume=True, verbose=0)
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]
    assert [row["loss"] for row in resumed.history] == [row["loss"] for row in straight.history]
    assert [row["lr"] for row in resumed.history] == [row["lr"] for row in straight.history]
    for w1, w2 in zip(straight.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_array_equal(w1, w2)
    run = json.loads((tmp_path / "killed" / "run.json").read_text())
    assert run["resume"].startswith("exact") and "keras_backend" in run["device"]


def test_early_stopped_run_stays_stopped_and_min_epochs(tmp_path):
    # patience 1 with a learning rate that wrecks the model: early stopping, but not before min_epochs.
    recipe = CONFIG.replace(max_epochs=6, patience=1, min_epochs=4, learning_rate=0.5)
    result = _train(tmp_path, "s", recipe)
    assert len(result.history) >= 4
    if result.stopped_early:
        again = train_model(None, make_segment_set(3, seed=1), make_segment_set(1, seed=2), tmp_path / "s",
                            recipe.replace(max_epochs=9), resume=True, verbose=0)
        assert len(again.history) == len(result.history)  # an early stop is final


def test_plateau_schedule_halves_the_learning_rate(tmp_path):
    recipe = CONFIG.replace(max_epochs=5, patience=10, lr_schedule="plateau", lr_patience=1, lr_factor=0.5,
                            learning_rate=1e-3, min_learning_rate=2e-4)
    result = _train(tmp_path, "p", recipe)
    rates, scores = [row["lr"] for row in result.history], [row["val_ccc_mean"] for row in result.history]
    # Each row logs the rate its epoch used; a reduction after an epoch applies to the next one.
    expected, best, wait, rate = [1e-3], -np.inf, 0, 1e-3
    for score in scores[:-1]:
        if score > best:
            best, wait = score, 0
        else:
            wait += 1
            if wait >= 1:
                rate, wait = max(rate * 0.5, 2e-4), 0
        expected.append(rate)
    np.testing.assert_allclose(rates, expected, rtol=1e-6)
    assert min(rates) < 1e-3  # the schedule did act in this run


def test_moving_average_validates_and_keeps_the_averaged_weights(tmp_path):
    recipe = CONFIG.replace(max_epochs=2, ema_momentum=0.5, patience=5)
    result = _train(tmp_path, "ema", recipe)
    best = keras.saving.load_model(tmp_path / "ema" / "best.keras")
    last = json.loads((tmp_path / "ema" / "state.json").read_text())
    checkpoint = keras.saving.load_model(tmp_path / "ema" / last["checkpoint"])
    # The checkpoint holds the raw weights (to resume); the best model the average.
    assert any(not np.array_equal(a, b) for a, b in zip(best.get_weights(), checkpoint.get_weights()))
    # The logged validation CCC of the best epoch is that of the saved (averaged) model.
    validation = make_segment_set(1, seed=2)
    inputs, targets = validation.batch(range(len(validation)), ("spectrogram", "frame_mask"))
    predictions = best.predict(inputs, verbose=0)
    keep = targets[..., 2] > 0
    row = result.history[result.best_epoch - 1]
    assert ccc(targets[..., 0][keep], predictions[..., 0][keep]) == pytest.approx(row["val_ccc_arousal"], abs=1e-4)


def test_fixed_learning_rates_without_validation(tmp_path):
    train = make_segment_set(3, seed=1)
    keras.utils.set_random_seed(0)
    result = train_model(build_model("S", 40, "tiny"), train, None, tmp_path / "f", CONFIG,
                         lr_by_epoch=[1e-3, 5e-4, 2.5e-4], verbose=0)
    assert [row["lr"] for row in result.history] == pytest.approx([1e-3, 5e-4, 2.5e-4])
    assert result.best_epoch == 3 and "val_ccc_mean" not in result.history[0]
    with pytest.raises(EmoInputError, match="validation set"):
        train_model(build_model("S", 40, "tiny"), train, None, tmp_path / "g", CONFIG, verbose=0)


def test_early_stopping_restores_best(tmp_path):
    result = _train(tmp_path, "e", CONFIG.replace(max_epochs=4, patience=1, learning_rate=0.5))
    scores = [row["val_ccc_mean"] for row in result.history]
    assert result.stopped_early or len(scores) == 4
    best = keras.saving.load_model(tmp_path / "e" / "best.keras")
    for w1, w2 in zip(best.get_weights(), result.model.get_weights()):
        np.testing.assert_array_equal(w1, w2)


def test_batches_are_seeded_per_epoch():
    segments = make_segment_set(3)
    batches = SegmentBatches(segments, 2, ["spectrogram"], shuffle=True, seed=5)
    batches.set_epoch(1)
    order = batches.order.copy()
    batches.set_epoch(2)
    assert not np.array_equal(order, batches.order)
    batches.set_epoch(1)
    np.testing.assert_array_equal(order, batches.order)


def test_evaluation_files_match_independent_scores(tmp_path, trained):
    result = trained[1]
    test = make_segment_set(2, seed=9)
    test.segments[-1] = test.segments[-1].__class__("c1", 1, 150, 100)  # a padded last segment
    record = evaluate_model(result.model, test, tmp_path / "ev", run_info={"corpus": "x", "seed": 3})
    rows = list(csv.DictReader((tmp_path / "ev" / "predictions.csv").open()))
    assert len(rows) == 150 * 3 + 100 == record["test_frames"]
    truth = np.array([float(r["arousal_true"]) for r in rows])
    pred = np.array([float(r["arousal_pred"]) for r in rows])
    saved = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert saved["metrics"]["ccc"]["concatenated"]["arousal"] == pytest.approx(ccc(truth, pred), abs=1e-5)
    assert saved["seed"] == 3 and "tensorflow" in saved["versions"]


def test_score_predictions_per_conversation():
    rng = np.random.default_rng(0)
    table = {"conversation": np.array(["a"] * 50 + ["b"] * 50)}
    for d in ("arousal", "valence"):
        table[f"{d}_true"] = rng.normal(size=100)
        table[f"{d}_pred"] = table[f"{d}_true"] + rng.normal(size=100)
    scores = score_predictions(table)
    expected = np.mean([ccc(table["valence_true"][s], table["valence_pred"][s])
                        for s in (slice(0, 50), slice(50, 100))])
    assert scores["ccc"]["per_conversation"]["valence"] == pytest.approx(expected)
