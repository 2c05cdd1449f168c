# Sourced by scripts/services.d/*.sh: install Debian packages the tests need, binaries only.
# policy-rc.d exit 101 stops the packages' maintainer scripts from starting any service: the
# tests start their own servers on temporary folders and free 127.0.0.1 ports.
install_debian_packages() {
    export DEBIAN_FRONTEND=noninteractive
    local policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod +x "$policy"
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT  # also when apt-get fails under set -e
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
