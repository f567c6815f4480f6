#!/usr/bin/env bash
# Make sure PostgreSQL server binaries exist (Debian's postgresql package).
# The tests start their own server on a temporary data directory and a
# loopback port (tests/ledger/pgserver.py); nothing is started here, and no
# default cluster is created: the package's own "main" cluster would only
# take port 5432 and memory for nothing.
set -euo pipefail

have_server() {
  for bindir in /usr/lib/postgresql/*/bin; do
    if [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ]; then return 0; fi
  done
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}

if have_server; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "ensure-postgres: PostgreSQL server binaries are missing; install Debian's" \
         "'postgresql' package as root (apt-get install postgresql)" >&2
    exit 1
  fi
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

# Tell postgresql-common not to create (and start) a default cluster. A file
# in createcluster.d, not createcluster.conf itself, which the package owns.
$SUDO mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" |
  $SUDO tee /etc/postgresql-common/createcluster.d/exportgate.conf >/dev/null

$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends postgresql >/dev/null

if ! have_server; then
  echo "ensure-postgres: installed 'postgresql' but found no initdb/pg_ctl under" \
       "/usr/lib/postgresql/*/bin" >&2
  exit 1
fi
