/**
 * Checks of src/runtime/tcp.ts (listener, dialer, and the splice built on
 * them), run in-process by tcp.test.ts and as a child under other runtimes:
 * `<runtime> _tcp_scenario.ts --run [portable]` prints one JSON line of
 * facts that the test asserts.
 */
import { createHash } from "node:crypto";
import { readdirSync, readlinkSync } from "node:fs";
import { connect as netConnect, createServer, type Socket } from "node:net";
import { connectTcp, listenTcp, type TcpConn, type TcpListener } from "../../src/runtime/tcp.ts";
import { spliceTcp } from "../../gateways/mesh/tcp_splice.ts";
import { runWhenAsked } from "./_scenario_main.ts";

const HOST = "127.0.0.1";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the next value `fn` pushes, or rejects after `ms`. */
function within<T>(ms: number, what: string, fn: (done: (v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    fn((v) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}

/** Deterministic bytes (so both ends can hash them) in 256 KiB chunks. */
function chunkOf(i: number): Uint8Array {
  const c = new Uint8Array(256 * 1024);
  let x = (i + 1) * 2654435761;
  for (let j = 0; j < c.length; j += 4) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    c[j] = x & 0xff;
    c[j + 1] = (x >>> 8) & 0xff;
    c[j + 2] = (x >>> 16) & 0xff;
    c[j + 3] = x >>> 24;
  }
  return c;
}

async function listen(portable: boolean, accept: (c: TcpConn) => void): Promise<TcpListener> {
  return listenTcp({ hostname: HOST, port: 0, accept, portable });
}

interface Drains {
  count: number;
  wait: (() => void) | null;
}

function drainHandler(d: Drains): () => void {
  return () => {
    d.count++;
    const w = d.wait;
    d.wait = null;
    w?.();
  };
}

/** Writes chunks `from`..`to`-1 to `c` honouring `write`'s back-pressure (hashing them into `h`), then half-closes. */
async function pump(c: TcpConn, from: number, to: number, drains: Drains, h = createHash("sha256")): Promise<string> {
  for (let i = from; i < to; i++) {
    const chunk = chunkOf(i);
    h.update(chunk);
    if (!c.write(chunk)) await new Promise<void>((r) => (drains.wait = r));
  }
  c.end();
  return h.digest("hex");
}

/** Receives on `c` until the peer's FIN (then half-closes too); resolves with the sha256 and byte count. */
function sink(c: TcpConn): Promise<{ sha: string; bytes: number }> {
  return new Promise((resolve) => {
    const h = createHash("sha256");
    let bytes = 0;
    c.handle({
      data: (d) => {
        h.update(d);
        bytes += d.length;
      },
      end: () => {
        c.end();
        resolve({ sha: h.digest("hex"), bytes });
      },
    });
  });
}

/** A slow reader: the receiver is paused, so `write` says stop and no drain comes; once it reads again the drain comes and every byte arrives intact. */
async function backPressure(portable: boolean): Promise<Record<string, unknown>> {
  let accepted: ((c: TcpConn) => void) | null = null;
  const l = await listen(portable, (c) => {
    c.pause();
    accepted?.(c);
  });
  const srvP = within<TcpConn>(5_000, "accept", (done) => (accepted = done));
  const client = await connectTcp({ host: HOST, port: l.port, portable });
  const srv = await srvP;
  const drains: Drains = { count: 0, wait: null };
  client.handle({ drain: drainHandler(drains) });
  const h = createHash("sha256");
  let k = 0;
  let drainsBefore = 0;
  for (let round = 0; ; round++) {
    while (k < 1000) {
      const chunk = chunkOf(k++);
      h.update(chunk);
      if (!client.write(chunk)) break;
    }
    drainsBefore = drains.count;
    await sleep(300);
    // A drain here means the kernel's buffers took what was queued (a loaded
    // machine's Deno run saw it): write on until they are full as well.
    if (drains.count === drainsBefore || k >= 1000 || round >= 20) break;
  }
  const drainedWhilePaused = drains.count - drainsBefore;
  const readWhilePaused = srv.bytesRead;
  const received = sink(srv);
  srv.resume();
  await within<void>(10_000, "drain after resume", (done) => (drains.wait = done));
  const total = Math.max(k + 16, 96);
  const sent = await pump(client, k, total, drains, h);
  const r = await within<{ sha: string; bytes: number }>(20_000, "all bytes", (done) => void received.then(done));
  await l.close();
  return { kind: l.kind, writtenBeforeStop: k * 256 * 1024, drainedWhilePaused, readWhilePaused, drained: drains.count > 0, bytes: r.bytes, expectBytes: total * 256 * 1024, intact: r.sha === sent };
}

/** Half-close both ways: each side keeps writing after the other's FIN, and the connection closes once both sent theirs. */
async function halfClose(portable: boolean): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  let accepted: ((c: TcpConn) => void) | null = null;
  const l = await listen(portable, (c) => accepted?.(c));
  for (const first of ["client", "server"] as const) {
    const srvP = within<TcpConn>(5_000, "accept", (done) => (accepted = done));
    const client = await connectTcp({ host: HOST, port: l.port, portable });
    const srv = await srvP;
    const log: string[] = [];
    const closed = Promise.all(
      [
        ["client", client],
        ["server", srv],
      ].map(([name, c]) => {
        const conn = c as TcpConn;
        return within<void>(5_000, `${name} close`, (done) =>
          conn.handle({
            data: (d) => log.push(`${name} got ${new TextDecoder().decode(d)}`),
            end: () => {
              log.push(`${name} got FIN`);
              conn.write(new TextEncoder().encode(`${name}-after-fin`));
              conn.end();
            },
            close: (err) => {
              log.push(`${name} closed${err ? ` ${err.message}` : ""}`);
              done();
            },
          }),
        );
      }),
    );
    const opener = first === "client" ? client : srv;
    opener.write(new TextEncoder().encode(`${first}-first`));
    opener.end();
    await closed;
    out[first] = log;
  }
  await l.close();
  return out;
}

/** 48 MiB each way at once through a splice to an echo server: every byte back, in order. */
async function spliceIntegrity(portable: boolean): Promise<Record<string, unknown>> {
  const echo = await listen(portable, (c) =>
    c.handle({
      data: (d) => {
        if (!c.write(d)) c.pause();
      },
      drain: () => c.resume(),
      end: () => c.end(),
    }),
  );
  const relay = await listen(portable, (c) => {
    c.pause();
    void connectTcp({ host: HOST, port: echo.port, portable }).then((u) => {
      spliceTcp(c, u);
      c.resume();
    });
  });
  const client = await connectTcp({ host: HOST, port: relay.port, portable });
  const drains: Drains = { count: 0, wait: null };
  const back = new Promise<{ sha: string; bytes: number }>((resolve) => {
    const h = createHash("sha256");
    let bytes = 0;
    client.handle({
      data: (d) => {
        h.update(d);
        bytes += d.length;
      },
      drain: drainHandler(drains),
      end: () => resolve({ sha: h.digest("hex"), bytes }),
    });
  });
  const sent = await pump(client, 0, 192, drains);
  const r = await within<{ sha: string; bytes: number }>(30_000, "echo", (done) => void back.then(done));
  await relay.close();
  await echo.close();
  return { sent: 192 * 256 * 1024, bytes: r.bytes, intact: r.sha === sent };
}

/** A peer that resets: the conn reports an error; through a splice the other side is cut too. */
async function peerReset(portable: boolean): Promise<Record<string, unknown>> {
  // Accepted side: a node:net client resets.
  let onAccept: ((c: TcpConn) => void) | null = null;
  const l = await listen(portable, (c) => onAccept?.(c));
  const acceptedErr = within<string>(5_000, "accepted close", (done) => {
    onAccept = (c) => c.handle({ close: (err) => done(err ? "error" : "clean") });
  });
  const raw = netConnect(l.port, HOST);
  raw.on("error", () => {});
  await new Promise((r) => raw.once("connect", r));
  raw.write("x");
  await sleep(50);
  raw.resetAndDestroy();
  const accepted = await acceptedErr;

  // Through a splice: the client resets; the backend's side is closed by the relay.
  let backend: TcpConn | null = null;
  const backendCut = within<string>(5_000, "backend close", (done) => {
    void listen(portable, (c) => {
      backend = c;
      // The relay cuts its side: a FIN or a reset, either ends the backend's stream.
      c.handle({ end: () => done("cut"), close: () => done("cut") });
    }).then((b) => (back = b));
  });
  let back: TcpListener | null = null;
  while (back === null) await sleep(5);
  const relay = await listen(portable, (c) => {
    c.pause();
    void connectTcp({ host: HOST, port: (back as TcpListener).port, portable }).then((u) => {
      spliceTcp(c, u);
      c.resume();
    });
  });
  const raw2: Socket = netConnect(relay.port, HOST);
  raw2.on("error", () => {});
  await new Promise((r) => raw2.once("connect", r));
  raw2.write("hello");
  while (backend === null) await sleep(5);
  await sleep(50);
  raw2.resetAndDestroy();
  const spliced = await backendCut;

  // Dialed side: a node:net server resets whoever connects.
  const resetter = createServer((s) => setTimeout(() => s.resetAndDestroy(), 20));
  await new Promise<void>((r) => resetter.listen(0, HOST, () => r()));
  const port = (resetter.address() as { port: number }).port;
  const dialed2 = await connectTcp({ host: HOST, port, portable });
  const dialedErr = await within<string>(5_000, "dialed close", (done) => dialed2.handle({ close: (err) => done(err ? "error" : "clean") }));
  await new Promise((r) => resetter.close(r));
  for (const x of [l, back as TcpListener, relay]) await x.close();
  return { accepted, spliced, dialed: dialedErr };
}

function openSockets(): number {
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith("socket:")) n++;
    } catch {
      // closed while listing
    }
  }
  return n;
}

/** close() stops accepting (a new dial is refused) while open connections still work; once they end no socket is left. */
async function listenerStop(portable: boolean): Promise<Record<string, unknown>> {
  const base = openSockets();
  const conns: TcpConn[] = [];
  const l = await listen(portable, (c) => {
    conns.push(c);
    c.handle({ data: (d) => c.write(d), end: () => c.end() });
  });
  const clients: TcpConn[] = [];
  for (let i = 0; i < 3; i++) clients.push(await connectTcp({ host: HOST, port: l.port, portable }));
  while (conns.length < 3) await sleep(5);
  const during = openSockets() - base;
  await l.close();
  const refused = await connectTcp({ host: HOST, port: l.port, portable, timeoutMs: 3_000 }).then(
    (c) => (c.destroy(), "connected"),
    (e: Error) => e.name,
  );
  // Open connections still echo after the listener closed.
  const echoed = await within<string>(5_000, "echo after close", (done) => {
    clients[0]!.handle({ data: (d) => done(new TextDecoder().decode(d)) });
    clients[0]!.write(new TextEncoder().encode("still here"));
  });
  for (const c of clients) c.end();
  await within<void>(5_000, "all closed", (done) => {
    let n = 0;
    for (const c of [...clients, ...conns]) c.onClosed(() => ++n === 6 && done());
  });
  let left = openSockets() - base;
  for (let i = 0; i < 100 && left > 0; i++) {
    await sleep(20);
    left = openSockets() - base;
  }
  return { during, refused, echoed, left };
}

async function dialRefused(portable: boolean): Promise<string> {
  const l = await listen(portable, () => {});
  const port = l.port;
  await l.close();
  return connectTcp({ host: HOST, port, portable }).then(
    () => "connected",
    (e: Error) => `${e.name}: ${e.message}`,
  );
}

export async function runChecks(portable: boolean): Promise<Record<string, unknown>> {
  return {
    backPressure: await backPressure(portable),
    halfClose: await halfClose(portable),
    splice: await spliceIntegrity(portable),
    reset: await peerReset(portable),
    stop: await listenerStop(portable),
    refused: await dialRefused(portable),
  };
}

runWhenAsked(() => runChecks(process.argv.includes("portable")));
