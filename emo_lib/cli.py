"""The ``emo`` command line: parses arguments and calls emo_lib's functions, nothing more.

Run ``emo --help`` or ``emo COMMAND --help``; ``emo --version`` prints the
version. Bad input ends with a one-line message naming the file and the
problem, and exit status 2; Ctrl-C ends with exit status 130.

Messages go through the :mod:`logging` logger ``"emo_lib"`` to standard
error: warnings by default, progress with ``-v``, details with ``-vv``, errors
only with ``-q``. TensorFlow's own messages follow the same choice
(``TF_CPP_MIN_LOG_LEVEL``, unless it is set already): its warnings and errors
are shown, and the informational lines it prints while it starts are
filtered out (all of them are shown with ``-vv``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import warnings
from pathlib import Path

from . import __version__
from . import _tf_log_level_set_by_user
from .errors import EmoInputError

__all__ = ["main", "build_parser"]

logger = logging.getLogger("emo_lib")

CORPUS_CHOICES = ("semaine", "recola", "recola-avec2016", "generic")
STUDY_VARIANTS = ("ridge", "baseline", "W", "S", "WS", "WSG")
"""The choices of ``--variant`` and ``--variants``: :data:`emo_lib.study.VARIANTS`, repeated here so
that ``emo --help`` answers without importing Keras."""


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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _add_message_arguments(parser: argparse.ArgumentParser, suffix: str) -> None:
    parser.add_argument("-v", "--verbose", action="count", default=0, dest="verbose" + suffix,
                        help="more messages on standard error: -v progress, -vv details and all of "
                             "TensorFlow's messages")
    parser.add_argument("-q", "--quiet", action="count", default=0, dest="quiet_level" + suffix,
                        help="errors only on standard error (results are still printed)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``emo`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="emo",
        description="Continuous arousal and valence from waveforms and spectrograms "
                    "(Yang & Hirschberg, Interspeech 2018).",
        epilog="-v and -q go before or after COMMAND (emo -v predict ..., emo predict ... -q). Bad input ends with one "
               "line naming the file and the problem, and exit status 2; Ctrl-C with exit status 130.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_message_arguments(parser, "")
    # The same options are accepted after COMMAND (emo train ... -q), and add up with those before it.
    messages = argparse.ArgumentParser(add_help=False)
    _add_message_arguments(messages, "_after")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_parser = commands.add_parser
    commands.add_parser = lambda *a, **k: _add_parser(*a, parents=[messages], **k)

    synth = commands.add_parser(
        "synth", help="write a synthetic stand-in corpus in a real corpus's on-disk layout",
        description="Write a synthetic stand-in corpus (speech-like audio whose hidden arousal and "
                    "valence drive documented acoustic correlates, with rater traces) in exactly the "
                    "layout of SEMAINE, RECOLA or RECOLA as packaged for AVEC 2016. It checks the "
                    "machinery; it is not emotional speech. Writes the corpus folder OUT.")
    synth.add_argument("--corpus", choices=CORPUS_CHOICES, required=True)
    synth.add_argument("--out", type=Path, required=True, help="folder to write")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--speakers", type=int, default=None,
                       help="number of speakers (SEMAINE users 1-99, RECOLA participants 1-46, AVEC 2016 "
                            "recordings per partition 1-9, generic speakers 1-99)")
    synth.add_argument("--conversations", type=int, default=None,
                       help="conversations per speaker (SEMAINE character sessions)")
    synth.add_argument("--duration", type=float, default=None, help="seconds per conversation")
    synth.add_argument("--cues", choices=("standard", "tower_test"), default="standard",
                       help="standard: arousal and valence move level, pitch, rate and spectrum (default); "
                            "tower_test: arousal moves only the glottal pulse's phase, which no power "
                            "spectrogram sees, and valence only the spectral envelope")
    synth.add_argument("--label-step", type=int, choices=(20, 40), default=None,
                       help="label step in ms of the generic layout (default 40)")

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
        description="Train one model (ridge, baseline, W, S, WS or WSG) with checkpoints every epoch, early stopping "
                    "on the validation mean CCC, then evaluate it on the test conversations. Writes into "
                    "OUT: model.keras, best.keras, checkpoints/, log.csv, tensorboard/, run.json, "
                    "state.json, predictions.csv and metrics.json. A killed run continues with --resume.")
    _add_corpus_arguments(train)
    _add_split_arguments(train)
    train.add_argument("--variant", choices=STUDY_VARIANTS, required=True,
                       help="ridge: the linear floor on prosodic features; baseline: openSMILE ComParE + BLSTM; "
                            "W, S, WS: the paper's waveform, spectrogram and fused models; WSG: W+S with a "
                            "per-step gate weighting the two towers (beyond the paper)")
    train.add_argument("--preset", default="paper", help="model preset: paper, narrow or tiny (default paper)")
    train.add_argument("--long-conv", choices=("auto", "direct", "fft"), default=None,
                       help="how the 800-tap waveform convolution is computed (same function either way)")
    train.add_argument("--lstm", choices=("projected", "keras"), default=None,
                       help="the LSTM in the BLSTMs: projected (input projection outside the recurrence, "
                            "faster on a CPU) or keras (keras.layers.LSTM); same function and weights "
                            "(default: the preset's)")
    train.add_argument("--out", type=Path, required=True, help="run folder")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--recipe", choices=("paper", "quick", "ci"), default="paper",
                       help="training settings to start from: 'paper' (RMSprop 5e-4, batch 50, early stopping "
                            "with patience 10; default) or a study profile's measured recipe ('quick': learning-"
                            "rate schedule and moving average of the weights); the options below override it")
    train.add_argument("--epochs", type=int, default=None, help="maximum epochs")
    train.add_argument("--min-epochs", type=int, default=None, help="early stopping never stops before this")
    train.add_argument("--patience", type=int, default=None, help="early-stopping patience")
    train.add_argument("--batch-size", type=int, default=None)
    train.add_argument("--learning-rate", type=float, default=None, help="initial RMSprop learning rate")
    train.add_argument("--lr-schedule", choices=("constant", "plateau"), default=None,
                       help="plateau: halve the learning rate after --lr-patience epochs without improvement")
    train.add_argument("--lr-patience", type=int, default=None)
    train.add_argument("--ema", type=float, default=None, metavar="MOMENTUM",
                       help="keep a moving average of the weights (e.g. 0.9) and validate and keep it; 0 turns "
                            "it off")
    train.add_argument("--refit", action=argparse.BooleanOptionalAction, default=None,
                       help="after choosing the number of epochs on the validation part, retrain on training and "
                            "validation conversations together for that many epochs")
    train.add_argument("--spectrogram-norm", choices=("train", "none", "conversation"), default="train",
                       help="spectrogram input, the log mel of the z-normalised waveform: standardised per band "
                            "with training-set statistics inside the model (train; default), unscaled (none), "
                            "or normalised per band over each conversation (conversation)")
    train.add_argument("--xla", choices=("auto", "on", "off"), default="auto",
                       help="XLA compilation (auto: on when the model has a long direct convolution)")
    train.add_argument("--devices", type=int, default=None, metavar="N",
                       help="train data-parallel on N devices of the Keras backend (default 1): "
                            "keras.distribution.DataParallel on JAX (a step equals one device's step on the "
                            "same batch), tf.distribute.MirroredStrategy on TensorFlow (the loss is the mean "
                            "of each device's 1 - CCC on its share of the batch). The batch size is the global "
                            "batch and must be a multiple of N. On a CPU, JAX shows N devices with "
                            "XLA_FLAGS='--xla_force_host_platform_device_count=N --xla_cpu_multi_thread_eigen=false'")
    train.add_argument("--resume", action="store_true", help="continue the run in OUT")
    train.add_argument("--progress", choices=("bar", "epoch", "none"), default="bar",
                       help="a progress bar per epoch (default), one line per epoch, or nothing")

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
        "predict", help="arousal and valence over audio files (WAV, FLAC, OGG, ...) or folders of them",
        description="Predict arousal and valence over audio files of any length, sample rate, channel count "
                    "and format libsndfile reads (WAV, FLAC, OGG Vorbis or Opus, MP3, AIFF, ...). AUDIO may be "
                    "files and folders: a folder contributes the audio files (by extension: .wav, .flac, "
                    ".ogg, .mp3, ...) directly inside it, not those in its subfolders unless --recursive "
                    "is given. Writes ONE CSV table for all files with the columns "
                    "file,start,end,arousal,valence: one row per label window of the model (every 20 or "
                    "40 ms), start and end in seconds from the start of the file (window i covers "
                    "[i*step, (i+1)*step)), arousal and valence on the rating scale of the corpus the "
                    "model was trained on, nominally [-1, 1]. Beside the table it writes a JSON sidecar "
                    "(the table's name with .json) naming the model file and its SHA-256, the corpus and "
                    "split the model was trained on (from run.json beside the model), the value scale, "
                    "the label step, the emo_lib version and the time; with --plot, one PNG per file. "
                    "A file that cannot be predicted gets one line on standard error and the others are "
                    "still predicted; the exit status is then 2 (0 when every file was predicted).")
    predict.add_argument("audio", type=Path, nargs="+", metavar="AUDIO", help="audio files and folders")
    predict.add_argument("--model", type=Path, required=True, help="a .keras model from 'emo train'")
    predict.add_argument("--out", type=Path, default=None,
                         help="the CSV table to write (default: AUDIO with .csv when AUDIO is one file, "
                              "predictions.csv in the current folder otherwise)")
    predict.add_argument("-r", "--recursive", action="store_true",
                         help="also take the audio files in the subfolders of folders, at any depth")
    predict.add_argument("--plot", action="store_true",
                         help="also write a PNG of each file's trace, named after the audio file "
                              "(talk.wav: talk.png), in --plot-dir")
    predict.add_argument("--plot-dir", type=Path, default=None,
                         help="folder for the PNGs (default: the table's folder); implies --plot")
    predict.add_argument("--batch-size", type=int, default=8, help="segments per model call (default 8)")

    study = commands.add_parser(
        "study", help="run every experiment of Table 1 and write the table",
        description="Train and evaluate the ridge floor, the baseline, W, S, W+S and W+S gated for every seed of a profile on each "
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
    study.add_argument("--generic", type=Path, default=None,
                       help="root of a corpus in the generic layout (run beside the others)")
    study.add_argument("--variants", nargs="+", choices=STUDY_VARIANTS, default=None)
    study.add_argument("--workers", type=_positive_int, default=None,
                       help="experiments trained at once, each in its own process (default: the "
                            "profile's, 2 for quick; 1 for paper, whose models fill a machine)")

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
# Messages: TensorFlow's start-up lines, the backend's devices
# ----------------------------------------------------------------------------


def _filter_native_stderr(verbosity: int):
    """The filter of TensorFlow's start-up lines, or nothing when every message is wanted."""
    from .native_logs import NativeStderrFilter

    if verbosity >= 2 or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") == "0":
        return contextlib.nullcontext()
    return NativeStderrFilter()


def _import_keras(*, check_devices: bool = False) -> None:
    """Import Keras and start its backend (under :func:`main`'s filter of TensorFlow's start-up lines).

    The backend's devices are enumerated here (TensorFlow initialises CUDA
    then), so the start-up messages all come at once. With ``check_devices``
    the devices are logged (-v), and a GPU that the backend cannot use is a
    warning.
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.list_physical_devices()
    if not check_devices:
        return
    from .model_card import device_info

    info = device_info()
    logger.info("Keras %s on %s; devices: %s; CPU: %s (%s)", keras.__version__, info["keras_backend"],
                ", ".join(info["devices"]) or "none", info["cpu_model"] or "unknown",
                ", ".join(info["cpu_vector_extensions"]) or "no vector extensions listed")
    if info["gpus_on_machine"] and not info["gpus"]:
        logger.warning("this machine has an NVIDIA GPU (%s) but Keras's %s backend sees none: it runs on "
                       "the CPU. Install the CUDA build (pip install 'emo_lib[gpu]') and check the "
                       "backend's messages with -vv", ", ".join(info["gpus_on_machine"]),
                       info["keras_backend"])


# ----------------------------------------------------------------------------
# Commands
# ----------------------------------------------------------------------------


def _load(args):
    from .corpora import load_corpus

    corpus = load_corpus(args.corpus, args.root, gold=args.gold, skip_bad=args.skip_bad)
    for what, why in corpus.skipped:
        print(f"skipped {what}: {why}", file=sys.stderr)
    return corpus


def _prepare(args, corpus, *, with_compare: bool, segment_seconds: float, manifest_path=None,
             spectrogram_norm: str = "train"):
    from .dataset import PreprocessConfig
    from .study import prepare_corpus

    method = args.split or ("partition" if args.corpus == "recola-avec2016" else "random")
    return prepare_corpus(
        corpus, split=args.manifest, split_method=method, split_seed=args.split_seed,
        preprocess=PreprocessConfig(segment_seconds=segment_seconds, with_compare=with_compare,
                                    spectrogram_norm=spectrogram_norm),
        cache_dir=args.cache, manifest_path=manifest_path)


def _cmd_synth(args) -> int:
    from .corpora.synthetic import write_synthetic_corpus

    options = {"n_speakers": args.speakers, "conversations_per_speaker": args.conversations,
               "duration_s": args.duration, "label_step_ms": args.label_step}
    if args.cues != "standard":
        options["cues"] = args.cues
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


def _train_config(args):
    """The recipe's TrainConfig with the options given on the command line."""
    from .config import TrainConfig
    from .study import get_profile

    config = TrainConfig() if args.recipe == "paper" else get_profile(args.recipe).train
    changes = {"seed": args.seed, "jit_compile": {"auto": "auto", "on": True, "off": False}[args.xla]}
    for field, value in (("max_epochs", args.epochs), ("min_epochs", args.min_epochs),
                         ("patience", args.patience), ("batch_size", args.batch_size),
                         ("learning_rate", args.learning_rate), ("lr_schedule", args.lr_schedule),
                         ("lr_patience", args.lr_patience), ("refit", args.refit),
                         ("devices", args.devices)):
        if value is not None:
            changes[field] = value
    if args.ema is not None:
        changes["ema_momentum"] = args.ema or None
    if changes.get("min_epochs", config.min_epochs) > changes.get("max_epochs", config.max_epochs):
        changes["min_epochs"] = changes.get("max_epochs", config.max_epochs)
    return config.replace(**changes)


def _cmd_train(args) -> int:
    from .config import get_preset
    from .devices import choose_devices
    from .study import run_experiment

    preset = get_preset(args.preset)
    if args.long_conv:
        preset = preset.replace(long_conv=args.long_conv)
    if args.lstm:
        preset = preset.replace(lstm=args.lstm)
    config = _train_config(args)
    chosen = choose_devices(config.devices)  # too few devices: said before the corpus is read
    if args.quiet_level == 0:
        from .model_card import describe_training_device, device_info

        print(f"training with {describe_training_device(device_info(), chosen)}", file=sys.stderr,
              flush=True)
    if (args.out / "metrics.json").exists():
        raise EmoInputError("the run folder already holds a finished run", path=args.out)
    if (args.out / "state.json").exists() and not args.resume:
        raise EmoInputError("the run folder already holds a training run: add --resume to continue it",
                            path=args.out)
    corpus = _load(args)
    if args.resume and args.manifest is None and (args.out / "split.json").exists():
        args.manifest = args.out / "split.json"  # a resumed run keeps its split
    data = _prepare(args, corpus, with_compare=args.variant == "baseline",
                    segment_seconds=preset.segment_seconds, manifest_path=args.out / "split.json",
                    spectrogram_norm=args.spectrogram_norm)
    progress = {"bar": 1, "epoch": 2, "none": 0}[args.progress]
    if args.quiet_level > 0 and args.progress == "bar":
        progress = 2
    record = run_experiment(data, args.variant, preset=preset, train_config=config, out_dir=args.out,
                            resume=args.resume, verbose=progress)
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
                    segment_seconds=description["segment_seconds"],
                    spectrogram_norm=description["spectrogram_norm"] or "train")
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


def _plot_paths(predictions, folder: Path) -> list[Path]:
    """One PNG per audio file, named after it, in ``folder``; repeated names get -2, -3, ..."""
    paths, used = [], set()
    for item in predictions:
        stem, number = item.path.stem, 1
        name = f"{stem}.png"
        while name in used:
            number += 1
            name = f"{stem}-{number}.png"
        used.add(name)
        paths.append(folder / name)
    return paths


def _cmd_predict(args) -> int:
    from .prediction import predict_files, write_prediction_sidecar, write_prediction_table

    if not args.model.is_file():
        raise EmoInputError("model file not found" if not args.model.exists() else "not a file", path=args.model)
    if args.batch_size < 1:
        raise EmoInputError(f"--batch-size must be at least 1, got {args.batch_size}")
    single_file = len(args.audio) == 1 and not args.audio[0].is_dir()
    table = args.out or (args.audio[0].with_suffix(".csv") if single_file else Path("predictions.csv"))
    if table.suffix.lower() != ".csv":
        raise EmoInputError("the table must be a .csv file", path=table)
    _import_keras(check_devices=True)

    def report(error: EmoInputError) -> None:
        print(f"emo predict: error: {error}", file=sys.stderr, flush=True)

    run = predict_files(args.model, args.audio, recursive=args.recursive, batch_size=args.batch_size,
                        on_error=report)
    failed = len(run.failures)
    if not run.predictions:
        print(f"emo predict: nothing predicted ({failed} input{'s' if failed != 1 else ''} failed); "
              "no table written")
        return 2
    write_prediction_table(table, run.predictions)
    sidecar = write_prediction_sidecar(table.with_suffix(".json"), run, table)
    rows = sum(len(p.values) for p in run.predictions)
    print(f"wrote {table} ({len(run.predictions)} file{'s' if len(run.predictions) != 1 else ''}, "
          f"{rows} rows) and {sidecar}" + (f"; {failed} failed" if failed else ""))
    if args.plot or args.plot_dir is not None:
        from .plots import plot_trace

        folder = args.plot_dir if args.plot_dir is not None else table.parent
        folder.mkdir(parents=True, exist_ok=True)
        name = run.provenance.get("name") or args.model.name
        for item, png in zip(run.predictions, _plot_paths(run.predictions, folder)):
            plot_trace(item.end, item.values[:, 0], item.values[:, 1], png, title=f"{item.path.name} ({name})")
            print(f"wrote {png}")
    return 2 if failed else 0


def _cmd_study(args) -> int:
    from .study import get_profile, load_study_corpora, run_study, write_results

    profile = get_profile(args.profile)
    roots = {"semaine": args.semaine, "recola": args.recola}
    if args.recola_avec2016 is not None:
        roots = {"semaine": args.semaine, "recola-avec2016": args.recola_avec2016}
    if args.generic is not None:
        roots["generic"] = args.generic
    corpora = load_study_corpora(profile, roots, args.out)
    run_study(corpora, args.out, profile, variants=args.variants, seeds=args.seeds, workers=args.workers)
    results = write_results(args.out, corpora, profile, args.out)
    print(Path(results["markdown"]).read_text(encoding="utf-8"))
    for sentence in (list(results["claims"]["sentence"]) + list(results["floor"].get("sentence", []))
                     + list(results["beyond"].get("sentence", []))):
        print(sentence)
    return 0


def _cmd_notebooks(args) -> int:
    from .notebooks import run_notebooks

    # The notebook kernels inherit standard error, and with it main's filter of TensorFlow's start-up lines.
    run_notebooks(profile=args.profile, seeds=args.seeds, semaine=args.semaine, recola=args.recola,
                  work=args.work, figures=args.figures, notebook_dir=args.notebooks, output_dir=args.output)
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


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"emo: {record.levelname.lower()}: {record.getMessage()}"


def _configure_messages(verbose: int, quiet: int) -> int:
    """Set up the "emo_lib" logger and TensorFlow's log level; return the verbosity (-1 .. 2)."""
    verbosity = max(-1, min(2, verbose - quiet))
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG}[verbosity]
    for handler in list(logger.handlers):
        if getattr(handler, "_emo_cli", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._emo_cli = True
    handler.setFormatter(_Formatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    if not _tf_log_level_set_by_user:
        # TensorFlow reads it when it is imported, which happens after this.
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = {-1: "2", 0: "1", 1: "1", 2: "0"}[verbosity]
    if verbosity < 0:
        warnings.simplefilter("ignore")
    return verbosity


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``emo`` and ``python -m emo_lib``; returns the exit status."""
    args = build_parser().parse_args(argv)
    args.quiet_level += getattr(args, "quiet_level_after", 0)
    args.verbose = _configure_messages(args.verbose + getattr(args, "verbose_after", 0), args.quiet_level)
    try:
        with _filter_native_stderr(args.verbose):
            if args.command in ("train", "evaluate", "study"):
                _import_keras(check_devices=True)
            elif args.command not in ("predict", "notebooks"):
                _import_keras()
            return COMMANDS[args.command](args)
    except EmoInputError as error:
        print(f"emo {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"emo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
