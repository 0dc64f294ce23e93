#!/usr/bin/env bash
# Cluster benchmark (BENCHMARKS.md recipe (b) at equal replication): KV PUT
# throughput and p99 with 32 connections for one Consulate server (LocalLog),
# three Consulate servers on a 3-node NATS JetStream log, and etcd with one
# and three members, in the same run.
#
#     bench/cluster/profile.sh [seconds]
#
# Env: CLUSTER_BENCH_REPS (3), CLUSTER_BENCH_CASES (comma list of case names to keep).
set -uo pipefail
cd "$(dirname "$0")/../.."

ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

KV_BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/consulate-bench-cluster.XXXXXX")
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

taskset -c 1 "$KV_BENCH_BUN" bench/cluster/profile.ts "$@" &
runner=$!
wait "$runner"
status=$?
runner=""
exit "$status"
