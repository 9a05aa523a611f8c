"""Tests of emo_lib.config: presets and their derived sizes."""

import pytest

from emo_lib.config import PRESETS, TrainConfig, get_preset
from emo_lib.errors import EmoInputError


def test_paper_preset_is_the_paper():
    paper = get_preset("paper")
    assert (paper.wave_conv1_filters, paper.wave_conv1_kernel, paper.wave_conv2_kernel) == (40, 80, 800)
    assert (paper.spec_conv1_filters, paper.spec_conv2_kernel, paper.spec_channel_pool) == (80, 10, 10)
    assert (paper.lstm_units_fused, paper.lstm_units_single, paper.dropout) == (256, 128, 0.5)
    assert paper.segment_samples == 96_000 and paper.segment_frames == 600
    assert paper.label_frames(20) == 300 and paper.label_frames(40) == 150
    assert TrainConfig().batch_size == 50 and TrainConfig().learning_rate == 5e-4


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_gives_96000_values_per_tower(name):
    preset = PRESETS[name]
    wave = preset.segment_samples // preset.wave_pool * (preset.wave_conv2_filters // preset.wave_channel_pool)
    spec = preset.segment_frames * (40 // preset.spec_pool) * (preset.spec_conv2_filters // preset.spec_channel_pool)
    assert wave == spec == 96_000


def test_unknown_preset_and_replace():
    with pytest.raises(EmoInputError, match="narrow"):
        get_preset("huge")
    assert get_preset("paper").replace(long_conv="fft").long_conv == "fft"
    assert get_preset(PRESETS["tiny"]) is PRESETS["tiny"]
    assert get_preset("tiny").to_dict()["name"] == "tiny"
