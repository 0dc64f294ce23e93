#!/usr/bin/env bash
# Agent TLS benchmark, one run, same machine (BENCHMARKS.md recipe (b) shape):
#   1. KV GET on one server agent: HTTPS vs plain HTTP, keep-alive (h2load --h1 -c32).
#   2. KV GET through a client agent, i.e. forwarded to the server over the RPC
#      port: a client speaking plain RPC vs one speaking TLS RPC (verify_outgoing +
#      verify_server_hostname), both to the same server.
# Agents run pinned to CPU0, h2load to CPU1; each figure is the median of REPS rounds.
#
#     bench/tls/run.sh [requests-per-round]      (default 60000; REPS=3)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-60000}
REPS=${REPS:-3}
BUN=${BUN:-$PWD/node_modules/.bin/bun}
# The agents run on RUNTIME=node|bun|deno (default: what `npx consulate` runs on).
mapfile -t OURS < <("$BUN" bench/runtime_cmd.ts consulate)
[ ${#OURS[@]} -gt 0 ] || exit 2
"$BUN" bench/runtime_cmd.ts banner
echo "load average: $(cat /proc/loadavg)"
TMP=$(mktemp -d /tmp/consulate-bench-tls-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.3; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM

(cd "$TMP" && "${OURS[@]}" tls ca create >/dev/null && "${OURS[@]}" tls cert create -server >/dev/null && "${OURS[@]}" tls cert create -client >/dev/null)

# The server takes TLS and plain RPC (no verify_incoming), so both clients reach the same server.
cat > "$TMP/server.json" <<JSON
{"tls": {"defaults": {"ca_file": "$TMP/consul-agent-ca.pem", "cert_file": "$TMP/dc1-server-consul-0.pem", "key_file": "$TMP/dc1-server-consul-0-key.pem"}},
 "ports": {"https": 28451}}
JSON
cat > "$TMP/client-tls.json" <<JSON
{"tls": {"defaults": {"ca_file": "$TMP/consul-agent-ca.pem", "cert_file": "$TMP/dc1-client-consul-0.pem", "key_file": "$TMP/dc1-client-consul-0-key.pem", "verify_outgoing": true},
         "internal_rpc": {"verify_server_hostname": true}}}
JSON
echo '{}' > "$TMP/client-plain.json"

start() { # name config args...
  local name=$1 cfg=$2; shift 2
  taskset -c 0 "${OURS[@]}" agent -config-file "$cfg" -node "$name" -client 127.0.0.1 -bind 127.0.0.1 -log-level warn "$@" >"$TMP/$name.log" 2>&1 &
  PIDS+=($!)
}
start s1 "$TMP/server.json" -dev -http-port 28450 -dns-port -1 -server-port 28400 -serf-lan-port 28401 -serf-wan-port 28402
sleep 3
start c-plain "$TMP/client-plain.json" -data-dir "$TMP/cp" -http-port 28460 -dns-port -1 -serf-lan-port 28461 -serf-wan-port 28462 -retry-join 127.0.0.1:28401
start c-tls "$TMP/client-tls.json" -data-dir "$TMP/ct" -http-port 28470 -dns-port -1 -serf-lan-port 28471 -serf-wan-port 28472 -retry-join 127.0.0.1:28401
for port in 28460 28470; do
  for _ in $(seq 1 100); do curl -sf -X PUT -d bar "http://127.0.0.1:$port/v1/kv/foo" >/dev/null && break; sleep 0.2; done
done
curl -sf --cacert "$TMP/consul-agent-ca.pem" https://127.0.0.1:28451/v1/kv/foo?raw >/dev/null

rps() { # url -> requests/s (median of REPS rounds)
  local url=$1 r=()
  for _ in $(seq 1 "$REPS"); do
    r+=("$(taskset -c 1 h2load --h1 -n "$N" -c 32 -t 1 "$url" 2>/dev/null | awk '/^finished in/ {gsub(",", "", $4); print $4}')")
  done
  printf '%s\n' "${r[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
http=$(rps http://127.0.0.1:28450/v1/kv/foo)
https=$(rps https://127.0.0.1:28451/v1/kv/foo)
plain_fwd=$(rps http://127.0.0.1:28460/v1/kv/foo)
tls_fwd=$(rps http://127.0.0.1:28470/v1/kv/foo)
grep -q "rpc: server" "$TMP/c-tls.log" && { echo "the TLS client logged RPC failures:"; cat "$TMP/c-tls.log"; }

echo "KV GET, h2load --h1 -c32, $N requests x $REPS rounds (median), agents on CPU0, load on CPU1"
printf '%-44s %10s\n' "what" "req/s"
printf '%-44s %10s\n' "server, HTTP (keep-alive)" "$http" "server, HTTPS (keep-alive, TLS 1.3)" "$https" \
  "client agent -> server over plain RPC" "$plain_fwd" "client agent -> server over TLS RPC" "$tls_fwd"
awk -v a="$https" -v b="$http" -v c="$tls_fwd" -v d="$plain_fwd" 'BEGIN {
  printf "HTTPS / HTTP = %.2f (target >= 0.8)\n", a / b
  printf "TLS RPC / plain RPC (forwarded GET) = %.2f\n", c / d }'
