"""Tests of emo_lib.prediction: traces over audio files."""

import keras
import numpy as np
import soundfile

from emo_lib.models import build_model
from emo_lib.prediction import predict_audio, write_trace_csv


def test_predict_audio_any_length_rate_and_channels(tmp_path):
    keras.utils.set_random_seed(0)
    model = build_model("WS", 20, "tiny")
    path = tmp_path / "talk.wav"
    rate, seconds = 44100, 17.3
    t = np.arange(int(rate * seconds)) / rate
    stereo = np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 330 * t)], -1) * 0.3
    soundfile.write(path, stereo, rate, subtype="PCM_16")
    times, trace = predict_audio(model, path)
    n = int(seconds / 0.02)
    assert trace.shape == (n, 2) and times.shape == (n,)
    assert np.all(np.isfinite(trace))
    np.testing.assert_allclose(times[:3], [0.02, 0.04, 0.06])
    csv_path = write_trace_csv(tmp_path / "trace.csv", times, trace)
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "time,arousal,valence" and len(lines) == n + 1
