#!/usr/bin/env bash
# Create (or update) the project virtualenv in .venv and install Offtake into it.
#   bash scripts/setup.sh          runtime only
#   bash scripts/setup.sh dev      plus test tools, Chromium (Debian package) and the Python 3.12 venv
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "Offtake needs Python >= 3.11 (found $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.offtake-setup-${1:-run}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  if [ "${1:-run}" = "dev" ]; then
    .venv/bin/python -m pip install --quiet -c constraints.txt -e '.[dev]'
  else
    .venv/bin/python -m pip install --quiet -c constraints.txt -e .
  fi
  touch "$stamp"
fi
if [ "${1:-run}" = "dev" ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
      || echo "warning: could not install chromium; browser tests will be skipped" >&2
  fi
  if [ -f scripts/make_venv312.sh ]; then
    bash scripts/make_venv312.sh || echo "warning: no Python 3.12 venv; the OpenADR client test will be skipped" >&2
  fi
fi
