#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a set time and prints the executions of each.
# usage: fuzz/run.sh BUILD_DIR [SECONDS] [MIN_RUNS]
# Each target runs SECONDS (60); with MIN_RUNS, a target that made fewer executions in that time
# goes on (on the corpus it grew) until it has made MIN_RUNS. FUZZ_TARGETS="region plan_file"
# runs only those targets. The seed corpus fuzz/corpus/<target>/ is copied to
# BUILD_DIR/fuzz-corpus/<target>/, which grows run after run; crashes land in
# BUILD_DIR/fuzz-artifacts/<target>/. An input running longer than FUZZ_TIMEOUT seconds (10) is a
# hang; libFuzzer measures wall time, so a fuzzer starved under `nice` on a busy machine needs
# more. Exits 1 when any target crashed, leaked or hung.
set -u
build=${1:?usage: fuzz/run.sh BUILD_DIR [SECONDS] [MIN_RUNS]}
seconds=${2:-60}
min_runs=${3:-0}
timeout=${FUZZ_TIMEOUT:-10}
here=$(cd "$(dirname "$0")" && pwd)
status=0
summary=""
# UBSan findings stop the run like ASan's (the libraries are built with -fno-sanitize-recover).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# stat_of LOG NAME: the last value libFuzzer printed for stat::NAME.
stat_of() {
  grep -o "stat::$2: *[0-9]*" "$1" | grep -o '[0-9]*$' | tail -1
}

for bin in "$build"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  name=${name#fuzz_}
  if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $name "* ]]; then continue; fi
  corpus="$build/fuzz-corpus/$name"
  artifacts="$build/fuzz-artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  [ -d "$here/corpus/$name" ] && cp -n "$here/corpus/$name"/* "$corpus"/ 2>/dev/null
  dict=()
  [ -f "$here/dict/$name.dict" ] && dict=(-dict="$here/dict/$name.dict")
  log="$build/fuzz-$name.log"
  : >"$log"
  more=""
  [ "$min_runs" -gt 0 ] && more=", at least $min_runs executions"
  echo "fuzz_$name: ${seconds} s$more ..."
  runs=0
  limit=(-max_total_time="$seconds")
  start=$(date +%s)
  while :; do
    "$bin" "$corpus" "${dict[@]}" "${limit[@]}" -timeout="$timeout" -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log.part" 2>&1
    rc=$?
    cat "$log.part" >>"$log"
    made=$(stat_of "$log.part" number_of_executed_units)
    runs=$((runs + ${made:-0}))
    [ $rc -eq 0 ] && [ "$runs" -lt "$min_runs" ] || break
    limit=(-runs=$((min_runs - runs)))
  done
  rm -f "$log.part"
  elapsed=$(($(date +%s) - start))
  rate=$((runs / (elapsed > 0 ? elapsed : 1)))
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    result="ok"
  else
    result="FAILED (exit $rc; see $log and $artifacts)"
    status=1
  fi
  summary+=$(printf '%-18s %12s executions %8s/s %6s s  %-10s %s' "$name" "$runs" "$rate" \
    "$elapsed" "${cov:-}" "$result")$'\n'
done
echo
echo "target               executions"
printf '%s' "$summary"
exit $status
