#!/usr/bin/env bash
# Gossip benchmark (BENCHMARKS.md recipe (e)).
#
#     bench/gossip/run.sh          # simulation (1,000 members) then serf vs consulate on sockets (64 each)
#     bench/gossip/run.sh sim      # only the simulation
#     bench/gossip/run.sh serf     # only the socket comparison
#
# Env: GOSSIP_SIM_N (1000), GOSSIP_SIM_SEEDS (3), GOSSIP_SIM_STABLE_S (60), GOSSIP_SIM_COORD_S (200),
#      GOSSIP_BENCH_N (64), GOSSIP_BENCH_ROUNDS (3), GOSSIP_BENCH_BROADCASTS (5), GOSSIP_BENCH_WATCH_S (20).
# Needs serf (Debian package), taskset, and the repo's node_modules (Bun).
set -uo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
BUN="$PWD/node_modules/.bin/bun"
export GOSSIP_BENCH_BUN="$BUN"
GOSSIP_BENCH_PIDS=$(mktemp "${TMPDIR:-/tmp}/consulate-bench-gossip.XXXXXX")
export GOSSIP_BENCH_PIDS
runner=""

cleanup() {
  trap - EXIT INT TERM
  [ -n "$runner" ] && kill -TERM "$runner" 2>/dev/null && wait "$runner" 2>/dev/null
  # Members the runner started (pids recorded as they were spawned); SIGCONT in case one was left stopped.
  while read -r pid; do
    [ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  done < "$GOSSIP_BENCH_PIDS"
  rm -f "$GOSSIP_BENCH_PIDS"
}
trap cleanup EXIT INT TERM

if [ "$what" = all ] || [ "$what" = sim ]; then
  # One process per section: a 1,000-member simulation peaks near 3 GB, and Bun keeps freed memory.
  for section in header failure loss slow coords phantoms; do
    "$BUN" bench/gossip/sim.ts "$section" || exit 1
  done
  echo
fi
if [ "$what" = all ] || [ "$what" = serf ]; then
  command -v serf >/dev/null || { echo "serf is not installed (apt-get install serf)"; exit 1; }
  taskset -c 1 "$BUN" bench/gossip/compare.ts &
  runner=$!
  wait "$runner"
  status=$?
  runner=""
  exit $status
fi
