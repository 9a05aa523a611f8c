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

This module imports NumPy only. The Keras loss and the streaming metric
(:func:`ccc_loss`, :class:`ConcordanceCorrelation`, :func:`ccc_metrics`) live
in :mod:`emo_lib.keras_metrics`; asking this module for one of them
(``from emo_lib.metrics import ccc_loss``) imports that module, and Keras,
on first use. Keras targets may carry a frame mask as a third channel:
``y_true`` of shape ``(batch, T, 3)`` is (arousal, valence, mask); frames
with mask 0 (padding) are left out of the loss and the metrics.
"""

from __future__ import annotations

import importlib
import sys

import numpy as np

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

    Parameters
    ----------
    y_true, y_pred : array_like [shape=(n,)]
        Truth and prediction (flattened if they have more axes).
    ignore_nan : bool, keyword-only
        Drop pairs where either value is not finite.

    Returns
    -------
    float
        NaN for fewer than 2 samples or a zero denominator.

    Examples
    --------
    >>> round(ccc_avec([0, 1, 2], [0, 1, 1]), 6)
    0.461538
    """
    x, y = _pair(y_true, y_pred, ignore_nan)
    return _concordance(x, y, variance_ddof=1)


def pearson(y_true, y_pred, *, ignore_nan: bool = False) -> float:
    """Pearson correlation coefficient (the paper's "MCC" is its mean over dimensions).

    Parameters
    ----------
    y_true, y_pred : array_like [shape=(n,)]
        Truth and prediction (flattened if they have more axes).
    ignore_nan : bool, keyword-only
        Drop pairs where either value is not finite.

    Returns
    -------
    float
        In [-1, 1]; NaN for fewer than 2 samples or a constant series.
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
# Keras loss and metrics (in emo_lib.keras_metrics, imported on first use)
# ----------------------------------------------------------------------------

_KERAS_NAMES = ("ccc_loss", "ConcordanceCorrelation", "ccc_metrics")


def __getattr__(name: str):
    """``emo_lib.metrics.ccc_loss`` and the other Keras names, from :mod:`emo_lib.keras_metrics`."""
    if name in _KERAS_NAMES:
        value = getattr(importlib.import_module(".keras_metrics", __package__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_KERAS_NAMES))


# A program that has Keras loaded already gets the loss and the metric registered
# with Keras now (as before the split), so that keras.saving.load_model finds
# "emo_lib>ccc_loss" and "emo_lib>ConcordanceCorrelation" without further imports.
if "keras" in sys.modules:
    importlib.import_module(".keras_metrics", __package__)
