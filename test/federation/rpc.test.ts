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
import { CallMux } from "../../federation/call_mux.ts";
import { rpcSubject } from "../../federation/subjects.ts";
import { decodeReply, encodeMessage, type ReplyFrame } from "../../federation/wire.ts";
import { startNatsCluster, type NatsCluster } from "../_nats.ts";
import { MemoryLog } from "../../src/log/mod.ts";
import { NoPathError, type RequestOptions } from "../../src/rpc/mod.ts";
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

test("malformed, mis-addressed and oversize requests are refused with an error answer", async () => {
  const nc = dcs.dc2!.nc;
  const enc = (text: string) => new TextEncoder().encode(text);
  const framed = (...texts: string[]) => {
    const parts = texts.map(enc);
    const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
    let at = 0;
    for (const p of parts) {
      new DataView(out.buffer).setUint32(at, p.length);
      out.set(p, at + 4);
      at += 4 + p.length;
    }
    return out;
  };
  const ask = async (body: Uint8Array) => {
    const frames = splitFrames((await nc.request(rpcSubject("dc2"), body, { timeout: 2000 })).data);
    if (typeof frames === "string") throw new Error(frames);
    return frames.map((f) => decodeReply(f));
  };
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
