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
# 10k parked watchers need 10k fds in the client and in the server (_pinned.sh raises the limit).
. bench/_pinned.sh

run_pinned KV_BENCH_TMP kv bench/kv/run.ts "$@"
exit $?
