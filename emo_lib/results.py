"""Table 1 of the paper beside ours: read run records, aggregate over seeds, write the table.

Every evaluation run writes a ``metrics.json`` record::

    {"corpus": "semaine", "corpus_kind": "synthetic" | "real",
     "variant": "ridge" | "baseline" | "W" | "S" | "WS" | "WSG", "seed": 0, "label_step_ms": 20,
     "split": "random", "preset": "narrow",
     "metrics": {"ccc": {"concatenated": {"arousal": x, "valence": y},
                         "per_conversation": {...}},
                 "pearson": {...same shape...}}, ...}

:func:`collect_runs` reads such records, :func:`table1` averages them over
seeds per (corpus, model) and puts the paper's numbers beside ours,
:func:`pearson_table` does the same for the SEMAINE Pearson ("MCC")
comparison, and :func:`write_table1` writes the Markdown and CSV versions.

The paper's numbers (Yang & Hirschberg 2018, Table 1 and section 5.2) are
single runs of a model trained on the real corpora. A table built from runs on
the synthetic stand-in corpus checks the machinery end to end; it says nothing
about the paper's claims, and the written table says so in its header.
"""

from __future__ import annotations

import glob
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .corpora.base import DIMENSIONS
from .errors import EmoInputError
from .io import atomic_write_text

__all__ = [
    "PAPER_TABLE1",
    "PAPER_MCC_SEMAINE_WS",
    "PAPER_SEGMENTS",
    "MODEL_LABELS",
    "MODEL_ORDER",
    "BEYOND_PAPER_MODELS",
    "PROTOCOL_DESCRIPTIONS",
    "paper_corpus",
    "format_score",
    "format_p",
    "collect_runs",
    "table1",
    "pearson_table",
    "write_table1",
]

# ---------------------------------------------------------------------------
# The paper's numbers
# ---------------------------------------------------------------------------

PAPER_TABLE1: dict[tuple[str, str], tuple[float, float]] = {
    ("SEMAINE", "baseline"): (0.376, 0.177),
    ("SEMAINE", "W"): (0.675, 0.435),
    ("SEMAINE", "S"): (0.656, 0.494),
    ("SEMAINE", "WS"): (0.680, 0.506),
    ("RECOLA", "baseline"): (0.317, 0.162),
    ("RECOLA", "W"): (0.674, 0.361),
    ("RECOLA", "S"): (0.651, 0.408),
    ("RECOLA", "WS"): (0.692, 0.423),
}
"""Table 1 of the paper: test-set CCC ``(arousal, valence)`` per (corpus, model)."""

PAPER_MCC_SEMAINE_WS: tuple[float, float] = (0.682, 0.511)
"""Mean Pearson correlation ("MCC") of the W+S model on the SEMAINE test set (arousal, valence)."""

PAPER_SEGMENTS: dict[str, tuple[int, int]] = {"SEMAINE": (934, 396), "RECOLA": (800, 350)}
"""Number of 6 s segments (train, test) per corpus in the paper (section 3)."""

MODEL_LABELS: dict[str, str] = {
    "ridge": "Ridge floor",
    "baseline": "Baseline",
    "W": "W only",
    "S": "S only",
    "WS": "W+S",
    "WSG": "W+S gated",
}
"""How each model variant is named in tables and sentences (the paper's names; the ridge
floor of :mod:`emo_lib.floor` and W+S gated are ours, not the paper's)."""

MODEL_ORDER: tuple[str, ...] = ("ridge", "baseline", "W", "S", "WS", "WSG")
"""Order of the models in Table 1 (the floor first, then the paper's order, then W+S gated)."""

BEYOND_PAPER_MODELS: tuple[str, ...] = ("WSG",)
"""Models that go beyond the paper (the gated fusion its conclusion proposes): their Table 1
row says so after the model's name, and their paper cells read "not in the paper"."""

PROTOCOL_DESCRIPTIONS: dict[str, str] = {
    "concatenated": (
        "one score over the concatenated frames of all test conversations"
    ),
    "per_conversation": (
        "one score per test conversation, averaged over conversations (unweighted)"
    ),
}
"""Plain words for each scoring protocol, used in table headers."""

_METRIC_NAMES = {"ccc": "CCC (Lin 1989, 1/N estimator)", "pearson": "Pearson correlation (\"MCC\")"}
_KINDS = ("synthetic", "real")


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------


def format_score(value: float, digits: int = 3) -> str:
    """Format a correlation-like number the way the paper does (``.612``, ``-.104``).

    Parameters
    ----------
    value : float
        The number. NaN (or None) gives ``"n/a"``.
    digits : int
        Decimals kept.

    Returns
    -------
    str
        The number without its leading zero.

    Examples
    --------
    >>> format_score(0.6124), format_score(-0.05), format_score(1.0)
    ('.612', '-.050', '1.000')
    """
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    text = f"{float(value):.{digits}f}"
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text


def format_p(p_value: float) -> str:
    """Format a p-value as ``"p = .003"`` or ``"p < .001"``.

    Examples
    --------
    >>> format_p(0.0031), format_p(0.00002), format_p(1.0)
    ('p = .003', 'p < .001', 'p = 1.000')
    """
    if p_value is None or not math.isfinite(float(p_value)):
        return "p = n/a"
    if p_value < 0.001:
        return "p < .001"
    return f"p = {format_score(p_value)}"


def paper_corpus(name: str) -> str | None:
    """The paper's Table 1 row for a run's corpus name.

    Parameters
    ----------
    name : str
        The ``"corpus"`` field of a run record (``"semaine"``, ``"recola"``,
        ``"recola-avec2016"``; a suffix after a dash is allowed).

    Returns
    -------
    str or None
        ``"SEMAINE"``, ``"RECOLA"``, or ``None`` for a corpus the paper does not use.

    Examples
    --------
    >>> paper_corpus("semaine"), paper_corpus("recola-avec2016"), paper_corpus("iemocap")
    ('SEMAINE', 'RECOLA', None)
    """
    key = str(name).strip().lower()
    for prefix, row in (("semaine", "SEMAINE"), ("recola", "RECOLA")):
        if key == prefix or key.startswith(prefix + "-") or key.startswith(prefix + "_"):
            return row
    return None


# ---------------------------------------------------------------------------
# Reading run records
# ---------------------------------------------------------------------------


def _metrics_files(sources: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(sources, (str, Path)):
        text = str(sources)
        if any(char in text for char in "*?["):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise EmoInputError("no file or folder matches this pattern", path=text)
            items: list[str | Path] = list(matches)
        else:
            items = [sources]
    else:
        items = list(sources)
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir() and not (path / "metrics.json").is_file():
            found = sorted(path.rglob("metrics.json"))  # a study folder: every run below it
            if not found:
                raise EmoInputError("no metrics.json in this folder or below it", path=path)
            files.extend(found)
            continue
        if path.is_dir():
            path = path / "metrics.json"
        if not path.is_file():
            raise EmoInputError("no metrics.json here", path=path)
        files.append(path)
    if not files:
        raise EmoInputError("no run folders given")
    return files


def _check_run(run: Any, path: Path | str | None) -> dict:
    if not isinstance(run, dict):
        raise EmoInputError("a run record must be a JSON object", path=path)
    for key in ("corpus", "corpus_kind", "variant", "seed", "metrics"):
        if key not in run:
            raise EmoInputError(f"run record has no {key!r} field", path=path)
    if run["corpus_kind"] not in _KINDS:
        raise EmoInputError(
            f"corpus_kind is {run['corpus_kind']!r}, expected one of {_KINDS}", path=path
        )
    if run["variant"] not in MODEL_LABELS:
        raise EmoInputError(
            f"variant is {run['variant']!r}, expected one of {tuple(MODEL_LABELS)}", path=path
        )
    if not isinstance(run["metrics"], dict):
        raise EmoInputError("'metrics' must be an object", path=path)
    return run


def collect_runs(sources: str | Path | Iterable[str | Path]) -> list[dict]:
    """Read the ``metrics.json`` record of each run.

    Parameters
    ----------
    sources : str, pathlib.Path or iterable of them
        Run folders (each holding ``metrics.json``), ``metrics.json`` files,
        study folders (a folder without ``metrics.json`` of its own: every
        ``metrics.json`` below it, sorted), or one glob pattern matching any
        of these (``"runs/*/"``, ``"runs/**/metrics.json"``).

    Returns
    -------
    list of dict
        The records in the order found (sorted for a glob), each with an added
        ``"source_path"`` (the file it was read from) unless it had one.

    Raises
    ------
    EmoInputError
        A pattern matches nothing, a folder has no ``metrics.json``, a file is
        not JSON, or a record lacks ``corpus``, ``corpus_kind``, ``variant``,
        ``seed`` or ``metrics``.
    """
    runs = []
    for path in _metrics_files(sources):
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise EmoInputError(f"cannot read the run record: {error}", path=path) from error
        _check_run(run, path)
        run.setdefault("source_path", str(path))
        runs.append(run)
    return runs


# ---------------------------------------------------------------------------
# Aggregation over seeds
# ---------------------------------------------------------------------------


def _run_value(run: dict, metric: str, protocol: str, dimension: str) -> float:
    where = run.get("source_path")
    try:
        value = run["metrics"][metric][protocol][dimension]
    except (KeyError, TypeError):
        raise EmoInputError(
            f"run record has no metrics.{metric}.{protocol}.{dimension}", path=where
        ) from None
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise EmoInputError(
            f"metrics.{metric}.{protocol}.{dimension} is not a number: {value!r}", path=where
        ) from None


def _ci_for(ci: Mapping | None, corpus: str, variant: str) -> dict[str, tuple[float, float]] | None:
    if ci is None:
        return None
    entry = ci.get((corpus, variant))
    if entry is None:
        return None
    out = {}
    for dimension in DIMENSIONS:
        if dimension not in entry:
            raise EmoInputError(f"interval for ({corpus}, {variant}) has no {dimension!r}")
        low, high = entry[dimension]
        out[dimension] = (float(low), float(high))
    return out


def _describe(field: str, value: Any) -> Any:
    """A table cell for a run setting: a preset by its name, a split manifest in a few words."""
    if not isinstance(value, dict):
        return value
    if field == "preset" and "name" in value:
        return value["name"]
    if field == "split" and "method" in value:
        text = str(value["method"])
        if "seed" in value:
            text += f" (seed {value['seed']}"
            if isinstance(value.get("test"), list):
                text += f", {len(value['test'])} test conversations"
            text += ")"
        return text
    return json.dumps(value, sort_keys=True)


def _aggregate(
    runs: Sequence[dict],
    *,
    metric: str,
    protocol: str,
    ci: Mapping | None,
    paper: Mapping[tuple[str, str], tuple[float, float]],
) -> pd.DataFrame:
    if protocol not in PROTOCOL_DESCRIPTIONS:
        raise EmoInputError(
            f"protocol must be one of {tuple(PROTOCOL_DESCRIPTIONS)}, got {protocol!r}"
        )
    runs = list(runs)
    if not runs:
        raise EmoInputError("no runs to tabulate")
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for run in runs:
        _check_run(run, run.get("source_path") if isinstance(run, dict) else None)
        key = (str(run["corpus"]), str(run["corpus_kind"]), str(run["variant"]))
        groups.setdefault(key, []).append(run)

    rows = []
    for (corpus, kind, variant), members in groups.items():
        seeds = [member["seed"] for member in members]
        if len(set(seeds)) != len(seeds):
            duplicated = sorted({str(s) for s in seeds if seeds.count(s) > 1})
            raise EmoInputError(
                f"{corpus} ({kind}) {variant}: seed {', '.join(duplicated)} appears more than "
                "once; a run was collected twice",
                path=members[0].get("source_path"),
            )
        settings = {}
        for field in ("preset", "split", "label_step_ms"):
            values = {json.dumps(member.get(field), sort_keys=True) for member in members}
            if len(values) > 1:
                shown = sorted({str(_describe(field, member.get(field))) for member in members})
                raise EmoInputError(
                    f"{corpus} ({kind}) {variant}: runs with different {field} values "
                    f"({'; '.join(shown)[:300]}) cannot be averaged; select runs first",
                    path=members[0].get("source_path"),
                )
            settings[field] = _describe(field, members[0].get(field))
        row_paper = paper_corpus(corpus)
        row: dict[str, Any] = {
            "corpus": corpus,
            "corpus_kind": kind,
            "paper_corpus": row_paper,
            "model": variant,
            "model_label": MODEL_LABELS[variant],
            "metric": metric,
            "protocol": protocol,
            "preset": settings["preset"],
            "split": settings["split"],
            "label_step_ms": settings["label_step_ms"],
            "n_seeds": len(members),
            "seeds": " ".join(str(s) for s in sorted(seeds, key=str)),
        }
        for dimension in DIMENSIONS:
            values = np.array([_run_value(m, metric, protocol, dimension) for m in members])
            row[f"{dimension}_mean"] = float(np.mean(values))
            row[f"{dimension}_sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
        intervals = _ci_for(ci, corpus, variant)
        if ci is not None:
            for dimension in DIMENSIONS:
                low, high = intervals[dimension] if intervals else (math.nan, math.nan)
                row[f"{dimension}_ci_low"] = low
                row[f"{dimension}_ci_high"] = high
        paper_values = paper.get((row_paper, variant)) if row_paper else None
        row["paper_arousal"] = paper_values[0] if paper_values else math.nan
        row["paper_valence"] = paper_values[1] if paper_values else math.nan
        rows.append(row)

    table = pd.DataFrame(rows)
    table["_order"] = table["model"].map(MODEL_ORDER.index)
    table = table.sort_values(["corpus", "corpus_kind", "_order"], kind="stable")
    return table.drop(columns="_order").reset_index(drop=True)


def table1(
    runs: Sequence[dict],
    *,
    protocol: str = "concatenated",
    ci: Mapping[tuple[str, str], Mapping[str, tuple[float, float]]] | None = None,
) -> pd.DataFrame:
    """Table 1: our test-set CCC per (corpus, model), mean and sd over seeds, beside the paper's.

    Parameters
    ----------
    runs : sequence of dict
        Run records as returned by :func:`collect_runs`. Runs are grouped by
        (``corpus``, ``corpus_kind``, ``variant``); the runs of one group must
        share ``preset``, ``split`` and ``label_step_ms`` and have distinct seeds.
        A preset or split given as a dictionary is shown by its name (the
        preset's ``name``; the split's ``method``, seed and test size).
    protocol : {"concatenated", "per_conversation"}
        Which of the run's CCC values to tabulate (see
        :data:`PROTOCOL_DESCRIPTIONS`).
    ci : mapping, optional
        ``{(corpus, variant): {"arousal": (low, high), "valence": (low, high)}}``,
        e.g. from :func:`emo_lib.statistics.bootstrap_ci`. When given, the table
        gains ``<dimension>_ci_low`` / ``<dimension>_ci_high`` columns (NaN for
        groups without an entry).

    Returns
    -------
    pandas.DataFrame
        One row per (corpus, corpus kind, model), models in the order of
        :data:`MODEL_ORDER` (ridge, baseline, W, S, WS, WSG). Columns: ``corpus``, ``corpus_kind``, ``paper_corpus``,
        ``model``, ``model_label``, ``metric``, ``protocol``, ``preset``,
        ``split``, ``label_step_ms``, ``n_seeds``, ``seeds``, ``arousal_mean``,
        ``arousal_sd``, ``valence_mean``, ``valence_sd`` (sd with N-1, NaN for
        one seed), optional CI columns, ``paper_arousal``, ``paper_valence``
        (NaN for a corpus the paper does not use).

    Raises
    ------
    EmoInputError
        No runs, an unknown protocol, a run without that CCC value, a seed
        present twice in a group, or runs of different presets in a group.
    """
    return _aggregate(runs, metric="ccc", protocol=protocol, ci=ci, paper=PAPER_TABLE1)


def pearson_table(runs: Sequence[dict], *, protocol: str = "concatenated") -> pd.DataFrame:
    """The SEMAINE Pearson ("MCC") comparison: ours per model beside the paper's W+S .682 / .511.

    Parameters
    ----------
    runs : sequence of dict
        Run records; only those whose corpus maps to SEMAINE
        (:func:`paper_corpus`) are used.
    protocol : {"concatenated", "per_conversation"}
        Which of the run's Pearson values to tabulate.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`table1` with ``metric == "pearson"``; the paper
        columns hold :data:`PAPER_MCC_SEMAINE_WS` on the W+S row and NaN
        elsewhere (the paper reports Pearson for W+S only).

    Raises
    ------
    EmoInputError
        No SEMAINE runs, or a run without its Pearson values.
    """
    semaine = [run for run in runs if paper_corpus(run.get("corpus", "")) == "SEMAINE"]
    if not semaine:
        raise EmoInputError("no SEMAINE runs among the runs given")
    paper = {("SEMAINE", "WS"): PAPER_MCC_SEMAINE_WS}
    return _aggregate(semaine, metric="pearson", protocol=protocol, ci=None, paper=paper)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _ours_cell(row: pd.Series, dimension: str) -> str:
    text = f"ours {format_score(row[f'{dimension}_mean'])}"
    sd = row[f"{dimension}_sd"]
    if sd is not None and math.isfinite(float(sd)):
        text += f" ± {format_score(sd)}"
    low_key = f"{dimension}_ci_low"
    if low_key in row.index and math.isfinite(float(row[low_key])):
        text += (
            f" [{format_score(row[low_key])}, {format_score(row[f'{dimension}_ci_high'])}]"
        )
    return text


def _paper_cell(value) -> str:
    if value is None or not math.isfinite(float(value)):
        return "not in the paper"
    return f"paper {format_score(value)}"


def _data_line(df: pd.DataFrame) -> str:
    parts = []
    synthetic = False
    for (corpus, kind), group in df.groupby(["corpus", "corpus_kind"], sort=True):
        row = group["paper_corpus"].iloc[0]
        if kind == "synthetic":
            synthetic = True
            layout = f" in the {row} layout" if isinstance(row, str) else ""
            parts.append(f"{corpus}: the synthetic stand-in corpus{layout}")
        else:
            against = (
                f", compared with the paper's {row} row"
                if isinstance(row, str)
                else ", a corpus the paper does not use"
            )
            parts.append(f"{corpus}: real recordings{against}")
    line = "Data: " + "; ".join(parts) + "."
    if synthetic:
        line += (
            " Numbers on the synthetic stand-in check the machinery end to end; they are not the "
            "paper's claims and can neither confirm nor refute them."
        )
    return line


def write_table1(
    df: pd.DataFrame, md_path: str | Path, csv_path: str | Path, *, note: str
) -> tuple[Path, Path]:
    """Write a table from :func:`table1` (or :func:`pearson_table`) as Markdown and CSV.

    The Markdown starts with a header stating the metric, the protocol, which
    corpus the numbers come from (a synthetic stand-in is named as such, with
    the statement that its numbers are not the paper's claims) and ``note``;
    then one row per (corpus, model) with our cell beside the paper's:
    ``ours .612 ± .020 | paper .675``; the paper cells of a model it does not
    have read "not in the paper", and a model of :data:`BEYOND_PAPER_MODELS`
    is named "W+S gated (beyond the paper)". The CSV holds every column of ``df``.
    Both files are written atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`table1` or :func:`pearson_table`.
    md_path, csv_path : str or pathlib.Path
        Destinations (folders are created).
    note : str
        A sentence or paragraph written under the header (what was run, where).

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The Markdown and CSV paths.

    Raises
    ------
    EmoInputError
        ``df`` is empty or lacks the columns of :func:`table1`.
    """
    needed = {
        "corpus", "corpus_kind", "paper_corpus", "model_label", "metric", "protocol",
        "n_seeds", "arousal_mean", "arousal_sd", "valence_mean", "valence_sd",
        "paper_arousal", "paper_valence",
    }
    if not isinstance(df, pd.DataFrame) or df.empty:
        raise EmoInputError("nothing to write: the table is empty")
    missing = sorted(needed - set(df.columns))
    if missing:
        raise EmoInputError(f"table lacks columns {missing}; build it with table1()")
    metrics = sorted(set(df["metric"]))
    protocols = sorted(set(df["protocol"]))
    if len(metrics) != 1 or len(protocols) != 1:
        raise EmoInputError("a written table holds one metric and one protocol")
    metric, protocol = metrics[0], protocols[0]
    title = "Table 1" if metric == "ccc" else "SEMAINE Pearson (\"MCC\") comparison"
    seeds_text = "mean ± sd over seeds (sd with N-1)"
    if any(col.endswith("_ci_low") for col in df.columns):
        seeds_text += "; in brackets, the 95 % BCa bootstrap interval over test conversations"
    lines = [
        f"# {title}: ours beside Yang & Hirschberg (2018)",
        "",
        f"Metric: {_METRIC_NAMES.get(metric, metric)} of arousal and valence on the test set. "
        f"Protocol: {protocol}, {PROTOCOL_DESCRIPTIONS.get(protocol, protocol)}. "
        f"Ours: {seeds_text}. Paper: single runs, as published.",
        "",
        _data_line(df),
        "",
        str(note),
        "",
        "| Corpus | Data | Model | Seeds | Arousal (ours) | Arousal (paper) "
        "| Valence (ours) | Valence (paper) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, row in df.iterrows():
        corpus = str(row["corpus"])
        if isinstance(row["paper_corpus"], str):
            corpus += f" ({row['paper_corpus']})"
        model = str(row["model_label"])
        if row.get("model") in BEYOND_PAPER_MODELS:
            model += " (beyond the paper)"
        cells = [
            corpus,
            str(row["corpus_kind"]),
            model,
            str(int(row["n_seeds"])),
            _ours_cell(row, "arousal"),
            _paper_cell(row["paper_arousal"]),
            _ours_cell(row, "valence"),
            _paper_cell(row["paper_valence"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    md_path = atomic_write_text(md_path, "\n".join(lines))
    csv_path = atomic_write_text(csv_path, df.to_csv(index=False))
    return Path(md_path), Path(csv_path)
