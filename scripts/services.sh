#!/usr/bin/env bash
# Installs what the tests need from outside PyPI. Each step is idempotent and cached.
set -euo pipefail
cd "$(dirname "$0")/.."
for step in scripts/services.d/*.sh; do
    [ -e "$step" ] || continue
    bash "$step"
done
