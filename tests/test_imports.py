"""What each module pulls in: the statistics, corpus readers and NumPy metrics load without Keras.

Each check runs in a fresh interpreter, since this test process may have
imported Keras already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras", "jax", "torch")


def run_python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter at the repository root; it prints one JSON object."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


LOADED_HEAVY = f"""
import json, sys
heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))
"""


@pytest.mark.parametrize(
    "modules",
    [
        "emo_lib.statistics, emo_lib.corpora",
        "emo_lib.metrics",
        "emo_lib.results",
    ],
)
def test_light_modules_do_not_import_keras(modules):
    out = run_python(
        f"import {modules}\n"
        "from emo_lib.metrics import ccc\n"
        "value = ccc([0, 1, 2], [0, 1, 1])\n"
        + LOADED_HEAVY
        + "print(json.dumps({'heavy': heavy, 'ccc': value}))"
    )
    assert out["heavy"] == []
    assert out["ccc"] == pytest.approx(2 / 3, abs=1e-12)  # 2 cov / (var x + var y + 0) = (4/3) / 2


def test_keras_names_still_come_from_emo_lib_metrics():
    out = run_python(
        "import emo_lib.metrics as m\n"
        "import sys\n"
        "before = 'keras' in sys.modules\n"
        "from emo_lib.metrics import ccc_loss, ConcordanceCorrelation, ccc_metrics\n"
        "import emo_lib.keras_metrics as k\n"
        "import keras\n"
        "import json\n"
        "print(json.dumps({\n"
        "  'before': before,\n"
        "  'same': [ccc_loss is k.ccc_loss, ConcordanceCorrelation is k.ConcordanceCorrelation,\n"
        "           ccc_metrics is k.ccc_metrics],\n"
        "  'registered': [keras.saving.get_registered_object('emo_lib>ccc_loss') is ccc_loss,\n"
        "                 keras.saving.get_registered_object('emo_lib>ConcordanceCorrelation')\n"
        "                 is ConcordanceCorrelation],\n"
        "  'names': [type(x).__name__ for x in ccc_metrics()],\n"
        "  'in_dir': sorted(set(dir(m)) & {'ccc_loss', 'ConcordanceCorrelation', 'ccc_metrics'}),\n"
        "}))"
    )
    assert out["before"] is False  # importing emo_lib.metrics alone did not load Keras
    assert out["same"] == [True, True, True]
    assert out["registered"] == [True, True]
    assert out["names"] == ["ConcordanceCorrelation", "ConcordanceCorrelation"]
    assert out["in_dir"] == ["ConcordanceCorrelation", "ccc_loss", "ccc_metrics"]


def test_custom_objects_loop_of_models_finds_loss_and_metric():
    # the loop emo_lib.models uses to build custom_objects for loading saved models
    out = run_python(
        "import json\n"
        "from emo_lib import metrics as emo_metrics\n"
        "objects = {}\n"
        "for name in emo_metrics.__all__:\n"
        "    value = getattr(emo_metrics, name)\n"
        "    if isinstance(value, type) or name == 'ccc_loss':\n"
        "        objects[name] = value\n"
        "from emo_lib.models import _custom_objects\n"
        "every = _custom_objects()\n"
        "print(json.dumps({'objects': sorted(objects),\n"
        "                  'in_models': sorted(set(every) & set(objects)),\n"
        "                  'modules': sorted({v.__module__ for v in objects.values()})}))"
    )
    assert out["objects"] == ["ConcordanceCorrelation", "ccc_loss"]
    assert out["in_models"] == ["ConcordanceCorrelation", "ccc_loss"]
    assert out["modules"] == ["emo_lib.keras_metrics"]


def test_unknown_attribute_of_metrics_is_an_attribute_error():
    from emo_lib import metrics

    with pytest.raises(AttributeError, match="no attribute 'ccc_loss_v2'"):
        metrics.ccc_loss_v2  # noqa: B018


def test_metrics_imported_after_keras_registers_the_keras_names():
    out = run_python(
        "import json, keras\n"
        "import emo_lib.metrics\n"
        "print(json.dumps({'loss': keras.saving.get_registered_object('emo_lib>ccc_loss') is not None,\n"
        "                  'metric': keras.saving.get_registered_object(\n"
        "                      'emo_lib>ConcordanceCorrelation') is not None}))"
    )
    assert out == {"loss": True, "metric": True}
