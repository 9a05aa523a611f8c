"""Reader for RECOLA as packaged for the AVEC 2016 challenge.

Expected layout (only these parts are read)::

    <root>/recordings_audio/{train,dev,test}_{k}.wav
    <root>/ratings_gold_standard/{arousal,valence}/{train,dev}_{k}.arff
    <root>/ratings_individual/{arousal,valence}/{train,dev}_{k}.csv    (optional)

The gold-standard ARFF files are read with liac-arff, which takes the AVEC
quirks in its stride: CRLF line endings, blank lines, unquoted instance names,
values in exponent form. Their ``frameTime`` column gives the times and the
last numeric column (``GoldStandard``) the labels; they are used as published,
so the ``gold`` argument only applies to the other readers. The individual
ratings, when present, use the RECOLA CSV format
(:func:`emo_lib.corpora.recola.read_rating_csv`) and fill
``Conversation.raters``; without them ``raters`` is empty.

Only train and dev carry labels. Test conversations get ``labels=None`` and
``times`` on the 40 ms grid covering their audio (0, 0.04, ..., up to the
duration); a ``test_k.arff`` in the folder, if any, is not read. The mapping from ``train_k`` to a RECOLA participant is not
published, so ``speaker`` is the conversation id.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import arff
import numpy as np

from ..errors import EmoInputError
from .base import Conversation, Corpus
from ._common import (
    audio_duration,
    check_audio_covers,
    check_gold,
    check_label_step,
    check_same_times,
    files_with_suffix,
    require_dir,
    require_file,
    run_readers,
)
from .recola import RECOLA_LABEL_STEP, read_rating_csv, read_rating_csv_header

__all__ = ["PARTITIONS", "ArffLabels", "read_gold_arff", "read_avec2016"]

PARTITIONS = ("train", "dev", "test")
"""AVEC 2016 partitions, in order; only train and dev have labels."""

_LABELLED = ("train", "dev")
_NAME = re.compile(r"^(train|dev|test)_(\d+)$")
_LAYOUT = (
    "expected the AVEC 2016 RECOLA layout: <root>/recordings_audio/{train,dev,test}_k.wav and "
    "<root>/ratings_gold_standard/{arousal,valence}/{train,dev}_k.arff"
)


@dataclass
class ArffLabels:
    """The content of one AVEC gold-standard ARFF file.

    Attributes
    ----------
    path : pathlib.Path
        The file read.
    times : np.ndarray [shape=(T,)]
        ``frameTime`` column, seconds (float64).
    values : np.ndarray [shape=(T,)]
        Gold-standard column (float64).
    """

    path: Path
    times: np.ndarray
    values: np.ndarray


def read_gold_arff(path: str | Path) -> ArffLabels:
    """Read an AVEC gold-standard ARFF file.

    Parameters
    ----------
    path : str or pathlib.Path
        An ARFF file with a string instance name, a numeric time attribute
        (``frameTime``) and a numeric value attribute (``GoldStandard``, the
        last numeric one), e.g. rows ``dev_1,0.04,-1.2e-03``.

    Returns
    -------
    ArffLabels
        Times and values, float64, shape (T,).

    Raises
    ------
    EmoInputError
        Missing file, a malformed or truncated ARFF (liac-arff's message is
        kept), no time or value attribute, no data rows, missing (``?``) or
        NaN values.
    """
    path = Path(path)
    require_file(path, "gold-standard file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise EmoInputError("not a text ARFF file", path=path) from None
    try:
        data = arff.load(text)
    except arff.ArffException as error:
        raise EmoInputError(f"malformed or truncated ARFF file ({error})", path=path) from None
    except (ValueError, IndexError, TypeError) as error:
        raise EmoInputError(f"malformed or truncated ARFF file ({error})", path=path) from None
    attributes = data.get("attributes", [])
    numeric = [
        i
        for i, (_, kind) in enumerate(attributes)
        if isinstance(kind, str) and kind.upper() in ("NUMERIC", "REAL", "INTEGER")
    ]
    time_columns = [i for i in numeric if "time" in attributes[i][0].lower()]
    value_columns = [i for i in numeric if i not in time_columns]
    if not time_columns or not value_columns:
        names = ", ".join(name for name, _ in attributes) or "none"
        raise EmoInputError(
            "expected a numeric time attribute (frameTime) and a numeric gold-standard "
            f"attribute; found {names}",
            path=path,
        )
    rows = data.get("data", [])
    if not rows:
        raise EmoInputError("no data rows after @data (truncated file?)", path=path)
    time_index, value_index = time_columns[0], value_columns[-1]
    try:
        table = np.array(
            [[row[time_index], row[value_index]] for row in rows], dtype=object
        ).astype(np.float64)
    except (IndexError, TypeError, ValueError) as error:
        raise EmoInputError(f"malformed data rows ({error})", path=path) from None
    if not np.all(np.isfinite(table)):
        bad = int(np.argwhere(~np.isfinite(table))[0, 0]) + 1
        raise EmoInputError(
            f"missing, NaN or infinite values in the data (first at data row {bad})", path=path
        )
    return ArffLabels(path=path, times=table[:, 0].copy(), values=table[:, 1].copy())


def _named_files(folder: Path, suffix: str) -> dict[str, Path]:
    """Stem -> path of the ``<partition>_<k><suffix>`` files in ``folder`` (none if missing)."""
    files = files_with_suffix(folder, "*", suffix)
    return {stem: path for stem, path in files.items() if _NAME.match(stem)}


def _sort_key(conversation_id: str) -> tuple[int, int]:
    match = _NAME.match(conversation_id)
    return PARTITIONS.index(match.group(1)), int(match.group(2))


@dataclass
class _AvecConversation:
    id: str
    partition: str
    audio_path: Path
    gold_paths: dict[str, Path]
    rating_paths: dict[str, Path]
    duration: float = 0.0

    def check(self) -> None:
        self.duration = audio_duration(self.audio_path)
        for path in self.gold_paths.values():
            require_file(path, "gold-standard file")
        for path in self.rating_paths.values():
            read_rating_csv_header(path)

    def _test_times(self) -> np.ndarray:
        count = int(np.floor(self.duration / RECOLA_LABEL_STEP + 1e-6)) + 1
        return np.round(np.arange(count) * RECOLA_LABEL_STEP, 6)

    @staticmethod
    def _ratings(path: Path, times: np.ndarray, gold_name: str) -> np.ndarray:
        table = read_rating_csv(path)
        if table.times.shape[0] != times.shape[0]:
            raise EmoInputError(
                f"{table.times.shape[0]} rating rows but {times.shape[0]} gold-standard rows "
                f"in {gold_name}",
                path=path,
            )
        if np.any(np.abs(table.times - times) > 0.5 * RECOLA_LABEL_STEP):
            raise EmoInputError(f"rating times differ from those of {gold_name}", path=path)
        return table.values.astype(np.float32)

    def read(self) -> Conversation:
        times: np.ndarray
        labels: np.ndarray | None = None
        raters: dict[str, np.ndarray] = {}
        if self.partition in _LABELLED:
            arousal = read_gold_arff(self.gold_paths["arousal"])
            valence = read_gold_arff(self.gold_paths["valence"])
            check_label_step(arousal.times, RECOLA_LABEL_STEP, arousal.path)
            check_label_step(valence.times, RECOLA_LABEL_STEP, valence.path)
            check_same_times(
                arousal.times, arousal.path, valence.times, valence.path, RECOLA_LABEL_STEP
            )
            check_audio_covers(self.audio_path, self.duration, arousal.times, RECOLA_LABEL_STEP)
            times = arousal.times
            labels = np.stack([arousal.values, valence.values], axis=1).astype(np.float32)
            for dim, path in self.rating_paths.items():
                raters[dim] = self._ratings(path, times, self.gold_paths[dim].name)
        else:
            times = self._test_times()
        return Conversation(
            id=self.id,
            corpus="recola-avec2016",
            speaker=self.id,
            audio_path=self.audio_path,
            label_step=RECOLA_LABEL_STEP,
            times=times,
            labels=labels,
            raters=raters,
            turns=[(0.0, self.duration)],
            partition=self.partition,
            words=[],
            audio_duration=self.duration,
        )


def read_avec2016(root: str | Path, *, gold: str = "mean", skip_bad: bool = False) -> Corpus:
    """Read RECOLA as packaged for AVEC 2016.

    Parameters
    ----------
    root : str or pathlib.Path
        The folder holding ``recordings_audio`` and ``ratings_gold_standard``.
    gold : {"mean", "ccc_centred"}
        Checked for consistency with the other readers; the published ARFF
        gold standard is used as it is.
    skip_bad : bool
        Leave bad conversations out (recorded in ``Corpus.skipped``, with a
        warning) instead of raising.

    Returns
    -------
    Corpus
        Conversations ``train_1`` ... ``test_9`` with ``partition`` set, 40 ms
        label step; ``labels`` (T, 2) for train and dev, ``None`` for test;
        ``raters`` (R, T) per dimension when ``ratings_individual`` is present.

    Raises
    ------
    EmoInputError
        Missing root or sub-folder, missing audio or gold-standard file,
        unusable audio, a malformed or truncated ARFF, an unexpected CSV
        header, NaN values, arousal and valence of unequal lengths, labels
        that run past the audio by more than one label step.
    """
    check_gold(gold)
    root = Path(root)
    require_dir(root, _LAYOUT)
    audio_dir = require_dir(root / "recordings_audio", _LAYOUT)
    gold_dirs = {
        dim: require_dir(root / "ratings_gold_standard" / dim, _LAYOUT)
        for dim in ("arousal", "valence")
    }
    rating_dirs = {dim: root / "ratings_individual" / dim for dim in ("arousal", "valence")}

    audio = _named_files(audio_dir, ".wav")
    gold_files = {dim: _named_files(folder, ".arff") for dim, folder in gold_dirs.items()}
    rating_files = {dim: _named_files(folder, ".csv") for dim, folder in rating_dirs.items()}
    labelled = {stem for files in gold_files.values() for stem in files if stem[:5] != "test_"}
    ids = sorted(set(audio) | labelled, key=_sort_key)
    if not ids:
        raise EmoInputError(
            f"no {{train,dev,test}}_k.wav recordings found; {_LAYOUT}", path=audio_dir
        )

    pending: list[_AvecConversation] = []
    for cid in ids:
        partition = _NAME.match(cid).group(1)
        gold_paths: dict[str, Path] = {}
        rating_paths: dict[str, Path] = {}
        if partition in _LABELLED:
            gold_paths = {
                dim: gold_files[dim].get(cid, gold_dirs[dim] / f"{cid}.arff") for dim in gold_dirs
            }
            found = {dim: files[cid] for dim, files in rating_files.items() if cid in files}
            if len(found) == 2:
                rating_paths = found
            elif found:
                (dim, path), = found.items()
                other = "valence" if dim == "arousal" else "arousal"
                warnings.warn(
                    f"{path}: individual {other} ratings of {cid} are missing; raters left empty",
                    UserWarning,
                    stacklevel=2,
                )
        pending.append(
            _AvecConversation(
                id=cid,
                partition=partition,
                audio_path=audio.get(cid, audio_dir / f"{cid}.wav"),
                gold_paths=gold_paths,
                rating_paths=rating_paths,
            )
        )
    return run_readers("recola-avec2016", root, pending, [], skip_bad)
