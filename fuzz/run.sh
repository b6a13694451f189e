#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a set time and prints the executions of each.
# usage: fuzz/run.sh BUILD_DIR [SECONDS]
# The seed corpus fuzz/corpus/<target>/ is copied to BUILD_DIR/fuzz-corpus/<target>/, which
# grows run after run; crashes land in BUILD_DIR/fuzz-artifacts/<target>/. Exits 1 when any
# target crashed, leaked or hung.
set -u
build=${1:?usage: fuzz/run.sh BUILD_DIR [SECONDS]}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
status=0
summary=""
# UBSan findings stop the run like ASan's (the libraries are built with -fno-sanitize-recover).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for bin in "$build"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  name=${name#fuzz_}
  corpus="$build/fuzz-corpus/$name"
  artifacts="$build/fuzz-artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  [ -d "$here/corpus/$name" ] && cp -n "$here/corpus/$name"/* "$corpus"/ 2>/dev/null
  dict=()
  [ -f "$here/dict/$name.dict" ] && dict=(-dict="$here/dict/$name.dict")
  log="$build/fuzz-$name.log"
  echo "fuzz_$name: ${seconds} s ..."
  "$bin" "$corpus" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    result="ok"
  else
    result="FAILED (exit $rc; see $log and $artifacts)"
    status=1
  fi
  summary+=$(printf '%-18s %12s executions %8s/s  %-10s %s' "$name" "${runs:-?}" "${rate:-?}" \
    "${cov:-}" "$result")$'\n'
done
echo
echo "target               executions"
printf '%s' "$summary"
exit $status
