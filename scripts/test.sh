#!/usr/bin/env bash
# Quick start 2: set up (with test tools), then run the test suite.
# The tests run in parallel on pytest-xdist workers: one per core, at most 8 (a worker holds
# the whole stack, up to 1 GB of memory), or OFFTAKE_TEST_WORKERS of them; 0 (or `-n 0` as an argument) runs them serially in this process.  Tests marked
# timing never run beside tests marked heavy (tests/conftest.py, docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
workers=${OFFTAKE_TEST_WORKERS:-$(nproc 2>/dev/null || echo 1)}
if [ -z "${OFFTAKE_TEST_WORKERS:-}" ] && [ "$workers" -gt 8 ]; then
  workers=8
fi
if [ "$workers" -le 1 ]; then
  workers=0  # one core: xdist's extra process only costs
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider -n "$workers" --dist worksteal "$@"
