#!/usr/bin/env bash
# API gateway benchmark: wrk over HTTPS through the gateway (on Bun, on Node,
# bundled in workerd) and through nginx as a reverse proxy (same certificate,
# same mutual-TLS backend), against wrk straight to the backend, in one run.
#
#     bench/apigw/run.sh [seconds-per-wrk-run]      (default 4; ~2.5 min)
#
# Env: APIGW_BENCH_ROUNDS (3).
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/_pinned.sh

if ! command -v nginx >/dev/null 2>&1; then
  echo "bench/apigw: installing nginx (apt-get)" >&2
  apt-get install -y -qq nginx-light >/dev/null 2>&1 || apt-get install -y -qq nginx >/dev/null
fi
run_pinned APIGW_BENCH_TMP apigw bench/apigw/run.ts "$@"
exit $?
