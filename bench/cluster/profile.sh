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
. bench/_pinned.sh

run_pinned KV_BENCH_TMP cluster bench/cluster/profile.ts "$@"
exit $?
