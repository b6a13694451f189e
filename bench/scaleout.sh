#!/usr/bin/env bash
# Scale-out benchmark: the same request as one `s2prep run` and as `s2prep plan` + N shards run
# at the same time as N processes (`run --plan --shard i/N`) + `s2prep collect`, against the
# local test server (`s2prep-scenegen serve`, the demo scene). Reports both times, their ratio and
# whether the outputs are byte-identical.
#
#   bench/scaleout.sh BUILD_DIR OUT_DIR [SHARDS] [REPS]
#
# SHARDS defaults to the number of cores (at least 2), REPS to 3 (medians reported).
set -euo pipefail
build=$(cd "$1" && pwd)
out=$2
shards=${3:-$(($(nproc) < 2 ? 2 : $(nproc)))}
reps=${4:-3}
scenegen="$build/s2prep-scenegen"
s2prep="$build/s2prep"
cache="$build/bench-cache"
data="$cache/scaleout-scene"
work="$cache/scaleout-work"
mkdir -p "$out" "$cache"
if [[ ! -f "$data/items.json" ]]; then
  echo "== generating the demo scene into $data (once) ..." >&2
  rm -rf "$data"
  "$scenegen" generate --out "$data" >&2
fi

port_file=$(mktemp)
"$scenegen" serve --data "$data" --port-file "$port_file" --require-signing &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$port_file"' EXIT
for _ in $(seq 1 100); do
  [[ -s "$port_file" ]] && break
  sleep 0.1
done
base=$(cat "$port_file")
export S2PREP_STAC_URL="$base/stac"
export S2PREP_TOKEN_URL="$base/token"
region=$("$scenegen" region)
# The tile layout: one unit per acquisition and tile, so there are units to share out.
request=(--geometry "$region" --start 2021-01-01 --end 2023-12-31 --layout tile
         --keep-probabilities --quiet)

now() { date +%s.%N; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

single_times=()
sharded_times=()
plan_times=()
identical=yes
for rep in $(seq 1 "$reps"); do
  rm -rf "$work"
  mkdir -p "$work"
  t0=$(now)
  "$s2prep" run "${request[@]}" --out "$work/single" >"$work/single.log" 2>&1
  t1=$(now)
  single_times+=("$(minus "$t1" "$t0")")

  t0=$(now)
  "$s2prep" plan "${request[@]}" --out "$work/sharded" >"$work/plan.log" 2>&1
  t1=$(now)
  pids=()
  for i in $(seq 0 $((shards - 1))); do
    "$s2prep" run --plan "$work/sharded/plan.json" --shard "$i/$shards" --quiet \
      >"$work/shard-$i.log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  "$s2prep" collect --out "$work/sharded" >"$work/collect.log" 2>&1
  t2=$(now)
  plan_times+=("$(minus "$t1" "$t0")")
  sharded_times+=("$(minus "$t2" "$t0")")

  # Every output file byte for byte (the bookkeeping files differ by design).
  for f in "$work/single"/*.tif "$work/single"/S2_*.json; do
    cmp -s "$f" "$work/sharded/$(basename "$f")" || { identical=no; echo "differs: $(basename "$f")" >&2; }
  done
done
units=$(/usr/bin/python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['units']))" \
  "$work/sharded/plan.json")
single=$(printf '%s\n' "${single_times[@]}" | median)
sharded=$(printf '%s\n' "${sharded_times[@]}" | median)
planned=$(printf '%s\n' "${plan_times[@]}" | median)
ratio=$(awk -v a="$sharded" -v b="$single" 'BEGIN { printf "%.2f", a / b }')
{
  echo "scale-out: demo scene, tile layout, $units units, $shards shards as $shards processes" \
       "at once on $(nproc) cores (medians of $reps)"
  printf '%-52s %8s\n' "" "wall s"
  printf '%-52s %8.1f\n' "one s2prep run" "$single"
  printf '%-52s %8.1f\n' "plan + $shards shards at once + collect" "$sharded"
  printf '%-52s %8.1f\n' "  of which plan" "$planned"
  printf '%-52s %8s\n' "ratio sharded / one run" "$ratio"
  echo "outputs byte-identical to the single run: $identical"
} | tee "$out/scaleout.txt"
cat >"$out/scaleout.json" <<EOF
{"units": $units, "shards": $shards, "cores": $(nproc), "reps": $reps,
 "single_run_s": $single, "sharded_s": $sharded, "plan_s": $planned,
 "ratio_sharded_vs_single": $ratio, "byte_identical": "$identical"}
EOF
[[ $identical == yes ]]
