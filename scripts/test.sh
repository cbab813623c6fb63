#!/usr/bin/env bash
# Set up, then run every test: lib, emulator, official clients, notebooks (papermill + nbval), lint.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
bash scripts/setup.sh
bash scripts/setup-test-tools.sh
# The real Azure CLI for tests/conformance/test_azure_cli.py, in its own cached environment (not .venv).
MI_WORKBOOK_TEST_AZ="$(bash scripts/az-cli.sh)"
export MI_WORKBOOK_TEST_AZ
"$VENV/bin/ruff" check .
exec "$VENV/bin/python" -m pytest "$@"
