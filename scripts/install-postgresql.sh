#!/usr/bin/env bash
# Installs Debian's PostgreSQL server for the tests' throwaway clusters (scripts/pgcluster.py)
# when it is missing. The package may start a system cluster of its own; the tests never use it.
set -euo pipefail
bindir=$(pg_config --bindir 2>/dev/null || true)
if [ -n "$bindir" ] && [ -x "$bindir/initdb" ]; then exit 0; fi
if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
