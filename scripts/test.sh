#!/usr/bin/env bash
# Quick start 2: set up (with test tools), then run the test suite.
# The tests run in parallel on pytest-xdist workers: one per core, at most 8 (a worker holds
# the whole stack, up to 1 GB of memory), or OFFTAKE_TEST_WORKERS of them; 0 (or `-n 0` as an argument) runs them serially in this process.  Tests marked
# timing never run beside tests marked heavy (tests/conftest.py, docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
cores() {  # the CPUs this process may use: nproc, or fewer under a cgroup CPU quota (docker --cpus)
  local n q="" p=""
  n=$(nproc 2>/dev/null || echo 1)
  if [ -r /sys/fs/cgroup/cpu.max ]; then
    read -r q p < /sys/fs/cgroup/cpu.max || true
  elif [ -r /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
    q=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us); p=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
  fi
  if [[ "$q" =~ ^[0-9]+$ ]] && [[ "$p" =~ ^[0-9]+$ ]] && [ "$q" -gt 0 ] && [ "$p" -gt 0 ] \
      && [ $((q / p)) -lt "$n" ]; then
    n=$((q / p > 0 ? q / p : 1))  # whole cores: a timing test needs one to itself
  fi
  echo "$n"
}
workers=${OFFTAKE_TEST_WORKERS:-$(cores)}
if [ -z "${OFFTAKE_TEST_WORKERS:-}" ] && [ "$workers" -gt 8 ]; then
  workers=8
fi
if [ "$workers" -le 1 ]; then
  workers=0  # one core: xdist's extra process only costs
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider -n "$workers" --dist worksteal "$@"
