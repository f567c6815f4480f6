#!/usr/bin/env bash
# Make sure PostgreSQL server binaries exist (Debian's postgresql package).
# The tests start their own server on a temporary data directory and a
# loopback port; nothing is started here.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q postgresql >/dev/null
