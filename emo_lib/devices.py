"""Data-parallel training over several devices, through the backends' own engines.

:func:`distribute` turns a device count into a :class:`DevicePlacement` whose
:meth:`~DevicePlacement.scope` is the context to build, compile and fit a model
under:

* JAX: the Keras distribution API, ``keras.distribution.DataParallel`` over
  the first N devices (the variables are replicated, every batch is split
  along its first axis, and the step is one program over the global batch);
* TensorFlow: ``tf.distribute.MirroredStrategy`` over the first N devices
  (one replica per device, each computes the loss of its share of the batch,
  the gradients are summed after each replica's loss is divided by N).

One device (the default) changes nothing: no distribution, no strategy.

The batch size stays the global one (``TrainConfig.batch_size``), split evenly
over the devices, so it must be a multiple of N (:class:`~emo_lib.config.TrainConfig`
checks it); an epoch's last, shorter batch is padded to a multiple of N with
masked copies of a segment, which change neither the loss nor the metrics.

What is equivalent to one device
--------------------------------
The loss, 1 - CCC over every unmasked frame of the batch, is not a mean of
per-segment terms, so splitting a batch is not neutral in general:

* JAX computes the global batch's loss: a step on N devices is the step on
  one device with the same batch (same weights up to float rounding), dropout
  masks included (JAX draws them for the global batch).
* TensorFlow computes the loss of each replica's share and averages them: a
  step on N devices is the step on one device with the loss
  ``mean_k (1 - CCC(share k))``, the shares being the N consecutive slices of
  the batch, and dropout masks differ from one device's (each replica draws
  its own from the same seed). The streaming CCC metrics (validation scores,
  early stopping) are merged across replicas exactly; ``loss`` and
  ``val_loss`` in the log are the mean of the replicas' losses.

Several devices need as many devices visible to the backend. On a CPU,
virtual devices stand in for them (for tests): see
:func:`virtual_cpu_devices`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Iterator

from .errors import EmoInputError

__all__ = ["DevicePlacement", "available_devices", "choose_devices", "distribute", "virtual_cpu_devices",
           "HOW_TO_GET_DEVICES"]

HOW_TO_GET_DEVICES = {
    "jax": "on a CPU, JAX shows N virtual devices when XLA_FLAGS='--xla_force_host_platform_device_count=N "
           "--xla_cpu_multi_thread_eigen=false' is set before JAX starts (for example in the shell, with "
           "KERAS_BACKEND=jax; emo_lib.devices.virtual_cpu_devices(N) does it)",
    "tensorflow": "on a CPU, TensorFlow shows N logical devices after "
                  "tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * N) "
                  "is called before TensorFlow initialises (emo_lib.devices.virtual_cpu_devices(N) does it)",
}
"""How to get several devices on a CPU, per backend (quoted in the error for too few devices)."""


def _backend() -> str:
    import keras

    return keras.backend.backend()


def available_devices() -> list[str]:
    """The devices the Keras backend can distribute over: its accelerators, or else its CPUs.

    Returns
    -------
    list of str
        JAX: ``keras.distribution.list_devices()`` names (``"cpu:0"``,
        ``"gpu:0"``, ...); TensorFlow: logical device names
        (``"/device:GPU:0"``, ``"/device:CPU:0"``, ...).
    """
    backend = _backend()
    if backend == "jax":
        import keras

        return list(keras.distribution.list_devices())
    if backend == "tensorflow":
        import tensorflow as tf

        for kind in ("GPU", "TPU", "CPU"):
            found = [device.name for device in tf.config.list_logical_devices(kind)]
            if found:
                return found
        return []
    raise EmoInputError(f"training on several devices needs the JAX or TensorFlow backend, not {backend!r}")


@dataclass
class DevicePlacement:
    """Where a model trains: one device (nothing distributed) or N with a backend's engine.

    Attributes
    ----------
    count : int
        Number of devices (replicas).
    names : list of str
        The devices used; empty for one device (the backend's default).
    engine : str or None
        ``"keras.distribution.DataParallel"`` (JAX),
        ``"tf.distribute.MirroredStrategy"`` (TensorFlow), or None for one
        device.
    handle : object or None
        The ``DataParallel`` distribution or the ``MirroredStrategy``.
    """

    count: int = 1
    names: list[str] = field(default_factory=list)
    engine: str | None = None
    handle: Any = None

    @contextlib.contextmanager
    def scope(self) -> Iterator["DevicePlacement"]:
        """The context to build, compile (optimiser included), load, fit and save under.

        One device: a context that does nothing.
        """
        if self.handle is None:
            yield self
            return
        with self.handle.scope():
            yield self

    def record(self) -> dict[str, Any]:
        """What ``run.json`` keeps: the count, the devices, the engine and what it makes equivalent."""
        if self.engine is None:
            return {"count": 1, "names": [], "engine": None}
        equivalence = {
            "keras.distribution.DataParallel":
                "the global batch's loss (a step equals one device's step on the same batch)",
            "tf.distribute.MirroredStrategy":
                f"the mean of the {self.count} replicas' losses, each the 1 - CCC of its consecutive share of "
                "the batch (not one device's loss on the whole batch); per-replica dropout masks",
        }[self.engine]
        return {"count": self.count, "names": list(self.names), "engine": self.engine, "loss": equivalence}


def choose_devices(count: int = 1) -> list[str]:
    """The first ``count`` devices of :func:`available_devices` (none for one device: the default one).

    Raises
    ------
    EmoInputError
        For a count below 1, a backend other than JAX and TensorFlow, or
        fewer devices than asked (the message lists them and says how to get
        virtual CPU devices).
    """
    if isinstance(count, bool) or int(count) != count or count < 1:
        raise EmoInputError(f"the number of devices must be a whole number of at least 1, got {count!r}")
    if int(count) == 1:
        return []
    devices = available_devices()
    if len(devices) < count:
        backend = _backend()
        raise EmoInputError(
            f"{count} devices asked for, but the {backend} backend sees {len(devices)}: "
            f"{', '.join(devices) or 'none'}; {HOW_TO_GET_DEVICES[backend]}")
    return devices[:int(count)]


def distribute(count: int = 1) -> DevicePlacement:
    """The placement to train on ``count`` devices of the Keras backend.

    Parameters
    ----------
    count : int
        1 (the default) changes nothing; N > 1 uses the first N devices of
        :func:`available_devices` with ``keras.distribution.DataParallel``
        (JAX) or ``tf.distribute.MirroredStrategy`` (TensorFlow).

    Returns
    -------
    DevicePlacement

    Raises
    ------
    EmoInputError
        As :func:`choose_devices`.

    Examples
    --------
    >>> placement = distribute(2)  # doctest: +SKIP
    >>> with placement.scope():  # doctest: +SKIP
    ...     model = build_model("S", 20, "tiny")
    ...     model.compile(...)
    ...     model.fit(...)
    """
    names = choose_devices(count)
    if not names:
        return DevicePlacement()
    if _backend() == "jax":
        import keras

        handle = keras.distribution.DataParallel(devices=names)
        return DevicePlacement(len(names), names, "keras.distribution.DataParallel", handle)
    import tensorflow as tf

    handle = tf.distribute.MirroredStrategy(names)
    return DevicePlacement(len(names), names, "tf.distribute.MirroredStrategy", handle)


def virtual_cpu_devices(count: int) -> None:
    """Make the backend show ``count`` CPU devices (for tests and trials on a machine without accelerators).

    Call it before the backend starts: JAX reads ``XLA_FLAGS`` when it starts
    (this sets ``--xla_force_host_platform_device_count``), TensorFlow fixes
    its logical devices when it initialises. It does nothing for ``count``
    1.

    For JAX it also sets ``--xla_cpu_multi_thread_eigen=false``: each virtual
    device then runs its operations on one thread, and the devices share the
    cores. With XLA's multi-threaded Eigen, a device waiting in an all-reduce
    for the other one can hold the worker that the other device's operations
    were queued on; on a 2-core machine the collective rendezvous then times
    out after 40 s and XLA aborts the process (seen once in a CI run of
    ``tests/test_devices.py``; the same pairing of virtual CPU devices with
    single-threaded Eigen is advised in jax-ml/jax#823).

    Raises
    ------
    EmoInputError
        When the backend has started already with another device count.
    """
    if count <= 1:
        return
    backend = os.environ.get("KERAS_BACKEND") or ("jax" if "jax" in sys.modules and "tensorflow" not in sys.modules
                                                  else "tensorflow")
    if "keras" in sys.modules:
        backend = _backend()
    if backend == "jax":
        flag = f"--xla_force_host_platform_device_count={count}"
        if "jax" in sys.modules:
            import jax

            if jax.device_count("cpu") >= count:
                return
            raise EmoInputError(f"JAX has started already with {jax.device_count('cpu')} CPU device(s): "
                                f"{HOW_TO_GET_DEVICES['jax']}")
        flags = [f for f in os.environ.get("XLA_FLAGS", "").split()
                 if not f.startswith(("--xla_force_host_platform_device_count", "--xla_cpu_multi_thread_eigen"))]
        os.environ["XLA_FLAGS"] = " ".join([*flags, flag, "--xla_cpu_multi_thread_eigen=false"])
        return
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        present = len(tf.config.list_logical_devices("CPU"))
        if present >= count:
            return
        raise EmoInputError(f"TensorFlow has initialised already with {present} CPU device(s): "
                            f"{HOW_TO_GET_DEVICES['tensorflow']}") from None
