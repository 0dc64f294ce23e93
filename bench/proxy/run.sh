#!/usr/bin/env bash
# Sidecar benchmark: a request/response loop straight to an app vs through two
# Consulate sidecars (upstream listener -> mutual TLS -> public listener -> app),
# in one run, with ratios.
#
#     bench/proxy/run.sh [seconds-per-wrk-run]      (default 4; ~2 min)
#
# Env: PROXY_BENCH_ROUNDS (3), PROXY_BENCH_RUNTIME (bun | node | deno: what runs the sidecars).
set -uo pipefail
cd "$(dirname "$0")/../.."
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

PROXY_BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/consulate-bench-proxy.XXXXXX")
export PROXY_BENCH_TMP
BUN="$PWD/node_modules/.bin/bun"
runner=""

kill_recorded() {
  local sig=$1 pid start now
  [ -f "$PROXY_BENCH_TMP/pids" ] || return 0
  while read -r pid start; do
    [ -r "/proc/$pid/stat" ] || continue
    now=$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f20)
    [ "$now" = "$start" ] && kill "-$sig" "$pid" 2>/dev/null
  done < "$PROXY_BENCH_TMP/pids"
  return 0
}

cleanup() {
  trap - EXIT INT TERM
  [ -n "$runner" ] && kill -TERM "$runner" 2>/dev/null && wait "$runner" 2>/dev/null
  kill_recorded TERM
  sleep 0.5
  kill_recorded KILL
  rm -rf "$PROXY_BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

taskset -c 1 "$BUN" bench/proxy/run.ts "$@" &
runner=$!
wait "$runner"
status=$?
runner=""
exit "$status"
