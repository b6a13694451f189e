#!/usr/bin/env bash
# The offline demo behind `make demo`: generate a synthetic Sentinel-2 sample area, serve it
# from the local test server (STAC API, token service and COG blobs on 127.0.0.1), and run
# s2prep end to end against it. Outputs stay in demo-output/.
set -euo pipefail
build="${1:-build}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
data="$here/demo-data"
out="$here/demo-output"
scenegen="$build/s2prep-scenegen"
s2prep="$build/s2prep"

if [ ! -f "$data/items.json" ]; then
  echo "== Generating a synthetic sample area in $data"
  rm -rf "$data"
  "$scenegen" generate --out "$data"
fi

port_file="$(mktemp)"
"$scenegen" serve --data "$data" --port-file "$port_file" --require-signing &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$port_file"' EXIT
for _ in $(seq 1 100); do
  [ -s "$port_file" ] && break
  sleep 0.1
done
base="$(cat "$port_file")"
region="$("$scenegen" region)"
export S2PREP_STAC_URL="$base/stac"
export S2PREP_TOKEN_URL="$base/token"

echo
echo "== s2prep search (local STAC server at $base)"
"$s2prep" search --geometry "$region" --start 2021-01-01 --end 2023-12-31

echo
echo "== s2prep run"
"$s2prep" run --geometry "$region" --start 2021-01-01 --end 2023-12-31 \
  --out "$out" --quicklook --keep-probabilities

echo
echo "Open $out/index.html for the quicklooks and the summary."
