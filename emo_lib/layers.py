"""Custom Keras 3 layers: cross-channel max pooling, gated fusion and the long convolution.

Only ``keras.layers`` and ``keras.ops`` are used, so the layers run on the
TensorFlow and JAX backends alike, and serialise in the ``.keras`` format.

:class:`FFTConv1D` computes exactly what ``keras.layers.Conv1D(filters,
kernel_size, padding="same")`` computes, with the same weights, through
overlap-add blocks of real FFTs. For the paper's 800-tap waveform
convolution (48,000 steps, 40 -> 40 channels) that is about a hundredth of
the arithmetic of the direct convolution. :func:`make_conv1d` builds either
implementation; ``implementation="auto"`` picks the faster one for the kernel
size (see :data:`FFT_MIN_KERNEL` and benchmarks/README.md).
"""

from __future__ import annotations

import math

import keras
from keras import ops

from .errors import EmoInputError

__all__ = [
    "CrossChannelMaxPool",
    "FrameMasking",
    "ClearMask",
    "GatedFusion",
    "ProjectedLSTM",
    "FFTConv1D",
    "FFT_MIN_KERNEL",
    "fft_block_plan",
    "make_conv1d",
]

FFT_MIN_KERNEL = 64
"""Kernel size from which ``make_conv1d(implementation="auto")`` uses FFTs.

Measured on the 2-core development machine (benchmarks/long_conv.py
``--crossover``, forward and backward of a 48,000-step, 40 -> 40 channel
convolution): the FFT convolution costs about 50-150 ms per sequence whatever
the kernel, the direct one with XLA grows with it (73 ms at 16 taps, 108 at
32, 334 at 64, 608 at 200, 2,283 at 800). They cross at about 32 taps; from
64 on the FFT is 3x (64) to 29x (800) faster. Without XLA the direct
convolution's gradient is slower still.
"""


# ---------------------------------------------------------------------------
# Cross-channel max pooling
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Masks of padded label steps
# ---------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="emo_lib")
class FrameMasking(keras.layers.Layer):
    """Attach a 0/1 frame mask to a sequence as a Keras mask.

    Called on ``[sequence, frame_mask]``, it returns ``sequence`` unchanged and
    gives it the mask ``frame_mask > 0.5``, so that the recurrent layers after
    it skip padded steps: a forward LSTM keeps its state through them, and a
    backward LSTM starts at the last real step instead of reading the padding
    first.

    Input ``[(batch, T, d), (batch, T)]``, output ``(batch, T, d)`` with a
    ``(batch, T)`` boolean mask.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        sequence, _ = inputs
        return sequence

    def compute_mask(self, inputs, mask=None):
        _, frame_mask = inputs
        return ops.greater(frame_mask, 0.5)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


@keras.saving.register_keras_serializable(package="emo_lib")
class ClearMask(keras.layers.Layer):
    """Identity that drops the Keras mask.

    The models' outputs carry no mask: padded steps are kept out of the loss
    and the metrics by the mask channel of the targets (see
    :mod:`emo_lib.metrics`), and a mask on the output would make Keras
    reweight the loss a second time.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return input_shape


# ---------------------------------------------------------------------------
# Gated fusion of the two towers
# ---------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="emo_lib")
class GatedFusion(keras.layers.Layer):
    """Weight two towers' features by a per-step gate, then concatenate them.

    Called on ``[waveform_features, spectrogram_features, gate]`` of shapes
    ``(batch, T, a)``, ``(batch, T, b)`` and ``(batch, T, 2)``, whose gate
    holds ``(g_w, g_s)`` per step (a softmax: they sum to 1), it returns
    ``(batch, T, a + b)``::

        concat(2 * g_w * waveform_features, 2 * g_s * spectrogram_features)

    The factor 2 makes equal gates (0.5, 0.5) give the plain concatenation of
    the W+S model, so the gated model can lean on one tower where that helps
    and falls back on W+S where it does not. The layer has no weights (the
    gate comes from a ``Dense(2, softmax)`` before it, see
    :func:`emo_lib.models.build_model` with variant ``"WSG"``); it passes no
    Keras mask on.
    """

    def build(self, input_shapes):
        shapes = [tuple(shape) for shape in input_shapes] if isinstance(input_shapes, (list, tuple)) else []
        if len(shapes) != 3 or any(len(shape) != 3 for shape in shapes):
            raise EmoInputError(
                f"{self.name}: expects [waveform (batch, T, a), spectrogram (batch, T, b), "
                f"gate (batch, T, 2)], got shapes {list(input_shapes)}"
            )
        if shapes[2][-1] is not None and shapes[2][-1] != 2:
            raise EmoInputError(f"{self.name}: the gate must have 2 values per step, got {shapes[2][-1]}")
        steps = {shape[1] for shape in shapes if shape[1] is not None}
        if len(steps) > 1:
            raise EmoInputError(f"{self.name}: the three inputs have different numbers of steps "
                                f"({', '.join(str(shape[1]) for shape in shapes)})")
        self.built = True

    def call(self, inputs):
        waveform, spectrogram, gate = inputs
        gate = ops.cast(gate, waveform.dtype)
        return ops.concatenate(
            [2.0 * gate[..., 0:1] * waveform, 2.0 * gate[..., 1:2] * spectrogram], axis=-1
        )

    def compute_output_shape(self, input_shapes):
        waveform, spectrogram, _ = input_shapes
        width = None if waveform[-1] is None or spectrogram[-1] is None else waveform[-1] + spectrogram[-1]
        return (*waveform[:-1], width)


# ---------------------------------------------------------------------------
# LSTM with its input projection outside the recurrence
# ---------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="emo_lib")
class ProjectedLSTM(keras.layers.LSTM):
    """``keras.layers.LSTM`` that multiplies its inputs by the kernel outside the loop.

    An LSTM step computes ``z_t = x_t W + h_{t-1} U + b`` and the gates from
    ``z_t``. Keras's LSTM on a CPU (where there is no cuDNN) computes both
    products inside the recurrence: per step a ``(batch, d) x (d, 4 units)``
    product, small and repeated ``T`` times, forward and backward. The first
    product does not depend on the state, so this layer computes it for all
    steps at once, ``(batch * T, d) x (d, 4 units)`` (one large matrix product
    and its gradient, which the BLAS runs far more efficiently), and leaves
    only ``h_{t-1} U`` in the loop. Same function, same weights (``kernel``,
    ``recurrent_kernel``, ``bias`` of the cell, named as in ``LSTM``), same
    masking; outputs and gradients agree with ``LSTM`` to float32 rounding
    (tests/test_layers.py).

    Where Keras has a faster route it is taken unchanged: cuDNN on a GPU
    (``use_cudnn="auto"``), and Keras's own loop with input or recurrent
    dropout or ``implementation=1``. Input and output shapes are those of
    ``LSTM``: ``(batch, T, d)`` in, ``(batch, T, units)`` with
    ``return_sequences=True``, else ``(batch, units)``.

    On the paper's BLSTM (300 steps, 640 inputs, 256 units, batch 32) the
    forward and backward pass took 39 instead of 60 ms per segment on a 2-core
    AMD EPYC (Zen 4; benchmarks/README.md).

    It reuses three Keras internals that ``keras.ops`` does not expose: the
    backend's ``lstm`` (cuDNN) and ``rnn`` (the masked loop every Keras RNN
    runs on) from ``keras.src.backend``, and the cell's
    ``_compute_carry_and_output_fused`` (the gates). The tests compare the
    layer with ``keras.layers.LSTM`` on TensorFlow and JAX, so a Keras
    release that moves them fails there first.
    """

    def _keeps_keras_loop(self, training) -> bool:
        return bool(self.recurrent_dropout or (training and self.dropout)
                    or self.cell.implementation == 1 or self.use_cudnn is True)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if self._keeps_keras_loop(training):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        cell = self.cell
        if self.use_cudnn == "auto":
            try:  # the backend's fused kernel (cuDNN), as keras.layers.LSTM tries it
                output = keras.src.backend.lstm(
                    sequences, initial_state[0], initial_state[1], mask, kernel=cell.kernel,
                    recurrent_kernel=cell.recurrent_kernel, bias=cell.bias,
                    activation=cell.activation, recurrent_activation=cell.recurrent_activation,
                    return_sequences=self.return_sequences, go_backwards=self.go_backwards,
                    unroll=self.unroll,
                )
                if keras.backend.backend() == "tensorflow":
                    self.supports_jit = False  # cuDNN ops are not XLA-compatible (as in LSTM)
                return output
            except NotImplementedError:
                pass
        projected = ops.matmul(sequences, cell.kernel)  # (batch, T, 4 units)
        if cell.use_bias:
            projected = ops.add(projected, cell.bias)

        def step(projected_t, states):
            h_tm1, c_tm1 = states
            z = ops.add(projected_t, ops.matmul(h_tm1, cell.recurrent_kernel))
            c, o = cell._compute_carry_and_output_fused(ops.split(z, 4, axis=1), c_tm1)
            h = o * cell.activation(c)
            return h, [h, c]

        return keras.src.backend.rnn(
            step, projected, list(initial_state), go_backwards=self.go_backwards, mask=mask,
            unroll=self.unroll, input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )


# ---------------------------------------------------------------------------
# Block plan of the FFT convolution
# ---------------------------------------------------------------------------


def _next_power_of_two(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def _auto_fft_length(kernel_size: int) -> int:
    """FFT length of one block for a kernel: about 4x the kernel, at least 1024.

    Measured for 48,000 steps and 40 -> 40 channels, forward and backward
    (benchmarks/long_conv.py ``--crossover``): 4096 for 800 taps (2048 and
    8192 about twice as slow), 1024 for 200 (512 and 2048 about twice as
    slow); for 32 taps every length from 128 to 1024 within 30 %, 1024 the
    fastest.
    """
    return max(1024, _next_power_of_two(4 * kernel_size))


def fft_block_plan(steps: int | None, kernel_size: int,
                   block_size: int | str = "auto") -> dict[str, int]:
    """How :class:`FFTConv1D` cuts a signal into overlap-add blocks.

    Parameters
    ----------
    steps : int or None
        Length of the signal (``None`` when it is only known at run time).
    kernel_size : int
        Taps of the convolution.
    block_size : int or "auto"
        FFT length of one block; ``"auto"`` uses about four times the kernel
        (a power of two, at least 1024), or one block for the whole signal
        when that is shorter.

    Returns
    -------
    dict
        ``fft_length`` (F), ``hop`` (N, input samples per block),
        ``blocks`` (number of blocks, ``-1`` when ``steps`` is unknown) and
        ``pieces`` (P, the number of hops one block's output spans:
        ``ceil((N + kernel_size - 1) / N)``).

    Raises
    ------
    EmoInputError
        If ``block_size`` is shorter than the kernel, or the kernel or the
        signal is empty.

    Examples
    --------
    >>> fft_block_plan(48_000, 800)
    {'fft_length': 4096, 'hop': 3200, 'blocks': 15, 'pieces': 2}
    """
    kernel_size = int(kernel_size)
    if kernel_size < 1:
        raise EmoInputError(f"kernel_size must be at least 1, got {kernel_size}")
    if steps is not None and int(steps) < 1:
        raise EmoInputError(f"the signal must have at least one step, got {steps}")
    if block_size == "auto":
        fft_length = _auto_fft_length(kernel_size)
    else:
        fft_length = int(block_size)
        if fft_length < kernel_size:
            raise EmoInputError(
                f"block_size {fft_length} is shorter than the kernel ({kernel_size} taps)"
            )
    if steps is not None and steps + kernel_size - 1 <= fft_length:
        # The whole signal fits in one block: use the shortest fast FFT length.
        fft_length = _next_power_of_two(steps + kernel_size - 1)
        if block_size != "auto":
            fft_length = min(fft_length, int(block_size))
        hop = int(steps)
    else:
        hop = fft_length - kernel_size + 1
        if steps is not None:
            # Prefer a hop that divides the signal: no padding, no ragged block.
            for candidate in range(hop, max(1, (3 * hop) // 4) - 1, -1):
                if steps % candidate == 0:
                    hop = candidate
                    break
    blocks = -1 if steps is None else math.ceil(steps / hop)
    pieces = math.ceil((hop + kernel_size - 1) / hop)
    return {"fft_length": fft_length, "hop": hop, "blocks": blocks, "pieces": pieces}


# ---------------------------------------------------------------------------
# The FFT long convolution
# ---------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="emo_lib", name="FFTConv1D")
class FFTConv1D(keras.layers.Layer):
    """``Conv1D(filters, kernel_size, padding="same")`` computed through FFTs.

    The same function of the same weights as ``keras.layers.Conv1D``: a
    cross-correlation, ``y[t, o] = b[o] + sum_j sum_c x[t + j - p, c] *
    kernel[j, c, o]`` with ``p = (kernel_size - 1) // 2`` and zeros outside the
    signal. The weights are named and shaped as Conv1D's (``kernel``
    ``(kernel_size, in_channels, filters)``, ``bias`` ``(filters,)``) and
    initialised the same way, so ``set_weights`` and ``load_weights`` move
    them between the two implementations in both directions.

    The signal is cut into blocks of ``N`` samples; each block is transformed
    with a real FFT of length ``F >= N + kernel_size - 1``, multiplied by the
    transform of the flipped kernel (the channel mixing at each frequency is
    one real matrix product, ``[Re X, Im X] @ [[Re H, Im H], [-Im H, Re H]]``,
    batched over frequencies), transformed back, and the blocks' outputs are
    overlap-added. Gradients come from automatic differentiation through
    these operations.

    Parameters
    ----------
    filters : int
        Output channels.
    kernel_size : int
        Taps (a 1-tuple, as in Conv1D's config, is accepted).
    activation : str or callable, optional
        Applied to the output, as in Conv1D.
    use_bias : bool
    block_size : int or "auto"
        FFT length of one overlap-add block (at least ``kernel_size``); each
        block then covers ``block_size - kernel_size + 1`` input samples.
        ``"auto"``: about four times the kernel, a power of two of at least
        1024 (4096 for 800 taps), see :func:`fft_block_plan`.
    kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
    activity_regularizer, kernel_constraint, bias_constraint
        As in ``keras.layers.Conv1D`` (same defaults).
    **kwargs
        Passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Notes
    -----
    Input ``(batch, steps, in_channels)`` float, output ``(batch, steps,
    filters)``. The transforms run in float32 (inputs in a lower precision are
    cast up, and the output back). Errors against the direct convolution are
    about 1e-6 of the output scale for the paper's shapes on a CPU. On GPUs
    from the Ampere generation on, JAX and TensorFlow compute float32 matrix
    products in TensorFloat-32 by default, which limits the channel mixing
    (and Conv1D itself) to about 3e-4 of the output scale; for full float32
    set ``jax.config.update("jax_default_matmul_precision", "highest")`` or
    ``tf.config.experimental.enable_tensor_float_32_execution(False)`` (on an
    H100 this made the FFT convolution's training step 10-14 % slower).

    A model file (``.keras``) stores the layer as ``FFTConv1D``
    (``"emo_lib>FFTConv1D"``). To move a trained model's weights to a model
    built with the other implementation, use
    :func:`emo_lib.models.copy_weights`, which matches layers by name.

    Examples
    --------
    >>> import numpy as np, keras
    >>> fft = FFTConv1D(3, 9)
    >>> direct = keras.layers.Conv1D(3, 9, padding="same")
    >>> x = np.random.default_rng(0).normal(size=(2, 50, 4)).astype("float32")
    >>> _ = fft(x), direct(x)
    >>> direct.set_weights(fft.get_weights())
    >>> bool(np.allclose(fft(x), direct(x), atol=1e-5))
    True
    """

    def __init__(self, filters: int, kernel_size, activation=None, use_bias: bool = True,
                 block_size: int | str = "auto", kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if isinstance(kernel_size, (tuple, list)):
            if len(kernel_size) != 1:
                raise EmoInputError(f"kernel_size must be one integer, got {kernel_size!r}")
            kernel_size = kernel_size[0]
        if int(filters) < 1:
            raise EmoInputError(f"filters must be at least 1, got {filters}")
        if int(kernel_size) < 1:
            raise EmoInputError(f"kernel_size must be at least 1, got {kernel_size}")
        if block_size != "auto":
            if isinstance(block_size, str) or int(block_size) < int(kernel_size):
                raise EmoInputError(
                    f"block_size must be 'auto' or an FFT length of at least the kernel "
                    f"({kernel_size}), got {block_size!r}"
                )
            block_size = int(block_size)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.block_size = block_size
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def build(self, input_shape):
        in_channels = input_shape[-1]
        if in_channels is None:
            raise EmoInputError(f"{self.name}: the number of input channels must be known")
        self.input_spec = keras.layers.InputSpec(ndim=3, axes={-1: in_channels})
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.kernel_size, in_channels, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            trainable=True,
            dtype=self.dtype,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.filters,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                trainable=True,
                dtype=self.dtype,
            )
        else:
            self.bias = None
        self.built = True

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.filters)

    # -- the transform of the kernel ------------------------------------------------

    def _kernel_matrix(self, kernel, fft_length: int):
        """Per-frequency real mixing matrices, ``(F // 2 + 1, 2 * in, 2 * out)``."""
        # Keras convolutions are cross-correlations: convolve with the flipped kernel.
        taps = ops.transpose(ops.flip(kernel, axis=0), (1, 2, 0))  # (in, out, k)
        h_re, h_im = ops.rfft(taps, fft_length=fft_length)  # (in, out, Fh) each
        h_re = ops.transpose(h_re, (2, 0, 1))  # (Fh, in, out)
        h_im = ops.transpose(h_im, (2, 0, 1))
        top = ops.concatenate([h_re, h_im], axis=2)  # rows fed by Re X
        bottom = ops.concatenate([ops.negative(h_im), h_re], axis=2)  # rows fed by Im X
        return ops.concatenate([top, bottom], axis=1)

    # -- forward ------------------------------------------------------------------

    def call(self, inputs):
        out_dtype = inputs.dtype
        x = ops.cast(inputs, "float32")
        kernel = ops.cast(self.kernel, "float32")
        y = self._fft_convolve(x, kernel)
        if self.use_bias:
            y = ops.add(y, ops.cast(self.bias, "float32"))
        if self.activation is not None:
            y = self.activation(y)
        return ops.cast(y, out_dtype)

    def _fft_convolve(self, x, kernel):
        """``Conv1D(padding="same")`` without bias: ``(B, L, in) -> (B, L, out)``."""
        k = self.kernel_size
        in_ch = x.shape[-1]
        out_ch = self.filters
        static_steps = x.shape[1]
        plan = fft_block_plan(static_steps, k, self.block_size)
        fft_length, hop, pieces = plan["fft_length"], plan["hop"], plan["pieces"]
        n_freq = fft_length // 2 + 1
        pad_right = k - 1 - (k - 1) // 2  # "same": (k - 1) // 2 on the left, the rest on the right

        batch = ops.shape(x)[0]
        steps = ops.shape(x)[1]
        if static_steps is not None:
            blocks = plan["blocks"]
            short = blocks * hop - static_steps
        else:
            blocks = (steps + hop - 1) // hop
            short = blocks * hop - steps
        if static_steps is None or short:
            x = ops.pad(x, ((0, 0), (0, short), (0, 0)))

        # Blocks with time last: (B, nb, in, N), the layout the FFT wants.
        x = ops.reshape(x, (batch, blocks, hop, in_ch))
        x = ops.transpose(x, (0, 1, 3, 2))
        x_re, x_im = ops.rfft(x, fft_length=fft_length)  # (B, nb, in, Fh) each

        # Channel mixing: one real matrix product per frequency.
        spec = ops.concatenate([x_re, x_im], axis=2)  # (B, nb, 2 in, Fh)
        spec = ops.reshape(spec, (-1, 2 * in_ch, n_freq))
        spec = ops.transpose(spec, (2, 0, 1))  # (Fh, B nb, 2 in)
        spec = ops.matmul(spec, self._kernel_matrix(kernel, fft_length))  # (Fh, B nb, 2 out)
        spec = ops.transpose(spec, (1, 2, 0))  # (B nb, 2 out, Fh)
        spec = ops.reshape(spec, (batch, blocks, 2, out_ch, n_freq))
        y_re, y_im = ops.split(spec, 2, axis=2)
        y = ops.irfft((ops.squeeze(y_re, 2), ops.squeeze(y_im, 2)), fft_length=fft_length)
        # y: (B, nb, out, F); block n's output starts at sample n * N of the full convolution.

        if static_steps is not None and blocks == 1:
            # One block holds the whole linear convolution (L + k - 1 <= F samples).
            y = ops.reshape(y, (batch, out_ch, fft_length))
            y = ops.slice(y, (0, 0, pad_right), (batch, out_ch, steps))
            return ops.transpose(y, (0, 2, 1))

        # Overlap-add: samples [p N, (p + 1) N) of block n land on hop n + p. A block's
        # output ends after N + k - 1 <= F samples: anything later is zeros, dropped.
        used = min(fft_length, pieces * hop)
        sizes = [hop] * (pieces - 1) + [used - (pieces - 1) * hop]
        if used < fft_length:
            sizes.append(fft_length - used)
        cuts = [sum(sizes[:i + 1]) for i in range(len(sizes) - 1)]
        parts = ops.split(y, cuts, axis=3) if cuts else [y]
        full = None
        for p in range(pieces):
            widths = ((0, 0), (p, pieces - 1 - p), (0, 0), (0, hop - sizes[p]))
            part = ops.pad(parts[p], widths) if any(w for pair in widths for w in pair) \
                else parts[p]
            full = part if full is None else ops.add(full, part)
        full = ops.transpose(full, (0, 1, 3, 2))  # (B, nb + P - 1, N, out)
        total = (blocks + pieces - 1) * hop
        full = ops.reshape(full, (batch, total, out_ch))
        # The "same" output is the full convolution from index pad_right on.
        return ops.slice(full, (0, pad_right, 0), (batch, steps, out_ch))

    def __repr__(self):
        return f"<FFTConv1D name={self.name}, built={self.built}>"

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "block_size": self.block_size,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": keras.regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
                "bias_constraint": keras.constraints.serialize(self.bias_constraint),
            }
        )
        return config


# ---------------------------------------------------------------------------
# Factory
# ---------------------------------------------------------------------------


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
        for this kernel size: FFTs from :data:`FFT_MIN_KERNEL` (64) taps on.
    activation : str or None
    name : str, optional

    Returns
    -------
    keras.layers.Layer
        Input ``(batch, steps, channels)``, output ``(batch, steps, filters)``.
    """
    if implementation not in ("direct", "fft", "auto"):
        raise EmoInputError(f"unknown convolution implementation {implementation!r}")
    if implementation == "auto":
        implementation = "fft" if int(kernel_size) >= FFT_MIN_KERNEL else "direct"
    if implementation == "fft":
        return FFTConv1D(filters, kernel_size, activation=activation, name=name)
    return keras.layers.Conv1D(filters, kernel_size, padding="same", activation=activation, name=name)
