"""Tests of emo_lib.corpora: the SEMAINE, RECOLA and AVEC 2016 readers on hand-written files.

Every corpus is written by hand in tmp_path in its real layout, with the quirks
of the real files, and the loaded values are checked against values computed
here from the numbers written.
"""

import warnings

import numpy as np
import pytest
import soundfile

from emo_lib.corpora import CORPUS_NAMES, DIMENSIONS, Conversation, Corpus, load_corpus
from emo_lib.corpora.avec2016 import read_gold_arff
from emo_lib.corpora.recola import read_rating_csv
from emo_lib.corpora.semaine import parse_trace_name, read_trace, read_word_transcript
from emo_lib.errors import EmoInputError
from emo_lib.labels import LabelLengthWarning

# SEMAINE raters' traces differ in length by design; tests that check the warning use pytest.warns
pytestmark = pytest.mark.filterwarnings("ignore::emo_lib.labels.LabelLengthWarning")


def _wav(path, seconds, rate, subtype="PCM_16", channels=1, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    data = rng.uniform(-0.5, 0.5, size=(int(round(seconds * rate)), channels))
    soundfile.write(path, data, rate, subtype=subtype)
    return path


def _write(path, text, newline="\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


# ---------------------------------------------------------------------------
# SEMAINE
# ---------------------------------------------------------------------------

def _trace_values(rows, start, slope):
    return [round(start + slope * i, 4) for i in range(rows)]


def _trace_text(values):
    # times start at 0.02, one space separator, values with 4 decimals, trailing blank lines
    lines = [f"{0.02 * (i + 1):.2f} {value:.4f}" for i, value in enumerate(values)]
    return "\n".join(lines) + "\n\n\n"


WORDS_TEXT = (
    "---recording 2 session 3 user turn 1---\n"
    "120 480 HELLO\n"
    "500 900 <LAUGH>\n"
    ".\n"
    "---recording 2 session 3 user turn 2---\n"
    "1200 1350 YES\n"
    "1400 1800 REALLY\n"
    ".\n"
)

# session 3: arousal raters (name, rows, start, slope), valence raters
SEMAINE_AROUSAL = [
    ("R1S2TUCPoDA.txt", 100, 0.1, 0.001),
    ("R2S2TUCPoDA.txt", 98, -0.2, 0.0008),
    ("A3S2TUCPoDA.txt", 99, 0.05, 0.0012),  # 'A' instead of 'R'
]
SEMAINE_VALENCE = [
    ("R1S2TUCPoDV.txt", 100, 0.3, -0.001),
    ("R2S2TUCPoDV.txt", 99, -0.1, -0.0005),
]


def _semaine_session(folder, recording, character, words=True):
    folder.mkdir(parents=True, exist_ok=True)
    _write(
        folder / "session.xml",
        f'<?xml version="1.0"?>\n<session recording="{recording}" character="{character}" />\n',
    )
    for who, seed in (("User", 0), ("Operator", 1)):
        name = f"2009.05.25.11.12.13_{who} HeadMounted_{character}.wav"
        _wav(folder / name, 2.0, 48000, "PCM_24", seed=seed)
    for name, rows, start, slope in SEMAINE_AROUSAL + SEMAINE_VALENCE:
        _write(folder / name, _trace_text(_trace_values(rows, start, slope)))
    if words:
        _write(folder / "wordLevel_alignedTranscript_2.1Poppy_user", WORDS_TEXT)
    return folder


def _semaine_root(tmp_path):
    root = tmp_path / "semaine"
    sessions = root / "Sessions"
    # the interaction under test, with traces that must be left out
    s3 = _semaine_session(sessions / "3", 2, "Poppy")
    _write(s3 / "R1S2TUCPoDAn.txt", _trace_text([0.9] * 100))  # category trace, not arousal
    _write(s3 / "R4S2TUCPoDAgre.txt", _trace_text([0.8] * 100))
    _write(s3 / "R1S2TOCPoDA.txt", _trace_text([-0.9] * 100))  # operator trace
    _write(s3 / "R1S2TUCPoDP.txt", _trace_text([0.7] * 100))  # power
    # another interaction of the same user (recording 2)
    _semaine_session(sessions / "4", 2, "spike")
    # a 'beginning' session with everything present: skipped by its character
    _semaine_session(sessions / "1", 2, "Beginning")
    # an interaction without a user word-level transcript: skipped
    _semaine_session(sessions / "2", 2, "Obadiah", words=False)
    return root


def _expected_mean(specs, length):
    traces = [_trace_values(rows, start, slope)[:length] for _, rows, start, slope in specs]
    return np.mean(traces, axis=0)


def test_semaine_reads_interactions_with_their_quirks(tmp_path):
    root = _semaine_root(tmp_path)
    with pytest.warns(LabelLengthWarning):
        corpus = load_corpus("semaine", root)
    assert isinstance(corpus, Corpus) and corpus.name == "semaine"
    assert [c.id for c in corpus] == ["S3", "S4"]
    skipped = dict(corpus.skipped)
    assert set(skipped) == {"S1", "S2"}
    assert "beginning" in skipped["S1"].lower()
    assert "word-level transcript" in skipped["S2"]

    conv = corpus["S3"]
    assert isinstance(conv, Conversation)
    assert conv.corpus == "semaine" and conv.speaker == "user2" and conv.partition is None
    assert conv.label_step == pytest.approx(0.02) and conv.label_step_ms == 20
    assert conv.audio_path.name == "2009.05.25.11.12.13_User HeadMounted_Poppy.wav"
    assert conv.audio_duration == pytest.approx(2.0)
    # arousal raters: 100, 98, 99 rows; valence: 100, 99 -> everything cut to 98 rows
    length = 98
    np.testing.assert_allclose(conv.times, 0.02 * np.arange(1, length + 1), atol=1e-12)
    assert conv.times[0] == pytest.approx(0.02)
    assert conv.labels.shape == (length, 2) and conv.labels.dtype == np.float32
    assert conv.raters["arousal"].shape == (3, length)
    assert conv.raters["valence"].shape == (2, length)
    expected = np.stack(
        [_expected_mean(SEMAINE_AROUSAL, length), _expected_mean(SEMAINE_VALENCE, length)], axis=1
    )
    np.testing.assert_allclose(conv.labels, expected, atol=1e-6)
    # hand check of the first row: (0.1 - 0.2 + 0.05) / 3 and (0.3 - 0.1) / 2
    np.testing.assert_allclose(conv.labels[0], [-0.05 / 3, 0.1], atol=1e-6)
    # the DAn / DAgre / operator / power traces (all >= 0.7 or -0.9) are not in the arousal mean
    assert conv.labels[:, 0].max() < 0.25
    assert conv.turns == [(0.12, 0.9), (1.2, 1.8)]
    assert conv.words == [
        (0.12, 0.48, "HELLO"),
        (0.5, 0.9, "<LAUGH>"),
        (1.2, 1.35, "YES"),
        (1.4, 1.8, "REALLY"),
    ]
    assert corpus["S4"].speaker == "user2"  # both sessions of recording 2 belong to one user


def test_semaine_rater_truncation_warns_naming_the_session(tmp_path):
    root = _semaine_root(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_corpus("semaine", root)
    messages = [str(w.message) for w in caught if issubclass(w.category, LabelLengthWarning)]
    assert any("arousal traces of session S3" in m and "98" in m for m in messages)


def _ccc(x, y):
    covariance = np.mean((x - x.mean()) * (y - y.mean()))
    return 2 * covariance / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)


def test_semaine_ccc_centred_gold(tmp_path):
    root = _semaine_root(tmp_path)
    with pytest.warns(LabelLengthWarning):
        conv = load_corpus("semaine", root, gold="ccc_centred")["S3"]
    x = np.array([_trace_values(n, start, slope)[:98] for _, n, start, slope in SEMAINE_AROUSAL])
    agreement = np.array(
        [np.mean([_ccc(x[r], x[o]) for o in range(3) if o != r]) for r in range(3)]
    )
    assert np.all(agreement > 0)
    weighted = np.sum(x.mean(axis=1) * agreement) / agreement.sum()
    expected = x.mean(axis=0) - x.mean() + weighted
    np.testing.assert_allclose(conv.labels[:, 0], expected, atol=1e-6)
    assert abs(weighted - x.mean()) > 1e-3  # differs from the plain mean


def test_parse_trace_name_matches_the_dimension_exactly():
    assert parse_trace_name("R5S1TUCPoDA.txt").dimension == "A"
    name = parse_trace_name("A12S3TUCOb2DV.txt")
    fields = (name.prefix, name.rater, name.recording, name.target, name.character, name.repeat)
    assert fields == ("A", 12, 3, "U", "Ob", True) and name.dimension == "V"
    for code in ("An", "Am", "Agre"):
        assert parse_trace_name(f"R5S1TUCPoD{code}.txt").dimension == code
    assert parse_trace_name("R5S1TOCSpDA.txt").target == "O"
    assert parse_trace_name("alignedTranscript_1.1Poppy.txt") is None
    assert parse_trace_name("R5S1TUCPoDA.csv") is None


def test_read_trace_and_words_directly(tmp_path):
    path = _write(tmp_path / "R1S1TUCPoDA.txt", "0.02 0.1000\n0.04 -0.2500\n\n0.06 1e-1\n\n")
    times, values = read_trace(path)
    np.testing.assert_array_equal(times, [0.02, 0.04, 0.06])
    np.testing.assert_array_equal(values, [0.1, -0.25, 0.1])
    words = _write(tmp_path / "wordLevel_alignedTranscript_x_user", WORDS_TEXT, newline="\r\n")
    turns, tokens = read_word_transcript(words)
    assert turns == [(0.12, 0.9), (1.2, 1.8)] and tokens[1] == (0.5, 0.9, "<LAUGH>")


def test_semaine_missing_session_xml(tmp_path):
    root = _semaine_root(tmp_path)
    (root / "Sessions" / "4" / "session.xml").unlink()
    with pytest.raises(EmoInputError, match="session.xml") as info:
        load_corpus("semaine", root)
    assert info.value.path == root / "Sessions" / "4" / "session.xml"


def test_semaine_nan_in_trace(tmp_path):
    root = _semaine_root(tmp_path)
    bad = root / "Sessions" / "4" / "R2S2TUCPoDV.txt"
    _write(bad, "0.02 0.1000\n0.04 nan\n0.06 0.2\n")
    with pytest.raises(EmoInputError, match="NaN") as info:
        load_corpus("semaine", root)
    assert str(bad) in str(info.value)


def test_semaine_malformed_trace_line(tmp_path):
    root = _semaine_root(tmp_path)
    bad = root / "Sessions" / "3" / "R1S2TUCPoDA.txt"
    _write(bad, "0.02 0.1000\n0.04\n0.06 0.2\n")
    with pytest.raises(EmoInputError) as info:
        load_corpus("semaine", root)
    assert str(bad) in str(info.value)


def test_semaine_trace_step_is_checked(tmp_path):
    root = _semaine_root(tmp_path)
    bad = root / "Sessions" / "3" / "R2S2TUCPoDA.txt"
    _write(bad, "".join(f"{0.04 * (i + 1):.2f} 0.1\n" for i in range(49)))
    with pytest.raises(EmoInputError, match="20 ms") as info:
        load_corpus("semaine", root)
    assert info.value.path == bad


def test_semaine_audio_shorter_than_labels(tmp_path):
    root = _semaine_root(tmp_path)
    wav = next((root / "Sessions" / "3").glob("*User HeadMounted*.wav"))
    _wav(wav, 1.5, 48000, "PCM_24")
    with pytest.raises(EmoInputError, match="label") as info:
        load_corpus("semaine", root)
    assert info.value.path == wav


def test_semaine_missing_sessions_folder(tmp_path):
    (tmp_path / "semaine").mkdir()
    with pytest.raises(EmoInputError, match="SEMAINE layout") as info:
        load_corpus("semaine", tmp_path / "semaine")
    assert info.value.path == tmp_path / "semaine" / "Sessions"


# ---------------------------------------------------------------------------
# RECOLA (original release)
# ---------------------------------------------------------------------------

RECOLA_HEADER = "time;FM1 ;FM2 ;FM3 ;FF1 ;FF2 ;FF3"


def _recola_values(rows, seed):
    rng = np.random.default_rng(seed)
    return np.round(rng.uniform(-1, 1, size=(rows, 6)), 2)


def _recola_csv(values, header=RECOLA_HEADER):
    times = 0.04 * np.arange(values.shape[0])
    rows = [f"{t:.2f};" + ";".join(f"{v:.2f}" for v in row) for t, row in zip(times, values)]
    lines = [header] + rows
    return "\n".join(lines) + "\n"


def _annotation(root, dim, pid):
    return root / "RECOLA-Annotation" / "emotional_behaviour" / dim / f"{pid}.csv"


def _set_cell(path, row, column, text):
    """Replace field ``column`` of line ``row`` (0 = header) of a ';'-separated file."""
    lines = path.read_text().splitlines()
    fields = lines[row].split(";")
    fields[column] = text
    lines[row] = ";".join(fields)
    _write(path, "\n".join(lines) + "\n")
    return path


def _recola_root(tmp_path):
    root = tmp_path / "recola"
    values = {}
    for k, pid in enumerate(("P16", "P17")):
        wav = root / "RECOLA-Audio-recordings" / f"{pid}.wav"
        _wav(wav, 2.0, 44100, "PCM_16", channels=1 + k)  # P17 in stereo
        for d, dim in enumerate(DIMENSIONS):
            values[pid, dim] = _recola_values(51, seed=10 * k + d)  # 0.00 ... 2.00 s
            _write(
                root / "RECOLA-Annotation" / "emotional_behaviour" / dim / f"{pid}.csv",
                _recola_csv(values[pid, dim]),
                newline="\r\n" if pid == "P16" else "\n",
            )
    _write(root / "RECOLA-Audio_timings" / "P16.csv", "start;stop\n0.5;1.2\n")
    return root, values


def test_recola_reads_means_of_six_raters(tmp_path):
    root, values = _recola_root(tmp_path)
    corpus = load_corpus("recola", root)
    assert corpus.name == "recola" and corpus.skipped == []
    assert [c.id for c in corpus] == ["P16", "P17"]
    for conv in corpus:
        assert conv.speaker == conv.id and conv.corpus == "recola" and conv.partition is None
        assert conv.label_step_ms == 40 and conv.audio_duration == pytest.approx(2.0)
        np.testing.assert_allclose(conv.times, 0.04 * np.arange(51), atol=1e-9)
        assert conv.times[-1] == pytest.approx(2.0)
        expected = np.stack([values[conv.id, dim].sum(axis=1) / 6 for dim in DIMENSIONS], axis=1)
        np.testing.assert_allclose(conv.labels, expected, atol=1e-6)
        assert conv.labels.dtype == np.float32
        np.testing.assert_allclose(conv.raters["arousal"], values[conv.id, "arousal"].T, atol=1e-6)
        assert conv.turns == [(0.0, pytest.approx(2.0))] and conv.words == []


def test_read_rating_csv_strips_names_and_accepts_crlf(tmp_path):
    text = "time;FM1 ;FM2 \n0.00;0.00;-0.50\n0.04;0,25;0.75\n\n"
    path = _write(tmp_path / "P1.csv", text, newline="\r\n")
    table = read_rating_csv(path)
    assert table.raters == ["FM1", "FM2"]
    np.testing.assert_array_equal(table.times, [0.0, 0.04])
    np.testing.assert_array_equal(table.values, [[0.0, 0.25], [-0.5, 0.75]])


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_missing_root(tmp_path, name):
    missing = tmp_path / "nowhere"
    with pytest.raises(EmoInputError, match="expected the .* layout") as info:
        load_corpus(name, missing)
    assert str(missing) in str(info.value)


def test_recola_missing_subfolder_names_the_layout(tmp_path):
    root, _ = _recola_root(tmp_path)
    folder = root / "RECOLA-Annotation" / "emotional_behaviour" / "valence"
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    with pytest.raises(EmoInputError, match="original RECOLA layout") as info:
        load_corpus("recola", root)
    assert info.value.path == folder


def test_recola_missing_file(tmp_path):
    root, _ = _recola_root(tmp_path)
    missing = _annotation(root, "arousal", "P17")
    missing.unlink()
    with pytest.raises(EmoInputError, match="missing") as info:
        load_corpus("recola", root)
    assert info.value.path == missing


def test_recola_wav_that_is_not_audio(tmp_path):
    root, _ = _recola_root(tmp_path)
    wav = _write(root / "RECOLA-Audio-recordings" / "P16.wav", "time;FM1\n0.00;0.1\n")
    with pytest.raises(EmoInputError) as info:
        load_corpus("recola", root)
    assert str(wav) in str(info.value)


def test_recola_empty_wav(tmp_path):
    root, _ = _recola_root(tmp_path)
    wav = root / "RECOLA-Audio-recordings" / "P17.wav"
    wav.write_bytes(b"")
    with pytest.raises(EmoInputError) as info:
        load_corpus("recola", root)
    assert str(wav) in str(info.value)
    soundfile.write(wav, np.zeros((0, 1)), 44100, subtype="PCM_16")  # a header, no samples
    with pytest.raises(EmoInputError) as info:
        load_corpus("recola", root)
    assert str(wav) in str(info.value)


@pytest.mark.parametrize("header", ["time,FM1,FM2,FM3", "frame;FM1 ;FM2", "time;", "time"])
def test_recola_csv_with_another_header(tmp_path, header):
    root, values = _recola_root(tmp_path)
    bad = _write(_annotation(root, "valence", "P17"),
                 _recola_csv(values["P17", "valence"], header=header))
    with pytest.raises(EmoInputError, match="unexpected header") as info:
        load_corpus("recola", root)
    assert info.value.path == bad


@pytest.mark.parametrize(("cell", "message"), [("nan", "NaN"), ("NaN", "NaN"), ("", "empty")])
def test_recola_nan_values(tmp_path, cell, message):
    root, values = _recola_root(tmp_path)
    path = _set_cell(_annotation(root, "arousal", "P16"), 5, 3, cell)
    with pytest.raises(EmoInputError, match=message) as info:
        load_corpus("recola", root)
    assert info.value.path == path


def test_recola_audio_shorter_than_labels(tmp_path):
    root, _ = _recola_root(tmp_path)
    wav = _wav(root / "RECOLA-Audio-recordings" / "P17.wav", 1.9, 44100)  # labels run to 2.00 s
    with pytest.raises(EmoInputError, match="label step") as info:
        load_corpus("recola", root)
    assert info.value.path == wav
    _wav(wav, 1.97, 44100)  # short by less than one 40 ms step: accepted
    assert len(load_corpus("recola", root)) == 2


def test_recola_arousal_and_valence_of_unequal_length(tmp_path):
    root, values = _recola_root(tmp_path)
    path = _write(_annotation(root, "valence", "P16"),
                  _recola_csv(values["P16", "valence"][:40]))
    with pytest.raises(EmoInputError, match="unequal") as info:
        load_corpus("recola", root)
    assert info.value.path == path


def test_recola_validates_every_file_before_parsing(tmp_path):
    root, _ = _recola_root(tmp_path)
    # P16 has a NaN (found only when parsing), P17 has no audio (found by validation)
    _set_cell(_annotation(root, "arousal", "P16"), 2, 1, "nan")
    wav = root / "RECOLA-Audio-recordings" / "P17.wav"
    wav.unlink()
    with pytest.raises(EmoInputError) as info:
        load_corpus("recola", root)
    assert info.value.path == wav


def test_recola_skip_bad(tmp_path):
    root, values = _recola_root(tmp_path)
    bad = _write(_annotation(root, "valence", "P17"),
                 _recola_csv(values["P17", "valence"], header="frame;FM1"))
    with pytest.warns(UserWarning, match="P17"):
        corpus = load_corpus("recola", root, skip_bad=True)
    assert [c.id for c in corpus] == ["P16"]
    assert len(corpus.skipped) == 1 and corpus.skipped[0][0] == "P17"
    assert str(bad) in corpus.skipped[0][1]
    # a conversation that fails while parsing (NaN) is skipped as well
    _set_cell(_annotation(root, "arousal", "P16"), 2, 1, "nan")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        corpus = load_corpus("recola", root, skip_bad=True)
    assert sorted(str(w.message).split(":")[0] for w in caught) == ["skipped P16", "skipped P17"]
    assert len(corpus) == 0 and {what for what, _ in corpus.skipped} == {"P16", "P17"}


def test_unknown_corpus_and_gold(tmp_path):
    with pytest.raises(EmoInputError, match="semaine, recola, recola-avec2016"):
        load_corpus("iemocap", tmp_path)
    root, _ = _recola_root(tmp_path)
    with pytest.raises(EmoInputError, match="ccc_centred"):
        load_corpus("recola", root, gold="median")


# ---------------------------------------------------------------------------
# RECOLA as packaged for AVEC 2016
# ---------------------------------------------------------------------------


def _arff_text(stem, values, dim="AROUSAL"):
    # the official template: 9 header lines, blank lines, unquoted instance names, CRLF
    header = (
        f"@relation GOLDSTANDARD_{dim}\n\n@attribute Instance_name string\n"
        "@attribute frameTime numeric\n@attribute GoldStandard numeric\n\n\n@data\n\n"
    )
    # times in shortest form: 0, 0.04, ..., 0.1, ..., 1, ...
    rows = [f"{stem},{f'{0.04 * i:.2f}'.rstrip('0').rstrip('.')},{v}" for i, v in enumerate(values)]
    return header + "\n".join(rows) + "\n\n"


def _avec_values(rows, seed):
    rng = np.random.default_rng(seed)
    values = [f"{v:.6g}" for v in rng.uniform(-0.5, 0.5, rows)]
    values[3] = "-1.234e-05"  # exponent form
    values[4] = "2.5E-3"
    return values


def _avec_root(tmp_path, rows=51):
    root = tmp_path / "avec"
    gold = {}
    for partition in ("train", "dev", "test"):
        _wav(root / "recordings_audio" / f"{partition}_1.wav", 2.0, 16000)
    for s, stem in enumerate(("train_1", "dev_1")):
        for d, dim in enumerate(DIMENSIONS):
            gold[stem, dim] = _avec_values(rows, seed=10 * s + d)
            _write(root / "ratings_gold_standard" / dim / f"{stem}.arff",
                   _arff_text(stem, gold[stem, dim], dim.upper()), newline="\r\n")
    raters = {}
    for d, dim in enumerate(DIMENSIONS):  # individual ratings for train_1 only
        raters[dim] = _recola_values(rows, seed=100 + d)
        path = root / "ratings_individual" / dim / "train_1.csv"
        _write(path, _recola_csv(raters[dim]), newline="\r\n")
    return root, gold, raters


def test_avec2016_reads_partitions_arff_and_ratings(tmp_path):
    root, gold, raters = _avec_root(tmp_path)
    corpus = load_corpus("recola-avec2016", root)
    assert corpus.name == "recola-avec2016"
    assert [c.id for c in corpus] == ["dev_1", "test_1", "train_1"]
    assert [c.partition for c in corpus] == ["dev", "test", "train"]
    for stem in ("train_1", "dev_1"):
        conv = corpus[stem]
        assert conv.speaker == stem and conv.corpus == "recola-avec2016"
        assert conv.label_step_ms == 40
        np.testing.assert_allclose(conv.times, 0.04 * np.arange(51), atol=1e-9)
        expected = np.stack([[float(v) for v in gold[stem, dim]] for dim in DIMENSIONS], axis=1)
        np.testing.assert_array_equal(conv.labels, expected.astype(np.float32))
        assert conv.labels[3, 0] == np.float32(-1.234e-05)
        assert conv.labels[4, 0] == np.float32(0.0025)
    np.testing.assert_allclose(corpus["train_1"].raters["valence"], raters["valence"].T, atol=1e-6)
    assert corpus["dev_1"].raters == {}
    test = corpus["test_1"]
    assert test.labels is None and test.raters == {}
    np.testing.assert_allclose(test.times, 0.04 * np.arange(51), atol=1e-9)
    assert test.turns == [(0.0, pytest.approx(2.0))]


def test_read_gold_arff_directly(tmp_path):
    text = _arff_text("dev_2", ["0.5", "-3e-1", "1.0E-2"])
    path = _write(tmp_path / "dev_2.arff", text, newline="\r\n")
    labels = read_gold_arff(path)
    np.testing.assert_array_equal(labels.times, [0.0, 0.04, 0.08])
    np.testing.assert_array_equal(labels.values, [0.5, -0.3, 0.01])


@pytest.mark.parametrize("cut", ["header", "row", "no-rows"])
def test_avec2016_truncated_arff(tmp_path, cut):
    root, _, _ = _avec_root(tmp_path)
    path = root / "ratings_gold_standard" / "valence" / "dev_1.arff"
    text = path.read_bytes().decode()
    if cut == "header":
        text = text[: text.index("@attribute frameTime") + 12]
    elif cut == "row":
        text = text[: text.index("dev_1,0.12,") + 9]
    else:
        text = text[: text.index("@data") + 5]
    path.write_bytes(text.encode())
    with pytest.raises(EmoInputError) as info:
        load_corpus("recola-avec2016", root)
    assert info.value.path == path


def test_avec2016_missing_value_in_arff(tmp_path):
    root, _, _ = _avec_root(tmp_path)
    path = root / "ratings_gold_standard" / "arousal" / "train_1.arff"
    lines = path.read_bytes().decode().split("\r\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("train_1,0.08,"))
    lines[index] = "train_1,0.08,?"
    path.write_bytes("\r\n".join(lines).encode())
    with pytest.raises(EmoInputError, match="NaN") as info:
        load_corpus("recola-avec2016", root)
    assert info.value.path == path


def test_avec2016_missing_gold_standard_file(tmp_path):
    root, _, _ = _avec_root(tmp_path)
    missing = root / "ratings_gold_standard" / "valence" / "train_1.arff"
    missing.unlink()
    with pytest.raises(EmoInputError, match="missing") as info:
        load_corpus("recola-avec2016", root)
    assert info.value.path == missing


def test_avec2016_unequal_arousal_and_valence(tmp_path):
    root, gold, _ = _avec_root(tmp_path)
    path = _write(root / "ratings_gold_standard" / "valence" / "dev_1.arff",
                  _arff_text("dev_1", gold["dev_1", "valence"][:30], "VALENCE"), newline="\r\n")
    with pytest.raises(EmoInputError, match="unequal") as info:
        load_corpus("recola-avec2016", root)
    assert info.value.path == path


def test_avec2016_ratings_csv_with_another_header(tmp_path):
    root, _, raters = _avec_root(tmp_path)
    path = _write(root / "ratings_individual" / "arousal" / "train_1.csv",
                  _recola_csv(raters["arousal"], header="Time,FM1,FM2,FM3,FF1,FF2,FF3"))
    with pytest.raises(EmoInputError, match="unexpected header") as info:
        load_corpus("recola-avec2016", root)
    assert info.value.path == path


def test_avec2016_skip_bad(tmp_path):
    root, _, _ = _avec_root(tmp_path)
    wav = root / "recordings_audio" / "dev_1.wav"
    wav.write_bytes(b"RIFF not really")
    with pytest.warns(UserWarning, match="dev_1"):
        corpus = load_corpus("recola-avec2016", root, skip_bad=True)
    assert [c.id for c in corpus] == ["test_1", "train_1"]
    assert corpus.skipped[0][0] == "dev_1" and str(wav) in corpus.skipped[0][1]


def test_avec2016_missing_subfolder(tmp_path):
    root, _, _ = _avec_root(tmp_path)
    for path in (root / "ratings_gold_standard" / "arousal").iterdir():
        path.unlink()
    (root / "ratings_gold_standard" / "arousal").rmdir()
    with pytest.raises(EmoInputError, match="AVEC 2016") as info:
        load_corpus("recola-avec2016", root)
    assert info.value.path == root / "ratings_gold_standard" / "arousal"
