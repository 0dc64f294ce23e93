#!/usr/bin/env bash
# Scale of reads: a dev agent filled to 100 / 10,000 / 100,000 instances and
# 1,000,000 KV keys through the HTTP API; read latencies, RSS per instance,
# registration rate, snapshot and restore (BENCHMARKS.md recipe (g)).
#
#     bench/scale/run.sh [samples-per-read]      (default 50; ~3 min)
#
# Env: RUNTIME (node | bun | deno; default what `npx consulate` runs on),
#      SCALE_SIZES (100,10000,100000), SCALE_KV (1000000), SCALE_CONCURRENCY (8),
#      SCALE_READS=0 (registration rate and CPU only), SCALE_PORT (29600: first of 5 ports).
# bench/scale/store.ts measures the same reads in-process in CPU time (steadier
# on a loaded machine), and can compare against another checkout.
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/_pinned.sh

run_pinned SCALE_BENCH_TMP scale bench/scale/run.ts "$@"
exit $?
