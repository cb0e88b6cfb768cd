#!/usr/bin/env bash
# (Re)create the Python 3.12 virtualenv used only by the OpenADR 3 interoperability test.
# The third-party `openadr3-client` package needs Python >= 3.12; the project runs on 3.11,
# so the test starts that client in its own interpreter (tests/service/openadr_client_script.py).
#
# Usage: scripts/make_venv312.sh [path-to-python3.12]
# Env:   OFFTAKE_PY312 (interpreter), OFFTAKE_VENV312 (target dir, default <repo>/.venv312)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
py="${1:-${OFFTAKE_PY312:-}}"
if [[ -z "$py" ]]; then
  # pyenv shims exist even when the version is not selected, so run each candidate.
  for cand in "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python /root/.pyenv/versions/3.1[2-9]*/bin/python \
              python3.12 python3.13; do
    if "$cand" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 12))' >/dev/null 2>&1; then
      py="$cand"; break
    fi
  done
fi
if [[ -z "$py" ]]; then
  echo "no Python 3.12 interpreter found; pass its path or set OFFTAKE_PY312" >&2
  exit 2
fi
"$py" -c 'import sys; assert sys.version_info[:2] >= (3, 12), sys.version' \
  || { echo "$py is not Python >= 3.12" >&2; exit 2; }
target="${OFFTAKE_VENV312:-$repo/.venv312}"
rm -rf "$target"
"$py" -m venv "$target"
"$target/bin/python" -m pip install --quiet --upgrade pip
"$target/bin/python" -m pip install --quiet "openadr3-client[mqtt]>=2.4" "oadr30-ven-ud>=1.2"
"$target/bin/python" -c 'import openadr3_client, paho.mqtt, oadr30.vtn; print("openadr3-client ready in", __import__("sys").prefix)'
