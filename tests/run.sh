#!/usr/bin/env bash
# Set up and run every test on a fresh Debian-like machine: the Debian packages the tests
# drive, a virtual environment with the project and its test tools, ruff, then pytest.
# Extra arguments go to pytest (for example: bash tests/run.sh -k cop).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests drive: Chromium (kiosk), shellcheck and systemd-analyze (deploy/)
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
if [ "${#need[@]}" -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
