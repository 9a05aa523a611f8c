#!/usr/bin/env bash
# Set up .venv, then run the test suite (unit tests and the notebooks on the smallest profile).
# Any argument is passed on to pytest.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup_env.sh
exec .venv/bin/python -m pytest "$@"
