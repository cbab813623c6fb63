#!/usr/bin/env bash
# Set-up (idempotent): the system libraries the ODBC driver needs, a virtual environment, and the
# project installed editable with everything for notebooks and tests. Skipped when nothing it
# depends on changed since the last successful run; the installers' own output goes to a log.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
STAMP="$VENV/.setup-stamp"
LOG="$VENV/setup.log"

# shellcheck source=scripts/apt-install.sh
source scripts/apt-install.sh

stamp_of() {  # what the set-up depends on: this script and the project's requirements
    cat scripts/setup.sh scripts/apt-install.sh pyproject.toml | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
}

# pyodbc needs libodbc.so.2; the Microsoft ODBC Driver 18 (from the mssql-python-odbc wheel) needs
# libltdl.so.7 and the Kerberos libraries. Install them from Debian/Ubuntu packages when missing.
missing=()
# Read the cache once: `ldconfig -p | grep -q` under pipefail fails now and then (grep -q exits at the first match,
# ldconfig gets SIGPIPE), which made the set-up reinstall libraries it had.
cache="$(ldconfig -p 2>/dev/null || true)"
for lib in libodbc.so.2:libodbc2 libltdl.so.7:libltdl7 libkrb5.so.3:libkrb5-3 libgssapi_krb5.so.2:libgssapi-krb5-2; do
    file="${lib%%:*}" package="${lib##*:}"
    if ! grep -qF "$file" <<<"$cache"; then missing+=("$package"); fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    install_packages "the system libraries the ODBC driver needs" "${missing[@]}" || true  # notebooks 00-03, 05-08 run without
fi

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_of)" ]; then
    echo "Set-up: up to date ($VENV)."
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "Set-up: creating the virtual environment $VENV ..."
    "$PYTHON" -m venv "$VENV"
fi
echo "Set-up: installing Python packages into $VENV (the first time takes a minute or two; log: $LOG) ..."
# The workbook's Jupyter server extension (workbook_jupyter) is enabled by copying its enabling file: an editable
# install does not install the project's data files (a regular one does), and `jupyter server extension enable`
# (jupyter_server 2.21) refuses an extension that no config names yet.
ENABLE_DIR="$VENV/etc/jupyter/jupyter_server_config.d"
if ! { "$VENV/bin/python" -m pip install --upgrade pip && "$VENV/bin/python" -m pip install -e ".[test,hub]" &&
       mkdir -p "$ENABLE_DIR" && cp workbook_jupyter/etc/jupyter_server_config.d/workbook_jupyter.json "$ENABLE_DIR/"; \
     } >"$LOG" 2>&1; then
    echo "Set-up failed; the end of $LOG:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
fi
stamp_of >"$STAMP"
echo "Set-up: done ($VENV)."
