#!/usr/bin/env bash
# MariaDB for the fleet_db tests: Debian's mariadb-server package, binaries only.
# The tests start their own mariadbd on a temporary datadir and a free 127.0.0.1 port
# (devservers/mariadb.py); the system service is never started or enabled here.
set -euo pipefail

if command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "services: mariadb-server is not installed, so the MariaDB fleet_db tests will be skipped."
    echo "services: enable them with: sudo apt-get update && sudo apt-get install -y mariadb-server"
    exit 0
fi

echo "services: installing mariadb-server from Debian (binaries only, service not started)"
# shellcheck source=../lib/debian.sh
source "$(dirname "$0")/../lib/debian.sh"
install_debian_packages mariadb-server
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || {
    echo "services: mariadb-server installed but mariadbd not found" >&2
    exit 1
}
echo "services: mariadb-server installed: $(/usr/sbin/mariadbd --version)"
