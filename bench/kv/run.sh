#!/usr/bin/env bash
# KV benchmark (BENCHMARKS.md recipes (b) and (d)): Consulate vs a bare
# Bun.serve floor vs one-member etcd, then blocking-query fan-out.
#
#     bench/kv/run.sh [seconds-per-wrk-run]      (default 4; whole run ~5 min)
#
# Env: KV_BENCH_REPS (5), KV_BENCH_FANOUT ("1000,5000,10000", "" to skip),
#      KV_BENCH_FANOUT_REPS (3).
set -uo pipefail
cd "$(dirname "$0")/../.."

# 10k parked watchers need 10k fds in the client and in the server.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

KV_BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/consulate-bench-kv.XXXXXX")
export KV_BENCH_TMP
export KV_BENCH_BUN="${KV_BENCH_BUN:-$PWD/node_modules/.bin/bun}"
runner=""

# Kills what the runner recorded in $KV_BENCH_TMP/pids ("pid starttime"),
# checking the start time so a recycled pid is never hit.
kill_recorded() {
  local sig=$1 pid start now
  [ -f "$KV_BENCH_TMP/pids" ] || return 0
  while read -r pid start; do
    [ -r "/proc/$pid/stat" ] || continue
    now=$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f20)
    [ "$now" = "$start" ] && kill "-$sig" "$pid" 2>/dev/null
  done < "$KV_BENCH_TMP/pids"
  return 0
}

cleanup() {
  trap - EXIT INT TERM
  [ -n "$runner" ] && kill -TERM "$runner" 2>/dev/null && wait "$runner" 2>/dev/null
  kill_recorded TERM
  sleep 0.5
  kill_recorded KILL
  rm -rf "$KV_BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

taskset -c 1 "$KV_BENCH_BUN" bench/kv/run.ts "$@" &
runner=$!
wait "$runner"
status=$?
runner=""
exit "$status"
