/**
 * 100,000 random and mutated packets: truncated headers, absurd counts,
 * compression loops, oversized names, random EDNS. Each gets either nothing
 * or a well-formed response with its ID; sent through the real UDP and TCP
 * listeners, the server keeps answering valid queries throughout.
 */
import { afterAll, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import dnsPacket from "dns-packet";
import { AnswerCache, type DnsContext, type DnsListener, handleDns, listenDns, StateDnsLookup } from "../../src/dns/mod.ts";
import { NOW_MS, Catalog, env, queryBytes, seeded, service } from "./_fixture.ts";

const TOTAL = 100_000;
const rand = seeded(20240601);
const int = (n: number) => Math.floor(rand() * n);

const catalog = new Catalog()
  .service("web1", "10.0.0.1", service("web", "web", { Port: 80, Tags: ["a"] }), [], { NodeMeta: { k: "v" } })
  .service("web2", "web2.example.org", service("web", "web", { Port: 81 }))
  .node("alias", "web.service.consul");
const e = env(catalog, { enableTruncate: true });
const lookup = new StateDnsLookup(catalog.store, { datacenter: "dc1", selfNode: "server1" });
// A fixed clock: the SOA serial is the time in seconds, and cached and fresh answers are compared byte for byte.
const ctx = (transport: "udp" | "tcp"): DnsContext => ({ config: e.config, lookup, transport, random: seeded(1), now: () => NOW_MS });
// The same with answer caches: every reply must equal the uncached one, byte for byte.
const caches = { udp: new AnswerCache(), tcp: new AnswerCache() };
const cachedCtx = (transport: "udp" | "tcp"): DnsContext => ({ ...ctx(transport), cache: caches[transport] });

const SEEDS: Uint8Array[] = [
  queryBytes("web.service.consul", "A"),
  queryBytes("web.service.consul", "SRV", { edns: 1232 }),
  queryBytes("_web._tcp.service.dc1.consul", "SRV"),
  queryBytes("web1.node.consul", "ANY", { edns: 4096, subnet: "10.1.2.0" }),
  queryBytes("alias.node.consul", "A"),
  queryBytes("0a000001.addr.dc1.consul", "A"),
  queryBytes("1.0.0.10.in-addr.arpa", "PTR"),
  queryBytes("consul", "SOA"),
  queryBytes("example.com", "A"),
];

function mutate(seed: Uint8Array): Uint8Array {
  const b = new Uint8Array(seed);
  switch (int(8)) {
    case 0: // bit flips
      for (let i = 0, n = 1 + int(4); i < n; i++) b[int(b.length)]! ^= 1 << int(8);
      return b;
    case 1: // truncation, headers included
      return b.slice(0, int(b.length));
    case 2: // absurd section counts
      b[4 + 2 * int(4)] = 0xff;
      b[5 + 2 * int(4)] = int(256);
      return b;
    case 3: {
      // a compression pointer that loops (to itself or forward)
      const at = 12 + int(Math.max(1, b.length - 13));
      const target = rand() < 0.5 ? at : int(b.length + 20);
      b[at] = 0xc0 | ((target >> 8) & 0x3f);
      if (at + 1 < b.length) b[at + 1] = target & 0xff;
      return b;
    }
    case 4: {
      // an oversized name: labels well past 255 bytes, or a label length past its end
      const labels: number[] = [];
      for (let i = 0, n = 1 + int(8); i < n; i++) labels.push(63, ...new Array<number>(63).fill(97 + int(26)));
      return new Uint8Array([...b.subarray(0, 12), ...labels, 0, 0, 1, 0, 1]);
    }
    case 5: {
      // random EDNS options appended as an OPT record
      const opts = Array.from({ length: int(40) }, () => int(256));
      const out = new Uint8Array([...b, 0, 0, 41, int(256), int(256), 0, 0, 0, 0, opts.length >> 8, opts.length & 0xff, ...opts]);
      out[11] = (out[11]! + 1) & 0xff;
      return out;
    }
    case 6: // random bytes spliced in
      for (let i = 0, n = 1 + int(10); i < n; i++) b[int(b.length)] = int(256);
      return b;
    default: // opcode / flags noise
      b[2] = int(256);
      b[3] = int(256);
      return b;
  }
}

function packet(i: number): Uint8Array {
  if (i % 5 === 0) return Uint8Array.from({ length: int(600) }, () => int(256));
  return mutate(SEEDS[int(SEEDS.length)]!);
}

function checkReply(q: Uint8Array, r: Uint8Array | null): void {
  if (r === null) return;
  const d = dnsPacket.decode(Buffer.from(r));
  expect(d.type).toBe("response");
  expect(d.id).toBe((q[0]! << 8) | q[1]!);
}

const listeners: DnsListener[] = [];
afterAll(async () => {
  for (const l of listeners) await l.stop();
});

test("100,000 malformed packets: no throw, nothing or a decodable response; the server keeps answering", async () => {
  const started = performance.now();
  const packets: Uint8Array[] = [];
  let replies = 0;
  for (let i = 0; i < TOTAL; i++) {
    const p = packet(i);
    packets.push(p);
    const transport = i % 3 === 0 ? "tcp" : "udp";
    const r = await handleDns(p, ctx(transport));
    if (r !== null) replies++;
    checkReply(p, r);
    // Twice: the first may fill the cache, the second is then served from it.
    for (let k = 0; k < 2; k++) {
      const c = await handleDns(p, cachedCtx(transport));
      if ((c === null) !== (r === null) || (c !== null && r !== null && Buffer.compare(Buffer.from(c), Buffer.from(r)) !== 0)) {
        throw new Error(`cached reply differs from the fresh one for packet ${i}: ${Buffer.from(p).toString("hex")}`);
      }
    }
  }
  expect(replies).toBeGreaterThan(TOTAL / 10);
  // Most mutants are refused, dropped or unique; the valid repeats must come from the cache.
  expect(caches.udp.hits + caches.tcp.hits).toBeGreaterThan(TOTAL / 20);

  // The same packets through the listeners, with a valid query after every thousand.
  const l = await listenDns({ host: "127.0.0.1", port: 0, queueLimit: 4096, handle: (q, transport) => handleDns(q, cachedCtx(transport)) });
  listeners.push(l);
  const client = createSocket("udp4");
  const answers = new Map<number, (b: Buffer) => void>();
  client.on("message", (m: Buffer) => {
    const id = m.readUInt16BE(0);
    answers.get(id)?.(m);
  });
  await new Promise<void>((r) => client.bind(0, "127.0.0.1", () => r()));
  const probe = async (n: number) => {
    const id = 0xf000 + (n % 0x0fff);
    for (let attempt = 0; attempt < 5; attempt++) {
      const got = await new Promise<Buffer | null>((resolve) => {
        const t = setTimeout(() => resolve(null), 300);
        answers.set(id, (b) => {
          clearTimeout(t);
          resolve(b);
        });
        client.send(queryBytes("web.service.consul", "A", { id }), l.port, "127.0.0.1");
      });
      if (got && dnsPacket.decode(got).answers?.length === 1) return true;
    }
    return false;
  };
  let probesOk = 0;
  for (let i = 0; i < TOTAL; i++) {
    client.send(packets[i]!, l.port, "127.0.0.1");
    if (i % 250 === 249) await new Promise((r) => setImmediate(r));
    if (i % 1000 === 999 && (await probe(i))) probesOk++;
  }
  expect(probesOk).toBe(TOTAL / 1000);

  // A slice over TCP on one connection, then a valid query on the same connection.
  const tcpReplies = await new Promise<number>((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port: l.port });
    let buf = Buffer.alloc(0);
    let count = 0;
    s.on("error", reject);
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + m.length);
        count++;
        if (m.readUInt16BE(0) === 0xbeef) {
          s.end();
          resolve(count);
        }
      }
    });
    const frames: Buffer[] = [];
    for (const p of packets.slice(0, 3000)) if (p.length > 0) frames.push(Buffer.from([p.length >> 8, p.length & 0xff]), Buffer.from(p));
    const last = queryBytes("web.service.consul", "A", { id: 0xbeef });
    frames.push(Buffer.from([0, last.length]), Buffer.from(last));
    s.write(Buffer.concat(frames));
  });
  expect(tcpReplies).toBeGreaterThan(100);
  client.close();
  expect(l.stats().errors).toBe(0);
  console.log(`fuzz: ${TOTAL} packets, ${replies} answered by the handler, listener received ${l.stats().received}, ${(performance.now() - started).toFixed(0)} ms`);
}, 60_000);
