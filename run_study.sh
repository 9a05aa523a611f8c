#!/usr/bin/env bash
# Set up .venv, then run the study notebooks 01-04 top to bottom and regenerate figures/ and
# figures/table1.md. Without arguments: the synthetic stand-in corpus, quick profile.
# Any argument is passed on to `emo notebooks` (e.g. --profile paper --semaine DIR --recola DIR).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup_env.sh
exec .venv/bin/emo notebooks "$@"
