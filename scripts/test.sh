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
# Cached bytecode for the project and its tests: every worker, kernel and emulator the suite starts would compile
# them again (pytest's assertion rewriting too), seconds of CPU each time. __pycache__ is git-ignored.
unset PYTHONDONTWRITEBYTECODE
# pytest-xdist: one worker per core plus one, since one worker mostly waits while the browser test's JupyterLab
# runs every notebook; whole modules to a worker, the long families first (tests/conftest.py schedules them).
WORKERS="${MI_WORKBOOK_TEST_WORKERS:-$(( $(nproc) + 1 ))}"
exec "$VENV/bin/python" -m pytest --numprocesses "$WORKERS" --dist loadscope "$@"
