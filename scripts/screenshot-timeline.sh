#!/usr/bin/env bash
# Render an HTML timeline (sim/export/html.ts) with headless Chromium and save a PNG.
#
#   scripts/screenshot-timeline.sh out/run.html [out/timeline.png] [1400,900]
#
# Needs Debian's `chromium` package (apt-get install -y chromium). The page is opened from a
# file:// URL with every network feature Chromium has switched off: the timeline must render with
# no network at all. Exit codes: 0 screenshot written, 2 usage error, 3 chromium missing,
# 4 chromium failed or wrote no image.
set -euo pipefail

html="${1:-}"
png="${2:-out/timeline.png}"
size="${3:-1400,900}"
chromium="${CHROMIUM:-/usr/bin/chromium}"

if [[ -z "$html" || ! -f "$html" ]]; then
  echo "usage: $0 TIMELINE.html [OUT.png] [WIDTH,HEIGHT]" >&2
  exit 2
fi
if [[ ! -x "$chromium" ]]; then
  echo "chromium not found at $chromium (apt-get install -y chromium, or set CHROMIUM=...)" >&2
  exit 3
fi

mkdir -p "$(dirname "$png")"
rm -f "$png"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
abs_html="$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"
abs_png="$(cd "$(dirname "$png")" && pwd)/$(basename "$png")"

# --virtual-time-budget lets the page's script run to completion before the capture.
"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --disable-dev-shm-usage --hide-scrollbars --virtual-time-budget=5000 \
  --user-data-dir="$profile" --screenshot="$abs_png" --window-size="$size" \
  "file://$abs_html" >"$profile/chromium.log" 2>&1 || {
  echo "chromium failed:" >&2
  tail -20 "$profile/chromium.log" >&2
  exit 4
}
if [[ ! -s "$abs_png" ]]; then
  echo "chromium wrote no screenshot:" >&2
  tail -20 "$profile/chromium.log" >&2
  exit 4
fi
echo "$png"
