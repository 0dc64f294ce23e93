#!/usr/bin/env bash
# Prepared queries: execute and DNS rate against the plain service lookup in
# one run (target ratio >= 0.8), then the latency a failover adds per
# datacenter skipped over three federated datacenters.
#
#     bench/query/run.sh        (env: QUERY_BENCH_SECONDS=4, QUERY_BENCH_ROUNDS=3, FEDERATION=1)
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/_pinned.sh

run_pinned QUERY_BENCH_TMP query bench/query/run.ts "$@"
exit $?
