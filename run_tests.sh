#!/usr/bin/env bash
# Set up .venv, then run the test suite (unit tests and the notebooks on the smallest profile).
# Any argument is passed on to pytest.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup_env.sh
export TF_CPP_MIN_LOG_LEVEL=2
exec .venv/bin/python -m pytest "$@"
