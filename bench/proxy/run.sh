#!/usr/bin/env bash
# Sidecar benchmark: a request/response loop straight to an app vs through two
# Consulate sidecars (upstream listener -> mutual TLS -> public listener -> app),
# in one run, with ratios.
#
#     bench/proxy/run.sh [seconds-per-wrk-run]      (default 4; ~2 min)
#
# Env: PROXY_BENCH_ROUNDS (3), RUNTIME (node | bun | deno: what runs the sidecars; default what `npx consulate` runs on).
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/_pinned.sh

run_pinned PROXY_BENCH_TMP proxy bench/proxy/run.ts "$@"
exit $?
