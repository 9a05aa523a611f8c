"""Tests of emo_lib.corpora.generic: a corpus of one's own, written by hand in the generic layout.

Each corpus is written in tmp_path (audio/, labels/, speakers.csv, turns/);
loaded values are compared with the numbers written, and every kind of bad
input must raise EmoInputError naming the bad file.
"""

import warnings

import numpy as np
import pytest
import soundfile

from emo_lib.corpora import CORPUS_NAMES, load_corpus
from emo_lib.corpora.generic import label_step_of, read_label_csv, read_turns_csv
from emo_lib.errors import EmoInputError
from emo_lib.labels import align_labels


def _wav(path, seconds, rate, subtype="PCM_16", channels=1, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    soundfile.write(path, rng.uniform(-0.5, 0.5, size=(int(round(seconds * rate)), channels)), rate,
                    subtype=subtype)  # fmt: skip
    return path


def _write(path, text, newline="\n", bom=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.replace("\n", newline).encode("utf-8"))
    return path


def _values(rows, seed):
    rng = np.random.default_rng(seed)
    return np.round(rng.uniform(-1, 1, size=(rows, 2)), 4)


def _labels_text(values, step=0.04, first=0.0, header="time,arousal,valence"):
    times = first + step * np.arange(values.shape[0])
    rows = [f"{t:.2f},{a:.4f},{v:.4f}" for t, (a, v) in zip(times, values)]
    return "\n".join([header] + rows) + "\n"


def _generic_root(tmp_path):
    """Three conversations of two speakers, 2 s each, labelled every 40 ms."""
    root = tmp_path / "mine"
    _wav(root / "audio" / "a1.wav", 2.0, 16000)
    _wav(root / "audio" / "a2.wav", 2.0, 44100, channels=2, seed=1)
    _wav(root / "audio" / "b1.WAV", 2.0, 22050, "PCM_24", seed=2)
    values = {
        "a1": _values(51, 1),  # 0.00 ... 2.00 s
        "a2": _values(50, 2),  # 0.04 ... 2.00 s
        "b1": _values(40, 3),  # 0.00 ... 1.56 s: labels may stop before the audio
    }
    _write(root / "labels" / "a1.csv", _labels_text(values["a1"]), newline="\r\n", bom=True)
    _write(root / "labels" / "a2.csv", _labels_text(values["a2"], first=0.04).replace("time,", " Time , ", 1))
    _write(root / "labels" / "b1.csv", _labels_text(values["b1"]) + "\n\n")
    _write(root / "speakers.csv", "conversation,speaker\na1,alice\na2,alice\nb1,bob\nz9,zoe\n")
    _write(root / "turns" / "a1.csv", "start,end\n0.10,0.90\n1.2,1.95\n")
    _write(root / "labels" / "README.txt", "not a label file")  # other files are ignored
    _write(root / "audio" / ".a1.wav", "hidden file")
    return root, values


def test_generic_reads_exact_values(tmp_path):
    root, values = _generic_root(tmp_path)
    corpus = load_corpus("generic", root)
    assert "generic" in CORPUS_NAMES
    assert corpus.name == "generic" and corpus.skipped == []
    assert [c.id for c in corpus] == ["a1", "a2", "b1"]
    assert [c.speaker for c in corpus] == ["alice", "alice", "bob"]
    first = {"a1": 0.0, "a2": 0.04, "b1": 0.0}
    for conv in corpus:
        assert conv.corpus == "generic" and conv.partition is None and conv.words == []
        assert conv.label_step == 0.04 and conv.label_step_ms == 40
        assert conv.raters == {}
        assert conv.audio_duration == pytest.approx(2.0)
        rows = values[conv.id].shape[0]
        np.testing.assert_allclose(conv.times, first[conv.id] + 0.04 * np.arange(rows), atol=1e-9)
        assert conv.labels.dtype == np.float32 and conv.labels.shape == (rows, 2)
        np.testing.assert_array_equal(conv.labels, values[conv.id].astype(np.float32))
    assert corpus["a1"].turns == [(0.1, 0.9), (1.2, 1.95)]
    assert corpus["a2"].turns == [(0.0, pytest.approx(2.0))]
    assert corpus["b1"].audio_path.name == "b1.WAV"
    # hand check of one row: a1.csv line 3 is the row at 0.04 s
    line = (root / "labels" / "a1.csv").read_bytes().decode("utf-8-sig").split("\r\n")[2]
    t, a, v = (float(x) for x in line.split(","))
    assert t == pytest.approx(0.04) and tuple(corpus["a1"].labels[1]) == (np.float32(a), np.float32(v))


def test_generic_times_are_label_times_as_in_recola(tmp_path):
    """With the default "end" convention window i takes the row at (i + 1) * step, as for RECOLA."""
    root, values = _generic_root(tmp_path)
    conv = load_corpus("generic", root)["a1"]
    aligned, valid = align_labels(conv.times, conv.labels, conv.label_step, 50)
    assert valid.all()
    np.testing.assert_array_equal(aligned, values["a1"][1:51].astype(np.float32))
    conv = load_corpus("generic", root)["a2"]  # rows start at 0.04: window 0 takes the first row
    aligned, valid = align_labels(conv.times, conv.labels, conv.label_step, 50)
    np.testing.assert_array_equal(aligned, values["a2"].astype(np.float32))


def test_generic_20_ms_labels_and_no_speakers_file(tmp_path):
    root = tmp_path / "fast"
    _wav(root / "audio" / "x.wav", 1.0, 16000)
    values = _values(50, 7)
    _write(root / "labels" / "x.csv", _labels_text(values, step=0.02, first=0.02))
    conv = load_corpus("generic", root)["x"]
    assert conv.label_step == 0.02 and conv.label_step_ms == 20 and conv.speaker == "x"
    np.testing.assert_allclose(conv.times, 0.02 * np.arange(1, 51), atol=1e-9)
    np.testing.assert_array_equal(conv.labels, values.astype(np.float32))


def test_read_label_csv_directly(tmp_path):
    path = _write(tmp_path / "l.csv", 'time,arousal,valence,\n"0.00",-1,1,\n0.04,0.25,-0.5,\n')
    labels = read_label_csv(path)
    assert labels.step == 0.04 and labels.path == path
    np.testing.assert_array_equal(labels.times, [0.0, 0.04])
    np.testing.assert_array_equal(labels.values, [[-1.0, 1.0], [0.25, -0.5]])


def test_label_step_of():
    assert label_step_of(np.array([0.0, 0.04, 0.08, 0.12]), "x.csv") == 0.04
    assert label_step_of(np.round(0.02 * np.arange(1, 500), 2), "x.csv") == 0.02
    assert label_step_of(np.array([10.0, 10.041, 10.079]), "x.csv") == 0.04  # rounding in the file
    with pytest.raises(EmoInputError, match="100 ms apart.*resample"):
        label_step_of(np.array([0.0, 0.1, 0.2]), "x.csv")


# ---------------------------------------------------------------------------
# Bad input: every error names the file
# ---------------------------------------------------------------------------


def _raises(root, path, match):
    with pytest.raises(EmoInputError, match=match) as info:
        load_corpus("generic", root)
    assert info.value.path == path, str(info.value)
    assert str(info.value).startswith(str(path))
    return info.value


def test_missing_folders(tmp_path):
    root, _ = _generic_root(tmp_path)
    for path in (root / "labels").iterdir():
        path.unlink()
    (root / "labels").rmdir()
    _raises(root, root / "labels", "generic layout")
    _raises(tmp_path / "nowhere", tmp_path / "nowhere", "generic layout")
    empty = tmp_path / "empty"
    (empty / "audio").mkdir(parents=True)
    (empty / "labels").mkdir()
    _raises(empty, empty, "no audio or label files")


def test_missing_label_or_audio_file(tmp_path):
    root, _ = _generic_root(tmp_path)
    (root / "labels" / "a2.csv").unlink()
    _raises(root, root / "labels" / "a2.csv", "missing label file")
    root, _ = _generic_root(tmp_path / "second")
    (root / "audio" / "b1.WAV").unlink()
    _raises(root, root / "audio" / "b1.wav", "missing audio file")


def test_turns_file_without_a_conversation(tmp_path):
    root, _ = _generic_root(tmp_path)
    _write(root / "turns" / "c7.csv", "start,end\n0.1,0.5\n")
    _raises(root, root / "audio" / "c7.wav", "missing audio file")


def test_audio_in_another_format(tmp_path):
    root, _ = _generic_root(tmp_path)
    (root / "audio" / "a2.wav").unlink()
    flac = root / "audio" / "a2.flac"
    soundfile.write(flac, np.zeros(32000), 16000, format="FLAC")
    _raises(root, flac, "only WAV audio.*a2.wav")


def test_audio_that_is_not_audio_or_empty(tmp_path):
    root, _ = _generic_root(tmp_path)
    wav = _write(root / "audio" / "a1.wav", "time,arousal,valence\n")
    _raises(root, wav, "WAV")
    wav.write_bytes(b"")
    _raises(root, wav, "WAV")
    soundfile.write(wav, np.zeros((0, 1)), 16000, subtype="PCM_16")  # a header, no samples
    _raises(root, wav, "samples")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty label file"),
        ("\n\n", "empty label file"),
        ("time,arousal,valence\n", "no label rows"),
        ("time;arousal;valence\n0.00;0.1;0.2\n0.04;0.1;0.2\n", "unexpected header"),
        ("time,valence,arousal\n0.00,0.1,0.2\n0.04,0.1,0.2\n", "unexpected header"),
        ("time,arousal\n0.00,0.1\n0.04,0.1\n", "unexpected header"),
        ("time,arousal,valence,dominance\n0.00,0.1,0.2,0\n0.04,0.1,0.2,0\n", "unexpected header"),
        ("0.00,0.1,0.2\n0.04,0.1,0.2\n", "unexpected header"),
        ("time,arousal,valence\n0.00,0.1,0.2\n0.04,abc,0.2\n", "line 3 .*not a number"),
        ("time,arousal,valence\n0.00,0.1,0.2\n0.04,nan,0.2\n", "NaN .* line 3"),
        ("time,arousal,valence\n0.00,0.1,0.2\n0.04,0.1,inf\n", "NaN or infinite .* line 3"),
        ("time,arousal,valence\n0.00,0.1,0.2\n0.04,,0.2\n", "line 3 has an empty field"),
        ("time,arousal,valence\n0.00,0.1,0.2\n0.04,0.1\n", "line 3 has 2 fields"),
        ("time,arousal,valence\n0.00,0.1,0.2\n0.04,0.1,0.2,0.3\n", "line 3 has 4 fields"),
        ("time,arousal,valence\n0.00,0.1,0.2\n0.04,0.1,1.5\n", "valence 1.5 on line 3 is outside"),
        ("time,arousal,valence\n0.00,-2,0.2\n0.04,0.1,0.2\n", "arousal -2 on line 2 is outside"),
        ("time,arousal,valence\n0.00,0.1,0.2\n", "fewer than 2 label rows"),
        ("time,arousal,valence\n0.0,0,0\n0.1,0,0\n0.2,0,0\n", "100 ms apart.*20 ms or 40 ms"),
        ("time,arousal,valence\n0.00,0,0\n0.04,0,0\n0.12,0,0\n0.16,0,0\n", "not 40 ms apart"),
        ("time,arousal,valence\n0.04,0,0\n0.00,0,0\n0.04,0,0\n", r"must increase: row 2 \(0 s\)"),
        ("time,arousal,valence\n0.00,0,0\n0.04,0,0\n0.04,0,0\n", r"row 3 \(0.04 s\) does not follow"),
        ("time,arousal,valence\n0.00,0,0\n0.04,0,0\n0.06,0,0\n0.10,0,0\n", "not 40 ms apart"),
        ("time,arousal,valence\n0.02,0,0\n0.06,0,0\n0.10,0,0\n", r"0.02 s \(row 1\) is not a multiple of the 40 ms"),
        ("time,arousal,valence\n-0.04,0,0\n0.00,0,0\n0.04,0,0\n", "negative label time"),
        ("\xff\xfe", "not a text file"),
    ],
)
def test_bad_label_files(tmp_path, text, message):
    root, _ = _generic_root(tmp_path)
    path = root / "labels" / "a2.csv"
    if text == "\xff\xfe":
        path.write_bytes(b"\xff\xfe\x00t")
    else:
        _write(path, text)
    _raises(root, path, message)


def test_labels_longer_than_the_audio(tmp_path):
    root, values = _generic_root(tmp_path)
    wav = _wav(root / "audio" / "a1.wav", 1.9, 16000)  # labels run to 2.00 s
    _raises(root, wav, "label step")
    _wav(wav, 1.97, 16000)  # short by less than one 40 ms step: accepted
    assert len(load_corpus("generic", root)) == 3


def test_one_label_step_per_corpus(tmp_path):
    root, _ = _generic_root(tmp_path)
    odd = _write(root / "labels" / "b1.csv", _labels_text(_values(90, 4), step=0.02))
    error = _raises(root, odd, "labels every 20 ms, but 2 of the corpus's 3 conversations have 40 ms")
    assert "one label step" in str(error)
    with pytest.warns(UserWarning, match="skipped b1"):
        corpus = load_corpus("generic", root, skip_bad=True)
    assert [c.id for c in corpus] == ["a1", "a2"] and corpus.skipped[0][0] == "b1"


def test_bad_conversation_id(tmp_path):
    root, _ = _generic_root(tmp_path)
    _wav(root / "audio" / "c,1.wav", 2.0, 16000)
    bad = _write(root / "labels" / "c,1.csv", _labels_text(_values(10, 1)))
    _raises(root, bad, "holds a comma")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty speakers file"),
        ("id,speaker\na1,alice\n", "unexpected header"),
        ("conversation,speaker\na1,alice\na1,bob\n", "listed twice .*line 3"),
        ("conversation,speaker\na1\n", "line 2 must hold a conversation and a speaker"),
        ("conversation,speaker\na1,\n", "line 2 must hold"),
        ("conversation,speaker\na1,alice,extra\n", "line 2 must hold"),
    ],
)
def test_bad_speakers_file(tmp_path, text, message):
    root, _ = _generic_root(tmp_path)
    path = _write(root / "speakers.csv", text)
    _raises(root, path, message)
    with pytest.raises(EmoInputError):  # a corpus-wide file: not skippable
        load_corpus("generic", root, skip_bad=True)


def test_conversation_missing_from_the_speakers_file(tmp_path):
    root, _ = _generic_root(tmp_path)
    path = _write(root / "speakers.csv", "conversation,speaker\na1,alice\nb1,bob\n")
    _raises(root, path, "no row for conversation 'a2'")
    with pytest.warns(UserWarning, match="skipped a2"):
        corpus = load_corpus("generic", root, skip_bad=True)
    assert [c.id for c in corpus] == ["a1", "b1"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty turns file"),
        ("begin,stop\n0.1,0.5\n", "unexpected header"),
        ("start,end\n", "no turns"),
        ("start,end\n0.5,0.5\n", "line 2: a turn needs 0 <= start < end"),
        ("start,end\n-0.1,0.5\n", "line 2: a turn needs"),
        ("start,end\n0.1,0.8\n0.6,1.0\n", "line 3: .*overlaps"),
        ("start,end\n1.0,1.5\n0.1,0.5\n", "line 3: .*in order"),
        ("start,end\n0.1,2.05\n", "line 2: .*past the end of the audio"),
        ("start,end\n0.1,x\n", "not a number"),
    ],
)
def test_bad_turns_file(tmp_path, text, message):
    root, _ = _generic_root(tmp_path)
    path = _write(root / "turns" / "a1.csv", text)
    _raises(root, path, message)


def test_read_turns_csv_accepts_a_turn_ending_within_one_step_past_the_audio(tmp_path):
    path = _write(tmp_path / "t.csv", "start,end\r\n0,1.02\r\n")
    assert read_turns_csv(path, duration=1.0, step=0.04) == [(0.0, 1.02)]


def test_validates_every_file_before_parsing(tmp_path):
    root, _ = _generic_root(tmp_path)
    # a1 has a NaN (found only when parsing), b1 has no audio (found by validation)
    _write(root / "labels" / "a1.csv", "time,arousal,valence\n0.00,nan,0\n0.04,0,0\n")
    (root / "audio" / "b1.WAV").unlink()
    _raises(root, root / "audio" / "b1.wav", "missing audio file")


def test_skip_bad(tmp_path):
    root, _ = _generic_root(tmp_path)
    bad_header = _write(root / "labels" / "a2.csv", "time;arousal;valence\n0.00;0;0\n")
    bad_value = _write(root / "labels" / "b1.csv", "time,arousal,valence\n0.00,0,0\n0.04,3,0\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        corpus = load_corpus("generic", root, skip_bad=True)
    assert [c.id for c in corpus] == ["a1"]
    skipped = dict(corpus.skipped)
    assert set(skipped) == {"a2", "b1"}
    assert skipped["a2"].startswith(str(bad_header)) and "unexpected header" in skipped["a2"]
    assert skipped["b1"].startswith(str(bad_value)) and "outside [-1, 1]" in skipped["b1"]
    assert sorted(str(w.message).split(":")[0] for w in caught) == ["skipped a2", "skipped b1"]


def test_unknown_gold_is_refused(tmp_path):
    root, _ = _generic_root(tmp_path)
    with pytest.raises(EmoInputError, match="ccc_centred"):
        load_corpus("generic", root, gold="median")
    # the gold method does not change the labels: they are a gold standard already
    a = load_corpus("generic", root)["a1"].labels
    b = load_corpus("generic", root, gold="ccc_centred")["a1"].labels
    np.testing.assert_array_equal(a, b)
