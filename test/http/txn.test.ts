import { afterAll, describe, expect, test } from "bun:test";
import { createSession, enc, register, startHarness } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

interface KvResult {
  KV: { LockIndex: number; Key: string; Flags: number; Value: string | null; Session?: string; CreateIndex: number; ModifyIndex: number };
}
interface TxnBody {
  Results: Record<string, Record<string, unknown>>[] | null;
  Errors: { OpIndex: number; What: string }[] | null;
}

const kv = (Verb: string, Key: string, extra: Record<string, unknown> = {}) => ({ KV: { Verb, Key, ...extra } });

async function txn(ops: unknown, status = 200): Promise<TxnBody> {
  const res = await h.put("/v1/txn", typeof ops === "string" ? ops : JSON.stringify(ops));
  const text = await res.text();
  if (res.status !== status) throw new Error(`txn: expected ${status}, got ${res.status}: ${text}`);
  return JSON.parse(text) as TxnBody;
}

async function value(key: string): Promise<string | null> {
  const res = await h.get(`/v1/kv/${key}?raw`);
  return res.status === 404 ? null : await res.text();
}

describe("KV verbs", () => {
  test("set and get: write results carry Value null, get carries the value", async () => {
    const out = await txn([kv("set", "t/a", { Value: enc("one"), Flags: 7 }), kv("set", "t/b", { Value: enc("two") }), kv("get", "t/a")]);
    expect(out.Errors).toBeNull();
    expect(out.Results).toHaveLength(3);
    const [setA, setB, getA] = out.Results as unknown as KvResult[];
    expect(setA!.KV).toMatchObject({ Key: "t/a", Value: null, Flags: 7, LockIndex: 0 });
    expect(setB!.KV.Value).toBeNull();
    expect(getA!.KV).toMatchObject({ Key: "t/a", Value: enc("one"), Flags: 7 });
    expect(getA!.KV.ModifyIndex).toBe(setA!.KV.ModifyIndex);
    expect(setA!.KV.ModifyIndex).toBe(setB!.KV.ModifyIndex);
    expect(await value("t/a")).toBe("one");
  });

  test("uint64 flags above 2^53 survive a txn exactly", async () => {
    const res = await h.put("/v1/txn", `[{"KV":{"Verb":"set","Key":"t/flags","Value":"${enc("x")}","Flags":3304740253564472344}}]`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('"Flags":3304740253564472344');
    expect(await (await h.get("/v1/kv/t/flags")).text()).toContain('"Flags":3304740253564472344,');
  });

  test("cas: index 0 creates, the current index updates, a stale index is a 409 that rolls back every op", async () => {
    let out = await txn([kv("cas", "t/cas", { Value: enc("v1"), Index: 0 })]);
    const idx = (out.Results![0] as unknown as KvResult).KV.ModifyIndex;
    out = await txn([kv("cas", "t/cas", { Value: enc("v2"), Index: idx })]);
    expect(out.Errors).toBeNull();
    const before = h.server.lastIndex();
    const res = await h.put("/v1/txn", JSON.stringify([kv("set", "t/rolled-back", { Value: enc("no") }), kv("cas", "t/cas", { Value: enc("v3"), Index: idx })]));
    expect(res.status).toBe(409);
    expect(res.headers.get("Content-Type")).toStartWith("application/json");
    const text = await res.text();
    expect(text).toMatch(/^\{"Results":null,"Errors":\[\{"OpIndex":1,"What":".+"\}\]\}$/);
    expect((JSON.parse(text) as TxnBody).Errors![0]!.What).toContain("t/cas");
    expect(await value("t/rolled-back")).toBeNull();
    expect(await value("t/cas")).toBe("v2");
    expect(h.server.lastIndex()).toBeGreaterThanOrEqual(before);
  });

  test("lock, check-session and unlock with a session", async () => {
    const s = await createSession(h);
    let out = await txn([kv("lock", "t/lock", { Value: enc("held"), Session: s }), kv("check-session", "t/lock", { Session: s })]);
    expect(out.Errors).toBeNull();
    const locked = (out.Results![0] as unknown as KvResult).KV;
    expect(locked).toMatchObject({ Session: s, LockIndex: 1, Value: null });
    const other = await createSession(h);
    let res = await h.put("/v1/txn", JSON.stringify([kv("lock", "t/lock", { Value: enc("steal"), Session: other })]));
    expect(res.status).toBe(409);
    res = await h.put("/v1/txn", JSON.stringify([kv("check-session", "t/lock", { Session: other })]));
    expect(res.status).toBe(409);
    out = await txn([kv("unlock", "t/lock", { Value: enc("free"), Session: s })]);
    expect((out.Results![0] as unknown as KvResult).KV.Session).toBeUndefined();
    expect(await value("t/lock")).toBe("free");
  });

  test("get-tree returns every entry under the prefix with values", async () => {
    await txn([kv("set", "tree/a", { Value: enc("1") }), kv("set", "tree/b/c", { Value: enc("2") }), kv("set", "treex", { Value: enc("3") })]);
    const out = await txn([kv("get-tree", "tree/")]);
    const rows = (out.Results as unknown as KvResult[]).map((r) => [r.KV.Key, r.KV.Value]);
    expect(rows).toEqual([
      ["tree/a", enc("1")],
      ["tree/b/c", enc("2")],
    ]);
  });

  test("check-index and check-not-exists", async () => {
    const [e] = (await h.getJson<{ ModifyIndex: number }[]>("/v1/kv/tree/a"))!;
    let out = await txn([kv("check-index", "tree/a", { Index: e!.ModifyIndex }), kv("check-not-exists", "tree/none")]);
    expect(out.Errors).toBeNull();
    // check-not-exists yields no result; check-index yields the entry without its value.
    expect(out.Results).toHaveLength(1);
    expect((out.Results![0] as unknown as KvResult).KV).toMatchObject({ Key: "tree/a", Value: null });
    out = await txn([kv("check-index", "tree/a", { Index: e!.ModifyIndex + 100 })], 409);
    expect(out.Errors![0]!.OpIndex).toBe(0);
    out = await txn([kv("get", "tree/a"), kv("check-not-exists", "tree/a")], 409);
    expect(out.Results).toBeNull();
    expect(out.Errors![0]!.OpIndex).toBe(1);
  });

  test("get of a missing key is a 409", async () => {
    const out = await txn([kv("get", "nope/nope")], 409);
    expect(out.Errors).toEqual([{ OpIndex: 0, What: expect.stringContaining("nope/nope") }]);
  });

  test("delete, delete-cas and delete-tree; deletes yield no results", async () => {
    await txn([kv("set", "del/a", { Value: enc("1") }), kv("set", "del/b", { Value: enc("2") }), kv("set", "del/t/1", { Value: enc("3") }), kv("set", "del/t/2", { Value: enc("4") })]);
    const [b] = await h.getJson<{ ModifyIndex: number }[]>("/v1/kv/del/b");
    await txn([kv("delete-cas", "del/b", { Index: b!.ModifyIndex + 1 })], 409);
    expect(await value("del/b")).toBe("2");
    const out = await txn([kv("delete", "del/a"), kv("delete-cas", "del/b", { Index: b!.ModifyIndex }), kv("delete-tree", "del/t/")]);
    expect(out.Errors).toBeNull();
    expect(out.Results ?? []).toEqual([]);
    for (const k of ["del/a", "del/b", "del/t/1", "del/t/2"]) expect(await value(k)).toBeNull();
  });

  test("a read-only txn writes no log entry", async () => {
    const before = h.server.lastIndex();
    const out = await txn([kv("get", "tree/a"), kv("get-tree", "tree/"), kv("check-not-exists", "tree/zzz")]);
    expect(out.Errors).toBeNull();
    expect(out.Results).toHaveLength(3);
    expect(h.server.lastIndex()).toBe(before);
    await txn([kv("get", "missing/key")], 409);
    expect(h.server.lastIndex()).toBe(before);
  });

  test("unknown verbs and a missing key are 409 TxnErrors, and nothing is applied", async () => {
    const before = h.server.lastIndex();
    let out = await txn([kv("set", "t/never", { Value: enc("x") }), kv("frobnicate", "t/x")], 409);
    expect(out).toEqual({ Results: null, Errors: [{ OpIndex: 1, What: 'unknown KV verb "frobnicate"' }] });
    out = await txn([kv("set", "", { Value: enc("x") })], 409);
    expect(out.Errors).toEqual([{ OpIndex: 0, What: "Must provide key" }]);
    out = await txn([{ Node: { Verb: "explode", Node: { Node: "n" } } }], 409);
    expect(out.Errors).toEqual([{ OpIndex: 0, What: 'unknown Node verb "explode"' }]);
    expect(h.server.lastIndex()).toBe(before);
    expect(await value("t/never")).toBeNull();
  });

  test("lock during a lock-delay is refused before the log", async () => {
    const s = await createSession(h, { LockDelay: "10s" });
    await txn([kv("lock", "t/delayed", { Value: enc("x"), Session: s })]);
    await h.putJson(`/v1/session/destroy/${s}`);
    const next = await createSession(h);
    const out = await txn([kv("lock", "t/delayed", { Value: enc("y"), Session: next })], 409);
    expect(out.Errors).toEqual([{ OpIndex: 0, What: 'failed to lock key "t/delayed" due to lock delay' }]);
    h.clock.advance(10_001);
    await txn([kv("lock", "t/delayed", { Value: enc("y"), Session: next })]);
    expect(await value("t/delayed")).toBe("y");
  });

  test("lowercase field names are accepted", async () => {
    const out = await txn([{ kv: { verb: "set", key: "t/lower", value: enc("low") } }]);
    expect(out.Errors).toBeNull();
    expect(await value("t/lower")).toBe("low");
  });
});

describe("catalog verbs", () => {
  test("Node, Service and Check set/get/delete", async () => {
    let out = await txn([
      { Node: { Verb: "set", Node: { Node: "tx-node", Address: "10.8.0.1", Meta: { m: "1" } } } },
      { Service: { Verb: "set", Node: "tx-node", Service: { ID: "tx-svc", Service: "txsvc", Port: 8080, Tags: ["a"] } } },
      { Check: { Verb: "set", Check: { Node: "tx-node", CheckID: "tx-check", Name: "c", Status: "passing", ServiceID: "tx-svc" } } },
    ]);
    expect(out.Errors).toBeNull();
    expect(out.Results!.map((r) => Object.keys(r)[0])).toEqual(["Node", "Service", "Check"]);
    expect(out.Results![0]!.Node).toMatchObject({ Node: "tx-node", Address: "10.8.0.1", Datacenter: "dc1", Meta: { m: "1" } });
    expect(out.Results![1]!.Service).toMatchObject({ ID: "tx-svc", Service: "txsvc", Port: 8080 });
    expect(out.Results![2]!.Check).toMatchObject({ CheckID: "tx-check", ServiceName: "txsvc", Status: "passing" });
    const [row] = await h.getJson<{ Node: string; ServiceID: string }[]>("/v1/catalog/service/txsvc");
    expect(row).toMatchObject({ Node: "tx-node", ServiceID: "tx-svc" });

    const before = h.server.lastIndex();
    out = await txn([
      { Node: { Verb: "get", Node: { Node: "tx-node" } } },
      { Service: { Verb: "get", Node: "tx-node", Service: { ID: "tx-svc" } } },
      { Check: { Verb: "get", Check: { Node: "tx-node", CheckID: "tx-check" } } },
    ]);
    expect(out.Results!.map((r) => Object.keys(r)[0])).toEqual(["Node", "Service", "Check"]);
    expect(h.server.lastIndex()).toBe(before);

    out = await txn([{ Service: { Verb: "delete", Node: "tx-node", Service: { ID: "tx-svc" } } }]);
    expect(out.Errors).toBeNull();
    expect(await h.getJson("/v1/catalog/service/txsvc")).toEqual([]);
    await txn([{ Node: { Verb: "delete", Node: { Node: "tx-node" } } }]);
    expect((await h.getJson<{ Node: string }[]>("/v1/catalog/nodes")).map((n) => n.Node)).not.toContain("tx-node");
  });

  test("a failing catalog op rolls back the KV ops of the same txn", async () => {
    await register(h, { Node: "tx-n2", Address: "10.8.0.2" });
    const out = await txn(
      [kv("set", "t/with-catalog", { Value: enc("no") }), { Node: { Verb: "cas", Node: { Node: "tx-n2", Address: "10.8.0.3", ModifyIndex: 1 } } }],
      409,
    );
    expect(out.Errors![0]!.OpIndex).toBe(1);
    expect(await value("t/with-catalog")).toBeNull();
    const node = (await h.getJson<{ Node: { Address: string } }>("/v1/catalog/node/tx-n2")).Node;
    expect(node.Address).toBe("10.8.0.2");
  });
});

describe("limits and malformed bodies", () => {
  test("more than 128 ops is 413 and nothing is written", async () => {
    const ops = Array.from({ length: 129 }, (_, i) => kv("set", `many/${i}`, { Value: enc("x") }));
    const res = await h.put("/v1/txn", JSON.stringify(ops));
    expect(res.status).toBe(413);
    expect(await res.text()).toBe("Transaction contains too many operations (129 > 128)");
    expect(await value("many/0")).toBeNull();
    const ok = await txn(ops.slice(0, 128));
    expect(ok.Results).toHaveLength(128);
  });

  test("a value over the KV limit is 413 'is too large'", async () => {
    const small = await startHarness({ kvMaxValueSize: 1024, txnMaxReqLen: 64 * 1024 });
    try {
      const big = enc("x".repeat(1025));
      const res = await small.put("/v1/txn", JSON.stringify([kv("set", "big", { Value: big })]));
      expect(res.status).toBe(413);
      expect(await res.text()).toBe('Value for key "big" is too large (1025 > 1024 bytes)');
      expect((await small.get("/v1/kv/big")).status).toBe(404);
    } finally {
      await small.stop();
    }
  });

  test("a body over the txn limit is 413", async () => {
    const res = await h.put("/v1/txn", JSON.stringify([kv("set", "huge", { Value: enc("x".repeat(600 * 1024)) })]));
    expect(res.status).toBe(413);
    expect(await res.text()).toStartWith("Request body too large");
    expect(await value("huge")).toBeNull();
  });

  test("malformed bodies are 400", async () => {
    for (const body of ["{", '{"KV":{}}', "[1]", '[{"KV":{"Verb":"set","Key":"k","Value":"%%%"}}]', '[{"KV":{"Verb":"set","Key":7}}]', '[{"Bogus":{}}]']) {
      const before = h.server.lastIndex();
      const res = await h.put("/v1/txn", body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(h.server.lastIndex()).toBe(before);
    }
    for (const body of ["{", '[{"KV":{"Verb":"set","Key":7}}]', "[1]"]) {
      const res = await h.put("/v1/txn", body);
      expect(await res.text()).toStartWith("Failed to parse body: ");
    }
  });

  test("an empty list is a successful no-op", async () => {
    const res = await h.put("/v1/txn", "[]");
    expect(res.status).toBe(200);
  });
});
