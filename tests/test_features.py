"""Tests of emo_lib.features: log mel + deltas against an independent computation, framing,
per-band normalisation."""

import librosa
import numpy as np
import pytest
from scipy.signal import get_window, savgol_filter

from emo_lib.errors import EmoInputError
from emo_lib.features import frame_count, log_mel_deltas, normalise_per_band

SR = 16_000


def _reference(signal, n_mels=40):
    """Log mel + deltas with NumPy/SciPy only (librosa supplies just the filterbank matrix).

    Centred 400-sample Hann frames every 160 samples (half a window of zeros at both
    ends), power spectrum, natural log with a 1e-6 floor, Savitzky-Golay derivatives over
    9 frames with polynomial fits at the edges, last frame dropped.
    """
    n_fft, hop = 400, 160
    padded = np.pad(np.asarray(signal, np.float64), n_fft // 2)
    n_frames = 1 + (len(padded) - n_fft) // hop
    frames = np.stack([padded[i * hop : i * hop + n_fft] for i in range(n_frames)])
    power = np.abs(np.fft.rfft(frames * get_window("hann", n_fft, fftbins=True), axis=1)) ** 2
    filterbank = librosa.filters.mel(sr=SR, n_fft=n_fft, n_mels=n_mels)  # (n_mels, 201)
    log_mel = np.log(power @ filterbank.T + 1e-6)  # (frames, n_mels)
    d1 = savgol_filter(log_mel, 9, polyorder=1, deriv=1, axis=0, mode="interp")
    d2 = savgol_filter(log_mel, 9, polyorder=2, deriv=2, axis=0, mode="interp")
    return np.stack([log_mel, d1, d2], axis=-1)[: len(signal) // hop]


def _slaney_mel(hz):
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, float)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _band_centre(band, n_mels=40):
    """Centre frequency (Hz) of a band: n_mels + 2 points equally spaced in mel from 0 to 8 kHz."""
    mels = np.linspace(0.0, _slaney_mel(SR / 2), n_mels + 2)[band + 1]
    return mels * 200.0 / 3 if mels < 15.0 else 1000.0 * np.exp((mels - 15.0) * np.log(6.4) / 27.0)


def test_matches_an_independent_computation():
    rng = np.random.default_rng(0)
    t = np.arange(3 * SR) / SR
    chirp = np.sin(2 * np.pi * 300 * t * (1 + t))
    signal = (chirp + 0.3 * rng.normal(size=t.size)).astype(np.float32)
    signal[SR : SR + 4000] *= 0.01  # a quiet stretch, so the log and the deltas vary
    out = log_mel_deltas(signal)
    expected = _reference(signal)
    assert out.shape == expected.shape == (300, 40, 3)
    assert out.dtype == np.float32
    for m in range(3):  # float32 STFT against float64
        np.testing.assert_allclose(out[..., m], expected[..., m], atol=1e-4, rtol=1e-5)


def test_six_seconds_give_600_frames_and_odd_lengths_floor():
    signal = np.random.default_rng(1).normal(size=96_000).astype(np.float32)
    assert log_mel_deltas(signal).shape == (600, 40, 3)
    assert frame_count(96_000) == 600
    for n in (96_159, 400, 16_000 + 1):
        out = log_mel_deltas(signal[:n] if n <= 96_000 else np.resize(signal, n))
        assert out.shape == (n // 160, 40, 3) == (frame_count(n), 40, 3)
    assert log_mel_deltas(signal[:400], n_mels=20).shape == (2, 20, 3)


@pytest.mark.parametrize("band", [3, 12, 25, 36])
def test_a_tone_lands_in_its_mel_band(band):
    frequency = _band_centre(band)
    t = np.arange(SR) / SR
    tone = np.sin(2 * np.pi * frequency * t).astype(np.float32)
    log_mel = log_mel_deltas(tone)[5:-5, :, 0]  # away from the zero-padded edges
    assert np.all(np.argmax(log_mel, axis=1) == band)
    # a steady tone has (almost) no temporal derivative
    deltas = log_mel_deltas(tone)[10:-10, band, 1:]
    assert np.max(np.abs(deltas)) < 1e-3


def test_frame_i_is_centred_at_i_times_10_ms():
    signal = np.zeros(SR, np.float32)
    signal[4800] = 1.0  # a click at 0.3 s
    log_mel = log_mel_deltas(signal)[..., 0]
    energy = log_mel.mean(axis=1)
    assert int(np.argmax(energy)) == 30
    # frames whose 25 ms window does not reach the click hold only the log floor
    assert np.allclose(log_mel[:28], np.log(1e-6)) and np.allclose(log_mel[33:], np.log(1e-6))
    assert np.all(log_mel[29:32] > np.log(1e-6) + 1)


def test_signal_errors():
    with pytest.raises(EmoInputError, match="shorter than one 400-sample window"):
        log_mel_deltas(np.zeros(399, np.float32))
    with pytest.raises(EmoInputError, match="one-dimensional"):
        log_mel_deltas(np.zeros((1000, 2), np.float32))
    with pytest.raises(EmoInputError, match="NaN"):
        log_mel_deltas(np.full(1000, np.nan, np.float32))
    with pytest.raises(EmoInputError, match="n_mels"):
        log_mel_deltas(np.zeros(1000, np.float32), n_mels=0)


def test_normalise_per_band():
    rng = np.random.default_rng(2)
    loc = rng.normal(size=(40, 3)) * 5
    scale = rng.uniform(0.1, 3, size=(40, 3))
    features = rng.normal(loc=loc, scale=scale, size=(500, 40, 3)).astype(np.float32)
    features[:, 7, 0] = -13.8  # a constant band (digital silence)
    normalised, mean, std = normalise_per_band(features)
    assert normalised.shape == features.shape and normalised.dtype == np.float32
    assert mean.shape == std.shape == (40, 3)
    assert np.all(np.isfinite(normalised))
    assert np.all(normalised[:, 7, 0] == 0)
    others = np.ones((40, 3), bool)
    others[7, 0] = False
    np.testing.assert_allclose(normalised.mean(axis=0)[others], 0, atol=1e-5)
    np.testing.assert_allclose(normalised.std(axis=0)[others], 1, atol=1e-4)
    np.testing.assert_allclose(mean, features.astype(np.float64).mean(axis=0), rtol=1e-5, atol=1e-5)

    # statistics of one excerpt applied to another
    again, mean2, std2 = normalise_per_band(features[:50], mean, std)
    np.testing.assert_allclose(again, (features[:50] - mean) / std, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(mean2, mean)


def test_normalise_per_band_errors():
    features = np.zeros((10, 40, 3), np.float32)
    with pytest.raises(EmoInputError, match="both"):
        normalise_per_band(features, mean=np.zeros((40, 3)))
    with pytest.raises(EmoInputError, match="shape"):
        normalise_per_band(features, np.zeros((40,)), np.ones((40,)))
    with pytest.raises(EmoInputError, match="at least one frame"):
        normalise_per_band(np.zeros((0, 40, 3)))
    with pytest.raises(EmoInputError, match="NaN"):
        normalise_per_band(np.full((5, 40, 3), np.nan))
