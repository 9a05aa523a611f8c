"""TensorFlow's native start-up lines: which ones say nothing a user needs, and a filter for them.

TensorFlow's C++ code writes to file descriptor 2 directly and prints a few
informational lines while it is imported, whatever ``TF_CPP_MIN_LOG_LEVEL``
says. The command line (:mod:`emo_lib.cli`) and the study's worker processes
(:func:`emo_lib.study.run_study`) drop exactly those lines and pass every
warning and error on.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from pathlib import Path

__all__ = ["is_startup_noise", "NativeStderrFilter", "hide_startup_noise"]

# absl's log line: severity letter, MMDD, time (hh:mm:ss.micros; seconds since the epoch before absl is
# initialised), thread id, file:line].
_ABSL_BANNER = re.compile(rb"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR\s*$")
_NATIVE_INFO = re.compile(rb"^I\d{4} \d+:\d+:\d+\.\d+\s+\d+ \S+:\d+\] ")
_CUINIT_FAILED = re.compile(rb"^E\d{4} \d+:\d+:\d+\.\d+\s+\d+ \S+:\d+\] failed call to cuInit: ")
_ONEDNN_BOOL = re.compile(rb"^E\d{4} \d+:\d+:\d+\.\d+\s+\d+ util\.cc:\d+\] oneDNN supports DT_BOOL only on "
                          rb"platforms with AVX-512\. Falling back to the default Eigen-based implementation")


def _nvidia_gpu_present() -> bool:
    """Whether the machine has an NVIDIA GPU with its driver loaded (Linux)."""
    gpus = Path("/proc/driver/nvidia/gpus")
    return (gpus.is_dir() and any(gpus.iterdir())) or Path("/dev/nvidia0").exists()


class NativeStderrFilter:
    """Pass the process's standard error (file descriptor 2) through a line filter.

    TensorFlow's C++ code writes to file descriptor 2 directly, and prints a
    few informational lines while it is imported whatever ``TF_CPP_MIN_LOG_LEVEL``
    says (before its logging is set up). This filter drops exactly these
    lines:

    - the absl banner "All log messages before absl::InitializeLog() is called
      are written to STDERR" and lines at INFO level (``I`` and a date: oneDNN's
      numerical-round-off note, "Could not find cuda drivers", CPU features);
    - on a machine without an NVIDIA GPU, the one known "failed call to cuInit"
      error (there is no CUDA driver to initialise: nothing is wrong);
    - the known "oneDNN supports DT_BOOL only on platforms with AVX-512. Falling
      back to the default Eigen-based implementation" line, printed at ERROR
      level during training although nothing fails (and on CPUs with AVX-512).

    Everything else, TensorFlow's warnings and errors included, passes
    unchanged; child processes (notebook kernels) inherit the filter.
    """

    def __init__(self) -> None:
        self.drop_cuinit = not _nvidia_gpu_present()

    def dropped(self, line: bytes) -> bool:
        return is_startup_noise(line, drop_cuinit=self.drop_cuinit)

    def _pump(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self.reader, 65536)
            except OSError:
                break
            if not chunk:
                break
            pending += chunk
            *lines, pending = re.split(rb"(?<=[\n\r])", pending)
            out = b"".join(line for line in lines if not self.dropped(line))
            # A partial line that cannot be a native log line (a progress bar) is passed on now.
            if pending and pending[:1] not in (b"I", b"E", b"W"):
                out, pending = out + pending, b""
            if out:
                os.write(self.saved, out)
        if pending and not self.dropped(pending):
            os.write(self.saved, pending)

    def __enter__(self) -> "NativeStderrFilter":
        sys.stderr.flush()
        self.saved = os.dup(2)
        self.reader, writer = os.pipe()
        os.dup2(writer, 2)
        os.close(writer)
        self.thread = threading.Thread(target=self._pump, name="emo-stderr-filter", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        sys.stderr.flush()
        os.dup2(self.saved, 2)  # closes this process's last write end of the pipe
        self.thread.join(timeout=5.0)
        os.close(self.reader)
        os.close(self.saved)




def is_startup_noise(line: bytes | str, *, drop_cuinit: bool | None = None) -> bool:
    """Whether a line is one of TensorFlow's known start-up lines that say nothing a user needs.

    Parameters
    ----------
    line : bytes or str
        One line of standard error.
    drop_cuinit : bool, optional
        Drop the "failed call to cuInit" error; by default only on a machine
        without an NVIDIA GPU (where there is no CUDA driver to initialise).

    Returns
    -------
    bool
        True for the absl banner, native INFO lines, the "oneDNN supports
        DT_BOOL only on platforms with AVX-512" line and (see above) the cuInit
        line; False for everything else, warnings and errors included.
    """
    if isinstance(line, str):
        line = line.encode("utf-8", "replace")
    if drop_cuinit is None:
        drop_cuinit = not _nvidia_gpu_present()
    return bool(_ABSL_BANNER.match(line) or _NATIVE_INFO.match(line) or _ONEDNN_BOOL.match(line)
                or (drop_cuinit and _CUINIT_FAILED.match(line)))


_ACTIVE: NativeStderrFilter | None = None


def hide_startup_noise() -> None:
    """Filter TensorFlow's start-up lines out of this process's standard error from now on.

    For notebooks and scripts: call it before anything imports TensorFlow
    (Keras). Warnings and errors still pass (:func:`is_startup_noise`). Calling
    it again does nothing.
    """
    global _ACTIVE
    if _ACTIVE is None:
        _ACTIVE = NativeStderrFilter().__enter__()
