#!/usr/bin/env bash
# Set up everything and start the playground on its embedded defaults (http://127.0.0.1:8000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/layerlab serve "$@"
