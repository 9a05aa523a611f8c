"""Tests of emo_lib.results: the paper's numbers, run records, Table 1 and its files."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from emo_lib import results
from emo_lib.errors import EmoInputError

# Table 1 and section 5.2 of Yang & Hirschberg (2018), typed in again from the paper.
PAPER = {
    "SEMAINE": {"baseline": (.376, .177), "W": (.675, .435), "S": (.656, .494), "WS": (.680, .506)},
    "RECOLA": {"baseline": (.317, .162), "W": (.674, .361), "S": (.651, .408), "WS": (.692, .423)},
}


def run_record(corpus, kind, variant, seed, values, *, preset="narrow", pearson=None):
    """A metrics.json record; values = (concatenated a, v, per-conversation a, v)."""
    ca, cv, pa, pv = values
    pearson = pearson if pearson is not None else (ca + 0.01, cv + 0.01)
    return {
        "corpus": corpus,
        "corpus_kind": kind,
        "variant": variant,
        "seed": seed,
        "label_step_ms": 20 if corpus == "semaine" else 40,
        "split": "random",
        "preset": preset,
        "metrics": {
            "ccc": {
                "concatenated": {"arousal": ca, "valence": cv},
                "per_conversation": {"arousal": pa, "valence": pv},
            },
            "pearson": {
                "concatenated": {"arousal": pearson[0], "valence": pearson[1]},
                "per_conversation": {"arousal": pearson[0], "valence": pearson[1]},
            },
        },
    }


@pytest.fixture
def runs():
    rng = np.random.default_rng(0)
    out = []
    for variant, n_seeds in (("baseline", 1), ("W", 3), ("S", 2), ("WS", 3)):
        for seed in range(n_seeds):
            out.append(run_record("semaine", "synthetic", variant, seed, rng.uniform(0.2, 0.8, 4)))
    for seed in range(2):
        out.append(run_record("recola-avec2016", "real", "WS", seed, rng.uniform(0.2, 0.8, 4)))
    return out


def write_runs(folder, records):
    paths = []
    for i, record in enumerate(records):
        run_dir = folder / f"run_{i:02d}"
        run_dir.mkdir(parents=True)
        (run_dir / "metrics.json").write_text(json.dumps(record))
        paths.append(run_dir)
    return paths


def test_paper_numbers_are_exact():
    for corpus, row in PAPER.items():
        for model, values in row.items():
            assert results.PAPER_TABLE1[(corpus, model)] == values
    assert len(results.PAPER_TABLE1) == 8
    assert results.PAPER_MCC_SEMAINE_WS == (0.682, 0.511)
    assert results.PAPER_SEGMENTS == {"SEMAINE": (934, 396), "RECOLA": (800, 350)}
    assert results.MODEL_LABELS == {"ridge": "Ridge floor", "baseline": "Baseline", "W": "W only",
                                    "S": "S only", "WS": "W+S", "WSG": "W+S gated"}
    # W+S gated goes beyond the paper: no paper number for it either.
    assert not any(model == "WSG" for _, model in results.PAPER_TABLE1)
    assert results.MODEL_ORDER[-2:] == ("WS", "WSG") and results.BEYOND_PAPER_MODELS == ("WSG",)
    # The floor is the project's own row: the paper has no number for it.
    assert not any(model == "ridge" for _, model in results.PAPER_TABLE1)


def test_paper_corpus_and_formatting():
    assert results.paper_corpus("semaine") == "SEMAINE"
    assert results.paper_corpus("RECOLA") == "RECOLA"
    assert results.paper_corpus("recola-avec2016") == "RECOLA"
    assert results.paper_corpus("semainex") is None
    assert results.format_score(0.6124) == ".612"
    assert results.format_score(-0.0504) == "-.050"
    assert results.format_score(float("nan")) == "n/a"
    assert results.format_p(0.0004) == "p < .001"
    assert results.format_p(0.0312) == "p = .031"


def test_collect_runs_from_glob_folders_and_files(tmp_path, runs):
    paths = write_runs(tmp_path / "runs", runs)
    by_glob = results.collect_runs(str(tmp_path / "runs" / "run_*"))
    assert [r["seed"] for r in by_glob] == [r["seed"] for r in runs]
    assert by_glob[0]["source_path"] == str(paths[0] / "metrics.json")
    by_list = results.collect_runs(paths[:2])
    assert [r["variant"] for r in by_list] == ["baseline", "W"]
    by_file = results.collect_runs([paths[3] / "metrics.json"])
    assert by_file[0]["metrics"] == runs[3]["metrics"]
    recursive = results.collect_runs(str(tmp_path / "**" / "metrics.json"))
    assert len(recursive) == len(runs)
    study_folder = results.collect_runs(tmp_path)  # no metrics.json of its own: search below
    assert [r["source_path"] for r in study_folder] == [r["source_path"] for r in by_glob]


def test_collect_runs_reports_bad_records(tmp_path, runs):
    with pytest.raises(EmoInputError, match="matches"):
        results.collect_runs(str(tmp_path / "nothing_*"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "metrics.json").write_text("{not json")
    with pytest.raises(EmoInputError, match=r"broken/metrics.json: cannot read"):
        results.collect_runs([broken])
    record = dict(runs[0])
    del record["variant"]
    (broken / "metrics.json").write_text(json.dumps(record))
    with pytest.raises(EmoInputError, match="'variant'"):
        results.collect_runs(broken)
    with pytest.raises(EmoInputError, match="no metrics.json"):
        results.collect_runs([tmp_path / "absent"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmoInputError, match="or below it"):
        results.collect_runs(tmp_path / "empty")


def test_table1_aggregates_over_seeds(runs):
    table = results.table1(runs)
    assert list(table.model[table.corpus == "semaine"]) == ["baseline", "W", "S", "WS"]
    for protocol in ("concatenated", "per_conversation"):
        table = results.table1(runs, protocol=protocol)
        for _, row in table.iterrows():
            members = [r for r in runs if r["corpus"] == row.corpus and r["variant"] == row.model]
            assert row.n_seeds == len(members)
            for k, dimension in enumerate(("arousal", "valence")):
                values = np.array(
                    [r["metrics"]["ccc"][protocol][dimension] for r in members]
                )
                assert row[f"{dimension}_mean"] == pytest.approx(values.mean(), abs=1e-15)
                if len(values) > 1:
                    assert row[f"{dimension}_sd"] == pytest.approx(values.std(ddof=1), abs=1e-15)
                else:
                    assert math.isnan(row[f"{dimension}_sd"])
            assert row.protocol == protocol
    indexed = table.set_index(["corpus", "model"])
    assert indexed.loc[("semaine", "W"), "paper_arousal"] == 0.675
    assert indexed.loc[("semaine", "S"), "paper_valence"] == 0.494
    assert indexed.loc[("recola-avec2016", "WS"), "paper_corpus"] == "RECOLA"
    assert indexed.loc[("recola-avec2016", "WS"), "paper_arousal"] == 0.692
    assert indexed.loc[("recola-avec2016", "WS"), "corpus_kind"] == "real"
    assert indexed.loc[("semaine", "W"), "seeds"] == "0 1 2"


def test_table1_rejects_inconsistent_runs(runs):
    with pytest.raises(EmoInputError, match="seed 0 appears more than once"):
        results.table1(runs + [runs[1]])
    other = run_record("semaine", "synthetic", "W", 7, (0.5, 0.5, 0.5, 0.5), preset="paper")
    with pytest.raises(EmoInputError, match="different preset"):
        results.table1(runs + [other])
    incomplete = run_record("semaine", "synthetic", "W", 8, (0.5, 0.5, 0.5, 0.5))
    del incomplete["metrics"]["ccc"]["per_conversation"]
    with pytest.raises(EmoInputError, match="metrics.ccc.per_conversation.arousal"):
        results.table1(runs + [incomplete], protocol="per_conversation")


def test_table1_names_dictionary_settings(runs):
    split = {"corpus": "semaine", "method": "random", "seed": 3, "train": ["a", "b"],
             "validation": ["c"], "test": ["d", "e"]}
    for run in runs:
        run["preset"] = {"name": "narrow", "wave_conv2_kernel": 200}
        run["split"] = split
    table = results.table1(runs)
    assert set(table.preset) == {"narrow"}
    assert set(table.split) == {"random (seed 3, 2 test conversations)"}
    other = json.loads(json.dumps(runs[1]))
    other["seed"] = 9
    other["split"]["test"] = ["d"]  # another test set cannot be averaged in
    with pytest.raises(EmoInputError, match="different split"):
        results.table1(runs + [other])


def test_table1_interval_columns(runs):
    ci = {("semaine", "W"): {"arousal": (0.40, 0.60), "valence": (0.30, 0.50)}}
    table = results.table1(runs, ci=ci).set_index(["corpus", "model"])
    assert table.loc[("semaine", "W"), "arousal_ci_low"] == 0.40
    assert table.loc[("semaine", "W"), "valence_ci_high"] == 0.50
    assert math.isnan(table.loc[("semaine", "S"), "arousal_ci_low"])
    assert "arousal_ci_low" not in results.table1(runs).columns


def test_write_table1(tmp_path, runs):
    runs = [r for r in runs if r["variant"] != "W"] + [
        run_record("semaine", "synthetic", "W", s, (0.612 + d, 0.4, 0.5, 0.3))
        for s, d in enumerate((-0.02, 0.0, 0.02))
    ]
    table = results.table1(runs)
    note = "Trained with the narrow preset on the stand-in; 3 seeds."
    md, csv = results.write_table1(table, tmp_path / "out" / "table1.md",
                                   tmp_path / "out" / "table1.csv", note=note)
    text = md.read_text(encoding="utf-8")
    assert note in text
    assert "Protocol: concatenated" in text
    assert "synthetic stand-in" in text and "not the paper's claims" in text
    assert "| ours .612 ± .020 | paper .675 |" in text
    assert "paper .692" in text  # the RECOLA W+S row
    assert "recola-avec2016: real recordings" in text
    back = pd.read_csv(csv)
    assert list(back.columns) == list(table.columns)
    np.testing.assert_allclose(back.arousal_mean, table.arousal_mean)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["table1.csv", "table1.md"]
    with pytest.raises(EmoInputError, match="empty"):
        results.write_table1(table.iloc[:0], tmp_path / "x.md", tmp_path / "x.csv", note=note)


def test_pearson_table(tmp_path, runs):
    table = results.pearson_table(runs).set_index("model")
    assert set(table.corpus) == {"semaine"}
    assert tuple(table.loc["WS", ["paper_arousal", "paper_valence"]]) == (0.682, 0.511)
    assert math.isnan(table.loc["W", "paper_arousal"])
    members = [r for r in runs if r["corpus"] == "semaine" and r["variant"] == "S"]
    expected = np.mean([r["metrics"]["pearson"]["concatenated"]["valence"] for r in members])
    assert table.loc["S", "valence_mean"] == pytest.approx(expected)
    md, _ = results.write_table1(results.pearson_table(runs), tmp_path / "p.md",
                                 tmp_path / "p.csv", note="Pearson check.")
    assert "paper .682" in md.read_text(encoding="utf-8")
    with pytest.raises(EmoInputError, match="no SEMAINE runs"):
        results.pearson_table([r for r in runs if r["corpus"] != "semaine"])


def test_gated_row_follows_ws_and_is_beyond_the_paper(tmp_path, runs):
    runs = runs + [run_record("semaine", "synthetic", "WSG", s, (0.7, 0.5, 0.6, 0.4)) for s in range(2)]
    runs.append(run_record("semaine", "synthetic", "ridge", 0, (0.2, 0.1, 0.2, 0.1)))
    table = results.table1(runs)
    assert list(table.model[table.corpus == "semaine"]) == ["ridge", "baseline", "W", "S", "WS", "WSG"]
    gated = table[(table.corpus == "semaine") & (table.model == "WSG")].iloc[0]
    assert gated.model_label == "W+S gated" and math.isnan(gated.paper_arousal) and gated.n_seeds == 2
    md, _ = results.write_table1(table, tmp_path / "t.md", tmp_path / "t.csv", note="note")
    rows = {line.split(" | ")[2]: line for line in md.read_text(encoding="utf-8").splitlines()
            if line.startswith("| semaine")}
    assert "W+S gated (beyond the paper)" in rows
    assert rows["W+S gated (beyond the paper)"].count("| not in the paper |") == 2
    assert rows["W+S"].count("| paper .") == 2 and "Ridge floor" in rows  # other rows unchanged
