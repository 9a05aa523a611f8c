"""Benchmark: the paper's W+S model with the 800-tap convolution computed directly or through FFTs.

96 % of the arithmetic of the paper's model is the waveform tower's second
convolution (800 taps, 40 -> 40 channels, 48,000 steps per 6 s segment).
:class:`emo_lib.layers.FFTConv1D` computes the same function through FFTs.
This script prints, side by side, for the paper's W+S model at 20 ms and 40 ms
labels:

1. training seconds per segment, prediction real-time factor (seconds of audio
   per second of computing), first-step (compilation) time and peak memory
   (maximum resident set size, one subprocess per configuration) for the
   direct convolution with XLA (batch ``--batch-direct``) and the FFT
   convolution with XLA off and on (batch ``--batch-fft``; the better of the
   two is the FFT figure);
2. how closely the two implementations agree on the same weights: outputs and
   the gradients of the CCC loss of every weight (dropout off), as the largest
   difference over the largest magnitude;
3. the feature pipeline's real-time factor: :func:`emo_lib.features.log_mel_deltas`
   on 5 minutes of audio beside the plain librosa calls it is built from;
4. where the time of one FFT training step goes: every layer's forward and
   backward pass timed on its own (a sub-model per layer, batch
   ``--batch-fft``, XLA off), beside the whole ``train_on_batch`` step.

``--crossover`` instead measures a single 48,000-step, 40 -> 40 channel
convolution (forward and backward) at several kernel sizes, direct with XLA
against FFT, and the FFT block lengths: the measurements behind
``emo_lib.layers.FFT_MIN_KERNEL`` and the ``block_size="auto"`` rule.

Run it with ``python benchmarks/long_conv.py [--repeats 2] [--batch-direct 4]
[--batch-fft 32] [--skip-direct] [--json results.json]`` (about 10 minutes on
a quiet 2-core machine) or ``python benchmarks/long_conv.py --crossover``.
Timings taken while other processes compete for the cores are pessimistic:
the machine and its load average are printed with the results.
"""

# Setup
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_step  # noqa: E402  (the measuring functions shared with train_step.py)
from train_step import (  # noqa: E402
    MODEL_HEADER,
    fmt,
    format_table,
    machine_description,
    model_rows,
    print_machine,
    random_batch,
    run_isolated,
    timed,
)

SEED = 0
LABEL_STEPS = (20, 40)
BATCH_DIRECT = 4
BATCH_FFT = 32
REPEATS = 2
FEATURE_SECONDS = 300.0
CROSSOVER_KERNELS = (16, 32, 64, 128, 200, 400, 800)
CROSSOVER_STEPS = 48_000
CROSSOVER_CHANNELS = 40
CROSSOVER_BATCH = 8
BLOCK_LENGTHS = {800: (1024, 2048, 4096, 8192, 16384), 200: (512, 1024, 2048, 4096),
                 32: (128, 256, 512, 1024)}


# ----------------------------------------------------------------------------
# Do the two implementations compute the same numbers?
# ----------------------------------------------------------------------------


def measure_agreement(config: dict[str, Any]) -> dict[str, Any]:
    """Outputs and CCC-loss gradients of the direct and FFT models on the same weights.

    The direct model runs under XLA (its gradient is unusable without it on a
    CPU); dropout is off so that both see the same function.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from emo_lib.metrics import ccc_loss
    from emo_lib.models import build_model

    keras.utils.set_random_seed(SEED)
    direct = build_model("WS", config["label_step"], "paper", long_conv="direct")
    fft = build_model("WS", config["label_step"], "paper", long_conv="fft")
    fft.set_weights(direct.get_weights())
    inputs, targets = random_batch(direct, config["batch"])

    def outputs_and_gradients(model, jit):
        @tf.function(jit_compile=jit)
        def run(x, y):
            with tf.GradientTape() as tape:
                prediction = model(x, training=False)
                loss = ccc_loss(y, prediction)
            return prediction, tape.gradient(loss, model.trainable_weights)

        prediction, gradients = run(inputs, targets)
        return np.asarray(prediction), [np.asarray(g) for g in gradients]

    start = time.perf_counter()
    want, want_grads = outputs_and_gradients(direct, True)
    direct_s = time.perf_counter() - start
    got, got_grads = outputs_and_gradients(fft, False)

    def relative(a, b):
        return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))

    per_weight = {w.path: relative(g, h) for w, g, h in zip(fft.trainable_weights, got_grads,
                                                            want_grads)}
    worst = max(per_weight, key=per_weight.get)
    return dict(config, output_error=relative(got, want), gradient_error=per_weight[worst],
                worst_gradient=worst, wave_conv2_kernel_error=per_weight.get(
                    next(p for p in per_weight if "wave_conv2" in p and "kernel" in p)),
                direct_seconds_incl_compile=direct_s)


# ----------------------------------------------------------------------------
# Where does the time of one FFT training step go?
# ----------------------------------------------------------------------------


def measure_layer_profile(config: dict[str, Any]) -> dict[str, Any]:
    """Forward + backward time of every layer of the FFT model, each on its own.

    Each layer is called on random tensors of its input shape inside a
    ``tf.function`` that also computes the gradients of ``sum(output *
    random)`` with respect to its weights and (except for the model's inputs)
    its inputs, as the layer's share of a training step.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from emo_lib.metrics import ccc_loss
    from emo_lib.models import build_model

    keras.utils.set_random_seed(SEED)
    batch, repeats, xla = config["batch"], config["repeats"], bool(config["xla"])
    model = build_model("WS", config["label_step"], "paper", long_conv="fft")
    rng = np.random.default_rng(SEED)
    input_names = {id(t) for t in model.inputs}
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        sources = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        mask = None
        if isinstance(layer, keras.layers.Bidirectional) and len(sources) == 2:
            # The BLSTM's second input is the frame mask the model passes with the
            # sequence: every step real, as in a batch of whole segments.
            sources = sources[:1]
            mask = tf.ones((batch, *sources[0].shape[1:-1]), dtype="bool")
        tensors = [tf.constant(rng.normal(size=(batch, *t.shape[1:])).astype("float32"))
                   for t in sources]
        # Gradients w.r.t. the layer's inputs, except the model's own inputs (data).
        watch = [i for i, t in enumerate(sources) if id(t) not in input_names]
        cotangent = tf.constant(
            rng.normal(size=(batch, *layer.output.shape[1:])).astype("float32"))

        @tf.function(jit_compile=xla)
        def step(xs, layer=layer, watch=watch, cotangent=cotangent, mask=mask):
            with tf.GradientTape() as tape:
                for i in watch:
                    tape.watch(xs[i])
                if mask is None:
                    y = layer(xs if len(xs) > 1 else xs[0], training=True)
                else:
                    y = layer(xs[0], mask=mask, training=True)
                loss = tf.reduce_sum(y * cotangent)
            return tape.gradient(loss, [*(xs[i] for i in watch), *layer.trainable_weights])

        _, times = timed(lambda: [g.numpy() for g in step(tensors)], repeats)
        rows.append({"layer": layer.name, "kind": type(layer).__name__,
                     "implementation": "FFT" if layer.name == "wave_conv2" else "",
                     "output": list(layer.output.shape[1:]),
                     "seconds": float(np.median(times))})
    model.compile(optimizer=keras.optimizers.RMSprop(5e-4), loss=ccc_loss, jit_compile=xla)
    inputs, targets = random_batch(model, batch)
    _, times = timed(lambda: model.train_on_batch(inputs, targets), repeats)
    return dict(config, layers=rows, train_step_s=float(np.median(times)))


# ----------------------------------------------------------------------------
# Cross-over of direct and FFT convolution, and FFT block lengths
# ----------------------------------------------------------------------------


def measure_single_conv(config: dict[str, Any]) -> dict[str, Any]:
    """Forward + backward seconds of one convolution layer (median of repeats)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from emo_lib.layers import FFTConv1D, fft_block_plan

    keras.utils.set_random_seed(SEED)
    batch, steps, channels, kernel = (config["batch"], config["steps"], config["channels"],
                                      config["kernel"])
    if config["implementation"] == "direct":
        layer = keras.layers.Conv1D(channels, kernel, padding="same")
    else:
        layer = FFTConv1D(channels, kernel, block_size=config.get("block_size", "auto"))
    rng = np.random.default_rng(SEED)
    x = tf.constant(rng.normal(size=(batch, steps, channels)).astype("float32"))
    cotangent = tf.constant(rng.normal(size=(batch, steps, channels)).astype("float32"))
    layer.build(x.shape)

    @tf.function(jit_compile=bool(config["xla"]))
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x) * cotangent)
        return tape.gradient(loss, [x, *layer.trainable_weights])

    _, times = timed(lambda: [g.numpy() for g in step(x)], config["repeats"])
    result = dict(config, seconds=float(np.median(times)))
    if config["implementation"] == "fft":
        result["plan"] = fft_block_plan(steps, kernel, config.get("block_size", "auto"))
    return result


def crossover(args) -> None:
    machine = machine_description()
    base = {"batch": CROSSOVER_BATCH, "steps": CROSSOVER_STEPS, "channels": CROSSOVER_CHANNELS,
            "repeats": args.repeats}
    rows = []
    for kernel in CROSSOVER_KERNELS:
        runs = {}
        for implementation, xla in (("direct", True), ("fft", False), ("fft", True)):
            config = dict(base, kernel=kernel, implementation=implementation, xla=xla)
            print(f"... {config}", file=sys.stderr, flush=True)
            runs[(implementation, xla)] = run_isolated("conv", config, __file__)
        seconds = {key: r.get("seconds") for key, r in runs.items()}
        fft_best = min(s for k, s in seconds.items() if k[0] == "fft" and s is not None)
        direct = seconds[("direct", True)]
        plan = runs[("fft", False)].get("plan", {})
        rows.append([kernel, fmt(direct and 1000 * direct / CROSSOVER_BATCH),
                     fmt(seconds[("fft", False)] and 1000 * seconds[("fft", False)] / CROSSOVER_BATCH),
                     fmt(seconds[("fft", True)] and 1000 * seconds[("fft", True)] / CROSSOVER_BATCH),
                     fmt(direct / fft_best if direct else None), plan.get("fft_length")])
    block_rows = []
    for kernel, lengths in BLOCK_LENGTHS.items():
        for length in lengths:
            if length < kernel:
                continue
            row = [kernel, length]
            for xla in (False, True):
                config = dict(base, kernel=kernel, implementation="fft", xla=xla,
                              block_size=length)
                print(f"... {config}", file=sys.stderr, flush=True)
                result = run_isolated("conv", config, __file__)
                row.append(fmt(result.get("seconds") and
                               1000 * result["seconds"] / CROSSOVER_BATCH))
            block_rows.append(row)
    print_machine(machine, os.getloadavg())
    print(f"\nOne convolution, {CROSSOVER_STEPS:,} steps, {CROSSOVER_CHANNELS} -> "
          f"{CROSSOVER_CHANNELS} channels, batch {CROSSOVER_BATCH}: forward + backward "
          f"milliseconds per sequence (median of {args.repeats})")
    print(format_table(rows, ("kernel", "direct, XLA", "FFT, XLA off", "FFT, XLA on",
                              "direct / best FFT", "auto FFT length")))
    print("\nFFT block length (FFT size of one overlap-add block): ms per sequence")
    print(format_table(block_rows, ("kernel", "FFT length", "XLA off", "XLA on")))


# ----------------------------------------------------------------------------
# The feature pipeline
# ----------------------------------------------------------------------------


def measure_features(seconds: float = FEATURE_SECONDS, repeats: int = 3) -> dict[str, Any]:
    """Real-time factors of log_mel_deltas and of the plain librosa calls it wraps."""
    import librosa
    import numpy as np

    from emo_lib.config import N_MELS, SAMPLE_RATE
    from emo_lib.features import log_mel_deltas

    rng = np.random.default_rng(SEED)
    signal = rng.normal(size=int(seconds * SAMPLE_RATE)).astype("float32")

    def plain_librosa():
        mel = librosa.feature.melspectrogram(y=signal, sr=SAMPLE_RATE, n_fft=400,
                                             hop_length=160, n_mels=N_MELS)
        log_mel = np.log(mel + 1e-10)
        return (log_mel, librosa.feature.delta(log_mel, order=1),
                librosa.feature.delta(log_mel, order=2))

    results = {"audio_seconds": seconds}
    for name, function in (("log_mel_deltas", lambda: log_mel_deltas(signal)),
                           ("plain librosa", plain_librosa)):
        _, times = timed(function, repeats)
        results[name] = seconds / float(np.median(times))
    return results


# ----------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------


def model_configs(args) -> list[dict[str, Any]]:
    configs = []
    for step in LABEL_STEPS:
        base = {"preset": "paper", "variant": "WS", "label_step": step, "repeats": args.repeats}
        if not args.skip_direct:
            configs.append(dict(base, long_conv="direct", xla=True, batch=args.batch_direct))
        for xla in (False, True):
            configs.append(dict(base, long_conv="fft", xla=xla, batch=args.batch_fft))
    return configs


def summary_rows(results: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Per label step: direct vs the better FFT configuration, and the speed-ups."""
    rows = []
    for step in LABEL_STEPS:
        ok = [r for r in results if r["label_step"] == step and "error" not in r]
        direct = next((r for r in ok if r["long_conv"] == "direct"), None)
        ffts = [r for r in ok if r["long_conv"] == "fft"]
        if not ffts:
            continue
        best = min(ffts, key=lambda r: r["train_s_per_segment"])
        best_predict = max(ffts, key=lambda r: r["predict_rtf"])
        row = [f"{step} ms",
               fmt(direct and direct["train_s_per_segment"]),
               f"{fmt(best['train_s_per_segment'])} (XLA {'on' if best['xla'] else 'off'})",
               fmt(direct and direct["train_s_per_segment"] / best["train_s_per_segment"]),
               fmt(direct and direct["predict_rtf"]),
               f"{fmt(best_predict['predict_rtf'])} (XLA {'on' if best_predict['xla'] else 'off'})",
               fmt(direct and direct["peak_memory_gb"]), fmt(best["peak_memory_gb"])]
        rows.append(row)
    return rows


def profile_rows(profile: dict[str, Any]) -> list[list[str]]:
    total = sum(r["seconds"] for r in profile["layers"])
    batch = profile["batch"]
    rows = []
    for r in sorted(profile["layers"], key=lambda r: -r["seconds"]):
        kind = r["kind"] + (f" ({r['implementation']})" if r["implementation"] else "")
        rows.append([r["layer"], kind, " x ".join(map(str, r["output"])),
                     fmt(1000 * r["seconds"] / batch), f"{100 * r['seconds'] / total:.1f}"])
    rows.append(["all layers", "", "", fmt(1000 * total / batch), "100"])
    rows.append(["train_on_batch", "whole step (with loss, optimizer)", "",
                 fmt(1000 * profile["train_step_s"] / batch), ""])
    return rows


def profile_table(profile: dict[str, Any]) -> str:
    return format_table(profile_rows(profile), ("layer", "kind", "output", "ms/segment", "% of layers"))


def profiles_only(args) -> None:
    """The layer profile alone, once per instruction-set cap, printed side by side."""
    machine = machine_description()
    profiles = []
    for isa in args.isa:
        config = {"label_step": 20, "batch": args.batch_fft, "xla": False, "repeats": args.repeats,
                  "isa": isa}
        print(f"... layer profile {config}", file=sys.stderr, flush=True)
        profiles.append(run_isolated("profile", config, __file__))
    print_machine(machine, os.getloadavg())
    for profile in profiles:
        if "error" in profile:
            print(f"\nlayer profile ({profile['isa']}) failed: {profile['error']}")
            continue
        print(f"\nOne FFT training step, layer by layer, ISA {profile['isa']} (forward + backward, "
              f"batch {profile['batch']}, XLA off, median of {profile['repeats']}): ms per segment")
        print(profile_table(profile))
    if len(profiles) > 1 and all("error" not in p for p in profiles):
        names = [r["layer"] for r in profiles[0]["layers"]]
        rows = []
        for name in names:
            ms = [1000 * next(r["seconds"] for r in p["layers"] if r["layer"] == name) / p["batch"]
                  for p in profiles]
            rows.append([name, *map(fmt, ms), fmt(ms[-1] / ms[0])])
        totals = [1000 * sum(r["seconds"] for r in p["layers"]) / p["batch"] for p in profiles]
        steps = [1000 * p["train_step_s"] / p["batch"] for p in profiles]
        rows.append(["all layers", *map(fmt, totals), fmt(totals[-1] / totals[0])])
        rows.append(["train_on_batch", *map(fmt, steps), fmt(steps[-1] / steps[0])])
        print("\nSide by side, ms per segment")
        print(format_table(rows, ("layer", *(p["isa"] for p in profiles),
                                  f"{profiles[-1]['isa']} / {profiles[0]['isa']}")))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "profiles": profiles}, indent=2))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--batch-direct", type=int, default=BATCH_DIRECT)
    parser.add_argument("--batch-fft", type=int, default=BATCH_FFT)
    parser.add_argument("--skip-direct", action="store_true",
                        help="leave out the direct convolution (the slow part of the run)")
    parser.add_argument("--crossover", action="store_true",
                        help="measure the direct/FFT cross-over and the FFT block lengths instead")
    parser.add_argument("--profile", action="store_true",
                        help="only the layer-by-layer profile of one FFT training step, per --isa")
    parser.add_argument("--isa", nargs="+", default=["native"], choices=train_step.ISA_CAPS,
                        help="with --profile: native and/or avx2 (oneDNN and XLA held to AVX2)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        train_step.worker_main(args.worker)
        return
    if args.crossover:
        crossover(args)
        return
    if args.profile:
        profiles_only(args)
        return

    machine = machine_description()
    results = []
    for config in model_configs(args):
        print(f"... {config}", file=sys.stderr, flush=True)
        results.append(run_isolated("model", config, __file__))
    agreement = None
    if not args.skip_direct:
        print("... agreement of direct and FFT models", file=sys.stderr, flush=True)
        agreement = run_isolated("agreement", {"label_step": 20, "batch": 2}, __file__)
    print("... layer profile", file=sys.stderr, flush=True)
    profile = run_isolated("profile", {"label_step": 20, "batch": args.batch_fft, "xla": False,
                                       "repeats": args.repeats}, __file__)
    print("... features", file=sys.stderr, flush=True)
    features = measure_features()

    print_machine(machine, os.getloadavg())
    print("\nPaper W+S model, every configuration (train: median of "
          f"{args.repeats} steps after the first; predict: same batch)")
    print(format_table(model_rows(results), MODEL_HEADER))
    print("\nPaper W+S model: direct convolution (XLA) vs FFT (better of XLA off/on)")
    print(format_table(summary_rows(results), (
        "labels", "train s/seg direct", "train s/seg FFT", "speed-up", "predict x RT direct",
        "predict x RT FFT", "peak GB direct", "peak GB FFT")))
    if agreement is not None:
        if "error" in agreement:
            print(f"\nagreement check failed: {agreement['error']}")
        else:
            print(f"\nSame weights, direct vs FFT (20 ms, batch {agreement['batch']}, dropout "
                  f"off): outputs differ by {agreement['output_error']:.1e} of their largest "
                  f"magnitude; CCC-loss gradients by at most {agreement['gradient_error']:.1e} "
                  f"({agreement['worst_gradient']}); wave_conv2 kernel gradient "
                  f"{agreement['wave_conv2_kernel_error']:.1e}")
    print(f"\nFeature pipeline, {features['audio_seconds']:.0f} s of 16 kHz audio: "
          f"log_mel_deltas {features['log_mel_deltas']:,.0f}x real time, plain librosa "
          f"(melspectrogram, log, two deltas) {features['plain librosa']:,.0f}x")
    if "error" in profile:
        print(f"\nlayer profile failed: {profile['error']}")
    else:
        print(f"\nOne FFT training step, layer by layer (forward + backward, batch "
              f"{profile['batch']}, XLA off, median of {profile['repeats']}): ms per segment")
        print(profile_table(profile))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "models": results,
                                         "agreement": agreement, "profile": profile,
                                         "features": features}, indent=2))


train_step.WORKERS.update(agreement=measure_agreement, profile=measure_layer_profile,
                          conv=measure_single_conv)

if __name__ == "__main__":
    main()
