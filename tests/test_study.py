"""Tests of emo_lib.study: profiles, and the baseline standardised with training statistics only."""

import json

import numpy as np
import pytest

from emo_lib.config import TrainConfig
from emo_lib.corpora.base import Corpus
from emo_lib.dataset import PreprocessConfig, Split
from emo_lib.errors import EmoInputError
from emo_lib.models import load_model
from emo_lib.study import CorpusData, get_profile, run_experiment

from synthetic_arrays import make_segment_set


def test_profiles():
    assert get_profile("paper").preset == "paper" and get_profile("paper").train.batch_size == 50
    assert get_profile("quick", seeds=[4, 5]).seeds == (4, 5)
    with pytest.raises(EmoInputError):
        get_profile("fast")
    with pytest.raises(EmoInputError):
        get_profile("quick", seeds=[])


def test_baseline_is_standardised_with_training_statistics_only(tmp_path):
    train = make_segment_set(2, seed=1, compare_dim=6373, prefix="train")
    validation = make_segment_set(1, seed=2, compare_dim=6373, prefix="val")
    test = make_segment_set(1, seed=3, compare_dim=6373, prefix="test")
    # Shift the held-out parts far away: their statistics must not leak into the model.
    for part in (validation, test):
        for arrays in part.arrays.values():
            arrays.compare = arrays.compare + 1000.0
    corpus = Corpus(name="recola", root=tmp_path, conversations=[])
    split = Split("recola", "random", 0, train.conversation_ids, validation.conversation_ids,
                  test.conversation_ids)
    data = CorpusData(corpus, split, train, validation, test, PreprocessConfig(with_compare=True))
    record = run_experiment(data, "baseline", preset="tiny", out_dir=tmp_path / "run",
                            train_config=TrainConfig(batch_size=2, max_epochs=1, seed=0), verbose=0)
    assert record["variant"] == "baseline" and record["corpus_kind"] == "real"
    model = load_model(tmp_path / "run" / "model.keras")
    layer = model.get_layer("compare_standardise")
    rows = np.concatenate([a.compare for a in train.arrays.values()])
    np.testing.assert_allclose(np.asarray(layer.mean).ravel(), rows.mean(0), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(np.asarray(layer.variance).ravel(), rows.var(0), rtol=1e-3)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["seed"] == 0 and saved["preset_name"] == "tiny"
    # A finished experiment is not trained again.
    again = run_experiment(data, "baseline", preset="tiny", out_dir=tmp_path / "run",
                           train_config=TrainConfig(batch_size=2, max_epochs=1, seed=0), verbose=0)
    assert again == saved
