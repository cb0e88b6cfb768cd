#!/usr/bin/env bash
# Quick start 2: set up (with test tools), then run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
