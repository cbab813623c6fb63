#!/usr/bin/env bash
# Run the workbook on the embedded emulator: JupyterLab (default) or headless (--headless).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
bash scripts/setup.sh
# shellcheck disable=SC1091
source "$VENV/bin/activate"

# Start the emulator in the background (a no-op if it already runs) and take its profile variables.
eval "$(azure-emulator start)"

if [ "${1:-}" = "--headless" ]; then
    mkdir -p output
    for notebook in notebooks/[0-9][0-9]_*.ipynb; do
        name="$(basename "$notebook")"
        echo "Running $name"
        papermill --kernel python3 --cwd notebooks --execution-timeout 300 --no-progress-bar \
            -p target emulator "$notebook" "output/$name"
    done
    echo
    echo "Executed notebooks are in $(pwd)/output/ . Stop the emulator with: $VENV/bin/azure-emulator stop"
else
    extra=()
    if [ "$(id -u)" -eq 0 ]; then extra+=(--allow-root); fi  # containers and CI images run as root
    exec jupyter lab --notebook-dir=notebooks "${extra[@]}"
fi
