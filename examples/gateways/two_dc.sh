#!/usr/bin/env bash
# web in dc1 reaches db in dc2 through mesh gateways, on the datacenters of
# examples/federation/run.sh (one trust domain, intentions written in dc1):
#   mode local:  web's sidecar -> dc1's gateway -> dc2's gateway -> db's sidecar
#   mode remote: web's sidecar -> dc2's gateway -> db's sidecar
#   then `intention create -deny web db` in dc1 blocks it.
# Prints one line per step and the gateways' route counters; exits non-zero on the first failed step.
#
#   BASE_DIR=$(mktemp -d) PORT_BASE=28000 examples/gateways/two_dc.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export BASE_DIR=${BASE_DIR:-$(mktemp -d)} PORT_BASE=${PORT_BASE:-28000}
if [ -x "$ROOT/node_modules/.bin/bun" ]; then C=("$ROOT/node_modules/.bin/bun" "$ROOT/src/cli/main.ts"); else C=(node "$ROOT/bin/consulate.mjs"); fi
H1=127.0.0.1:$((PORT_BASE + 10)) H2=127.0.0.1:$((PORT_BASE + 110))
APP=$((PORT_BASE + 120)) GW2=$((PORT_BASE + 121)) WAN2=$((PORT_BASE + 122)) ADM2=$((PORT_BASE + 123))
GW1=$((PORT_BASE + 21)) WAN1=$((PORT_BASE + 22)) ADM1=$((PORT_BASE + 23)) UP=$((PORT_BASE + 24))
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$ROOT/examples/federation/run.sh" down >/dev/null 2>&1 || true
}
trap cleanup EXIT
bg() { local log=$1; shift; "$@" >>"$BASE_DIR/$log.log" 2>&1 & PIDS+=($!); }
step() { echo "== $*"; }
until_ok() { # seconds, command...: retries the command until it succeeds
  local n=$(($1 * 4)); shift
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  "$@"
}
routes() { curl -s "127.0.0.1:$1/stats/prometheus" | grep -E '_route_connections_total\{' | tr '\n' ' '; echo; }

"$ROOT/examples/federation/run.sh" up
step "db (an HTTP app) and its sidecar in dc2"
bg app "${C[0]}" -e "require('node:http').createServer((q, s) => s.end('db in dc2\n')).listen($APP, '127.0.0.1')"
curl -sf -X PUT "$H2/v1/agent/service/register" -d "{\"Name\":\"db\",\"Port\":$APP,\"Connect\":{\"SidecarService\":{\"Check\":{\"Name\":\"alias\",\"AliasService\":\"db\"}}}}"
bg db-proxy "${C[@]}" connect proxy -sidecar-for db -http-addr "$H2"
step "a mesh gateway in each datacenter"
bg gw2 "${C[@]}" connect proxy -gateway=mesh -register -service mesh-gateway -address "127.0.0.1:$GW2" -wan-address "127.0.0.1:$WAN2" -admin-bind "127.0.0.1:$ADM2" -http-addr "$H2"
bg gw1 "${C[@]}" connect proxy -gateway=mesh -register -service mesh-gateway -address "127.0.0.1:$GW1" -wan-address "127.0.0.1:$WAN1" -admin-bind "127.0.0.1:$ADM1" -http-addr "$H1"
web() { # mode
  curl -sf -X PUT "$H1/v1/agent/service/register" -d "{\"Name\":\"web\",\"Port\":1,\"Connect\":{\"SidecarService\":{\"Check\":{\"Name\":\"alias\",\"AliasService\":\"web\"},\"Proxy\":{\"Upstreams\":[{\"DestinationName\":\"db\",\"Datacenter\":\"dc2\",\"LocalBindPort\":$UP,\"MeshGateway\":{\"Mode\":\"$1\"}}]}}}}"
}
web local
bg web-proxy "${C[@]}" connect proxy -sidecar-for web -http-addr "$H1"
until_ok 30 curl -sf "127.0.0.1:$ADM1/ready"
until_ok 30 curl -sf "127.0.0.1:$ADM2/ready"

step "mode local: web -> dc1 gateway -> dc2 gateway -> db"
until_ok 30 curl -sf --max-time 3 "127.0.0.1:$UP/"
curl -s --max-time 3 "127.0.0.1:$UP/"
echo "dc1 gateway: $(routes $ADM1)"
echo "dc2 gateway: $(routes $ADM2)"

step "mode remote: web -> dc2 gateway -> db (dc1's counter stays)"
web remote
sleep 2
until_ok 30 curl -sf --max-time 3 "127.0.0.1:$UP/"
curl -s --max-time 3 "127.0.0.1:$UP/"
echo "dc1 gateway: $(routes $ADM1)"
echo "dc2 gateway: $(routes $ADM2)"

step "intention web -> db deny, written in dc1 (the primary)"
CONSUL_HTTP_ADDR=$H1 "${C[@]}" intention create -deny web db
for _ in $(seq 1 40); do curl -sf --max-time 2 "127.0.0.1:$UP/" >/dev/null 2>&1 || break; sleep 0.25; done
if curl -sf --max-time 2 "127.0.0.1:$UP/" >/dev/null 2>&1; then echo "FAIL: still reachable after the deny"; exit 1; fi
echo "blocked"
step "the gateways hold no leaf: they never asked for one"
if grep -l "leaf certificate" "$BASE_DIR"/gw1.log "$BASE_DIR"/gw2.log 2>/dev/null; then echo "FAIL"; exit 1; fi
echo "ok"
