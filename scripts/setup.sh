#!/usr/bin/env bash
# Set up LayerLab on a fresh machine: a virtual environment in .venv with the project installed.
# Sourced by serve.sh and test.sh; safe to run again (it only installs what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
# torch is pinned to >=2.5,<2.14 in pyproject.toml (the CPU build where there is no GPU).
echo "setup: installing LayerLab and its test tools into .venv"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
