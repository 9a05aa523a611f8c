"""openSMILE ComParE 2016 functionals on sliding 1 s windows: the features of the baseline.

The paper's baseline (section 5.1) feeds a BLSTM with the 6,373 ComParE 2016
functionals computed on 1 s windows moved by the label step (20 ms for SEMAINE,
40 ms for RECOLA). :func:`compare_features` computes them with a single
openSMILE run per signal: the ``opensmile`` package accepts an include file
through ``options={"frameModeFunctionalsConf": <absolute path>}`` that switches
every functionals component from one vector per signal (``frameMode = full``)
to fixed windows (``frameMode = fixed``, ``frameSize``, ``frameStep``). The
package injects its own include file unless that option is given, which is
why editing its configuration files has no effect (opensmile-python issues
14, 16, 42 and 122). :func:`compare_features_per_window` is the plain, slow
reference: one ``process_signal`` call per window.

Rows and label windows
----------------------
Row ``i`` of the result belongs to label window ``i``, the audio
``[i * step_s, (i + 1) * step_s)``; these are the windows of
:func:`emo_lib.labels.align_labels`, whose default convention puts the label
of window ``i`` at time ``(i + 1) * step_s``. A signal of ``duration`` seconds
gives ``floor(duration / step_s)`` rows; a trailing part shorter than one step
has no row.

The feature window of row ``i`` has length ``window_s`` and is placed by
``alignment``:

``"end"`` (default, causal)
    It ends where the label window ends: ``[(i + 1) * step_s - window_s,
    (i + 1) * step_s)``.
``"centre"``
    It is centred on the label window's centre ``(i + 0.5) * step_s``:
    ``[(i + 0.5) * step_s - window_s / 2, (i + 0.5) * step_s + window_s / 2)``.

Edges: the audio is padded with digital silence (zeros) before 0 s and after
its end, so every row has a full window; windows that stick out of the
recording see silence there (with ``"end"`` the first ``window_s / step_s - 1``
rows, with ``"centre"`` the first and last ``window_s / (2 step_s)`` rows or
so). The rows are those of the same recording preceded and followed by
silence (the tests check it; the voicing descriptors, see below, differ a
little). openSMILE gives finite ComParE functionals for digital silence.

What a window contains, exactly: openSMILE computes low-level descriptors
(LLDs) on frames every 10 ms over the whole (padded) signal, once, and row
``i`` holds the functionals of those contours over the ``window_s / 0.01``
frames whose start lies in row ``i``'s window (the tests check this against
openSMILE's LLD output averaged in NumPy). The frames are 20 ms long (60 ms
for the voicing descriptors and the zero-crossing rate), the contours are
smoothed over 3 frames and their deltas span 5, so a window reaches up to
about 80 ms past its nominal end and 30 ms before its start. Two kinds of
descriptors carry context from further away: the voicing descriptors (F0,
voicing probability, jitter, shimmer, HNR: 6 of the 65 LLDs, 473 columns)
come from a Viterbi F0 smoother whose path depends on the surrounding audio,
and the RASTA-filtered auditory spectrum (``audSpec_Rfilt``,
``audspecRasta``) is a recursive filter with a memory of several hundred
milliseconds. "Causal" and "1 s" are therefore meant in openSMILE's frame
sense, which is how the baseline is usually described.

Other choices
-------------
* Sample rate: any; the signal is resampled to 16 kHz first with
  :func:`emo_lib.audio.resample`, so the features match the waveform the
  models see.
* Amplitude: openSMILE reads 16-bit integers; samples are clipped to
  ``[-1, 32767 / 32768]`` before the conversion (the ``opensmile`` package
  multiplies by 32768 and casts, so a sample of 1.5 would otherwise wrap
  around to a negative value).
* Non-finite outputs: none were seen (digital silence, DC, a full-scale
  square wave, a single click, least-significant-bit noise, clipped noise),
  but a NaN or infinite value would be replaced by 0, with a
  ``RuntimeWarning`` that counts them, so that one odd window cannot poison
  the standardiser.
* Windowed call versus one call per window: the windowed call computes the
  LLDs once over the whole signal; :func:`compare_features_per_window`
  recomputes them from each 1 s cut, without context for the edge frames,
  the smoothing, the deltas, the Viterbi smoother or the RASTA filter. The two
  are close, not equal. On a minute of synthetic speech (40 ms step, 60 rows
  compared) the Pearson correlation between a row's two 6,373-vectors has a
  median of 1.0000 and a minimum of 0.96, but that figure is set by the few
  features with values up to 1e9; feature by feature, the correlation across
  rows has a median of 0.88 (the voicing descriptors 0.5-0.7, the spectral
  ones about 0.97), and a quarter of the values agree within 1 %. The
  windowed call is the one used for the baseline: it is more than ten times
  faster (13x to 27x in runs on a busy 2-core machine) and its rows are
  exact windows of one set of contours.
"""

from __future__ import annotations

import math
import numbers
import sys
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .config import SAMPLE_RATE
from .errors import EmoInputError
from .io import atomic_write_text

__all__ = [
    "COMPARE_DIM",
    "ALIGNMENTS",
    "compare_settings",
    "compare_feature_names",
    "compare_features",
    "compare_features_per_window",
]

COMPARE_DIM = 6373
"""Number of ComParE 2016 functionals per window."""

ALIGNMENTS = ("end", "centre")
"""Placements of the feature window relative to its label window."""

_LLD_HOP_S = 0.01
"""Hop of openSMILE's ComParE low-level descriptor frames (10 ms)."""

_TRAILING_PAD_S = 0.5
"""Silence added after the last feature window so that openSMILE emits it.

It must exceed the reach of the last LLD frames past the window end (frame
length 60 ms, smoothing and delta context); 0.5 s also covers the Viterbi F0
smoother's buffer.
"""

_FEATURE_REVISION = 1
"""Bumped whenever this module's output changes for the same settings."""


# ---------------------------------------------------------------------------
# Settings and validation
# ---------------------------------------------------------------------------


def _as_frames(seconds: Any, name: str) -> int:
    """A duration in seconds as a whole, positive number of 10 ms LLD frames."""
    if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real):
        raise EmoInputError(f"{name} must be a number of seconds, got {seconds!r}")
    seconds = float(seconds)
    if not math.isfinite(seconds) or seconds <= 0:
        raise EmoInputError(f"{name} must be positive, got {seconds!r}")
    frames = round(seconds / _LLD_HOP_S)
    if frames < 1 or abs(frames * _LLD_HOP_S - seconds) > 1e-9:
        raise EmoInputError(
            f"{name} must be a multiple of openSMILE's 10 ms frame hop, got {seconds!r}"
        )
    return frames


def _check_alignment(alignment: Any) -> str:
    if alignment not in ALIGNMENTS:
        raise EmoInputError(
            f"unknown alignment {alignment!r}; choose one of {', '.join(ALIGNMENTS)}"
        )
    return alignment


def _window_plan(step_s: float, window_s: float, alignment: str) -> tuple[int, int, int]:
    """Step, window and row-0 window start, in 10 ms LLD frames.

    Returns
    -------
    step : int
        Label step in LLD frames.
    window : int
        Feature window in LLD frames.
    first_start_2x : int
        Twice the start of row 0's feature window, relative to 0 s of the
        signal, in LLD frames (twice so that a centred window's half step is
        exact); negative when the window starts before the signal.
    """
    step = _as_frames(step_s, "step_s")
    window = _as_frames(window_s, "window_s")
    if window < 10:
        raise EmoInputError(f"window_s must be at least 0.1 s, got {window_s!r}")
    alignment = _check_alignment(alignment)
    if alignment == "end":
        first_start_2x = 2 * (step - window)
    else:
        first_start_2x = step - window
        if first_start_2x % 2:
            raise EmoInputError(
                f"a centred {window_s} s window around {step_s} s steps does not start on "
                "openSMILE's 10 ms frame grid; use a step and window whose difference is a "
                "multiple of 20 ms"
            )
    return step, window, first_start_2x


def compare_settings(step_s: float, window_s: float = 1.0, alignment: str = "end") -> dict:
    """Everything the features of :func:`compare_features` depend on, for cache keys.

    Parameters
    ----------
    step_s : float
        Label step in seconds (0.02 or 0.04).
    window_s : float
        Feature window in seconds.
    alignment : {"end", "centre"}
        Placement of the feature window (see the module docstring).

    Returns
    -------
    dict
        JSON-able: feature set, level, window, step, alignment, sample rate,
        edge padding, handling of non-finite values, the opensmile package
        version and this module's feature revision. Pass it to
        :func:`emo_lib.io.settings_key`.
    """
    import opensmile

    _window_plan(step_s, window_s, alignment)
    return {
        "feature_set": "ComParE_2016",
        "feature_level": "Functionals",
        "dim": COMPARE_DIM,
        "step_s": float(step_s),
        "window_s": float(window_s),
        "alignment": alignment,
        "sample_rate": SAMPLE_RATE,
        "edges": "zero-padded",
        "nonfinite": "zero",
        "clip": "int16",
        "opensmile": opensmile.__version__,
        "revision": _FEATURE_REVISION,
    }


def _prepare_signal(signal: Any, sample_rate: Any, source: Any) -> np.ndarray:
    """Check a mono signal and return it as float32 at 16 kHz, clipped for 16-bit."""
    whole = isinstance(sample_rate, numbers.Integral) or (
        isinstance(sample_rate, numbers.Real) and float(sample_rate).is_integer()
    )
    if isinstance(sample_rate, bool) or not whole or sample_rate <= 0:
        raise EmoInputError(
            f"sample_rate must be a positive whole number of Hz, got {sample_rate!r}", path=source
        )
    sample_rate = int(sample_rate)
    try:
        array = np.asarray(signal)
    except Exception as error:  # ragged lists and the like
        raise EmoInputError(f"signal is not an array: {error}", path=source) from None
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if array.ndim != 1:
        raise EmoInputError(
            f"signal must be mono, shape (samples,), got shape {array.shape}", path=source
        )
    if array.size == 0:
        raise EmoInputError("signal is empty", path=source)
    if not np.issubdtype(array.dtype, np.floating):
        raise EmoInputError(
            f"signal must be floating point in [-1, 1], got dtype {array.dtype}", path=source
        )
    array = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(array)):
        raise EmoInputError("signal contains NaN or infinite samples", path=source)
    if sample_rate != SAMPLE_RATE:
        from .audio import resample

        array = np.asarray(resample(array, sample_rate, SAMPLE_RATE), dtype=np.float32)
    # openSMILE's Python wrapper multiplies by 32768 and casts to int16.
    return np.clip(array, -1.0, 32767.0 / 32768.0)


def _padded(
    signal: np.ndarray, step_s: float, window_s: float, alignment: str, source: Any
) -> tuple[np.ndarray, int, int, int, int]:
    """Zero-pad a 16 kHz signal so that openSMILE's window ``i`` is row ``i``.

    Returns
    -------
    padded : np.ndarray [shape=(samples,)]
        The signal with silence before and after.
    n_rows : int
        Number of label windows, ``floor(duration / step_s)``.
    step, window : int
        Step and window in 10 ms LLD frames.
    offset : int
        Index of openSMILE's window that is row 0 (0 unless the window
        starts after 0 s of the signal).
    """
    step, window, first_start_2x = _window_plan(step_s, window_s, alignment)
    hop = round(_LLD_HOP_S * SAMPLE_RATE)
    n_rows = signal.size // (step * hop)
    if n_rows < 1:
        raise EmoInputError(
            f"signal too short: {signal.size / SAMPLE_RATE:.4f} s at 16 kHz is less than "
            f"one {step_s} s label step",
            path=source,
        )
    # Row i's window starts at first_start + i * step (LLD frames, signal time).
    # openSMILE's fixed windows start at k * step of the padded signal, so a
    # lead of -first_start frames (rounded up to make first_start + lead a
    # multiple of step) makes openSMILE's window offset + i row i.
    first_start = first_start_2x // 2
    lead = max(0, -first_start)
    misfit = (first_start + lead) % step
    if misfit:
        lead += step - misfit
    last_end = first_start + lead + (n_rows - 1) * step + window
    total = last_end * hop + round(_TRAILING_PAD_S * SAMPLE_RATE)
    padded = np.zeros(max(total, lead * hop + signal.size), dtype=np.float32)
    padded[lead * hop : lead * hop + signal.size] = signal
    offset = (first_start + lead) // step
    return padded, n_rows, step, window, offset


_SMILES: dict[tuple[int, int] | None, Any] = {}
_SMILES_LOCK = threading.Lock()
_INCLUDE_DIR: tempfile.TemporaryDirectory | None = None


def _functionals_include(step: int, window: int) -> Path:
    """Write (once per process) the include file that turns on fixed functionals windows.

    The file lives in a temporary folder removed when the interpreter exits;
    openSMILE reads it at every run, so it is rewritten if it disappeared.
    """
    global _INCLUDE_DIR
    if _INCLUDE_DIR is None or not Path(_INCLUDE_DIR.name).is_dir():
        _INCLUDE_DIR = tempfile.TemporaryDirectory(prefix="emo_lib_opensmile_")
    path = Path(_INCLUDE_DIR.name).resolve() / f"FrameModeFunctionals_{step}x{window}.conf.inc"
    text = (
        "; fixed sliding windows for every functionals component (sizes in seconds)\n"
        "frameMode = fixed\n"
        f"frameSize = {window * _LLD_HOP_S:.2f}\n"
        f"frameStep = {step * _LLD_HOP_S:.2f}\n"
        "frameCenterSpecial = left\n"
    )
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        atomic_write_text(path, text)
    return path


def _smile(frames: tuple[int, int] | None = None):
    """The ComParE 2016 functionals extractor, cached per process.

    Parameters
    ----------
    frames : (step, window) in 10 ms LLD frames, optional
        Sliding windows; ``None`` gives openSMILE's one vector per signal.
    """
    import opensmile

    with _SMILES_LOCK:
        options = None
        if frames is not None:
            options = {"frameModeFunctionalsConf": str(_functionals_include(*frames))}
        smile = _SMILES.get(frames)
        if smile is None:
            smile = opensmile.Smile(
                feature_set=opensmile.FeatureSet.ComParE_2016,
                feature_level=opensmile.FeatureLevel.Functionals,
                options=options,
            )
            _SMILES[frames] = smile
        return smile


def _process_in_this_process(frames: tuple[int, int] | None, signals: list[np.ndarray]):
    smile = _smile(frames)
    results = []
    for signal in signals:
        frame = smile.process_signal(signal, SAMPLE_RATE)
        starts = frame.index.get_level_values("start").total_seconds().to_numpy()
        results.append((frame.to_numpy(dtype=np.float32), starts))
    return results


def _worker_main(request: str, reply: str) -> None:
    """Entry point of the openSMILE worker process (see :func:`_process_signals`)."""
    data = np.load(request, allow_pickle=False)
    frames = None if data["frames"].size == 0 else tuple(int(v) for v in data["frames"])
    signals = [data[f"signal{i}"] for i in range(int(data["count"]))]
    arrays = {}
    for i, (values, starts) in enumerate(_process_in_this_process(frames, signals)):
        arrays[f"values{i}"], arrays[f"starts{i}"] = values, starts
    np.savez(reply, **arrays)


def _process_signals(frames: tuple[int, int] | None, signals: list[np.ndarray], *, isolate: bool = False):
    """Run openSMILE on 16 kHz signals: ``[(values (rows, 6373), window starts (rows,) s), ...]``.

    openSMILE's native library corrupts the heap (``malloc(): invalid size``)
    when it runs in a process that has loaded TensorFlow. In such a process,
    or with ``isolate`` (several extractions running at once from threads),
    the extraction runs in a fresh Python process (no TensorFlow in it), with
    the signals and features passed through temporary ``.npz`` files.
    """
    if not isolate and not any(name in sys.modules for name in ("tensorflow", "jax", "torch")):
        return _process_in_this_process(frames, signals)
    import subprocess

    with tempfile.TemporaryDirectory(prefix="emo-opensmile-") as folder:
        request, reply = Path(folder) / "request.npz", Path(folder) / "reply.npz"
        np.savez(request, frames=np.asarray(frames or (), dtype=np.int64), count=len(signals),
                 **{f"signal{i}": np.asarray(signal, np.float32) for i, signal in enumerate(signals)})
        code = "import sys; from emo_lib.baseline import _worker_main; _worker_main(sys.argv[1], sys.argv[2])"
        done = subprocess.run([sys.executable, "-c", code, str(request), str(reply)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"the openSMILE worker process failed:\n{done.stderr[-2000:]}")
        data = np.load(reply)
        return [(data[f"values{i}"], data[f"starts{i}"]) for i in range(len(signals))]


def compare_feature_names() -> list[str]:
    """The 6,373 ComParE 2016 functional names, in column order.

    Returns
    -------
    list of str
        For example ``"pcm_RMSenergy_sma_range"``.
    """
    return list(_smile().feature_names)


def _finite(values: np.ndarray, source: Any = None) -> np.ndarray:
    """Replace NaN and infinite values by 0 (in place), with a warning that counts them."""
    bad = ~np.isfinite(values)
    count = int(bad.sum())
    if count:
        values[bad] = 0.0
        where = "" if source is None else f"{source}: "
        warnings.warn(
            f"{where}{count} non-finite ComParE values in {int(bad.any(axis=1).sum())} "
            "windows replaced by 0",
            RuntimeWarning,
            stacklevel=3,
        )
    return values


# ---------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------


def compare_features(
    signal: np.ndarray,
    sample_rate: int,
    step_s: float,
    *,
    window_s: float = 1.0,
    alignment: str = "end",
    source: str | Path | None = None,
    isolate: bool = False,
) -> np.ndarray:
    """ComParE 2016 functionals on sliding windows, one row per label window.

    One openSMILE run over the zero-padded signal computes every window: row
    ``i`` holds the functionals of the whole signal's LLD contours over the
    ``window_s / 0.01`` frames that start in row ``i``'s feature window.

    Parameters
    ----------
    signal : np.ndarray [shape=(samples,)]
        Mono audio, floating point, nominally in [-1, 1] (an ``(samples, 1)``
        array is accepted too); samples outside are clipped.
    sample_rate : int
        Its sample rate in Hz; resampled to 16 kHz when different.
    step_s : float
        Label step in seconds (0.02 or 0.04; any multiple of 10 ms works).
    window_s : float
        Feature window in seconds (the paper: 1 s); a multiple of 10 ms, at
        least 0.1 s.
    alignment : {"end", "centre"}
        ``"end"``: row ``i``'s window ends at ``(i + 1) * step_s`` (causal);
        ``"centre"``: it is centred on ``(i + 0.5) * step_s``.
    source : str or pathlib.Path, optional
        The file the signal came from, named in error messages and warnings.

    Returns
    -------
    np.ndarray [shape=(floor(duration / step_s), 6373), dtype=float32]
        Row ``i`` belongs to the label window ``[i * step_s, (i + 1) * step_s)``.
        Non-finite values (none seen so far) are replaced by 0 with a
        ``RuntimeWarning``.

    isolate : bool
        Run openSMILE in a separate Python process even when this process has
        no TensorFlow loaded (what parallel extraction from threads needs).

    Raises
    ------
    EmoInputError
        For an empty, non-mono, non-float or non-finite signal, a signal
        shorter than one step, a sample rate that is not a positive whole
        number, a step or window that is not a multiple of 10 ms, or an unknown
        alignment.

    See Also
    --------
    compare_features_per_window : the same windows, one openSMILE call each.
    compare_settings : what the result depends on, for cache keys.

    Examples
    --------
    >>> six_seconds = 0.1 * np.sin(2 * np.pi * 150 * np.arange(96000) / 16000)
    >>> compare_features(six_seconds, 16000, 0.04).shape
    (150, 6373)
    """
    compare_settings(step_s, window_s, alignment)
    signal = _prepare_signal(signal, sample_rate, source)
    padded, n_rows, step, window, offset = _padded(signal, step_s, window_s, alignment, source)

    frame, starts = _process_signals((step, window), [padded], isolate=isolate)[0]
    if frame.shape[1] != COMPARE_DIM:
        raise RuntimeError(f"openSMILE returned {frame.shape[1]} features, not {COMPARE_DIM}")
    # openSMILE's window k starts at k * step frames of the padded signal.
    wanted = (offset + np.arange(n_rows)) * step * _LLD_HOP_S
    if len(starts) < offset + n_rows or not np.allclose(
        starts[offset : offset + n_rows], wanted, atol=1e-6
    ):
        raise RuntimeError(
            f"openSMILE returned {len(starts)} windows that do not match the "
            f"{n_rows} rows planned from window {offset}"
        )
    values = np.ascontiguousarray(frame[offset : offset + n_rows])
    return _finite(values, source)


def compare_features_per_window(
    signal: np.ndarray,
    sample_rate: int,
    step_s: float,
    *,
    window_s: float = 1.0,
    alignment: str = "end",
    rows: Sequence[int] | None = None,
    source: str | Path | None = None,
) -> np.ndarray:
    """The slow reference: one openSMILE ``process_signal`` call per 1 s window.

    The windows and the zero padding are those of :func:`compare_features`;
    each call gets exactly ``window_s`` of audio and openSMILE's default
    whole-signal functionals. Expect values close to, not equal to, the
    windowed call's (see the module docstring).

    Parameters
    ----------
    signal, sample_rate, step_s, window_s, alignment, source
        As for :func:`compare_features`.
    rows : sequence of int, optional
        Row indices to compute (default: all), for timing on a subset.

    Returns
    -------
    np.ndarray [shape=(len(rows), 6373), dtype=float32]
        Non-finite values replaced by 0.

    Raises
    ------
    EmoInputError
        As :func:`compare_features`, and for a row index out of range.
    """
    compare_settings(step_s, window_s, alignment)
    signal = _prepare_signal(signal, sample_rate, source)
    padded, n_rows, step, window, offset = _padded(signal, step_s, window_s, alignment, source)
    if rows is None:
        rows = range(n_rows)
    rows = [int(row) for row in rows]
    for row in rows:
        if not 0 <= row < n_rows:
            raise EmoInputError(f"row {row} out of range for {n_rows} rows", path=source)
    hop = round(_LLD_HOP_S * SAMPLE_RATE)
    pieces = [padded[(offset + row) * step * hop : (offset + row) * step * hop + window * hop]
              for row in rows]
    out = np.empty((len(rows), COMPARE_DIM), dtype=np.float32)
    for position, (values, _) in enumerate(_process_signals(None, pieces)):
        out[position] = values[0]
    return _finite(out, source)
