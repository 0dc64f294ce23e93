#!/usr/bin/env bash
# Mesh gateway SNI passthrough: ours vs HAProxy (tcp mode, req_ssl_sni) vs
# direct, in one run, with ratios (recipe (c) of the shared BENCHMARKS.md).
#
#     bench/gateway/run.sh [seconds-per-measurement]      (default 5; ~3 min)
#
# Env: GATEWAY_BENCH_ROUNDS (3), RUNTIME (default: what `connect proxy` runs on, Bun when installed), GATEWAY_BENCH_PURGE=default
# (Bun: measure without MIMALLOC_PURGE_DELAY=-1). Needs haproxy, nginx, h2load, openssl, taskset.
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/_pinned.sh

run_pinned GATEWAY_BENCH_TMP gateway bench/gateway/run.ts "$@"
exit $?
