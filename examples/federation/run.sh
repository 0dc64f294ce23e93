#!/usr/bin/env bash
# Three federated datacenters on one machine: dc1 (primary), dc2 and dc3, each
# with its own NATS node (JetStream on) and one Consulate server, on loopback.
#
#   run.sh up          start all three; prints DC=dcN HTTP=127.0.0.1:<port> DNS=127.0.0.1:<port>
#   run.sh stop dcN    kill every process of dcN (server and NATS) at once
#   run.sh start dcN   bring dcN back on the same data
#   run.sh down        stop everything
#   run.sh config dcN  write dcN's configs (if absent) and print its agent config's path
#
# BASE_DIR (default: a folder under /tmp) holds every file; PORT_BASE (default
# 27000) moves every port into [PORT_BASE, PORT_BASE+300): dcN uses the block
# of 100 from PORT_BASE+(N-1)*100. dc1 and dc2 keep their log in JetStream;
# dc3's server runs on the embedded LocalLog and uses NATS for federation only.
# ADVERTISE_WAN_dcN (optional) sets dcN's advertise_addr_wan, the address the
# other datacenters' servers gossip with it on (e.g. a relay that adds delay).
# DATACENTERS (optional, e.g. "dc1 dc2") runs fewer of the three.
# TLS=1 (at the first `up` of a BASE_DIR) puts TLS on every link: an agent CA and
# a server certificate per datacenter (consulate tls ca/cert create) in
# BASE_DIR/tls, NATS with TLS and client certificates required, the servers'
# NATS connections (log and federation links) with their certificates, the RPC
# port with verify_incoming/verify_outgoing/verify_server_hostname, the HTTP API
# on HTTPS only (same port number), and gossip (LAN and WAN) encrypted with a
# key (`encrypt`, as Consul does: gossip is not TLS). `up` then prints
# DC=dcN HTTPS=127.0.0.1:<port> DNS=127.0.0.1:<port> CA=<the CA file>.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BASE_DIR=${BASE_DIR:-/tmp/consulate-federation}
PORT_BASE=${PORT_BASE:-27000}
read -r -a DCS <<<"${DATACENTERS:-dc1 dc2 dc3}"
NATS_SERVER=${NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}
if [ -n "${CONSULATE:-}" ]; then read -r -a CONSULATE_CMD <<<"$CONSULATE"
# Under Bun the allocator keeps freed pages for reuse (MIMALLOC_PURGE_DELAY=-1, unless set):
# by default it hands them back within milliseconds and faults them in again, and a
# server answering thousands of requests a second spends a third to half of its CPU on that.
elif [ -x "$ROOT/node_modules/.bin/bun" ]; then CONSULATE_CMD=(env "MIMALLOC_PURGE_DELAY=${MIMALLOC_PURGE_DELAY:--1}" "$ROOT/node_modules/.bin/bun" "$ROOT/src/cli/main.ts")
else CONSULATE_CMD=(node "$ROOT/bin/consulate.mjs"); fi

idx() { echo "${1#dc}"; }
base() { echo $((PORT_BASE + ($(idx "$1") - 1) * 100)); }
nats_port() { echo $(($(base "$1") + 0)); }
http_port() { echo $(($(base "$1") + 10)); }
dns_port() { echo $(($(base "$1") + 11)); }
server_port() { echo $(($(base "$1") + 12)); }
lan_port() { echo $(($(base "$1") + 13)); }
wan_port() { echo $(($(base "$1") + 14)); }
dir() { echo "$BASE_DIR/$1"; }
TLS_DIR=$BASE_DIR/tls
# TLS mode sticks to a BASE_DIR once its certificates exist (start/stop/down need no TLS=1).
tls_on() { [ "${TLS:-0}" = 1 ] || [ -f "$TLS_DIR/consul-agent-ca.pem" ]; }
scheme() { if tls_on; then echo https; else echo http; fi; }
# curl against a datacenter's API, with the CA in TLS mode.
api_get() { # dc path
  local extra=()
  if tls_on; then extra=(--cacert "$TLS_DIR/consul-agent-ca.pem"); fi
  curl -sf --max-time 2 "${extra[@]}" "$(scheme)://127.0.0.1:$(http_port "$1")$2"
}

write_tls() { # the agent CA, one server certificate per datacenter, the gossip key
  [ -f "$TLS_DIR/consul-agent-ca.pem" ] && return 0
  mkdir -p "$TLS_DIR"
  local dc
  (cd "$TLS_DIR" && "${CONSULATE_CMD[@]}" tls ca create >/dev/null) || return 1
  # Each datacenter's certificate has its own file name, so they are made side by side.
  local pids=()
  for dc in "${DCS[@]}"; do (cd "$TLS_DIR" && "${CONSULATE_CMD[@]}" tls cert create -server -dc "$dc" >/dev/null) & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || return 1; done
  # 32 random bytes in base64, what `consulate keygen` prints.
  openssl rand -base64 32 >"$TLS_DIR/gossip.key"
}

valid_dc() {
  local d
  for d in "${DCS[@]}"; do [ "$d" = "${1:-}" ] && return 0; done
  echo "unknown datacenter \"${1:-}\" (${DCS[*]})" >&2
  exit 2
}

write_configs() { # dc
  local dc=$1 d; d=$(dir "$dc")
  mkdir -p "$d/nats" "$d/data"
  local nats_scheme=nats nats_tls="" nats_tls_conf="" tls_block="" ports_http="\"http\": $(http_port "$dc")"
  if tls_on; then
    write_tls
    local ca="$TLS_DIR/consul-agent-ca.pem" cert="$TLS_DIR/$dc-server-consul-0.pem" key="$TLS_DIR/$dc-server-consul-0-key.pem"
    nats_scheme=tls
    nats_tls="\"tls\": { \"ca_file\": \"$ca\", \"cert_file\": \"$cert\", \"key_file\": \"$key\" }"
    nats_tls_conf="tls { cert_file: \"$cert\", key_file: \"$key\", ca_file: \"$ca\", verify: true, timeout: 2 }"
    tls_block="\"tls\": { \"defaults\": { \"ca_file\": \"$ca\", \"cert_file\": \"$cert\", \"key_file\": \"$key\", \"verify_incoming\": true, \"verify_outgoing\": true },
    \"internal_rpc\": { \"verify_server_hostname\": true }, \"https\": { \"verify_incoming\": false } },
  \"encrypt\": \"$(cat "$TLS_DIR/gossip.key")\","
    ports_http="\"http\": -1, \"https\": $(http_port "$dc")"
  fi
  cat >"$d/nats.conf" <<CONF
server_name: nats-$dc
listen: 127.0.0.1:$(nats_port "$dc")
jetstream { store_dir: "$d/nats", max_memory_store: 64MB, max_file_store: 1GB }
$nats_tls_conf
CONF
  local b; b=$(base "$dc")
  local log_block="" adv_var="ADVERTISE_WAN_$dc" adv_block=""
  if [ -n "${!adv_var:-}" ]; then adv_block="\"advertise_addr_wan\": \"${!adv_var}\","; fi
  if [ "$dc" != dc3 ]; then log_block="\"nats\": { \"urls\": [\"$nats_scheme://127.0.0.1:$(nats_port "$dc")\"], \"replicas\": 1, \"lease_ttl\": \"2s\"${nats_tls:+, $nats_tls} },"
  elif [ -n "$nats_tls" ]; then log_block="\"nats\": { $nats_tls },"; fi
  cat >"$d/agent.json" <<CONF
{
  "datacenter": "$dc",
  "primary_datacenter": "dc1",
  "node_name": "srv-$dc",
  "server": true,
  "bootstrap": true,
  "data_dir": "$d/data",
  "bind_addr": "127.0.0.1",
  "client_addr": "127.0.0.1",
  "ui_config": { "enabled": true },
  $log_block
  $adv_block
  $tls_block
  "federation": { "nats": ["$nats_scheme://127.0.0.1:$(nats_port "$dc")"] },
  "ports": { $ports_http, "dns": $(dns_port "$dc"), "server": $(server_port "$dc"), "serf_lan": $(lan_port "$dc"), "serf_wan": $(wan_port "$dc"), "sidecar_min_port": $((b + 50)), "sidecar_max_port": $((b + 99)) },
  "retry_interval": "1s",
  "gossip_wan": { "probe_interval": "1s", "probe_timeout": "500ms" }
}
CONF
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_dc() { # dc
  local dc=$1 d; d=$(dir "$dc")
  [ -f "$d/agent.json" ] || write_configs "$dc"
  if ! alive "$d/nats.pid"; then
    setsid "$NATS_SERVER" -c "$d/nats.conf" >>"$d/nats.log" 2>&1 </dev/null &
    echo $! >"$d/nats.pid"
  fi
  if ! alive "$d/server.pid"; then
    local joins=() other
    for other in "${DCS[@]}"; do [ "$other" = "$dc" ] || joins+=(-retry-join-wan "127.0.0.1:$(wan_port "$other")"); done
    setsid "${CONSULATE_CMD[@]}" agent -config-file "$d/agent.json" "${joins[@]}" -log-level info >>"$d/server.log" 2>&1 </dev/null &
    echo $! >"$d/server.pid"
  fi
}

wait_ready() { # dc, deadline (epoch seconds): the server answers with a leader
  local dc=$1 deadline=$2 d; d=$(dir "$dc")
  until [ -n "$(api_get "$dc" /v1/status/leader 2>/dev/null | tr -d '"')" ]; do
    if ! alive "$d/server.pid"; then echo "the $dc server exited; see $d/server.log:" >&2; tail -20 "$d/server.log" >&2; return 1; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "$dc did not become ready; see $d/server.log" >&2; return 1; fi
    sleep 0.3
  done
}

wait_linked() { # dc, deadline: every other running datacenter is listed and answers a ?dc= read
  local dc=$1 deadline=$2 other
  for other in "${DCS[@]}"; do
    [ "$other" = "$dc" ] && continue
    alive "$(dir "$other")/server.pid" || continue
    until api_get "$dc" "/v1/catalog/nodes?dc=$other" >/dev/null 2>&1 &&
      api_get "$dc" /v1/catalog/datacenters 2>/dev/null | grep -q "\"$other\""; do
      if [ "$(date +%s)" -ge "$deadline" ]; then echo "$dc cannot reach $other; see $(dir "$dc")/server.log" >&2; return 1; fi
      sleep 0.3
    done
  done
}

print_dc() {
  if tls_on; then echo "DC=$1 HTTPS=127.0.0.1:$(http_port "$1") DNS=127.0.0.1:$(dns_port "$1") CA=$TLS_DIR/consul-agent-ca.pem"
  else echo "DC=$1 HTTP=127.0.0.1:$(http_port "$1") DNS=127.0.0.1:$(dns_port "$1")"; fi
}

stop_dc() { # dc: SIGKILL server and NATS together
  local d pids=() f; d=$(dir "$1")
  for f in "$d/server.pid" "$d/nats.pid"; do
    if alive "$f"; then pids+=("$(cat "$f")"); fi
  done
  if [ ${#pids[@]} -gt 0 ]; then
    kill -KILL "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 100); do
      local any=0 p
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && any=1; done
      [ $any -eq 0 ] && break
      sleep 0.1
    done
  fi
  rm -f "$d/server.pid" "$d/nats.pid"
}

cmd=${1:-}
case "$cmd" in
  up)
    mkdir -p "$BASE_DIR"
    for dc in "${DCS[@]}"; do start_dc "$dc"; done
    deadline=$(($(date +%s) + 240))
    for dc in "${DCS[@]}"; do wait_ready "$dc" "$deadline"; done
    for dc in "${DCS[@]}"; do wait_linked "$dc" "$deadline"; done
    for dc in "${DCS[@]}"; do print_dc "$dc"; done
    ;;
  start)
    valid_dc "${2:-}"
    start_dc "$2"
    deadline=$(($(date +%s) + 240))
    wait_ready "$2" "$deadline"
    wait_linked "$2" "$deadline"
    print_dc "$2"
    ;;
  stop)
    valid_dc "${2:-}"
    stop_dc "$2"
    ;;
  down)
    for dc in "${DCS[@]}"; do stop_dc "$dc"; done
    ;;
  config)
    valid_dc "${2:-}"
    [ -f "$(dir "$2")/agent.json" ] || write_configs "$2"
    echo "$(dir "$2")/agent.json"
    ;;
  *)
    echo "usage: $0 up | stop dcN | start dcN | down | config dcN   (env: BASE_DIR, PORT_BASE)" >&2
    exit 2
    ;;
esac
