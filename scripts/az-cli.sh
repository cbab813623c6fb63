#!/usr/bin/env bash
# The Azure CLI for the conformance tests, in its own cached virtual environment (never the project's
# .venv: azure-cli pins its own azure-* and msal versions). Installs once, then prints the path of `az`.
#
#   bash scripts/az-cli.sh            # -> ~/.cache/mi-workbook/az-venv/bin/az
#
# AZ_CLI_VERSION picks the version (default below); MI_WORKBOOK_AZ_VENV the environment's folder.
# A fresh install downloads ~100 wheels; later runs find the marker file and return at once.
set -euo pipefail

version="${AZ_CLI_VERSION:-2.91.0}"
venv="${MI_WORKBOOK_AZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mi-workbook/az-venv}"
python="${PYTHON:-python3}"
marker="$venv/.azure-cli-$version"

if [ ! -f "$marker" ]; then
    mkdir -p "$(dirname "$venv")"
    # One installer at a time (parallel test runs share the cache).
    exec 9>"$venv.lock"
    flock 9
    if [ ! -f "$marker" ]; then
        rm -rf "$venv"
        echo "Installing azure-cli $version into $venv (once; cached for later runs)" >&2
        "$python" -m venv "$venv"
        if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check "azure-cli==$version" \
                >"$venv.install.log" 2>&1; then
            tail -n 40 "$venv.install.log" >&2
            echo "azure-cli $version could not be installed (log: $venv.install.log)" >&2
            exit 1
        fi
        # Check the install without running `az` itself: az may phone home (telemetry, update checks), and
        # nothing here may leave loopback; the tests run az in a loopback-only network namespace.
        "$venv/bin/python" -c "import azure.cli.core, azure.cli.command_modules.role" >&2
        touch "$marker"
    fi
fi
echo "$venv/bin/az"
