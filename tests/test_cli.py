"""End-to-end tests of the ``emo`` command line on a small synthetic corpus.

They run the real console script in subprocesses: --version, synth, train (killed
with SIGKILL mid-run, then resumed), predict on a 17.3 s stereo 44.1 kHz WAV, a FLAC
file and a folder holding a bad file (one table, a JSON sidecar, PNGs), a failing
notebook, and the one-line errors for bad input. TensorFlow's log level is left to
the command line, so that its filtering of TensorFlow's start-up lines is tested too.
"""

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import nbformat
import numpy as np
import pytest
import soundfile

import emo_lib
from emo_lib.notebooks import NOTEBOOKS

EMO = [sys.executable, "-m", "emo_lib"]
ENV = {**{k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}, "PYTHONUNBUFFERED": "1"}
# What TensorFlow prints while it starts, which the command line filters out on a machine without a GPU.
STARTUP_NOISE = ("I0000 ", "absl::InitializeLog", "failed call to cuInit", "oneDNN supports DT_BOOL")


def assert_no_startup_noise(stderr: str) -> None:
    for fragment in STARTUP_NOISE:
        assert fragment not in stderr, stderr


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


def test_version(tmp_path):
    result = emo("--version", cwd=tmp_path)
    assert result.stdout.strip() == f"emo {emo_lib.__version__}" and result.stderr == ""


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
    # --plot is a flag: the file after it is an input, not the PNG's name.
    result = emo("predict", "--plot", "talk.wav", "--model", "ws/model.keras", cwd=workspace)
    assert_no_startup_noise(result.stderr)
    rows = list(csv.DictReader((workspace / "talk.csv").open()))
    assert list(rows[0]) == ["file", "start", "end", "arousal", "valence"]
    assert len(rows) == int(seconds / 0.04)
    assert {row["file"] for row in rows} == {"talk.wav"}
    assert [(row["start"], row["end"]) for row in rows[:2]] == [("0.000", "0.040"), ("0.040", "0.080")]
    assert (workspace / "talk.png").stat().st_size > 1000
    assert "talk.csv" in result.stdout

    sidecar = json.loads((workspace / "talk.json").read_text())
    model_bytes = (workspace / "ws" / "model.keras").read_bytes()
    assert sidecar["model"]["file"] == "ws/model.keras"
    assert sidecar["model"]["sha256"] == hashlib.sha256(model_bytes).hexdigest()
    run = json.loads((workspace / "ws" / "run.json").read_text())
    assert sidecar["trained_on"]["corpus"] == "recola" and sidecar["trained_on"]["corpus_kind"] == "synthetic"
    assert sidecar["trained_on"]["split"]["test"] == run["split"]["test"]
    assert sidecar["trained_on"]["split"]["method"] == "random"
    assert "nominally [-1, 1]" in sidecar["scale"] and sidecar["label_step_s"] == 0.04
    assert sidecar["emo_lib_version"] == emo_lib.__version__ and sidecar["created"].endswith("+00:00")
    assert sidecar["files"] == [{"file": "talk.wav", "rows": len(rows), "duration_s": 17.3, "format": "WAV"}]
    assert sidecar["failed"] == [] and "not the paper's claims" in sidecar["warning"]

    # Evaluating the saved model again, on the split saved beside it, gives the same scores.
    emo("evaluate", "--model", "ws/model.keras", "--corpus", "recola", "--root", "recola", "--cache", "cache",
        "--out", "eval", cwd=workspace)
    again = json.loads((workspace / "eval" / "metrics.json").read_text())["metrics"]["ccc"]
    first = json.loads((workspace / "ws" / "metrics.json").read_text())["metrics"]["ccc"]
    for dimension in ("arousal", "valence"):
        assert again["concatenated"][dimension] == pytest.approx(first["concatenated"][dimension], abs=1e-5)

    (workspace / "notes.wav").write_text("this is a text file, not audio\n")
    (workspace / "empty.wav").write_bytes(b"")
    for name, expected in (("notes.wav", "not a readable audio file"), ("empty.wav", "not a readable audio file"),
                           ("absent.wav", "not found")):
        bad = emo("predict", name, "--model", "ws/model.keras", cwd=workspace, check=False)
        assert bad.returncode == 2, name
        assert "Traceback" not in bad.stderr
        message = bad.stderr.strip().splitlines()
        assert len(message) == 1 and name in message[0] and expected in message[0], bad.stderr
        assert not (workspace / name).with_suffix(".csv").exists()
    missing_model = emo("predict", "talk.wav", "--model", "nothing.keras", cwd=workspace, check=False)
    assert missing_model.returncode == 2 and missing_model.stderr.count("\n") == 1
    assert "nothing.keras" in missing_model.stderr


def test_predict_flac_and_a_folder_with_a_bad_file(workspace):
    if not (workspace / "ws" / "model.keras").exists():
        emo(*TRAIN, "--variant", "WS", "--epochs", "1", "--out", "ws", cwd=workspace)
    folder = workspace / "recordings"
    (folder / "deeper").mkdir(parents=True, exist_ok=True)
    rate = 48000
    t = np.arange(int(rate * 3.0)) / rate
    tone = 0.3 * np.sin(2 * np.pi * 220 * t)
    soundfile.write(folder / "a.flac", tone, rate, format="FLAC")
    soundfile.write(folder / "b.wav", tone[: rate * 2], rate, subtype="PCM_24")
    soundfile.write(folder / "deeper" / "c.ogg", tone[: rate], rate, format="OGG", subtype="VORBIS")
    (folder / "broken.wav").write_text("not audio at all\n" * 5)
    (folder / "notes.txt").write_text("not an audio file name: left out\n")

    result = emo("-v", "predict", "recordings", "--model", "ws/model.keras", "--out", "tables/all.csv",
                 "--plot-dir", "plots", cwd=workspace, check=False)
    assert result.returncode == 2, result.stderr  # one file failed; the others were predicted
    assert_no_startup_noise(result.stderr)
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "broken.wav" in errors[0] and "not a readable audio file" in errors[0]
    assert "emo: info: [1/2] recordings/a.flac (FLAC, 3.0 s)" in result.stderr  # -v shows progress
    rows = list(csv.DictReader((workspace / "tables" / "all.csv").open()))
    counts = {name: sum(row["file"] == name for row in rows) for name in {row["file"] for row in rows}}
    assert counts == {"recordings/a.flac": 75, "recordings/b.wav": 50}  # not recursive: no deeper/c.ogg
    last_a = [row for row in rows if row["file"] == "recordings/a.flac"][-1]
    assert (last_a["start"], last_a["end"]) == ("2.960", "3.000")
    sidecar = json.loads((workspace / "tables" / "all.json").read_text())
    assert [f["file"] for f in sidecar["files"]] == ["recordings/a.flac", "recordings/b.wav"]
    assert [f["format"] for f in sidecar["files"]] == ["FLAC", "WAV"]
    assert [f["file"] for f in sidecar["failed"]] == ["recordings/broken.wav"]
    assert sorted(p.name for p in (workspace / "plots").iterdir()) == ["a.png", "b.png"]

    recursive = emo("-q", "predict", "recordings/deeper", "recordings/a.flac", "-r", "--model", "ws/model.keras",
                    cwd=workspace)
    assert recursive.stderr == ""
    rows = list(csv.DictReader((workspace / "predictions.csv").open()))  # several inputs: predictions.csv
    assert [row["file"] for row in rows].count("recordings/deeper/c.ogg") == 25


def test_train_gated_model_then_predict(workspace):
    not_quiet = [arg for arg in TRAIN if arg != "--quiet"]
    trained = emo(*not_quiet, "--variant", "WSG", "--epochs", "1", "--lstm", "projected", "--progress",
                  "none", "--out", "wsg", cwd=workspace)
    # Where it trains, before anything else: backend, device and CPU (here the CPU, one device).
    device = json.loads((workspace / "wsg" / "run.json").read_text())["device"]
    assert (f"training with Keras on {device['keras_backend']}, 1 device: CPU:0; CPU "
            f"{device['cpu_model']}") in trained.stderr
    metrics = json.loads((workspace / "wsg" / "metrics.json").read_text())
    assert metrics["variant"] == "WSG" and metrics["model"] == "WSG_40ms_tiny"
    model_config = zipfile.ZipFile(workspace / "wsg" / "model.keras").read("config.json").decode()
    assert model_config.count('"ProjectedLSTM"') == 4  # --lstm: two BLSTMs, two directions each
    assert np.isfinite(metrics["metrics"]["ccc"]["concatenated"]["valence"])
    assert "W+S gated" in (workspace / "wsg" / "MODEL.md").read_text()
    rate = 22050
    t = np.arange(int(rate * 7.0)) / rate
    soundfile.write(workspace / "gated.wav", 0.3 * np.sin(2 * np.pi * 150 * t), rate)
    emo("-q", "predict", "gated.wav", "--model", "wsg/model.keras", cwd=workspace)
    rows = list(csv.DictReader((workspace / "gated.csv").open()))
    assert len(rows) == 175 and all(np.isfinite(float(row["valence"])) for row in rows)
    assert json.loads((workspace / "gated.json").read_text())["model"]["variant"] == "WSG"


def test_failing_notebook_is_one_line_and_exit_2(tmp_path):
    folder = tmp_path / "nb"
    folder.mkdir()
    for index, name in enumerate(NOTEBOOKS):
        notebook = nbformat.v4.new_notebook()
        parameters = nbformat.v4.new_code_cell('PROFILE = "quick"\nSEEDS = None\nSEMAINE_ROOT = None\n'
                                               'RECOLA_ROOT = None\nWORK = "../work"\nFIGURES = "../figures"')
        parameters.metadata["tags"] = ["parameters"]
        body = 'raise RuntimeError("no stand-in corpus in WORK")' if index == 1 else "print(PROFILE)"
        if index == 0:  # the kernel's own standard error (its logging) must not reach the terminal
            body = ("import os, sys\nos.write(sys.stderr._original_stdstream_copy, b'kernel noise\\n')\n"
                    + body)
        notebook.cells = [parameters, nbformat.v4.new_code_cell(body)]
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(notebook, folder / name)
    result = emo("notebooks", "--profile", "ci", "--notebooks", "nb", "--output", "out", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("emo notebooks: error: ") and "02_training.ipynb" in lines[0]
    assert "kernel noise" not in result.stderr + result.stdout
    assert "RuntimeError: no stand-in corpus in WORK" in lines[0]
    assert "executing 01_data_preparation.ipynb" in result.stdout
    assert "ci" in result.stdout.splitlines()  # the cell's printed output, streamed as it ran
    assert not (tmp_path / "out" / "03_results.ipynb").exists()  # the run stopped at the failure
    assert str(tmp_path) not in (tmp_path / "out" / "01_data_preparation.ipynb").read_text()


def test_dead_kernel_is_one_line_with_its_last_message(tmp_path):
    folder = tmp_path / "nb"
    folder.mkdir()
    for name in NOTEBOOKS:
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell(
            "import os, sys\nos.write(sys.stderr._original_stdstream_copy, b'out of memory, say\\n')\n"
            "os._exit(3)")]
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(notebook, folder / name)
    result = emo("notebooks", "--profile", "ci", "--notebooks", "nb", "--output", "out", cwd=tmp_path, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "01_data_preparation.ipynb: the kernel died" in lines[0]
    assert lines[0].endswith("its last message: out of memory, say")
