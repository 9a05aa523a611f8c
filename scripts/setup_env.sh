#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the exact lock and emo_lib into it, once.
#
# The lock is requirements.txt (the packages emo_lib needs to run, plus what the tests and the
# notebooks need: JAX for the JAX-backend tests, pytest, papermill and Jupyter) with every
# transitive version fixed in constraints.txt. emo_lib is then installed in editable mode with its
# "test" extra (which includes "jax" and "notebooks") under the same constraints: pip checks that
# the ranges pyproject.toml declares accept the locked versions, and installs nothing more.
# Re-running is cheap: nothing is reinstalled when requirements.txt, constraints.txt and
# pyproject.toml are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.emo_requirements
wanted=$(cat requirements.txt constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt -c constraints.txt
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[test]"
  echo "$wanted" > "$stamp"
fi
