/** The UDP/TCP listeners: real sockets on loopback, framing, overload shedding, clean stop. */
import { afterEach, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { join } from "node:path";
import { type DnsListener, handleDns, listenDns, StateDnsLookup } from "../../src/dns/mod.ts";
import { BUN, ROOT } from "../e2e/_agent.ts";
import { Catalog, decode, env, queryBytes, rows, service } from "./_fixture.ts";

const listeners: DnsListener[] = [];
afterEach(async () => {
  for (const l of listeners.splice(0)) await l.stop();
});

function setup(slowUs = 0, extra: { queueLimit?: number; batch?: number; portableUdp?: boolean } = {}) {
  const catalog = new Catalog().service("web1", "10.0.0.1", service("web", "web", { Port: 80 }));
  for (let i = 2; i <= 40; i++) catalog.service(`n${i}`, `10.0.1.${i}`, service("big", "big", { Port: i }));
  const e = env(catalog);
  const lookup = new StateDnsLookup(catalog.store, { datacenter: "dc1", selfNode: "server1" });
  return listenDns({
    host: "127.0.0.1",
    port: 0,
    ...extra,
    handle: (q, transport) => {
      if (slowUs > 0) {
        const until = performance.now() + slowUs / 1000;
        while (performance.now() < until);
      }
      return handleDns(q, { config: e.config, lookup, transport });
    },
  }).then((l) => {
    listeners.push(l);
    return l;
  });
}

function udpAsk(port: number, q: Uint8Array, timeoutMs = 1000, from?: string): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    if (from !== undefined) s.bind(0, from);
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, timeoutMs);
    s.on("message", (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(q, port, "127.0.0.1");
  });
}

function tcpAsk(port: number, queries: Uint8Array[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port });
    const out: Buffer[] = [];
    let buf = Buffer.alloc(0);
    s.on("error", reject);
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === queries.length) {
        s.end();
        resolve(out);
      }
    });
    // All queries in one write, split at odd places: framing must not care.
    const frames = Buffer.concat(queries.map((q) => Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), Buffer.from(q)])));
    s.write(frames.subarray(0, 3));
    setTimeout(() => s.write(frames.subarray(3)), 10);
  });
}

test("UDP and TCP on the same port; pipelined TCP queries all answered", async () => {
  const l = await setup();
  const udp = await udpAsk(l.port, queryBytes("web.service.consul", "A"));
  expect(rows(decode(udp!).answers)).toEqual(["web.service.consul A 10.0.0.1"]);
  const replies = await tcpAsk(l.port, [queryBytes("web.service.consul", "A", { id: 1 }), queryBytes("big.service.consul", "SRV", { id: 2 }), queryBytes("nope.service.consul", "A", { id: 3 })]);
  const decoded = replies.map((r) => decode(r));
  expect(decoded.map((d) => d.id).sort()).toEqual([1, 2, 3]);
  expect(decoded.find((d) => d.id === 2)!.answers).toHaveLength(39);
  expect(decoded.find((d) => d.id === 3)!.rcode).toBe("NXDOMAIN");
  expect(l.stats().received).toBe(4);
});

test("UDP answers on the runtime's native socket and on node:dgram alike", async () => {
  for (const portableUdp of [false, true]) {
    const l = await setup(0, { portableUdp });
    const replies = await Promise.all([1, 2, 3].map((id) => udpAsk(l.port, queryBytes("web.service.consul", "A", { id }))));
    expect(replies.map((r) => decode(r!).id)).toEqual([1, 2, 3]);
    expect(replies.map((r) => rows(decode(r!).answers))).toEqual([1, 2, 3].map(() => ["web.service.consul A 10.0.0.1"]));
    expect(l.stats().answered).toBe(3);
  }
});

test("answers go back to each asker's own address when askers from several addresses take turns", async () => {
  for (const portableUdp of [false, true]) {
    const l = await setup(0, { portableUdp });
    // Loopback answers on all of 127/8: three client addresses, each asked from twice, in turns.
    const froms = ["127.0.0.2", "127.0.0.3", "127.0.0.2", "127.0.0.1", "127.0.0.3", "127.0.0.1"];
    for (const [i, from] of froms.entries()) {
      const reply = await udpAsk(l.port, queryBytes("web.service.consul", "A", { id: 100 + i }), 1000, from);
      expect(reply).not.toBeNull();
      expect(decode(reply!).id).toBe(100 + i);
    }
    expect(l.stats().answered).toBe(froms.length);
  }
});

test("the handler answers as of the listener's clock; a queued query older than maxQueueAgeMs when its turn comes is shed", async () => {
  const catalog = new Catalog().service("web1", "10.0.0.1", service("web", "web", { Port: 80 }));
  const e = env(catalog);
  const lookup = new StateDnsLookup(catalog.store, { datacenter: "dc1", selfNode: "server1" });
  let clock = 1_700_000_000_000;
  let step = 0;
  const seen: (number | undefined)[] = [];
  const l = await listenDns({
    host: "127.0.0.1",
    port: 0,
    inlineMs: 0, // every query waits in the queue
    maxQueueAgeMs: 1000,
    now: () => (clock += step),
    handle: (q, transport, _from, nowMs) => {
      seen.push(nowMs);
      return handleDns(q, { config: e.config, lookup, transport }, undefined, nowMs);
    },
  });
  listeners.push(l);
  const reply = await udpAsk(l.port, queryBytes("web.service.consul", "A"));
  expect(rows(decode(reply!).answers)).toEqual(["web.service.consul A 10.0.0.1"]);
  expect(seen).toEqual([1_700_000_000_000]);
  // The clock moves 5 s between the turn a query arrives in and the turn that answers it.
  step = 5000;
  expect(await udpAsk(l.port, queryBytes("web.service.consul", "A"), 300)).toBeNull();
  expect(seen).toHaveLength(1);
  expect(l.stats()).toMatchObject({ received: 2, answered: 1, shed: 1 });
});

test("garbage gets nothing or a header-only error, and the listener keeps answering", async () => {
  const l = await setup();
  expect(await udpAsk(l.port, new Uint8Array([1, 2, 3]), 200)).toBeNull();
  const formerr = await udpAsk(l.port, new Uint8Array([0, 7, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0]));
  expect(formerr && decode(formerr).rcode).toBe("FORMERR");
  expect(await udpAsk(l.port, queryBytes("web.service.consul", "A"))).not.toBeNull();
});

for (const portableUdp of [false, true]) {
  test(`overload (${portableUdp ? "node:dgram" : "the runtime's socket"}): a bounded queue sheds the oldest queries, latency stays bounded, answers continue`, async () => {
    // ~300 us per answer: about 3,000 answers a second, offered 60,000 queries as fast as a client sends them.
    const l = await setup(300, { queueLimit: 64, portableUdp });
    const flood = spawn(BUN, [join(ROOT, "test/dns/_flood.ts"), String(l.port), "60000"], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    flood.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    await new Promise<void>((r) => flood.once("exit", () => r()));
    const report = JSON.parse(out) as { sent: number; sendMs: number; answered: number; p99: number; max: number };
    const s = l.stats();
    console.log(`overload (${portableUdp ? "node:dgram" : "native"}): offered ${report.sent} in ${report.sendMs.toFixed(0)} ms; received ${s.received}, answered ${report.answered}, shed ${s.shed}; answer latency p99 ${report.p99?.toFixed(1)} ms, max ${report.max?.toFixed(1)} ms`);
    expect(s.shed).toBeGreaterThan(1000);
    expect(s.queueHighWater).toBeLessThanOrEqual(64);
    expect(report.answered).toBeGreaterThan(100);
    // What is answered waited at most a queue's worth of work (64 x 0.3 ms) and a kernel buffer's
    // (typically 50-400 ms here, more on a loaded machine); queued without bound, the last of
    // 60,000 queries at 0.3 ms each would wait some 18 s.
    expect(report.max).toBeLessThan(1500);
    const after = performance.now();
    expect(await udpAsk(l.port, queryBytes("web.service.consul", "A"))).not.toBeNull();
    expect(performance.now() - after).toBeLessThan(200);
  }, 30_000);
}

test("stop releases both ports", async () => {
  const l = await setup();
  const port = l.port;
  await l.stop();
  listeners.length = 0;
  const again = await listenDns({ host: "127.0.0.1", port, handle: () => null });
  await again.stop();
});
