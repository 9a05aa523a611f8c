"""The cue experiment: which tower hears which cue (beyond the paper).

The paper reports that the waveform model is better on arousal and the
spectrogram model on valence, and guesses why. On real speech every emotional
cue shows in both inputs at once, so the towers cannot be told apart by what
they *can* see. The stand-in's ``tower_test`` cues
(:mod:`emo_lib.corpora.synthetic`, "Tower-test cues") pull them apart:

* arousal moves only the **phase** of the glottal excitation (the pulse
  turned towards its Hilbert transform and upside down): the power spectrum,
  hence the 40-band log mel of 25 ms frames, does not change (the generator's
  tests check it), while the waveform's asymmetry does;
* valence moves only the **spectral envelope** (a high shelf above 2 kHz and the
  formants), which both inputs show.

:func:`run_cue_experiment` writes such a corpus in the RECOLA layout (the
profile's RECOLA sizes), trains the ridge floor, W only and S only on it with
the study's recipe (``<work>/runs/<profile>-cues``), and sets their test scores
beside the same models trained on the standard stand-in (the study's RECOLA
runs). What to expect if the towers work as designed: on arousal, W only
well above S only and the floor (neither of which can see a phase); on
valence, S only at least as good as W only.

Whether a model fails to hear the phase or the phase is not there to hear is
checked by a linear probe, :func:`asymmetry_probe`: the smoothed third moment
of the waveform (positive for the pulse as it is, negative upside down)
against the arousal labels.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import EmoInputError

__all__ = ["CUE_VARIANTS", "cue_corpus_root", "cue_runs_dir", "run_cue_experiment", "cue_table",
           "waveform_asymmetry", "asymmetry_probe", "cue_asymmetry_probe", "cue_shift_frame", "describe_cues"]

CUE_VARIANTS = ("ridge", "W", "S")
"""The models of the experiment: the floor (no tower), the waveform tower alone, the spectrogram tower alone."""

_CORPUS = "recola"


def cue_corpus_root(work: str | Path) -> Path:
    """Where the tower-test corpus is written: ``<work>/corpora/recola-tower-test``."""
    return Path(work) / "corpora" / f"{_CORPUS}-tower-test"


def cue_runs_dir(work: str | Path, profile_name: str) -> Path:
    """The experiment's runs: ``<work>/runs/<profile>-cues``."""
    return Path(work) / "runs" / f"{profile_name}-cues"


def run_cue_experiment(work: str | Path, profile="quick", *, variants: Sequence[str] = CUE_VARIANTS,
                       verbose: int | str = 2, progress: bool = True, workers: int | None = None):
    """Write the tower-test corpus (once), train the variants on it, and return :func:`cue_table`.

    Parameters
    ----------
    work : str or pathlib.Path
        The study's work folder (corpora and runs below it).
    profile : str or Profile
        Its RECOLA stand-in sizes, preset, recipe, first seed and split.
    variants : sequence of str
        Default :data:`CUE_VARIANTS`; ``"baseline"`` is refused (ComParE sees
        the phase no better than the log mel, and costs the most).
    verbose, progress, workers
        As for :func:`emo_lib.study.run_study`.

    Returns
    -------
    pandas.DataFrame
        :func:`cue_table` of the runs.

    Raises
    ------
    EmoInputError
        For the baseline or an unknown variant.
    """
    from .study import VARIANTS, get_profile, run_study

    profile = get_profile(profile)
    variants = tuple(variants)
    unknown = [v for v in variants if v not in VARIANTS or v == "baseline"]
    if unknown:
        raise EmoInputError(f"the cue experiment trains ridge, W, S, WS or WSG, not {', '.join(unknown)}")
    corpora, cue_profile, data = _cue_data(work, profile, variants, progress)
    run_study(corpora, cue_runs_dir(work, profile.name), cue_profile, data=data, verbose=verbose, progress=progress,
              workers=workers)
    return cue_table(work, profile, variants=variants)


def _cue_data(work, profile, variants: Sequence[str], progress: bool):
    """The tower-test corpus (written once), the experiment's profile and its prepared data."""
    from .corpora import load_corpus
    from .corpora.synthetic import write_synthetic_corpus
    from .study import prepare_study_data

    root = cue_corpus_root(work)
    if not (root / "SYNTHETIC.json").exists():
        write_synthetic_corpus(_CORPUS, root, seed=0, cues="tower_test", progress=progress,
                               **profile.synthetic.get(_CORPUS, {}))
    corpora = {_CORPUS: load_corpus(_CORPUS, root)}
    cue_profile = dataclasses.replace(profile, seeds=profile.seeds[:1], variants=tuple(variants))
    data = prepare_study_data(corpora, cue_runs_dir(work, profile.name), cue_profile, progress=progress)
    return corpora, cue_profile, data


def cue_asymmetry_probe(work: str | Path, profile="quick", *, progress: bool = True, **options) -> dict:
    """:func:`asymmetry_probe` on every conversation of the tower-test corpus (written and prepared if needed).

    Parameters
    ----------
    work : str or pathlib.Path
    profile : str or Profile
    progress : bool
    **options
        ``lag_seconds``, ``smooth_seconds``.

    Returns
    -------
    dict
        See :func:`asymmetry_probe`.
    """
    from .study import _merged, get_profile

    corpus_data = _cue_data(work, get_profile(profile), CUE_VARIANTS, progress)[2][_CORPUS]
    everything = _merged(_merged(corpus_data.train, corpus_data.validation), corpus_data.test)
    return asymmetry_probe(everything, **options)


def cue_table(work: str | Path, profile="quick", *, variants: Sequence[str] = CUE_VARIANTS,
              study_runs: str | Path | None = None):
    """Test CCC of each variant with the tower-test cues beside the standard cues.

    Parameters
    ----------
    work : str or pathlib.Path
    profile : str or Profile
    variants : sequence of str
    study_runs : str or pathlib.Path, optional
        The study folder with the standard stand-in's runs; default
        ``<work>/runs/<profile>``.

    Returns
    -------
    pandas.DataFrame
        One row per variant run with the tower-test cues: ``variant``,
        ``cues_arousal``, ``cues_valence`` (concatenated test CCC, first seed),
        and ``standard_arousal``, ``standard_valence`` from the study's RECOLA
        run (NaN where it has none).
    """
    import json

    import pandas as pd

    from .study import experiment_dir, get_profile

    profile = get_profile(profile)
    study_runs = Path(study_runs) if study_runs is not None else Path(work) / "runs" / profile.name
    seed = profile.seeds[0]
    rows = []
    for variant in variants:
        cues = experiment_dir(cue_runs_dir(work, profile.name), _CORPUS, variant, seed) / "metrics.json"
        if not cues.exists():
            continue
        row = {"variant": variant}
        standard = experiment_dir(study_runs, _CORPUS, variant, seed) / "metrics.json"
        for name, path in (("cues", cues), ("standard", standard)):
            scores = (json.loads(path.read_text(encoding="utf-8"))["metrics"]["ccc"]["concatenated"]
                      if path.exists() else {})
            for dimension in ("arousal", "valence"):
                row[f"{name}_{dimension}"] = float(scores.get(dimension, float("nan")))
        rows.append(row)
    return pd.DataFrame(rows, columns=["variant", "cues_arousal", "cues_valence", "standard_arousal",
                                       "standard_valence"])


def waveform_asymmetry(waveform: np.ndarray, label_step: float, n_windows: int, *,
                       smooth_seconds: float = 2.0, sample_rate: int = 16000) -> np.ndarray:
    r"""The waveform's asymmetry per label window: a smoothed third moment over the second's 3/2 power.

    For label window ``i`` (samples ``[i * step, (i + 1) * step)``) with
    sums of ``x^3`` and ``x^2`` accumulated over the ``k`` windows of
    ``smooth_seconds`` centred on it,

    .. math:: A_i = \frac{\frac{1}{kn}\sum x^3}{\big(\frac{1}{kn}\sum x^2\big)^{3/2}},

    the skewness about zero of that stretch: a glottal pulse train and the
    same train upside down give opposite signs, whatever their level, and a
    phase rotation of 90 degrees (symmetric pulses) gives about 0.

    Parameters
    ----------
    waveform : np.ndarray [shape=(samples,) or (samples, 1)]
    label_step : float
        Seconds per label window.
    n_windows : int
    smooth_seconds : float
    sample_rate : int

    Returns
    -------
    np.ndarray [shape=(n_windows,)]
        0 where the stretch is silent.

    Raises
    ------
    EmoInputError
        For a waveform shorter than ``n_windows`` label windows.
    """
    x = np.asarray(waveform, dtype=np.float64).ravel()
    step = int(round(label_step * sample_rate))
    if x.size < n_windows * step:
        raise EmoInputError(f"{x.size} samples do not cover {n_windows} label windows of {step} samples")
    frames = x[: n_windows * step].reshape(n_windows, step)
    width = max(1, int(round(smooth_seconds / label_step)))

    def centred_sum(values: np.ndarray) -> np.ndarray:  # the sum over the width windows centred on each
        return np.convolve(values, np.ones(width), "full")[(width - 1) // 2:][:n_windows]

    third = centred_sum((frames ** 3).sum(1))
    second = centred_sum((frames ** 2).sum(1))
    count = centred_sum(np.full(n_windows, float(step)))
    power = second / count
    return np.where(power > 1e-12, (third / count) / np.maximum(power, 1e-12) ** 1.5, 0.0)


def asymmetry_probe(segments, *, lag_seconds: float = 1.0, smooth_seconds: float = 2.0) -> dict:
    """How much the waveform's asymmetry alone says about arousal: its correlation with the labels.

    Parameters
    ----------
    segments : emo_lib.dataset.SegmentSet
        Its conversations (every label window of each, not only the
        segments') are used.
    lag_seconds : float
        The labels are compared with the asymmetry this much earlier (raters
        react late).
    smooth_seconds : float
        See :func:`waveform_asymmetry`.

    Returns
    -------
    dict
        ``pooled_r``: Pearson r over every valid window of every
        conversation; ``conversation_r``: one r per conversation (those with
        a varying asymmetry), ``conversations``.
    """
    lag = int(round(lag_seconds / segments.label_step))
    xs, ys, per_conversation = [], [], []
    for arrays in segments.arrays.values():
        asymmetry = waveform_asymmetry(arrays.waveform, arrays.label_step, arrays.n_windows,
                                       smooth_seconds=smooth_seconds)
        valid = arrays.valid[lag:].astype(bool)
        x = asymmetry[: arrays.n_windows - lag][valid]
        y = arrays.labels[lag:, 0][valid]
        if x.size > 2 and x.std() > 0 and y.std() > 0:
            per_conversation.append(float(np.corrcoef(x, y)[0, 1]))
        xs.append(x)
        ys.append(y)
    x, y = np.concatenate(xs), np.concatenate(ys)
    return {"pooled_r": float(np.corrcoef(x, y)[0, 1]), "conversation_r": per_conversation,
            "conversations": len(segments.arrays)}


def cue_shift_frame(table):
    """:func:`cue_table` in the long form :func:`emo_lib.plots.plot_score_shift` draws: standard cues before, tower-test after.

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` ("RECOLA layout"), ``model``, ``dimension``, ``before``, ``after``.
    """
    import pandas as pd

    return pd.DataFrame([{"group": "RECOLA layout", "model": row["variant"], "dimension": dimension,
                          "before": row[f"standard_{dimension}"], "after": row[f"cues_{dimension}"]}
                         for row in table.to_dict("records") for dimension in ("arousal", "valence")])


def describe_cues(table) -> str:
    """Two Markdown lines: each model's test CCC on arousal (phase only) and valence (envelope only)."""
    by = table.set_index("variant")
    names = (("W", "W only"), ("S", "S only"), ("ridge", "floor"))

    def scores(column: str) -> str:
        return ", ".join(f"{label} {by[column].get(variant, float('nan')):.3f}" for variant, label in names)

    return (f"- **Arousal from the phase alone**: {scores('cues_arousal')}.\n"
            f"- **Valence from the envelope alone**: {scores('cues_valence')}.")
