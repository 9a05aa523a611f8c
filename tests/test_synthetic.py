"""Tests of the synthetic stand-in corpus (emo_lib.corpora.synthetic) and its generator (emo_lib.synthesis).

Each layout is written at a tiny size and read back with the project's
readers (load_corpus); file formats are checked on the raw bytes; the acoustic
correlates are measured on the generated audio and compared with the hidden
trajectories that drove them.
"""

import hashlib
import json
import re

import arff
import librosa
import numpy as np
import pytest
import scipy.signal
import scipy.stats
import soundfile

from emo_lib import synthesis as syn
from emo_lib.audio import znormalise
from emo_lib.corpora import load_corpus
from emo_lib.corpora.synthetic import (
    MARKER_NAME,
    PARTIAL_MARKER_NAME,
    RECOLA_PARTICIPANTS,
    RECOLA_PUBLIC_PARTICIPANTS,
    SYNTHETIC_CORPUS_DESCRIPTION,
    TOWER_TEST_DESCRIPTION,
    describe_synthetic_corpus,
    write_synthetic_corpus,
)
from emo_lib.errors import EmoInputError
from emo_lib.features import log_mel_deltas

# SEMAINE raters' traces differ in length by design; the reader warns about it
pytestmark = pytest.mark.filterwarnings("ignore::emo_lib.labels.LabelLengthWarning")

TRACE_NAME = re.compile(r"^([RA])(\d+)S(\d+)T([UO])C(Po|Sp|Pr|Ob)2?D([A-Za-z]+)\.txt$")


def _db(x):
    return 10 * np.log10(np.mean(np.square(x)) + 1e-20)


def _hashes(root):
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------------------
# Layouts, read back with the readers
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def semaine(tmp_path_factory):
    root = tmp_path_factory.mktemp("semaine")
    write_synthetic_corpus(
        "semaine", root, seed=3, n_speakers=2, conversations_per_speaker=2, duration_s=10, progress=False
    )
    return root


def test_semaine_layout_loads(semaine):
    corpus = load_corpus("semaine", semaine)
    assert len(corpus) == 4
    assert [why for _what, why in corpus.skipped] == ["not a character interaction (character 'beginning')"]
    assert sorted({c.speaker for c in corpus}) == ["user1", "user2"]
    for conv in corpus:
        assert conv.label_step == pytest.approx(0.02)
        assert conv.times[0] == pytest.approx(0.02)
        assert np.allclose(np.diff(conv.times), 0.02)
        assert conv.labels.shape == (conv.times.size, 2)
        assert np.all(np.abs(conv.labels) <= 1) and conv.labels.std(axis=0).min() > 0.01
        assert 6 <= conv.raters["arousal"].shape[0] <= 8
        assert conv.audio_duration == pytest.approx(10.0)
        assert conv.words and conv.turns
        info = soundfile.info(str(conv.audio_path))
        assert (info.samplerate, info.subtype, info.channels) == (48000, "PCM_24", 1)
        assert " HeadMounted_" in conv.audio_path.name


def test_semaine_files_follow_the_format(semaine):
    sessions = sorted((semaine / "Sessions").iterdir(), key=lambda p: int(p.name))
    numbers = [int(p.name) for p in sessions]
    assert numbers != list(range(numbers[0], numbers[0] + len(numbers)))  # gaps between recordings
    characters = []
    lengths_differ = trailing_blank = a_prefix = False
    for folder in sessions:
        xml = (folder / "session.xml").read_text()
        character = re.search(r'character="([^"]+)"', xml).group(1)
        recording = int(re.search(r'recording="(\d+)"', xml).group(1))
        characters.append(character)
        names = sorted(p.name for p in folder.iterdir())
        assert len([n for n in names if n.endswith(".wav") and "_User HeadMounted_" in n]) == 1
        assert len([n for n in names if n.endswith(".wav") and "_Operator HeadMounted_" in n]) == 1
        assert len([n for n in names if re.fullmatch(r"wordLevel_alignedTranscript.*_user", n)]) == 1
        assert len([n for n in names if re.fullmatch(r"wordLevel_alignedTranscript.*_operator", n)]) == 1
        traces = [TRACE_NAME.match(n) for n in names if n.endswith(".txt") and not n.startswith("aligned")]
        if character.lower() == "beginning":
            assert traces == []
            continue
        assert all(traces)
        assert {int(m.group(3)) for m in traces} == {recording}
        dims = {(m.group(4), m.group(6)) for m in traces}
        assert {("U", "A"), ("U", "V"), ("U", "An"), ("O", "A"), ("O", "V")} <= dims
        a_prefix |= any(m.group(1) == "A" for m in traces)
        lengths = set()
        for m in traces:
            text = (folder / m.group(0)).read_text()
            trailing_blank |= text.endswith("\n\n")
            lines = text.rstrip("\n").split("\n")
            assert lines[0].startswith("0.02 ")
            assert all(re.fullmatch(r"\d+\.\d\d -?\d\.\d{4}", line) for line in lines)
            if m.group(4) == "U" and m.group(6) == "A":
                lengths.add(len(lines))
        lengths_differ |= len(lengths) > 1
        # the category trace holds other values than the arousal trace of the same rater
        cat = next(m for m in traces if m.group(6) == "An")
        da = (folder / cat.group(0).replace("DAn.txt", "DA.txt")).read_text().split()
        dan = (folder / cat.group(0)).read_text().split()
        assert da[1::2][:400] != dan[1::2][:400]
    assert "beginning" in characters
    assert any(c != c.lower() for c in characters) and any(c == c.lower() != "beginning" for c in characters)
    assert lengths_differ and trailing_blank and a_prefix


def test_semaine_labels_are_the_mean_of_the_da_files(semaine):
    """The reader's gold standard is the mean of exactly the R/A...DA.txt files (not DAn)."""
    corpus = load_corpus("semaine", semaine)
    for conv in corpus:
        folder = conv.audio_path.parent
        for d, code in enumerate("AV"):
            rows = []
            for path in sorted(folder.iterdir()):
                m = TRACE_NAME.match(path.name)
                if m and m.group(4) == "U" and m.group(6) == code:
                    rows.append(np.loadtxt(path)[:, 1])
            n = min(len(r) for r in rows)
            assert conv.labels.shape[0] == n
            assert np.allclose(conv.labels[:, d], np.mean([r[:n] for r in rows], axis=0), atol=1e-4)


def test_semaine_words_match_the_audio(semaine):
    corpus = load_corpus("semaine", semaine)
    for conv in corpus:
        user, rate = soundfile.read(str(conv.audio_path))
        operator_path = next(conv.audio_path.parent.glob("*_Operator HeadMounted_*.wav"))
        operator, _ = soundfile.read(str(operator_path))
        for start, end, _word in conv.words:
            assert _db(user[int(start * rate) : int(end * rate)]) > -50
        assert conv.turns == [(t[0], t[1]) for t in conv.turns]
        # between the user's turns the user track is silent and the operator talks
        silent = np.ones(user.size, bool)
        for start, end in conv.turns:
            silent[int((start - 0.05) * rate) : int((end + 0.06) * rate)] = False
        silent[: int(0.3 * rate)] = False
        assert _db(user[silent]) < -60
        assert _db(operator[silent]) > -45
        assert _db(operator[~silent]) < _db(user[~silent]) - 10


def test_semaine_revisited_characters_carry_the_2_suffix(tmp_path):
    root = write_synthetic_corpus("semaine", tmp_path / "s", n_speakers=1, conversations_per_speaker=5,
                                  duration_s=5, progress=False)  # fmt: skip
    corpus = load_corpus("semaine", root)
    assert len(corpus) == 5
    names = [p.name for p in root.glob("Sessions/*/R*S1TUC*DA.txt")]
    assert any("CPo2DA" in n for n in names) and any("CPoDA" in n for n in names)


@pytest.fixture(scope="module")
def recola(tmp_path_factory):
    root = tmp_path_factory.mktemp("recola")
    write_synthetic_corpus("recola", root, seed=1, n_speakers=3, duration_s=8, progress=False)
    return root


def test_recola_layout_loads(recola):
    corpus = load_corpus("recola", recola)
    assert [c.id for c in corpus] == ["P16", "P17", "P19"]
    for conv in corpus:
        assert conv.label_step == pytest.approx(0.04)
        assert conv.times.size == 201 and conv.times[0] == 0 and conv.times[-1] == pytest.approx(8.0)
        assert conv.raters["arousal"].shape == (6, 201)
        assert np.all(np.abs(conv.labels) <= 1)
        assert np.all(conv.labels[0] == 0)  # raters have not moved yet
        info = soundfile.info(str(conv.audio_path))
        assert (info.samplerate, info.subtype, info.channels) == (44100, "PCM_16", 1)
        assert info.duration == pytest.approx(8.0)


def test_recola_files_follow_the_format(recola):
    endings = set()
    for pid in ("P16", "P17", "P19"):
        for dim in ("arousal", "valence"):
            raw = (recola / "RECOLA-Annotation/emotional_behaviour" / dim / f"{pid}.csv").read_bytes()
            endings.add("crlf" if b"\r\n" in raw else "lf")
            lines = raw.decode().splitlines()
            assert lines[0] == "time;FM1 ;FM2 ;FM3 ;FF1 ;FF2 ;FF3"
            assert lines[1] == "0.00;0.00;0.00;0.00;0.00;0.00;0.00"
            assert all(re.fullmatch(r"\d+\.\d\d(;-?\d\.\d\d){6}", line) for line in lines[1:])
            times = [float(line.split(";")[0]) for line in lines[1:]]
            assert np.allclose(times, 0.04 * np.arange(201))
        timings = (recola / "RECOLA-Audio_timings" / f"{pid}.csv").read_text().splitlines()
        assert timings[0] == "start;stop" and len(timings) > 1
    assert endings == {"crlf", "lf"}


def test_avec2016_layout_loads(tmp_path):
    root = write_synthetic_corpus("recola-avec2016", tmp_path / "avec", seed=2, n_speakers=2, duration_s=6,
                                  progress=False)  # fmt: skip
    corpus = load_corpus("recola-avec2016", root)
    assert sorted(c.id for c in corpus) == ["dev_1", "dev_2", "test_1", "test_2", "train_1", "train_2"]
    assert not list((root / "ratings_gold_standard").rglob("test_*"))
    for conv in corpus:
        info = soundfile.info(str(conv.audio_path))
        assert (info.samplerate, info.subtype) == (16000, "PCM_16")
        if conv.partition == "test":
            assert conv.labels is None
            continue
        assert conv.partition == conv.id.split("_")[0]
        assert conv.label_step == pytest.approx(0.04) and conv.times.size == 151
        for d, dim in enumerate(("arousal", "valence")):
            raw = (root / "ratings_gold_standard" / dim / f"{conv.id}.arff").read_bytes()
            assert raw.count(b"\r\n") == raw.count(b"\n") == 9 + 151
            lines = raw.decode().split("\r\n")
            assert lines[:9] == [f"@relation GOLDSTANDARD_{dim.upper()}", "",
                                 "@attribute Instance_name string", "@attribute frameTime numeric",
                                 "@attribute GoldStandard numeric", "", "", "@data", ""]  # fmt: skip
            rows = [line.split(",") for line in lines[9:-1]]
            assert [r[1] for r in rows[:3]] + [rows[25][1], rows[-1][1]] == ["0", "0.04", "0.08", "1", "6"]
            assert all(r[0] == conv.id for r in rows)
            assert any("e-" in r[2] for r in rows)
            assert max(len(r[2].lstrip("-").replace(".", "").split("e")[0].lstrip("0")) for r in rows) <= 6
            # liac-arff reads it; the gold standard is the mean of the individual ratings (2 decimals)
            data = np.array([row[2] for row in arff.loads(raw.decode())["data"]], dtype=float)
            assert np.allclose(conv.labels[:, d], data, atol=1e-6)
            individual = (root / "ratings_individual" / dim / f"{conv.id}.csv").read_text().splitlines()
            assert individual[0] == "time;FM1 ;FM2 ;FM3 ;FF1 ;FF2 ;FF3"
            ratings = np.array([[float(x) for x in line.split(";")[1:]] for line in individual[1:]])
            assert np.allclose(ratings.mean(axis=1), data, atol=0.0051)


# ---------------------------------------------------------------------------
# Determinism, refusal, rewriting
# ---------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(tmp_path):
    for corpus in ("semaine", "recola-avec2016"):
        sizes = {"n_speakers": 1, "duration_s": 6, "progress": False}
        if corpus == "semaine":
            sizes["conversations_per_speaker"] = 1
        a = _hashes(write_synthetic_corpus(corpus, tmp_path / f"{corpus}-a", seed=5, **sizes))
        b = _hashes(write_synthetic_corpus(corpus, tmp_path / f"{corpus}-b", seed=5, **sizes))
        c = _hashes(write_synthetic_corpus(corpus, tmp_path / f"{corpus}-c", seed=6, **sizes))
        assert a == b
        assert len(a) > 3 and MARKER_NAME in a and PARTIAL_MARKER_NAME not in a
        wavs_a = {h for k, h in a.items() if k.endswith(".wav")}
        wavs_c = {h for k, h in c.items() if k.endswith(".wav")}
        assert len(wavs_a) == len(wavs_c) > 0 and not wavs_a & wavs_c  # another seed, other audio
        # rewriting in place with the same seed changes nothing
        again = write_synthetic_corpus(corpus, tmp_path / f"{corpus}-a", seed=5, **sizes)
        assert _hashes(again) == a


def test_refuses_foreign_or_other_folders(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(EmoInputError, match="refusing"):
        write_synthetic_corpus("recola", foreign, n_speakers=1, duration_s=5, progress=False)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]

    recola = write_synthetic_corpus("recola", tmp_path / "recola", n_speakers=1, duration_s=5, progress=False)
    with pytest.raises(EmoInputError, match="'recola' corpus, not 'semaine'"):
        write_synthetic_corpus("semaine", recola, n_speakers=1, duration_s=5, progress=False)

    a_file = tmp_path / "file.wav"
    a_file.write_bytes(b"RIFF")
    with pytest.raises(EmoInputError, match="not a folder"):
        write_synthetic_corpus("recola", a_file, progress=False)

    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / MARKER_NAME).write_text("{not json")
    with pytest.raises(EmoInputError, match="unreadable marker"):
        write_synthetic_corpus("recola", tmp_path / "bad", progress=False)


def test_rewrite_removes_files_of_the_previous_corpus(tmp_path):
    root = tmp_path / "semaine"
    write_synthetic_corpus("semaine", root, n_speakers=1, conversations_per_speaker=2, duration_s=6, progress=False)
    (root / "user-notes.txt").write_text("not part of the corpus")
    assert len(load_corpus("semaine", root)) == 2
    write_synthetic_corpus("semaine", root, n_speakers=1, conversations_per_speaker=1, duration_s=6, progress=False)
    assert len(load_corpus("semaine", root)) == 1
    marker = json.loads((root / MARKER_NAME).read_text())
    on_disk = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert on_disk == sorted(marker["files"] + [MARKER_NAME, "user-notes.txt"])
    assert marker["complete"] is True and marker["corpus"] == "semaine"
    assert marker["parameters"]["conversations_per_speaker"] == 1
    assert len(list((root / "Sessions").iterdir())) == 2  # beginning + one character session


@pytest.mark.parametrize(
    "corpus, options, message",
    [
        ("iemocap", {}, "unknown corpus"),
        ("recola", {"duration_s": 2}, "duration_s"),
        ("recola", {"n_speakers": 47}, "n_speakers"),
        ("generic", {"n_speakers": 0}, "n_speakers"),
        ("generic", {"conversations_per_speaker": 9}, "conversations_per_speaker"),
        ("generic", {"label_step_ms": 30}, "label_step_ms must be 20 or 40"),
        ("generic", {"label_step_ms": 0.04}, "label_step_ms must be 20 or 40"),
        ("semaine", {"label_step_ms": 40}, "label_step_ms is 20 in the semaine layout"),
        ("recola", {"cues": "loud"}, "unknown cues"),
        ("recola", {"conversations_per_speaker": 2}, "conversations_per_speaker"),
        ("semaine", {"conversations_per_speaker": 9}, "conversations_per_speaker"),
        ("recola-avec2016", {"n_speakers": 0}, "n_speakers"),
        ("semaine", {"seed": -1}, "seed"),
        ("semaine", {"duration_s": "long"}, "duration_s"),
    ],
)
def test_bad_arguments(tmp_path, corpus, options, message):
    with pytest.raises(EmoInputError, match=message):
        write_synthetic_corpus(corpus, tmp_path / "out", progress=False, **options)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------
# The generator: hidden trajectories, correlates, raters
# ---------------------------------------------------------------------------


def test_emotion_trajectory_is_slow_and_bounded():
    rng = np.random.default_rng(0)
    traj = syn.emotion_trajectory(3000.0, rng, spread=0.1)  # nearly linear tanh
    assert traj.shape == (300001, 2)
    assert np.all(np.abs(traj) < 1)
    for d in range(2):
        x = traj[:, d] - traj[:, d].mean()

        def autocorr(lag_s):
            k = int(round(lag_s / syn.EMOTION_STEP_SECONDS))
            return np.dot(x[:-k], x[k:]) / np.dot(x, x)

        assert autocorr(1.0) > 0.9
        assert 0.25 < autocorr(syn.CORRELATION_SECONDS) < 0.5  # 1/e = 0.37
    assert abs(np.corrcoef(traj[:, 0], traj[:, 1])[0, 1]) < 0.15
    wide = syn.emotion_trajectory(600.0, rng)
    assert wide.min() < -0.6 and wide.max() > 0.6 and np.all(np.abs(wide) < 1)


def _speaker(seed, duration, emotion, sample_rate=16000, laughter=True, sex="female", cues="standard"):
    rng = np.random.default_rng(seed)
    voice = syn.random_voice(rng, sex)
    turns, _ = syn.alternating_turns(duration, rng, own_s=(6.0, 12.0), other_s=(1.0, 2.0))
    return syn.synthesize_speech(turns, duration, sample_rate, voice, emotion, rng, laughter=laughter, cues=cues)


def test_rms_per_second_follows_hidden_arousal():
    rng = np.random.default_rng(11)
    emotion = syn.emotion_trajectory(60.0, rng)
    track = _speaker(11, 60.0, emotion)
    rate = track.sample_rate
    loud, arousal = [], []
    for second in range(60):
        middle = second + 0.5
        if any(s + 0.5 <= middle <= e - 0.5 for s, e in track.speech_regions):
            loud.append(_db(track.signal[second * rate : (second + 1) * rate]))
            arousal.append(syn.emotion_at(emotion, middle)[0])
    assert len(loud) > 20 and np.std(arousal) > 0.2
    assert np.corrcoef(loud, arousal)[0, 1] > 0.6


def _constant(a, v, duration):
    return np.tile([a, v], (int(duration / syn.EMOTION_STEP_SECONDS) + 1, 1))


def _f0(track):
    f0 = librosa.yin(track.signal, fmin=60, fmax=600, sr=track.sample_rate, frame_length=1024, hop_length=160)
    return f0, np.arange(f0.size) * 160 / track.sample_rate


def test_arousal_correlates_have_their_documented_sizes():
    duration = 30.0
    low = _speaker(4, duration, _constant(-0.8, 0.0, duration), laughter=False)
    high = _speaker(4, duration, _constant(0.8, 0.0, duration), laughter=False)
    speech_low = np.concatenate([low.signal[int(s * 16000) : int(e * 16000)] for s, e, _ in low.words])
    speech_high = np.concatenate([high.signal[int(s * 16000) : int(e * 16000)] for s, e, _ in high.words])
    # level: +-9 dB at +-1, so 14.4 dB between -0.8 and +0.8
    assert _db(speech_high) - _db(speech_low) == pytest.approx(1.6 * syn.AROUSAL_LEVEL_DB, abs=2.5)
    # syllable rate 4 -+ 1.2 per second: 2.8 vs 5.2
    syllables = [sum(len(re.findall("[AEIOU]", w)) for _s, _e, w in t.words) / sum(e - s for s, e, _ in t.words)
                 for t in (low, high)]  # fmt: skip
    assert syllables[0] == pytest.approx(4.0 - 1.2, rel=0.2) and syllables[1] == pytest.approx(4.0 + 1.2, rel=0.2)
    # pitch: +-4 semitones, so 6.4 semitones between them (median over voiced frames)
    medians = []
    for track in (low, high):
        f0, t = _f0(track)
        inside = np.zeros(f0.size, bool)
        for s, e, _w in track.words:
            inside |= (t > s + 0.05) & (t < e - 0.05)
        medians.append(np.median(f0[inside]))
    assert 12 * np.log2(medians[1] / medians[0]) == pytest.approx(1.6 * syn.AROUSAL_PITCH_SEMITONES, abs=1.5)


def test_valence_correlates_have_their_documented_sizes():
    duration = 30.0
    tracks = [_speaker(7, duration, _constant(0.0, v, duration), laughter=False) for v in (-0.8, 0.8)]
    assert tracks[0].words == tracks[1].words  # same words, only valence differs
    ratios, slopes = [], []
    for track in tracks:
        spec = np.abs(librosa.stft(track.signal, n_fft=1024, hop_length=256)) ** 2
        freqs = librosa.fft_frequencies(sr=16000, n_fft=1024)
        ratios.append(10 * np.log10(spec[freqs > 3000].sum() / spec[freqs < 1000].sum()))
        f0, t = _f0(track)
        rises = []
        for s, e, _w in track.words:
            if e - s < 0.4:
                continue
            first = f0[(t > s + 0.05) & (t < s + 0.3 * (e - s))]
            last = f0[(t > e - 0.3 * (e - s)) & (t < e - 0.05)]
            rises.append(12 * np.log2(np.median(last) / np.median(first)))
        slopes.append(np.median(rises))
    # high shelf +-8 dB above 2 kHz: 12.8 dB apart at +-0.8 (formant shift adds a little)
    assert ratios[1] - ratios[0] == pytest.approx(1.6 * syn.VALENCE_SHELF_DB, abs=3.0)
    # pitch falls within a word at negative valence and rises at positive valence
    assert slopes[0] < -1.0 and slopes[1] > 1.0


def test_rater_traces_lag_smooth_and_start_at_zero():
    rng = np.random.default_rng(3)
    hidden = syn.emotion_trajectory(120.0, rng, spread=1.0)[:, 0]
    times = 0.04 * np.arange(3001)
    traces = syn.rater_traces(hidden, times, rng, 6)
    assert traces.shape == (6, 3001)
    assert np.all(np.abs(traces) <= 1)
    assert np.all(traces[:, times < 0.3] == 0) and np.all(traces[:, times > 3.0] != 0)
    truth = np.interp(times, syn.EMOTION_STEP_SECONDS * np.arange(hidden.size), hidden)
    later = times > 5
    for trace in traces:
        lags = np.arange(0, 76)  # 0 to 3 s
        corr = [np.corrcoef(trace[later][k:], truth[later][: truth[later].size - k])[0, 1] for k in lags]
        best = 0.04 * lags[int(np.argmax(corr))]
        assert max(corr) > 0.9
        assert 0.5 <= best <= 2.0 + 0.6 + 0.2  # reaction lag plus the smoothing's own delay
    assert np.std(traces[:, later].mean(axis=1)) > 0.0  # per-rater biases differ


def test_description_states_the_documented_sizes():
    text = describe_synthetic_corpus()
    assert text == SYNTHETIC_CORPUS_DESCRIPTION
    assert "not emotional speech" in text
    for number in (syn.AROUSAL_LEVEL_DB, syn.AROUSAL_PITCH_SEMITONES, syn.VALENCE_SHELF_DB, syn.CORRELATION_SECONDS):
        assert f"{number:g}" in text
    low = syn.SYLLABLE_RATE[0] - syn.SYLLABLE_RATE[1]
    high = syn.SYLLABLE_RATE[0] + syn.SYLLABLE_RATE[1]
    assert f"{low:g} to {high:g} per second" in text
    assert f"{syn.VALENCE_FORMANT_SHIFT * 100:g} %" in text


# ---------------------------------------------------------------------------
# RECOLA beyond the 23 public participants
# ---------------------------------------------------------------------------


def test_recola_takes_up_to_46_participants():
    assert len(RECOLA_PARTICIPANTS) == len(set(RECOLA_PARTICIPANTS)) == 46
    assert RECOLA_PARTICIPANTS[:23] == RECOLA_PUBLIC_PARTICIPANTS
    assert all(re.fullmatch(r"P\d\d", pid) for pid in RECOLA_PARTICIPANTS)
    further = [int(pid[1:]) for pid in RECOLA_PARTICIPANTS[23:]]
    assert further == sorted(further) and 16 < min(further) and max(further) < 65


def test_recola_files_of_the_first_participants_do_not_depend_on_the_count(tmp_path):
    few = _hashes(write_synthetic_corpus("recola", tmp_path / "few", seed=4, n_speakers=2, duration_s=5,
                                         progress=False))  # fmt: skip
    root = write_synthetic_corpus("recola", tmp_path / "many", seed=4, n_speakers=25, duration_s=5, progress=False)
    many = _hashes(root)
    shared = [name for name in few if name != MARKER_NAME]
    assert len(shared) == 8 and all(few[name] == many[name] for name in shared)
    corpus = load_corpus("recola", root)
    assert len(corpus) == 25
    assert {c.id for c in corpus} == set(RECOLA_PARTICIPANTS[:25]) >= {"P18", "P20"}


# ---------------------------------------------------------------------------
# The generic layout
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generic(tmp_path_factory):
    root = tmp_path_factory.mktemp("generic")
    write_synthetic_corpus("generic", root, seed=2, n_speakers=2, conversations_per_speaker=2, duration_s=12,
                           progress=False)  # fmt: skip
    return root


def test_generic_layout_loads(generic):
    corpus = load_corpus("generic", generic)
    assert corpus.name == "generic" and corpus.skipped == []
    assert [c.id for c in corpus] == ["spk01_1", "spk01_2", "spk02_1", "spk02_2"]
    assert [c.speaker for c in corpus] == ["spk01", "spk01", "spk02", "spk02"]
    for conv in corpus:
        assert conv.label_step == 0.04 and conv.raters == {}
        assert conv.times.size == 301 and conv.times[0] == 0 and conv.times[-1] == pytest.approx(12.0)
        assert np.all(np.abs(conv.labels) <= 1) and np.all(conv.labels[0] == 0)
        assert conv.labels[100:].std(axis=0).min() > 0.005
        info = soundfile.info(str(conv.audio_path))
        assert (info.samplerate, info.subtype, info.channels) == (22050, "PCM_16", 1)
        assert info.duration == pytest.approx(12.0)
        # the turns file holds the labelled speaker's turns: speech inside, silence between
        audio, rate = soundfile.read(str(conv.audio_path))
        assert conv.turns and all(0 < s < e <= 12.0 for s, e in conv.turns)
        inside = np.zeros(audio.size, bool)
        for start, end in conv.turns:
            assert _db(audio[int(start * rate) : int(end * rate)]) > -45
            inside[int((start - 0.05) * rate) : int((end + 0.06) * rate)] = True
        assert _db(audio[~inside]) < -60


def test_generic_files_follow_the_format(generic):
    marker = json.loads((generic / MARKER_NAME).read_text())
    assert marker["corpus"] == "generic" and marker["parameters"]["label_step_ms"] == 40
    assert "cues" not in marker["parameters"]
    assert (generic / "speakers.csv").read_text().splitlines() == [
        "conversation,speaker", "spk01_1,spk01", "spk01_2,spk01", "spk02_1,spk02", "spk02_2,spk02"]  # fmt: skip
    endings = set()
    for path in sorted((generic / "labels").iterdir()):
        raw = path.read_bytes()
        endings.add("crlf" if b"\r\n" in raw else "lf")
        lines = raw.decode().splitlines()
        assert lines[0] == "time,arousal,valence" and lines[1] == "0.00,0.0000,0.0000"
        assert all(re.fullmatch(r"\d+\.\d\d,-?\d\.\d{4},-?\d\.\d{4}", line) for line in lines[1:])
        assert np.allclose([float(line.split(",")[0]) for line in lines[1:]], 0.04 * np.arange(301))
        turns = (generic / "turns" / path.name).read_text().splitlines()
        assert turns[0] == "start,end" and all(re.fullmatch(r"\d+\.\d{3},\d+\.\d{3}", t) for t in turns[1:])
    assert endings == {"crlf", "lf"}


def test_generic_20_ms_labels_and_determinism(tmp_path):
    options = {"seed": 9, "n_speakers": 1, "conversations_per_speaker": 1, "duration_s": 6, "progress": False}
    a = write_synthetic_corpus("generic", tmp_path / "a", label_step_ms=20, **options)
    b = write_synthetic_corpus("generic", tmp_path / "b", label_step_ms=20, **options)
    assert _hashes(a) == _hashes(b)
    conv = load_corpus("generic", a)["spk01_1"]
    assert conv.label_step == 0.02 and conv.times.size == 301
    assert np.allclose(np.diff(conv.times), 0.02)
    c = write_synthetic_corpus("generic", tmp_path / "c", **options)
    assert load_corpus("generic", c)["spk01_1"].label_step == 0.04
    assert _hashes(a)["audio/spk01_1.wav"] == _hashes(c)["audio/spk01_1.wav"]  # only the labels differ


# ---------------------------------------------------------------------------
# Tower-test cues: arousal only in the phase, valence only in the envelope
# ---------------------------------------------------------------------------


def test_rotate_phase_is_the_fractional_hilbert_transform():
    rng = np.random.default_rng(0)
    x = np.concatenate([np.zeros(300), scipy.signal.lfilter([1.0], [1.0, -1.6, 0.8], rng.standard_normal(1000)),
                        np.zeros(300)])  # fmt: skip
    x[300:1300] *= np.hanning(1000)
    padded = np.concatenate([x, np.zeros(2 * x.size)])
    hilbert = np.imag(scipy.signal.hilbert(padded))[: x.size]  # scipy's analytic signal
    for degrees in (0.0, 37.0, 90.0, 180.0, 250.0):
        theta = np.radians(degrees)
        expected = np.cos(theta) * x + np.sin(theta) * hilbert
        assert np.allclose(syn.rotate_phase(x, degrees), expected, atol=1e-3 * np.abs(x).max())
        # the magnitude spectrum is unchanged
        y = syn.rotate_phase(x, degrees)
        assert np.isclose(np.sum(y * y), np.sum(x * x), rtol=1e-3)
    assert np.allclose(syn.rotate_phase(x, 180.0), -x, atol=1e-12)


def _render(seed, a, v, cues, sex, duration=12.0):
    return _speaker(seed, duration, _constant(a, v, duration), sex=sex, cues=cues)


def _log_mel_stats(track):
    """Mean and standard deviation per band of the 40 log-mel bands and their deltas (240 numbers)."""
    features = log_mel_deltas(znormalise(track.signal)).reshape(-1, 120)
    return np.concatenate([features.mean(axis=0), features.std(axis=0)])


def _log_mel_distance(x, y):
    return float(np.abs(_log_mel_stats(x) - _log_mel_stats(y)).max())


def _speech(track):
    return np.concatenate([track.signal[int(s * 16000) : int(e * 16000)] for s, e, _w in track.words])


@pytest.mark.parametrize("seed, sex", [(4, "female"), (5, "male")])
def test_tower_test_arousal_is_invisible_to_the_log_mel(seed, sex):
    high, low = _render(seed, 0.8, 0.0, "tower_test", sex), _render(seed, -0.8, 0.0, "tower_test", sex)
    other = _render(seed + 100, 0.8, 0.0, "tower_test", sex)  # same arousal, other words and noise
    # same words at the same times: rate and pauses do not follow arousal
    assert high.words == low.words and other.words != high.words
    # level and pitch do not follow arousal
    assert abs(_db(_speech(high)) - _db(_speech(low))) < 0.1
    f0_high, f0_low = _f0(high)[0], _f0(low)[0]
    voiced = (f0_high < 400) & (f0_low < 400)
    assert abs(12 * np.log2(np.median(f0_high[voiced]) / np.median(f0_low[voiced]))) < 0.1
    # the log mel (and its deltas) of high and low arousal differ far less than two renders
    # of the same arousal with other words and noise
    arousal = _log_mel_distance(high, low)
    noise = _log_mel_distance(high, other)
    assert arousal < 0.05 * noise and arousal < 0.05
    # valence still changes the log mel, far beyond what arousal does
    valence = _log_mel_distance(_render(seed, 0.0, 0.8, "tower_test", sex), _render(seed, 0.0, -0.8, "tower_test", sex))
    assert valence > 20 * arousal and valence > 0.5
    # a waveform statistic sees arousal: the skewness of the speech changes sign
    skew = {name: scipy.stats.skew(_speech(t)) for name, t in (("high", high), ("low", low), ("other", other))}
    assert skew["high"] < 0 < skew["low"]
    assert abs(skew["high"] - skew["low"]) > 2 * abs(skew["high"] - skew["other"])
    assert abs(skew["high"] - skew["low"]) > 0.3


def test_tower_test_extremes_are_the_same_speech_inverted():
    top, bottom = _render(6, 1.0, 0.3, "tower_test", "female"), _render(6, -1.0, 0.3, "tower_test", "female")
    assert top.words == bottom.words
    x, y = _speech(top), _speech(bottom)
    assert np.corrcoef(x, y)[0, 1] < -0.999
    assert scipy.stats.skew(x) == pytest.approx(-scipy.stats.skew(y), abs=0.01)


def test_standard_cues_do_move_the_log_mel_with_arousal():
    """The measure of the tower test can fail: with the standard cues arousal shows in the log mel."""
    high, low = _render(4, 0.8, 0.0, "standard", "female"), _render(4, -0.8, 0.0, "standard", "female")
    other = _render(104, 0.8, 0.0, "standard", "female")
    assert _log_mel_distance(high, low) > 2 * _log_mel_distance(high, other)


def test_tower_test_corpus_is_recorded_and_deterministic(tmp_path):
    options = {"seed": 3, "n_speakers": 1, "duration_s": 6, "progress": False}
    a = write_synthetic_corpus("recola", tmp_path / "a", cues="tower_test", **options)
    b = write_synthetic_corpus("recola", tmp_path / "b", cues="tower_test", **options)
    standard = write_synthetic_corpus("recola", tmp_path / "s", **options)
    assert _hashes(a) == _hashes(b)
    assert _hashes(a)["RECOLA-Audio-recordings/P16.wav"] != _hashes(standard)["RECOLA-Audio-recordings/P16.wav"]
    marker = json.loads((a / MARKER_NAME).read_text())
    assert marker["parameters"]["cues"] == "tower_test"
    assert marker["description"] == TOWER_TEST_DESCRIPTION == describe_synthetic_corpus("tower_test")
    plain = json.loads((standard / MARKER_NAME).read_text())
    assert "cues" not in plain["parameters"] and plain["description"] == SYNTHETIC_CORPUS_DESCRIPTION
    assert len(load_corpus("recola", a)) == 1
    with pytest.raises(EmoInputError, match="unknown cues"):
        describe_synthetic_corpus("loud")


def test_tower_test_description_states_the_documented_sizes():
    text = TOWER_TEST_DESCRIPTION
    assert "not emotional speech" in text and "phase" in text
    assert f"{syn.AROUSAL_PHASE_DEGREES:g} degrees" in text
    assert f"{syn.PITCH_RANGE_SEMITONES[0]:g} semitones" in text and f"{syn.SYLLABLE_RATE[0]:g} per second" in text
    assert f"{syn.VALENCE_SHELF_DB:g} dB" in text and f"{syn.VALENCE_FORMANT_SHIFT * 100:g} %" in text
