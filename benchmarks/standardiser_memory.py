"""Benchmark: memory of fitting the baseline's ComParE standardiser, streaming vs all at once.

The openSMILE ComParE + BLSTM baseline standardises its 6,373 features with
the means and variances of the training set's real (unpadded) label frames
(``compare_standardise``, set by :func:`emo_lib.models.adapt_standardiser`).
On the paper profile SEMAINE's training set is 934 segments of 300 label
frames (6 s at 20 ms): stacked, 934 x 300 x 6373 float32 values, 6.65 GB
(7.1e9 bytes; GB here and below: 2**30 bytes). This
script fits the standardiser of ``build_model("baseline", 20, "paper")`` on a
stand-in of that size in two ways and prints, side by side:

``stream``  what the study does (:func:`emo_lib.study.build_experiment_model`):
            ``adapt_standardiser`` over ``_standardiser_blocks(train_set,
            "compare")``, blocks of 16 segments read from the memory-mapped
            features;
``whole``   load everything: ``train_set.batch`` of every segment (ComParE
            features and frame mask in one array), then ``adapt_standardiser``
            on that array.

Per method: the peak resident memory above the resident memory after imports,
model and segment set were ready (``getrusage`` peak minus ``/proc`` RSS
then); the peaks of its two parts, sampled every 10 ms from
``/proc/self/status``: anonymous memory (what has to be there) and pages of
the memory-mapped feature files (resident while mapped, but the kernel can
drop them); and the wall time. Each method runs in a fresh
subprocess of its own, so that the peaks are its own; before each the feature
files are dropped from the page cache (``posix_fadvise``), so that both read
them from disk. The two methods' means and variances are compared with each
other and with a plain two-pass float64 computation on a slice of the
features.

The stand-in needs no openSMILE: a :class:`emo_lib.dataset.SegmentSet` whose
conversations (30 segments, 3 minutes, each; the last segment of each shorter,
so that the frame mask matters) hold random ComParE matrices with per-feature
offsets and scales, and per-conversation shifts, saved as ``.npy`` files and
memory-mapped as the study's feature cache is. Writing it takes disk space
for the real frames (6.6 GB by default).

Run::

    python benchmarks/standardiser_memory.py [--segments 934] [--method stream|whole|both]
        [--workdir DIR]

``--workdir`` keeps the stand-in there; by default it goes to a temporary
folder, deleted at the end. The machine (CPU, memory, load average before and
after) is printed with the results.
"""

# Setup
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_step  # noqa: E402  (the worker-process machinery shared with train_step.py)
from train_step import fmt, format_table, run_isolated  # noqa: E402

SEED = 0
PAPER_TRAINING_SEGMENTS = 934  # SEMAINE's training set on the paper profile
SEGMENTS_PER_CONVERSATION = 30  # 3 minutes of 6 s segments
LABEL_STEP = 0.02
SEGMENT_SECONDS = 6.0
FRAMES_PER_SEGMENT = int(round(SEGMENT_SECONDS / LABEL_STEP))
STREAM_BLOCK_SEGMENTS = 16  # _standardiser_blocks' default
WHOLE_CHUNK_SEGMENTS = 64  # adapt_standardiser's default chunk_size
REFERENCE_FEATURES = 256  # width of the slice checked against the float64 reference
WRITE_ROWS = 1024  # rows of random features generated and written at a time
WORKER_TIMEOUT_S = 1800
MEMORY_MARGIN_GB = 2.0  # left free when deciding whether ``whole`` can run
METHODS = ("stream", "whole")
GB = 2**30
MANIFEST = "manifest.json"


# ----------------------------------------------------------------------------
# The stand-in training set
# ----------------------------------------------------------------------------


def segment_lengths(n_segments: int, rng: np.random.Generator) -> list[list[int]]:
    """Label frames of each segment, by conversation.

    Conversations hold :data:`SEGMENTS_PER_CONVERSATION` segments (the last one
    fewer); the last segment of each is 60-299 frames long, the others full.
    """
    conversations = []
    for first in range(0, n_segments, SEGMENTS_PER_CONVERSATION):
        count = min(SEGMENTS_PER_CONVERSATION, n_segments - first)
        lengths = [FRAMES_PER_SEGMENT] * count
        lengths[-1] = int(rng.integers(60, FRAMES_PER_SEGMENT))
        conversations.append(lengths)
    return conversations


def write_stand_in(folder: Path, n_segments: int, n_features: int, seed: int = SEED) -> dict[str, Any]:
    """Write random ComParE matrices for ``n_segments`` segments and their manifest.

    Feature ``f`` of conversation ``c`` is ``offset[f] + scale[f] * (shift[c] +
    spread[c] * z)`` with ``z`` standard normal, float32; offsets span 0.1 to
    1,000 in magnitude and scales 0.01 to 100, like ComParE's functionals.

    Parameters
    ----------
    folder : pathlib.Path
        Receives ``<conversation>.npy`` (label windows x features) and
        ``manifest.json``.
    n_segments : int
    n_features : int
    seed : int

    Returns
    -------
    dict
        The manifest: ``label_step``, ``segment_seconds``, ``n_features`` and
        ``conversations``, each ``{"id", "n_windows", "segments": [[start, length], ...]}``.
    """
    rng = np.random.default_rng(seed)
    offset = rng.choice([-1.0, 1.0], n_features) * 10 ** rng.uniform(-1, 3, n_features)
    scale = 10 ** rng.uniform(-2, 2, n_features)
    conversations = []
    for index, lengths in enumerate(segment_lengths(n_segments, rng)):
        conversation_id = f"c{index:03d}"
        starts = np.cumsum([0] + lengths[:-1])
        n_windows = int(sum(lengths))
        shift, spread = rng.normal(0, 0.5), rng.uniform(0.5, 2.0)
        row_offset = (offset + scale * shift).astype(np.float32)
        row_scale = (scale * spread).astype(np.float32)
        with open(folder / f"{conversation_id}.npy", "wb") as handle:
            np.lib.format.write_array_header_1_0(
                handle, {"descr": "<f4", "fortran_order": False, "shape": (n_windows, n_features)})
            for first in range(0, n_windows, WRITE_ROWS):
                rows = rng.standard_normal((min(WRITE_ROWS, n_windows - first), n_features), dtype=np.float32)
                rows *= row_scale
                rows += row_offset
                rows.tofile(handle)
            handle.flush()
            os.fsync(handle.fileno())  # on disk, so that the page cache can be emptied of it
        conversations.append({"id": conversation_id, "n_windows": n_windows,
                              "segments": [[int(s), int(n)] for s, n in zip(starts, lengths)]})
    manifest = {"label_step": LABEL_STEP, "segment_seconds": SEGMENT_SECONDS, "n_features": n_features,
                "conversations": conversations}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    return manifest


def open_stand_in(folder: Path):
    """The stand-in as a SegmentSet, its ComParE matrices memory-mapped (nothing read yet).

    Returns
    -------
    emo_lib.dataset.SegmentSet
    """
    from emo_lib.dataset import ConversationArrays, SegmentRef, SegmentSet

    manifest = json.loads((folder / MANIFEST).read_text())
    step = manifest["label_step"]
    arrays, segments = {}, []
    for conversation in manifest["conversations"]:
        cid, n_windows = conversation["id"], conversation["n_windows"]
        arrays[cid] = ConversationArrays(
            cid, step,
            waveform=np.zeros(0, np.float32),  # batch() reads only what it is asked for
            spectrogram=np.zeros((0, 40, 3), np.float32),
            labels=np.zeros((n_windows, 2), np.float32),
            valid=np.ones(n_windows, bool),
            label_times=(np.arange(n_windows) + 1) * step,
            compare=np.load(folder / f"{cid}.npy", mmap_mode="r"),
        )
        segments += [SegmentRef(cid, i, start, length) for i, (start, length) in enumerate(conversation["segments"])]
    return SegmentSet(segments, arrays, manifest["segment_seconds"], step)


def evict_from_page_cache(folder: Path) -> None:
    """Ask the kernel to drop the feature files' pages from its cache (Linux; no-op elsewhere)."""
    if not hasattr(os, "posix_fadvise"):
        return
    for path in folder.glob("*.npy"):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(descriptor)


def stacked_gb(n_segments: int, n_features: int) -> float:
    """Size of every segment's features stacked into one float32 array (GB)."""
    return n_segments * FRAMES_PER_SEGMENT * n_features * 4 / GB


def whole_need_gb(n_segments: int, n_features: int) -> float:
    """Anonymous memory ``whole`` should need at most (GB).

    The stacked array, and ``adapt_standardiser``'s float64 copy of one chunk,
    its selected rows and two temporaries of their size.
    """
    chunk = min(WHOLE_CHUNK_SEGMENTS, n_segments)
    return stacked_gb(n_segments, n_features) + 4 * 2 * stacked_gb(chunk, n_features)


# ----------------------------------------------------------------------------
# One method (runs in a worker process)
# ----------------------------------------------------------------------------


def memory_status() -> dict[str, float]:
    """Resident memory of this process now (GB): ``rss``, ``anonymous``, ``file`` (Linux; empty elsewhere)."""
    wanted = {"VmRSS:": "rss", "RssAnon:": "anonymous", "RssFile:": "file"}
    status = {}
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                key, *value = line.split()
                if key in wanted:
                    status[wanted[key]] = int(value[0]) / 2**20  # kB
    except OSError:
        pass
    return status


def peak_rss_gb() -> float:
    """Peak resident set size of this process (GB; ``ru_maxrss`` is in kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class MemorySampler:
    """Samples :func:`memory_status` in a thread while in a ``with`` block, keeping each field's peak.

    Parameters
    ----------
    interval_s : float
        Seconds between samples.
    """

    def __init__(self, interval_s: float = 0.01):
        self.interval_s = interval_s
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _record(self) -> None:
        for key, value in memory_status().items():
            self.peaks[key] = max(value, self.peaks.get(key, 0.0))

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._record()

    def __enter__(self) -> "MemorySampler":
        self._record()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self._record()


def fit_streaming(model, train_set) -> dict:
    """The study's way: blocks of segments from the memory-mapped features."""
    from emo_lib.models import adapt_standardiser
    from emo_lib.study import _standardiser_blocks

    return adapt_standardiser(model, _standardiser_blocks(train_set, "compare", chunk=STREAM_BLOCK_SEGMENTS),
                              input_name="compare")


def fit_whole(model, train_set) -> dict:
    """Load everything: every segment's features and mask in one array, then the statistics."""
    from emo_lib.models import adapt_standardiser

    inputs, _ = train_set.batch(range(len(train_set)), ("compare", "frame_mask"))
    return adapt_standardiser(model, inputs["compare"], inputs["frame_mask"], input_name="compare",
                              chunk_size=WHOLE_CHUNK_SEGMENTS)


FITS = {"stream": fit_streaming, "whole": fit_whole}


def measure_method(config: dict[str, Any]) -> dict[str, Any]:
    """Fit the paper baseline's standardiser one way; time it and watch the memory.

    Parameters
    ----------
    config : dict
        ``method`` (``"stream"`` or ``"whole"``) and ``folder`` (the stand-in);
        the statistics are written to ``<folder>/statistics-<method>.npz``.

    Returns
    -------
    dict
        The config plus ``seconds``, ``count`` (frames used), ``setup_rss_gb``
        (resident memory before fitting), ``peak_extra_gb`` (peak resident
        memory above it), ``peak_anonymous_extra_gb`` and
        ``peak_file_extra_gb`` (sampled peaks of the anonymous and
        file-backed parts above their levels before fitting),
        ``available_gb_before`` (the system's available memory then).
    """
    import gc

    from emo_lib.models import build_model

    folder = Path(config["folder"])
    model = build_model("baseline", 20, "paper")
    train_set = open_stand_in(folder)
    gc.collect()
    before = memory_status()
    available_before = available_gb()
    with MemorySampler() as sampler:
        started = time.perf_counter()
        statistics = FITS[config["method"]](model, train_set)
        seconds = time.perf_counter() - started
    layer = model.get_layer("compare_standardise")
    if not np.allclose(np.asarray(layer.mean).ravel(), statistics["mean"], rtol=1e-6, atol=0):
        raise RuntimeError("the layer does not hold the statistics adapt_standardiser returned")
    np.savez(folder / f"statistics-{config['method']}.npz", mean=statistics["mean"],
             variance=statistics["variance"])
    return dict(
        config, seconds=seconds, count=statistics["count"], setup_rss_gb=before.get("rss"),
        available_gb_before=available_before,
        peak_extra_gb=peak_rss_gb() - before.get("rss", 0.0),
        peak_anonymous_extra_gb=sampler.peaks.get("anonymous", 0.0) - before.get("anonymous", 0.0),
        peak_file_extra_gb=sampler.peaks.get("file", 0.0) - before.get("file", 0.0),
    )


# ----------------------------------------------------------------------------
# Agreement
# ----------------------------------------------------------------------------


def reference_statistics(train_set, features: slice) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population variance of a slice of features over the real frames, two-pass float64."""
    rows = np.concatenate([
        np.asarray(train_set.arrays[s.conversation_id].compare[s.start:s.start + s.length, features], np.float64)
        for s in train_set.segments
    ])
    mean = rows.mean(axis=0)
    return mean, np.square(rows - mean).mean(axis=0)


def differences(mean: np.ndarray, variance: np.ndarray, reference_mean: np.ndarray,
                reference_variance: np.ndarray) -> tuple[float, float]:
    """Largest difference of the means (in standard deviations) and of the variances (relative)."""
    mean_error = np.abs(mean - reference_mean) / np.sqrt(reference_variance)
    variance_error = np.abs(variance - reference_variance) / reference_variance
    return float(mean_error.max()), float(variance_error.max())


def agreement_lines(folder: Path, methods: Sequence[str], seed: int = SEED) -> list[str]:
    """The methods' statistics against each other and against a float64 reference on a feature slice."""
    statistics = {m: np.load(folder / f"statistics-{m}.npz") for m in methods
                  if (folder / f"statistics-{m}.npz").exists()}
    lines = []
    if len(statistics) == 2:
        stream, whole = statistics["stream"], statistics["whole"]
        mean_error, variance_error = differences(stream["mean"], stream["variance"], whole["mean"], whole["variance"])
        lines.append(f"stream vs whole, all {len(stream['mean']):,} features: means differ by at most "
                     f"{mean_error:.1e} standard deviations, variances by {variance_error:.1e} (relative)")
    if statistics:
        train_set = open_stand_in(folder)
        width = train_set.arrays[train_set.segments[0].conversation_id].compare.shape[1]
        first = int(np.random.default_rng(seed).integers(0, width - REFERENCE_FEATURES))
        features = slice(first, first + REFERENCE_FEATURES)
        reference_mean, reference_variance = reference_statistics(train_set, features)
        for method, values in statistics.items():
            mean_error, variance_error = differences(values["mean"][features], values["variance"][features],
                                                     reference_mean, reference_variance)
            lines.append(f"{method} vs two-pass float64, features {first}-{first + REFERENCE_FEATURES - 1}: "
                         f"means {mean_error:.1e} standard deviations, variances {variance_error:.1e}")
    return lines


# ----------------------------------------------------------------------------
# The machine
# ----------------------------------------------------------------------------


def machine_line() -> str:
    """CPU (model, vector extensions, cores), memory and library versions, in one line."""
    from emo_lib.model_card import device_info

    device = device_info()
    extensions = ", ".join(device["cpu_vector_extensions"]) or "vector extensions unknown"
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = device["cpu_count"]
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GB
    versions = ", ".join(f"{package} {version(package)}" for package in ("tensorflow", "keras", "numpy"))
    return (f"machine: {device['cpu_model']} ({extensions}), {cores} usable cores, {memory_gb:.1f} GB memory; "
            f"Python {platform.python_version()}, {versions}")


def available_gb() -> float | None:
    """Memory the kernel says it can give without swapping (``MemAvailable``, GB; None if unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


# ----------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------


def run_method(method: str, folder: Path, n_segments: int, n_features: int) -> dict[str, Any]:
    """Measure one method in a worker process, its feature files out of the page cache first.

    ``whole`` is skipped, with a message in ``error``, when the memory
    available is less than it needs (:func:`whole_need_gb`) plus a margin.
    """
    print(f"... {method}", file=sys.stderr, flush=True)
    if method == "whole":
        need, available = whole_need_gb(n_segments, n_features), available_gb()
        if available is not None and available < need + MEMORY_MARGIN_GB:
            return {"method": method, "error": f"skipped: needs about {need:.1f} GB, {available:.1f} GB available"}
    evict_from_page_cache(folder)
    return run_isolated("standardiser", {"method": method, "folder": str(folder)}, __file__,
                        timeout=WORKER_TIMEOUT_S)


def result_rows(results: Sequence[dict[str, Any]]) -> list[list[str]]:
    holds = {"stream": f"blocks of {STREAM_BLOCK_SEGMENTS} segments", "whole": "every segment at once"}
    rows = []
    for r in results:
        if "error" in r:
            rows.append([r["method"], holds[r["method"]], "failed: " + r["error"][:70], "", "", ""])
            continue
        rows.append([r["method"], holds[r["method"]], fmt(r["peak_extra_gb"]), fmt(r["peak_anonymous_extra_gb"]),
                     fmt(r["peak_file_extra_gb"]), fmt(r["seconds"])])
    return rows


RESULT_HEADER = ("method", "holds", "peak extra RSS GB", "anonymous peak GB", "mapped-file peak GB", "wall s")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=PAPER_TRAINING_SEGMENTS,
                        help=f"training segments of {FRAMES_PER_SEGMENT} label frames (default: the paper's "
                             f"SEMAINE, {PAPER_TRAINING_SEGMENTS})")
    parser.add_argument("--method", choices=(*METHODS, "both"), default="both")
    parser.add_argument("--workdir", type=Path,
                        help="where to write the stand-in and keep it (default: a temporary folder, deleted)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        train_step.worker_main(args.worker)
        return
    if args.segments < 1:
        parser.error("--segments must be positive")

    from emo_lib.models import N_COMPARE_FEATURES

    methods = METHODS if args.method == "both" else (args.method,)
    load_before = os.getloadavg()
    machine = machine_line()
    folder = args.workdir or Path(tempfile.mkdtemp(prefix="standardiser-memory-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        print(f"... writing the stand-in to {folder}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        manifest = write_stand_in(folder, args.segments, N_COMPARE_FEATURES)
        written_s = time.perf_counter() - started
        results = [run_method(method, folder, args.segments, N_COMPARE_FEATURES) for method in methods]
        print("... float64 reference", file=sys.stderr, flush=True)
        agreement = agreement_lines(folder, methods)
    finally:
        if args.workdir is None:
            shutil.rmtree(folder, ignore_errors=True)

    real_frames = sum(n for c in manifest["conversations"] for _, n in c["segments"])
    stacked = stacked_gb(args.segments, N_COMPARE_FEATURES)
    print(machine)
    print(f"load average (1, 5, 15 min) before: {[round(v, 2) for v in load_before]}, "
          f"after: {[round(v, 2) for v in os.getloadavg()]}")
    print(f"stand-in: {args.segments} segments x {FRAMES_PER_SEGMENT} label frames x {N_COMPARE_FEATURES} "
          f"ComParE features in {len(manifest['conversations'])} conversation(s), {real_frames:,} real frames; "
          f"stacked float32 {stacked:.2f} GB; written in {written_s:.0f} s")
    setup = [r for r in results if "setup_rss_gb" in r]
    for r in setup:
        print(f"{r['method']}: {r['setup_rss_gb']:.2f} GB resident after imports, model and segment set "
              f"(subtracted), {r['available_gb_before']:.1f} GB memory available then")
    print()
    print(format_table(result_rows(results), RESULT_HEADER))
    print()
    for line in agreement:
        print(line)
    print(f"\nPeak extra RSS: getrusage peak minus the resident memory before fitting. Anonymous and file "
          f"pages: peaks sampled every 10 ms, each above its level before fitting; file pages are the "
          f"memory-mapped feature files read so far, counted as resident but droppable by the kernel. Not run: "
          f"np.var of compare[frame_mask == 1] on the stacked array would add a copy of the real rows "
          f"({real_frames * N_COMPARE_FEATURES * 4 / GB:.1f} GB float32) and a float64 array of deviations "
          f"({real_frames * N_COMPARE_FEATURES * 8 / GB:.1f} GB) to the stacked array.")


train_step.WORKERS.update(standardiser=measure_method)

if __name__ == "__main__":
    main()
