"""Custom Keras 3 layers: cross-channel max pooling and the long convolution.

Only ``keras.layers`` and ``keras.ops`` are used, so the layers run on the
TensorFlow and JAX backends alike, and serialise in the ``.keras`` format.
"""

from __future__ import annotations

import keras
from keras import ops

from .errors import EmoInputError

__all__ = ["CrossChannelMaxPool", "make_conv1d"]


@keras.saving.register_keras_serializable(package="emo_lib")
class CrossChannelMaxPool(keras.layers.Layer):
    """Max over groups of ``pool_size`` consecutive channels (maxout).

    Input ``(..., C)`` becomes ``(..., C // pool_size)``; output channel ``j``
    is the maximum of input channels ``j * pool_size`` to
    ``(j + 1) * pool_size - 1``.

    Parameters
    ----------
    pool_size : int
        Channels per group; must divide the number of input channels.
    """

    def __init__(self, pool_size: int, **kwargs):
        super().__init__(**kwargs)
        if int(pool_size) < 1:
            raise EmoInputError(f"pool_size must be at least 1, got {pool_size}")
        self.pool_size = int(pool_size)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is not None and channels % self.pool_size:
            raise EmoInputError(
                f"{self.name}: {channels} channels cannot be pooled in groups of {self.pool_size}"
            )
        self.built = True

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        return (*input_shape[:-1], None if channels is None else channels // self.pool_size)

    def call(self, inputs):
        channels = inputs.shape[-1]
        grouped = ops.reshape(
            inputs, (*ops.shape(inputs)[:-1], channels // self.pool_size, self.pool_size)
        )
        return ops.max(grouped, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size})
        return config


def make_conv1d(filters: int, kernel_size: int, *, implementation: str = "direct",
                activation: str | None = "relu", name: str | None = None) -> keras.layers.Layer:
    """A 1-D convolution with ``padding="same"``, computed directly or through FFTs.

    Parameters
    ----------
    filters, kernel_size : int
        As for ``keras.layers.Conv1D``.
    implementation : {"direct", "fft", "auto"}
        ``"direct"``: ``keras.layers.Conv1D``. ``"fft"``: the FFT long
        convolution (same weights, same function). ``"auto"``: the faster one
        for this kernel size.
    activation : str or None
    name : str, optional

    Returns
    -------
    keras.layers.Layer
        Input ``(batch, steps, channels)``, output ``(batch, steps, filters)``.
    """
    if implementation not in ("direct", "fft", "auto"):
        raise EmoInputError(f"unknown convolution implementation {implementation!r}")
    return keras.layers.Conv1D(filters, kernel_size, padding="same", activation=activation, name=name)
