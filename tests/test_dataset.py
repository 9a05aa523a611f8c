"""Tests of emo_lib.dataset: segments and the remainder policy, batches, caches, splits, manifests."""

import json

import numpy as np
import pytest

from emo_lib import dataset
from emo_lib.corpora import load_corpus
from emo_lib.corpora.base import Conversation, Corpus
from emo_lib.corpora.synthetic import write_synthetic_corpus
from emo_lib.dataset import (PreprocessConfig, SegmentRef, build_segment_set, load_conversation_arrays,
                             read_manifest, segment_conversation, split_conversations, write_manifest)
from emo_lib.errors import EmoInputError
from emo_lib.features import log_mel_deltas, normalise_per_band, silent_frame


def conversation(turns, step=0.02, cid="S1", speaker="u1", partition=None):
    return Conversation(id=cid, corpus="semaine", speaker=speaker, audio_path="x.wav", label_step=step,
                        times=np.zeros(1), labels=np.zeros((1, 2)), turns=turns, partition=partition)


def test_turns_become_six_second_segments_with_remainder_policy():
    # A 14.5 s turn at 20 ms: two full segments and a 2.5 s remainder (kept, padded).
    conv = conversation([(1.0, 15.5)])
    pad = segment_conversation(conv, 1000, PreprocessConfig())
    assert [(s.start, s.length) for s in pad] == [(50, 300), (350, 300), (650, 125)]
    drop = segment_conversation(conv, 1000, PreprocessConfig(remainder="drop"))
    assert [(s.start, s.length) for s in drop] == [(50, 300), (350, 300)]
    # A remainder under min_segment_seconds is dropped even when padding.
    short = segment_conversation(conversation([(0.0, 6.5)]), 1000, PreprocessConfig(min_segment_seconds=1.0))
    assert [(s.start, s.length) for s in short] == [(0, 300)]
    # Turns are clipped to the audio's label windows; segment indices run per conversation.
    clipped = segment_conversation(conversation([(0.0, 3.0), (18.0, 40.0)]), 1000, PreprocessConfig())
    assert [(s.index, s.start, s.length) for s in clipped] == [(0, 0, 150), (1, 900, 100)]


def test_recola_whole_conversation_gives_fifty_segments():
    conv = conversation([], step=0.04)  # no turns: the whole conversation
    segments = segment_conversation(conv, 7500, PreprocessConfig())
    assert len(segments) == 50 and all(s.length == 150 for s in segments)


@pytest.fixture(scope="module")
def recola(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "recola"
    write_synthetic_corpus("recola", root, seed=1, n_speakers=6, duration_s=9.0, progress=False)
    return load_corpus("recola", root)


def test_arrays_segments_and_batches(recola, tmp_path):
    config = PreprocessConfig()
    segments = build_segment_set(recola.conversations[:2], config, tmp_path / "cache", progress=False)
    # 9 s at 40 ms = 225 windows: one full segment and a 3 s padded remainder per conversation.
    assert [(s.start, s.length) for s in segments.segments[:2]] == [(0, 150), (150, 75)]
    arrays = segments.arrays[recola.conversations[0].id]
    assert arrays.waveform.shape == (144000,) and arrays.spectrogram.shape == (900, 40, 3)
    assert abs(arrays.waveform.mean()) < 1e-4 and abs(arrays.waveform.std() - 1) < 1e-3
    # With the "end" convention window i takes the label row at (i + 1) * 40 ms.
    conv = recola.conversations[0]
    np.testing.assert_allclose(arrays.labels[:10], conv.labels[1:11], atol=1e-6)
    np.testing.assert_allclose(arrays.label_times[:3], [0.04, 0.08, 0.12])
    inputs, targets = segments.batch([0, 1], ("waveform", "spectrogram", "frame_mask"))
    assert inputs["waveform"].shape == (2, 96000, 1) and inputs["spectrogram"].shape == (2, 600, 40, 3)
    assert targets.shape == (2, 150, 3)
    np.testing.assert_array_equal(targets[1, :75, 2], 1)
    np.testing.assert_array_equal(targets[1, 75:, 2], 0)
    # Padding: zeros in the waveform, silence in the spectrogram, 0 in the frame mask.
    assert not inputs["waveform"][1, 48000:].any()
    np.testing.assert_array_equal(inputs["spectrogram"][1, 300:], np.broadcast_to(silent_frame(), (300, 40, 3)))
    np.testing.assert_array_equal(inputs["frame_mask"], np.r_[np.ones(150), np.ones(75), np.zeros(75)].reshape(2, 150))
    np.testing.assert_array_equal(inputs["waveform"][1, :48000, 0], arrays.waveform[96000:144000])
    # The paper's spectrogram: the log mel (and deltas) of the z-normalised waveform, unscaled.
    np.testing.assert_allclose(arrays.spectrogram, log_mel_deltas(arrays.waveform), atol=1e-5)
    assert arrays.spectrogram_stats is None
    table = segments.frame_table()
    assert len(table["conversation"]) == 4 * 150 and np.isnan(table["time_s"][150 + 75])


def test_cache_is_reused(recola, tmp_path, monkeypatch):
    config = PreprocessConfig()
    first = load_conversation_arrays(recola.conversations[0], config, tmp_path)
    files = list((tmp_path / "recola").glob("*.npz"))
    assert len(files) == 1

    def fail(*args, **kwargs):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(dataset, "preprocess_conversation", fail)
    second = load_conversation_arrays(recola.conversations[0], config, tmp_path)
    np.testing.assert_array_equal(first.spectrogram, second.spectrogram)
    # Another label convention is another key: it must be computed again.
    with pytest.raises(AssertionError, match="cache"):
        load_conversation_arrays(recola.conversations[0], PreprocessConfig(label_convention="start"), tmp_path)


def test_spectrogram_normalisations(recola, tmp_path):
    conv = recola.conversations[0]
    plain = load_conversation_arrays(conv, PreprocessConfig(), tmp_path)
    trained = load_conversation_arrays(conv, PreprocessConfig(spectrogram_norm="train"), tmp_path)
    per_conversation = load_conversation_arrays(conv, PreprocessConfig(spectrogram_norm="conversation"), tmp_path)
    # "train" stores the same arrays as the paper's (the model standardises them), from the same cache file.
    np.testing.assert_array_equal(trained.spectrogram, plain.spectrogram)
    assert len(list((tmp_path / "recola").glob("*.npz"))) == 2
    expected, mean, std = normalise_per_band(plain.spectrogram)
    np.testing.assert_allclose(per_conversation.spectrogram, expected, atol=1e-5)
    np.testing.assert_allclose(per_conversation.spectrogram_stats, np.stack([mean, std]), rtol=1e-6)
    # Silence in per-conversation units, for padding and for LIME.
    np.testing.assert_allclose(per_conversation.silence(), (silent_frame() - mean) / std, rtol=1e-5)
    with pytest.raises(EmoInputError, match="spectrogram normalisation"):
        PreprocessConfig(spectrogram_norm="global")


def test_cache_key_follows_feature_settings(recola, tmp_path, monkeypatch):
    load_conversation_arrays(recola.conversations[0], PreprocessConfig(), tmp_path)
    from emo_lib import features

    # A changed feature setting (here the delta width) must not read the old arrays.
    monkeypatch.setattr(features, "DELTA_WIDTH", 5)
    load_conversation_arrays(recola.conversations[0], PreprocessConfig(), tmp_path)
    assert len(list((tmp_path / "recola").glob("*.npz"))) == 2


def test_baseline_sees_the_recorded_level(tmp_path):
    """openSMILE gets the audio as recorded: half the amplitude, lower loudness functionals,
    the same spectral shape (with z-normalised input the two would be identical)."""
    from emo_lib.baseline import compare_feature_names
    from emo_lib.dataset import arrays_from_audio

    rng = np.random.default_rng(0)
    t = np.arange(3 * 16000) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
             + 0.02 * rng.normal(size=t.size)).astype(np.float32)
    config = PreprocessConfig(with_compare=True)
    loud = arrays_from_audio(audio, 0.04, config).compare
    quiet = arrays_from_audio(0.5 * audio, 0.04, config).compare
    names = compare_feature_names()
    column = {name: i for i, name in enumerate(names)}
    rows = slice(30, 70)  # windows well inside the signal
    energy = column["pcm_RMSenergy_sma_amean"]
    np.testing.assert_allclose(quiet[rows, energy], 0.5 * loud[rows, energy], rtol=0.02)
    centroid = column["pcm_fftMag_spectralCentroid_sma_amean"]
    np.testing.assert_allclose(quiet[rows, centroid], loud[rows, centroid], rtol=0.01)
    # The waveform and the spectrogram the deep models see are the same for both levels.
    assert np.allclose(arrays_from_audio(0.5 * audio, 0.04, PreprocessConfig()).waveform,
                       arrays_from_audio(audio, 0.04, PreprocessConfig()).waveform, atol=1e-5)


def _corpus(n, speakers=None, name="recola"):
    conversations = [conversation([], cid=f"c{i:02d}", speaker=(speakers or {}).get(i, f"s{i}"))
                     for i in range(n)]
    return Corpus(name=name, root="r", conversations=conversations)


def test_random_split_is_seeded_and_disjoint():
    corpus = _corpus(23)
    split = split_conversations(corpus, "random", seed=3)
    assert len(split.test) == 7  # 30 % of 23 conversations
    parts = [set(split.train), set(split.validation), set(split.test)]
    assert sum(map(len, parts)) == 23 and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert split_conversations(corpus, "random", seed=3).to_dict() == split.to_dict()
    assert split_conversations(corpus, "random", seed=4).test != split.test


def test_speaker_split_keeps_speakers_apart():
    corpus = _corpus(24, speakers={i: f"user{i // 4}" for i in range(24)})
    split = split_conversations(corpus, "speaker", seed=0)
    speaker = {c.id: c.speaker for c in corpus.conversations}
    sides = [{speaker[i] for i in part} for part in (split.train, split.validation, split.test)]
    assert not (sides[0] & sides[2] or sides[1] & sides[2] or sides[0] & sides[1])


def test_partition_split_and_manifest(tmp_path):
    corpus = _corpus(6, name="recola-avec2016")
    for c, part in zip(corpus.conversations, ["train"] * 3 + ["dev"] * 2 + ["test"]):
        c.partition = part
    corpus.conversations[-1].labels = None
    split = split_conversations(corpus, "partition")
    assert split.test == ["c03", "c04"] and set(split.train + split.validation) == {"c00", "c01", "c02"}
    path = write_manifest(split, tmp_path / "split.json", segments={"train": 3})
    restored = read_manifest(path)
    for field in ("corpus", "method", "seed", "train", "validation", "test"):
        assert getattr(restored, field) == getattr(split, field)
    assert restored.extra == {"segments": {"train": 3}}
    assert json.loads(path.read_text())["extra"]["segments"] == {"train": 3}
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(EmoInputError, match="bad.json"):
        read_manifest(tmp_path / "bad.json")
    with pytest.raises(EmoInputError, match="partition"):
        split_conversations(_corpus(6), "partition")
    with pytest.raises(EmoInputError, match="unknown split"):
        split_conversations(corpus, "alphabetical")


def test_bad_configuration():
    with pytest.raises(EmoInputError):
        PreprocessConfig(remainder="stretch")
    with pytest.raises(EmoInputError):
        PreprocessConfig(label_convention="middle")
    with pytest.raises(EmoInputError, match="mix label steps"):
        build_segment_set([conversation([], step=0.02), conversation([], step=0.04, cid="S2")],
                          PreprocessConfig(), progress=False)
    assert SegmentRef("a", 0, 0, 1).length == 1
