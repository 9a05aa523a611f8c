"""Tests of emo_lib.baseline: ComParE functionals on sliding windows, one row per label window."""

from __future__ import annotations

import functools
import json
import warnings

import numpy as np
import opensmile
import pytest

from emo_lib.audio import resample
from emo_lib.baseline import (
    ALIGNMENTS,
    COMPARE_DIM,
    _finite,
    compare_feature_names,
    compare_features,
    compare_features_per_window,
    compare_settings,
)
from emo_lib.errors import EmoInputError
from emo_lib.io import settings_key

SR = 16_000
SECONDS = 6.0

_LLD_SCRIPT = """
import sys
import numpy as np
import opensmile
signal = np.load(sys.argv[1])
lld = opensmile.Smile(opensmile.FeatureSet.ComParE_2016,
                      opensmile.FeatureLevel.LowLevelDescriptors).process_signal(signal, 16000)
np.savez(sys.argv[2], starts=lld.index.get_level_values("start").total_seconds().to_numpy(),
         energy=lld["pcm_RMSenergy_sma"].to_numpy(np.float64),
         centroid=lld["pcm_fftMag_spectralCentroid_sma"].to_numpy(np.float64))
"""


@functools.lru_cache(maxsize=None)
def _lld_cached(key: bytes):
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    signal = np.frombuffer(key, dtype=np.float32)
    with tempfile.TemporaryDirectory() as folder:
        source, reply = Path(folder) / "signal.npy", Path(folder) / "lld.npz"
        np.save(source, signal)
        # openSMILE corrupts the heap in a process that has loaded TensorFlow (as the
        # test session has), so the reference contours come from a fresh process.
        subprocess.run([sys.executable, "-c", _LLD_SCRIPT, str(source), str(reply)], check=True)
        data = np.load(reply)
        return data["starts"], data["energy"], data["centroid"]


def lld_contours(signal):
    """openSMILE's own ComParE LLD contours of a signal: (frame starts s, RMS energy, centroid)."""
    return _lld_cached(np.asarray(signal, np.float32).tobytes())
VOICING = ("F0final", "voicingFinalUnclipped", "logHNR", "shimmerLocal", "jitterLocal", "jitterDDP")


def voiced(seconds: float = SECONDS, seed: int = 0) -> np.ndarray:
    """A vowel-like harmonic signal: F0 gliding 100-180 Hz, syllables at 2.5 Hz, breath noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * SR))) / SR
    f0 = 140.0 + 40.0 * np.sin(2 * np.pi * 0.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    harmonics = sum(np.sin(k * phase) / k for k in range(1, 25))
    envelope = np.sqrt(np.clip(np.sin(2 * np.pi * 2.5 * t), 0.0, None))
    return (0.1 * harmonics * envelope + 0.002 * rng.standard_normal(t.size)).astype(np.float32)


SIGNAL = voiced()
BURST = (3.0, 3.02)  # seconds


def with_burst(signal: np.ndarray) -> np.ndarray:
    """The signal plus a loud 2 kHz tone burst over BURST."""
    out = signal.copy()
    start, end = (int(round(edge * SR)) for edge in BURST)
    out[start:end] += 0.8 * np.sin(2 * np.pi * 2000 * np.arange(end - start) / SR)
    return out


@functools.lru_cache(maxsize=None)
def features(step_s: float, alignment: str, burst: bool = False) -> np.ndarray:
    """compare_features of SIGNAL (or SIGNAL with the burst), computed once per session."""
    signal = with_burst(SIGNAL) if burst else SIGNAL
    return compare_features(signal, SR, step_s, alignment=alignment)


@functools.lru_cache(maxsize=None)
def names() -> list[str]:
    return compare_feature_names()


def window_starts(n_rows: int, step_s: float, alignment: str, window_s: float = 1.0) -> np.ndarray:
    """The documented start of each row's feature window (seconds of the signal)."""
    rows = np.arange(n_rows)
    if alignment == "end":
        return (rows + 1) * step_s - window_s
    return (rows + 0.5) * step_s - window_s / 2


# ---------------------------------------------------------------------------
# Shapes, values, determinism
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("step_s, rows", [(0.02, 300), (0.04, 150)])
def test_shape_dtype_and_finite(step_s, rows):
    out = features(step_s, "end")
    assert out.shape == (rows, COMPARE_DIM)
    assert out.dtype == np.float32
    assert np.isfinite(out).all()
    # rows describe different windows: the first second (silence-padded) and the rest differ
    assert not np.allclose(out[0], out[-1])
    assert np.abs(out).max() > 0


def test_rows_follow_floor_of_duration():
    # 2.03 s at 40 ms: floor(2.03 / 0.04) = 50 rows; the 30 ms tail has none
    assert compare_features(SIGNAL[: int(2.03 * SR)], SR, 0.04).shape == (50, COMPARE_DIM)


def test_feature_names():
    assert len(names()) == COMPARE_DIM
    assert names()[0] == "audspec_lengthL1norm_sma_range"
    assert "pcm_RMSenergy_sma_amean" in names()


def test_deterministic():
    short = SIGNAL[: 2 * SR]
    first = compare_features(short, SR, 0.04)
    second = compare_features(short.copy(), SR, 0.04)
    assert np.array_equal(first, second)


# ---------------------------------------------------------------------------
# Alignment
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "step_s, alignment", [(0.04, "end"), (0.04, "centre"), (0.02, "end"), (0.02, "centre")]
)
def test_rows_equal_functionals_of_lld_contours_over_their_window(step_s, alignment):
    """Independent check: openSMILE's LLD contour of the whole signal, averaged in numpy.

    Row i must be the functionals over the 100 LLD frames (10 ms hop) that start in
    row i's documented window. The signal is padded here by its own rule (1 s of
    silence on both sides), not the module's.
    """
    out = features(step_s, alignment)
    lead = 1.0
    padded = np.concatenate([np.zeros(SR, np.float32), SIGNAL, np.zeros(2 * SR, np.float32)])
    frame_starts, energy, centroid = lld_contours(padded)
    columns = {
        name: names().index(name)
        for name in (
            "pcm_RMSenergy_sma_amean",
            "pcm_RMSenergy_sma_range",
            "pcm_fftMag_spectralCentroid_sma_amean",
        )
    }
    starts = window_starts(out.shape[0], step_s, alignment) + lead
    for row, start in enumerate(starts):
        first = int(np.searchsorted(frame_starts, start - 1e-6))
        assert abs(frame_starts[first] - start) < 1e-6
        window = slice(first, first + 100)
        expected = {
            "pcm_RMSenergy_sma_amean": energy[window].mean(),
            "pcm_RMSenergy_sma_range": np.ptp(energy[window]),
            "pcm_fftMag_spectralCentroid_sma_amean": centroid[window].mean(),
        }
        for name, value in expected.items():
            np.testing.assert_allclose(out[row, columns[name]], value, rtol=1e-4, err_msg=name)


@pytest.mark.parametrize(
    "step_s, alignment", [(0.04, "end"), (0.04, "centre"), (0.02, "end"), (0.02, "centre")]
)
def test_burst_shows_in_the_rows_whose_windows_cover_it(step_s, alignment):
    """A 20 ms burst at 3 s changes the loudness columns of the rows whose windows cover it.

    Every row whose nominal window overlaps the burst must change; no row may
    change unless its window, widened by openSMILE's frame reach (30 ms before,
    40 ms after, see the module docstring), overlaps it.
    """
    plain = features(step_s, alignment)
    loud = features(step_s, alignment, burst=True)
    columns = [
        names().index(name)
        for name in ("pcm_RMSenergy_sma_range", "pcm_RMSenergy_sma_percentile99.0")
    ]
    changed = (np.abs(loud[:, columns] - plain[:, columns]) > 0.5 * plain[:, columns]).any(axis=1)
    starts = window_starts(plain.shape[0], step_s, alignment)
    ends = starts + 1.0
    covering = (starts < BURST[1]) & (ends > BURST[0])
    reachable = (starts - 0.03 < BURST[1]) & (ends + 0.04 > BURST[0])
    assert covering.sum() >= int(1.0 / step_s) - 1
    assert np.all(changed[covering]), np.flatnonzero(covering & ~changed)
    assert not np.any(changed & ~reachable), np.flatnonzero(changed & ~reachable)
    # rows far from the burst are untouched in these columns
    far = (starts > BURST[1] + 0.1) | (ends < BURST[0] - 0.1)
    np.testing.assert_allclose(loud[far][:, columns], plain[far][:, columns], rtol=1e-5)


def test_end_alignment_is_causal_and_centre_is_half_a_window_earlier():
    """Over all 6,373 columns: the first row the burst reaches, for each alignment.

    With "end", no row whose window ends more than openSMILE's reach (80 ms: a
    60 ms frame starting 10 ms before the end, smoothing and deltas) before the
    burst changes at all; "centre" windows start 0.5 s - step / 2 = 12 rows earlier.
    """
    first = {}
    for alignment in ALIGNMENTS:
        changed = np.abs(features(0.04, alignment, True) - features(0.04, alignment)).max(axis=1)
        first[alignment] = int(np.flatnonzero(changed > 0)[0])
    end_of_first = (first["end"] + 1) * 0.04
    assert BURST[0] - 0.08 <= end_of_first <= BURST[0] + 0.04 + 1e-9
    assert first["end"] - first["centre"] == 12


def test_edges_see_digital_silence():
    """Windows that stick out of the recording see zeros, as if it were padded with silence.

    Compared with the same audio preceded and followed by 1 s of zeros, every
    row is the same, except in the voicing descriptors, whose Viterbi F0 smoother
    depends on the audio far outside the window.
    """
    padded = np.concatenate([np.zeros(SR, np.float32), SIGNAL, np.zeros(SR, np.float32)])
    keep = [i for i, name in enumerate(names()) if not name.startswith(VOICING)]
    assert len(keep) > 5800
    for alignment in ALIGNMENTS:
        out = features(0.04, alignment)
        shifted = compare_features(padded, SR, 0.04, alignment=alignment)[25 : 25 + out.shape[0]]
        np.testing.assert_allclose(out[:, keep], shifted[:, keep], rtol=2e-4, atol=1e-4)


# ---------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------


def test_other_sample_rates_are_resampled_to_16k():
    at_8k = resample(SIGNAL[: 2 * SR], SR, 8000)
    out = compare_features(at_8k, 8000, 0.04)
    expected = compare_features(resample(at_8k, 8000, SR), SR, 0.04)
    assert out.shape == (50, COMPARE_DIM)
    assert np.array_equal(out, expected)


def test_samples_beyond_full_scale_are_clipped_not_wrapped():
    loud = 15.0 * SIGNAL[: 2 * SR]  # peaks about 1.5
    assert np.abs(loud).max() > 1.2
    clipped = np.clip(loud, -1.0, 32767 / 32768)
    assert np.array_equal(compare_features(loud, SR, 0.04), compare_features(clipped, SR, 0.04))


def test_silence_gives_finite_features_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = compare_features(np.zeros(2 * SR, np.float32), SR, 0.04)
    assert out.shape == (50, COMPARE_DIM)
    assert np.isfinite(out).all()


def test_nonfinite_values_are_replaced_by_zero_with_a_warning():
    values = np.ones((3, 4), np.float32)
    values[0, 1] = np.nan
    values[2, 3] = np.inf
    values[2, 0] = -np.inf
    with pytest.warns(RuntimeWarning, match="talk.wav: 3 non-finite ComParE values in 2 windows"):
        out = _finite(values, "talk.wav")
    expected = np.ones((3, 4), np.float32)
    expected[0, 1] = expected[2, 3] = expected[2, 0] = 0.0
    assert np.array_equal(out, expected)


@pytest.mark.parametrize(
    "signal, sample_rate, step_s, kwargs, match",
    [
        (np.zeros(0, np.float32), SR, 0.04, {}, "empty"),
        (np.zeros((SR, 2), np.float32), SR, 0.04, {}, "mono"),
        (np.zeros(SR, np.int16), SR, 0.04, {}, "floating point"),
        (np.full(SR, np.nan, np.float32), SR, 0.04, {}, "NaN"),
        (np.zeros(600, np.float32), SR, 0.04, {}, "too short"),
        (np.zeros(SR, np.float32), "16000", 0.04, {}, "sample_rate"),
        (np.zeros(SR, np.float32), 16000.5, 0.04, {}, "sample_rate"),
        (np.zeros(SR, np.float32), 0, 0.04, {}, "sample_rate"),
        (np.zeros(SR, np.float32), True, 0.04, {}, "sample_rate"),
        (np.zeros(SR, np.float32), SR, 0.025, {}, "10 ms"),
        (np.zeros(SR, np.float32), SR, 0.0, {}, "positive"),
        (np.zeros(SR, np.float32), SR, "0.04", {}, "number"),
        (np.zeros(SR, np.float32), SR, 0.04, {"window_s": 0.05}, "at least"),
        (np.zeros(SR, np.float32), SR, 0.04, {"alignment": "middle"}, "alignment"),
        (np.zeros(SR, np.float32), SR, 0.01, {"alignment": "centre"}, "frame grid"),
    ],
)
def test_bad_input_raises(signal, sample_rate, step_s, kwargs, match):
    with pytest.raises(EmoInputError, match=match):
        compare_features(signal, sample_rate, step_s, **kwargs)


def test_errors_name_the_source_file():
    with pytest.raises(EmoInputError, match=r"^talk\.wav: signal is empty"):
        compare_features(np.zeros(0, np.float32), SR, 0.04, source="talk.wav")


# ---------------------------------------------------------------------------
# Settings and the per-window reference
# ---------------------------------------------------------------------------


def test_compare_settings_key_every_choice():
    settings = compare_settings(0.04)
    assert settings["feature_set"] == "ComParE_2016"
    assert settings["feature_level"] == "Functionals"
    assert settings["opensmile"] == opensmile.__version__
    assert (settings["step_s"], settings["window_s"], settings["alignment"]) == (0.04, 1.0, "end")
    json.dumps(settings)
    keys = {
        settings_key(compare_settings(step, window, alignment))
        for step in (0.02, 0.04)
        for window in (1.0, 2.0)
        for alignment in ALIGNMENTS
    }
    assert len(keys) == 8
    with pytest.raises(EmoInputError):
        compare_settings(0.04, 1.0, "start")


def test_per_window_reference_agrees_with_the_windowed_call():
    """One process_signal call per window: close to the windowed call, not equal.

    The Pearson correlation of the two 6,373-vectors of a row is above 0.99 (it is
    driven by the features with large values); the energy range agrees within 1 %
    and the mean energy within 5 % (the per-window call has fewer LLD frames and no
    context at the window's edges).
    """
    rows = [30, 60, 90, 120]
    reference = compare_features_per_window(SIGNAL, SR, 0.04, rows=rows)
    windowed = features(0.04, "end")[rows]
    assert reference.shape == (4, COMPARE_DIM)
    assert np.isfinite(reference).all()
    for a, b in zip(windowed.astype(np.float64), reference.astype(np.float64)):
        assert np.corrcoef(a, b)[0, 1] > 0.99
    energy_range = names().index("pcm_RMSenergy_sma_range")
    energy_mean = names().index("pcm_RMSenergy_sma_amean")
    np.testing.assert_allclose(reference[:, energy_range], windowed[:, energy_range], rtol=0.01)
    np.testing.assert_allclose(reference[:, energy_mean], windowed[:, energy_mean], rtol=0.05)
    assert not np.array_equal(reference, windowed)
    with pytest.raises(EmoInputError, match="out of range"):
        compare_features_per_window(SIGNAL, SR, 0.04, rows=[150])
