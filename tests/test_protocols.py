"""Tests of emo_lib.protocols: label-step resampling, cross-corpus scoring, the speaker-independent protocol."""

import json

import numpy as np
import pytest

from emo_lib.config import TrainConfig
from emo_lib.corpora.base import Conversation, Corpus
from emo_lib.dataset import ConversationArrays, PreprocessConfig, SegmentRef, SegmentSet, Split, write_manifest
from emo_lib.errors import EmoInputError
from emo_lib.models import build_model
from emo_lib.protocols import (cross_corpus_table, describe_cross_corpus, describe_speaker_table, predict_at_step,
                               protocol_dir, resample_steps, run_cross_corpus, shared_speakers, shift_frame,
                               speaker_summary, speaker_table)
from emo_lib.study import CorpusData, experiment_dir, get_profile, run_experiment
from emo_lib.training import predict_segments

from synthetic_arrays import make_segment_set


def test_resample_steps_against_written_out_values():
    fine = np.array([[1.0, 3.0, 0.0, 0.0, 5.0, 7.0]])  # six 20 ms steps
    np.testing.assert_allclose(resample_steps(fine, 20, 40), [[2.0, 0.0, 6.0]])
    np.testing.assert_array_equal(resample_steps(fine, 20, 40, reduce="any"), [[1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(resample_steps(fine, 20, 40, reduce="last"), [[3.0, 0.0, 7.0]])
    np.testing.assert_allclose(resample_steps(fine, 20, 60), [[(1 + 3 + 0) / 3, (0 + 5 + 7) / 3]])
    coarse = np.arange(6.0).reshape(1, 3, 2)  # three 40 ms steps of two values
    np.testing.assert_array_equal(resample_steps(coarse, 40, 20)[0], [[0, 1], [0, 1], [2, 3], [2, 3], [4, 5], [4, 5]])
    np.testing.assert_array_equal(resample_steps(coarse, 40, 40), coarse)
    # there and back: repeating then averaging gives the values back
    np.testing.assert_allclose(resample_steps(resample_steps(coarse, 40, 20), 20, 40), coarse)
    with pytest.raises(EmoInputError, match="integer ratio"):
        resample_steps(fine, 20, 30)
    with pytest.raises(EmoInputError, match="whole 40 ms steps"):
        resample_steps(fine[:, :5], 20, 40)
    with pytest.raises(EmoInputError, match="unknown reduction"):
        resample_steps(fine, 20, 40, reduce="median")


def _at_step(segments: SegmentSet, label_step: float) -> SegmentSet:
    """The same audio cut at another label step (labels repeated or subsampled, segment bounds scaled)."""
    ratio = segments.label_step / label_step
    arrays = {}
    for cid, a in segments.arrays.items():
        index = (np.arange(int(round(a.n_windows * ratio))) / ratio).astype(int)
        arrays[cid] = ConversationArrays(cid, label_step, a.waveform, a.spectrogram, a.labels[index],
                                         a.valid[index], (np.arange(len(index)) + 1) * label_step,
                                         None if a.compare is None else a.compare[index], a.spectrogram_stats)
    refs = [SegmentRef(r.conversation_id, r.index, int(round(r.start * ratio)), int(round(r.length * ratio)))
            for r in segments.segments]
    return SegmentSet(refs, arrays, segments.segment_seconds, label_step)


@pytest.mark.parametrize("model_ms, set_ms", [(20, 40), (40, 20)])
def test_predict_at_step_is_the_model_at_its_own_step_resampled(model_ms, set_ms):
    # 10 s conversations in 6 s segments: the second segment of each is padded (4 s of 6)
    at_set = make_segment_set(2, 10.0, seed=4, label_step=set_ms / 1000)
    at_model = _at_step(at_set, model_ms / 1000)
    model = build_model("WS", model_ms, "tiny")
    direct = predict_segments(model, at_model)  # the independent computation: the model's own segments
    expected = resample_steps(direct, model_ms, set_ms)
    got = predict_at_step(model, at_set, batch_size=3)
    assert got.shape == (len(at_set), at_set.label_frames, 2)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_predict_at_step_refuses_segments_of_another_length():
    model = build_model("S", 20, "tiny")  # 6 s segments
    with pytest.raises(EmoInputError, match="another length in seconds"):
        predict_at_step(model, make_segment_set(1, 8.0, seed=1, label_step=0.04, segment_seconds=4.0))


def _corpus(tmp_path, name, segments: SegmentSet, speakers: dict[str, str]) -> Corpus:
    conversations = [Conversation(cid, name, speakers[cid], tmp_path / f"{cid}.wav", segments.label_step,
                                  arrays.label_times, arrays.labels) for cid, arrays in segments.arrays.items()]
    return Corpus(name=name, root=tmp_path / name, conversations=conversations)


def _corpus_data(tmp_path, name, label_step, seed, method="random") -> CorpusData:
    """Train: 2 conversations (speakers spk0, spk1); validation: 1 (spk0); test: 3 (spk1, spk1, spk0)."""
    train = make_segment_set(2, seed=seed, label_step=label_step, prefix=f"{name}-train")
    validation = make_segment_set(1, seed=seed + 1, label_step=label_step, prefix=f"{name}-val")
    test = make_segment_set(3, seed=seed + 2, label_step=label_step, prefix=f"{name}-test")
    speakers = {f"{name}-train0": "spk0", f"{name}-train1": "spk1", f"{name}-val0": "spk0",
                f"{name}-test0": "spk1", f"{name}-test1": "spk1", f"{name}-test2": "spk0"}
    everything = SegmentSet([], {**train.arrays, **validation.arrays, **test.arrays}, 6.0, label_step)
    corpus = _corpus(tmp_path, name, everything, speakers)
    split = Split(name, method, 0, train.conversation_ids, validation.conversation_ids, test.conversation_ids)
    return CorpusData(corpus, split, train, validation, test, PreprocessConfig(spectrogram_norm="train"))


def test_cross_corpus_scores_each_model_on_the_other_corpus(tmp_path):
    profile = get_profile("ci")
    data = {"semaine": _corpus_data(tmp_path, "semaine", 0.02, 10),
            "recola": _corpus_data(tmp_path, "recola", 0.04, 20)}
    out = tmp_path / "study"
    for name, corpus_data in data.items():
        for variant in ("ridge", "S"):
            run_experiment(corpus_data, variant, preset="tiny", out_dir=experiment_dir(out, name, variant, 0),
                           train_config=TrainConfig(batch_size=2, max_epochs=1, seed=0), verbose=0)
    with pytest.warns(UserWarning, match="no finished WS run on"):
        table = run_cross_corpus(out, data, profile, variants=("ridge", "S", "WS"), progress=False)
    assert sorted(zip(table.source, table.variant)) == [("recola", "S"), ("recola", "ridge"),
                                                        ("semaine", "S"), ("semaine", "ridge")]
    # the written predictions are the source model's, at the target's step, on the target's test frames
    from emo_lib.models import load_model
    from emo_lib.statistics import read_predictions, scores

    folder = experiment_dir(protocol_dir(out, "cross") / "semaine-to-recola", "", "S", 0)
    saved = read_predictions(folder / "predictions.csv")
    expected = predict_at_step(load_model(experiment_dir(out, "semaine", "S", 0) / "model.keras"),
                               data["recola"].test)
    targets = data["recola"].test.batch(range(len(data["recola"].test)), ())[1]
    keep = targets[..., 2].ravel() > 0
    np.testing.assert_allclose(saved["arousal_pred"], expected[..., 0].ravel()[keep], atol=2e-6)
    record = json.loads((folder / "metrics.json").read_text())
    assert record["source_corpus"] == "semaine" and record["corpus"] == "recola" and record["label_step_ms"] == 40
    row = table[(table.source == "semaine") & (table.variant == "S")].iloc[0]
    assert row.cross_arousal == pytest.approx(scores(saved)["arousal"])
    own = read_predictions(experiment_dir(out, "recola", "S", 0) / "predictions.csv")
    assert row.in_arousal == pytest.approx(scores(own)["arousal"])
    assert row.min_p == pytest.approx(2 ** -2) and row.min_p <= row.p_arousal <= 1  # 3 conversations, two-sided
    # the floor's window features are computed at the target's step
    ridge = read_predictions(experiment_dir(protocol_dir(out, "cross") / "recola-to-semaine", "", "ridge", 0)
                             / "predictions.csv")
    assert len(ridge) == len(read_predictions(experiment_dir(out, "semaine", "ridge", 0) / "predictions.csv"))
    # scored once: a second call reads the files and gives the same table
    again = cross_corpus_table(out, list(data), profile, variants=("ridge", "S"))
    assert again.equals(table)
    # the long form the figure draws: the target's own model before, the other corpus's after
    long = shift_frame(table, "cross")
    assert len(long) == 2 * len(table)
    first = long[(long.group == "semaine \u2192 recola") & (long.model == "S") & (long.dimension == "arousal")]
    assert first.before.item() == row.in_arousal and first.after.item() == row.cross_arousal
    with pytest.raises(EmoInputError, match="unknown protocol"):
        shift_frame(table, "leave-one-out")
    lines = describe_cross_corpus(table).splitlines()
    assert len(lines) == 2 and lines[0].startswith("- **semaine \u2192 recola**")
    lower = int(((table.source == "semaine") & (table.in_arousal > table.cross_arousal)).sum())
    assert f"arousal for {lower} of 2 models" in lines[0]


def test_shared_speakers_and_the_speaker_table(tmp_path):
    random = _corpus_data(tmp_path, "semaine", 0.02, 10)
    corpus = random.corpus
    assert shared_speakers(corpus, random.split) == ["spk0", "spk1"]
    from emo_lib.statistics import read_predictions, scores

    by_speaker = {c.id: c.speaker for c in corpus.conversations}
    test_ids = [c for c in by_speaker if by_speaker[c] == "spk1"]
    rest = [c for c in by_speaker if by_speaker[c] == "spk0"]
    speaker_split = Split("semaine", "speaker", 0, rest[:-1], rest[-1:], test_ids)
    assert shared_speakers(corpus, speaker_split) == []
    everything = SegmentSet([], {**random.train.arrays, **random.validation.arrays, **random.test.arrays},
                            6.0, 0.02)

    refs = [*random.train.segments, *random.validation.segments, *random.test.segments]

    def part(ids):  # the conversations cut into segments as in the random split
        return SegmentSet([r for r in refs if r.conversation_id in ids],
                          {cid: everything.arrays[cid] for cid in ids}, 6.0, 0.02)

    speaker_data = CorpusData(corpus, speaker_split, part(speaker_split.train), part(speaker_split.validation),
                              part(speaker_split.test), random.preprocess)
    out = tmp_path / "study"
    profile = get_profile("ci")
    for folder, corpus_data in ((out, random), (protocol_dir(out, "speaker"), speaker_data)):
        write_manifest(corpus_data.split, folder / "semaine" / "split.json")
        run_experiment(corpus_data, "ridge", preset="tiny", out_dir=experiment_dir(folder, "semaine", "ridge", 0),
                       train_config=TrainConfig(seed=0), verbose=0)
    table = speaker_table(out, {"semaine": corpus}, profile, n_boot=200)
    assert list(table.variant) == ["ridge"]  # S was not run: no row
    row = table.iloc[0]
    assert row.random_shared_speakers == 2 and row.speaker_shared_speakers == 0
    assert row.random_conversations == 3 and row.speaker_conversations == len(test_ids)
    assert row.flatter_arousal == pytest.approx(row.random_arousal - row.speaker_arousal)
    low, high = row.random_arousal_ci
    assert low <= row.random_arousal <= high
    # the paired view: the two test conversations of spk1 that both splits test, spk1 being heard in
    # the random split's training conversations only
    assert row.common_conversations == 2
    for folder, column in ((out, "common_random_arousal"), (protocol_dir(out, "speaker"), "common_speaker_arousal")):
        saved = read_predictions(experiment_dir(folder, "semaine", "ridge", 0) / "predictions.csv")
        common = saved[saved.conversation.isin(["semaine-test0", "semaine-test1"])]
        assert row[column] == pytest.approx(scores(common)["arousal"])
    assert row.common_min_p == pytest.approx(0.5) and 0.5 <= row.common_p_arousal <= 1
    assert protocol_dir(out, "speaker") == tmp_path / "study-speaker"
    long = shift_frame(table, "speaker")
    assert list(long.dimension) == ["arousal", "valence"] and long.after.iloc[1] == row.speaker_valence
    assert long.before_low.iloc[0] == low and long.before_high.iloc[0] == high
    shown = speaker_summary(table)
    assert shown["arousal random"].iloc[0] == f"{row.random_arousal:.3f} [{low:.2f}, {high:.2f}]"
    assert shown["flatters valence"].iloc[0] == round(row.flatter_valence, 3)
    text = describe_speaker_table(table)
    assert "the 2 test conversations" in text and "p 0.500" in text
