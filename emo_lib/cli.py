"""The ``emo`` command line: parses arguments and calls emo_lib's functions, nothing more.

Run ``emo --help`` or ``emo COMMAND --help``. Bad input ends with a one-line
message naming the file and the problem, and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from .errors import EmoInputError  # noqa: E402

__all__ = ["main", "build_parser"]

CORPUS_CHOICES = ("semaine", "recola", "recola-avec2016")


def _add_corpus_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--corpus", choices=CORPUS_CHOICES, required=required,
                        help="corpus layout of --root")
    parser.add_argument("--root", type=Path, required=required,
                        help="folder of the corpus (a real copy, or one written by 'emo synth')")
    parser.add_argument("--gold", choices=("mean", "ccc_centred"), default="mean",
                        help="rater fusion for the gold standard (default: mean, as the paper)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="leave out conversations with bad files instead of stopping")


def _add_split_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--split", choices=("random", "speaker", "partition"), default=None,
                        help="random 70/30 of conversations (the paper; default), speaker-independent, "
                             "or the AVEC 2016 partitions (default for recola-avec2016)")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the split (default 0)")
    parser.add_argument("--manifest", type=Path, default=None,
                        help="reuse the split of this manifest instead of making one")
    parser.add_argument("--cache", type=Path, default=Path("cache"),
                        help="per-conversation array cache (default: ./cache)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``emo`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="emo",
        description="Continuous arousal and valence from waveforms and spectrograms "
                    "(Yang & Hirschberg, Interspeech 2018).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    synth = commands.add_parser(
        "synth", help="write a synthetic stand-in corpus in a real corpus's on-disk layout",
        description="Write a synthetic stand-in corpus (speech-like audio whose hidden arousal and "
                    "valence drive documented acoustic correlates, with rater traces) in exactly the "
                    "layout of SEMAINE, RECOLA or RECOLA as packaged for AVEC 2016. It checks the "
                    "machinery; it is not emotional speech. Writes the corpus folder OUT.")
    synth.add_argument("--corpus", choices=CORPUS_CHOICES, required=True)
    synth.add_argument("--out", type=Path, required=True, help="folder to write")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--speakers", type=int, default=None, help="number of speakers (users, participants)")
    synth.add_argument("--conversations", type=int, default=None,
                       help="conversations per speaker (SEMAINE character sessions)")
    synth.add_argument("--duration", type=float, default=None, help="seconds per conversation")

    prepare = commands.add_parser(
        "prepare", help="read a corpus, split it, cache its arrays and summarise it",
        description="Read a corpus, check every file, split its conversations, preprocess them into the "
                    "cache and print a summary beside the paper's segment counts. Writes the split "
                    "manifest OUT/split.json and the cache.")
    _add_corpus_arguments(prepare)
    _add_split_arguments(prepare)
    prepare.add_argument("--out", type=Path, required=True, help="folder for split.json")
    prepare.add_argument("--segment-seconds", type=float, default=6.0)
    prepare.add_argument("--baseline-features", action="store_true",
                         help="also compute the openSMILE ComParE features of the baseline")

    train = commands.add_parser(
        "train", help="train one model on a corpus and evaluate it on the test conversations",
        description="Train one model (baseline, W, S or WS) with checkpoints every epoch, early stopping "
                    "on the validation mean CCC, then evaluate it on the test conversations. Writes into "
                    "OUT: model.keras, best.keras, checkpoints/, log.csv, tensorboard/, run.json, "
                    "state.json, predictions.csv and metrics.json. A killed run continues with --resume.")
    _add_corpus_arguments(train)
    _add_split_arguments(train)
    train.add_argument("--variant", choices=("baseline", "W", "S", "WS"), required=True)
    train.add_argument("--preset", default="paper", help="model preset: paper, narrow or tiny (default paper)")
    train.add_argument("--long-conv", choices=("auto", "direct", "fft"), default=None,
                       help="how the 800-tap waveform convolution is computed (same function either way)")
    train.add_argument("--out", type=Path, required=True, help="run folder")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--epochs", type=int, default=None, help="maximum epochs (default 100)")
    train.add_argument("--patience", type=int, default=None, help="early-stopping patience (default 10)")
    train.add_argument("--batch-size", type=int, default=None, help="default 50 (the paper)")
    train.add_argument("--learning-rate", type=float, default=None, help="default 5e-4 (the paper)")
    train.add_argument("--xla", choices=("auto", "on", "off"), default="auto",
                       help="XLA compilation (auto: on when the model has a long direct convolution)")
    train.add_argument("--resume", action="store_true", help="continue the run in OUT")
    train.add_argument("--quiet", action="store_true", help="one line per epoch instead of progress bars")

    evaluate = commands.add_parser(
        "evaluate", help="evaluate a trained model on a corpus's test conversations",
        description="Predict the test conversations of a split with a trained model. Writes "
                    "OUT/predictions.csv and OUT/metrics.json (CCC and Pearson per dimension, "
                    "concatenated and per conversation, with the configuration and versions).")
    evaluate.add_argument("--model", type=Path, required=True, help="a .keras model")
    _add_corpus_arguments(evaluate)
    _add_split_arguments(evaluate)
    evaluate.add_argument("--out", type=Path, required=True)

    predict = commands.add_parser(
        "predict", help="arousal and valence over a WAV file",
        description="Predict arousal and valence over a WAV file of any length, sample rate and channel "
                    "count. Writes a CSV (time, arousal, valence) at the model's label step, and with "
                    "--plot a PNG of the trace.")
    predict.add_argument("audio", type=Path, help="a WAV file")
    predict.add_argument("--model", type=Path, required=True, help="a .keras model from 'emo train'")
    predict.add_argument("--out", type=Path, default=None, help="CSV to write (default: AUDIO with .csv)")
    predict.add_argument("--plot", nargs="?", type=Path, const=True, default=None,
                         help="also write a PNG of the trace (default name: the CSV's with .png)")

    study = commands.add_parser(
        "study", help="run every experiment of Table 1 and write the table",
        description="Train and evaluate baseline, W, S and W+S for every seed of a profile on each "
                    "corpus, then write Table 1 beside the paper's numbers. Without corpus roots it "
                    "writes and uses the synthetic stand-in. Finished experiments are skipped and "
                    "unfinished ones resume. Writes OUT/<corpus>/<variant>/seed<k>/ and "
                    "OUT/table1.md, OUT/table1.csv.")
    study.add_argument("--profile", default="quick", help="paper, quick or ci (default quick)")
    study.add_argument("--semaine", type=Path, default=None, help="root of a SEMAINE copy")
    study.add_argument("--recola", type=Path, default=None, help="root of a RECOLA copy")
    study.add_argument("--recola-avec2016", type=Path, default=None,
                       help="root of a RECOLA AVEC 2016 copy (used instead of --recola when given)")
    study.add_argument("--out", type=Path, default=Path("runs"))
    study.add_argument("--seeds", type=int, nargs="+", default=None)
    study.add_argument("--variants", nargs="+", choices=("baseline", "W", "S", "WS"), default=None)

    notebooks = commands.add_parser(
        "notebooks", help="execute the study notebooks 01-04 top to bottom",
        description="Execute notebooks/01..04 in order with the given profile and corpus roots. Writes "
                    "the executed notebooks in place, the figures to figures/ and Table 1 to "
                    "figures/table1.md and figures/table1.csv; corpora, caches and runs go to WORK. "
                    "Without corpus roots they use the synthetic stand-in.")
    notebooks.add_argument("--profile", default="quick", help="quick (default), paper or ci")
    notebooks.add_argument("--seeds", type=int, nargs="+", default=None,
                           help="model seeds instead of the profile's")
    notebooks.add_argument("--semaine", type=Path, default=None)
    notebooks.add_argument("--recola", type=Path, default=None)
    notebooks.add_argument("--work", type=Path, default=Path("work"),
                           help="folder for corpora, caches and runs (default ./work)")
    notebooks.add_argument("--figures", type=Path, default=Path("figures"))
    notebooks.add_argument("--notebooks", type=Path, default=Path("notebooks"),
                           help="folder holding the notebooks")
    notebooks.add_argument("--output", type=Path, default=None,
                           help="write executed notebooks here instead of in place")
    return parser


# ----------------------------------------------------------------------------
# Commands
# ----------------------------------------------------------------------------


def _import_keras_quietly() -> None:
    """Import Keras (and its backend) with the backend's C++ start-up messages kept off the terminal.

    TensorFlow prints several lines to the process's standard error before its
    logging settings apply; they say nothing a user of the command line needs.
    """
    if "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _load(args):
    from .corpora import load_corpus

    corpus = load_corpus(args.corpus, args.root, gold=args.gold, skip_bad=args.skip_bad)
    for what, why in corpus.skipped:
        print(f"skipped {what}: {why}", file=sys.stderr)
    return corpus


def _prepare(args, corpus, *, with_compare: bool, segment_seconds: float, manifest_path=None):
    from .dataset import PreprocessConfig
    from .study import prepare_corpus

    method = args.split or ("partition" if args.corpus == "recola-avec2016" else "random")
    return prepare_corpus(
        corpus, split=args.manifest, split_method=method, split_seed=args.split_seed,
        preprocess=PreprocessConfig(segment_seconds=segment_seconds, with_compare=with_compare),
        cache_dir=args.cache, manifest_path=manifest_path)


def _cmd_synth(args) -> int:
    from .corpora.synthetic import write_synthetic_corpus

    options = {"n_speakers": args.speakers, "conversations_per_speaker": args.conversations,
               "duration_s": args.duration}
    path = write_synthetic_corpus(args.corpus, args.out, seed=args.seed,
                                  **{k: v for k, v in options.items() if v is not None})
    print(f"wrote a synthetic {args.corpus} corpus to {path}")
    return 0


def _cmd_prepare(args) -> int:
    import numpy as np

    corpus = _load(args)
    data = _prepare(args, corpus, with_compare=args.baseline_features, segment_seconds=args.segment_seconds,
                    manifest_path=args.out / "split.json")
    durations = [c.audio_duration for c in corpus.conversations]
    print(f"corpus {corpus.name} at {corpus.root}: {len(corpus)} conversations, "
          f"{len({c.speaker for c in corpus.conversations})} speakers, "
          f"{sum(durations) / 60:.1f} min of audio (median {np.median(durations):.0f} s)")
    from .results import PAPER_SEGMENTS, paper_corpus

    counts = data.counts()
    paper = PAPER_SEGMENTS.get(paper_corpus(corpus.name))
    print(f"segments: train {counts['train']} + validation {counts['validation']} / test {counts['test']}"
          + (f" (paper: {paper[0]} train / {paper[1]} test)" if paper else ""))
    print(f"split manifest: {args.out / 'split.json'}")
    return 0


def _cmd_train(args) -> int:
    from .config import TrainConfig, get_preset
    from .study import run_experiment

    preset = get_preset(args.preset)
    if args.long_conv:
        preset = preset.replace(long_conv=args.long_conv)
    changes = {"seed": args.seed, "jit_compile": {"auto": "auto", "on": True, "off": False}[args.xla]}
    for field, value in (("max_epochs", args.epochs), ("patience", args.patience),
                         ("batch_size", args.batch_size), ("learning_rate", args.learning_rate)):
        if value is not None:
            changes[field] = value
    config = TrainConfig().replace(**changes)
    if (args.out / "metrics.json").exists():
        raise EmoInputError("the run folder already holds a finished run", path=args.out)
    if (args.out / "state.json").exists() and not args.resume:
        raise EmoInputError("the run folder already holds a training run: add --resume to continue it",
                            path=args.out)
    corpus = _load(args)
    if args.resume and args.manifest is None and (args.out / "split.json").exists():
        args.manifest = args.out / "split.json"  # a resumed run keeps its split
    data = _prepare(args, corpus, with_compare=args.variant == "baseline",
                    segment_seconds=preset.segment_seconds, manifest_path=args.out / "split.json")
    record = run_experiment(data, args.variant, preset=preset, train_config=config, out_dir=args.out,
                            resume=args.resume, verbose=2 if args.quiet else 1)
    scores = record["metrics"]["ccc"]["concatenated"]
    print(f"test CCC arousal {scores['arousal']:.3f}, valence {scores['valence']:.3f} "
          f"({record['corpus_kind']} corpus {record['corpus']}); wrote {args.out}")
    return 0


def _cmd_evaluate(args) -> int:
    from .models import describe_model, load_model
    from .training import evaluate_model

    model = load_model(args.model)
    description = describe_model(model)
    corpus = _load(args)
    manifest = args.manifest or args.model.parent / "split.json"
    args.manifest = manifest if Path(manifest).exists() else None
    data = _prepare(args, corpus, with_compare=description["variant"] == "baseline",
                    segment_seconds=description["segment_seconds"])
    if data.label_step_ms != description["label_step_ms"]:
        raise EmoInputError(f"the model predicts every {description['label_step_ms']} ms but the corpus is "
                            f"labelled every {data.label_step_ms} ms", path=args.model)
    record = evaluate_model(model, data.test, args.out, run_info={
        "corpus": corpus.name, "corpus_root": str(corpus.root), "variant": description["variant"],
        "model_path": str(args.model), "split": data.split.to_dict(),
        "split_manifest": None if args.manifest is None else str(args.manifest)})
    scores = record["metrics"]["ccc"]["concatenated"]
    print(f"test CCC arousal {scores['arousal']:.3f}, valence {scores['valence']:.3f}; wrote {args.out}")
    return 0


def _cmd_predict(args) -> int:
    from .audio import audio_info

    audio_info(args.audio)  # fails fast, naming the file, before the model is loaded
    if not args.model.is_file():
        raise EmoInputError("model file not found", path=args.model)
    _import_keras_quietly()
    from .models import load_model
    from .prediction import predict_audio, write_trace_csv

    model = load_model(args.model)
    times, trace = predict_audio(model, args.audio)
    csv_path = args.out or args.audio.with_suffix(".csv")
    write_trace_csv(csv_path, times, trace)
    print(f"wrote {csv_path} ({len(times)} rows)")
    if args.plot is not None:
        from .plots import plot_trace

        png = csv_path.with_suffix(".png") if args.plot is True else args.plot
        plot_trace(times, trace[:, 0], trace[:, 1], png, title=f"{args.audio.name} ({model.name})")
        print(f"wrote {png}")
    return 0


def _cmd_study(args) -> int:
    from .results import collect_runs, table1, write_table1
    from .study import get_profile, load_study_corpora, run_study

    profile = get_profile(args.profile)
    roots = {"semaine": args.semaine, "recola": args.recola}
    if args.recola_avec2016 is not None:
        roots = {"semaine": args.semaine, "recola-avec2016": args.recola_avec2016}
    corpora = load_study_corpora(profile, roots, args.out)
    run_study(corpora, args.out, profile, variants=args.variants, seeds=args.seeds)
    runs = collect_runs(args.out)
    table = table1(runs)
    kinds = sorted({run.get("corpus_kind", "real") for run in runs})
    note = (f"Profile '{profile.name}'. Corpus: {', '.join(kinds)} copies of "
            f"{', '.join(corpora)}.")
    write_table1(table, args.out / "table1.md", args.out / "table1.csv", note=note)
    print((args.out / "table1.md").read_text(encoding="utf-8"))
    return 0


def _cmd_notebooks(args) -> int:
    from .notebooks import run_notebooks

    run_notebooks(profile=args.profile, seeds=args.seeds, semaine=args.semaine, recola=args.recola, work=args.work,
                  figures=args.figures, notebook_dir=args.notebooks, output_dir=args.output)
    return 0


COMMANDS = {
    "synth": _cmd_synth,
    "prepare": _cmd_prepare,
    "train": _cmd_train,
    "evaluate": _cmd_evaluate,
    "predict": _cmd_predict,
    "study": _cmd_study,
    "notebooks": _cmd_notebooks,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``emo`` and ``python -m emo_lib``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command != "predict":
            _import_keras_quietly()
        return COMMANDS[args.command](args)
    except EmoInputError as error:
        print(f"emo {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"emo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
