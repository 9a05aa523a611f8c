"""One optimiser step on one device and on two, in a fresh interpreter (tests/test_devices.py runs it).

Usage: ``KERAS_BACKEND=jax|tensorflow python tests/device_check.py OUT_DIR``. Two virtual CPU devices
are set up before the backend starts; the numbers are printed as one JSON line for the test to check.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emo_lib.devices import virtual_cpu_devices  # noqa: E402  (imports no backend)

virtual_cpu_devices(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from emo_lib.config import TrainConfig, get_preset  # noqa: E402
from emo_lib.devices import distribute  # noqa: E402
from emo_lib.errors import EmoInputError  # noqa: E402
from emo_lib.keras_metrics import ccc_loss, ccc_metrics  # noqa: E402
from emo_lib.models import build_model  # noqa: E402
from emo_lib.training import train_model  # noqa: E402

from synthetic_arrays import make_segment_set  # noqa: E402

SHORT = get_preset("tiny").replace(segment_seconds=2.0)  # 2 s segments: quicker steps
PRESET = SHORT.replace(dropout=0.0)


def half_batch_loss(y_true, y_pred):
    """The mean of the two half-batches' CCC losses (what two replicas of a batch of 4 minimise)."""
    return 0.5 * (ccc_loss(y_true[:2], y_pred[:2]) + ccc_loss(y_true[2:], y_pred[2:]))


def one_step(initial, x, y, loss, placement=None, evaluate=True):
    """Weights after one SGD step on the batch of 4 through ``fit``, and the metrics of the initial weights."""
    placement = placement or distribute(1)
    with placement.scope():
        model = build_model("S", 40, PRESET)
        model.set_weights(initial)
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss=loss, metrics=ccc_metrics(), jit_compile=False)
        # the metrics of the initial weights (the same on one device and on two), then the step
        scores = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True) if evaluate else {}
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        return model, model.get_weights(), {k: float(v) for k, v in scores.items()}


def largest_difference(first, second) -> float:
    """The largest difference over all weight arrays, relative to the largest magnitude in each pair."""
    differences = []
    for a, b in zip(first, second):
        scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))))
        differences.append(float(np.max(np.abs(a - b))) / scale if scale > 0 else 0.0)
    return max(differences)


def main(out_dir: Path) -> None:
    backend = keras.backend.backend()
    segments = make_segment_set(2, 4.0, seed=1, segment_seconds=2.0)
    x, y = segments.batch(range(4), ["spectrogram", "frame_mask"])
    y[1, 30:, 2] = 0  # some padding frames: left out of the loss and the metrics
    x["frame_mask"][1, 30:] = 0
    keras.utils.set_random_seed(0)
    initial = build_model("S", 40, PRESET).get_weights()

    _, whole, whole_scores = one_step(initial, x, y, ccc_loss)
    _, halves, _ = one_step(initial, x, y, half_batch_loss, evaluate=False)
    placement = distribute(2)
    model, two, two_scores = one_step(initial, x, y, ccc_loss, placement)
    if backend == "jax":
        used = int(np.prod(placement.handle.device_mesh.shape))
        holding = len(model.trainable_variables[0].value.sharding.device_set)
    else:
        used = placement.handle.num_replicas_in_sync
        holding = len(model.trainable_variables[0].value.values)

    try:
        distribute(3)
        too_many = None
    except EmoInputError as error:
        too_many = str(error)

    # train_model on two devices (and on one with JAX, which should match): warm-up, plateau
    # schedule, moving average, dropout, a padded last validation batch (3 segments, batch 4),
    # then a resumed third epoch.
    train = make_segment_set(2, 4.0, seed=1, segment_seconds=2.0)
    validation = make_segment_set(1, 6.0, seed=2, segment_seconds=2.0)
    runs = {}
    for devices in ((1, 2) if backend == "jax" else (2,)):
        config = TrainConfig(batch_size=4, learning_rate=1e-3, max_epochs=2, patience=5, seed=3, jit_compile=False,
                             warmup_epochs=1, lr_schedule="plateau", lr_patience=1, ema_momentum=0.9,
                             devices=devices)
        keras.utils.set_random_seed(3)
        result = train_model(build_model("S", 40, SHORT), train, validation, out_dir / f"run{devices}", config,
                             verbose=0)
        resumed = train_model(None, train, validation, out_dir / f"run{devices}", config.replace(max_epochs=3),
                              resume=True, verbose=0)
        run = json.loads((out_dir / f"run{devices}" / "run.json").read_text())
        runs[devices] = {"history": result.history, "resumed_epochs": len(resumed.history),
                         "weights": result.model.get_weights(), "devices": run["devices"]}

    print(json.dumps({
        "backend": backend,
        "devices_used": used,
        "variable_copies": holding,
        "moved": largest_difference(initial, whole),
        "two_vs_whole": largest_difference(whole, two),
        "two_vs_halves": largest_difference(halves, two),
        "halves_vs_whole": largest_difference(halves, whole),
        "metrics_one": whole_scores,
        "metrics_two": two_scores,
        "too_many": too_many,
        "train_model_two_vs_one": (largest_difference(runs[1]["weights"], runs[2]["weights"])
                                   if 1 in runs else None),
        "val_ccc_one": [row["val_ccc_mean"] for row in runs[1]["history"]] if 1 in runs else None,
        "val_ccc_two": [row["val_ccc_mean"] for row in runs[2]["history"]],
        "lr_two": [row["lr"] for row in runs[2]["history"]],
        "resumed_epochs": runs[2]["resumed_epochs"],
        "run_json_devices": runs[2]["devices"],
        "run_json_one_device": runs[1]["devices"] if 1 in runs else None,
    }))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
