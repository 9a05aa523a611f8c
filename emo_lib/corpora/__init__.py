"""Corpus readers: SEMAINE Solid-SAL, RECOLA (original release), RECOLA AVEC 2016 and a generic layout.

Each reader turns a corpus folder into a :class:`Corpus` of
:class:`Conversation` records (labels, rater traces, turns, audio path); it
reads audio headers only, never the samples. :func:`load_corpus` picks the
reader by name. The file formats and their quirks are described in the
modules :mod:`~emo_lib.corpora.semaine`, :mod:`~emo_lib.corpora.recola` and
:mod:`~emo_lib.corpora.avec2016`; :mod:`~emo_lib.corpora.generic` describes the
generic layout (a folder of WAV files and, per file, a CSV of
``time,arousal,valence``) in which a corpus of one's own is read.

Every reader validates all conversations (files present, audio headers, label
file headers) before it parses any label file, and raises
:class:`~emo_lib.errors.EmoInputError` naming the file and the problem. With
``skip_bad=True`` a bad conversation is left out instead, recorded in
``Corpus.skipped`` and warned about.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import EmoInputError
from .avec2016 import read_avec2016
from .base import DIMENSIONS, Conversation, Corpus
from .generic import read_generic
from .recola import GOLD_METHODS, read_recola
from .semaine import read_semaine

__all__ = ["Conversation", "Corpus", "DIMENSIONS", "CORPUS_NAMES", "GOLD_METHODS", "load_corpus"]

_READERS = {
    "semaine": read_semaine,
    "recola": read_recola,
    "recola-avec2016": read_avec2016,
    "generic": read_generic,
}

CORPUS_NAMES = tuple(_READERS)
"""Names accepted by :func:`load_corpus`: ``"semaine"``, ``"recola"``, ``"recola-avec2016"``, ``"generic"``."""


def load_corpus(
    name: str, root: str | Path, *, gold: str = "mean", skip_bad: bool = False
) -> Corpus:
    """Read a corpus folder.

    Parameters
    ----------
    name : {"semaine", "recola", "recola-avec2016", "generic"}
        Which layout ``root`` holds.
    root : str or pathlib.Path
        The corpus folder (``Sessions/`` for SEMAINE, ``RECOLA-Audio-recordings/``
        and ``RECOLA-Annotation/`` for RECOLA, ``recordings_audio/`` and
        ``ratings_gold_standard/`` for AVEC 2016, ``audio/`` and ``labels/``
        for the generic layout).
    gold : {"mean", "ccc_centred"}
        How raters are fused into the gold standard (SEMAINE and RECOLA; the
        AVEC 2016 package and the generic layout hold a gold standard
        already, used as it is).
    skip_bad : bool
        Leave bad conversations out, record them in ``Corpus.skipped`` and warn,
        instead of raising.

    Returns
    -------
    Corpus
        Conversations sorted by id; ``labels`` (T, 2) float32 in
        :data:`DIMENSIONS` order.

    Raises
    ------
    EmoInputError
        Unknown name or gold method, or any bad file (see the readers).

    Examples
    --------
    >>> load_corpus("iemocap", ".")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    emo_lib.errors.EmoInputError: unknown corpus 'iemocap'; expected one of semaine, recola, ...
    """
    reader = _READERS.get(name)
    if reader is None:
        raise EmoInputError(f"unknown corpus {name!r}; expected one of {', '.join(CORPUS_NAMES)}")
    return reader(root, gold=gold, skip_bad=skip_bad)
