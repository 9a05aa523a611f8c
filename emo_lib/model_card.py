"""Model cards for run folders, and what the machine a run used looked like.

:func:`write_model_card` writes ``MODEL.md`` into a run folder (one trained
model: ``emo train`` or one experiment of the study) from its ``run.json`` and
``metrics.json``: the data (corpus, real copy or synthetic stand-in, split),
the model (variant, preset, parameter count), the training settings and
epochs, the test CCC of arousal and valence (concatenated and per
conversation, beside the paper's), the versions and the machine, and how to
predict with it.

:func:`device_info` describes the machine: the Keras backend and the devices it
sees, the CPU model and its vector extensions, the GPUs. It goes into
``run.json`` so that a speed or a result can be read with the hardware it
came from.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
from pathlib import Path
from typing import Any

from .errors import EmoInputError
from .io import atomic_write_text

__all__ = ["STANDIN_WARNING", "VECTOR_EXTENSIONS", "cpu_info", "cpu_label", "describe_training_device", "device_info",
           "model_card", "write_model_card"]

STANDIN_WARNING = "numbers on the stand-in check the machinery; they are not the paper's claims"
"""The sentence every result on the synthetic stand-in corpus carries."""

VECTOR_EXTENSIONS = (
    "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512cd", "avx512bw",
    "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_int8",
    "amx_bf16", "asimd", "asimdhp", "asimddp", "sve", "sve2", "i8mm", "bf16",
)
"""CPU flags (as /proc/cpuinfo names them, x86-64 and Arm) that matter for the numerical kernels."""

_VARIANT_TEXT = {
    "baseline": "openSMILE ComParE 2016 functionals on 1 s windows, fed to two bidirectional LSTM layers",
    "W": "a convolutional tower on the 16 kHz waveform, then two bidirectional LSTM layers",
    "S": "a convolutional tower on the 40-band log-mel spectrogram and its deltas, then two "
         "bidirectional LSTM layers",
    "WS": "the waveform and spectrogram towers merged into two bidirectional LSTM layers",
    "WSG": "the waveform and spectrogram towers weighted by a per-step gate learnt from both, then merged "
           "into two bidirectional LSTM layers (beyond the paper)",
}


# ----------------------------------------------------------------------------
# The machine
# ----------------------------------------------------------------------------


def cpu_info(path: str | Path = "/proc/cpuinfo") -> dict[str, Any]:
    """What identifies the CPU for a speed figure (Linux; names only elsewhere).

    Two machines can share a model name ("AMD EPYC" in a virtual machine is a
    Zen 3 with AVX2 only or a Zen 4 with AVX-512), so the family and model
    numbers come with it.

    Returns
    -------
    dict
        ``model_name`` (str or None), ``vendor`` (e.g. "AuthenticAMD", or
        None), ``family`` and ``model`` (ints from /proc/cpuinfo, or None), and
        ``vector_extensions`` (the flags among :data:`VECTOR_EXTENSIONS`, in
        that order).
    """
    info: dict[str, Any] = {"model_name": None, "vendor": None, "family": None, "model": None,
                            "vector_extensions": []}
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        info["model_name"] = platform.processor() or None
        return info
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key in ("model name", "hardware", "cpu model") and info["model_name"] is None:
            info["model_name"] = value or None
        elif key == "vendor_id" and info["vendor"] is None:
            info["vendor"] = value or None
        elif key in ("cpu family", "model") and value.isdigit():
            slot = "family" if key == "cpu family" else "model"
            if info[slot] is None:
                info[slot] = int(value)
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    info["model_name"] = info["model_name"] or (platform.processor() or None)
    info["vector_extensions"] = [f for f in VECTOR_EXTENSIONS if f in flags]
    return info


def cpu_label(model_name: str | None, family: int | None = None, model: int | None = None) -> str:
    """The CPU as a speed figure names it: ``"AMD EPYC (family 25, model 17)"``.

    >>> cpu_label("AMD EPYC", 25, 17)
    'AMD EPYC (family 25, model 17)'
    >>> cpu_label(None)
    'unknown CPU'
    """
    label = model_name or "unknown CPU"
    return label if family is None else f"{label} (family {family}, model {model})"


def _nvidia_gpus(root: str | Path = "/proc/driver/nvidia/gpus") -> list[str]:
    """Names of the NVIDIA GPUs the driver lists (Linux), whether or not a backend can use them."""
    names = []
    root = Path(root)
    if not root.is_dir():
        return names
    for info in sorted(root.glob("*/information")):
        try:
            for line in info.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.lower().startswith("model:"):
                    names.append(line.split(":", 1)[1].strip())
                    break
        except OSError:
            continue
    return names


def _backend_devices(backend: str) -> tuple[list[str], list[str]]:
    """The devices the Keras backend sees, and the names of its GPUs."""
    devices, gpus = [], []
    if backend == "tensorflow":
        import tensorflow as tf

        for device in tf.config.list_physical_devices():
            devices.append(f"{device.device_type}:{device.name.rsplit(':', 1)[-1]}")
            if device.device_type == "GPU":
                details = tf.config.experimental.get_device_details(device)
                gpus.append(str(details.get("device_name", device.name)))
    elif backend == "jax":
        import jax

        for device in jax.devices():
            devices.append(f"{device.platform.upper()}:{device.id}")
            if device.platform == "gpu" or device.platform == "cuda":
                gpus.append(str(getattr(device, "device_kind", device)))
    return devices, gpus


def device_info() -> dict[str, Any]:
    """The machine as the run saw it: backend, devices, CPU and its vector extensions, GPUs.

    Returns
    -------
    dict
        ``keras_backend`` (``"tensorflow"``, ``"jax"``, ...), ``devices`` (what
        the backend sees, e.g. ``["CPU:0", "GPU:0"]``), ``gpus`` (names of the
        GPUs the backend sees), ``gpus_on_machine`` (names of the NVIDIA GPUs
        the driver lists, usable or not), ``cpu_model`` (from /proc/cpuinfo,
        or the platform's processor string; None when unknown), ``cpu_family``
        and ``cpu_model_number`` (ints, None when unknown: they tell apart CPUs
        that share a model name), ``cpu_count``,
        ``cpu_vector_extensions`` (those of :data:`VECTOR_EXTENSIONS` the CPU
        has, e.g. ``["avx2", "fma", "avx512f"]``), ``machine`` and ``system``.

    Notes
    -----
    It imports Keras and lists the backend's devices, which initialises the
    backend (with TensorFlow, CUDA where there is a driver).

    Examples
    --------
    >>> info = device_info()  # doctest: +SKIP
    >>> info["keras_backend"], info["devices"]  # doctest: +SKIP
    ('tensorflow', ['CPU:0'])
    """
    import keras

    backend = keras.backend.backend()
    devices, gpus = _backend_devices(backend)
    cpu = cpu_info()
    return {
        "keras_backend": backend,
        "devices": devices,
        "gpus": gpus,
        "gpus_on_machine": _nvidia_gpus(),
        "cpu_model": cpu["model_name"],
        "cpu_family": cpu["family"],
        "cpu_model_number": cpu["model"],
        "cpu_count": os.cpu_count(),
        "cpu_vector_extensions": cpu["vector_extensions"],
        "machine": platform.machine(),
        "system": platform.system(),
    }


def describe_training_device(info: dict[str, Any], chosen: list[str] | None = None) -> str:
    """One line naming where a training run computes, from :func:`device_info`'s record.

    Parameters
    ----------
    info : dict
        What :func:`device_info` returns (or a run.json's ``"device"``).
    chosen : list of str, optional
        The devices of a data-parallel run (``TrainConfig.devices`` > 1);
        empty or None for one device, the backend's default: its first GPU
        where it sees one, else the CPU.

    Examples
    --------
    >>> describe_training_device({"keras_backend": "jax", "devices": ["gpu:0"], "gpus": ["NVIDIA H200"],
    ...                           "cpu_model": "AMD EPYC", "cpu_count": 16})
    'Keras on jax, 1 device: gpu:0 (NVIDIA H200); CPU AMD EPYC, 16 cores'
    """
    devices = list(info.get("devices") or [])
    gpus = list(info.get("gpus") or [])
    if chosen:
        where = f"{len(chosen)} devices: {', '.join(chosen)}"
    else:
        gpu_devices = [d for d in devices if d.lower().startswith("gpu")]
        first = gpu_devices[0] if gpu_devices else next(
            (d for d in devices if d.lower().startswith("cpu")), "CPU")
        where = f"1 device: {first}" + (f" ({gpus[0]})" if gpu_devices and gpus else "")
    cpu = cpu_label(info.get("cpu_model") or "unknown", info.get("cpu_family"), info.get("cpu_model_number"))
    return (f"Keras on {info.get('keras_backend', 'an unknown backend')}, {where}; CPU {cpu}, "
            f"{info.get('cpu_count', '?')} cores")


# ----------------------------------------------------------------------------
# The card
# ----------------------------------------------------------------------------


def _read_json(path: Path, *, required: bool) -> dict[str, Any] | None:
    if not path.exists():
        if required:
            raise EmoInputError("no such file: a run folder holds run.json (written when training starts)",
                                path=path)
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise EmoInputError(f"not valid JSON ({error})", path=path) from None
    if not isinstance(data, dict):
        raise EmoInputError("not a run record (expected a JSON object)", path=path)
    return data


def _score(value: Any) -> str:
    from .results import format_score

    try:
        return format_score(float(value))
    except (TypeError, ValueError):
        return "n/a"


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else str(value)
    return str(value)


def _count(value: Any, singular: str, plural: str | None = None) -> str:
    word = singular if value == 1 else (plural or singular + "s")
    return f"{_number(value)} {word}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _settings(settings: dict[str, Any] | None) -> str:
    if not settings:
        return "not recorded"
    return ", ".join(f"{key} {_number(value)}" for key, value in settings.items()
                     if not isinstance(value, (dict, list)))


def _epochs(run_dir: Path, record: dict[str, Any]) -> tuple[Any, Any, Any]:
    """Epochs run, best epoch and its validation mean CCC (from metrics.json, else state.json)."""
    epochs, best, score = record.get("epochs_run"), record.get("best_epoch"), record.get("validation_ccc_mean")
    state_path = run_dir / "state.json"
    if (epochs is None or best is None) and state_path.exists():
        state = _read_json(state_path, required=False) or {}
        epochs = state.get("epochs_done", epochs)
        best = state.get("best_epoch", best)
        score = state.get("best_score", score)
    return epochs, best, score


def model_card(run_dir: str | Path) -> str:
    """The text of a run folder's model card (Markdown); see :func:`write_model_card`."""
    from .results import MODEL_LABELS, PAPER_TABLE1, paper_corpus

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise EmoInputError("not a run folder (no such folder)", path=run_dir)
    run = _read_json(run_dir / "run.json", required=True)
    metrics = _read_json(run_dir / "metrics.json", required=False)
    record = {**run, **(metrics or {})}

    variant = record.get("variant")
    label = MODEL_LABELS.get(variant, variant or "model")
    corpus = record.get("corpus") or "an unnamed corpus"
    kind = record.get("corpus_kind")
    synthetic = kind == "synthetic"
    paper_name = paper_corpus(corpus) if record.get("corpus") else None
    layout = f" ({paper_name} layout)" if paper_name and synthetic else (f" ({paper_name})" if paper_name else "")
    kind_text = {"synthetic": "synthetic stand-in", "real": "real corpus"}.get(kind, "corpus kind not recorded")

    lines = [f"# Model card: {label} on {corpus} ({kind_text})", ""]
    if synthetic:
        lines += [f"**Synthetic stand-in corpus.** This model was trained and tested on the project's synthetic "
                  f"stand-in corpus{layout}, speech-like audio whose hidden arousal and valence drive "
                  f"documented acoustic cues: {STANDIN_WARNING}.", ""]

    # Model
    model_file = run_dir / "model.keras"
    step = record.get("label_step_ms")
    preprocess = record.get("preprocess") or {}
    lines += ["## Model", "", "| | |", "|---|---|",
              f"| Variant | {label}: {_VARIANT_TEXT.get(variant, 'not recorded')} |",
              f"| Keras model | `{record.get('model', 'not recorded')}` |",
              f"| Preset | {record.get('preset_name') or 'not recorded'} |",
              f"| Parameters | {_number(record.get('parameters')) if record.get('parameters') is not None else 'not recorded'} |",
              f"| Label step | {f'{_number(step)} ms' if step is not None else 'not recorded'}"
              + (f"; segments of {_number(preprocess.get('segment_seconds'))} s |"
                 if preprocess.get("segment_seconds") is not None else " |")]
    selection = record.get("selection")
    if model_file.exists():
        holds = "the best epoch's weights" if not selection else selection
        lines.append(f"| File | `model.keras` ({holds}), SHA-256 `{_sha256(model_file)}` |")
    else:
        lines.append("| File | `model.keras` is not written yet (training has not finished) |")
    lines.append("")

    # Data
    split = record.get("split") or {}
    segments = record.get("segments") or {}
    parts = [f"{len(split[p])} {name}" for p, name in (("train", "training"), ("validation", "validation"),
                                                      ("test", "test")) if isinstance(split.get(p), list)]
    conversations = "conversation" if parts and parts[-1].startswith("1 ") else "conversations"
    lines += ["## Data", "",
              f"- Corpus: {corpus}{layout}, "
              + ("a synthetic stand-in written by the project (not emotional speech)." if synthetic
                 else "a real copy." if kind == "real" else "kind not recorded."),
              f"- Split: {split.get('method', 'not recorded')}"
              + (f" (seed {split['seed']})" if split.get("seed") is not None else "")
              + (f": {', '.join(parts)} {conversations}" if parts else "")
              + (f"; segments: {', '.join(f'{k} {_number(v)}' for k, v in segments.items())}" if segments else "")
              + ". The split manifest is `split.json` beside the model when the run wrote one.",
              f"- Preprocessing: {_settings(preprocess)}.", ""]

    # Training
    epochs, best, best_score = _epochs(run_dir, record)
    lines += ["## Training", "",
              f"- Settings: {_settings(record.get('train_config'))}.",
              f"- Seed: {record.get('seed', (record.get('train_config') or {}).get('seed', 'not recorded'))}.",
              f"- Epochs run: {_number(epochs) if epochs is not None else 'not recorded'}; best epoch "
              f"{_number(best) if best is not None else 'not recorded'}"
              + (f" (validation mean CCC {_score(best_score)})" if best_score is not None else "")
              + (f"; the model: {selection}." if selection else ", whose weights the model holds."), ""]

    # Results
    lines += ["## Test results", ""]
    ccc = ((metrics or {}).get("metrics") or {}).get("ccc")
    if not ccc:
        lines += ["Not evaluated yet: `metrics.json` is written when the run has been tested.", ""]
    else:
        concatenated = ccc.get("concatenated") or {}
        per = ccc.get("per_conversation") or {}
        lines += ["CCC (Lin's concordance correlation coefficient, 1/N statistics) on the test conversations:",
                  "", "| | Arousal | Valence |", "|---|---|---|",
                  f"| all test frames concatenated | {_score(concatenated.get('arousal'))} | "
                  f"{_score(concatenated.get('valence'))} |",
                  f"| mean over test conversations | {_score(per.get('arousal'))} | "
                  f"{_score(per.get('valence'))} |"]
        paper = PAPER_TABLE1.get((paper_name, variant)) if paper_name else None
        if paper:
            lines.append(f"| the paper, Table 1 ({paper_name}, {label}) | {_score(paper[0])} | {_score(paper[1])} |")
        counts = [_count(metrics[k], *names) for k, names in (("test_conversations", ("conversation",)),
                                                             ("test_segments", ("segment",)),
                                                             ("test_frames", ("labelled frame",)))
                  if metrics.get(k) is not None]
        lines.append("")
        if counts:
            lines += [f"Test set: {', '.join(counts)}." + (f" {STANDIN_WARNING[0].upper()}{STANDIN_WARNING[1:]}."
                                                           if synthetic else ""), ""]

    # Versions and machine
    versions = record.get("versions") or {}
    device = record.get("device")
    lines += ["## Versions and machine", ""]
    if versions:
        lines.append("- " + ", ".join(f"{name} {value}" for name, value in versions.items()) + ".")
    else:
        lines.append("- Versions not recorded.")
    if isinstance(device, dict):
        cpu = cpu_label(device.get("cpu_model"), device.get("cpu_family"), device.get("cpu_model_number"))
        extensions = ", ".join(device.get("cpu_vector_extensions") or []) or "no vector extensions listed"
        lines.append(f"- Backend {device.get('keras_backend', 'not recorded')} on "
                     f"{', '.join(device.get('devices') or []) or 'no devices listed'}; GPUs: "
                     f"{', '.join(device.get('gpus') or []) or 'none'}; CPU: {cpu} ({extensions}), "
                     f"{device.get('cpu_count', '?')} cores.")
    lines.append("")

    # How to use it
    lines += ["## Predicting with it", "",
              "From this folder, for audio files of any length, rate and format libsndfile reads (WAV, "
              "FLAC, OGG, ...):", "",
              "```bash",
              "emo predict talk.wav --model model.keras          # talk.csv: file,start,end,arousal,valence",
              "emo predict recordings/ --model model.keras --out predictions.csv --plot",
              "```", "",
              "```python",
              "from emo_lib.models import load_model",
              "from emo_lib.prediction import predict_audio",
              "",
              'model = load_model("model.keras", compile=False)',
              'times, trace = predict_audio(model, "talk.wav")  # trace[:, 0] arousal, trace[:, 1] valence',
              "```", "",
              f"Outputs are on the rating scale of {corpus}'s raters, nominally [-1, 1]"
              + (f", one value per {_number(step)} ms window." if step is not None else ".")
              + (" A model trained on the stand-in has learnt the stand-in's cues, not emotion in speech."
                 if synthetic else ""), ""]
    return "\n".join(lines)


def write_model_card(run_dir: str | Path) -> Path:
    """Write ``MODEL.md``, a short model card, into a run folder.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        A run folder holding ``run.json`` (and, once tested, ``metrics.json``):
        ``emo train``'s ``--out``, or one experiment of the study.

    Returns
    -------
    pathlib.Path
        ``run_dir / "MODEL.md"``, written atomically.

    Raises
    ------
    EmoInputError
        The folder or its ``run.json`` is missing, or a JSON file is invalid.

    Notes
    -----
    The card says: the data (corpus, real copy or synthetic stand-in, with
    the stand-in's warning, and the split), the model (variant, preset,
    parameter count, label step, the SHA-256 of ``model.keras``), the
    training settings and epochs, the test CCC of arousal and valence on the
    concatenated test frames and averaged per conversation beside the paper's
    Table 1, the versions and the machine (``run.json``'s ``device``, from
    :func:`device_info`, when recorded), and how to predict with the model. It
    holds no absolute path.
    """
    run_dir = Path(run_dir)
    text = model_card(run_dir)
    return atomic_write_text(run_dir / "MODEL.md", text)
