"""The conversation record every corpus reader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Conversation", "Corpus", "DIMENSIONS"]

DIMENSIONS = ("arousal", "valence")
"""Order of the two label dimensions everywhere in the project."""


@dataclass
class Conversation:
    """One recorded conversation with its continuous labels.

    Attributes
    ----------
    id : str
        Unique within the corpus (``"P16"``, ``"train_3"``, ``"S12"``; the
        file name without extension in the generic layout).
    corpus : str
        ``"semaine"``, ``"recola"``, ``"recola-avec2016"`` or ``"generic"``.
    speaker : str
        The speaker whose emotion is labelled (SEMAINE: the user; RECOLA: the
        participant; generic: from ``speakers.csv``, else the id). Used by the
        speaker-independent split.
    audio_path : pathlib.Path
        The WAV file of that speaker.
    label_step : float
        Seconds between label rows (0.02 SEMAINE, 0.04 RECOLA; 0.02 or 0.04
        read from the files in the generic layout).
    times : np.ndarray [shape=(T,)]
        Time of each label row in seconds, as written in the files.
    labels : np.ndarray [shape=(T, 2)] or None
        Gold standard (arousal, valence) per row, float32; ``None`` where the
        corpus publishes no labels (AVEC 2016 test partition).
    raters : dict[str, np.ndarray]
        ``{"arousal": (R, T), "valence": (R, T)}`` individual rater traces,
        truncated to a common length; empty when the corpus has none.
    turns : list of (float, float)
        Speech regions of the labelled speaker in seconds: user turns for
        SEMAINE, the whole conversation for RECOLA, the turns file (else the
        whole conversation) in the generic layout.
    partition : str or None
        ``"train"``, ``"dev"`` or ``"test"`` for AVEC 2016, else ``None``.
    words : list of (float, float, str)
        Word-level transcript of the labelled speaker (start s, end s, word),
        when the corpus has one (SEMAINE); empty otherwise.
    audio_duration : float
        Duration of the audio file in seconds (from its header).
    """

    id: str
    corpus: str
    speaker: str
    audio_path: Path
    label_step: float
    times: np.ndarray
    labels: np.ndarray | None
    raters: dict[str, np.ndarray] = field(default_factory=dict)
    turns: list[tuple[float, float]] = field(default_factory=list)
    partition: str | None = None
    words: list[tuple[float, float, str]] = field(default_factory=list)
    audio_duration: float = 0.0

    @property
    def label_step_ms(self) -> int:
        """The label step in whole milliseconds (20 or 40)."""
        return int(round(self.label_step * 1000))


@dataclass
class Corpus:
    """The conversations read from one corpus folder.

    Attributes
    ----------
    name : str
        ``"semaine"``, ``"recola"``, ``"recola-avec2016"`` or ``"generic"``.
    root : pathlib.Path
        The folder that was read.
    conversations : list of Conversation
        In a stable order (sorted by id).
    skipped : list of (str, str)
        ``(what, why)`` for every conversation left out: non-interaction
        sessions, and bad ones when read with ``skip_bad=True``.
    """

    name: str
    root: Path
    conversations: list[Conversation]
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.conversations)

    def __iter__(self):
        return iter(self.conversations)

    def __getitem__(self, key: int | str) -> Conversation:
        if isinstance(key, str):
            for conversation in self.conversations:
                if conversation.id == key:
                    return conversation
            raise KeyError(key)
        return self.conversations[key]
