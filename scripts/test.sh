#!/usr/bin/env bash
# Run every check moodtune has: setup (venv + Debian packages the tests need), ruff, mypy, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh dev
.venv/bin/ruff check src tests bench scripts
.venv/bin/ruff format --check src tests bench scripts
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
