#!/usr/bin/env bash
# Run the workbook on the embedded emulator: JupyterLab (default) or headless (--headless).
#   bash scripts/workbook.sh               JupyterLab on the repository, opening notebooks/index.ipynb
#   bash scripts/workbook.sh --headless    every notebook through papermill into output/ (+ HTML, summary)
#   TARGET=azure bash scripts/workbook.sh --headless    the same on an Azure VM (no emulator started)
#   TARGET=azure PORT=8888 bash scripts/workbook.sh     JupyterLab on an Azure VM, on a port to tunnel to
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
TARGET="${TARGET:-emulator}"
bash scripts/setup.sh
# shellcheck disable=SC1091
source "$VENV/bin/activate"

started_here=""
export WORKBOOK_TARGET="$TARGET"  # what the notebooks' Parameters cells read
if [ "$TARGET" != "azure" ]; then
    # Start the emulator in the background (a no-op if it already runs) and take its profile variables.
    if ! azure-emulator status >/dev/null 2>&1; then started_here=yes; fi
    # A start that fails has said why on stderr (a port in use …): stop here rather than run every notebook into
    # "the emulator is not running". (eval "$(…)" alone would swallow the failure.)
    if ! profile_env="$(azure-emulator start)"; then
        echo "The emulator did not start (the reason is above); no notebook was run." >&2
        exit 1
    fi
    eval "$profile_env"
fi
stop_emulator() {
    if [ -n "$started_here" ]; then
        azure-emulator stop >/dev/null 2>&1 && echo "The emulator is stopped."
    elif [ "$TARGET" != "azure" ]; then
        echo "The emulator keeps running (it was running before). Stop it with: $VENV/bin/azure-emulator stop"
    fi
}

if [ "${1:-}" = "--headless" ]; then
    trap stop_emulator EXIT
    python scripts/run_notebooks.py --target "$TARGET"
else
    extra=()
    if [ "$(id -u)" -eq 0 ]; then extra+=(--allow-root); fi  # containers and CI images run as root
    port="${PORT:-$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
    token="$(python -c 'import secrets; print(secrets.token_urlsafe(24))')"
    url="http://127.0.0.1:${port}/lab/tree/notebooks/index.ipynb?token=${token}"
    cat <<BANNER

  ┌──────────────────────────────────────────────────────────────────────────────
  │ Managed Identity Workbook — JupyterLab (target: ${TARGET})
  │ Open:  ${url}
  │ Start with notebooks/index.ipynb. Stop with Ctrl+C; the emulator stops with it.
  │ JupyterLab's own log: ${VENV}/jupyterlab.log
  └──────────────────────────────────────────────────────────────────────────────

BANNER
    trap stop_emulator EXIT
    # Trust the workbook's own notebooks (a signature in your Jupyter data dir): JupyterLab then renders the widget
    # state saved in them (07's selector) on first open, instead of the widget's text.
    jupyter trust notebooks/*.ipynb >/dev/null 2>&1 || echo "(could not trust the notebooks: widgets show once run)"
    JUPYTER_TOKEN="$token" jupyter lab --ip=127.0.0.1 --port="$port" --ServerApp.port_retries=0 \
        --notebook-dir=. --LabApp.default_url="/lab/tree/notebooks/index.ipynb" "${extra[@]}" \
        >"${VENV}/jupyterlab.log" 2>&1 \
        || { echo "JupyterLab stopped with an error; the end of ${VENV}/jupyterlab.log:"; tail -n 20 "${VENV}/jupyterlab.log"; }
fi
