#!/usr/bin/env bash
# What the tests need beyond the workbook's own set-up: Debian's Chromium (the browser test drives
# JupyterLab in it) and iproute2 (programs a test starts run in a loopback-only network namespace).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)  # az joins the emulator's namespace (test_azure_cli)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)  # another user's process (owner-only, the hub test)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
        echo "Test set-up: installing ${missing[*]} (apt-get; Chromium takes about half a minute) ..."
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "Please install with your package manager: ${missing[*]}" >&2
        exit 1
    fi
fi
