"""The experiments behind Table 1: profiles, one experiment, the whole study.

An *experiment* trains one model variant (the ridge floor, baseline, W, S, W+S
and, beyond the paper, W+S gated) with one seed on
one corpus split and evaluates it on the test conversations. The *study* runs
every (corpus, variant, seed) of a :class:`Profile` and leaves one folder per
experiment::

    <out>/<corpus>/split.json                  the split manifest (conversation ids, counts)
    <out>/<corpus>/<variant>/seed<k>/          the training run (see emo_lib.training)
        model.keras, log.csv, run.json, predictions.csv, metrics.json

Finished experiments (a ``metrics.json`` present) are skipped, unfinished ones
resume from their last checkpoint, so a study that was interrupted is simply
run again.

Profiles
--------
``paper``
    The paper's configuration unchanged (paper preset, batch 50, RMSprop 5e-4),
    three seeds. Hours per model on a CPU; meant for real corpora on a GPU.
``quick``
    The ``narrow`` preset on the default synthetic stand-in, two seeds: the
    whole study in minutes on a 2-core CPU.
``ci``
    The ``tiny`` preset on a very small stand-in, one seed, two epochs: checks
    that everything runs, nothing more.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import keras

from .config import TrainConfig, get_preset
from .corpora.base import Corpus
from .dataset import (PreprocessConfig, SegmentSet, Split, build_segment_set, read_manifest,
                      split_conversations,
                      write_manifest)
from .errors import EmoInputError

__all__ = [
    "VARIANTS",
    "Profile",
    "PROFILES",
    "get_profile",
    "CorpusData",
    "prepare_corpus",
    "run_experiment",
    "build_experiment_model",
    "run_study",
    "ablation_dir",
    "run_normalisation_ablation",
    "prepare_study_data",
    "corpus_label",
    "describe_corpora",
    "most_varied_segment",
    "segment_view",
    "learning_histories",
    "bootstrap_table",
    "claims_table",
    "floor_claims",
    "write_results",
    "comparison_frame",
    "results_note",
    "figure_example",
    "gate_example",
    "experiment_dir",
    "load_study_corpora",
    "corpus_summary",
    "load_predictions",
    "choose_example_segment",
    "segment_example",
]

VARIANTS = ("ridge", "baseline", "W", "S", "WS", "WSG")
"""The models of Table 1: the linear floor (:mod:`emo_lib.floor`), the paper's four in its order, then
W+S gated (:func:`emo_lib.models.build_model` variant ``"WSG"``), beyond the paper."""


@dataclass(frozen=True)
class Profile:
    """A named set of choices for a whole study.

    Attributes
    ----------
    name : str
    preset : str
        Model preset (see :mod:`emo_lib.config`).
    train : TrainConfig
        The seed in it is replaced by each of ``seeds``.
    seeds : tuple of int
        Model seeds (initial weights, dropout, batch order).
    variants : tuple of str
    split_method : str
        ``"random"`` (the paper), ``"speaker"`` or ``"partition"`` (AVEC 2016).
    split_seed : int
        Seed of the train/test split, fixed across model seeds.
    synthetic : dict
        Size options of the stand-in corpus per corpus name (passed to
        :func:`emo_lib.corpora.synthetic.write_synthetic_corpus`).
    lime_samples : int
        LIME perturbations per explanation.
    spectrogram_norm : {"none", "conversation", "train"}
        The spectrogram input (:data:`emo_lib.features.SPECTROGRAM_NORMS`).
        Every profile uses ``"train"``: the log mel of the z-normalised
        waveform (the paper's features) standardised per band with
        training-set statistics inside the model. Unscaled (``"none"``), the
        W+S model hardly trains (benchmarks/README.md, "The spectrogram
        input"); per conversation (``"conversation"``) removes each
        conversation's level and spectral tilt.
    ablation_variants : tuple of str
        Variants trained again with the two other spectrogram normalisations
        for the ablation of the results notebook (:func:`run_normalisation_ablation`).
    workers : int
        Experiments trained at once in separate processes (:func:`run_study`).
    speaker_variants : tuple of str
        Variants trained again with a speaker-independent split
        (:func:`emo_lib.protocols.run_speaker_independent`).
    """

    name: str
    preset: str
    train: TrainConfig
    seeds: tuple[int, ...] = (0,)
    variants: tuple[str, ...] = VARIANTS
    split_method: str = "random"
    split_seed: int = 0
    synthetic: dict[str, dict[str, Any]] = field(default_factory=dict)
    lime_samples: int = 1000
    spectrogram_norm: str = "train"
    ablation_variants: tuple[str, ...] = ("S",)
    workers: int = 1
    speaker_variants: tuple[str, ...] = VARIANTS

    def to_dict(self) -> dict[str, Any]:
        """All fields, for result files."""
        return dataclasses.asdict(self)


PROFILES: dict[str, Profile] = {
    "paper": Profile(
        name="paper",
        preset="paper",
        train=TrainConfig(batch_size=50, learning_rate=5e-4, max_epochs=100, patience=12, min_epochs=20,
                          min_delta=0.002, lr_schedule="plateau", lr_patience=4, ema_momentum=0.99),
        seeds=(0, 1, 2),
        lime_samples=1000,
        spectrogram_norm="train",
    ),
    "quick": Profile(
        name="quick",
        preset="narrow",
        train=TrainConfig(batch_size=8, learning_rate=1e-3, max_epochs=35, patience=5, min_epochs=10,
                          min_delta=0.01, lr_schedule="plateau", lr_patience=3, ema_momentum=0.95),
        seeds=(0,),
        synthetic={
            "semaine": {"n_speakers": 9, "conversations_per_speaker": 3, "duration_s": 40.0},
            "recola": {"n_speakers": 28, "duration_s": 30.0},
        },
        lime_samples=300,
        spectrogram_norm="train",
        workers=2,
    ),
    "ci": Profile(
        name="ci",
        preset="tiny",
        train=TrainConfig(batch_size=8, learning_rate=2e-3, max_epochs=2, patience=2),
        seeds=(0,),
        synthetic={
            "semaine": {"n_speakers": 3, "conversations_per_speaker": 2, "duration_s": 20.0},
            "recola": {"n_speakers": 6, "duration_s": 20.0},
            "recola-avec2016": {"n_speakers": 2, "duration_s": 20.0},
        },
        lime_samples=40,
        spectrogram_norm="train",
        speaker_variants=("ridge", "S"),
    ),
}
"""The study profiles: ``paper``, ``quick`` (2-core CPU, stand-in), ``ci`` (smoke test)."""


def get_profile(profile: str | Profile, *, seeds: Sequence[int] | None = None) -> Profile:
    """A profile by name (or the profile itself), optionally with other seeds.

    Raises
    ------
    EmoInputError
        For an unknown name or an empty list of seeds.
    """
    if not isinstance(profile, Profile):
        try:
            profile = PROFILES[profile]
        except KeyError:
            raise EmoInputError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}") from None
    if seeds is not None:
        seeds = tuple(int(seed) for seed in seeds)
        if not seeds:
            raise EmoInputError("at least one seed is needed")
        profile = dataclasses.replace(profile, seeds=seeds)
    return profile


@dataclass
class CorpusData:
    """A corpus with its split and segment sets, shared by every experiment on it.

    Attributes
    ----------
    corpus : Corpus
    split : Split
    train, validation, test : SegmentSet
    preprocess : PreprocessConfig
    """

    corpus: Corpus
    split: Split
    train: SegmentSet
    validation: SegmentSet
    test: SegmentSet
    preprocess: PreprocessConfig

    @property
    def label_step_ms(self) -> int:
        """The corpus's label step in milliseconds."""
        return int(round(self.train.label_step * 1000))

    def counts(self) -> dict[str, int]:
        """Segments per part."""
        return {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)}


def prepare_corpus(
    corpus: Corpus,
    *,
    split: Split | str | Path | None = None,
    split_method: str = "random",
    split_seed: int = 0,
    preprocess: PreprocessConfig | None = None,
    cache_dir: str | Path | None = None,
    manifest_path: str | Path | None = None,
    progress: bool = True,
    workers: int | None = None,
) -> CorpusData:
    """Split a corpus, preprocess its conversations (cached) and cut the segments.

    Parameters
    ----------
    corpus : Corpus
    split : Split, or path of a manifest, optional
        Reuse a split; otherwise one is made with ``split_method`` and ``split_seed``.
    split_method, split_seed
        See :func:`emo_lib.dataset.split_conversations`.
    preprocess : PreprocessConfig, optional
    cache_dir : str or pathlib.Path, optional
        Per-conversation array cache.
    manifest_path : str or pathlib.Path, optional
        Where to write the split manifest (with the segment counts).
    progress : bool
    workers : int, optional
        Conversations preprocessed at once (:func:`emo_lib.dataset.build_segment_set`).

    Returns
    -------
    CorpusData
    """
    preprocess = preprocess or PreprocessConfig()
    if isinstance(split, (str, Path)):
        split = read_manifest(split)
    if split is None:
        split = split_conversations(corpus, split_method, seed=split_seed)
    if split.corpus != corpus.name:
        raise EmoInputError(f"the split is for corpus {split.corpus!r}, not {corpus.name!r}")
    sets = {part: build_segment_set(split.select(corpus, part), preprocess, cache_dir, progress=progress,
                                    workers=workers)
            for part in ("train", "validation", "test")}
    data = CorpusData(corpus, split, sets["train"], sets["validation"], sets["test"], preprocess)
    if manifest_path is not None:
        write_manifest(split, manifest_path, segments=data.counts(), preprocess=preprocess.to_dict(),
                       corpus_root=str(corpus.root))
    return data


def experiment_dir(out_dir: str | Path, corpus_name: str, variant: str, seed: int) -> Path:
    """Folder of one experiment: ``<out>/<corpus>/<variant>/seed<k>``."""
    return Path(out_dir) / corpus_name / variant / f"seed{seed}"


def _corpus_kind(corpus: Corpus) -> str:
    return "synthetic" if (Path(corpus.root) / "SYNTHETIC.json").exists() else "real"


def _standardiser_blocks(segments: SegmentSet, name: str, chunk: int = 16):
    """(inputs, frame mask) blocks of a segment set for :func:`emo_lib.models.adapt_standardiser`.

    The mask marks real (not padded) input frames: every ComParE row, or every
    10 ms spectrogram frame, of a real label step.
    """
    import numpy as np

    from .config import FRAME_HOP_SECONDS

    repeat = 1 if name == "compare" else int(round(segments.label_step / FRAME_HOP_SECONDS))
    for start in range(0, len(segments), chunk):
        inputs, _ = segments.batch(range(start, min(start + chunk, len(segments))), (name, "frame_mask"))
        yield inputs[name], np.repeat(inputs["frame_mask"], repeat, axis=1)


def _merged(first: SegmentSet, second: SegmentSet) -> SegmentSet:
    """The segments of two sets of different conversations, as one set."""
    return SegmentSet(list(first.segments) + list(second.segments), {**first.arrays, **second.arrays},
                      first.segment_seconds, first.label_step)


def build_experiment_model(data: "CorpusData", variant: str, preset: str, seed: int, train_set: SegmentSet):
    """A fresh model of ``variant`` for a corpus, seeded, with its input standardisers set from ``train_set``.

    Parameters
    ----------
    data : CorpusData
        Gives the label step and the spectrogram normalisation.
    variant : {"baseline", "W", "S", "WS", "WSG"}
    preset : str or ModelPreset
    seed : int
        Seeds the weights (``keras.utils.set_random_seed``).
    train_set : SegmentSet
        The baseline's ComParE standardiser, and with ``spectrogram_norm="train"``
        the spectrogram's, are set from its real frames (streamed).

    Returns
    -------
    keras.Model
        Not compiled.
    """
    from .models import adapt_standardiser, build_model, variant_inputs

    keras.utils.set_random_seed(seed)
    model = build_model(variant, data.label_step_ms, preset, spectrogram_norm=data.preprocess.spectrogram_norm)
    if variant == "baseline":
        adapt_standardiser(model, _standardiser_blocks(train_set, "compare"), input_name="compare")
    if "spectrogram" in variant_inputs(variant) and data.preprocess.spectrogram_norm == "train":
        adapt_standardiser(model, _standardiser_blocks(train_set, "spectrogram"), input_name="spectrogram")
    return model


def _run_ridge(data: "CorpusData", out_dir: Path, info: dict[str, Any]) -> dict[str, Any]:
    from .floor import fit_ridge_floor, segment_features
    from .io import atomic_write_json
    from .training import environment_info, write_evaluation

    cache: dict = {}
    features = {part: segment_features(getattr(data, part), cache) for part in ("train", "validation", "test")}
    targets = {part: getattr(data, part).batch(range(len(getattr(data, part))), ())[1]
               for part in ("train", "validation")}
    floor = fit_ridge_floor(features["train"], targets["train"], features["validation"], targets["validation"],
                            label_step=data.train.label_step)
    floor.save(out_dir / "floor.json")
    info.update(alpha=floor.alpha, validation_ccc_mean=floor.validation_ccc[f"{floor.alpha:g}"])
    atomic_write_json(out_dir / "run.json", {**info, "model": "ridge floor", "versions": environment_info()})
    return write_evaluation(floor.predict(features["test"]), data.test, out_dir,
                            model_name=f"ridge_{data.label_step_ms}ms", run_info=info)


def run_experiment(
    data: CorpusData,
    variant: str,
    *,
    preset: str,
    train_config: TrainConfig,
    out_dir: str | Path,
    resume: bool = True,
    verbose: int | str = 2,
    extra_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train one variant with one seed, evaluate it, and return its metrics record.

    A folder that already has ``metrics.json`` is not trained again (its record
    is returned); one with an unfinished run resumes when ``resume`` is true.
    With ``train_config.refit`` the model kept is a second one, trained on the
    training and validation conversations together for the number of epochs
    (and with the learning rates) that the validated run chose, in
    ``<out_dir>/refit/``.

    Parameters
    ----------
    data : CorpusData
    variant : {"ridge", "baseline", "W", "S", "WS", "WSG"}
        ``"ridge"`` is the linear floor of :mod:`emo_lib.floor` (no training
        epochs: ``preset`` and ``train_config`` are recorded only).
    preset : str
    train_config : TrainConfig
    out_dir : str or pathlib.Path
        The experiment folder.
    resume : bool
    verbose : int or "auto"
    extra_info : dict, optional
        Added to ``run.json`` and ``metrics.json``.

    Returns
    -------
    dict
        The content of ``metrics.json``.
    """
    import json

    from .training import evaluate_model, save_model, train_model

    out_dir = Path(out_dir)
    metrics_path = out_dir / "metrics.json"
    if metrics_path.exists():
        return json.loads(metrics_path.read_text(encoding="utf-8"))
    if variant not in VARIANTS:
        raise EmoInputError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    info = {
        "corpus": data.corpus.name,
        "corpus_kind": _corpus_kind(data.corpus),
        "corpus_root": str(data.corpus.root),
        "variant": variant,
        "seed": train_config.seed,
        "preset": get_preset(preset).to_dict(),
        "preset_name": get_preset(preset).name,
        "label_step_ms": data.label_step_ms,
        "split": data.split.to_dict(),
        "segments": data.counts(),
        "preprocess": data.preprocess.to_dict(),
        **(extra_info or {}),
    }
    if variant == "ridge":
        out_dir.mkdir(parents=True, exist_ok=True)
        return _finish(out_dir, _run_ridge(data, out_dir, info))
    model = None
    if not (resume and (out_dir / "state.json").exists()):
        model = build_experiment_model(data, variant, preset, train_config.seed, data.train)
    result = train_model(model, data.train, data.validation, out_dir, train_config, resume=resume,
                         verbose=verbose, run_info=info)
    info.update(best_epoch=result.best_epoch, epochs_run=len(result.history),
                validation_ccc_mean=result.best_score, selection="best validation epoch")
    final = result.model
    if train_config.refit and result.best_epoch > 0:
        rates = [row["lr"] for row in result.history[:result.best_epoch]]
        refit_dir = out_dir / "refit"
        refit_model = None
        if not (resume and (refit_dir / "state.json").exists()):
            refit_model = build_experiment_model(data, variant, preset, train_config.seed, _merged(data.train, data.validation))
        refit = train_model(refit_model, _merged(data.train, data.validation), None, refit_dir, train_config,
                            resume=resume, verbose=verbose, run_info={**info, "refit": True},
                            lr_by_epoch=rates)
        final = refit.model
        info.update(selection=f"refit on training + validation conversations for {result.best_epoch} epochs")
        save_model(final, out_dir / "model.keras")
    return _finish(out_dir, evaluate_model(final, data.test, out_dir, run_info=info))


def _finish(out_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Write the run's model card (``MODEL.md``) beside its results."""
    from .model_card import write_model_card

    write_model_card(out_dir)
    return record


# ----------------------------------------------------------------------------
# Experiments in parallel worker processes
# ----------------------------------------------------------------------------


def _experiment_spec(data: CorpusData, variant: str, *, preset: str, train_config: TrainConfig,
                     out_dir: Path, cache_dir: Path, extra_info: dict[str, Any]) -> dict[str, Any]:
    """Everything a worker process needs to run one experiment (JSON-able)."""
    return {
        "corpus": data.corpus.name,
        "root": str(data.corpus.root),
        "split": data.split.to_dict(),
        "preprocess": data.preprocess.to_dict(),
        "variant": variant,
        "preset": get_preset(preset).to_dict(),
        "train_config": train_config.to_dict(),
        "out_dir": str(out_dir),
        "cache_dir": str(cache_dir),
        "extra_info": extra_info,
    }


def _worker_main(spec_path: str) -> None:
    """Entry point of a worker process: run the experiment described by a JSON spec file."""
    import json

    from .config import ModelPreset
    from .corpora import load_corpus
    from .dataset import Split
    from .labels import LabelLengthWarning

    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    warnings.simplefilter("ignore", LabelLengthWarning)  # routine; the parent has shown them once
    corpus = load_corpus(spec["corpus"], spec["root"])
    data = prepare_corpus(corpus, split=Split(**spec["split"]), preprocess=PreprocessConfig(**spec["preprocess"]),
                          cache_dir=spec["cache_dir"], progress=False, workers=1)
    run_experiment(data, spec["variant"], preset=ModelPreset(**spec["preset"]),
                   train_config=TrainConfig(**spec["train_config"]), out_dir=spec["out_dir"], verbose=2,
                   extra_info=spec["extra_info"])


def _run_in_workers(specs: list[dict[str, Any]], workers: int, *, verbose: int | str = 2) -> None:
    """Run experiments in ``workers`` processes at a time, relaying their output line by line.

    Each process trains one experiment (:func:`run_experiment`, which writes
    its run folder) with ``cpu_count // workers`` threads; its lines are
    printed as they come, prefixed with the experiment (TensorFlow's start-up
    lines are dropped, see :mod:`emo_lib.native_logs`). A failed experiment
    stops the others and raises an error with its last lines.
    """
    import json
    import os
    import subprocess
    import sys
    import tempfile
    import threading
    import time

    from .native_logs import is_startup_noise

    threads = str(max(1, (os.cpu_count() or 1) // workers))
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS=threads,
               OMP_NUM_THREADS=threads, PYTHONUNBUFFERED="1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    code = "import sys; from emo_lib.study import _worker_main; _worker_main(sys.argv[1])"
    lock = threading.Lock()
    running: list[tuple[subprocess.Popen, threading.Thread, str, list[str]]] = []
    queue = list(specs)
    with tempfile.TemporaryDirectory(prefix="emo-study-") as folder:
        def relay(process, label, tail):
            for raw in process.stdout:
                if is_startup_noise(raw):
                    continue
                line = raw.decode("utf-8", "replace").rstrip()
                tail.append(line)
                del tail[:-40]
                if verbose:
                    with lock:
                        print(f"[{label}] {line}", flush=True)

        def start(spec):
            path = Path(folder) / f"{len(running)}-{abs(hash(spec['out_dir']))}.json"
            path.write_text(json.dumps(spec), encoding="utf-8")
            label = f"{spec['corpus']} {spec['variant']} seed{spec['train_config']['seed']}"
            if spec["extra_info"].get("ablation"):
                label += f" ({spec['extra_info']['ablation']})"
            process = subprocess.Popen([sys.executable, "-c", code, str(path)], env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            tail: list[str] = []
            thread = threading.Thread(target=relay, args=(process, label, tail), daemon=True)
            thread.start()
            running.append((process, thread, label, tail))

        try:
            while queue or running:
                while queue and len(running) < workers:
                    start(queue.pop(0))
                for entry in list(running):
                    process, thread, label, tail = entry
                    if process.poll() is None:
                        continue
                    thread.join()
                    running.remove(entry)
                    if process.returncode != 0:
                        raise RuntimeError(f"experiment {label} failed (exit status {process.returncode}):\n"
                                           + "\n".join(tail[-15:]))
                if running:
                    time.sleep(0.3)
        except BaseException:
            for process, *_ in running:
                process.terminate()
            for process, *_ in running:
                process.wait()
            raise


_EXPECTED_COST = {"WS": 0, "WSG": 0, "baseline": 1, "W": 2, "S": 3, "ridge": 4}
"""Order in which pending experiments are started: the longest first, so two workers finish together."""


def prepare_study_data(
    corpora: dict[str, Corpus],
    out_dir: str | Path,
    profile: str | Profile = "quick",
    *,
    variants: Sequence[str] | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    spectrogram_norm: str | None = None,
) -> dict[str, CorpusData]:
    """Split and preprocess every corpus of a study (split manifests in ``<out>/<corpus>/split.json``).

    An existing manifest is reused, so every notebook and every rerun sees the
    same split. AVEC 2016 copies use their partitions (train / dev).
    ``spectrogram_norm`` overrides the profile's (the ablation).

    Returns
    -------
    dict[str, CorpusData]
    """
    profile = get_profile(profile)
    out_dir = Path(out_dir)
    cache_dir = Path(cache_dir) if cache_dir is not None else out_dir / "cache"
    variants = tuple(variants or profile.variants)
    prepared = {}
    for name, corpus in corpora.items():
        manifest = out_dir / name / "split.json"
        prepared[name] = prepare_corpus(
            corpus,
            split=manifest if manifest.exists() else None,
            split_method="partition" if name == "recola-avec2016" else profile.split_method,
            split_seed=profile.split_seed,
            preprocess=PreprocessConfig(segment_seconds=get_preset(profile.preset).segment_seconds,
                                        with_compare="baseline" in variants,
                                        spectrogram_norm=spectrogram_norm or profile.spectrogram_norm),
            cache_dir=cache_dir,
            manifest_path=manifest,
            progress=progress,
        )
    return prepared


def run_study(
    corpora: dict[str, Corpus],
    out_dir: str | Path,
    profile: str | Profile = "quick",
    *,
    variants: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    cache_dir: str | Path | None = None,
    data: dict[str, CorpusData] | None = None,
    verbose: int | str = 2,
    progress: bool = True,
    workers: int | None = None,
) -> list[dict[str, Any]]:
    """Run every (corpus, variant, seed) experiment of a profile.

    Finished experiments (a ``metrics.json`` in their folder) are loaded, not
    trained again; unfinished ones resume. With ``workers`` > 1 the pending
    experiments train in that many processes at once (longest first), each
    with its share of the CPU cores, their lines printed as they come: on a
    CPU, two small models training side by side finish sooner than one after
    the other (benchmarks/README.md, "Training that settles").

    Parameters
    ----------
    corpora : dict[str, Corpus]
        Loaded corpora by name (``"semaine"``, ``"recola"``, ...).
    out_dir : str or pathlib.Path
    profile : str or Profile
    variants, seeds : sequence, optional
        Override the profile's.
    cache_dir : str or pathlib.Path, optional
        Defaults to ``<out_dir>/cache``.
    data : dict[str, CorpusData], optional
        Already prepared corpora (:func:`prepare_study_data`).
    verbose : int or "auto"
    progress : bool
    workers : int, optional
        Experiments trained at once; default the profile's ``workers``.

    Returns
    -------
    list of dict
        One metrics record per experiment, in the order (corpus, variant, seed).
    """
    profile = get_profile(profile)
    variants = tuple(variants or profile.variants)
    seeds = tuple(seeds if seeds is not None else profile.seeds)
    workers = profile.workers if workers is None else max(1, int(workers))
    out_dir = Path(out_dir)
    cache_dir = Path(cache_dir) if cache_dir is not None else out_dir / "cache"
    if data is None:
        data = prepare_study_data(corpora, out_dir, profile, variants=variants, cache_dir=cache_dir,
                                  progress=progress)
    jobs = [(name, variant, seed) for name in data for variant in variants
            # The floor has no random initialisation: one run stands for every seed.
            for seed in (seeds[:1] if variant == "ridge" else seeds)]
    extra = {"profile": profile.name}
    pending = [job for job in jobs if not (experiment_dir(out_dir, *job) / "metrics.json").exists()]
    if workers > 1 and len(pending) > 1:
        pending.sort(key=lambda job: _EXPECTED_COST.get(job[1], 0))
        _run_in_workers([_experiment_spec(data[name], variant, preset=profile.preset,
                                          train_config=profile.train.replace(seed=seed),
                                          out_dir=experiment_dir(out_dir, name, variant, seed),
                                          cache_dir=cache_dir, extra_info=extra)
                         for name, variant, seed in pending], workers, verbose=verbose)
    return [run_experiment(data[name], variant, preset=profile.preset, train_config=profile.train.replace(seed=seed),
                           out_dir=experiment_dir(out_dir, name, variant, seed), verbose=verbose, extra_info=extra)
            for name, variant, seed in jobs]


def ablation_dir(out_dir: str | Path) -> Path:
    """Folder of the normalisation ablation beside a study folder: ``<out>-ablation``.

    A sibling, not a subfolder, so that Table 1 (every ``metrics.json`` below
    the study folder) never mixes the ablation's runs in.
    """
    out_dir = Path(out_dir)
    return out_dir.parent / f"{out_dir.name}-ablation"


def run_normalisation_ablation(
    corpora: dict[str, Corpus],
    out_dir: str | Path,
    profile: str | Profile = "quick",
    *,
    data: dict[str, CorpusData] | None = None,
    cache_dir: str | Path | None = None,
    verbose: int | str = 2,
    progress: bool = True,
    workers: int | None = None,
):
    """Train the profile's ablation variants with each spectrogram normalisation, on the study's split.

    The study's own runs use ``profile.spectrogram_norm``; this trains
    ``profile.ablation_variants`` (S only, by default)
    with the first seed and each other normalisation of
    :data:`emo_lib.features.SPECTROGRAM_NORMS`, in
    ``<out>-ablation/<corpus>/<variant>-<norm>/seed<k>`` (:func:`ablation_dir`),
    and tests each against the study's run with a paired permutation test over
    test conversations (two-sided).

    Parameters
    ----------
    corpora : dict[str, Corpus]
    out_dir : str or pathlib.Path
        The study folder (its split manifests and runs are reused).
    profile : str or Profile
    data : dict[str, CorpusData], optional
        The study's prepared corpora (their split and cache are reused).
    cache_dir : str or pathlib.Path, optional
    verbose : int or "auto"
    progress : bool
    workers : int, optional
        Experiments trained at once (:func:`run_study`); default the profile's.

    Returns
    -------
    pandas.DataFrame
        One row per (corpus, variant, normalisation): ``corpus``, ``variant``,
        ``spectrogram_norm``, ``study`` (True for the study's own input), test CCC
        ``arousal`` and ``valence`` (concatenated), ``epochs``, ``best_epoch``,
        ``validation_ccc``, and for the alternatives ``p_arousal`` /
        ``p_valence`` against the study's own input.
    """
    import pandas as pd

    from .features import SPECTROGRAM_NORMS
    from .statistics import paired_test, read_predictions

    profile = get_profile(profile)
    out_dir = Path(out_dir)
    cache_dir = Path(cache_dir) if cache_dir is not None else out_dir / "cache"
    workers = profile.workers if workers is None else max(1, int(workers))
    if data is None:
        data = prepare_study_data(corpora, out_dir, profile, cache_dir=cache_dir, progress=progress)
    seed = profile.seeds[0]
    train_config = profile.train.replace(seed=seed)
    # The study's own runs first (normally done already), then every alternative, in workers.
    run_study(corpora, out_dir, profile, variants=profile.ablation_variants, seeds=(seed,), cache_dir=cache_dir,
              data=data, verbose=verbose, progress=progress, workers=workers)
    plan = []
    for name, corpus_data in data.items():
        for norm in SPECTROGRAM_NORMS:
            if norm == corpus_data.preprocess.spectrogram_norm:
                continue
            other = prepare_corpus(
                corpus_data.corpus, split=corpus_data.split,
                preprocess=dataclasses.replace(corpus_data.preprocess, spectrogram_norm=norm, with_compare=False),
                cache_dir=cache_dir, progress=progress)
            for variant in profile.ablation_variants:
                folder = ablation_dir(out_dir) / name / f"{variant}-{norm}" / f"seed{seed}"
                plan.append((name, variant, norm, other, folder))
    pending = [entry for entry in plan if not (entry[4] / "metrics.json").exists()]
    if workers > 1 and len(pending) > 1:
        _run_in_workers([_experiment_spec(other, variant, preset=profile.preset, train_config=train_config,
                                          out_dir=folder, cache_dir=cache_dir,
                                          extra_info={"profile": profile.name, "ablation": norm})
                         for name, variant, norm, other, folder in pending], workers, verbose=verbose)
    rows = []
    for name, corpus_data in data.items():
        for variant in profile.ablation_variants:
            reference = run_experiment(corpus_data, variant, preset=profile.preset, train_config=train_config,
                                       out_dir=experiment_dir(out_dir, name, variant, seed), verbose=verbose,
                                       extra_info={"profile": profile.name})
            reference_table = load_predictions(out_dir, name, variant, seed)
            entries = [(corpus_data.preprocess.spectrogram_norm, reference, None)]
            for entry_name, entry_variant, norm, other, folder in plan:
                if (entry_name, entry_variant) != (name, variant):
                    continue
                record = run_experiment(other, variant, preset=profile.preset, train_config=train_config,
                                        out_dir=folder, verbose=verbose,
                                        extra_info={"profile": profile.name, "ablation": norm})
                entries.append((norm, record, read_predictions(folder / "predictions.csv")))
            for norm, record, table in sorted(entries, key=lambda e: SPECTROGRAM_NORMS.index(e[0])):
                scores = record["metrics"]["ccc"]["concatenated"]
                row = {"corpus": name, "variant": variant, "spectrogram_norm": norm,
                       "study": norm == corpus_data.preprocess.spectrogram_norm,
                       "arousal": scores["arousal"], "valence": scores["valence"],
                       "epochs": record.get("epochs_run"), "best_epoch": record.get("best_epoch"),
                       "validation_ccc": record.get("validation_ccc_mean")}
                for dimension in ("arousal", "valence"):
                    row[f"p_{dimension}"] = (float("nan") if table is None else paired_test(
                        table, reference_table, dimension=dimension, alternative="two-sided").p_value)
                rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------
# What the notebooks and the command line show
# ----------------------------------------------------------------------------


def load_study_corpora(profile: str | Profile, roots: dict[str, str | Path | None], work: str | Path,
                       *, progress: bool = True) -> dict[str, Corpus]:
    """Load the user's corpora, or write and load the synthetic stand-in where no root is given.

    Parameters
    ----------
    profile : str or Profile
        Its ``synthetic`` sizes are used for the stand-in.
    roots : dict[str, path or None]
        Corpus name (``"semaine"``, ``"recola"``, ``"recola-avec2016"``) to the root of
        a real copy, or ``None`` for the stand-in.
    work : str or pathlib.Path
        The stand-in is written to ``<work>/corpora/<name>`` (once; reused after).

    Returns
    -------
    dict[str, Corpus]
    """
    from .corpora import load_corpus
    from .corpora.synthetic import write_synthetic_corpus

    profile = get_profile(profile)
    corpora = {}
    for name, root in roots.items():
        if root is None:
            root = Path(work) / "corpora" / name
            if not (root / "SYNTHETIC.json").exists():
                write_synthetic_corpus(name, root, seed=0, progress=progress, **profile.synthetic.get(name, {}))
        corpora[name] = load_corpus(name, root)
    return corpora


def corpus_summary(data: CorpusData):
    """One-row summary of a prepared corpus beside the paper's segment counts.

    Returns
    -------
    pandas.DataFrame
        Columns corpus, kind, conversations, speakers, minutes, train / validation /
        test segments, and the paper's train / test segments.
    """
    import pandas as pd

    from .results import PAPER_SEGMENTS

    corpus = data.corpus
    from .results import paper_corpus

    paper = PAPER_SEGMENTS.get(paper_corpus(corpus.name), (None, None))
    counts = data.counts()
    return pd.DataFrame([{
        "corpus": corpus.name,
        "kind": _corpus_kind(corpus),
        "conversations": len(corpus),
        "speakers": len({c.speaker for c in corpus.conversations}),
        "minutes": round(sum(c.audio_duration for c in corpus.conversations) / 60, 1),
        "train segments": counts["train"],
        "validation segments": counts["validation"],
        "test segments": counts["test"],
        "paper train segments": paper[0],
        "paper test segments": paper[1],
    }])


def load_predictions(out_dir: str | Path, corpus_name: str, variant: str, seed: int):
    """The checked ``predictions.csv`` of one experiment (:func:`emo_lib.statistics.read_predictions`).

    Raises
    ------
    EmoInputError
        When the experiment has no predictions yet, or the file is malformed.
    """
    from .statistics import read_predictions

    path = experiment_dir(out_dir, corpus_name, variant, seed) / "predictions.csv"
    if not path.exists():
        raise EmoInputError("no predictions: run the experiment first", path=path)
    return read_predictions(path)


def choose_example_segment(predictions, *, rule: str = "largest_truth_range") -> tuple[str, int]:
    """Pick the test segment shown in Figures 2 and 3.

    Parameters
    ----------
    predictions : pandas.DataFrame
        One experiment's predictions (any variant: only the truth is used).
    rule : {"largest_truth_range", "first"}
        ``"largest_truth_range"``: among full-length segments, the one whose
        arousal plus valence ground truth spans the widest range (a segment
        where something happens); ``"first"``: the first test segment.

    Returns
    -------
    (conversation, segment)
    """
    groups = predictions.groupby(["conversation", "segment"], sort=True)
    if rule == "first":
        return next(iter(groups.groups))
    if rule != "largest_truth_range":
        raise EmoInputError(f"unknown segment rule {rule!r}")
    sizes = groups.size()
    full = sizes[sizes == sizes.max()].index
    spans = groups.agg(a_min=("arousal_true", "min"), a_max=("arousal_true", "max"),
                       v_min=("valence_true", "min"), v_max=("valence_true", "max")).loc[full]
    score = (spans.a_max - spans.a_min) + (spans.v_max - spans.v_min)
    conversation, segment = score.idxmax()
    return str(conversation), int(segment)


def segment_example(out_dir: str | Path, data: CorpusData, conversation: str, segment: int, *,
                    seed: int = 0, variants: Sequence[str] = ("W", "S", "WS")) -> dict[str, Any]:
    """Everything Figures 2 and 3 show for one test segment.

    Returns
    -------
    dict
        ``times`` (T,) seconds from the segment start, ``truth`` (T, 2),
        ``predictions`` {variant: (T, 2)}, ``words`` [(start, end, word)] relative
        to the segment start, ``inputs`` {"waveform": (S, 1), "spectrogram": (F, 40, 3),
        "frame_mask": (T,)} of the segment, ``mask`` (T,) its label mask,
        ``silence`` (40, 3) the spectrogram frame of silence in its units
        (:meth:`emo_lib.dataset.ConversationArrays.silence`), ``start_s`` the
        segment's start in the conversation.
    """
    import numpy as np

    index = next((i for i, ref in enumerate(data.test.segments)
                  if ref.conversation_id == conversation and ref.index == segment), None)
    if index is None:
        raise EmoInputError(f"segment {segment} of {conversation} is not in the test set")
    ref = data.test.segments[index]
    inputs, targets = data.test.batch([index], ("waveform", "spectrogram", "frame_mask"))
    step = data.test.label_step
    start_s = ref.start * step
    predictions = {}
    for variant in variants:
        table = load_predictions(out_dir, data.corpus.name, variant, seed)
        rows = table[(table.conversation == conversation)
                     & (table.segment.astype(str) == str(segment))].sort_values("frame")
        trace = np.full((data.test.label_frames, 2), np.nan)
        trace[rows.frame.to_numpy()] = rows[["arousal_pred", "valence_pred"]].to_numpy()
        predictions[variant] = trace
    truth = np.where(targets[0, :, 2:3] > 0, targets[0, :, :2], np.nan)
    words = [(s - start_s, e - start_s, w) for s, e, w in data.corpus[conversation].words
             if e > start_s and s < start_s + data.test.segment_seconds]
    return {
        "times": (np.arange(data.test.label_frames) + 1) * step,
        "truth": truth,
        "predictions": predictions,
        "words": words,
        "inputs": {name: value[0] for name, value in inputs.items()},
        "mask": targets[0, :, 2],
        "silence": data.test.arrays[conversation].silence(),
        "start_s": start_s,
    }


_LAYOUT_NAMES = {"semaine": "SEMAINE", "recola": "RECOLA", "recola-avec2016": "RECOLA AVEC 2016",
                 "generic": "generic"}


def corpus_label(corpus: Corpus) -> str:
    """How figures and sentences name a corpus: real copy or stand-in, and its layout.

    >>> # "SEMAINE" for a real copy, "synthetic stand-in (SEMAINE layout)" for the stand-in
    """
    layout = _LAYOUT_NAMES.get(corpus.name, corpus.name)
    return f"synthetic stand-in ({layout} layout)" if _corpus_kind(corpus) == "synthetic" else layout


def _shown_path(path: str | Path) -> str:
    """A path as shown in notebooks: relative to the working folder's parent when inside it."""
    import os

    path = Path(path).resolve()
    base = Path.cwd().resolve().parent
    return os.path.relpath(path, Path.cwd()) if base in path.parents else str(path)


def describe_corpora(corpora: dict[str, Corpus]) -> str:
    """A plain statement of which corpora a notebook or study uses."""
    lines = []
    for name, corpus in corpora.items():
        kind = _corpus_kind(corpus)
        line = f"{name}: {corpus_label(corpus)}, {len(corpus)} conversations at {_shown_path(corpus.root)}"
        if kind == "synthetic":
            line += " -- numbers on it check the machinery; they are not the paper's claims"
        lines.append(line)
    return "\n".join(lines)


def most_varied_segment(segments: SegmentSet) -> int:
    """Index of the segment whose labels (arousal plus valence) span the widest range."""
    import numpy as np

    best, best_span = 0, -1.0
    for index in range(len(segments)):
        _, targets = segments.batch([index], ())
        valid = targets[0, :, 2] > 0
        if valid.sum() < 2:
            continue
        span = float(np.ptp(targets[0, valid, 0]) + np.ptp(targets[0, valid, 1]))
        if span > best_span:
            best, best_span = index, span
    return best


def segment_view(segments: SegmentSet, index: int) -> dict[str, Any]:
    """One segment as the model sees it, for :func:`emo_lib.plots.plot_segment`.

    Returns
    -------
    dict
        ``waveform`` (S,), ``spectrogram`` (F, 40, 3), ``label_times`` (T,) seconds
        from the segment start, ``labels`` (T, 2), ``mask`` (T,).
    """
    import numpy as np

    inputs, targets = segments.batch([index])
    return {
        "waveform": inputs["waveform"][0, :, 0],
        "spectrogram": inputs["spectrogram"][0],
        "label_times": (np.arange(segments.label_frames) + 1) * segments.label_step,
        "labels": targets[0, :, :2],
        "mask": targets[0, :, 2],
    }


def learning_histories(out_dir: str | Path, corpus_name: str, profile: str | Profile):
    """The ``log.csv`` of every experiment of a corpus, ``{"W seed0": DataFrame, ...}``."""
    import pandas as pd

    profile = get_profile(profile)
    histories = {}
    for variant in profile.variants:
        for seed in profile.seeds:
            path = experiment_dir(out_dir, corpus_name, variant, seed) / "log.csv"
            if path.exists():
                histories[f"{variant} seed{seed}"] = pd.read_csv(path)
    return histories


def _predictions_by_model(out_dir, corpus_name: str, profile: Profile) -> dict[str, list]:
    by_model: dict[str, list] = {}
    for variant in profile.variants:
        tables = []
        for seed in profile.seeds:
            try:
                tables.append(load_predictions(out_dir, corpus_name, variant, seed))
            except EmoInputError:
                continue
        if tables:
            by_model[variant] = tables
    return by_model


def bootstrap_table(out_dir: str | Path, corpora: dict[str, Corpus], profile: str | Profile, *,
                    n_boot: int = 2000, seed: int = 0) -> dict[tuple[str, str], dict[str, tuple[float, float]]]:
    """95 % bootstrap intervals over test conversations for every (corpus, model), seeds pooled.

    Returns
    -------
    dict
        ``{(corpus, variant): {"arousal": (low, high), "valence": (low, high)}}``
        as :func:`emo_lib.results.table1` takes it; a model whose test set has
        fewer than two conversations gets no entry (with a warning).
    """
    from .statistics import bootstrap_ci

    profile = get_profile(profile)
    intervals = {}
    for name in corpora:
        for variant, tables in _predictions_by_model(out_dir, name, profile).items():
            try:
                intervals[(name, variant)] = {
                    dimension: bootstrap_ci(tables, dimension=dimension, n_boot=n_boot, seed=seed)
                    for dimension in ("arousal", "valence")
                }
            except EmoInputError as error:  # e.g. a single test conversation: no interval
                warnings.warn(f"no bootstrap interval for {name} {variant}: {error}", stacklevel=2)
    return intervals


def claims_table(out_dir: str | Path, corpora: dict[str, Corpus], profile: str | Profile, *,
                 alpha: float = 0.05, seed: int = 0):
    """The paper's claims tested on each corpus's test set (see :func:`emo_lib.statistics.test_claims`).

    Returns
    -------
    pandas.DataFrame
        The rows of every corpus, with a ``corpus`` column first.
    """
    import pandas as pd

    from .statistics import test_claims

    profile = get_profile(profile)
    frames = []
    for name, corpus in corpora.items():
        frame = test_claims(_predictions_by_model(out_dir, name, profile), corpus_label=corpus_label(corpus),
                            alpha=alpha, seed=seed)
        frame.insert(0, "corpus", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def floor_claims():
    """The project's own check beside the paper's claims: every deep model beats the ridge floor.

    Returns
    -------
    tuple of emo_lib.statistics.Claim
        One claim per deep model (baseline, W, S, W+S, W+S gated), each
        "beats the ridge floor on arousal and valence".
    """
    from .results import MODEL_LABELS
    from .statistics import Claim

    return tuple(
        Claim(f"{variant}_beats_floor", f"{MODEL_LABELS[variant]} beats the ridge floor on arousal and valence",
              tuple((variant, "ridge", dimension) for dimension in ("arousal", "valence")))
        for variant in ("baseline", "W", "S", "WS", "WSG"))


def write_results(out_dir: str | Path, corpora: dict[str, Corpus], profile: str | Profile,
                  figures_dir: str | Path, *, n_boot: int = 2000, alpha: float = 0.05) -> dict[str, Any]:
    """Table 1 with its intervals, the paper's claims and the floor checks, from a study's runs.

    Writes ``<figures>/table1.md`` and ``table1.csv`` (Table 1 beside the
    paper's numbers, with the corpus named and the profile's recipe in the
    header) and ``<figures>/claims.csv`` (every tested comparison). What the
    results notebook and ``emo study`` show.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The study folder.
    corpora : dict[str, Corpus]
    profile : str or Profile
    figures_dir : str or pathlib.Path
    n_boot : int
        Bootstrap resamples per interval.
    alpha : float
        Level of each test.

    Returns
    -------
    dict
        ``table`` (:func:`emo_lib.results.table1` with BCa intervals), ``claims``
        (the paper's claims, :func:`claims_table`), ``floor`` (each deep model
        against the ridge floor), ``beyond`` (the claims beyond the paper,
        :data:`emo_lib.statistics.BEYOND_PAPER_CLAIMS`: W+S gated against W+S,
        on corpora with W+S gated runs), ``markdown`` (path of table1.md). In
        ``claims.csv`` the ``kind`` column tells them apart: "paper's claim",
        "floor check", "beyond the paper".
    """
    import pandas as pd

    from .io import atomic_write_text
    from .results import collect_runs, table1, write_table1
    from .statistics import BEYOND_PAPER_CLAIMS, test_claims

    profile = get_profile(profile)
    figures_dir = Path(figures_dir)
    runs = collect_runs(out_dir)
    table = table1(runs, ci=bootstrap_table(out_dir, corpora, profile, n_boot=n_boot))
    markdown, _ = write_table1(table, figures_dir / "table1.md", figures_dir / "table1.csv",
                               note=results_note(corpora, profile))
    claims = claims_table(out_dir, corpora, profile, alpha=alpha)
    frames: dict[str, list] = {"floor": [], "beyond": []}
    for name, corpus in corpora.items():
        by_model = _predictions_by_model(out_dir, name, profile)
        for key, needed, claims_tested in (("floor", "ridge", floor_claims()),
                                           ("beyond", "WSG", BEYOND_PAPER_CLAIMS)):
            if needed not in by_model:
                continue
            frame = test_claims(by_model, corpus_label=corpus_label(corpus), alpha=alpha, claims=claims_tested)
            frame.insert(0, "corpus", name)
            frames[key].append(frame)
    floor, beyond = (pd.concat(frames[key], ignore_index=True) if frames[key] else pd.DataFrame()
                     for key in ("floor", "beyond"))
    everything = pd.concat([claims.assign(kind="paper's claim"), floor.assign(kind="floor check"),
                            beyond.assign(kind="beyond the paper")], ignore_index=True)
    atomic_write_text(figures_dir / "claims.csv", everything.drop(columns=["sentence"], errors="ignore")
                      .to_csv(index=False))
    return {"table": table, "claims": claims, "floor": floor, "beyond": beyond, "markdown": markdown}


def comparison_frame(table, corpus_name: str):
    """Table 1 rows of one corpus in the long form :func:`emo_lib.plots.plot_model_comparison` takes.

    Returns
    -------
    pandas.DataFrame
        Columns corpus, model, dimension, ours_mean, ours_sd, paper.
    """
    import pandas as pd

    rows = []
    for _, row in table[table["corpus"] == corpus_name].iterrows():
        for dimension in ("arousal", "valence"):
            rows.append({"corpus": corpus_name, "model": row["model"], "dimension": dimension,
                         "ours_mean": row[f"{dimension}_mean"], "ours_sd": row[f"{dimension}_sd"],
                         "paper": row[f"paper_{dimension}"]})
    return pd.DataFrame(rows)


def results_note(corpora: dict[str, Corpus], profile: str | Profile) -> str:
    """The line that heads Table 1 after its statement of the data: the profile behind the numbers."""
    profile = get_profile(profile)
    train = profile.train
    recipe = [f"batch {train.batch_size}", f"RMSprop learning rate {train.learning_rate:g}"]
    if train.lr_schedule == "plateau":
        recipe.append(f"halved after {train.lr_patience} epochs without improvement")
    if train.ema_momentum is not None:
        recipe.append(f"moving average of the weights (momentum {train.ema_momentum:g}) validated and kept")
    gain = f" (a gain counts from {train.min_delta:g})" if train.min_delta else ""
    recipe.append(f"{train.min_epochs}-{train.max_epochs} epochs, early stopping with patience {train.patience} "
                  f"on the validation mean CCC{gain}")
    selection = ("then retrained on training + validation conversations for the chosen number of epochs"
                 if train.refit else "model selection: the best validation epoch (no refit on the validation part)")
    return (f"Profile '{profile.name}': preset '{profile.preset}', spectrogram input '{profile.spectrogram_norm}'; "
            f"{', '.join(recipe)}; {selection}; seeds {', '.join(map(str, profile.seeds))}; "
            f"split '{profile.split_method}' (seed {profile.split_seed}).")


def figure_example(out_dir: str | Path, data: CorpusData, *, seed: int | None = None) -> dict[str, Any]:
    """The test segment of Figures 2 and 3 and everything they show (:func:`segment_example`).

    The segment is chosen from the W+S predictions of the first seed by
    :func:`choose_example_segment` (the full-length test segment whose ground
    truth varies most).
    """
    seed = 0 if seed is None else seed
    conversation, segment = choose_example_segment(load_predictions(out_dir, data.corpus.name, "WS", seed))
    example = segment_example(out_dir, data, conversation, segment, seed=seed)
    example.update(conversation=conversation, segment=segment)
    return example


def gate_example(out_dir: str | Path, data: CorpusData, *, seed: int | None = None,
                 conversation: str | None = None, segment: int | None = None) -> dict[str, Any]:
    """One test segment of the W+S gated model with its fusion weights, for :func:`emo_lib.plots.plot_gates`.

    The segment is the one of Figures 2 and 3 (:func:`choose_example_segment`
    on the ground truth) unless ``conversation`` and ``segment`` are given.
    The model's predictions are read from its ``predictions.csv``; its gates
    are computed by the experiment's ``model.keras``
    (:func:`emo_lib.training.predict_gates`).

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The study folder, with a finished WSG experiment of ``data``'s corpus.
    data : CorpusData
    seed : int, optional, keyword-only
        Which WSG experiment (default 0).
    conversation, segment : optional, keyword-only
        A test segment to show instead.

    Returns
    -------
    dict
        What :func:`segment_example` returns for WSG, plus ``prediction``
        (T, 2) the model's arousal and valence (NaN on unlabelled frames),
        ``gates`` (T, 2) its ``(g_w, g_s)`` per label step, ``conversation``
        and ``segment``.

    Raises
    ------
    EmoInputError
        When the WSG experiment has not finished, or the segment is not a
        test segment.
    """
    from .models import load_model
    from .training import predict_gates

    seed = 0 if seed is None else seed
    if conversation is None or segment is None:
        conversation, segment = choose_example_segment(load_predictions(out_dir, data.corpus.name, "WSG", seed))
    example = segment_example(out_dir, data, conversation, segment, seed=seed, variants=("WSG",))
    model = load_model(experiment_dir(out_dir, data.corpus.name, "WSG", seed) / "model.keras", compile=False)
    ref = next(ref for ref in data.test.segments if ref.conversation_id == conversation and ref.index == segment)
    one = SegmentSet([ref], data.test.arrays, data.test.segment_seconds, data.test.label_step)
    example.update(prediction=example["predictions"]["WSG"], gates=predict_gates(model, one)[0],
                   conversation=conversation, segment=segment)
    return example
