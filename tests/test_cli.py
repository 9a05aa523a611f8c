"""End-to-end tests of the ``emo`` command line on a small synthetic corpus.

They run the real console script in subprocesses: synth, train (killed with
SIGKILL mid-run, then resumed), predict on a 17.3 s stereo 44.1 kHz WAV, and the
one-line errors for bad input.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile

EMO = [sys.executable, "-m", "emo_lib"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


def emo(*args, cwd, check=True):
    result = subprocess.run([*EMO, *map(str, args)], cwd=cwd, env=ENV, capture_output=True, text=True,
                            timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"emo {args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    emo("synth", "--corpus", "recola", "--out", root / "recola", "--speakers", 5, "--duration", 18, cwd=root)
    return root


TRAIN = ["train", "--corpus", "recola", "--root", "recola", "--variant", "S", "--preset", "tiny",
         "--batch-size", "2", "--patience", "10", "--cache", "cache", "--quiet"]


def test_help_describes_outputs(workspace):
    for command in ("synth", "prepare", "train", "evaluate", "predict", "study", "notebooks"):
        text = emo(command, "--help", cwd=workspace).stdout
        assert "Writes" in text or "writes" in text, command


def test_prepare_summarises_and_writes_the_split(workspace):
    result = emo("prepare", "--corpus", "recola", "--root", "recola", "--out", "prepared", "--cache", "cache",
                 cwd=workspace)
    assert "5 conversations" in result.stdout and "paper: 800 train / 350 test" in result.stdout
    split = json.loads((workspace / "prepared" / "split.json").read_text())
    assert split["method"] == "random" and len(split["test"]) == 2
    missing = emo("prepare", "--corpus", "semaine", "--root", "nowhere", "--out", "x", cwd=workspace, check=False)
    assert missing.returncode == 2 and "nowhere" in missing.stderr and "Traceback" not in missing.stderr


def test_train_killed_then_resumed(workspace):
    out = workspace / "killed"
    process = subprocess.Popen([*EMO, *TRAIN, "--epochs", "4", "--out", "killed"], cwd=workspace, env=ENV,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    try:
        while time.time() < deadline:
            state = out / "state.json"
            if state.exists() and json.loads(state.read_text())["epochs_done"] >= 1:
                break
            if process.poll() is not None:
                pytest.fail("training ended before it could be killed")
            time.sleep(0.2)
        else:
            pytest.fail("no epoch finished in time")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    done_before = json.loads((out / "state.json").read_text())["epochs_done"]
    assert done_before < 4 and not (out / "metrics.json").exists()
    refused = emo(*TRAIN, "--epochs", "4", "--out", "killed", cwd=workspace, check=False)
    assert refused.returncode == 2 and "--resume" in refused.stderr
    emo(*TRAIN, "--epochs", "4", "--out", "killed", "--resume", cwd=workspace)
    state = json.loads((out / "state.json").read_text())
    assert state["epochs_done"] == 4
    assert [row["epoch"] for row in state["history"]] == [1, 2, 3, 4]
    for name in ("model.keras", "best.keras", "log.csv", "predictions.csv", "metrics.json", "split.json"):
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["variant"] == "S" and metrics["corpus_kind"] == "synthetic"
    assert np.isfinite(metrics["metrics"]["ccc"]["concatenated"]["arousal"])
    assert len(list((out / "checkpoints").glob("*.keras"))) == 1


def test_predict_long_stereo_file_and_bad_input(workspace):
    emo(*TRAIN, "--variant", "WS", "--epochs", "1", "--out", "ws", cwd=workspace)
    rate, seconds = 44100, 17.3
    t = np.arange(int(rate * seconds)) / rate
    stereo = 0.3 * np.stack([np.sin(2 * np.pi * 180 * t), np.sin(2 * np.pi * 260 * t)], -1)
    soundfile.write(workspace / "talk.wav", stereo, rate, subtype="PCM_16")
    result = emo("predict", "talk.wav", "--model", "ws/model.keras", "--plot", cwd=workspace)
    lines = (workspace / "talk.csv").read_text().splitlines()
    assert lines[0] == "time,arousal,valence"
    assert len(lines) - 1 == int(seconds / 0.04)
    assert (workspace / "talk.png").stat().st_size > 1000
    assert "talk.csv" in result.stdout

    # Evaluating the saved model again, on the split saved beside it, gives the same scores.
    emo("evaluate", "--model", "ws/model.keras", "--corpus", "recola", "--root", "recola", "--cache", "cache",
        "--out", "eval", cwd=workspace)
    again = json.loads((workspace / "eval" / "metrics.json").read_text())["metrics"]["ccc"]
    first = json.loads((workspace / "ws" / "metrics.json").read_text())["metrics"]["ccc"]
    for dimension in ("arousal", "valence"):
        assert again["concatenated"][dimension] == pytest.approx(first["concatenated"][dimension], abs=1e-5)

    (workspace / "notes.wav").write_text("this is a text file, not audio\n")
    (workspace / "empty.wav").write_bytes(b"")
    for name, expected in (("notes.wav", "not a readable WAV"), ("empty.wav", "WAV"),
                           ("absent.wav", "not found")):
        bad = emo("predict", name, "--model", "ws/model.keras", cwd=workspace, check=False)
        assert bad.returncode == 2, name
        assert "Traceback" not in bad.stderr
        message = bad.stderr.strip().splitlines()
        assert len(message) == 1 and name in message[0] and expected in message[0], bad.stderr
