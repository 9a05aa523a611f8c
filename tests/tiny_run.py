"""A tiny trained run folder, as the study writes one, in seconds (no corpus files needed).

The model is trained and tested on fabricated arrays (:mod:`synthetic_arrays`); ``run.json`` and
``metrics.json`` carry the fields :func:`emo_lib.study.run_experiment` gives them.
"""

from __future__ import annotations

from pathlib import Path

import keras

from emo_lib.config import TrainConfig
from emo_lib.models import build_model
from emo_lib.training import evaluate_model, train_model

from synthetic_arrays import make_segment_set


def make_tiny_run(out_dir: str | Path, *, variant: str = "WS", label_step_ms: int = 40, epochs: int = 1,
                  corpus_kind: str = "synthetic", seed: int = 3) -> Path:
    """Train a ``tiny`` model for ``epochs`` epochs into ``out_dir`` and test it; return the folder."""
    out_dir = Path(out_dir)
    step = label_step_ms / 1000
    train = make_segment_set(3, seed=1, label_step=step, prefix="train")
    validation = make_segment_set(1, seed=2, label_step=step, prefix="val")
    test = make_segment_set(2, seed=9, label_step=step, prefix="test")
    info = {
        "corpus": "recola",
        "corpus_kind": corpus_kind,
        "corpus_root": "/not/shown/in/the/card",
        "variant": variant,
        "seed": seed,
        "preset_name": "tiny",
        "label_step_ms": label_step_ms,
        "split": {"corpus": "recola", "method": "random", "seed": 0,
                  "train": train.conversation_ids, "validation": validation.conversation_ids,
                  "test": test.conversation_ids},
        "segments": {"train": len(train), "validation": len(validation), "test": len(test)},
        "preprocess": {"segment_seconds": 6.0, "label_convention": "end"},
    }
    config = TrainConfig(batch_size=2, learning_rate=1e-3, max_epochs=epochs, patience=5, seed=seed,
                         jit_compile=False)
    keras.utils.set_random_seed(seed)
    result = train_model(build_model(variant, label_step_ms, "tiny"), train, validation, out_dir, config,
                         verbose=0, run_info=info)
    info.update(best_epoch=result.best_epoch, epochs_run=len(result.history),
                validation_ccc_mean=result.best_score)
    evaluate_model(result.model, test, out_dir, run_info=info)
    return out_dir
