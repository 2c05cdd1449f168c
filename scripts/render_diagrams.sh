#!/usr/bin/env bash
# Renders architecture/diagrams/*.mmd to SVG with mermaid-cli and Debian's Chromium.
# Each SVG ends with the SHA-256 of its source; tests fail when a source changed since.
set -euo pipefail
cd "$(dirname "$0")/.."
MERMAID_VERSION=11.17.0
TOOLS=.cache/mermaid
MMDC=$TOOLS/node_modules/.bin/mmdc

if [ ! -x /usr/bin/chromium ]; then
    bash scripts/services.d/chromium.sh
fi
if [ ! -x "$MMDC" ]; then
    mkdir -p "$TOOLS"
    # Puppeteer's own browser download cannot work here: Debian's Chromium is used instead.
    PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$TOOLS" --no-audit --no-fund --silent \
        "@mermaid-js/mermaid-cli@$MERMAID_VERSION"
fi
config=$(mktemp --suffix=.json)
trap 'rm -f "$config"' EXIT
cat > "$config" <<'JSON'
{"executablePath": "/usr/bin/chromium",
 "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run"]}
JSON
for source in architecture/diagrams/*.mmd; do
    target="${source%.mmd}.svg"
    "$MMDC" --quiet -p "$config" -b white -i "$source" -o "$target"
    printf '\n<!-- source-sha256: %s -->\n' "$(sha256sum "$source" | cut -d' ' -f1)" >> "$target"
    echo "rendered $target"
done
