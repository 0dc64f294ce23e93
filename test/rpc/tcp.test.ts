import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect, createServer, type Server as NetServer } from "node:net";
import { MemoryLog } from "../../src/log/mod.ts";
import {
  BadRequestError,
  defaultOptions,
  listenRpc,
  NoServersError,
  NotFoundError,
  type RpcListener,
  ServerRouter,
  staticServers,
  TransportError,
} from "../../src/rpc/mod.ts";
import { RPC_MAGIC } from "../../src/rpc/codec.ts";
import { ApplyError, Server } from "../../src/server/mod.ts";

const o = defaultOptions("dc1");
const enc = (s: string) => btoa(s);

async function startServer(name: string): Promise<{ server: Server; rpc: RpcListener }> {
  const server = new Server({ datacenter: "dc1", nodeName: name, nodeId: crypto.randomUUID(), advertiseAddr: "127.0.0.1", serverPort: 0, log: new MemoryLog() });
  await server.start();
  const rpc = await listenRpc({ host: "127.0.0.1", port: 0, server });
  return { server, rpc };
}

let a: { server: Server; rpc: RpcListener };
let b: { server: Server; rpc: RpcListener };

beforeAll(async () => {
  a = await startServer("a");
  b = await startServer("b");
});
afterAll(async () => {
  for (const s of [a, b]) {
    await s.rpc.stop();
    await s.server.stop();
  }
});

const routerTo = (...ports: number[]) =>
  new ServerRouter({ source: staticServers(ports.map((port, i) => ({ name: `s${i}`, host: "127.0.0.1", port }))), random: () => 0.999 });

test("KV set and get over the RPC port keep bytes, uint64 flags and NUL-led strings exactly", async () => {
  const r = routerTo(a.rpc.port);
  const key = "\u0000weird/\u0000b";
  const value = new Uint8Array([0, 1, 2, 255, 254]);
  let b64 = "";
  for (const x of value) b64 += String.fromCharCode(x);
  expect(await r.call("KVS.Apply", { Op: "set", Entry: { Key: key, Value: btoa(b64), Flags: "18446744073709551615", Session: "", ModifyIndex: 0 } }, o)).toBe(true);
  const got = await r.call("KVS.Get", { Key: key }, o);
  expect(got.value?.Key).toBe(key);
  expect(got.value?.Flags).toBe(18446744073709551615n);
  expect([...got.value!.Value!]).toEqual([...value]);
  expect(got.index).toBe(a.server.lastIndex());
  r.close();
});

test("a blocking read over the port parks until a write, and many calls share one connection", async () => {
  const r = routerTo(a.rpc.port);
  const start = (await r.call("KVS.Get", { Key: "blk" }, o)).index;
  const parked = r.call("KVS.Get", { Key: "blk" }, { ...o, minIndex: start, waitMs: 10_000 });
  // Calls behind the parked one are answered meanwhile.
  const others = await Promise.all(Array.from({ length: 20 }, () => r.call("Status.Ping", {}, o)));
  expect(others.every((x) => x === true)).toBe(true);
  await r.call("KVS.Apply", { Op: "set", Entry: { Key: "blk", Value: enc("v"), Flags: "0", Session: "", ModifyIndex: 0 } }, o);
  const woke = await parked;
  expect(woke.index).toBeGreaterThan(start);
  expect(woke.value?.Key).toBe("blk");
  expect(a.rpc.stats.connections).toBeGreaterThanOrEqual(1);
  r.close();
});

test("a retired connection finishes its blocking read while new calls dial a new connection", async () => {
  const r = routerTo(a.rpc.port);
  const start = (await r.call("KVS.Get", { Key: "retire" }, o)).index;
  const before = a.rpc.stats.connections;
  const parked = r.call("KVS.Get", { Key: "retire" }, { ...o, minIndex: start, waitMs: 10_000 });
  r.retire();
  await r.call("KVS.Apply", { Op: "set", Entry: { Key: "retire", Value: enc("v"), Flags: "0", Session: "", ModifyIndex: 0 } }, o);
  expect(a.rpc.stats.connections).toBe(before + 1);
  expect((await parked).value?.Key).toBe("retire");
  // Another call reuses the new connection.
  expect(await r.call("Status.Ping", {}, o)).toBe(true);
  expect(a.rpc.stats.connections).toBe(before + 1);
  r.close();
});

test("server errors come back as their own classes, with Consul's client-side prefix where Consul has it", async () => {
  const r = routerTo(a.rpc.port);
  const err = await r
    .call("KVS.Apply", { Op: "lock", Entry: { Key: "l", Value: null, Flags: "0", Session: "no-such-session", ModifyIndex: 0 } }, o)
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplyError);
  expect((err as Error).message).toMatch(/^rpc error making call: invalid session/);
  const nf = await r.call("Session.Renew", { SessionID: "nope" }, o).catch((e: unknown) => e);
  expect(nf).toBeInstanceOf(NotFoundError);
  expect((nf as Error).message).toBe("Session id 'nope' not found");
  const bad = await r.call("KVS.Apply", { Op: "set", Entry: { Key: 5 } } as never, o).catch((e: unknown) => e);
  expect(bad).toBeInstanceOf(BadRequestError);
  expect((bad as Error).message).toContain("Entry.Key must be a string");
  expect((await r.call("KVS.Get", { Key: 5 } as never, o).catch((e: unknown) => e)) instanceof BadRequestError).toBe(true);
  r.close();
});

test("bad peers are dropped and counted; the port keeps serving", async () => {
  const refusedBefore = a.rpc.stats.refused;
  const closed = (bytes: Uint8Array) =>
    new Promise<void>((resolve) => {
      const s = connect({ host: "127.0.0.1", port: a.rpc.port }, () => s.write(bytes));
      s.on("error", () => {});
      s.on("close", () => resolve());
    });
  await closed(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
  const huge = new Uint8Array(RPC_MAGIC.length + 4);
  huge.set(RPC_MAGIC);
  new DataView(huge.buffer).setUint32(RPC_MAGIC.length, 0xffffffff);
  await closed(huge);
  const junk = new Uint8Array(RPC_MAGIC.length + 4 + 3);
  junk.set(RPC_MAGIC);
  new DataView(junk.buffer).setUint32(RPC_MAGIC.length, 3);
  junk.set(new TextEncoder().encode("{{{"), RPC_MAGIC.length + 4);
  await closed(junk);
  expect(a.rpc.stats.refused - refusedBefore).toBe(3);
  const r = routerTo(a.rpc.port);
  expect(await r.call("Status.Ping", {}, o)).toBe(true);
  r.close();
});

test("no servers: Consul's error; a dead server is skipped for the next one", async () => {
  await expect(new ServerRouter({ source: staticServers([]) }).call("Status.Ping", {}, o)).rejects.toBeInstanceOf(NoServersError);
  const dead = createServer();
  await new Promise<void>((res) => dead.listen(0, "127.0.0.1", () => res()));
  const deadPort = (dead.address() as { port: number }).port;
  await new Promise<void>((res) => dead.close(() => res()));
  const r = routerTo(deadPort, b.rpc.port);
  expect(await r.call("Status.Leader", {}, o)).toBe(`127.0.0.1:0`);
  expect(r.failovers).toBe(1);
  expect(r.current()?.port).toBe(b.rpc.port);
  r.close();
});

/** A server that takes one request and then hangs up without answering. */
async function hangUpServer(): Promise<{ port: number; net: NetServer; seen: () => number }> {
  let seen = 0;
  const net = createServer((s) => {
    s.on("data", () => {
      seen++;
      s.destroy();
    });
  });
  await new Promise<void>((res) => net.listen(0, "127.0.0.1", () => res()));
  return { port: (net.address() as { port: number }).port, net, seen: () => seen };
}

test("a read cut off mid-call fails over; a write that went out is not resent", async () => {
  const hang = await hangUpServer();
  const r = routerTo(hang.port, b.rpc.port);
  await b.server.mustWrite({ Type: 2, Now: Date.now(), Op: "set", Entry: { Key: "fo", Value: enc("x"), Flags: "0", Session: "", ModifyIndex: 0 } });
  const got = await r.call("KVS.Get", { Key: "fo" }, o);
  expect(got.value?.Key).toBe("fo");
  expect(r.failovers).toBe(1);
  r.close();
  const w = routerTo(hang.port, b.rpc.port);
  const before = b.server.lastIndex();
  const err = await w.call("KVS.Apply", { Op: "set", Entry: { Key: "once", Value: enc("x"), Flags: "0", Session: "", ModifyIndex: 0 } }, o).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TransportError);
  expect((err as TransportError).sent).toBe(true);
  expect(b.server.lastIndex()).toBe(before);
  w.close();
  await new Promise<void>((res) => hang.net.close(() => res()));
});

test("a blocking read in flight on a server that goes away is answered by the next", async () => {
  const c = await startServer("c");
  const r = routerTo(c.rpc.port, b.rpc.port);
  await r.call("KVS.Get", { Key: "moved" }, o);
  expect(r.current()?.port).toBe(c.rpc.port);
  const parked = r.call("KVS.Get", { Key: "moved" }, { ...o, minIndex: b.server.lastIndex() + 1000, waitMs: 300 });
  await Bun.sleep(30);
  await c.rpc.stop();
  await c.server.stop();
  const res = await parked;
  // Answered by b (whose KV index c never had), after b's wait ran out.
  expect(res.index).toBe((await r.call("KVS.Get", { Key: "moved" }, o)).index);
  expect(res.index).toBeGreaterThan(0);
  expect(r.current()?.port).toBe(b.rpc.port);
  r.close();
});
