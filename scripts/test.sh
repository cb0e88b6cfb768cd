#!/usr/bin/env bash
# Quick start 2: set up (with test tools), then run the test suite.
# The tests run in parallel on pytest-xdist workers: one per core, at most 4 (the suite is
# mostly waiting on servers, browsers and solvers, and more workers only crowd the
# wall-clock tests), or OFFTAKE_TEST_WORKERS of them; 0 (or `-n 0` as an argument) runs
# them serially in this process.  Tests marked heavy never run two at once, and go to the
# first worker (tests/conftest.py, docs/testing.md); --dist worksteal rebalances the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
workers=${OFFTAKE_TEST_WORKERS:-$(nproc 2>/dev/null || echo 1)}
if [ -z "${OFFTAKE_TEST_WORKERS:-}" ] && [ "$workers" -gt 4 ]; then
  workers=4
fi
if [ "$workers" -le 1 ]; then
  workers=0  # one core: xdist's extra process only costs
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider -n "$workers" --dist worksteal "$@"
