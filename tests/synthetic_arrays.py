"""Small fabricated conversations as arrays, for training tests that need no corpus files.

The labels are a smooth function of the waveform's loudness, so a model can learn them.
"""

from __future__ import annotations

import numpy as np

from emo_lib.dataset import ConversationArrays, SegmentRef, SegmentSet


def make_segment_set(n_conversations: int = 3, seconds: float = 12.0, *, seed: int = 0,
                     label_step: float = 0.04, segment_seconds: float = 6.0,
                     compare_dim: int | None = None, prefix: str = "c") -> SegmentSet:
    """Conversations of ``seconds`` each, cut into ``segment_seconds`` segments.

    With ``compare_dim`` the conversations also get baseline features whose mean and
    spread differ from one conversation to the next.

    Returns
    -------
    SegmentSet
    """
    rng = np.random.default_rng(seed)
    arrays, segments = {}, []
    n_samples = int(seconds * 16000)
    n_windows = int(round(seconds / label_step))
    per_segment = int(round(segment_seconds / label_step))
    for c in range(n_conversations):
        cid = f"{prefix}{c}"
        envelope = 0.5 + 0.5 * np.sin(np.linspace(0, 3 + c, n_windows) + c)
        gain = np.repeat(envelope, n_samples // n_windows)
        waveform = (rng.normal(size=n_samples) * gain).astype(np.float32)
        frames = n_samples // 160
        spectrogram = rng.normal(size=(frames, 40, 3)).astype(np.float32)
        spectrogram[:, :, 0] += np.repeat(envelope, frames // n_windows)[:, None] * 2
        labels = np.stack([envelope * 2 - 1, np.cos(np.linspace(0, 2, n_windows))], -1).astype(np.float32)
        compare = None
        if compare_dim is not None:
            compare = (rng.normal(size=(n_windows, compare_dim)) * (c + 1) + 10 * c).astype(np.float32)
        arrays[cid] = ConversationArrays(cid, label_step, waveform, spectrogram, labels,
                                         np.ones(n_windows, bool), (np.arange(n_windows) + 1) * label_step,
                                         compare)
        for i, start in enumerate(range(0, n_windows, per_segment)):
            segments.append(SegmentRef(cid, i, start, min(per_segment, n_windows - start)))
    return SegmentSet(segments, arrays, segment_seconds, label_step)
