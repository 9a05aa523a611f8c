"""Benchmark: ComParE functionals on 1 s windows, one windowed openSMILE run vs one run per window.

The baseline of Yang & Hirschberg (2018) needs the 6,373 ComParE 2016
functionals on a 1 s window every label step. This script times the two ways
of computing them on a minute of speech-like audio and prints, side by side:

* the real-time factor (seconds of audio per second of computing) of
  :func:`emo_lib.baseline.compare_features`, one openSMILE run with fixed
  functionals windows;
* the same for :func:`emo_lib.baseline.compare_features_per_window`, one
  ``process_signal`` call per window. It is timed on an evenly spaced subset
  of the rows and extrapolated to all of them (its cost per row does not
  depend on the row);
* how well the two agree on that subset: the Pearson correlation between the
  two 6,373-vectors of each row, and, per feature, the correlation across the
  subset's rows (which the few features with large values cannot dominate).

With ``--workers N`` (N > 1) it also times N different signals of the same
length extracted at once, each openSMILE run in a process of its own (what
:func:`emo_lib.dataset.build_segment_set` does with several conversations),
and prints the combined real-time factor: seconds of audio per second of wall
time.

Run it with ``python benchmarks/compare_features.py [--seconds 60] [--step 0.04]
[--subset 60] [--workers 2]``. Timings on a busy machine are pessimistic: repeat the run
before quoting them.
"""

# Setup
import argparse
import collections
import os
import time

import numpy as np

from emo_lib.baseline import (
    COMPARE_DIM,
    compare_feature_names,
    compare_features,
    compare_features_per_window,
)
from emo_lib.config import SAMPLE_RATE

SEED = 0
SECONDS = 60.0
STEP_S = 0.04
SUBSET = 60


def speech_like(seconds: float, sample_rate: int = SAMPLE_RATE, seed: int = SEED) -> np.ndarray:
    """A simple voiced synthesiser: syllables of a glottal pulse train through formants.

    Syllables of 120-300 ms with a rising-falling F0 around a speaker's
    mean (110-220 Hz), two to three formant resonances that change per
    syllable, a little breath noise, occasional fricatives and pauses.

    Returns
    -------
    np.ndarray [shape=(round(seconds * sample_rate),), dtype=float32]
        Peak about 0.5.
    """
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    total = int(round(seconds * sample_rate))
    out = np.zeros(total, dtype=np.float64)
    position = 0
    f0_mean = 150.0
    while position < total:
        if rng.random() < 0.12:  # pause
            position += int(rng.uniform(0.15, 0.6) * sample_rate)
            f0_mean = rng.uniform(110.0, 220.0)
            continue
        length = int(rng.uniform(0.12, 0.3) * sample_rate)
        length = min(length, total - position)
        shape = np.sin(np.pi * np.arange(length) / max(length - 1, 1))
        if rng.random() < 0.2:  # fricative
            syllable = rng.standard_normal(length)
            syllable = lfilter([1.0, -0.95], [1.0], syllable) * 0.05
        else:
            f0 = f0_mean * (1.0 + rng.uniform(-0.15, 0.2) * shape)
            phase = np.cumsum(f0) / sample_rate
            pulses = np.diff(np.floor(phase), prepend=0.0)  # one impulse per period
            source = lfilter([1.0], [1.0, -0.97], pulses)  # glottal roll-off
            syllable = source
            for formant, bandwidth in zip(
                (rng.uniform(300, 900), rng.uniform(900, 2300), rng.uniform(2300, 3200)),
                (80.0, 120.0, 180.0),
            ):
                radius = np.exp(-np.pi * bandwidth / sample_rate)
                theta = 2 * np.pi * formant / sample_rate
                syllable = lfilter([1.0 - radius], [1.0, -2 * radius * np.cos(theta), radius**2], syllable)
            syllable = syllable / (np.abs(syllable).max() + 1e-9) * rng.uniform(0.1, 0.5)
            syllable += 0.003 * rng.standard_normal(length)
        out[position : position + length] += syllable * shape
        position += length
    out += 1e-4 * rng.standard_normal(total)
    return out.astype(np.float32)


def row_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with the same row of ``b`` (shape (n,))."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))


def feature_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column across rows; NaN where a column is constant."""
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    denominator = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(0) / denominator, np.nan)


def parallel_real_time(seconds: float, step: float, workers: int) -> tuple[float, float]:
    """Wall seconds and combined real-time factor of ``workers`` extractions run at once."""
    from concurrent.futures import ThreadPoolExecutor

    signals = [speech_like(seconds, seed=SEED + 1 + i) for i in range(workers)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda x: compare_features(x, SAMPLE_RATE, step, isolate=True), signals))
    wall = time.perf_counter() - start
    assert all(r.shape[1] == COMPARE_DIM for r in results)
    return wall, workers * seconds / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--step", type=float, default=STEP_S)
    parser.add_argument("--subset", type=int, default=SUBSET, help="rows timed one call each")
    parser.add_argument("--workers", type=int, default=1,
                        help="also time this many signals extracted at once, one process each")
    args = parser.parse_args()
    if args.workers < 1:
        parser.error("--workers must be at least 1")

    audio = speech_like(args.seconds)
    print(f"audio: {args.seconds:.0f} s of synthetic speech at {SAMPLE_RATE} Hz, step {args.step} s, 1 s windows")

    compare_features(audio[: 2 * SAMPLE_RATE], SAMPLE_RATE, args.step)  # load the library once
    start = time.perf_counter()
    windowed = compare_features(audio, SAMPLE_RATE, args.step)
    windowed_s = time.perf_counter() - start
    n_rows = windowed.shape[0]
    assert windowed.shape == (n_rows, COMPARE_DIM)

    rows = np.unique(np.linspace(0, n_rows - 1, min(args.subset, n_rows)).round().astype(int))
    start = time.perf_counter()
    reference = compare_features_per_window(audio, SAMPLE_RATE, args.step, rows=rows)
    subset_s = time.perf_counter() - start
    per_window_s = subset_s / len(rows) * n_rows

    print()
    print(f"{'method':<34}{'seconds':>10}{'x real time':>14}")
    print(f"{'one windowed call':<34}{windowed_s:>10.2f}{args.seconds / windowed_s:>14.1f}")
    print(
        f"{'one call per window (extrapolated)':<34}{per_window_s:>10.2f}"
        f"{args.seconds / per_window_s:>14.1f}"
    )
    print(
        f"per window: timed {len(rows)} of {n_rows} rows in {subset_s:.2f} s; "
        f"windowed call is {per_window_s / windowed_s:.1f}x faster"
    )
    if args.workers > 1:
        wall, combined = parallel_real_time(args.seconds, args.step, args.workers)
        label = f"{args.workers} windowed calls at once"
        print(f"{label:<34}{wall:>10.2f}{combined:>14.1f}   (combined: {args.workers} x "
              f"{args.seconds:.0f} s of audio over the wall time; own processes)")

    by_row = row_correlations(windowed[rows].astype(np.float64), reference.astype(np.float64))
    by_feature = feature_correlations(windowed[rows].astype(np.float64), reference.astype(np.float64))
    finite = np.isfinite(by_feature)
    close = np.isclose(windowed[rows], reference, rtol=1e-2, atol=1e-6).mean()
    print()
    print(f"agreement on the {len(rows)} timed rows (windowed vs per window):")
    print(
        f"  Pearson r of a row's 6,373 raw values: min {by_row.min():.4f}, "
        f"median {np.median(by_row):.5f} (set by the few features with values up to 1e9)"
    )
    print(
        f"  Pearson r of one feature across the rows ({finite.sum()} non-constant): "
        f"median {np.median(by_feature[finite]):.3f}, "
        f"10th percentile {np.percentile(by_feature[finite], 10):.3f}, "
        f"share above .9: {(by_feature[finite] > 0.9).mean():.2f}, above .99: "
        f"{(by_feature[finite] > 0.99).mean():.2f}"
    )
    families = collections.defaultdict(list)
    for name, r in zip(compare_feature_names(), by_feature):
        if np.isfinite(r):
            families[name.split("_sma")[0].split("[")[0]].append(r)
    ranked = sorted(families.items(), key=lambda item: np.median(item[1]))
    print("  median of that r per LLD family, lowest and highest three:")
    for family, values in ranked[:3] + ranked[-3:]:
        print(f"    {family:<34}{np.median(values):>7.3f}  ({len(values)} features)")
    print(f"  values equal within 1 %: {close:.2f}")
    print(f"  non-finite values in the windowed features: {int((~np.isfinite(windowed)).sum())}")
    load = os.getloadavg()
    print(f"\nload average during the run (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


if __name__ == "__main__":
    main()
