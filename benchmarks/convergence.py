"""Training recipes side by side: which one settles, how fast, how well.

Trains one model variant on the quick profile's stand-in (the study's own split
and cache) with several recipes, one after the other in this process, and
prints per recipe: the epochs run, the best epoch, the validation mean CCC at
its best, how much the validation curve jumps between neighbouring epochs
(the mean absolute change of the validation mean CCC from one epoch to the
next, over epochs 6 on), the test CCC, and the seconds spent. It names the CPU
(model and vector extensions) with the figures.

Recipes (the quick profile's batch of 8 throughout unless named):

``constant``    RMSprop at a constant learning rate (the previous quick profile's recipe)
``plateau``     the learning rate halved after 3 epochs without gain
``ema``         a moving average of the weights (momentum 0.95), validated and kept
``plateau+ema`` both (the quick profile's recipe)
``batch16``     plateau+ema with batches of 16 and the learning rate scaled by 1.5

Run::

    python benchmarks/convergence.py --variant S --corpus semaine --epochs 30
    python benchmarks/convergence.py --variant WS --corpus semaine --recipes constant plateau+ema

The stand-in is written and preprocessed on first use under ``--work``
(default ``work/benchmarks``); the figures of benchmarks/README.md come from
this script.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

RECIPES = {
    "constant": dict(lr_schedule="constant", ema_momentum=None),
    "plateau": dict(lr_schedule="plateau", ema_momentum=None),
    "ema": dict(lr_schedule="constant", ema_momentum=0.95),
    "plateau+ema": dict(lr_schedule="plateau", ema_momentum=0.95),
    "batch16": dict(lr_schedule="plateau", ema_momentum=0.9, batch_size=16, learning_rate=1.5e-3),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="S", choices=("W", "S", "WS", "baseline"))
    parser.add_argument("--corpus", default="semaine", choices=("semaine", "recola"))
    parser.add_argument("--epochs", type=int, default=30, help="epochs per recipe (no early stopping)")
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("work/benchmarks"))
    args = parser.parse_args(argv)

    import pandas as pd

    from emo_lib import study
    from emo_lib.model_card import device_info
    from emo_lib.training import train_model, evaluate_model

    profile = study.get_profile("quick")
    corpora = study.load_study_corpora(profile, {args.corpus: None}, args.work, progress=False)
    runs = args.work / "runs"
    data = study.prepare_study_data(corpora, runs, profile, variants=(args.variant,), progress=False)[args.corpus]
    device = device_info()
    print(f"CPU: {device['cpu_model']} ({device['cpu_count']} cores; "
          f"{', '.join(device['cpu_vector_extensions'])}); Keras backend {device['keras_backend']}")
    print(f"{args.variant} on the quick stand-in ({study.corpus_label(data.corpus)}): {len(data.train)} training, "
          f"{len(data.validation)} validation, {len(data.test)} test segments; {args.epochs} epochs per recipe, "
          "no early stopping")
    rows = []
    for name in args.recipes:
        config = profile.train.replace(seed=args.seed, max_epochs=args.epochs, min_epochs=args.epochs,
                                       patience=args.epochs, **RECIPES[name])
        folder = args.work / "convergence" / f"{args.corpus}-{args.variant}-{name}"
        shutil.rmtree(folder, ignore_errors=True)
        model = study.build_experiment_model(data, args.variant, profile.preset, args.seed, data.train)
        started = time.perf_counter()
        result = train_model(model, data.train, data.validation, folder, config, verbose=0)
        seconds = time.perf_counter() - started
        test = evaluate_model(result.model, data.test, folder)["metrics"]["ccc"]["concatenated"]
        curve = np.array([row["val_ccc_mean"] for row in result.history])
        rows.append({
            "recipe": name, "batch": config.batch_size, "epochs": len(curve), "best epoch": result.best_epoch,
            "best validation CCC": round(float(curve.max()), 3),
            "epoch-to-epoch jump": round(float(np.mean(np.abs(np.diff(curve[5:])))), 3),
            "last 5 epochs range": round(float(np.ptp(curve[-5:])), 3),
            "test CCC arousal": round(test["arousal"], 3), "test CCC valence": round(test["valence"], 3),
            "seconds": round(seconds),
        })
        print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1), flush=True)
    print()
    print(pd.DataFrame(rows).to_markdown(index=False) if _has_tabulate() else pd.DataFrame(rows).to_string(index=False))
    return 0


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
