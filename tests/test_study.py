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


def test_gated_experiment_model_and_its_gate_example(tmp_path):
    from emo_lib.corpora.base import Conversation
    from emo_lib.study import build_experiment_model, experiment_dir, gate_example
    from emo_lib.training import predict_segments, write_evaluation

    train = make_segment_set(2, seed=1, prefix="train")
    test = make_segment_set(1, seed=3, prefix="test")
    for arrays in train.arrays.values():
        arrays.spectrogram = arrays.spectrogram * 3.0 + 5.0
    conversations = [Conversation(cid, "recola", cid, tmp_path / f"{cid}.wav", 0.04,
                                  arrays.label_times, arrays.labels,
                                  words=[(1.0, 1.5, "hello"), (7.0, 7.5, "hello")])
                     for cid, arrays in test.arrays.items()]
    corpus = Corpus(name="recola", root=tmp_path, conversations=conversations)
    split = Split("recola", "random", 0, train.conversation_ids, [], test.conversation_ids)
    data = CorpusData(corpus, split, train, test, test, PreprocessConfig(spectrogram_norm="train"))
    model = build_experiment_model(data, "WSG", "tiny", 0, train)
    # The spectrogram standardiser of the gated model is set from the training frames, as for S and WS.
    frames = np.concatenate([a.spectrogram for a in train.arrays.values()]).astype(np.float64)
    layer = model.get_layer("spectrogram_standardise")
    np.testing.assert_allclose(np.asarray(layer.adapt_mean), frames.mean(0), rtol=1e-4)
    folder = experiment_dir(tmp_path / "study", "recola", "WSG", 0)
    folder.mkdir(parents=True)
    model.save(folder / "model.keras")
    write_evaluation(predict_segments(model, test), test, folder, model_name=model.name)

    example = gate_example(tmp_path / "study", data)
    assert example["gates"].shape == (150, 2) and example["prediction"].shape == (150, 2)
    np.testing.assert_allclose(example["gates"].sum(-1), 1.0, atol=1e-5)
    assert example["conversation"] == "test0" and example["words"][0][2] == "hello"
    chosen = test.segments.index(next(r for r in test.segments if r.index == example["segment"]))
    np.testing.assert_allclose(example["prediction"], predict_segments(model, test)[chosen], atol=1e-5)
    with pytest.raises(EmoInputError, match="no predictions"):
        gate_example(tmp_path / "elsewhere", data)
