"""The project's exception type for bad input.

Every reader, preprocessing step and command raises :class:`EmoInputError`
when a file, an array or an argument cannot be used. The message names the
file (when there is one) and says what is wrong, so that the command line can
print it as a single line.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["EmoInputError"]


class EmoInputError(ValueError):
    """Bad input: a file, array or argument the project cannot use.

    Parameters
    ----------
    message : str
        What is wrong, in plain words.
    path : str or pathlib.Path, optional
        The file concerned. When given, the message starts with it.

    Examples
    --------
    >>> str(EmoInputError("not a WAV file", path="talk.wav"))
    'talk.wav: not a WAV file'
    """

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = None if path is None else Path(path)
        self.reason = message
        super().__init__(message if path is None else f"{path}: {message}")
