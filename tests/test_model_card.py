"""Tests of emo_lib.model_card: the model card of a tiny trained run, and the machine's description."""

import hashlib
import json

import keras
import pytest

from emo_lib.errors import EmoInputError
from emo_lib.model_card import (
    STANDIN_WARNING,
    VECTOR_EXTENSIONS,
    _nvidia_gpus,
    cpu_info,
    cpu_label,
    describe_training_device,
    device_info,
    model_card,
    write_model_card,
)
from emo_lib.results import format_score

from tiny_run import make_tiny_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_tiny_run(tmp_path_factory.mktemp("card") / "run", variant="WS", label_step_ms=40, epochs=1)


def test_model_card_of_a_tiny_run(run_dir):
    path = write_model_card(run_dir)
    assert path == run_dir / "MODEL.md"
    text = path.read_text()
    run = json.loads((run_dir / "run.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())

    assert text.startswith("# Model card: W+S on recola (synthetic stand-in)")
    assert STANDIN_WARNING in text and "RECOLA layout" in text
    # data and model
    assert "3 training, 1 validation, 2 test conversations" in text
    assert "| Preset | tiny |" in text and f"| Parameters | {run['parameters']:,} |" in text
    assert "| Label step | 40 ms; segments of 6 s |" in text
    assert hashlib.sha256((run_dir / "model.keras").read_bytes()).hexdigest() in text
    # training
    assert "batch_size 2" in text and "learning_rate 0.001" in text and "max_epochs 1" in text
    assert f"Epochs run: {metrics['epochs_run']}; best epoch {metrics['best_epoch']}" in text
    # results, beside the paper's (RECOLA, W+S: .692 / .423)
    ccc = metrics["metrics"]["ccc"]
    concatenated = (f"| all test frames concatenated | {format_score(ccc['concatenated']['arousal'])} | "
                    f"{format_score(ccc['concatenated']['valence'])} |")
    per_conversation = (f"| mean over test conversations | {format_score(ccc['per_conversation']['arousal'])} | "
                        f"{format_score(ccc['per_conversation']['valence'])} |")
    assert concatenated in text and per_conversation in text
    assert "| the paper, Table 1 (RECOLA, W+S) | .692 | .423 |" in text
    assert f"{metrics['test_frames']} labelled frames" in text
    # versions and use
    assert f"keras {keras.__version__}" in text and "emo_lib " in text
    assert "emo predict talk.wav --model model.keras" in text and "predict_audio(model" in text
    # no machine path: neither the corpus root recorded in run.json nor the run folder
    assert run["corpus_root"] not in text and str(run_dir) not in text


def test_model_card_real_corpus_unfinished_run_and_device(run_dir, tmp_path):
    other = tmp_path / "real"
    other.mkdir()
    run = json.loads((run_dir / "run.json").read_text())
    run.update(corpus="semaine", corpus_kind="real", variant="S", selection="refit on all training conversations",
               device={"keras_backend": "tensorflow", "devices": ["CPU:0", "GPU:0"], "gpus": ["NVIDIA H100"],
                       "cpu_model": "Some CPU", "cpu_vector_extensions": ["avx2", "fma"], "cpu_count": 8})
    (other / "run.json").write_text(json.dumps(run))
    text = model_card(other)
    assert STANDIN_WARNING not in text and "stand-in" not in text
    assert text.startswith("# Model card: S only on semaine (real corpus)")
    assert "Not evaluated yet" in text and "`model.keras` is not written yet" in text
    assert "; the model: refit on all training conversations." in text and "whose weights" not in text
    assert "GPUs: NVIDIA H100; CPU: Some CPU (avx2, fma), 8 cores" in text
    (other / "metrics.json").write_text("[1, 2]")
    with pytest.raises(EmoInputError, match="not a run record") as error:
        write_model_card(other)
    assert error.value.path == other / "metrics.json"
    with pytest.raises(EmoInputError, match="run.json"):
        write_model_card(tmp_path)  # a folder without run.json
    assert not (tmp_path / "MODEL.md").exists()


def test_device_info_keys():
    info = device_info()
    assert set(info) == {"keras_backend", "devices", "gpus", "gpus_on_machine", "cpu_model", "cpu_family",
                         "cpu_model_number", "cpu_count", "cpu_vector_extensions", "machine", "system"}
    assert info["keras_backend"] == keras.backend.backend()
    assert "CPU:0" in info["devices"]
    assert all(name.startswith("GPU") for name in info["devices"] if name != "CPU:0") or info["gpus"]
    assert set(info["cpu_vector_extensions"]) <= set(VECTOR_EXTENSIONS)
    assert info["cpu_count"] >= 1
    json.dumps(info)  # goes into run.json as it is


def test_cpuinfo_and_gpu_listing_parse_linux_files(tmp_path):
    x86 = tmp_path / "cpuinfo_x86"
    x86.write_text("processor\t: 0\nmodel name\t: Example Xeon\nflags\t\t: fpu sse4_2 avx avx2 fma avx512f "
                   "avx512bw\n\nprocessor\t: 1\nmodel name\t: Example Xeon\nflags\t\t: fpu\n")
    x86_info = cpu_info(x86)
    assert (x86_info["model_name"], x86_info["vector_extensions"]) == (
        "Example Xeon", ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw"])
    arm = tmp_path / "cpuinfo_arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd asimdhp sve sve2 i8mm bf16\nCPU part\t: 0xd4f\n")
    assert cpu_info(arm)["vector_extensions"] == ["asimd", "asimdhp", "sve", "sve2", "i8mm", "bf16"]
    zen = tmp_path / "cpuinfo_zen"
    zen.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n"
                   "model name\t: AMD EPYC\nflags\t\t: avx avx2 fma avx512f\n\n"
                   "processor\t: 1\ncpu family\t: 99\nmodel\t\t: 1\n")
    assert cpu_info(zen) == {"model_name": "AMD EPYC", "vendor": "AuthenticAMD", "family": 25,
                             "model": 17, "vector_extensions": ["avx", "avx2", "fma", "avx512f"]}
    assert cpu_info(arm)["family"] is None and cpu_info(tmp_path / "missing")["vector_extensions"] == []
    assert cpu_label("AMD EPYC", 25, 17) == "AMD EPYC (family 25, model 17)"
    assert cpu_label(None) == "unknown CPU" and cpu_label("Example Xeon") == "Example Xeon"
    gpus = tmp_path / "gpus"
    (gpus / "0000:01:00.0").mkdir(parents=True)
    (gpus / "0000:01:00.0" / "information").write_text("Model: \t\t NVIDIA H200\nIRQ: 1\n")
    assert _nvidia_gpus(gpus) == ["NVIDIA H200"]
    assert _nvidia_gpus(tmp_path / "none") == []


def test_describe_training_device():
    gpu = {"keras_backend": "tensorflow", "devices": ["CPU:0", "GPU:0", "GPU:1"],
           "gpus": ["NVIDIA H200", "NVIDIA H200"], "cpu_model": "AMD EPYC", "cpu_family": 25,
           "cpu_model_number": 17, "cpu_count": 16}
    assert describe_training_device(gpu) == ("Keras on tensorflow, 1 device: GPU:0 (NVIDIA H200); "
                                             "CPU AMD EPYC (family 25, model 17), 16 cores")
    assert describe_training_device(gpu, ["GPU:0", "GPU:1"]).startswith(
        "Keras on tensorflow, 2 devices: GPU:0, GPU:1; CPU")
    cpu = {"keras_backend": "jax", "devices": ["cpu:0"], "gpus": [], "cpu_model": None, "cpu_count": 2}
    assert describe_training_device(cpu) == "Keras on jax, 1 device: cpu:0; CPU unknown, 2 cores"
    assert "1 device: CPU:0" in describe_training_device(device_info())
