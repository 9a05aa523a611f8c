"""Data-parallel training on two virtual CPU devices (emo_lib.devices), on JAX and on TensorFlow.

Each backend runs in a fresh interpreter (tests/device_check.py) that sets up two CPU devices
before the backend starts: XLA's host device count for JAX, two logical CPU devices for
TensorFlow. One SGD step on a batch of 4 with the CCC loss is taken on one device and on two.

* JAX (``keras.distribution.DataParallel``) computes the loss of the global batch: two devices
  give one device's weights.
* TensorFlow (``tf.distribute.MirroredStrategy``) averages the replicas' losses, each the CCC
  loss of its half of the batch. The CCC is not a mean over segments, so two devices give the
  weights of one device minimising the mean of the two half-batches' losses, not those of the
  whole batch's loss (the test shows the gap is large).

The streaming CCC metrics agree with one device's on both backends.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emo_lib.config import TrainConfig
from emo_lib.errors import EmoInputError

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
TIGHT = 1e-5  # largest weight difference relative to the weights' magnitude


BACKENDS = ("jax", "tensorflow")


def _start(backend: str, out_dir: Path) -> tuple[subprocess.Popen, Path]:
    """Start tests/device_check.py for a backend; its output goes to files in ``out_dir`` (no pipe to fill)."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("XLA_FLAGS", None)
    with open(out_dir / "stdout.txt", "w") as stdout, open(out_dir / "stderr.txt", "w") as stderr:
        process = subprocess.Popen([sys.executable, str(TESTS / "device_check.py"), str(out_dir)], env=env,
                                   stdout=stdout, stderr=stderr)
    return process, out_dir


def _finish(started: tuple[subprocess.Popen, Path]) -> tuple[int, str, str]:
    process, out_dir = started
    returncode = process.wait(timeout=900)
    return returncode, (out_dir / "stdout.txt").read_text(), (out_dir / "stderr.txt").read_text()


def _aborted_collective(backend: str, returncode: int, stderr: str) -> bool:
    """XLA's CPU runtime aborting a collective whose two virtual devices waited on each other's threads.

    emo_lib.devices.virtual_cpu_devices sets the flag that avoids it; should it happen all the same,
    that abort, and only that one, is tried once more.
    """
    return backend == "jax" and returncode != 0 and "Termination timeout" in stderr and "rendezvous" in stderr


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    """Both backends' checks, started at once in their own interpreters (they share the cores)."""
    processes = {backend: _start(backend, tmp_path_factory.mktemp(backend)) for backend in BACKENDS}
    yield processes
    for process, _ in processes.values():
        if process.poll() is None:
            process.kill()


@pytest.fixture(scope="module", params=BACKENDS)
def check(request, started, tmp_path_factory):
    backend = request.param
    returncode, stdout, stderr = _finish(started[backend])
    if _aborted_collective(backend, returncode, stderr):
        returncode, stdout, stderr = _finish(_start(backend, tmp_path_factory.mktemp(f"{backend}-again")))
    assert returncode == 0, stderr[-4000:]
    return json.loads(stdout.strip().splitlines()[-1])


def test_two_devices_are_used(check):
    assert check["devices_used"] == 2 and check["variable_copies"] == 2
    assert check["moved"] > 1e-3  # the step changed the weights


def test_one_step_on_two_devices(check):
    if check["backend"] == "jax":
        # the global batch's loss: the same step as on one device
        assert check["two_vs_whole"] < TIGHT
    else:
        # the mean of the replicas' half-batch losses: one device's step on that loss ...
        assert check["two_vs_halves"] < TIGHT
        # ... which is not the whole batch's loss
        assert check["two_vs_whole"] > 1000 * TIGHT
    assert check["halves_vs_whole"] > 1000 * TIGHT  # the two losses differ: the comparison can tell them apart


def test_streaming_metrics_merge_across_devices(check):
    for name in ("ccc_arousal", "ccc_valence"):
        assert check["metrics_two"][name] == pytest.approx(check["metrics_one"][name], rel=1e-5, abs=1e-6)


def test_too_many_devices_is_a_clear_error(check):
    message = check["too_many"]
    assert message is not None and "3 devices asked for" in message and "sees 2" in message
    hint = "xla_force_host_platform_device_count" if check["backend"] == "jax" else "set_logical_device_configuration"
    assert hint in message


def test_train_model_on_two_devices(check):
    devices = check["run_json_devices"]
    assert devices["count"] == 2 and len(devices["names"]) == 2 and devices["engine"]
    assert check["resumed_epochs"] == 3  # a run on two devices resumes
    assert all(value == value for value in check["val_ccc_two"])  # finite validation scores
    if check["backend"] == "jax":
        # warm-up, plateau schedule, moving average, dropout, a padded validation batch: as on one device
        assert check["run_json_one_device"] == {"count": 1, "names": [], "engine": None}
        assert check["train_model_two_vs_one"] < TIGHT
        assert check["val_ccc_two"] == pytest.approx(check["val_ccc_one"], abs=1e-5)


def test_batch_must_split_evenly():
    assert TrainConfig(batch_size=4, devices=2).devices == 2
    with pytest.raises(EmoInputError, match="multiple of 3"):
        TrainConfig(batch_size=50, devices=3)
    with pytest.raises(EmoInputError, match="devices must be"):
        TrainConfig(devices=0)


def test_command_line_refuses_too_many_devices(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("KERAS_BACKEND", None)
    result = subprocess.run([sys.executable, "-m", "emo_lib", "train", "--corpus", "recola", "--root", "nowhere",
                             "--variant", "S", "--out", "run", "--devices", "64", "--batch-size", "64"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "64 devices asked for" in result.stderr and "set_logical_device_configuration" in result.stderr
    assert not (tmp_path / "run").exists()  # refused before the corpus is read
