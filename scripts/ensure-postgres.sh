#!/usr/bin/env bash
# Make sure PostgreSQL server binaries exist: the end-to-end tests start their own server
# (own data directory, own port, loopback only) and need initdb and pg_ctl for that.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "PostgreSQL server binaries are missing; install the 'postgresql' package (as root)." >&2
    exit 1
fi
echo "Installing PostgreSQL server binaries (Debian package 'postgresql')..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql >/dev/null
# The package may start a cluster on the default port; the tests never use it.
service postgresql stop >/dev/null 2>&1 || true
