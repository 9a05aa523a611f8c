r"""Concordance correlation coefficient (CCC): the metric, its variants and the Keras loss.

Lin's (1989) concordance correlation coefficient of a truth ``x`` and a
prediction ``y``:

.. math::

    \rho_c = \frac{2\,\mathrm{cov}(x, y)}{\mathrm{var}\,x + \mathrm{var}\,y + (\bar x - \bar y)^2}

Implementations disagree on the estimator (field-notes.md, "CCC: which
estimator"). This project uses **consistent 1/N statistics** for the metric
and for the training loss (as audmetric does); :func:`ccc_avec` gives the
official AVEC scripts' mix (1/N covariance, 1/(N-1) variances). On the test
vector truth ``[0, 1, 2]``, prediction ``[0, 1, 1]``:

>>> round(float(ccc([0, 1, 2], [0, 1, 1])), 6)
0.666667
>>> round(float(ccc_avec([0, 1, 2], [0, 1, 1])), 6)
0.461538

The numpy functions return NaN for fewer than two samples or a zero
denominator. The Keras loss :func:`ccc_loss` instead stays finite (an epsilon
in the denominator) so that a batch of constant predictions still trains.

Keras targets may carry a frame mask as a third channel: ``y_true`` of shape
``(batch, T, 3)`` is (arousal, valence, mask); frames with mask 0 (padding)
are left out of the loss and the metrics.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

__all__ = [
    "ccc",
    "ccc_avec",
    "pearson",
    "ccc_loss",
    "ConcordanceCorrelation",
    "ccc_metrics",
]

# ----------------------------------------------------------------------------
# NumPy metrics
# ----------------------------------------------------------------------------


def _pair(y_true, y_pred, ignore_nan: bool) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(y_true, dtype=np.float64).ravel()
    y = np.asarray(y_pred, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"truth and prediction differ in size: {x.size} vs {y.size}")
    if ignore_nan:
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
    return x, y


def _concordance(x: np.ndarray, y: np.ndarray, variance_ddof: int) -> float:
    if x.size < 2:
        return float("nan")
    mean_x, mean_y = x.mean(), y.mean()
    covariance = np.mean((x - mean_x) * (y - mean_y))
    denominator = x.var(ddof=variance_ddof) + y.var(ddof=variance_ddof) + (mean_x - mean_y) ** 2
    if denominator == 0:
        return float("nan")
    return float(2.0 * covariance / denominator)


def ccc(y_true, y_pred, *, ignore_nan: bool = False) -> float:
    """Concordance correlation coefficient with consistent 1/N statistics.

    Parameters
    ----------
    y_true, y_pred : array_like [shape=(n,)]
        Truth and prediction (flattened if they have more axes).
    ignore_nan : bool, keyword-only
        Drop pairs where either value is not finite.

    Returns
    -------
    float
        CCC in [-1, 1]; NaN for fewer than 2 samples or a zero denominator
        (both series constant and equal).

    Examples
    --------
    >>> round(ccc([0, 1, 2], [0, 1, 1]), 6)
    0.666667
    """
    x, y = _pair(y_true, y_pred, ignore_nan)
    return _concordance(x, y, variance_ddof=0)


def ccc_avec(y_true, y_pred, *, ignore_nan: bool = False) -> float:
    """CCC as the official AVEC scripts compute it: 1/N covariance, 1/(N-1) variances.

    Examples
    --------
    >>> round(ccc_avec([0, 1, 2], [0, 1, 1]), 6)
    0.461538
    """
    x, y = _pair(y_true, y_pred, ignore_nan)
    return _concordance(x, y, variance_ddof=1)


def pearson(y_true, y_pred, *, ignore_nan: bool = False) -> float:
    """Pearson correlation coefficient (the paper's "MCC" is its mean over dimensions).

    Returns NaN for fewer than 2 samples or a constant series.
    """
    x, y = _pair(y_true, y_pred, ignore_nan)
    if x.size < 2:
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
    denominator = np.sqrt(np.sum(dx * dx) * np.sum(dy * dy))
    if denominator == 0:
        return float("nan")
    return float(np.sum(dx * dy) / denominator)


# ----------------------------------------------------------------------------
# Keras loss and metrics
# ----------------------------------------------------------------------------

_EPSILON = 1e-8


def _split_targets(y_true, y_pred):
    """Flatten to (N, 2) values and an (N, 1) mask; no mask channel means all ones."""
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


@keras.saving.register_keras_serializable(package="emo_lib")
class ConcordanceCorrelation(keras.metrics.Metric):
    """Streaming CCC of one output dimension over all frames seen (1/N statistics).

    Accumulates sums over batches, so the result equals :func:`ccc` on the
    concatenation of every unmasked frame of the epoch (up to float32
    rounding), not a mean of per-batch values.

    Parameters
    ----------
    dimension : int
        0 for arousal, 1 for valence.
    name : str, optional
        Defaults to ``"ccc_arousal"`` / ``"ccc_valence"``.
    """

    def __init__(self, dimension: int = 0, name: str | None = None, **kwargs):
        name = name or ("ccc_arousal", "ccc_valence")[dimension]
        super().__init__(name=name, **kwargs)
        self.dimension = int(dimension)
        self._sums = [
            self.add_variable(shape=(), initializer="zeros", name=label, dtype="float32")
            for label in ("n", "sx", "sy", "sxx", "syy", "sxy")
        ]

    def update_state(self, y_true, y_pred, sample_weight=None):
        values, predictions, mask = _split_targets(y_true, y_pred)
        x = values[:, self.dimension] * mask[:, 0]
        y = predictions[:, self.dimension] * mask[:, 0]
        increments = (ops.sum(mask), ops.sum(x), ops.sum(y), ops.sum(x * x), ops.sum(y * y),
                      ops.sum(x * y))
        for variable, increment in zip(self._sums, increments):
            variable.assign_add(ops.cast(increment, "float32"))

    def result(self):
        n, sx, sy, sxx, syy, sxy = self._sums
        n = ops.maximum(n, 1.0)
        mean_x, mean_y = sx / n, sy / n
        var_x = sxx / n - mean_x * mean_x
        var_y = syy / n - mean_y * mean_y
        covariance = sxy / n - mean_x * mean_y
        return 2.0 * covariance / (var_x + var_y + ops.square(mean_x - mean_y) + _EPSILON)

    def reset_state(self):
        for variable in self._sums:
            variable.assign(0.0)

    def get_config(self):
        config = super().get_config()
        config.update({"dimension": self.dimension})
        return config


def ccc_metrics() -> list[ConcordanceCorrelation]:
    """Fresh ``ccc_arousal`` and ``ccc_valence`` metrics for ``model.compile``."""
    return [ConcordanceCorrelation(0), ConcordanceCorrelation(1)]
