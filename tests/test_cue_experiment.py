"""Tests of emo_lib.cue_experiment: where its runs go, its table, and what it refuses.

The experiment itself (corpus, training) runs in notebook 03 on the "ci" profile (tests/test_notebooks.py);
the generator's tests check that its arousal cue does not show in the log mel.
"""

import json
import math

import pytest

from emo_lib.cue_experiment import (cue_corpus_root, cue_runs_dir, cue_shift_frame, cue_table, describe_cues,
                                    run_cue_experiment)
from emo_lib.errors import EmoInputError
from emo_lib.study import experiment_dir


def _metrics(folder, arousal, valence):
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(
        {"metrics": {"ccc": {"concatenated": {"arousal": arousal, "valence": valence}}}}))


def test_cue_table_sets_the_tower_test_runs_beside_the_standard_ones(tmp_path):
    work = tmp_path / "work"
    assert cue_corpus_root(work) == work / "corpora" / "recola-tower-test"
    assert cue_runs_dir(work, "quick") == work / "runs" / "quick-cues"
    _metrics(experiment_dir(cue_runs_dir(work, "quick"), "recola", "W", 0), 0.61, 0.20)
    _metrics(experiment_dir(cue_runs_dir(work, "quick"), "recola", "S", 0), 0.05, 0.40)
    _metrics(experiment_dir(work / "runs" / "quick", "recola", "W", 0), 0.55, 0.04)
    table = cue_table(work, "quick")
    assert list(table.variant) == ["W", "S"]  # the floor was not run: no row
    w, s = table.iloc[0], table.iloc[1]
    assert (w.cues_arousal, w.cues_valence, w.standard_arousal, w.standard_valence) == (0.61, 0.20, 0.55, 0.04)
    assert s.cues_valence == 0.40 and math.isnan(s.standard_arousal)  # no standard S run here
    long = cue_shift_frame(table)
    assert len(long) == 4 and set(long.group) == {"RECOLA layout"}
    first = long.iloc[0]  # W, arousal: the standard cues before, the tower-test cues after
    assert (first.model, first.dimension, first.before, first.after) == ("W", "arousal", 0.55, 0.61)
    assert describe_cues(table).splitlines() == [
        "- **Arousal from the phase alone**: W only 0.610, S only 0.050, floor nan.",
        "- **Valence from the envelope alone**: W only 0.200, S only 0.400, floor nan."]


def test_cue_experiment_refuses_the_baseline(tmp_path):
    with pytest.raises(EmoInputError, match="not baseline"):
        run_cue_experiment(tmp_path, "ci", variants=("W", "baseline"))
    assert not (tmp_path / "corpora").exists()  # refused before writing anything


def test_waveform_asymmetry_flips_with_the_pulse_and_matches_the_formula():
    import numpy as np

    from emo_lib.cue_experiment import waveform_asymmetry
    from emo_lib.synthesis import rotate_phase

    t = np.arange(32000) / 16000
    pulse = np.maximum(0.0, np.sin(2 * np.pi * 120 * t)) ** 3
    pulse -= pulse.mean()
    # first second as it is, second second upside down, at another level
    signal = np.concatenate([pulse[:16000], -3.0 * pulse[16000:]])
    asymmetry = waveform_asymmetry(signal, 0.04, 50, smooth_seconds=0.4)
    assert (asymmetry[5:20] > 0.5).all() and (asymmetry[30:45] < -0.5).all()
    # one window, no smoothing: the skewness about zero written out
    window = signal[:640]
    expected = np.mean(window ** 3) / np.mean(window ** 2) ** 1.5
    assert waveform_asymmetry(signal, 0.04, 50, smooth_seconds=0.04)[0] == pytest.approx(expected)
    # a 90 degree rotation makes the pulses symmetric: little asymmetry left
    assert abs(waveform_asymmetry(rotate_phase(pulse, 90.0), 0.04, 50)[10:40]).max() < 0.2 * asymmetry[10]
    assert waveform_asymmetry(np.zeros(3200), 0.04, 5).tolist() == [0.0] * 5  # silence, shorter than the smoothing
    assert len(waveform_asymmetry(signal, 0.04, 50, smooth_seconds=0.12)) == 50
    with pytest.raises(EmoInputError, match="do not cover"):
        waveform_asymmetry(signal[:100], 0.04, 50)


def test_asymmetry_probe_finds_arousal_carried_by_the_pulse_direction():
    import numpy as np

    from synthetic_arrays import make_segment_set
    from emo_lib.cue_experiment import asymmetry_probe

    segments = make_segment_set(2, 12.0, seed=3)
    t = np.arange(12 * 16000) / 16000
    pulse = np.maximum(0.0, np.sin(2 * np.pi * 110 * t)) ** 3
    pulse -= pulse.mean()
    for arrays in segments.arrays.values():
        arousal = arrays.labels[:, 0]
        direction = np.repeat(np.where(arousal > np.median(arousal), 1.0, -1.0), 640)  # high arousal: upright
        arrays.waveform = (direction * pulse).astype(np.float32)[:, None]
    probe = asymmetry_probe(segments, lag_seconds=0.0, smooth_seconds=0.2)
    assert probe["conversations"] == 2 and probe["pooled_r"] > 0.5
    assert all(r > 0.5 for r in probe["conversation_r"])
