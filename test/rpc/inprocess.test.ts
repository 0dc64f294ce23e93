import { afterAll, beforeAll, expect, test } from "bun:test";
import { MemoryLog } from "../../src/log/mod.ts";
import { defaultOptions, inProcessRpc, isPromise, NoPathError, NotFoundError, type Rpc } from "../../src/rpc/mod.ts";
import { Server } from "../../src/server/mod.ts";

let server: Server;
let rpc: Rpc;
const o = defaultOptions("dc1");

beforeAll(async () => {
  server = new Server({ datacenter: "dc1", nodeName: "s1", nodeId: "00000000-0000-0000-0000-000000000001", advertiseAddr: "127.0.0.1", serverPort: 8300, log: new MemoryLog() });
  await server.start();
  rpc = inProcessRpc(server);
});
afterAll(() => server.stop());

test("a non-blocking read answers synchronously, without a promise", async () => {
  await rpc.call("KVS.Apply", { Op: "set", Entry: { Key: "a", Value: btoa("1"), Flags: "0", Session: "", ModifyIndex: 0 } }, o);
  const r = rpc.call("KVS.Get", { Key: "a" }, o);
  expect(isPromise(r)).toBe(false);
  if (isPromise(r)) throw new Error("unreachable");
  expect(new TextDecoder().decode(r.value!.Value!)).toBe("1");
  expect(r.index).toBe(server.lastIndex());
});

test("a blocking read parks until the index passes and then answers with the new value", async () => {
  const before = server.lastIndex();
  const r = rpc.call("KVS.Get", { Key: "b" }, { ...o, minIndex: before, waitMs: 5000 });
  expect(isPromise(r)).toBe(true);
  let done = false;
  void Promise.resolve(r).then(() => (done = true));
  await Bun.sleep(20);
  expect(done).toBe(false);
  await rpc.call("KVS.Apply", { Op: "set", Entry: { Key: "b", Value: btoa("2"), Flags: "0", Session: "", ModifyIndex: 0 } }, o);
  const res = await r;
  expect(res.index).toBeGreaterThan(before);
  expect(res.value?.Key).toBe("b");
});

test("cas reports whether it took effect", async () => {
  const idx = (await rpc.call("KVS.Get", { Key: "a" }, o)).value!.ModifyIndex;
  expect(await rpc.call("KVS.Apply", { Op: "cas", Entry: { Key: "a", Value: null, Flags: "0", Session: "", ModifyIndex: idx + 100 } }, o)).toBe(false);
  expect(await rpc.call("KVS.Apply", { Op: "cas", Entry: { Key: "a", Value: null, Flags: "0", Session: "", ModifyIndex: idx } }, o)).toBe(true);
});

test("another datacenter has no path; an unknown session does not renew", () => {
  expect(() => rpc.call("KVS.Get", { Key: "a" }, defaultOptions("dc9"))).toThrow(NoPathError);
  expect(() => rpc.call("Session.Renew", { SessionID: "nope" }, o)).toThrow(NotFoundError);
});

test("Session.Apply create picks an ID on the server; the session is readable", async () => {
  const id = await rpc.call(
    "Session.Apply",
    { Op: "create", Session: { ID: "", Name: "x", Node: "s1", LockDelayMs: 0, Behavior: "release", TTL: "", NodeChecks: ["serfHealth"], ServiceChecks: [] } },
    o,
  );
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  const got = await rpc.call("Session.Get", { SessionID: id }, o);
  expect(got.value.map((s) => s.Name)).toEqual(["x"]);
});
