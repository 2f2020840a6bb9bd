#!/usr/bin/env bash
# Renders the walidata report (`satu report --format html`) in headless Chromium and saves a
# screenshot, to check what the walidata sees on a phone (default width 412) or a desk (1280).
#
#   scripts/report-screenshot.sh OUT.png [WIDTH] [HEIGHT]
#
# Run it where `satu` finds its pipelines.toml (or set SATU_CONFIG). SATU_BIN picks the binary
# (default: `satu` on PATH, else `cargo run --release --quiet --`). Needs Debian's chromium
# (`apt-get install chromium`). The HTML is kept next to the screenshot (OUT.html).
set -euo pipefail

out=${1:?usage: report-screenshot.sh OUT.png [WIDTH] [HEIGHT]}
width=${2:-412}
height=${3:-1400}
html="${out%.png}.html"

if [ -n "${SATU_BIN:-}" ]; then satu=("$SATU_BIN")
elif command -v satu >/dev/null; then satu=(satu)
else satu=(cargo run --release --quiet --); fi
"${satu[@]}" report --format html --output "$html"

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "chromium not found: apt-get install chromium" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# The flags keep a headless Chromium off the network (it would look for updates and Google's
# services) and let it run as root in a container.
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" --window-size="$width,$height" \
    --screenshot="$out" "file://$(realpath "$html")" 2>/dev/null
[ -s "$out" ] || { echo "chromium wrote no screenshot" >&2; exit 1; }
echo "screenshot: $out (${width}x${height}), page: $html"
