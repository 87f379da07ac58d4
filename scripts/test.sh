#!/usr/bin/env bash
# Run every check moodtune has: setup (venv with the dev and hf extras), ruff, mypy,
# import-linter (the layers in pyproject.toml), pytest.
# The hf extra's torch comes from the CPU wheel of torch 2.13.0 (`pip install torch==2.13.0`;
# any other torch spec would pull a multi-GB CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh dev
# Debian packages the tests start: Chromium for the end-to-end browser test (Playwright
# drives /usr/bin/chromium; it never downloads a browser of its own), mpd and mopidy (with
# its MPD frontend) for the player integration tests. Only what is missing is installed.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
{ command -v mpd >/dev/null 2>&1 || [ -x /usr/bin/mpd ]; } || missing+=(mpd)
{ command -v mopidy >/dev/null 2>&1 && [ -d /usr/lib/python3/dist-packages/mopidy_mpd ]; } \
  || missing+=(mopidy mopidy-mpd)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/python -m pip install -q "torch==2.13.0"
fi
.venv/bin/python -m pip install -q -e ".[dev,hf]"
.venv/bin/ruff check src tests bench scripts
.venv/bin/ruff format --check src tests bench scripts
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python -m pytest -q "$@"
