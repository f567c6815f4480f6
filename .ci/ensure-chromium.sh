#!/usr/bin/env bash
# Make sure a headless Chromium exists (Debian's chromium package): the
# impact-report test renders the HTML report with it and fails on any
# console message. Nothing is started here.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "ensure-chromium: chromium is missing; install Debian's 'chromium' package" \
         "as root (apt-get install chromium)" >&2
    exit 1
  fi
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# A font for the page text: without one Chromium draws boxes.
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null

if ! command -v chromium >/dev/null 2>&1; then
  echo "ensure-chromium: installed 'chromium' but no chromium command is on PATH" >&2
  exit 1
fi
