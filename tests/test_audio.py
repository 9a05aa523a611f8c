"""Tests of emo_lib.audio: every WAV sample format, other formats for prediction, channel mixing,
resampling, errors."""

import numpy as np
import pytest
import soundfile

from emo_lib.audio import (
    AUDIO_EXTENSIONS,
    AudioInfo,
    audio_info,
    load_audio,
    read_audio,
    read_wav,
    resample,
    write_wav,
    znormalise,
)
from emo_lib.errors import EmoInputError

# subtype -> largest error of one sample after a write/read round trip: one quantisation step
# (full scale 1 = 2**(bits - 1) steps; libsndfile's float-to-integer conversion may truncate
# rather than round); float32 rounding for 32-bit PCM and float files
SUBTYPES = {
    "PCM_U8": 2.0**-7,
    "PCM_16": 2.0**-15,
    "PCM_24": 2.0**-23,
    "PCM_32": 2.0**-24,
    "FLOAT": 2.0**-24,
    "DOUBLE": 2.0**-24,
}


def _test_signal(n_samples, channels, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.9, 0.9, size=(n_samples, channels))


@pytest.mark.parametrize("subtype", sorted(SUBTYPES))
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_every_subtype_and_channel_count_round_trips(tmp_path, subtype, channels):
    data = _test_signal(500, channels)
    path = tmp_path / f"x_{subtype}_{channels}.wav"
    soundfile.write(str(path), data, 22050, subtype=subtype, format="WAV")

    signal, rate = read_wav(path)
    assert rate == 22050
    assert signal.dtype == np.float32 and signal.shape == (500,)
    expected = data.mean(axis=1)  # channels averaged
    assert np.max(np.abs(signal - expected)) <= SUBTYPES[subtype] * 1.01

    info = audio_info(path)
    assert info == AudioInfo(
        sample_rate=22050, channels=channels, frames=500, duration=500 / 22050, subtype=subtype
    )


def test_stereo_is_the_average_of_its_channels(tmp_path):
    t = np.arange(8000) / 8000
    left = 0.5 * np.sin(2 * np.pi * 100 * t)
    right = np.full_like(left, 0.25)
    path = tmp_path / "stereo.wav"
    soundfile.write(str(path), np.stack([left, right], axis=1), 8000, subtype="FLOAT")
    signal, _ = read_wav(path)
    np.testing.assert_allclose(signal, (left + right) / 2, atol=1e-7)


@pytest.mark.parametrize("container", ["WAVEX", "RF64", "W64"])
def test_wav_variants_are_read(tmp_path, container):
    data = _test_signal(300, 2, seed=3)
    path = tmp_path / f"variant_{container}.wav"
    soundfile.write(str(path), data, 16_000, subtype="PCM_24", format=container)
    signal, rate = read_wav(path)
    assert rate == 16_000
    assert np.max(np.abs(signal - data.mean(axis=1))) <= 2.0**-23 * 1.01


def _dominant_frequency(signal, rate):
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return np.fft.rfftfreq(len(signal), 1 / rate)[np.argmax(spectrum)]


def test_resample_keeps_frequency_amplitude_and_length():
    rate = 44_100
    t = np.arange(2 * rate) / rate  # 2 s
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    out = resample(tone, rate, 16_000)
    assert out.dtype == np.float32
    assert out.shape == (32_000,)
    assert _dominant_frequency(out, 16_000) == pytest.approx(1000, abs=1.0)
    middle = out[4000:-4000]  # away from the filter's edge effects
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 / np.sqrt(2), rel=2e-3)
    # against the exact sine at the new sample times
    t16 = np.arange(32_000) / 16_000
    exact = 0.5 * np.sin(2 * np.pi * 1000 * t16)
    assert np.max(np.abs(out[4000:-4000] - exact[4000:-4000])) < 5e-3


def test_resample_length_for_a_fractional_ratio_and_identity():
    out = resample(np.zeros(1000, np.float32), 44_100, 16_000)
    assert abs(len(out) - 1000 * 16_000 / 44_100) <= 1
    x = np.random.default_rng(1).normal(size=123).astype(np.float32)
    np.testing.assert_array_equal(resample(x, 16_000, 16_000), x)
    # a tone above the new Nyquist frequency is removed, not folded back
    t = np.arange(48_000) / 48_000
    high = np.sin(2 * np.pi * 10_000 * t).astype(np.float32)
    assert np.sqrt(np.mean(resample(high, 48_000, 16_000)[2000:-2000] ** 2)) < 1e-3


def test_resample_rejects_bad_input():
    with pytest.raises(EmoInputError, match="orig_sr"):
        resample(np.zeros(10), 0, 16_000)
    with pytest.raises(EmoInputError, match="one-dimensional"):
        resample(np.zeros((10, 2)), 44_100)
    with pytest.raises(EmoInputError, match="NaN"):
        resample(np.array([0.0, np.nan]), 44_100)


def test_load_audio_reads_mixes_and_resamples(tmp_path):
    rate = 48_000
    t = np.arange(rate) / rate
    tone = 0.4 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path / "semaine_like.wav"
    soundfile.write(str(path), np.stack([tone, tone], axis=1), rate, subtype="PCM_24")
    signal = load_audio(path)
    assert signal.dtype == np.float32 and signal.shape == (16_000,)
    assert _dominant_frequency(signal, 16_000) == pytest.approx(440, abs=1.0)
    assert np.max(np.abs(signal[1000:-1000])) == pytest.approx(0.4, rel=5e-3)


def test_znormalise():
    x = np.random.default_rng(2).normal(3.0, 0.01, size=10_000).astype(np.float32)
    z = znormalise(x)
    assert z.dtype == np.float32
    assert abs(float(np.mean(z, dtype=np.float64))) < 1e-6
    assert float(np.std(z, dtype=np.float64)) == pytest.approx(1.0, abs=1e-5)
    expected = (x - x.mean(dtype=np.float64)) / x.std(dtype=np.float64)
    np.testing.assert_allclose(z, expected, atol=1e-5)
    for constant in (np.zeros(50), np.full(50, 0.1, np.float32), np.full(7, -3.0)):
        out = znormalise(constant)
        assert np.all(np.isfinite(out)) and np.all(out == 0)
    assert znormalise(np.array([1.0, 3.0])).tolist() == [-1.0, 1.0]


def test_write_wav_round_trip_and_leaves_no_temporary_file(tmp_path):
    x = np.linspace(-1, 1, 1001)
    path = write_wav(tmp_path / "sub" / "a.wav", x, 16_000, subtype="PCM_24")
    assert path.exists()
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["a.wav"]
    y, rate = read_wav(path)
    assert rate == 16_000 and np.max(np.abs(y - x)) <= 2.0**-23
    stereo = np.stack([x, -x], axis=1)
    write_wav(tmp_path / "s.wav", stereo, 8000, subtype="FLOAT")
    assert audio_info(tmp_path / "s.wav").channels == 2


def test_write_wav_rejects_bad_input(tmp_path):
    path = tmp_path / "bad.wav"
    with pytest.raises(EmoInputError, match="clip") as error:
        write_wav(path, np.array([0.0, 1.5]), 16_000)
    assert str(path) in str(error.value)
    write_wav(path, np.array([0.0, 1.5]), 16_000, subtype="FLOAT")  # float keeps any value
    with pytest.raises(EmoInputError, match="subtype"):
        write_wav(tmp_path / "c.wav", np.zeros(4), 16_000, subtype="PCM_12")
    with pytest.raises(EmoInputError, match="NaN"):
        write_wav(tmp_path / "d.wav", np.array([0.0, np.nan]), 16_000, subtype="FLOAT")
    with pytest.raises(EmoInputError, match="non-empty"):
        write_wav(tmp_path / "e.wav", np.zeros(0), 16_000)
    assert not (tmp_path / "c.wav").exists() and not (tmp_path / "e.wav").exists()


def _bad_files(tmp_path):
    """Each bad file, with a fragment of the message it must give."""
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n" * 20)
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    empty = tmp_path / "empty.wav"
    soundfile.write(str(empty), np.zeros(0), 16_000)
    flac = tmp_path / "flac_in_disguise.wav"
    soundfile.write(str(flac), np.zeros(100), 16_000, format="FLAC")
    return [
        (tmp_path / "missing.wav", "not found"),
        (folder, "directory"),
        (text, "not a readable WAV file"),
        (empty, "empty"),
        (flac, "not a WAV file"),
    ]


def test_bad_files_raise_emo_input_error_naming_the_file(tmp_path):
    for path, fragment in _bad_files(tmp_path):
        for reader in (read_wav, audio_info, lambda p: load_audio(p, wav_only=True)):
            with pytest.raises(EmoInputError) as error:
                reader(path)
            assert fragment in str(error.value)
            assert str(error.value).startswith(str(path))
            assert error.value.path == path


def test_bad_files_for_any_format_readers(tmp_path):
    fragments = {"missing.wav": "not found", "folder.wav": "directory", "notes.wav": "not a readable audio file",
                 "empty.wav": "empty"}
    for path, _ in _bad_files(tmp_path):
        readers = (read_audio, load_audio, lambda p: audio_info(p, wav_only=False))
        if path.name == "flac_in_disguise.wav":  # a real FLAC file: fine for these readers
            assert read_audio(path)[0].shape == (100,) and audio_info(path, wav_only=False).format == "FLAC"
            continue
        for reader in readers:
            with pytest.raises(EmoInputError) as error:
                reader(path)
            assert fragments[path.name] in str(error.value), str(error.value)
            assert str(error.value).startswith(str(path)) and error.value.path == path


def test_read_audio_reads_flac_ogg_and_mp3_but_read_wav_refuses_them(tmp_path):
    rate = 22050
    t = np.arange(rate) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([tone, 0.5 * tone], axis=1)
    flac = tmp_path / "talk.flac"
    soundfile.write(str(flac), stereo, rate, format="FLAC", subtype="PCM_16")
    signal, got_rate = read_audio(flac)
    assert got_rate == rate and signal.shape == (rate,)
    assert np.max(np.abs(signal - stereo.mean(axis=1))) <= 2.0**-15 * 1.01  # lossless
    info = audio_info(flac, wav_only=False)
    assert (info.format, info.subtype, info.channels, info.frames) == ("FLAC", "PCM_16", 2, rate)
    for fmt, subtype, name in (("OGG", "VORBIS", "talk.ogg"), ("MP3", "MPEG_LAYER_III", "talk.mp3")):
        path = tmp_path / name
        soundfile.write(str(path), tone, rate, format=fmt, subtype=subtype)
        lossy, got_rate = read_audio(path)
        assert got_rate == rate and abs(len(lossy) - rate) < 0.05 * rate, name
        assert _dominant_frequency(lossy, rate) == pytest.approx(440, abs=2.0), name
        assert audio_info(path, wav_only=False).format == fmt
        with pytest.raises(EmoInputError, match="not a WAV file"):
            read_wav(path)
    with pytest.raises(EmoInputError, match="not a WAV file"):
        audio_info(flac)  # the corpora's check stays WAV-only
    resampled = load_audio(flac)  # any format by default, at 16 kHz
    assert resampled.shape == (16_000,)
    assert _dominant_frequency(resampled, 16_000) == pytest.approx(440, abs=1.0)
    with pytest.raises(EmoInputError, match="not a WAV file"):
        load_audio(flac, wav_only=True)
    assert {".wav", ".flac", ".ogg", ".mp3"} <= set(AUDIO_EXTENSIONS)


def test_damaged_flac_names_the_file(tmp_path):
    good = tmp_path / "good.flac"
    soundfile.write(str(good), np.random.default_rng(0).uniform(-0.5, 0.5, 48_000), 48_000, format="FLAC")
    damaged = tmp_path / "damaged.flac"
    damaged.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert audio_info(damaged, wav_only=False).frames == 48_000  # the header alone looks fine
    with pytest.raises(EmoInputError, match="not a readable audio file") as error:
        read_audio(damaged)
    assert error.value.path == damaged


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_rejected(tmp_path, bad):
    path = tmp_path / "nan.wav"
    data = np.zeros((1600, 2))
    data[800, 1] = bad
    soundfile.write(str(path), data, 16_000, subtype="FLOAT")
    assert audio_info(path).frames == 1600  # the header alone is fine
    with pytest.raises(EmoInputError, match="non-finite") as error:
        read_wav(path)
    assert "sample 800" in str(error.value) and str(path) in str(error.value)
