#!/usr/bin/env bash
# What the tests need beyond the workbook's own set-up: Debian's Chromium (the browser test drives
# JupyterLab in it) and iproute2 (programs a test starts run in a loopback-only network namespace).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/apt-install.sh
source scripts/apt-install.sh
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)  # az joins the emulator's namespace (test_azure_cli)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)  # another user's process (owner-only, the hub test)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
    install_packages "the test tools (Chromium takes about half a minute)" "${missing[@]}"
fi

# configurable-http-proxy (JupyterHub's default proxy) for tests/hub, from npm into a cache folder outside the
# repository (never into it); tests/hub/hub_harness.py finds it there. Node.js and npm from Debian when missing.
CHP_DIR="${MI_WORKBOOK_CHP_DIR:-$HOME/.cache/mi-workbook/chp}"
CHP_VERSION="5.3.0"
if [ ! -x "$CHP_DIR/node_modules/.bin/configurable-http-proxy" ] || \
   ! grep -q "\"version\": \"$CHP_VERSION\"" "$CHP_DIR/node_modules/configurable-http-proxy/package.json" 2>/dev/null; then
    if ! command -v npm >/dev/null 2>&1; then
        install_packages "Node.js and npm for configurable-http-proxy (the JupyterHub test)" nodejs npm
    fi
    echo "Test set-up: installing configurable-http-proxy $CHP_VERSION into $CHP_DIR (npm) ..."
    mkdir -p "$CHP_DIR"
    npm install --silent --no-audit --no-fund --prefix "$CHP_DIR" "configurable-http-proxy@$CHP_VERSION" >/dev/null
fi
