#!/usr/bin/env bash
# Set up moodtune in ./.venv (Python 3.11+). Usage: ./scripts/setup.sh [extras]
# extras defaults to "dev" (tests, training, linters); pass "" for the bare product.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1-dev}"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ -n "$extras" ]; then
  .venv/bin/python -m pip install -q -e ".[${extras}]"
else
  .venv/bin/python -m pip install -q -e .
fi
echo "moodtune is installed in .venv: try .venv/bin/moodtune --help"
