#!/usr/bin/env bash
# Quick start 1: set up, then run the main job on the built-in Pakistan scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/offtake run --out offtake-out/run "$@"
