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


def test_resume_continues_from_last_epoch(tmp_path):
    _train(tmp_path, "r", CONFIG.replace(max_epochs=1))
    state = json.loads((tmp_path / "r" / "state.json").read_text())
    assert state["epochs_done"] == 1 and state["finished"]
    # A longer budget on the same folder: resume runs epochs 2 and 3 only.
    resumed = train_model(None, make_segment_set(3, seed=1), make_segment_set(1, seed=2), tmp_path / "r",
                          CONFIG.replace(max_epochs=3), resume=True, verbose=0)
    assert resumed.history[0]["epoch"] == 1 and len(resumed.history) == 1  # finished runs stay finished
    state["finished"] = False
    (tmp_path / "r" / "state.json").write_text(json.dumps(state))
    resumed = train_model(None, make_segment_set(3, seed=1), make_segment_set(1, seed=2), tmp_path / "r",
                          CONFIG.replace(max_epochs=3), resume=True, verbose=0)
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]
    assert len(list(csv.DictReader((tmp_path / "r" / "log.csv").open()))) == 3


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
