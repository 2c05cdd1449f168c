#!/usr/bin/env bash
# Debian's PostgreSQL server binaries for the fleet_db TLS tests: pgserver's bundled build has
# no SSL. The tests start their own server on a temporary data folder (devservers/postgres.py);
# the system service is never started or enabled here.
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "services: PostgreSQL server binaries are missing, so the fleet_db TLS tests will fail."
    echo "services: install them with: sudo apt-get update && sudo apt-get install -y postgresql"
    exit 0
fi

echo "services: installing postgresql from Debian (binaries only, service not started)"
# shellcheck source=../lib/debian.sh
source "$(dirname "$0")/../lib/debian.sh"
install_debian_packages postgresql
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || {
    echo "services: postgresql installed but no server binary under /usr/lib/postgresql" >&2
    exit 1
}
echo "services: postgresql installed: $(ls -d /usr/lib/postgresql/*/bin/postgres)"
