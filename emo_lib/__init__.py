"""emo_lib: continuous arousal and valence from waveforms and spectrograms.

A reproduction of Yang & Hirschberg (Interspeech 2018), "Predicting Arousal and
Valence from Waveforms and Spectrograms using Deep Neural Networks".

Messages
--------
The library logs through the :mod:`logging` logger ``"emo_lib"`` (progress at
INFO, details at DEBUG) and adds no handler of its own: the ``emo`` command line
shows its warnings by default, its INFO messages with ``-v`` and its DEBUG
messages with ``-vv``.

TensorFlow's C++ messages are filtered by the environment variable
``TF_CPP_MIN_LOG_LEVEL``. Unless it is already set, importing emo_lib (before
TensorFlow) sets it to ``"1"``: warnings and errors (a GPU library that cannot
be loaded, a device that cannot be used) are shown, informational lines are
not. Set it to ``"0"`` to see everything, ``"2"`` for errors only. (A few
informational lines that TensorFlow prints while it is imported, before its
logging starts, ignore the setting; the command line filters them out.)
"""

import logging as _logging
import os as _os

_tf_log_level_set_by_user = "TF_CPP_MIN_LOG_LEVEL" in _os.environ
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

__version__ = "0.1.0"

_logging.getLogger(__name__).addHandler(_logging.NullHandler())

from .errors import EmoInputError  # noqa: E402

__all__ = ["EmoInputError", "__version__"]
