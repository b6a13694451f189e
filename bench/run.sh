#!/usr/bin/env bash
# Runs s2prep's benchmarks (docs/benchmarks.md) with their defaults and writes the tables.
# Builds nothing: `make bench` builds first, then calls this.
#
#   bench/run.sh BUILD_DIR [options]
#
# Options:
#   --tile-px N           size of the generated tile read by the region benchmark (default 10980,
#                         as real tiles; generated once into BUILD_DIR/bench-cache, ~3 min, ~1 GB)
#   --whole-tile-px N     size of the tile of the whole-tile comparison (default 5490; 10980 takes
#                         ~8 min on 2 cores and ~6 GB of memory); 0 skips it
#   --latency-ms N        latency the local server adds to every request (default 20)
#   --reps N              repetitions of each timed measurement (default 3; medians reported)
#   --run-full-tile       run the full-tile cloud task instead of extrapolating it (~15 min)
#   --no-ingest           skip the ingestion benchmark
#   --no-inference        skip the inference benchmark
#   --shards N            shards of the scale-out benchmark (default: the cores, at least 2)
#   --no-scaleout         skip the scale-out benchmark (plan + N shards against one run)
#   --out DIR             where the tables and JSON go (default BUILD_DIR/bench-results)
set -euo pipefail

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }

[[ $# -ge 1 ]] || { usage >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
shift
HERE=$(cd "$(dirname "$0")" && pwd)
TILE_PX=10980
WHOLE_PX=5490
LATENCY=20
REPS=3
FULL_TILE=""
DO_INGEST=1
DO_INFERENCE=1
DO_SCALEOUT=1
SHARDS=""
OUT="$BUILD/bench-results"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tile-px) TILE_PX=$2; shift 2 ;;
    --whole-tile-px) WHOLE_PX=$2; shift 2 ;;
    --latency-ms) LATENCY=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --run-full-tile) FULL_TILE="--run-full-tile"; shift ;;
    --no-ingest) DO_INGEST=0; shift ;;
    --no-inference) DO_INFERENCE=0; shift ;;
    --no-scaleout) DO_SCALEOUT=0; shift ;;
    --shards) SHARDS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

for exe in ingest_bench inference_bench s2prep-scenegen; do
  if [[ ! -x "$BUILD/$exe" ]]; then
    echo "bench/run.sh: $BUILD/$exe is missing; build first (make bench, or cmake --build $BUILD" \
         "--target benchmarks s2prep-scenegen with -DS2PREP_BUILD_BENCH=ON)." >&2
    exit 2
  fi
done
CACHE="$BUILD/bench-cache"
mkdir -p "$CACHE" "$OUT"
START=$(date +%s)

# One tile (33UUP) at one date of the standard synthetic scene, generated once and reused.
scene() {
  local px=$1 dir="$CACHE/scene-$1"
  if [[ ! -f "$dir/items.json" ]]; then
    echo "== generating a $px px tile into $dir (once) ..." >&2
    rm -rf "$dir"
    "$BUILD/s2prep-scenegen" generate --out "$dir" --size "$px" --tile 33UUP --date 2023-08-12 >&2
  fi
  echo "$dir"
}

{
  echo "s2prep benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(gdalinfo --version)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/machine.txt"

if [[ $DO_INGEST == 1 ]]; then
  DATA=$(scene "$TILE_PX")
  echo
  "$BUILD/ingest_bench" --data "$DATA" --work "$CACHE/ingest-work" --latency-ms "$LATENCY" \
    --reps "$REPS" --json "$OUT/ingest.json"
  cp "$CACHE/ingest-work/ingest_bench.txt" "$OUT/ingest.txt"
  if [[ $WHOLE_PX != 0 ]]; then
    WHOLE_DATA=$(scene "$WHOLE_PX")
    echo
    "$BUILD/ingest_bench" --data "$WHOLE_DATA" --work "$CACHE/whole-work" \
      --latency-ms "$LATENCY" --reps 1 --no-gdal --region-at 0.62 0.41 --whole-tile \
      --json "$OUT/whole_tile.json" | sed -n '/^whole tile/,$p'
    cp "$CACHE/whole-work/ingest_bench.txt" "$OUT/whole_tile.txt"
    # The whole-tile outputs are GBs: keep only the figures.
    rm -f "$CACHE/whole-work/"*.tif
  fi
fi

if [[ $DO_INFERENCE == 1 ]]; then
  ORT="$HERE/ort"
  if [[ ! -d "$ORT/node_modules/onnxruntime-node" ]] && command -v npm >/dev/null; then
    echo "== installing onnxruntime-node into $ORT (once) ..." >&2
    (cd "$ORT" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >&2) ||
      echo "npm install failed: the inference benchmark runs without ONNX Runtime" >&2
  fi
  echo
  "$BUILD/inference_bench" --io "$CACHE/inference-io" --reps "$((REPS + 2))" $FULL_TILE \
    --json "$OUT/inference.json"
  cp "$CACHE/inference-io/inference_bench.txt" "$OUT/inference.txt"
fi

if [[ $DO_SCALEOUT == 1 ]]; then
  echo
  "$HERE/scaleout.sh" "$BUILD" "$OUT" "${SHARDS:-$(($(nproc) < 2 ? 2 : $(nproc)))}" "$REPS"
fi

echo
echo "bench/run.sh: done in $(( $(date +%s) - START )) s; tables and JSON in $OUT"
