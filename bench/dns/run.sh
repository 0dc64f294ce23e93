#!/usr/bin/env bash
# DNS throughput and latency: Consulate's DNS vs unbound (local zone) vs a bare
# UDP responder on the same runtime, all driven by dnsperf with the same query
# file (BENCHMARKS.md recipe (a)). Servers are pinned to CPU0, dnsperf to CPU1.
# Prints QPS and CPU per query (medians of ROUNDS interleaved rounds), lost
# queries, and p50/p99 at half of Consulate's peak rate (median of ROUNDS
# interleaved rounds), with the ratios, and how busy other processes kept the
# two CPUs meanwhile (the machine is shared: read the figures with that).
#
#   bash bench/dns/run.sh                       # default runtime (what `npx consulate` runs on), 3 rounds of 8 s
#   RUNTIME=bun ROUNDS=1 DURATION=5 bash bench/dns/run.sh     # RUNTIME=node|bun|deno
#   BASELINE=main~3 bash bench/dns/run.sh       # also an older build, for before/after in one run
#
# Under Bun the floor is the native-socket responder (Bun.udpSocket), which is
# what Consulate's DNS uses there; the node:dgram responder runs as "bare-dgram".
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-200}
PORT_OURS=${PORT_OURS:-18600}
PORT_UNBOUND=${PORT_UNBOUND:-5301}
PORT_BARE=${PORT_BARE:-5303}
PORT_HTTP=${PORT_HTTP:-18511}
PORT_BASE=${PORT_BASE:-18601}
PORT_BASE_HTTP=${PORT_BASE_HTTP:-18512}
PORT_BARE2=${PORT_BARE2:-5304}
BASELINE=${BASELINE:-}

need=()
command -v dnsperf >/dev/null 2>&1 || need+=(dnsperf)
command -v unbound >/dev/null 2>&1 || need+=(unbound)
command -v dig >/dev/null 2>&1 || need+=(dnsutils)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
ulimit -n 20000 2>/dev/null || true

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${KEEP_TMP:-}" ]; then echo "logs kept in $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

BASE_TREE=""
if [ -n "$BASELINE" ]; then
  # The baseline is the same tree at another commit, exported (not checked out) next to this one's modules.
  BASE_TREE="$TMP/baseline"
  mkdir -p "$BASE_TREE"
  git -C "$ROOT" archive "$BASELINE" | tar -x -C "$BASE_TREE"
  ln -s "$ROOT/node_modules" "$BASE_TREE/node_modules"
fi

BUN="$ROOT/node_modules/.bin/bun"
rtcmd() { "$BUN" "$ROOT/bench/runtime_cmd.ts" "$@"; }
RUNTIME=$(rtcmd name) || exit 2
mapfile -t OURS < <(rtcmd consulate)
BARE2=()
case "$RUNTIME" in
  node)
    # --trace-gc: the GC pauses behind the latency tail are counted during the p99 runs.
    OURS=(node --trace-gc "${OURS[@]:1}")
    BARE=(node --trace-gc "$ROOT/bench/dns/bare_responder.mjs")
    if [ -n "$BASE_TREE" ]; then (cd "$BASE_TREE" && npm run --silent build); BASE=(node --trace-gc "$BASE_TREE/bin/consulate.mjs"); fi ;;
  bun)
    BARE=("$BUN" "$ROOT/bench/dns/bare_responder_bun.mjs")
    BARE2=("$BUN" "$ROOT/bench/dns/bare_responder.mjs")
    if [ -n "$BASE_TREE" ]; then BASE=("$BUN" "$BASE_TREE/src/cli/main.ts"); fi ;;
  deno)
    # Deno runs the node:dgram responder through its node compatibility, as Consulate's DNS runs there.
    mapfile -t BARE < <(rtcmd script "$ROOT/bench/dns/bare_responder.mjs")
    if [ -n "$BASE_TREE" ]; then BASE=("${OURS[@]:0:4}" "$BASE_TREE/src/cli/main.ts"); fi ;;
esac

# The same records everywhere: web.service.consul -> 10.0.0.1 (TTL 0), an SRV, and NXDOMAIN below service.consul.
printf 'web.service.consul A\n' > "$TMP/a.txt"
{ for _ in 1 2 3 4 5 6 7 8; do echo "web.service.consul A"; done; echo "web.service.consul SRV"; echo "nope.service.consul A"; } > "$TMP/mix.txt"
cat > "$TMP/unbound.conf" <<EOF
server:
  num-threads: 1
  interface: 127.0.0.1@$PORT_UNBOUND
  do-ip6: no
  do-daemonize: no
  use-syslog: no
  logfile: ""
  verbosity: 0
  chroot: ""
  username: ""
  directory: "$TMP"
  pidfile: "$TMP/unbound.pid"
  local-zone: "service.consul." static
  local-data: "web.service.consul. 0 IN A 10.0.0.1"
  local-data: "web.service.consul. 0 IN SRV 1 1 80 web1.node.dc1.consul."
remote-control:
  control-enable: no
EOF

taskset -c 0 "${OURS[@]}" agent -dev -node bench -http-port "$PORT_HTTP" -dns-port "$PORT_OURS" -server-port 18300 -serf-lan-port 18301 -serf-wan-port 18302 -log-level error >"$TMP/ours.log" 2>&1 &
PID_OURS=$!; PIDS+=("$PID_OURS")
taskset -c 0 unbound -d -c "$TMP/unbound.conf" >"$TMP/unbound.log" 2>&1 &
PID_UNBOUND=$!; PIDS+=("$PID_UNBOUND")
taskset -c 0 "${BARE[@]}" "$PORT_BARE" >"$TMP/bare.log" 2>&1 &
PID_BARE=$!; PIDS+=("$PID_BARE")
NAMES=(consulate)
# GC pauses are read from --trace-gc logs, which only the Node servers write.
declare -A LOG=([consulate]="" [unbound]="" [bare]="" [baseline]="" [bare-dgram]="")
[ "$RUNTIME" = node ] && LOG=([consulate]="$TMP/ours.log" [unbound]="" [bare]="$TMP/bare.log" [baseline]="$TMP/baseline.log" [bare-dgram]="")
declare -A PORT=([consulate]=$PORT_OURS [unbound]=$PORT_UNBOUND [bare]=$PORT_BARE)
declare -A PID=([consulate]=$PID_OURS [unbound]=$PID_UNBOUND [bare]=$PID_BARE)
if [ -n "$BASE_TREE" ]; then
  # Builds from before gossip have no gossip or RPC ports to move off the defaults.
  BASE_PORTS=()
  grep -rqs '"serf-wan-port"' "$BASE_TREE/src/cli" "$BASE_TREE/src/agent" && BASE_PORTS=(-server-port 18310 -serf-lan-port 18311 -serf-wan-port 18312)
  taskset -c 0 "${BASE[@]}" agent -dev -node bench -http-port "$PORT_BASE_HTTP" -dns-port "$PORT_BASE" "${BASE_PORTS[@]}" -log-level error >"$TMP/baseline.log" 2>&1 &
  PID[baseline]=$!; PIDS+=("${PID[baseline]}"); PORT[baseline]=$PORT_BASE; NAMES+=(baseline)
fi
NAMES+=(unbound bare)
if [ ${#BARE2[@]} -gt 0 ]; then
  taskset -c 0 "${BARE2[@]}" "$PORT_BARE2" >"$TMP/bare2.log" 2>&1 &
  PID[bare-dgram]=$!; PIDS+=("${PID[bare-dgram]}"); PORT[bare-dgram]=$PORT_BARE2; NAMES+=(bare-dgram)
fi

HTTP_PORTS=("$PORT_HTTP"); [ -n "$BASE_TREE" ] && HTTP_PORTS+=("$PORT_BASE_HTTP")
for hp in "${HTTP_PORTS[@]}"; do
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$hp/v1/status/leader" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf -X PUT "http://127.0.0.1:$hp/v1/catalog/register" \
    -d '{"Node":"web1","Address":"10.0.0.1","Service":{"Service":"web","Port":80}}' >/dev/null
done
for name in "${NAMES[@]}"; do
  port=${PORT[$name]}
  for _ in $(seq 1 50); do
    [ "$(dig +short +time=1 +tries=1 @127.0.0.1 -p "$port" web.service.consul A 2>/dev/null)" = "10.0.0.1" ] && break
    sleep 0.1
  done
  [ "$(dig +short +time=1 +tries=1 @127.0.0.1 -p "$port" web.service.consul A)" = "10.0.0.1" ] || { echo "server on port $port does not answer web.service.consul" >&2; cat "$TMP"/*.log >&2; exit 1; }
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)
# busy and total jiffies of cpu0 and cpu1 (steal counts as busy: it is time we did not get)
cpu_stat() { awk '/^cpu[01] / { printf "%d %d ", $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

# run PORT PID FILE [dnsperf args...] -> "qps lost_pct avg_ms cpu_us_per_query"
run() {
  local port=$1 pid=$2 file=$3; shift 3
  local before after out
  before=$(cpu_ticks "$pid")
  out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$DURATION" -c "$CLIENTS" -q "$OUTSTANDING" "$@" 2>&1)
  after=$(cpu_ticks "$pid")
  echo "$out" | awk -v b="$before" -v a="$after" -v tick="$TICK" '
    /Queries completed:/ { done = $3 }
    /Queries lost:/ { lost = $4; gsub(/[()%]/, "", lost) }
    /Queries per second:/ { qps = $4 }
    /Average Latency/ { avg = $4 * 1000 }
    END { cpu = (done > 0) ? (a - b) / tick * 1e6 / done : 0; printf "%.0f %s %.3f %.2f\n", qps, lost, avg, cpu }'
}

# p99 PORT PID RATE [GCLOG] -> "p50_ms p99_ms lost_pct other_pct scavenges gc_ms completed" at a fixed offered rate,
# from per-query latencies; other_pct: how busy the two CPUs were with anything but this server and dnsperf (noise
# from the shared machine); scavenges and gc_ms: GC pauses the server's --trace-gc log shows during the run (node only).
p99() {
  local port=$1 pid=$2 rate=$3 gclog=${4:-} gcout=${5:-/dev/null}
  local s0 s1 t0 t1 u l0=0
  [ -n "$gclog" ] && l0=$(wc -l <"$gclog")
  s0=$(cpu_stat); t0=$(cpu_ticks "$pid")
  u=$( { TIMEFORMAT='%U %S'; time taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$TMP/a.txt" -l "$DURATION" -c "$CLIENTS" -q "$OUTSTANDING" -Q "$rate" -v >"$TMP/lat.txt" 2>&1 || true; } 2>&1 )
  s1=$(cpu_stat); t1=$(cpu_ticks "$pid")
  local other gc="nan nan"
  other=$(echo "$s0 $s1 $t0 $t1 $u" | awk -v tick="$TICK" '{ busy = ($5 - $1) + ($7 - $3); total = ($6 - $2) + ($8 - $4); ours = ($10 - $9) + ($11 + $12) * tick; printf "%.0f", (total > 0 ? (busy - ours) * 100 / total : 0) }')
  if [ -n "$gclog" ]; then
    { tail -n +"$((l0 + 1))" "$gclog" | tr -d '\000' | grep -aoE '(Scavenge|Mark-Compact)[^,]*, [0-9.]+ / [0-9.]+ ms' || true; } | awk '{ for (i = 1; i <= NF; i++) if ($i == "/") { print $(i - 1); break } }' >"$TMP/pauses.txt"
    cat "$TMP/pauses.txt" >>"$gcout"
    gc=$(awk '{ n++; ms += $1 } END { printf "%d %.1f", n, ms }' "$TMP/pauses.txt")
  fi
  local lost done
  lost=$(awk '/Queries lost:/ { l = $4; gsub(/[()%]/, "", l); print l }' "$TMP/lat.txt")
  done=$(awk '/Queries completed:/ { print $3 }' "$TMP/lat.txt")
  grep -E '^> ' "$TMP/lat.txt" | awk '{print $NF}' | sort -g | awk -v lost="$lost" -v other="$other" -v gc="$gc" -v done="${done:-0}" '
    { v[NR] = $1 }
    END { if (NR == 0) { print "nan nan " lost " " other " " gc " " done; exit } i50 = int(NR * 0.50); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99); if (i99 < 1) i99 = 1; printf "%.3f %.3f %s %s %s %s\n", v[i50] * 1000, v[i99] * 1000, lost, other, gc, done }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
range() { sort -g | awk '{ v[NR] = $1 } END { printf "%s-%s", v[1], v[NR] }'; }

declare -A QPS CPU LOST AVG P50 P99 P99R PLOST OTHER GC

rtcmd banner
echo "load average: $(cat /proc/loadavg)"
echo "DNS bench: runtime=$RUNTIME rounds=$ROUNDS duration=${DURATION}s dnsperf -c $CLIENTS -q $OUTSTANDING; servers on CPU0, dnsperf on CPU1${BASELINE:+; baseline = $BASELINE ($(git -C "$ROOT" rev-parse --short "$BASELINE"))}"
for name in "${NAMES[@]}"; do : >"$TMP/$name.runs"; : >"$TMP/$name.lat"; : >"$TMP/$name.pauses"; done
for r in $(seq 1 "$ROUNDS"); do
  for name in "${NAMES[@]}"; do
    run "${PORT[$name]}" "${PID[$name]}" "$TMP/a.txt" >>"$TMP/$name.runs"
  done
done
for name in "${NAMES[@]}"; do
  QPS[$name]=$(awk '{print $1}' "$TMP/$name.runs" | median)
  LOST[$name]=$(awk '{print $2}' "$TMP/$name.runs" | sort -g | tail -1)
  AVG[$name]=$(awk '{print $3}' "$TMP/$name.runs" | median)
  CPU[$name]=$(awk '{print $4}' "$TMP/$name.runs" | median)
done

HALF=$(( ${QPS[consulate]} / 2 ))
for r in $(seq 1 "$ROUNDS"); do
  for name in "${NAMES[@]}"; do
    p99 "${PORT[$name]}" "${PID[$name]}" "$HALF" "${LOG[$name]:-}" "$TMP/$name.pauses" >>"$TMP/$name.lat"
  done
done
for name in "${NAMES[@]}"; do
  P50[$name]=$(awk '{print $1}' "$TMP/$name.lat" | median)
  P99[$name]=$(awk '{print $2}' "$TMP/$name.lat" | median)
  P99R[$name]=$(awk '{print $2}' "$TMP/$name.lat" | range)
  PLOST[$name]=$(awk '{print $3}' "$TMP/$name.lat" | sort -g | tail -1)
  OTHER[$name]=$(awk '{print $4}' "$TMP/$name.lat" | median)
  GC[$name]=$(awk '$5 != "nan" { n += $5; ms += $6; q += $7 } END { if (q > 0 && n != "") printf "%.1f pauses, %.2f ms in all", n * 1e5 / q, ms * 1e5 / q; else printf "-" }' "$TMP/$name.lat")
  [ -s "$TMP/$name.pauses" ] && GC[$name]="${GC[$name]}; pause median $(median <"$TMP/$name.pauses") ms, p90 $(sort -g "$TMP/$name.pauses" | awk '{ v[NR] = $1 } END { i = int(NR * 0.9); if (i < 1) i = 1; print v[i] }') ms"
done

echo
printf '%-10s %10s %8s %9s %7s   %s\n' "server" "peak qps" "avg ms" "cpu us/q" "lost %" "at ${HALF} qps: p50 / p99 ms (p99 range), lost %, other load %"
for name in "${NAMES[@]}"; do
  printf '%-10s %10s %8s %9s %7s   %s / %s (%s), %s, %s\n' "$name" "${QPS[$name]}" "${AVG[$name]}" "${CPU[$name]}" "${LOST[$name]}" "${P50[$name]}" "${P99[$name]}" "${P99R[$name]}" "${PLOST[$name]}" "${OTHER[$name]}"
done
echo
awk -v o="${QPS[consulate]}" -v u="${QPS[unbound]}" -v b="${QPS[bare]}" -v po="${P99[consulate]}" -v pu="${P99[unbound]}" -v pb="${P99[bare]}" \
  -v co="${CPU[consulate]}" -v cu="${CPU[unbound]}" -v cb="${CPU[bare]}" 'BEGIN {
  printf "ratio qps consulate/unbound = %.2f (target >= 0.5)\n", o / u
  printf "ratio qps consulate/bare    = %.2f (target >= 0.95)\n", o / b
  printf "ratio cpu/query consulate/unbound = %.2f, consulate/bare = %.2f\n", co / cu, co / cb
  printf "p99 at half peak (median of rounds): consulate %.3f ms (target < 2 ms), unbound %.3f ms, bare %.3f ms\n", po, pu, pb
}'
if [ -n "$BASE_TREE" ]; then
  awk -v o="${QPS[consulate]}" -v b="${QPS[baseline]}" -v co="${CPU[consulate]}" -v cb="${CPU[baseline]}" -v po="${P99[consulate]}" -v pb="${P99[baseline]}" 'BEGIN {
    printf "consulate/baseline: qps %.2f, cpu per query %.2f, p99 %.2f\n", o / b, co / cb, po / pb
  }'
fi
echo "other load: median share of both CPUs used by other processes during each p99 run; above ~10 % the latency figures are mostly noise"
if [ "$RUNTIME" = node ]; then
  echo "GC during the p99 runs, per 100k queries (--trace-gc; pauses are wall-clock times, so noise inflates them; how often V8 collects depends on the young generation's size, which it tunes per process):"
  for name in "${NAMES[@]}"; do [ -n "${LOG[$name]:-}" ] && printf '  %-10s %s\n' "$name" "${GC[$name]}"; done
fi

# The production mix (A, SRV, NXDOMAIN) against the two real servers.
echo
read -r mq ml ma mc < <(run "$PORT_OURS" "$PID_OURS" "$TMP/mix.txt")
read -r uq ul ua uc < <(run "$PORT_UNBOUND" "$PID_UNBOUND" "$TMP/mix.txt")
printf 'mix (8 A : 1 SRV : 1 NXDOMAIN): consulate %s qps (lost %s%%, cpu %s us/q), unbound %s qps (lost %s%%); ratio %.2f\n' "$mq" "$ml" "$mc" "$uq" "$ul" "$(awk -v a="$mq" -v b="$uq" 'BEGIN{print a/b}')"
read -r tq tl ta tc < <(run "$PORT_OURS" "$PID_OURS" "$TMP/a.txt" -m tcp)
read -r utq utl uta utc < <(run "$PORT_UNBOUND" "$PID_UNBOUND" "$TMP/a.txt" -m tcp)
printf 'tcp (A): consulate %s qps (lost %s%%), unbound %s qps (lost %s%%); ratio %.2f\n' "$tq" "$tl" "$utq" "$utl" "$(awk -v a="$tq" -v b="$utq" 'BEGIN{print a/b}')"
