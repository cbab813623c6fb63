#!/usr/bin/env bash
# Set up, then run every test: lib, emulator, official clients, notebooks (papermill + nbval), lint.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
bash scripts/setup.sh
bash scripts/setup-test-tools.sh
"$VENV/bin/ruff" check .
exec "$VENV/bin/python" -m pytest "$@"
