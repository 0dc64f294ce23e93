# Sourced by bench/*/run.sh: runs a bench driver under Bun pinned to CPU1 (the
# systems under test take CPU0), with a temp dir exported under the name the
# driver reads, and on any exit kills every process the driver recorded in
# <tmp>/pids ("pid starttime", the start time checked so a recycled pid is
# never hit) before removing the dir.
#
#     run_pinned <TMP_ENV_VAR> <name> <driver.ts> [driver args...]

ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
export KV_BENCH_BUN="${KV_BENCH_BUN:-$PWD/node_modules/.bin/bun}"

pinned_kill_recorded() {
  local sig=$1 pid start now
  [ -f "$PINNED_TMP/pids" ] || return 0
  while read -r pid start; do
    [ -r "/proc/$pid/stat" ] || continue
    now=$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f20)
    [ "$now" = "$start" ] && kill "-$sig" "$pid" 2>/dev/null
  done < "$PINNED_TMP/pids"
  return 0
}

pinned_cleanup() {
  trap - EXIT INT TERM
  [ -n "$PINNED_RUNNER" ] && kill -TERM "$PINNED_RUNNER" 2>/dev/null && wait "$PINNED_RUNNER" 2>/dev/null
  pinned_kill_recorded TERM
  sleep 0.5
  pinned_kill_recorded KILL
  rm -rf "$PINNED_TMP"
}

run_pinned() {
  local var=$1 name=$2 driver=$3 status
  shift 3
  PINNED_TMP=$(mktemp -d "${TMPDIR:-/tmp}/consulate-bench-$name.XXXXXX")
  export "$var=$PINNED_TMP"
  PINNED_RUNNER=""
  trap pinned_cleanup EXIT
  trap 'exit 130' INT TERM
  taskset -c 1 "$KV_BENCH_BUN" "$driver" "$@" &
  PINNED_RUNNER=$!
  wait "$PINNED_RUNNER"
  status=$?
  PINNED_RUNNER=""
  return "$status"
}
