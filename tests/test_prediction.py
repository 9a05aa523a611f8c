"""Tests of emo_lib.prediction: traces over audio files."""

import keras
import numpy as np
import soundfile

from emo_lib.models import build_model
from emo_lib.prediction import predict_audio, write_trace_csv


def test_predict_audio_any_length_rate_and_channels(tmp_path):
    keras.utils.set_random_seed(0)
    model = build_model("WS", 20, "tiny")
    path = tmp_path / "talk.wav"
    rate, seconds = 44100, 17.3
    t = np.arange(int(rate * seconds)) / rate
    stereo = np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 330 * t)], -1) * 0.3
    soundfile.write(path, stereo, rate, subtype="PCM_16")
    times, trace = predict_audio(model, path)
    n = int(seconds / 0.02)
    assert trace.shape == (n, 2) and times.shape == (n,)
    assert np.all(np.isfinite(trace))
    np.testing.assert_allclose(times[:3], [0.02, 0.04, 0.06])
    csv_path = write_trace_csv(tmp_path / "trace.csv", times, trace)
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "time,arousal,valence" and len(lines) == n + 1


def test_gates_over_an_audio_file_and_a_segment_set(tmp_path):
    from emo_lib.models import gate_model
    from emo_lib.prediction import predict_audio_gates
    from emo_lib.training import predict_gates, predict_segments

    from synthetic_arrays import make_segment_set

    keras.utils.set_random_seed(1)
    model = build_model("WSG", 40, "tiny")
    gate = model.get_layer("fusion_gate")  # a trained gate: weights away from their zero start
    gate.set_weights([np.random.default_rng(2).normal(0, 0.5, w.shape).astype("float32")
                      for w in gate.get_weights()])
    path = tmp_path / "talk.wav"
    rate, seconds = 16000, 9.0  # two half-overlapping segments and a padded third
    t = np.arange(int(rate * seconds)) / rate
    soundfile.write(path, 0.3 * np.sin(2 * np.pi * 200 * t) * (1 + np.sin(t)), rate, subtype="PCM_16")
    times, gates = predict_audio_gates(model, path)
    emotion_times, _ = predict_audio(model, path)
    assert gates.shape == (int(seconds / 0.04), 2)
    np.testing.assert_array_equal(times, emotion_times)
    np.testing.assert_allclose(gates.sum(axis=1), 1.0, atol=1e-5)
    assert np.ptp(gates[:, 0]) > 0
    # On a segment set: the gate model's outputs for the set's batches.
    segments = make_segment_set(1, 12.0, seed=2)
    per_segment = predict_gates(model, segments, batch_size=1)
    assert per_segment.shape == (len(segments), 150, 2)
    np.testing.assert_allclose(per_segment, predict_segments(gate_model(model), segments), atol=1e-6)
    np.testing.assert_allclose(per_segment.sum(-1), 1.0, atol=1e-5)
    with pytest.raises(EmoInputError, match="fusion_gate"):
        predict_audio_gates(build_model("WS", 40, "tiny"), path)
    with pytest.raises(EmoInputError, match="fusion_gate"):
        predict_gates(build_model("S", 40, "tiny"), segments)


# ----------------------------------------------------------------------------
# Many files: predict_files, the table and the sidecar
# ----------------------------------------------------------------------------

import csv  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
from datetime import datetime  # noqa: E402

import pytest  # noqa: E402

from emo_lib.errors import EmoInputError  # noqa: E402
from emo_lib.prediction import (  # noqa: E402
    TABLE_COLUMNS,
    find_audio_files,
    model_provenance,
    predict_files,
    prediction_sidecar,
    write_prediction_sidecar,
    write_prediction_table,
)

RUN_INFO = {"corpus": "semaine", "corpus_kind": "synthetic", "variant": "WS", "seed": 1, "preset_name": "tiny",
            "split": {"corpus": "semaine", "method": "speaker", "seed": 4, "train": ["a", "b"],
                      "validation": ["c"], "test": ["d"], "test_fraction": 0.3}}


def _tone(path, seconds, rate=22050, channels=1, **kwargs):
    t = np.arange(int(rate * seconds)) / rate
    signal = 0.3 * np.sin(2 * np.pi * 200 * t)
    soundfile.write(str(path), np.stack([signal] * channels, -1) if channels > 1 else signal, rate, **kwargs)
    return path


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    keras.utils.set_random_seed(0)
    build_model("WS", 20, "tiny").save(folder / "model.keras")
    (folder / "run.json").write_text(json.dumps(RUN_INFO))
    return folder / "model.keras"


def test_find_audio_files_folders_recursive_and_problems(tmp_path):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for name in ("b.wav", "a.FLAC", "sub/c.ogg"):
        (tmp_path / "in" / name).write_bytes(b"x")
    (tmp_path / "in" / "notes.txt").write_text("not audio")
    (tmp_path / "empty").mkdir()
    files, problems = find_audio_files([tmp_path / "in", tmp_path / "in" / "b.wav", tmp_path / "missing.wav",
                                        tmp_path / "empty"])
    assert [p.name for p in files] == ["a.FLAC", "b.wav"]  # sorted, each once, no subfolder, no .txt
    assert [(p.path.name, p.reason.split(" ")[0]) for p in problems] == [("missing.wav", "audio"),
                                                                         ("empty", "folder")]
    files, _ = find_audio_files([tmp_path / "in"], recursive=True)
    assert [p.name for p in files] == ["a.FLAC", "b.wav", "c.ogg"]
    files, _ = find_audio_files([tmp_path / "in" / "notes.txt"])  # a named file is taken whatever its name
    assert [p.name for p in files] == ["notes.txt"]


def test_model_provenance_reads_run_json_and_hashes_the_model(saved_model, tmp_path):
    record = model_provenance(saved_model)
    assert record["sha256"] == hashlib.sha256(saved_model.read_bytes()).hexdigest()
    assert (record["corpus"], record["corpus_kind"], record["variant"], record["preset"], record["seed"]) == (
        "semaine", "synthetic", "WS", "tiny", 1)
    assert record["split"] == {"method": "speaker", "seed": 4, "train": ["a", "b"], "validation": ["c"],
                               "test": ["d"]}
    alone = tmp_path / "alone.keras"
    alone.write_bytes(saved_model.read_bytes())
    assert model_provenance(alone)["run_json"] is None and model_provenance(alone)["corpus"] is None
    with pytest.raises(EmoInputError, match="model file not found"):
        model_provenance(tmp_path / "nothing.keras")
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(EmoInputError, match="not valid JSON") as error:
        model_provenance(alone)
    assert error.value.path == tmp_path / "run.json"


def test_predict_files_wav_flac_folder_with_a_bad_file(saved_model, tmp_path):
    wav = _tone(tmp_path / "talk.wav", 7.3, rate=44100, channels=2, subtype="PCM_24")
    folder = tmp_path / "many"
    folder.mkdir()
    flac = _tone(folder / "one.flac", 2.5, rate=48000, format="FLAC")
    (folder / "broken.wav").write_text("not audio\n" * 10)
    short = _tone(folder / "short.wav", 0.01, rate=16000)  # shorter than one 20 ms label window
    reported = []
    run = predict_files(saved_model, [wav, folder], on_error=reported.append)

    assert [p.path for p in run.predictions] == [wav, flac]
    assert [(e.path, e.reason.split(" (")[0]) for e in run.failures] == [
        (folder / "broken.wav", "not a readable audio file"), (short, "audio is shorter than one label step")]
    assert reported == run.failures
    assert run.label_step == pytest.approx(0.02)
    talk, one = run.predictions
    assert talk.values.shape == (int(7.3 / 0.02), 2) and one.values.shape == (125, 2)
    assert (talk.format, one.format) == ("WAV", "FLAC") and one.duration == pytest.approx(2.5)
    np.testing.assert_allclose(talk.start[:3], [0.0, 0.02, 0.04])
    np.testing.assert_allclose(talk.end - talk.start, 0.02)
    # The same trace as the per-file engine gives.
    _, direct = predict_audio(keras.saving.load_model(saved_model, compile=False), wav)
    np.testing.assert_allclose(talk.values, direct, atol=1e-5)

    table = write_prediction_table(tmp_path / "out" / "table.csv", run.predictions)
    rows = list(csv.DictReader(table.open()))
    assert tuple(rows[0]) == TABLE_COLUMNS
    assert len(rows) == 365 + 125
    assert rows[0]["file"] == str(wav) and (rows[0]["start"], rows[0]["end"]) == ("0.000", "0.020")
    assert rows[365]["file"] == str(flac) and rows[365]["start"] == "0.000"
    assert rows[-1]["end"] == "2.500"
    assert float(rows[10]["arousal"]) == pytest.approx(float(talk.values[10, 0]), abs=1e-6)

    sidecar = json.loads(write_prediction_sidecar(tmp_path / "out" / "table.json", run, table).read_text())
    assert sidecar["model"]["sha256"] == hashlib.sha256(saved_model.read_bytes()).hexdigest()
    assert sidecar["model"]["file"] == str(saved_model) and sidecar["model"]["name"] == "WS_20ms_tiny"
    assert sidecar["trained_on"]["corpus"] == "semaine" and sidecar["trained_on"]["split"]["method"] == "speaker"
    assert "[-1, 1]" in sidecar["scale"] and sidecar["label_step_s"] == pytest.approx(0.02)
    assert [f["rows"] for f in sidecar["files"]] == [365, 125]
    assert [f["file"] for f in sidecar["failed"]] == [str(folder / "broken.wav"), str(short)]
    assert sidecar["emo_lib_version"] and datetime.fromisoformat(sidecar["created"]).tzinfo is not None
    assert "not the paper's claims" in sidecar["warning"]


def test_predict_files_reports_bad_inputs_without_loading_the_model(tmp_path):
    model = tmp_path / "model.keras"
    model.write_bytes(b"not a model")  # never loaded: no input is readable
    run = predict_files(model, [tmp_path / "absent.wav"])
    assert run.predictions == [] and run.label_step is None
    assert [e.reason for e in run.failures] == ["audio file not found"]
    _tone(tmp_path / "ok.wav", 1.0)
    with pytest.raises(EmoInputError, match="model.keras"):
        predict_files(model, [tmp_path / "ok.wav"])
    alone = prediction_sidecar(run, tmp_path / "t.csv")
    assert alone["trained_on"] is None and "warning" not in alone
