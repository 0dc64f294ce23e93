/**
 * Blocking-query fan-out client (BENCHMARKS.md recipe (d)): parks N raw
 * keep-alive connections on `GET /v1/kv/<key>?index=<current>&wait=60s`, then
 * one PUT to the key, and times each socket's first response byte after the
 * PUT is written. Prints one JSON line (`FanoutResult`).
 *
 *     bun bench/kv/fanout.ts <port> <n> <serverPid> [key]
 */
import { execFileSync } from "node:child_process";
import * as net from "node:net";
import { args, exit, writeStdout } from "../../src/runtime/process.ts";
import { cpuSeconds, rssBytes, sleep, stableRss } from "./procs.ts";

const HOST = "127.0.0.1";
const BATCH = 500;
const BATCH_GAP_MS = 20;
const SETTLE_MS = 1000;
const WAKE_TIMEOUT_MS = 15_000;
const PARK_TIMEOUT_MS = 30_000;

export interface FanoutResult {
  readonly n: number;
  readonly connected: number;
  readonly connectErrors: number;
  /** Sockets that answered before the PUT: the server did not park them. */
  readonly early: number;
  readonly woken: number;
  readonly non200: number;
  /** Answers whose X-Consul-Index was not above the index the watcher sent. */
  readonly staleIndex: number;
  readonly firstMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly lastMs: number;
  readonly putMs: number;
  /** The server's CPU time (user+sys) from the PUT until every watcher was woken and the PUT answered, ms. */
  readonly wakeCpuMs: number;
  readonly connectSeconds: number;
  /** Whether, at t0, the server had accepted every connection and read every request. */
  readonly allParked: boolean;
  /** Seconds from the last connect until `allParked` held. */
  readonly parkSeconds: number;
  /** Kernel accept-queue overflows during the run (TcpExtListenOverflows). */
  readonly listenOverflows: number;
  readonly rssBeforeBytes: number;
  readonly rssParkedBytes: number;
  readonly bytesPerWatcher: number;
}

interface Watcher {
  readonly sock: net.Socket;
  head: string;
  firstByteMs: number | null;
  status: number;
  index: number;
  done: boolean;
}

const HEADER_END = "\r\n\r\n";

function parseHead(head: string): { status: number; index: number } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? "0");
  const index = Number(/\r\nx-consul-index:\s*(\d+)/i.exec(head)?.[1] ?? "0");
  return { status, index };
}

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface ServerQueues {
  readonly established: number;
  /** Bytes received on the server's sockets but not yet read by the server. */
  readonly unread: number;
  readonly synRecv: number;
  readonly acceptQueue: number;
}

/** The server side of `port` as the kernel sees it (ss), to know every request was read. */
function serverQueues(port: number): ServerQueues {
  const text = execFileSync("ss", ["-Htan", `( sport = :${port} )`], { maxBuffer: 64 * 1024 * 1024 }).toString();
  let established = 0;
  let unread = 0;
  let synRecv = 0;
  let acceptQueue = 0;
  for (const line of text.split("\n")) {
    const [state, recvQ] = line.trim().split(/\s+/);
    if (state === "ESTAB") {
      established++;
      unread += Number(recvQ);
    } else if (state === "SYN-RECV") synRecv++;
    else if (state === "LISTEN") acceptQueue += Number(recvQ);
  }
  return { established, unread, synRecv, acceptQueue };
}

/**
 * With 500 connects per 20 ms the accept queue overflows; the kernel then
 * drops the handshake's last ACK and the client, which believes it is
 * connected, has its request read seconds later. Waiting for the kernel view
 * keeps such stragglers from being timed as slow wake-ups.
 */
async function waitParked(port: number, n: number): Promise<boolean> {
  const deadline = performance.now() + PARK_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const q = serverQueues(port);
    if (q.established >= n && q.unread === 0 && q.synRecv === 0 && q.acceptQueue === 0) return true;
    await sleep(100);
  }
  return false;
}

function listenOverflows(): number {
  const text = execFileSync("nstat", ["-az", "TcpExtListenOverflows"]).toString();
  return Number(/TcpExtListenOverflows\s+(\d+)/.exec(text)?.[1] ?? "NaN");
}

async function currentIndex(port: number, key: string): Promise<number> {
  const res = await fetch(`http://${HOST}:${port}/v1/kv/${key}`);
  await res.arrayBuffer();
  const idx = Number(res.headers.get("x-consul-index"));
  if (!(idx > 0)) throw new Error(`GET /v1/kv/${key} answered ${res.status} without an X-Consul-Index`);
  return idx;
}

async function run(port: number, n: number, serverPid: number, key: string): Promise<FanoutResult> {
  const sent = await currentIndex(port, key);
  const rssBeforeBytes = await stableRss(serverPid);
  const request = `GET /v1/kv/${key}?index=${sent}&wait=60s HTTP/1.1\r\nHost: ${HOST}:${port}\r\n\r\n`;
  let t0 = Number.NaN;
  let connected = 0;
  let connectErrors = 0;
  let early = 0;
  let woken = 0;
  let wakeAll: () => void = () => {};
  const allWoken = new Promise<void>((r) => (wakeAll = r));
  const watchers: Watcher[] = [];

  const open = (): void => {
    const sock = net.connect({ host: HOST, port });
    const w: Watcher = { sock, head: "", firstByteMs: null, status: 0, index: 0, done: false };
    watchers.push(w);
    sock.setNoDelay(true);
    sock.on("connect", () => {
      connected++;
      sock.write(request);
    });
    sock.on("error", () => {
      if (w.firstByteMs === null && Number.isNaN(t0)) connectErrors++;
    });
    sock.on("data", (chunk: Buffer) => {
      if (w.done) return;
      if (w.firstByteMs === null) {
        if (Number.isNaN(t0)) early++;
        w.firstByteMs = performance.now() - t0;
      }
      w.head += chunk.toString("latin1");
      if (!w.head.includes(HEADER_END)) return;
      Object.assign(w, parseHead(w.head), { done: true, head: "" });
      if (++woken === connected) wakeAll();
    });
  };

  const overflows0 = listenOverflows();
  const c0 = performance.now();
  for (let i = 0; i < n; i += BATCH) {
    for (let j = i; j < Math.min(n, i + BATCH); j++) open();
    await sleep(BATCH_GAP_MS);
  }
  const connectDeadline = performance.now() + 20_000;
  while (connected + connectErrors < n && performance.now() < connectDeadline) await sleep(20);
  const connectSeconds = (performance.now() - c0) / 1000;
  const p0 = performance.now();
  const allParked = await waitParked(port, connected);
  const parkSeconds = (performance.now() - p0) / 1000;
  await sleep(SETTLE_MS);
  const rssParkedBytes = await stableRss(serverPid);

  // The PUT goes over a connection opened beforehand, so t0 excludes a connect.
  const putSock = net.connect({ host: HOST, port });
  putSock.setNoDelay(true);
  await new Promise<void>((r, j) => {
    putSock.once("connect", () => r());
    putSock.once("error", j);
  });
  let putMs = Number.NaN;
  const putAnswered = new Promise<void>((r) => putSock.once("data", () => {
    putMs = performance.now() - t0;
    r();
  }));
  const body = `fanout-${Date.now()}`;
  const cpu0 = cpuSeconds(serverPid);
  t0 = performance.now();
  putSock.write(`PUT /v1/kv/${key} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  if (woken < connected) await Promise.race([allWoken, sleep(WAKE_TIMEOUT_MS)]);
  // The PUT's own answer may come after the watchers' (a durable PUT answers after its fsync).
  await Promise.race([putAnswered, sleep(2000)]);
  const wakeCpuMs = (cpuSeconds(serverPid) - cpu0) * 1000;

  const times = watchers.flatMap((w) => (w.firstByteMs !== null && w.firstByteMs >= 0 ? [w.firstByteMs] : [])).sort((a, b) => a - b);
  const result: FanoutResult = {
    n,
    connected,
    connectErrors,
    early,
    woken,
    non200: watchers.filter((w) => w.done && w.status !== 200).length,
    staleIndex: watchers.filter((w) => w.done && w.status === 200 && !(w.index > sent)).length,
    firstMs: times[0] ?? Number.NaN,
    p50Ms: pct(times, 50),
    p99Ms: pct(times, 99),
    lastMs: times[times.length - 1] ?? Number.NaN,
    putMs,
    wakeCpuMs,
    connectSeconds,
    allParked,
    parkSeconds,
    listenOverflows: listenOverflows() - overflows0,
    rssBeforeBytes,
    rssParkedBytes,
    bytesPerWatcher: (rssParkedBytes - rssBeforeBytes) / n,
  };
  putSock.destroy();
  for (const w of watchers) w.sock.destroy();
  return result;
}

const [portArg, nArg, pidArg, keyArg] = args();
if (!portArg || !nArg || !pidArg) {
  writeStdout("usage: bun bench/kv/fanout.ts <port> <n> <serverPid> [key]\n");
  exit(2);
}
if (Number.isNaN(rssBytes(Number(pidArg)))) {
  writeStdout(`no process ${pidArg}\n`);
  exit(2);
}
const result = await run(Number(portArg), Number(nArg), Number(pidArg), keyArg ?? "foo");
writeStdout(`FANOUT ${JSON.stringify(result)}\n`);
exit(0);
