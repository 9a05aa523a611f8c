"""Benchmark: training and prediction speed of the models, direct convolution vs FFT.

For each preset (``paper``, ``narrow``, ``tiny``) and variant (W+S by default,
``--variants all`` for W, S and W+S) at one label step, this script measures,
side by side, the waveform tower's long convolution computed

* directly (``keras.layers.Conv1D``) with XLA, the only way the direct
  convolution's gradient is usable on a CPU, and
* through FFTs (:class:`emo_lib.layers.FFTConv1D`), with XLA off (default),
  on, or both (``--fft-xla``),

on the TensorFlow backend, on the JAX backend, or both (``--backends``; on
JAX every step is compiled by XLA, so its rows have XLA on),
and prints, per configuration:

* training seconds per 6 s segment: one ``train_on_batch`` step (RMSprop, the
  CCC loss) divided by the batch size, the median of ``--repeats`` steps after
  a first, compiling one;
* the prediction real-time factor: seconds of audio per second of computing
  (``predict_on_batch`` on the same batch size, median of the repeats);
* the first step's time (mostly compilation) and the peak memory of the
  process (maximum resident set size).

Each configuration runs in a subprocess of its own, so that the peak memory is
its own and one configuration's compiled functions cannot slow the next. The
inputs are random: the time of a step does not depend on the values.

Run it with ``python benchmarks/train_step.py [--presets paper narrow tiny]
[--variants WS|all] [--label-step 20] [--batch-direct 4] [--batch-fft 32]
[--repeats 3] [--fft-xla off|on|both] [--backends tensorflow jax]
[--lstm keras projected] [--isa native avx2] [--json results.json]``. By default every
configuration runs with ``keras.layers.LSTM`` (``keras``: with the direct
convolution, the stock build a user would write) and with
:class:`emo_lib.layers.ProjectedLSTM`; a second table gives the project's
build's speed-up over the stock one. ``--isa avx2`` holds oneDNN and XLA
to AVX2 (see :func:`isa_environment`), so that one run on an AVX-512 machine
also measures the code an AVX2-only CPU runs. The machine
(processor, cores, memory, load average before and after) is printed with the
results: timings taken while other processes compete for the cores are
pessimistic and noisy.

benchmarks/long_conv.py imports the measuring functions from here.
"""

# Setup
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

SEED = 0
PRESETS = ("paper", "narrow", "tiny")
VARIANTS = ("W", "S", "WS")
BACKENDS = ("tensorflow", "jax")
ISA_CAPS = ("native", "avx2")
"""``native``: every vector extension the CPU has; ``avx2``: oneDNN and XLA held to AVX2 + FMA."""
BATCH_DIRECT = 4
BATCH_FFT = 32
REPEATS = 3
WORKER_TIMEOUT_S = 900
RESULT_PREFIX = "RESULT "


# ----------------------------------------------------------------------------
# The machine
# ----------------------------------------------------------------------------


def machine_description() -> dict[str, Any]:
    """Processor, usable cores, memory, load average and library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    memory_gb = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    memory_gb = round(int(line.split()[1]) / 2**20, 1)
                    break
    except OSError:
        pass
    versions = {}
    for package in ("tensorflow", "keras", "numpy", "librosa"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:  # not installed: leave it out
            pass
    try:  # the flags that decide the numerical kernels' speed (AVX-512 or AVX2 only, ...)
        from emo_lib.model_card import cpu_info, cpu_label

        info = cpu_info()
        vector_extensions = info["vector_extensions"]
        # "AMD EPYC" alone names both Zen 3 and Zen 4: the family and model tell them apart.
        cpu = cpu_label(info["model_name"] or cpu, info["family"], info["model"])
    except Exception:  # not Linux, or emo_lib not importable: leave it out
        vector_extensions = []
    return {
        "cpu": cpu,
        "vector_extensions": vector_extensions,
        "cores": cores,
        "memory_gb": memory_gb,
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
        "versions": versions,
    }


def print_machine(description: dict[str, Any], load_after: Sequence[float] | None = None) -> None:
    versions = ", ".join(f"{k} {v}" for k, v in description["versions"].items())
    extensions = ", ".join(description.get("vector_extensions") or ["vector extensions unknown"])
    print(f"machine: {description['cpu']} ({extensions}), {description['cores']} usable cores, "
          f"{description['memory_gb']} GB memory; Python {description['python']}, {versions}")
    load = f"load average (1, 5, 15 min) before: {description['load_average']}"
    if load_after is not None:
        load += f", after: {[round(v, 2) for v in load_after]}"
    print(load + f" (busy when above {description['cores']}: timings pessimistic)")


# ----------------------------------------------------------------------------
# One measurement (runs in a worker process)
# ----------------------------------------------------------------------------


def random_batch(model, batch: int, seed: int = SEED):
    """Random inputs for every input of ``model`` and targets ``(batch, T, 3)`` with mask 1."""
    import numpy as np

    rng = np.random.default_rng(seed)
    inputs = {
        tensor.name: rng.normal(size=(batch, *tensor.shape[1:])).astype("float32")
        for tensor in model.inputs
    }
    steps = model.outputs[0].shape[1]
    targets = np.concatenate(
        [rng.uniform(-1, 1, size=(batch, steps, 2)), np.ones((batch, steps, 1))], axis=-1
    ).astype("float32")
    return inputs, targets


def peak_memory_gb() -> float:
    """Peak resident set size of this process (GB)."""
    kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kilobytes / 2**20


def timed(function, repeats: int) -> tuple[float, list[float]]:
    """Run ``function`` once (warm-up, timed separately), then ``repeats`` times."""
    start = time.perf_counter()
    function()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return first, times


def measure_model(config: dict[str, Any]) -> dict[str, Any]:
    """Time training steps and predictions of one model configuration.

    Parameters
    ----------
    config : dict
        ``preset``, ``variant``, ``label_step``, ``long_conv`` ("direct" or
        "fft"), ``xla`` (bool), ``batch``, ``repeats``; optional ``lstm``
        ("projected", the default here, or "keras": see ``build_model``), ``train``
        and ``predict`` (bools, default True) and ``backend`` (the Keras
        backend the worker process was started with, default TensorFlow).

    Returns
    -------
    dict
        The config plus ``train_s_per_segment`` (median), ``train_times_s``,
        ``first_train_step_s``, ``predict_rtf`` (median), ``predict_times_s``,
        ``first_predict_s``, ``peak_memory_gb``, ``parameters``.
    """
    import keras
    import numpy as np

    from emo_lib.config import get_preset
    from emo_lib.metrics import ccc_loss
    from emo_lib.models import build_model

    keras.utils.set_random_seed(SEED)
    preset = get_preset(config["preset"])
    model = build_model(config["variant"], config["label_step"], preset,
                        long_conv=config["long_conv"], lstm=config.get("lstm", "projected"))
    model.compile(optimizer=keras.optimizers.RMSprop(5e-4), loss=ccc_loss,
                  jit_compile=bool(config["xla"]))
    inputs, targets = random_batch(model, config["batch"])
    result = dict(config, parameters=int(model.count_params()), backend=keras.backend.backend())
    repeats = int(config["repeats"])
    if config.get("train", True):
        first, times = timed(lambda: model.train_on_batch(inputs, targets), repeats)
        result.update(first_train_step_s=first, train_times_s=times,
                      train_s_per_segment=float(np.median(times)) / config["batch"])
    if config.get("predict", True):
        first, times = timed(lambda: model.predict_on_batch(inputs), repeats)
        audio_s = config["batch"] * preset.segment_seconds
        result.update(first_predict_s=first, predict_times_s=times,
                      predict_rtf=audio_s / float(np.median(times)))
    result["peak_memory_gb"] = peak_memory_gb()
    return result


WORKERS = {"model": measure_model}
"""Measurements a worker process can run, by name (long_conv.py adds its own)."""


def run_isolated(kind: str, config: dict[str, Any], script: str | Path | None = None,
                 timeout: float = WORKER_TIMEOUT_S) -> dict[str, Any]:
    """Run one measurement in a fresh Python process and return its result.

    A failure (an exception, running out of memory, the timeout) is returned
    as ``{"error": "..."}`` with the config, so that one configuration cannot
    stop the others.
    """
    script = Path(script or __file__).resolve()
    payload = json.dumps({"kind": kind, "config": config})
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1",
               KERAS_BACKEND=config.get("backend", "tensorflow"))
    env.update(isa_environment(config.get("isa", "native"), env))
    try:
        done = subprocess.run([sys.executable, str(script), "--worker", payload], env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(config, error=f"timed out after {timeout:.0f} s")
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    return dict(config, error=f"exit code {done.returncode}: {' | '.join(tail)}")


def isa_environment(isa: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Environment variables that hold the numerical libraries to one instruction set.

    On a CPU with AVX-512 the ``avx2`` cap runs the code an AVX2-only CPU (a
    Zen 3 EPYC, older Xeons) would run: oneDNN (TensorFlow's matrix products,
    convolutions and pooling) reads ``ONEDNN_MAX_CPU_ISA`` and XLA (the direct
    convolution, every JAX step) ``--xla_cpu_max_isa``. TensorFlow's own Eigen
    kernels (the FFTs, transposes, element-wise operations) are compiled for AVX
    in the released wheels and run the same code on every x86-64 CPU. What the
    cap cannot reproduce is the rest of another CPU: its caches, clock and
    memory bandwidth.
    """
    if isa == "native":
        return {}
    if isa != "avx2":
        raise ValueError(f"unknown ISA cap {isa!r}; choose from {ISA_CAPS}")
    xla_flags = (environ or os.environ).get("XLA_FLAGS", "")
    return {"ONEDNN_MAX_CPU_ISA": "AVX2",
            "XLA_FLAGS": (xla_flags + " --xla_cpu_max_isa=AVX2").strip()}


def worker_main(payload: str) -> None:
    """Entry point of a worker process: run one measurement, print its result as JSON."""
    request = json.loads(payload)
    result = WORKERS[request["kind"]](request["config"])
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# ----------------------------------------------------------------------------
# Tables
# ----------------------------------------------------------------------------


def format_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A Markdown table with right-aligned columns."""
    cells = [[str(c) for c in header]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.rjust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    return "\n".join(lines)


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def configurations(args) -> list[dict[str, Any]]:
    variants = VARIANTS if args.variants == ["all"] else args.variants
    configs = []
    for backend in args.backends:
        # JAX compiles every step with XLA: its FFT runs have XLA on, whatever --fft-xla says.
        fft_xla = [True] if backend == "jax" else {"off": [False], "on": [True], "both": [False, True]}[args.fft_xla]
        for isa, preset in ((isa, preset) for isa in args.isa for preset in args.presets):
            for variant in variants:
                base = {"backend": backend, "isa": isa, "preset": preset, "variant": variant,
                        "label_step": args.label_step, "repeats": args.repeats}
                for lstm in args.lstm:
                    if variant != "S" and not args.no_direct:
                        configs.append(dict(base, lstm=lstm, long_conv="direct", xla=True,
                                            batch=args.batch_direct))
                    # The S model has no waveform tower: one run is enough.
                    for xla in fft_xla[:1] if variant == "S" else fft_xla:
                        configs.append(dict(base, lstm=lstm, long_conv="fft", xla=xla,
                                            batch=args.batch_fft))
    return configs


def model_rows(results: Sequence[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for r in results:
        conv = "-" if r["variant"] == "S" else r["long_conv"]
        label = [r.get("backend", "tensorflow"), r.get("isa", "native"), r["preset"], r["variant"],
                 f"{r['label_step']} ms", conv, r.get("lstm", "projected"),
                 "on" if r["xla"] else "off", r["batch"]]
        if "error" in r:
            rows.append(label + ["failed: " + r["error"][:60], "", "", ""])
            continue
        rows.append(label + [fmt(r.get("train_s_per_segment")), fmt(r.get("predict_rtf")),
                             fmt(r.get("first_train_step_s")), fmt(r.get("peak_memory_gb"))])
    return rows


MODEL_HEADER = ("backend", "ISA", "preset", "model", "labels", "long conv", "LSTM", "XLA", "batch", "train s/segment",
                "predict x real time", "first step s", "peak memory GB")


def speedup_rows(results: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Per backend, ISA cap, preset and variant: stock build vs the best FFT + ProjectedLSTM run."""
    rows = []
    ok = [r for r in results if "error" not in r and "train_s_per_segment" in r]
    keys = dict.fromkeys((r.get("backend", "tensorflow"), r.get("isa", "native"), r["preset"], r["variant"],
                          r["label_step"]) for r in ok)
    for key in keys:
        same = [r for r in ok if (r.get("backend", "tensorflow"), r.get("isa", "native"), r["preset"],
                                  r["variant"], r["label_step"]) == key]
        stock = next((r for r in same if r["long_conv"] == "direct" and r.get("lstm") == "keras"), None)
        ours = [r for r in same if r["long_conv"] == "fft" and r.get("lstm", "projected") == "projected"]
        if stock is None or not ours:
            continue
        best = min(ours, key=lambda r: r["train_s_per_segment"])
        rows.append([*key[:4], f"{key[4]} ms", fmt(stock["train_s_per_segment"]),
                     fmt(best["train_s_per_segment"]),
                     fmt(stock["train_s_per_segment"] / best["train_s_per_segment"]),
                     fmt(stock.get("predict_rtf")), fmt(best.get("predict_rtf")),
                     fmt(best["predict_rtf"] / stock["predict_rtf"]
                         if stock.get("predict_rtf") and best.get("predict_rtf") else None)])
    return rows


SPEEDUP_HEADER = ("backend", "ISA", "preset", "model", "labels", "train s stock", "train s ours",
                  "training speed-up", "predict x RT stock", "predict x RT ours", "prediction speed-up")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS)
    parser.add_argument("--variants", nargs="+", default=["WS"],
                        help="W, S, WS, or all (default: WS)")
    parser.add_argument("--label-step", type=int, default=20, choices=(20, 40))
    parser.add_argument("--batch-direct", type=int, default=BATCH_DIRECT)
    parser.add_argument("--batch-fft", type=int, default=BATCH_FFT)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--fft-xla", choices=("off", "on", "both"), default="off")
    parser.add_argument("--no-direct", action="store_true",
                        help="skip the direct convolution (XLA) runs")
    parser.add_argument("--backends", nargs="+", default=["tensorflow"], choices=BACKENDS,
                        help="Keras backends to measure, each in its own processes (default: tensorflow)")
    parser.add_argument("--lstm", nargs="+", default=["keras", "projected"],
                        choices=("keras", "projected"),
                        help="LSTM layers to measure: keras (the stock layer) and/or projected "
                             "(emo_lib.layers.ProjectedLSTM, the paper preset's); default both")
    parser.add_argument("--isa", nargs="+", default=["native"], choices=ISA_CAPS,
                        help="instruction sets to measure: native (all the CPU has) and/or avx2 "
                             "(oneDNN and XLA held to AVX2, what an AVX2-only CPU runs)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args.worker)
        return
    bad = [v for v in args.variants if v not in (*VARIANTS, "all")]
    if bad:
        parser.error(f"unknown variant(s) {bad}; choose from W, S, WS, all")

    machine = machine_description()
    results = []
    for config in configurations(args):
        print(f"... {config}", file=sys.stderr, flush=True)
        results.append(run_isolated("model", config))
    print_machine(machine, os.getloadavg())
    print(format_table(model_rows(results), MODEL_HEADER))
    speedups = speedup_rows(results)
    if speedups:
        print("\nThe project's build (FFT convolution, ProjectedLSTM, XLA as in its row) against the "
              "stock build (keras Conv1D and LSTM, XLA on), per segment")
        print(format_table(speedups, SPEEDUP_HEADER))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()
