/**
 * Cross-datacenter RPC over real NATS: two datacenters, each a server on its
 * own log with its own single NATS node, linked only by client connections.
 * Reads, writes and blocking reads reach the other datacenter; a cancelled
 * blocking call ends there; a datacenter that goes away fails fast and comes
 * back by itself; malformed requests are refused.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Federation } from "../../federation/mod.ts";
import { splitFrames } from "../../federation/batch.ts";
import { CallMux, SWEEP_MS } from "../../federation/call_mux.ts";
import { rpcSubject } from "../../federation/subjects.ts";
import { Buffer } from "node:buffer";
import { decodePart, decodeReply, encodeMessage, type ReplyFrame, ReplyJoiner, replyParts } from "../../federation/wire.ts";
import { startNatsCluster, type NatsCluster } from "../_nats.ts";
import { MemoryLog } from "../../src/log/mod.ts";
import { NoPathError, type RequestOptions, RpcError } from "../../src/rpc/mod.ts";
import { decodeBody } from "../../src/rpc/codec.ts";
import { Server } from "../../src/server/mod.ts";

interface Dc {
  nats: NatsCluster;
  server: Server;
  nc: NatsConnection;
  fed: Federation;
}

const dcs: Record<string, Dc> = {};
const opts = (datacenter: string, extra: Partial<RequestOptions> = {}): RequestOptions => ({ datacenter, minIndex: 0, waitMs: 0, consistency: "default", maxStaleMs: 0, ...extra });
const kv = (Key: string, v: string) => ({ Op: "set" as const, Entry: { Key, Value: btoa(v), Flags: "0", Session: "", ModifyIndex: 0 } });
const connector = (urls: readonly string[]) => connect({ servers: [...urls], maxReconnectAttempts: -1, reconnectTimeWait: 100, pingInterval: 1000, timeout: 1000 });

beforeAll(async () => {
  for (const name of ["dc1", "dc2"]) {
    const nats = await startNatsCluster({ size: 1, name: `fed-${name}` });
    const server = new Server({ datacenter: name, nodeName: `s-${name}`, nodeId: crypto.randomUUID(), advertiseAddr: "127.0.0.1", serverPort: 0, log: new MemoryLog() });
    await server.start();
    const nc = await connect({ servers: nats.urls });
    dcs[name] = { nats, server, nc } as Dc;
  }
  for (const [name, dc] of Object.entries(dcs)) {
    const other = name === "dc1" ? "dc2" : "dc1";
    dc.fed = new Federation({ server: dc.server, primary: "dc1", nc: dc.nc, connector, staticUrls: { [other]: dcs[other]!.nats.urls }, wan: null });
  }
  const deadline = Date.now() + 10_000;
  while (!(dcs.dc1!.fed.links.isUp("dc2") && dcs.dc2!.fed.links.isUp("dc1")) && Date.now() < deadline) await Bun.sleep(50);
}, 30_000);

afterAll(async () => {
  for (const dc of Object.values(dcs)) {
    await dc.fed?.stop().catch(() => {});
    await dc.nc.close().catch(() => {});
    await dc.server.stop().catch(() => {});
    await dc.nats.stop();
  }
});

const enc = (text: string) => new TextEncoder().encode(text);

/** Length-prefixed frames, as the link sends a batch. */
function framed(...texts: string[]): Uint8Array {
  const parts = texts.map(enc);
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    new DataView(out.buffer).setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

/** One raw request to dc2's responder subject, its reply split into decoded frames. */
async function askDc2(nc: NatsConnection, body: Uint8Array, timeout: number): Promise<(ReplyFrame | null)[]> {
  const frames = splitFrames((await nc.request(rpcSubject("dc2"), body, { timeout })).data);
  if (typeof frames === "string") throw new Error(frames);
  return frames.map((f) => decodeReply(f));
}

test("reads and writes for another datacenter are answered there; local calls stay local", async () => {
  const rpc = dcs.dc1!.fed.rpc;
  expect(await rpc.call("KVS.Apply", kv("where", "dc2"), opts("dc2"))).toBe(true);
  expect(dcs.dc2!.server.state.t.kvs.get("where")).toBeDefined();
  expect(dcs.dc1!.server.state.t.kvs.get("where")).toBeUndefined();
  const got = await rpc.call("KVS.Get", { Key: "where" }, opts("dc2"));
  expect(new TextDecoder().decode(got.value!.Value!)).toBe("dc2");
  expect((await rpc.call("KVS.Get", { Key: "where" }, opts("dc1"))).value).toBeNull();
  // Endpoint errors come back as the same class with Consul's prefix.
  await expect(Promise.resolve(rpc.call("Session.Renew", { SessionID: "00000000-0000-0000-0000-000000000000" }, opts("dc2")))).rejects.toThrow();
  expect(dcs.dc1!.fed.datacenters().map((d) => d.datacenter)).toEqual(["dc1", "dc2"]);
  expect(dcs.dc2!.server.remote).not.toBeNull();
});

/** Waits until dc2's responder holds `n` parked calls (5 s at most), then checks it. */
async function untilParked(n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (dcs.dc2!.fed.responder.stats.parked !== n && Date.now() < deadline) await Bun.sleep(10);
  expect(dcs.dc2!.fed.responder.stats.parked).toBe(n);
}

test("a blocking read made in dc1 parks in dc2 and wakes on a dc2 write", async () => {
  const rpc = dcs.dc1!.fed.rpc;
  const first = await rpc.call("KVS.Get", { Key: "watched" }, opts("dc2"));
  const started = Date.now();
  const parked = Promise.resolve(rpc.call("KVS.Get", { Key: "watched" }, opts("dc2", { minIndex: first.index, waitMs: 20_000 })));
  await untilParked(1);
  await dcs.dc2!.fed.rpc.call("KVS.Apply", kv("watched", "now"), opts("dc2"));
  const woke = await parked;
  expect(woke.index).toBeGreaterThan(first.index);
  expect(new TextDecoder().decode(woke.value!.Value!)).toBe("now");
  expect(Date.now() - started).toBeLessThan(10_000);
});

test("a blocking read whose caller goes away is cancelled in the target datacenter", async () => {
  const rpc = dcs.dc1!.fed.rpc;
  const first = await rpc.call("KVS.Get", { Key: "never" }, opts("dc2"));
  const ac = new AbortController();
  const cancelledBefore = dcs.dc2!.fed.responder.stats.cancelled;
  const call = Promise.resolve(rpc.call("KVS.Get", { Key: "never" }, opts("dc2", { minIndex: first.index, waitMs: 60_000, signal: ac.signal })));
  await untilParked(1);
  ac.abort();
  await expect(call).rejects.toThrow("request cancelled");
  const deadline = Date.now() + 3000;
  while (dcs.dc2!.fed.responder.stats.parked > 0 && Date.now() < deadline) await Bun.sleep(20);
  expect(dcs.dc2!.fed.responder.stats.parked).toBe(0);
  expect(dcs.dc2!.fed.responder.stats.cancelled).toBe(cancelledBefore + 1);
});

test("an unknown datacenter fails at once with No path to datacenter", async () => {
  const started = Date.now();
  for (const dc of ["dc9", "bad.name", "dc2.>"]) {
    await expect(Promise.resolve(dcs.dc1!.fed.rpc.call("KVS.Get", { Key: "x" }, opts(dc)))).rejects.toBeInstanceOf(NoPathError);
  }
  expect(Date.now() - started).toBeLessThan(1000);
});

test("calls made together share one message each way; every answer reaches its own call", async () => {
  const rpc = dcs.dc1!.fed.rpc;
  await Promise.all(Array.from({ length: 40 }, (_, n) => rpc.call("KVS.Apply", kv(`many/${n}`, `v${n}`), opts("dc2"))));
  const before = dcs.dc2!.fed.responder.stats.messages;
  const got = await Promise.all(Array.from({ length: 40 }, (_, n) => rpc.call("KVS.Get", { Key: `many/${n}` }, opts("dc2"))));
  expect(got.map((g) => new TextDecoder().decode(g.value!.Value!))).toEqual(Array.from({ length: 40 }, (_, n) => `v${n}`));
  // 40 calls in one turn of the event loop: one message (not 40 requests).
  expect(dcs.dc2!.fed.responder.stats.messages - before).toBe(1);
  // An error answer and a value answer in the same message each reach their call.
  const [ok, failed] = await Promise.allSettled([rpc.call("KVS.Get", { Key: "many/1" }, opts("dc2")), rpc.call("Session.Renew", { SessionID: "00000000-0000-0000-0000-000000000000" }, opts("dc2"))]);
  expect(ok.status).toBe("fulfilled");
  expect(failed.status).toBe("rejected");
});

test("a message nobody listens for fails its calls at once with No path to datacenter", async () => {
  const mux = new CallMux(dcs.dc1!.nc, "nowhere");
  try {
    const started = Date.now();
    const frame = encodeMessage({ i: 7, m: "KVS.Get", a: { Key: "x" }, o: opts("nowhere") });
    const calls = [mux.call("consulate.rpc.nowhere", 7, frame, { timeoutMs: 5000 }), mux.call("consulate.rpc.nowhere", 8, encodeMessage({ i: 8, m: "KVS.Get", a: { Key: "y" }, o: opts("nowhere") }), { timeoutMs: 5000 })];
    for (const r of await Promise.allSettled(calls)) expect(r.status === "rejected" && r.reason instanceof NoPathError).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(mux.pending).toBe(0);
  } finally {
    mux.close();
  }
});

test("a call nobody answers times out by the link's deadline sweep; an answered call and one given as JSON text on the same link are not touched", async () => {
  const silent = dcs.dc1!.nc.subscribe("consulate.rpc.silent", { callback: () => {} });
  const echo = dcs.dc1!.nc.subscribe("consulate.rpc.echo", {
    callback: (_err, msg) => {
      const frames = splitFrames(msg.data) as Uint8Array[];
      msg.respond(framed(...frames.map((f) => JSON.stringify({ i: (decodeBody(f) as { i: number }).i, r: "pong" }))));
    },
  });
  const mux = new CallMux(dcs.dc1!.nc, "silent");
  try {
    const started = Date.now();
    const lost = mux.call("consulate.rpc.silent", 1, encodeMessage({ i: 1, m: "Status.Ping", a: {}, o: opts("silent") }), { timeoutMs: 300 });
    const text = await mux.call("consulate.rpc.echo", 2, JSON.stringify({ i: 2, m: "Status.Ping", a: {}, o: opts("echo") }), { timeoutMs: 300 });
    expect(text).toEqual({ i: 2, r: "pong" });
    const err = await lost.then(() => null, (e: unknown) => e as Error);
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(RpcError);
    expect(err!.message).toContain("timeout waiting for an answer from datacenter silent");
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(300 + SWEEP_MS + 500);
    expect(mux.pending).toBe(0);
  } finally {
    mux.close();
    silent.unsubscribe();
    echo.unsubscribe();
  }
});

test("malformed, mis-addressed and oversize requests are refused with an error answer", async () => {
  const nc = dcs.dc2!.nc;
  const ask = (body: Uint8Array) => askDc2(nc, body, 2000);
  const code = (f: ReplyFrame | null | undefined) => (f && "e" in f ? f.e.code : "");
  expect(code((await ask(framed("{not json")))[0])).toBe("BadRequestError");
  expect(code((await ask(framed(JSON.stringify({ i: 1, m: "KVS.Apply", a: { Op: "set", Entry: 5 }, o: opts("dc2") }))))[0])).toBe("BadRequestError");
  expect(code((await ask(framed(JSON.stringify({ i: 1, m: "KVS.Get", a: { Key: "a" }, o: opts("dc1") }))))[0])).toBe("NoPathError");
  const unknown = (await ask(framed(JSON.stringify({ i: 1, m: "Nope.Nope", a: {}, o: opts("dc2") }))))[0];
  expect(unknown && "e" in unknown ? unknown.e.message : "").toContain("can't find method");
  expect(code((await ask(framed("[".repeat(100_000) + "]".repeat(100_000))))[0])).toBe("BadRequestError");
  // Broken framing: an unframed body, a length past the end, a cut-off length, an empty frame.
  for (const body of [enc(JSON.stringify({ i: 1, m: "KVS.Get", a: { Key: "a" }, o: opts("dc2") })), framed("{}").subarray(0, 3), Uint8Array.of(0, 0, 0, 9, 1), Uint8Array.of(0, 0, 0, 0)]) {
    const [refusal] = await ask(body);
    expect(refusal).toEqual({ i: 0, e: { code: "BadRequestError", message: expect.stringContaining("Invalid RPC request") } });
  }
  // A bad frame among good ones: the good one is still answered, by its id.
  const mixed = await ask(framed("{}", JSON.stringify({ i: 5, m: "KVS.Get", a: { Key: "a" }, o: opts("dc2") })));
  expect(mixed.map((f) => f?.i).sort()).toEqual([0, 5]);
  // Nothing was written by any of them.
  expect(dcs.dc2!.server.state.t.kvs.has("a")).toBe(false);
});

test("adversarial batches on the responder subject: wrong types, deep nesting, no reply subject, a full message of bad frames, a flood; real calls keep working, nothing is written, every bad one is counted", async () => {
  const raw = await connect({ servers: dcs.dc2!.nats.urls }); // a stranger on dc2's NATS
  const stats = dcs.dc2!.fed.responder.stats;
  const ask = (body: Uint8Array) => askDc2(raw, body, 5000);
  const write = (key: string) => JSON.stringify({ i: 9, m: "KVS.Apply", a: { Op: "set", Entry: { Key: key, Value: 5, Flags: "0", Session: "", ModifyIndex: 0 } }, o: opts("dc2") });
  try {
    // Wrong types: not an object, an id that is no number, a method that is no string; each message refused once, by id 0.
    for (const text of ["[1,2,3]", '"frame"', "null", '{"i":"x","m":"KVS.Get","a":{},"o":{}}', '{"i":3,"m":5,"a":{},"o":{}}']) {
      const before = stats.badFrames;
      expect(await ask(framed(text))).toEqual([{ i: 0, e: { code: "BadRequestError", message: expect.stringContaining("1 of 1 frames are not request frames") } }]);
      expect(stats.badFrames).toBe(before + 1);
    }
    // A readable call with arguments of the wrong type, or options of the wrong type: refused with its own id, nothing written.
    const typed = await ask(framed(write("adv/typed"), JSON.stringify({ i: 10, m: "KVS.Get", a: { Key: "a" }, o: { ...opts("dc2"), minIndex: "0" } })));
    expect(typed.map((f) => [f?.i, f && "e" in f ? f.e.code : "ok"]).sort()).toEqual([[10, "BadRequestError"], [9, "BadRequestError"]]);
    // Nested past the limit (inside the arguments of a readable write): refused from a scan, before it is parsed.
    const deep = `{"i":11,"m":"KVS.Apply","a":{"Op":"set","Entry":${"[".repeat(300)}${"]".repeat(300)}},"o":${JSON.stringify(opts("dc2"))}}`;
    const [nested] = await ask(framed(deep));
    expect(nested && "e" in nested ? nested.e.message : "").toContain("nested deeper than 128");
    // Brackets inside strings do not count.
    const [inString] = await ask(framed(JSON.stringify({ i: 12, m: "KVS.Get", a: { Key: "[".repeat(500) }, o: opts("dc2") })));
    expect(inString).toEqual({ i: 12, r: expect.anything() });
    // A message as large as NATS takes, every frame bad: one refusal (no answer per frame), every frame counted.
    const many = Array.from({ length: 100_000 }, () => "x");
    const before = { refused: stats.refused, bad: stats.badFrames };
    const full = await ask(framed(...many));
    expect(full).toHaveLength(1);
    expect(full[0]).toEqual({ i: 0, e: { code: "BadRequestError", message: expect.stringContaining("100000 of 100000 frames") } });
    expect([stats.refused - before.refused, stats.badFrames - before.bad]).toEqual([1, 100_000]);
    // A length prefix claiming 4 GiB.
    expect((await ask(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x7b)))[0]).toEqual({ i: 0, e: { code: "BadRequestError", message: expect.stringContaining("runs past the end") } });
    // Without a reply subject nothing can be answered: counted only.
    const refusedBefore = stats.refused;
    raw.publish(rpcSubject("dc2"), framed(write("adv/noreply")));
    await raw.flush();
    const until = Date.now() + 3000;
    while (stats.refused === refusedBefore && Date.now() < until) await Bun.sleep(10);
    expect(stats.refused).toBe(refusedBefore + 1);
    // A flood of bad messages while dc1 makes real calls: every real call is answered, every bad message refused.
    const floodBefore = stats.refused;
    const bad = [framed("{not json"), framed(deep), Uint8Array.of(0, 0, 0, 9, 1), framed(write("adv/flood"))];
    const inbox = `_INBOX.adv.${crypto.randomUUID()}`;
    let answers = 0;
    // Answers to one reply subject finished in one turn share a message: count frames.
    const sub = raw.subscribe(inbox, {
      callback: (_err, m) => {
        const f = splitFrames(m.data);
        if (typeof f !== "string") answers += f.length;
      },
    });
    const real = Promise.all(Array.from({ length: 50 }, (_, n) => dcs.dc1!.fed.rpc.call("KVS.Apply", kv(`adv-real/${n}`, "ok"), opts("dc2"))));
    for (let n = 0; n < 2000; n++) raw.publish(rpcSubject("dc2"), bad[n % bad.length]!, { reply: inbox });
    await raw.flush();
    expect(await real).toEqual(Array.from({ length: 50 }, () => true));
    const end = Date.now() + 10_000;
    while (answers < 2000 && Date.now() < end) await Bun.sleep(20);
    sub.unsubscribe();
    expect(answers).toBe(2000);
    expect(stats.refused - floodBefore).toBe(1500); // the typed write is answered by its id (refused args), not as a whole message
    // Nothing of theirs was written; the metrics show the refusals.
    expect([...dcs.dc2!.server.state.t.kvs.keys()].filter((k) => k.startsWith("adv/"))).toEqual([]);
    expect(dcs.dc2!.server.state.t.kvs.get("adv-real/49")).toBeDefined();
    const gauge = (name: string) => dcs.dc2!.fed.gauges().find((g) => g.name === name)?.value;
    expect(gauge("consulate.federation.rpc.refused")).toBe(stats.refused);
    expect(gauge("consulate.federation.rpc.bad_frames")).toBe(stats.badFrames);
  } finally {
    await raw.close();
  }
}, 30_000);

test("a reply larger than a NATS message comes back whole, in parts; the parts are joined only in order and within the limit", async () => {
  const value = "v".repeat(300_000);
  for (let n = 0; n < 4; n++) await dcs.dc2!.fed.rpc.call("KVS.Apply", kv(`big/${n}`, value), opts("dc2"));
  const before = dcs.dc2!.fed.responder.stats.partedReplies;
  const got = await dcs.dc1!.fed.rpc.call("KVS.List", { Key: "big/" }, opts("dc2"));
  expect(got.value!.map((e) => e.Key)).toEqual(Array.from({ length: 4 }, (_, n) => `big/${n}`));
  expect(got.value!.every((e) => new TextDecoder().decode(e.Value!) === value)).toBe(true);
  expect(dcs.dc2!.fed.responder.stats.partedReplies).toBe(before + 1);
  // The joiner on its own: parts of a small limit, out of order, past the limit.
  const frame = encodeMessage({ i: 4, r: { text: "x".repeat(1000) } });
  const parts = replyParts(4, frame, 300);
  expect(parts.length).toBeGreaterThan(3);
  expect(parts.every((p) => p.length <= 300)).toBe(true);
  const decoded = parts.map((p) => decodePart(p.subarray(4))!);
  const joiner = new ReplyJoiner();
  let whole: Uint8Array | string | null = null;
  for (const p of decoded) whole = joiner.add(p);
  expect(decodeReply(whole as Uint8Array)).toEqual({ i: 4, r: { text: "x".repeat(1000) } });
  expect(new ReplyJoiner().add(decoded[1]!)).toContain("before the first");
  const skipping = new ReplyJoiner();
  skipping.add(decoded[0]!);
  expect(skipping.add(decoded[2]!)).toContain("out of order");
  const huge = new ReplyJoiner(1000);
  const chunk = Buffer.alloc(600).toString("base64");
  expect(huge.add({ i: 1, x: 0, n: 3, p: chunk })).toBeNull();
  expect(huge.add({ i: 1, x: 1, n: 3, p: chunk })).toContain("larger than 1000 bytes");
  expect(decodePart(new TextEncoder().encode('{"i":1,"x":5,"n":2,"p":""}'))).toBeNull();
}, 30_000);

test("a datacenter that goes away fails fast and drops from the list; it comes back by itself", async () => {
  const dc2 = dcs.dc2!;
  await dc2.nats.kill(0);
  const deadline = Date.now() + 5000;
  while (dcs.dc1!.fed.links.isUp("dc2") && Date.now() < deadline) await Bun.sleep(20);
  const started = Date.now();
  await expect(Promise.resolve(dcs.dc1!.fed.rpc.call("KVS.Get", { Key: "where" }, opts("dc2")))).rejects.toBeInstanceOf(NoPathError);
  expect(Date.now() - started).toBeLessThan(1000);
  expect(dcs.dc1!.fed.datacenters().map((d) => d.datacenter)).toEqual(["dc1"]);
  expect(dcs.dc1!.fed.gauges().find((g) => g.labels.datacenter === "dc2")?.value).toBe(0);
  // dc1 keeps serving itself.
  expect(await dcs.dc1!.fed.rpc.call("KVS.Apply", kv("local", "ok"), opts("dc1"))).toBe(true);
  await dc2.nats.restart(0);
  // The responder's own connection and dc1's link both reconnect by themselves.
  const back = Date.now() + 15_000;
  let answer: unknown = null;
  while (Date.now() < back) {
    try {
      answer = await dcs.dc1!.fed.rpc.call("KVS.Get", { Key: "where" }, opts("dc2"));
      break;
    } catch {
      await Bun.sleep(100);
    }
  }
  expect(answer).not.toBeNull();
  expect(dcs.dc1!.fed.datacenters().map((d) => d.datacenter)).toEqual(["dc1", "dc2"]);
}, 30_000);
