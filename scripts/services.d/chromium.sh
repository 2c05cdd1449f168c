#!/usr/bin/env bash
# Headless Chromium for the dbt docs-site test (tests/ingestion/dbt/test_docs_site.py):
# Debian's chromium package. Idempotent: does nothing when /usr/bin/chromium exists.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "services: chromium is missing; install it with: sudo apt-get install -y chromium" >&2
    exit 1
fi

echo "services: installing chromium from Debian (headless docs-site test)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
