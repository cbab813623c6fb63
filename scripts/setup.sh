#!/usr/bin/env bash
# One-time (and idempotent) set-up: system libraries the ODBC driver needs, a virtual environment,
# and the project installed editable with everything for notebooks and tests.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"

# pyodbc needs libodbc.so.2; the Microsoft ODBC Driver 18 (from the mssql-python-odbc wheel) needs
# libltdl.so.7 and the Kerberos libraries. Install them from Debian/Ubuntu packages when missing.
missing=()
for lib in libodbc.so.2:libodbc2 libltdl.so.7:libltdl7 libkrb5.so.3:libkrb5-3 libgssapi_krb5.so.2:libgssapi-krb5-2; do
    file="${lib%%:*}" package="${lib##*:}"
    if ! ldconfig -p 2>/dev/null | grep -q "$file"; then missing+=("$package"); fi
done
# The Azure CLI tests run az in a loopback-only network namespace: unshare and nsenter (util-linux), ip (iproute2).
for tool in unshare:util-linux nsenter:util-linux ip:iproute2; do
    if ! command -v "${tool%%:*}" >/dev/null 2>&1; then missing+=("${tool##*:}"); fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
        echo "Installing system libraries: ${missing[*]}"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "Please install these system libraries with your package manager: ${missing[*]}" >&2
    fi
fi

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[test]"
echo "Set-up done: $VENV"
