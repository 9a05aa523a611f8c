"""emo_lib: continuous arousal and valence from waveforms and spectrograms.

A reproduction of Yang & Hirschberg (Interspeech 2018), "Predicting Arousal and
Valence from Waveforms and Spectrograms using Deep Neural Networks".
"""

import os as _os

# Keep TensorFlow's start-up chatter out of the command line and the notebooks.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

from .errors import EmoInputError  # noqa: E402

__all__ = ["EmoInputError", "__version__"]
