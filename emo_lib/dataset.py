"""Segments, splits and per-conversation caches: from Conversation records to model batches.

The flow for one conversation (paper, section 4.1):

1. read the labelled speaker's audio, average its channels, resample to
   16 kHz, z-normalise over the whole conversation (the waveform input);
2. 40-band log mel + deltas of that z-normalised waveform over the whole
   conversation (the paper's spectrogram features), standardised per band by
   the model with training-set statistics by default; unscaled, or
   normalised per band over the conversation, are options
   (:data:`emo_lib.features.SPECTROGRAM_NORMS`);
3. align the labels to label windows of 20 ms / 40 ms (window ``i`` covers
   ``[i * step, (i + 1) * step)`` of the audio; the label convention, by
   default the label at the window's end, is a :class:`PreprocessConfig`
   option);
4. optionally the openSMILE ComParE functionals of the baseline, one row per
   label window, computed from the 16 kHz audio **at its recorded level** (no
   per-conversation scaling: loudness is one of the baseline's cues).

These arrays are cached per conversation (atomic writes, keyed by every
preprocessing setting, the feature settings and the source files), so a second
run reuses them and a changed setting never reads a stale cache.

Segments are cut on the label grid from the conversation's turns (SEMAINE: the
user's turns; RECOLA: the whole conversation) into pieces of
``segment_seconds`` (6 s). **Remainder policy**: the last piece of a turn is
kept when it is at least ``min_segment_seconds`` long, its inputs are padded
(the waveform with zeros, the spectrogram with silence) and its padded frames
get mask 0, which keeps them out of the loss, the metrics and the BLSTMs (the
models take the ``frame_mask`` input as a Keras mask); shorter remainders are
dropped (``remainder="drop"`` drops every partial piece).

Splits: the paper's random 70/30 split of conversations (seeded), a
speaker-independent split, or the AVEC 2016 partitions (train / dev). A
validation part is carved from the training conversations. The split is
written to a manifest file so that a result can be reproduced exactly.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from . import __version__
from .config import FRAME_HOP_SECONDS, SAMPLE_RATE
from .corpora.base import Conversation, Corpus
from .errors import EmoInputError
from .io import atomic_save_npz, atomic_path, atomic_write_json, load_npz, settings_key

__all__ = [
    "PreprocessConfig",
    "ConversationArrays",
    "SegmentRef",
    "SegmentSet",
    "Split",
    "arrays_from_audio",
    "preprocess_conversation",
    "load_conversation_arrays",
    "segment_conversation",
    "build_segment_set",
    "split_conversations",
    "write_manifest",
    "read_manifest",
    "SPLIT_METHODS",
]

SPLIT_METHODS = ("random", "speaker", "partition")
_CACHE_FORMAT = 2


@dataclass(frozen=True)
class PreprocessConfig:
    """How conversations become arrays and segments.

    Parameters
    ----------
    segment_seconds : float
        Segment length (the paper: 6 s).
    label_convention : {"end", "start", "interpolate"}
        Which label row a label window gets (see :func:`emo_lib.labels.align_labels`).
    remainder : {"pad", "drop"}
        What happens to the last, shorter piece of a turn (module docstring).
    min_segment_seconds : float
        With ``remainder="pad"``, shorter remainders are dropped.
    with_compare : bool
        Also compute the openSMILE ComParE features (the baseline's input).
    spectrogram_norm : {"train", "none", "conversation"}
        How the spectrogram input is normalised
        (:data:`emo_lib.features.SPECTROGRAM_NORMS`): ``"train"`` (default)
        and ``"none"`` store the log mel of the z-normalised waveform as it is
        (``"train"`` models standardise it inside with training-set
        statistics), ``"conversation"`` stores it normalised per band over the
        conversation.
    """

    segment_seconds: float = 6.0
    label_convention: str = "end"
    remainder: str = "pad"
    min_segment_seconds: float = 1.0
    with_compare: bool = False
    spectrogram_norm: str = "train"

    def __post_init__(self):
        from .features import SPECTROGRAM_NORMS

        if self.spectrogram_norm not in SPECTROGRAM_NORMS:
            raise EmoInputError(
                f"unknown spectrogram normalisation {self.spectrogram_norm!r}; "
                f"choose one of {', '.join(SPECTROGRAM_NORMS)}"
            )
        if self.remainder not in ("pad", "drop"):
            raise EmoInputError(f"remainder must be 'pad' or 'drop', got {self.remainder!r}")
        if self.label_convention not in ("end", "start", "interpolate"):
            raise EmoInputError(f"unknown label convention {self.label_convention!r}")
        if self.segment_seconds <= 0 or self.min_segment_seconds < 0:
            raise EmoInputError("segment lengths must be positive")

    def to_dict(self) -> dict[str, Any]:
        """All fields, for result files and cache keys."""
        return dataclasses.asdict(self)


# ----------------------------------------------------------------------------
# Per-conversation arrays
# ----------------------------------------------------------------------------


@dataclass
class ConversationArrays:
    """Everything the models need from one conversation, on its own time axis.

    Attributes
    ----------
    conversation_id : str
    label_step : float
        Seconds per label window.
    waveform : np.ndarray [shape=(n_samples,)]
        16 kHz, z-normalised over the conversation, float32.
    spectrogram : np.ndarray [shape=(n_samples // 160, 40, 3)]
        Log mel, delta, delta-delta of the z-normalised waveform; normalised
        per band over the conversation when ``spectrogram_stats`` is given.
    labels : np.ndarray [shape=(n_windows, 2)]
        Arousal and valence per label window (0 where invalid).
    valid : np.ndarray [shape=(n_windows,)], bool
        Whether the window has a label.
    label_times : np.ndarray [shape=(n_windows,)]
        The time (s) of the label row each window was aligned to.
    compare : np.ndarray [shape=(n_windows, 6373)] or None
        ComParE functionals per label window (memory-mapped from the cache).
    spectrogram_stats : np.ndarray [shape=(2, 40, 3)] or None
        The mean and standard deviation per (band, map) that normalised the
        spectrogram (``spectrogram_norm="conversation"``), else None. With
        :func:`emo_lib.features.silent_frame` they give silence in the
        input's units.
    """

    conversation_id: str
    label_step: float
    waveform: np.ndarray
    spectrogram: np.ndarray
    labels: np.ndarray
    valid: np.ndarray
    label_times: np.ndarray
    compare: np.ndarray | None = None
    spectrogram_stats: np.ndarray | None = None

    @property
    def n_windows(self) -> int:
        """Number of label windows."""
        return int(self.labels.shape[0])

    def silence(self) -> np.ndarray:
        """The spectrogram frame of digital silence in this conversation's units, ``(40, 3)``."""
        from .features import silent_frame

        if self.spectrogram_stats is None:
            return silent_frame()
        return silent_frame(self.spectrogram_stats[0], self.spectrogram_stats[1])


def _label_target_times(n_windows: int, step: float, convention: str) -> np.ndarray:
    index = np.arange(n_windows, dtype=np.float64)
    offset = {"end": 1.0, "start": 0.0, "interpolate": 0.5}[convention]
    return (index + offset) * step


def arrays_from_audio(
    audio_16k: np.ndarray,
    label_step: float,
    config: PreprocessConfig,
    *,
    conversation_id: str = "audio",
    times: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    path: str | Path | None = None,
    isolate_compare: bool = False,
) -> ConversationArrays:
    """The model inputs (and aligned labels) of one recording, from its 16 kHz audio.

    This is the preprocessing of the module docstring, shared by training
    data (:func:`preprocess_conversation`) and prediction on any audio file
    (:func:`emo_lib.prediction.predict_audio`), so that a model always sees
    what it was trained on.

    Parameters
    ----------
    audio_16k : np.ndarray [shape=(n_samples,)]
        Mono audio at 16 kHz at its recorded level (nominally in [-1, 1]).
    label_step : float
        Seconds per label window (0.02 or 0.04).
    config : PreprocessConfig
    conversation_id : str
    times, labels : np.ndarray [shape=(n,)] and [shape=(n, 2)], optional
        Label rows (seconds; arousal and valence), aligned to the label
        windows with ``config.label_convention``. Without them the labels
        are zeros and invalid.
    path : str or pathlib.Path, optional
        The source file, named in errors.
    isolate_compare : bool
        Run openSMILE in its own process (for extraction from several threads).

    Returns
    -------
    ConversationArrays
    """
    from .audio import znormalise
    from .features import log_mel_deltas, normalise_per_band
    from .labels import align_labels

    audio_16k = np.asarray(audio_16k, dtype=np.float32)
    samples_per_window = int(round(label_step * SAMPLE_RATE))
    n_windows = len(audio_16k) // samples_per_window
    if n_windows == 0:
        raise EmoInputError(
            f"audio is shorter than one label step ({len(audio_16k) / SAMPLE_RATE:.3f} s)",
            path=path,
        )
    waveform = znormalise(audio_16k).astype(np.float32)
    spectrogram = log_mel_deltas(waveform)
    stats = None
    if config.spectrogram_norm == "conversation":
        spectrogram, mean, std = normalise_per_band(spectrogram)
        stats = np.stack([mean, std]).astype(np.float32)
    if labels is not None:
        aligned, valid = align_labels(times, labels, label_step, n_windows, convention=config.label_convention)
    else:
        aligned = np.zeros((n_windows, 2), np.float32)
        valid = np.zeros(n_windows, bool)
    compare = None
    if config.with_compare:
        from .baseline import compare_features

        compare = compare_features(audio_16k, SAMPLE_RATE, label_step, isolate=isolate_compare)[:n_windows]
        if compare.shape[0] < n_windows:
            raise EmoInputError(
                f"ComParE features cover {compare.shape[0]} of {n_windows} label windows", path=path
            )
    return ConversationArrays(
        conversation_id=conversation_id,
        label_step=label_step,
        waveform=waveform,
        spectrogram=np.asarray(spectrogram, np.float32),
        labels=np.asarray(aligned, np.float32),
        valid=np.asarray(valid, bool),
        label_times=_label_target_times(n_windows, label_step, config.label_convention),
        compare=None if compare is None else np.asarray(compare, np.float32),
        spectrogram_stats=stats,
    )


def preprocess_conversation(conversation: Conversation, config: PreprocessConfig, *,
                            isolate_compare: bool = False) -> ConversationArrays:
    """Compute the arrays of one conversation (no cache; see :func:`load_conversation_arrays`).

    Parameters
    ----------
    conversation : Conversation
    config : PreprocessConfig
    isolate_compare : bool
        Run openSMILE in its own process.

    Returns
    -------
    ConversationArrays
    """
    from .audio import load_audio

    return arrays_from_audio(
        load_audio(conversation.audio_path, SAMPLE_RATE), conversation.label_step, config,
        conversation_id=conversation.id, times=conversation.times, labels=conversation.labels,
        path=conversation.audio_path, isolate_compare=isolate_compare,
    )


def _cache_settings(conversation: Conversation, config: PreprocessConfig) -> dict[str, Any]:
    from .features import feature_settings

    stat = os.stat(conversation.audio_path)
    labels_digest = None
    if conversation.labels is not None:
        labels_digest = settings_key(
            [np.asarray(conversation.times).tolist(), np.asarray(conversation.labels).round(6).tolist()]
        )
    settings: dict[str, Any] = {
        "format": _CACHE_FORMAT,
        "corpus": conversation.corpus,
        "conversation": conversation.id,
        "audio": [str(Path(conversation.audio_path).resolve()), stat.st_size, int(stat.st_mtime)],
        "labels": labels_digest,
        "label_step": conversation.label_step,
        "label_convention": config.label_convention,
        # "none" and "train" store the same arrays (a "train" model standardises inside).
        "spectrogram_norm": "conversation" if config.spectrogram_norm == "conversation" else "none",
        "features": feature_settings(),
        "waveform": "z-normalised per conversation",
    }
    return settings


def _cache_paths(conversation: Conversation, config: PreprocessConfig, cache_dir: str | Path) -> list[Path]:
    """The cache files of one conversation's arrays (the ComParE file too when wanted)."""
    cache_dir = Path(cache_dir) / conversation.corpus
    settings = _cache_settings(conversation, config)
    paths = [cache_dir / f"{conversation.id}-{settings_key(settings)}.npz"]
    if config.with_compare:
        from .baseline import compare_settings

        compare_key = settings_key({**settings, "compare": compare_settings(conversation.label_step),
                                    "compare_input": "16 kHz audio at its recorded level"})
        paths.append(cache_dir / f"{conversation.id}-{compare_key}.compare.npy")
    return paths


def _cached(conversation: Conversation, config: PreprocessConfig, cache_dir: str | Path) -> bool:
    return all(path.exists() for path in _cache_paths(conversation, config, cache_dir))


def load_conversation_arrays(
    conversation: Conversation, config: PreprocessConfig, cache_dir: str | Path | None = None, *,
    isolate_compare: bool = False,
) -> ConversationArrays:
    """The arrays of one conversation, from the cache when present, else computed and cached.

    The cache file name is a hash of everything the arrays depend on (source
    file, its size and time stamp, the labels, the label convention, the
    spectrogram normalisation and every feature setting of
    :func:`emo_lib.features.feature_settings`); the
    ComParE features live in a separate ``.npy`` file (memory-mapped, they are
    large) keyed additionally by the openSMILE settings.

    Parameters
    ----------
    conversation : Conversation
    config : PreprocessConfig
    cache_dir : str or pathlib.Path, optional
        No caching when ``None``.
    isolate_compare : bool
        Run openSMILE in its own process (for extraction from several threads).

    Returns
    -------
    ConversationArrays
    """
    if cache_dir is None:
        return preprocess_conversation(conversation, config, isolate_compare=isolate_compare)
    paths = _cache_paths(conversation, config, cache_dir)
    main_path = paths[0]
    compare_path = paths[1] if config.with_compare else None

    if main_path.exists() and (compare_path is None or compare_path.exists()):
        stored = load_npz(main_path)
        compare = None if compare_path is None else np.load(compare_path, mmap_mode="r")
        return ConversationArrays(
            conversation_id=conversation.id,
            label_step=float(stored["label_step"]),
            waveform=stored["waveform"],
            spectrogram=stored["spectrogram"],
            labels=stored["labels"],
            valid=stored["valid"],
            label_times=stored["label_times"],
            compare=compare,
            spectrogram_stats=stored.get("spectrogram_stats"),
        )

    arrays = preprocess_conversation(conversation, config, isolate_compare=isolate_compare)
    atomic_save_npz(
        main_path,
        label_step=np.float64(arrays.label_step),
        waveform=arrays.waveform,
        spectrogram=arrays.spectrogram,
        labels=arrays.labels,
        valid=arrays.valid,
        label_times=arrays.label_times,
        **({} if arrays.spectrogram_stats is None else {"spectrogram_stats": arrays.spectrogram_stats}),
    )
    if compare_path is not None:
        with atomic_path(compare_path, suffix=".npy") as tmp:
            np.save(tmp, arrays.compare)
        arrays.compare = np.load(compare_path, mmap_mode="r")
    return arrays


# ----------------------------------------------------------------------------
# Segments
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentRef:
    """One segment: a run of label windows of one conversation.

    Attributes
    ----------
    conversation_id : str
    index : int
        Position of the segment within its conversation.
    start : int
        First label window.
    length : int
        Label windows that belong to the segment (the rest is padding).
    """

    conversation_id: str
    index: int
    start: int
    length: int


def segment_conversation(
    conversation: Conversation, n_windows: int, config: PreprocessConfig
) -> list[SegmentRef]:
    """Cut a conversation's turns into segments on the label grid.

    Parameters
    ----------
    conversation : Conversation
        Its ``turns`` give the speech regions (the whole conversation for RECOLA).
    n_windows : int
        Label windows the conversation's audio holds.
    config : PreprocessConfig

    Returns
    -------
    list of SegmentRef
        In time order; see the module docstring for the remainder policy.
    """
    step = conversation.label_step
    per_segment = int(round(config.segment_seconds / step))
    minimum = max(1, int(math.ceil(config.min_segment_seconds / step - 1e-9)))
    turns = conversation.turns or [(0.0, n_windows * step)]
    segments: list[SegmentRef] = []
    for start_s, end_s in turns:
        first = max(0, int(math.floor(start_s / step + 1e-9)))
        stop = min(n_windows, int(math.ceil(end_s / step - 1e-9)))
        position = first
        while position < stop:
            length = min(per_segment, stop - position)
            if length == per_segment or (config.remainder == "pad" and length >= minimum):
                segments.append(SegmentRef(conversation.id, len(segments), position, length))
            position += per_segment
    return segments


@dataclass
class SegmentSet:
    """A set of segments with their conversations' arrays, ready to be batched.

    Attributes
    ----------
    segments : list of SegmentRef
    arrays : dict[str, ConversationArrays]
        By conversation id.
    segment_seconds : float
    label_step : float
    """

    segments: list[SegmentRef]
    arrays: dict[str, ConversationArrays]
    segment_seconds: float
    label_step: float

    def __len__(self) -> int:
        return len(self.segments)

    @property
    def label_frames(self) -> int:
        """Label windows per segment (300 at 20 ms, 150 at 40 ms for 6 s)."""
        return int(round(self.segment_seconds / self.label_step))

    @property
    def conversation_ids(self) -> list[str]:
        """Conversations with at least one segment, in first-appearance order."""
        return list(dict.fromkeys(segment.conversation_id for segment in self.segments))

    def batch(self, indices: Iterable[int], input_names: Sequence[str] = ("waveform", "spectrogram")):
        """Stack some segments into model inputs and targets.

        Parameters
        ----------
        indices : iterable of int
            Segment positions in ``self.segments``.
        input_names : sequence of str
            Which inputs to build: ``"waveform"``, ``"spectrogram"``,
            ``"compare"``, ``"frame_mask"``.

        Returns
        -------
        inputs : dict[str, np.ndarray]
            ``"waveform"`` (n, S, 1), ``"spectrogram"`` (n, F, 40, 3),
            ``"compare"`` (n, T, 6373), ``"frame_mask"`` (n, T), float32.
            Past a segment's end (padding) the waveform and the ComParE
            features are 0, the spectrogram holds the conversation's
            :meth:`ConversationArrays.silence` and the frame mask is 0.
        targets : np.ndarray [shape=(n, T, 3)]
            Arousal, valence and the 0/1 label mask (0 for padding and for
            windows without a label).
        """
        indices = list(indices)
        n, frames_per_label = len(indices), self.label_frames
        samples_per_window = int(round(self.label_step * SAMPLE_RATE))
        spec_per_window = int(round(self.label_step / FRAME_HOP_SECONDS))
        inputs: dict[str, np.ndarray] = {}
        if "waveform" in input_names:
            inputs["waveform"] = np.zeros((n, frames_per_label * samples_per_window, 1), np.float32)
        if "spectrogram" in input_names:
            inputs["spectrogram"] = np.zeros((n, frames_per_label * spec_per_window, 40, 3), np.float32)
        if "compare" in input_names:
            inputs["compare"] = None  # allocated on first use, once its width is known
        if "frame_mask" in input_names:
            inputs["frame_mask"] = np.zeros((n, frames_per_label), np.float32)
        targets = np.zeros((n, frames_per_label, 3), np.float32)
        for row, index in enumerate(indices):
            segment = self.segments[index]
            arrays = self.arrays[segment.conversation_id]
            a, b = segment.start, segment.start + segment.length
            if "waveform" in inputs:
                piece = arrays.waveform[a * samples_per_window : b * samples_per_window]
                inputs["waveform"][row, : len(piece), 0] = piece
            if "spectrogram" in inputs:
                piece = arrays.spectrogram[a * spec_per_window : b * spec_per_window]
                inputs["spectrogram"][row, : len(piece)] = piece
                inputs["spectrogram"][row, len(piece):] = arrays.silence()
            if "compare" in input_names:
                if arrays.compare is None:
                    raise EmoInputError(
                        f"conversation {segment.conversation_id} has no ComParE features "
                        "(preprocess with with_compare=True)"
                    )
                if inputs["compare"] is None:
                    inputs["compare"] = np.zeros((n, frames_per_label, arrays.compare.shape[1]), np.float32)
                inputs["compare"][row, : segment.length] = arrays.compare[a:b]
            if "frame_mask" in inputs:
                inputs["frame_mask"][row, : segment.length] = 1.0
            targets[row, : segment.length, :2] = arrays.labels[a:b]
            targets[row, : segment.length, 2] = arrays.valid[a:b]
        return inputs, targets

    def frame_table(self) -> dict[str, np.ndarray]:
        """Conversation, segment, frame and time of every label frame, in batch order.

        Returns
        -------
        dict of np.ndarray [shape=(n_segments * T,)]
            ``conversation`` (str), ``segment`` (int), ``frame`` (int), ``time_s``
            (float: the aligned label time in the conversation, NaN for padding).
        """
        per = self.label_frames
        conversation, segment_index, frame, times = [], [], [], []
        for segment in self.segments:
            arrays = self.arrays[segment.conversation_id]
            conversation.extend([segment.conversation_id] * per)
            segment_index.extend([segment.index] * per)
            frame.extend(range(per))
            seg_times = np.full(per, np.nan)
            seg_times[: segment.length] = arrays.label_times[segment.start : segment.start + segment.length]
            times.append(seg_times)
        return {
            "conversation": np.asarray(conversation, dtype=object),
            "segment": np.asarray(segment_index, dtype=np.int64),
            "frame": np.asarray(frame, dtype=np.int64),
            "time_s": np.concatenate(times) if times else np.zeros(0),
        }


def build_segment_set(
    conversations: Sequence[Conversation],
    config: PreprocessConfig,
    cache_dir: str | Path | None = None,
    *,
    progress: bool = True,
    require_labels: bool = True,
    workers: int | None = None,
) -> SegmentSet:
    """Preprocess (or load from cache) conversations and cut them into segments.

    Parameters
    ----------
    conversations : sequence of Conversation
        All of one label step.
    config : PreprocessConfig
    cache_dir : str or pathlib.Path, optional
    progress : bool
        Show a progress bar.
    require_labels : bool
        Raise for a conversation without labels (AVEC test partition).
    workers : int, optional
        Conversations preprocessed at once (threads; openSMILE then runs in
        one process per conversation). Default: the number of CPU cores, at
        most 4.

    Returns
    -------
    SegmentSet
    """
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    if not conversations:
        raise EmoInputError("no conversations to segment")
    steps = {round(c.label_step, 6) for c in conversations}
    if len(steps) != 1:
        raise EmoInputError(f"conversations mix label steps {sorted(steps)}")
    if require_labels:
        for conversation in conversations:
            if conversation.labels is None:
                raise EmoInputError(f"conversation {conversation.id} has no labels", path=conversation.audio_path)
    workers = max(1, min(4, os.cpu_count() or 1) if workers is None else int(workers))
    workers = min(workers, len(conversations))

    def load(conversation):
        return load_conversation_arrays(conversation, config, cache_dir, isolate_compare=workers > 1)

    # A bar only when there is work to see: conversations read back from the cache take milliseconds.
    progress = progress and (cache_dir is None or not all(_cached(c, config, cache_dir) for c in conversations))
    bar = tqdm(total=len(conversations), desc="preprocessing", unit="conv", disable=not progress)
    arrays: dict[str, ConversationArrays] = {}
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(load, conversation) for conversation in conversations]
        for conversation, future in zip(conversations, futures):
            arrays[conversation.id] = future.result()
            bar.update(1)
    except BaseException:
        # A bad conversation stops the others that have not started (what finished is cached).
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        bar.close()
    pool.shutdown()
    segments: list[SegmentRef] = []
    for conversation in conversations:
        segments.extend(segment_conversation(conversation, arrays[conversation.id].n_windows, config))
    return SegmentSet(segments, arrays, config.segment_seconds, conversations[0].label_step)


# ----------------------------------------------------------------------------
# Splits and manifests
# ----------------------------------------------------------------------------


@dataclass
class Split:
    """Which conversations train, validate and test a model.

    Attributes
    ----------
    corpus : str
    method : {"random", "speaker", "partition"}
    seed : int
    train, validation, test : list of str
        Conversation ids.
    test_fraction, validation_fraction : float
    """

    corpus: str
    method: str
    seed: int
    train: list[str]
    validation: list[str]
    test: list[str]
    test_fraction: float = 0.3
    validation_fraction: float = 0.2
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The manifest content."""
        return dataclasses.asdict(self)

    def select(self, corpus: Corpus, part: str) -> list[Conversation]:
        """The conversations of one part (``"train"``, ``"validation"``, ``"test"``)."""
        ids = getattr(self, part)
        by_id = {c.id: c for c in corpus.conversations}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise EmoInputError(
                f"the split names conversations the corpus does not have: {', '.join(missing[:5])}",
                path=corpus.root,
            )
        return [by_id[i] for i in ids]


def _take_fraction(groups: list[str], fraction: float, rng: np.random.Generator) -> set[str]:
    order = list(rng.permutation(len(groups)))
    count = min(len(groups) - 1, max(1, int(round(fraction * len(groups)))))
    return {groups[i] for i in order[:count]}


def split_conversations(
    corpus: Corpus,
    method: str = "random",
    *,
    test_fraction: float = 0.3,
    validation_fraction: float = 0.2,
    seed: int = 0,
) -> Split:
    """Split a corpus's conversations into train, validation and test parts.

    Parameters
    ----------
    corpus : Corpus
    method : {"random", "speaker", "partition"}
        ``"random"``: the paper's random 70/30 split of conversations (one
        speaker may appear in train and test). ``"speaker"``: whole speakers go
        to one side (speaker-independent). ``"partition"``: the AVEC 2016
        partitions, training on ``train`` and testing on ``dev`` (the only
        labelled held-out part).
    test_fraction : float
        Share of conversations (or speakers) in the test part.
    validation_fraction : float
        Share of the training conversations (or speakers) held out for validation.
    seed : int

    Returns
    -------
    Split
    """
    if method not in SPLIT_METHODS:
        raise EmoInputError(f"unknown split method {method!r}; choose one of {', '.join(SPLIT_METHODS)}")
    labelled = [c for c in corpus.conversations if c.labels is not None]
    rng = np.random.default_rng(seed)
    if method == "partition":
        train_pool = [c for c in labelled if c.partition == "train"]
        test = [c.id for c in labelled if c.partition == "dev"]
        if not train_pool or not test:
            raise EmoInputError(
                "the partition split needs labelled 'train' and 'dev' conversations (AVEC 2016 layout)",
                path=corpus.root,
            )
    else:
        key = (lambda c: c.speaker) if method == "speaker" else (lambda c: c.id)
        groups = sorted({key(c) for c in labelled})
        if len(groups) < 3:
            raise EmoInputError(
                f"a {method} split needs at least 3 {'speakers' if method == 'speaker' else 'conversations'}, "
                f"the corpus has {len(groups)}",
                path=corpus.root,
            )
        test_groups = _take_fraction(groups, test_fraction, rng)
        test = [c.id for c in labelled if key(c) in test_groups]
        train_pool = [c for c in labelled if key(c) not in test_groups]
    key = (lambda c: c.speaker) if method == "speaker" else (lambda c: c.id)
    pool_groups = sorted({key(c) for c in train_pool})
    if len(pool_groups) < 2:
        raise EmoInputError("too few training conversations to carve a validation part", path=corpus.root)
    validation_groups = _take_fraction(pool_groups, validation_fraction, rng)
    validation = [c.id for c in train_pool if key(c) in validation_groups]
    train = [c.id for c in train_pool if key(c) not in validation_groups]
    return Split(
        corpus=corpus.name,
        method=method,
        seed=seed,
        train=sorted(train),
        validation=sorted(validation),
        test=sorted(test),
        test_fraction=test_fraction,
        validation_fraction=validation_fraction,
    )


def write_manifest(split: Split, path: str | Path, **extra: Any) -> Path:
    """Write a split (and any extra facts, such as segment counts) to a JSON manifest, atomically."""
    content = split.to_dict()
    content["extra"] = {**content.get("extra", {}), **extra}
    content["emo_lib_version"] = __version__
    return atomic_write_json(path, content)


def read_manifest(path: str | Path) -> Split:
    """Read a split manifest written by :func:`write_manifest`."""
    path = Path(path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EmoInputError("split manifest not found", path=path) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise EmoInputError(f"not a split manifest ({error})", path=path) from None
    fields = {f.name for f in dataclasses.fields(Split)}
    missing = {"corpus", "method", "seed", "train", "validation", "test"} - set(content)
    if missing:
        raise EmoInputError(f"split manifest lacks {', '.join(sorted(missing))}", path=path)
    return Split(**{k: v for k, v in content.items() if k in fields})
