#!/usr/bin/env bash
# Install Chromium (Debian/Ubuntu package) for the browser tests, unless it is there.
# Exit 0 when chromium is on PATH afterwards, else 1 (the caller decides how bad that is).
set -uo pipefail
have() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }
have && exit 0
if command -v apt-get >/dev/null 2>&1; then
  # `$SUDO VAR=value cmd` with an empty $SUDO would run a command named VAR=value: use env
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
have
