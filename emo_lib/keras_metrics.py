r"""The CCC as a Keras loss and a streaming Keras metric.

The Keras side of :mod:`emo_lib.metrics`, kept in its own module so that the
NumPy metrics (:func:`~emo_lib.metrics.ccc`, :func:`~emo_lib.metrics.ccc_avec`,
:func:`~emo_lib.metrics.pearson`) import without Keras. The names below are
also reachable as ``emo_lib.metrics.ccc_loss`` and so on (imported on first
use), and are registered with Keras as ``"emo_lib>ccc_loss"`` and
``"emo_lib>ConcordanceCorrelation"``, the names saved ``.keras`` files refer to
(files written when these lived in :mod:`emo_lib.metrics` load too: Keras
finds them by the registered name). Registration happens when this module is
imported: :func:`emo_lib.models.load_model` sees to it; before a bare
``keras.saving.load_model``, import this module (or import
:mod:`emo_lib.metrics` after Keras, which then imports it).

Targets may carry a frame mask as a third channel: ``y_true`` of shape
``(batch, T, 3)`` is (arousal, valence, mask); frames with mask 0 (padding)
are left out of the loss and the metric.

Both use Lin's CCC with 1/N statistics,

.. math::

    \rho_c = \frac{2\,\mathrm{cov}(x, y)}{\mathrm{var}\,x + \mathrm{var}\,y + (\bar x - \bar y)^2},

with an epsilon of 1e-8 in the loss's denominator so that a batch of constant
predictions still gives a finite loss. The metric has no epsilon: it is 0
before any frame is seen and where the denominator is 0 (truth and
prediction constant and equal).

The streaming metric and numerical stability
--------------------------------------------
:class:`ConcordanceCorrelation` keeps, over all frames seen, the count, the
two means and the centred sums of squares and cross-products, and merges each
batch's centred moments into them with the parallel update of Chan, Golub &
LeVeque (1979): for a running part A and a batch B with counts
:math:`n_A, n_B`, :math:`n = n_A + n_B` and :math:`\delta = \bar x_B - \bar x_A`,

.. math::

    \bar x = \bar x_A + \delta\, n_B / n, \qquad
    M_{xx} = M_{xx,A} + M_{xx,B} + \delta^2\, n_A n_B / n,

and :math:`M_{xy} = M_{xy,A} + M_{xy,B} + \delta_x \delta_y\, n_A n_B / n`.
Raw sums (:math:`\sum x^2 - n \bar x^2`) cancel catastrophically when the
values sit far from zero relative to their spread (predictions near 5.0 with
1e-3 variation, a truth with a large offset); centred moments do not. The
moments are also kept of shifted values, :math:`x - s_x` and :math:`y - s_y`
with the shifts the means of the first frames seen, so that in float32 the
means and their difference keep the precision of the spread rather than of
the offset. The state is kept in float64 where the backend supports it
(TensorFlow, NumPy, PyTorch off Apple's MPS, JAX with ``jax_enable_x64``) and
in float32 otherwise, where the centred, shifted update keeps it accurate.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["ccc_loss", "ConcordanceCorrelation", "ccc_metrics"]

_EPSILON = 1e-8


def _split_targets(y_true, y_pred):
    """Flatten to (N, D) values and predictions and an (N, 1) mask; no mask channel means all ones."""
    y_pred = ops.cast(y_pred, "float32")
    y_true = ops.cast(y_true, "float32")
    n_dims = ops.shape(y_pred)[-1]
    values = ops.reshape(y_true[..., :n_dims], (-1, n_dims))
    predictions = ops.reshape(y_pred, (-1, n_dims))
    if y_true.shape[-1] is not None and y_true.shape[-1] > y_pred.shape[-1]:
        mask = ops.reshape(y_true[..., -1], (-1, 1))
    else:
        mask = ops.ones_like(values[:, :1])
    return values, predictions, mask


def _masked_ccc(values, predictions, mask):
    """Per-dimension 1/N CCC over masked rows; (D,) tensor, finite via an epsilon."""
    count = ops.maximum(ops.sum(mask), 1.0)
    mean_x = ops.sum(values * mask, axis=0) / count
    mean_y = ops.sum(predictions * mask, axis=0) / count
    dx = (values - mean_x) * mask
    dy = (predictions - mean_y) * mask
    covariance = ops.sum(dx * dy, axis=0) / count
    var_x = ops.sum(dx * dx, axis=0) / count
    var_y = ops.sum(dy * dy, axis=0) / count
    return 2.0 * covariance / (var_x + var_y + ops.square(mean_x - mean_y) + _EPSILON)


@keras.saving.register_keras_serializable(package="emo_lib")
def ccc_loss(y_true, y_pred):
    """Training loss ``1 - CCC``, averaged over arousal and valence.

    The CCC of each dimension is computed over every unmasked frame of the
    batch (all segments and steps together) with 1/N statistics.

    Parameters
    ----------
    y_true : tensor [shape=(batch, T, 2) or (batch, T, 3)]
        Targets; an optional third channel is a 0/1 frame mask.
    y_pred : tensor [shape=(batch, T, 2)]

    Returns
    -------
    tensor, scalar
        In [0, 2]; finite even when the predictions are constant.
    """
    values, predictions, mask = _split_targets(y_true, y_pred)
    return 1.0 - ops.mean(_masked_ccc(values, predictions, mask))


def _default_accumulator_dtype() -> str:
    """float64 where the current Keras backend computes in it, float32 otherwise."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return "float64" if bool(jax.config.read("jax_enable_x64")) else "float32"
    if backend == "torch":
        import torch

        mps = getattr(torch.backends, "mps", None)
        return "float32" if mps is not None and mps.is_available() else "float64"
    return "float64"


def _replica_states(state) -> list[tuple]:
    """The metric state of each replica, or the one state.

    Under ``tf.distribute`` strategies with several replicas, Keras keeps a
    metric's variables per replica (synchronised on read) and reading one
    outside the replicas sums the replicas' values: right for counts and
    sums, wrong for means and centred moments. This reads each replica's
    values instead.
    """
    values = [variable.value for variable in state]
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        parts = [getattr(value, "values", None) for value in values]
        if (tf.distribute.in_cross_replica_context() and all(isinstance(p, tuple) for p in parts)
                and len(parts[0]) > 1):
            return [tuple(p[replica] for p in parts) for replica in range(len(parts[0]))]
    return [tuple(values)]


def _merged_replicas(state) -> tuple:
    """One state from the replicas' (Chan et al.'s update; the first replica's shifts are kept)."""
    replicas = _replica_states(state)
    n_a, shift_x, shift_y, mean_xa, mean_ya, m_xx, m_yy, m_xy = (ops.convert_to_tensor(v) for v in replicas[0])
    for other in replicas[1:]:
        n_b, shift_xb, shift_yb, mean_xb, mean_yb, m_xx_b, m_yy_b, m_xy_b = (ops.convert_to_tensor(v) for v in other)
        # the replica's means relative to the first replica's shifts
        delta_x = (shift_xb - shift_x) + mean_xb - mean_xa
        delta_y = (shift_yb - shift_y) + mean_yb - mean_ya
        n = n_a + n_b
        share = n_b / ops.maximum(n, 1.0)
        cross = n_a * share
        mean_xa, mean_ya = mean_xa + delta_x * share, mean_ya + delta_y * share
        m_xx = m_xx + m_xx_b + delta_x * delta_x * cross
        m_yy = m_yy + m_yy_b + delta_y * delta_y * cross
        m_xy = m_xy + m_xy_b + delta_x * delta_y * cross
        n_a = n
    return n_a, shift_x, shift_y, mean_xa, mean_ya, m_xx, m_yy, m_xy


@keras.saving.register_keras_serializable(package="emo_lib")
class ConcordanceCorrelation(keras.metrics.Metric):
    """Streaming CCC of one output dimension over all frames seen (1/N statistics).

    Merges each batch's count, means and centred second moments into running
    ones (Chan et al.'s parallel update, see the module docstring), so the
    result equals :func:`emo_lib.metrics.ccc` on the concatenation of every
    unmasked frame of the epoch, not a mean of per-batch values, and stays
    accurate when the values are far from zero relative to their spread.

    Parameters
    ----------
    dimension : int
        0 for arousal, 1 for valence.
    name : str, optional
        Defaults to ``"ccc_arousal"`` / ``"ccc_valence"``.
    accumulator_dtype : {None, "float64", "float32"}, optional
        Type of the running state. None (the default) picks float64 where the
        backend supports it and float32 otherwise (JAX without x64, PyTorch
        on MPS).

    Notes
    -----
    ``update_state(y_true, y_pred)`` takes ``y_true`` of shape
    ``(batch, T, 2)`` or ``(batch, T, 3)`` (the third channel a 0/1 frame
    mask; frames with mask 0 are left out) and ``y_pred`` of shape
    ``(batch, T, 2)``. ``sample_weight`` is ignored.
    """

    def __init__(self, dimension: int = 0, name: str | None = None,
                 accumulator_dtype: str | None = None, **kwargs):
        name = name or ("ccc_arousal", "ccc_valence")[dimension]
        super().__init__(name=name, **kwargs)
        self.dimension = int(dimension)
        if accumulator_dtype not in (None, "float32", "float64"):
            raise ValueError(
                f"accumulator_dtype must be None, 'float32' or 'float64', got {accumulator_dtype!r}"
            )
        self.accumulator_dtype = accumulator_dtype
        self._state_dtype = accumulator_dtype or _default_accumulator_dtype()
        self._state = [
            self.add_variable(shape=(), initializer="zeros", name=label, dtype=self._state_dtype)
            for label in ("n", "shift_x", "shift_y", "mean_x", "mean_y", "m_xx", "m_yy", "m_xy")
        ]

    def update_state(self, y_true, y_pred, sample_weight=None):
        values, predictions, mask = _split_targets(y_true, y_pred)
        dtype = self._state_dtype
        weight = ops.cast(mask[:, 0], dtype)
        x = ops.cast(values[:, self.dimension], dtype)
        y = ops.cast(predictions[:, self.dimension], dtype)
        n_a, shift_x, shift_y, mean_xa, mean_ya, m_xx_a, m_yy_a, m_xy_a = (
            variable.value for variable in self._state
        )
        n_b = ops.sum(weight)
        safe_b = ops.maximum(n_b, 1.0)
        # the first frames seen fix a shift near the data: the moments are kept of
        # x - shift_x and y - shift_y, small numbers even when x and y are not
        first = ops.logical_and(n_a == 0, n_b > 0)
        shift_x = ops.where(first, ops.sum(x * weight) / safe_b, shift_x)
        shift_y = ops.where(first, ops.sum(y * weight) / safe_b, shift_y)
        x = x - shift_x
        y = y - shift_y
        # the batch's own count, means and centred moments (two passes over the batch)
        mean_xb = ops.sum(x * weight) / safe_b
        mean_yb = ops.sum(y * weight) / safe_b
        dx = (x - mean_xb) * weight
        dy = (y - mean_yb) * weight
        m_xx_b, m_yy_b, m_xy_b = ops.sum(dx * dx), ops.sum(dy * dy), ops.sum(dx * dy)
        # merged with the running state (Chan et al.)
        n = n_a + n_b
        share = n_b / ops.maximum(n, 1.0)  # 0 for an all-masked batch: nothing changes
        cross = n_a * share  # n_a n_b / n
        delta_x = mean_xb - mean_xa
        delta_y = mean_yb - mean_ya
        updates = (
            n,
            shift_x,
            shift_y,
            mean_xa + delta_x * share,
            mean_ya + delta_y * share,
            m_xx_a + m_xx_b + delta_x * delta_x * cross,
            m_yy_a + m_yy_b + delta_y * delta_y * cross,
            m_xy_a + m_xy_b + delta_x * delta_y * cross,
        )
        for variable, value in zip(self._state, updates):
            variable.assign(value)

    def result(self):
        n, shift_x, shift_y, mean_x, mean_y, m_xx, m_yy, m_xy = _merged_replicas(self._state)
        n = ops.maximum(n, 1.0)
        mean_difference = (shift_x - shift_y) + (mean_x - mean_y)
        denominator = m_xx / n + m_yy / n + ops.square(mean_difference)
        defined = denominator > 0
        value = 2.0 * (m_xy / n) / ops.where(defined, denominator, ops.ones_like(denominator))
        return ops.cast(ops.where(defined, value, ops.zeros_like(value)), self.dtype)

    def reset_state(self):
        for variable in self._state:
            variable.assign(ops.zeros((), dtype=self._state_dtype))

    def get_config(self):
        config = super().get_config()
        config.update({"dimension": self.dimension, "accumulator_dtype": self.accumulator_dtype})
        return config


def ccc_metrics() -> list[ConcordanceCorrelation]:
    """Fresh ``ccc_arousal`` and ``ccc_valence`` metrics for ``model.compile``.

    Returns
    -------
    list of ConcordanceCorrelation
        Dimension 0 (arousal) and dimension 1 (valence).
    """
    return [ConcordanceCorrelation(0), ConcordanceCorrelation(1)]
