/** Transactions: all-or-nothing apply, result shapes and Consul's error texts (state/txn.go). */
import { describe, expect, test } from "bun:test";
import { catalogRead, isReadOnlyTxn, kvGet, kvList, sessionGet, type TxnOp } from "../../src/state/mod.ts";
import {
  check,
  createSession,
  expectUnchanged,
  kvCmd,
  kvOp,
  NOW,
  registration,
  service,
  sessionBody,
  sessionDestroyCmd,
  set,
  storeWithNode,
  str,
  txn,
  txnCmd,
} from "./helpers.ts";

const S1 = "11111111-1111-1111-1111-111111111111";
const S2 = "22222222-2222-2222-2222-222222222222";

function kvStore() {
  const store = storeWithNode();
  createSession(store, 2, sessionBody(S1, "n1", { NodeChecks: ["serfHealth"] }));
  createSession(store, 3, sessionBody(S2, "n1"));
  set(store, 4, "a", "A");
  set(store, 5, "b", "B");
  store.apply(6, kvCmd("lock", "held", { value: "H", session: S1 }));
  return store;
}

describe("rollback", () => {
  test("one failing op rolls back the whole entry", () => {
    const store = kvStore();
    const r = expectUnchanged(
      store,
      7,
      txnCmd([kvOp("set", "new", { value: "x" }), kvOp("cas", "a", { value: "y", index: 1 }), kvOp("delete", "b"), kvOp("delete-tree", "")]),
    );
    expect(r).toEqual({ ok: true, value: { results: [], errors: [{ OpIndex: 1, What: 'failed to set key "a", index is stale' }] } });
    expect(kvGet(store.t, "new")).toEqual({ index: 6, value: null });
    expect(str(kvGet(store.t, "b").value!.Value)).toBe("B");
  });

  test("every failing op is reported with its OpIndex and Consul's text", () => {
    const store = kvStore();
    const ops: TxnOp[] = [
      kvOp("get", "missing"),
      kvOp("check-index", "a", { index: 5 }),
      kvOp("check-index", "missing", { index: 1 }),
      kvOp("check-session", "held", { session: S2 }),
      kvOp("check-session", "missing", { session: S2 }),
      kvOp("check-not-exists", "a"),
      kvOp("lock", "held", { session: S2 }),
      kvOp("unlock", "held", { session: S2 }),
      kvOp("delete-cas", "a", { index: 99 }),
      kvOp("lock", "x", { session: "bogus" }),
      kvOp("lock", "x"),
      kvOp("bogus" as never, "x"),
      kvOp("set", "fine", { value: "ok" }),
    ];
    const r = expectUnchanged(store, 7, txnCmd(ops));
    expect(r).toEqual({
      ok: true,
      value: {
        results: [],
        errors: [
          { OpIndex: 0, What: 'key "missing" doesn\'t exist' },
          { OpIndex: 1, What: 'failed index check for key "a", current modify index 4 != 5' },
          { OpIndex: 2, What: 'failed to check index, key "missing" doesn\'t exist' },
          { OpIndex: 3, What: `failed session check for key "held", current session "${S1}" != "${S2}"` },
          { OpIndex: 4, What: 'failed to check session, key "missing" doesn\'t exist' },
          { OpIndex: 5, What: 'key "a" exists' },
          { OpIndex: 6, What: 'failed to lock key "held", lock is already held' },
          { OpIndex: 7, What: 'failed to unlock key "held", lock isn\'t held, or is held by another session' },
          { OpIndex: 8, What: 'failed to delete key "a", index is stale' },
          { OpIndex: 9, What: 'invalid session "bogus"' },
          { OpIndex: 10, What: "missing session" },
          { OpIndex: 11, What: 'unknown KV verb "bogus"' },
        ],
      },
    });
  });

  test("a lock inside a lock-delay fails with the lock-delay text", () => {
    const store = kvStore();
    store.apply(7, sessionDestroyCmd(S1, NOW));
    const r = expectUnchanged(store, 8, txnCmd([kvOp("lock", "held", { session: S2 })], NOW + 1_000));
    expect(r).toEqual({ ok: true, value: { results: [], errors: [{ OpIndex: 0, What: 'failed to lock key "held" due to lock delay' }] } });
    expect(txn(store, 9, [kvOp("lock", "held", { session: S2 })], NOW + 15_000).errors).toEqual([]);
  });

  test("a rolled-back delete of a locked key leaves it held, so its session still releases it", () => {
    const store = kvStore();
    expectUnchanged(store, 7, txnCmd([kvOp("delete", "held"), kvOp("get", "missing")]));
    expect(store.t.keysBySession.get(S1)).toEqual(new Set(["held"]));
    expect(store.apply(8, sessionDestroyCmd(S1))).toEqual({ ok: true, value: true });
    expect(kvGet(store.t, "held").value).toMatchObject({ Session: "", ModifyIndex: 8 });
  });

  test("a rolled-back catalog op leaves the catalog as it was", () => {
    const store = kvStore();
    const r = expectUnchanged(
      store,
      7,
      txnCmd([
        { Node: { Verb: "set", Node: registration("n9"), Index: 0 } },
        { Service: { Verb: "set", Node: "n9", Service: service("s1", "svc"), Index: 0 } },
        { Check: { Verb: "delete", Check: check("n1", "serfHealth"), Index: 0 } },
        { Service: { Verb: "set", Node: "ghost", Service: service("s2", "svc"), Index: 0 } },
      ]),
    );
    expect(r).toEqual({ ok: true, value: { results: [], errors: [{ OpIndex: 3, What: "Missing node registration" }] } });
    expect(catalogRead.nodeWithServices(store.t, "n9").value).toBeNull();
    expect(catalogRead.nodeChecks(store.t, "n1").value.map((c) => c.CheckID)).toEqual(["serfHealth"]);
    // Deleting serfHealth had destroyed S1 and released its lock; both are back.
    expect(sessionGet(store.t, S1).value.length).toBe(1);
    expect(kvGet(store.t, "held").value?.Session).toBe(S1);
    expect(store.t.sessionsByCheck.get("n1\u0000serfHealth")).toEqual(new Set([S1]));
  });
});

describe("results", () => {
  test("writes return the entry with its value blanked; reads keep values; deletes return nothing", () => {
    const store = kvStore();
    const out = txn(store, 7, [
      kvOp("set", "c", { value: "C", flags: 7n }),
      kvOp("get", "a"),
      kvOp("cas", "b", { value: "B2", index: 5 }),
      kvOp("lock", "l", { value: "L", session: S2 }),
      kvOp("unlock", "held", { value: "H2", session: S1 }),
      kvOp("check-index", "a", { index: 4 }),
      kvOp("check-session", "l", { session: S2 }),
      kvOp("check-not-exists", "zzz"),
      kvOp("get-tree", "a"),
      kvOp("get-or-empty", "a"),
      kvOp("get-or-empty", "nothing", { flags: 3n }),
      kvOp("delete", "b"),
      kvOp("delete-cas", "c", { index: 7 }),
      kvOp("delete-tree", "zzz/"),
    ]);
    expect(out.errors).toEqual([]);
    const kv = out.results.map((r) => ("KV" in r ? r.KV : null));
    expect(kv.map((e) => e?.Key)).toEqual(["c", "a", "b", "l", "held", "a", "l", "a", "a", "nothing"]);
    expect(kv.map((e) => str(e?.Value))).toEqual([null, "A", null, null, null, null, null, "A", "A", null]);
    expect(kv[0]).toMatchObject({ Flags: 7n, CreateIndex: 7, ModifyIndex: 7 });
    expect(kv[2]).toMatchObject({ CreateIndex: 5, ModifyIndex: 7 });
    expect(kv[3]).toMatchObject({ Session: S2, LockIndex: 1 });
    expect(kv[4]).toMatchObject({ Session: "", LockIndex: 1, ModifyIndex: 7 });
    expect(kv[9]).toMatchObject({ Key: "nothing", Flags: 3n, CreateIndex: 0, ModifyIndex: 0, LockIndex: 0 });
    // The stored values were not blanked by the results.
    expect(str(kvGet(store.t, "l").value!.Value)).toBe("L");
    expect(kvGet(store.t, "b").value).toBeNull();
    expect(kvGet(store.t, "c").value).toBeNull();
    expect(kvGet(store.t, "a").index).toBe(7);
  });

  test("an unchanged set reports the existing ModifyIndex", () => {
    const store = kvStore();
    const out = txn(store, 7, [kvOp("set", "a", { value: "A" })]);
    expect(out.results).toMatchObject([{ KV: { Key: "a", ModifyIndex: 4, Value: null } }]);
    expect(kvList(store.t, "").index).toBe(6);
  });

  test("node, service and check ops", () => {
    const store = kvStore();
    const out = txn(store, 7, [
      { Node: { Verb: "set", Node: registration("n2", { Address: "10.0.0.2" }), Index: 0 } },
      { Service: { Verb: "set", Node: "n2", Service: service("web2", "web"), Index: 0 } },
      { Check: { Verb: "set", Check: check("n2", "c2", { ServiceID: "web2" }), Index: 0 } },
      { Node: { Verb: "get", Node: registration("n1"), Index: 0 } },
      { Service: { Verb: "get", Node: "n2", Service: service("web2", ""), Index: 0 } },
      { Check: { Verb: "get", Check: check("n2", "c2"), Index: 0 } },
    ]);
    expect(out.errors).toEqual([]);
    expect(out.results).toMatchObject([
      { Node: { Node: "n2", Address: "10.0.0.2", CreateIndex: 7, ModifyIndex: 7 } },
      { Service: { ID: "web2", Service: "web", CreateIndex: 7 } },
      { Check: { CheckID: "c2", ServiceName: "web", CreateIndex: 7 } },
      { Node: { Node: "n1", CreateIndex: 1 } },
      { Service: { ID: "web2" } },
      { Check: { CheckID: "c2" } },
    ]);
    expect(catalogRead.serviceNodes(store.t, "web").index).toBe(7);

    const bad = expectUnchanged(
      store,
      8,
      txnCmd([
        { Node: { Verb: "cas", Node: registration("n2", { Address: "x" }), Index: 3 } },
        { Node: { Verb: "cas", Node: registration("n2"), Index: 0 } },
        { Node: { Verb: "delete-cas", Node: registration("n2"), Index: 3 } },
        { Node: { Verb: "get", Node: registration("nope"), Index: 0 } },
        { Service: { Verb: "cas", Node: "n2", Service: service("web2", "web"), Index: 3 } },
        { Service: { Verb: "delete-cas", Node: "n2", Service: service("web2", "web"), Index: 3 } },
        { Service: { Verb: "get", Node: "n2", Service: service("nope", ""), Index: 0 } },
        { Check: { Verb: "cas", Check: check("n2", "c2"), Index: 3 } },
        { Check: { Verb: "delete-cas", Check: check("n2", "c2"), Index: 3 } },
        { Check: { Verb: "get", Check: check("n2", "nope"), Index: 0 } },
        { Check: { Verb: "set", Check: check("n2", "c3", { ServiceID: "nope" }), Index: 0 } },
      ]),
    );
    expect(bad.ok && typeof bad.value === "object" && bad.value !== null && "errors" in bad.value ? bad.value.errors : null).toEqual([
      { OpIndex: 0, What: 'failed to set node "n2", index is stale' },
      { OpIndex: 1, What: 'failed to set node "n2", index is stale' },
      { OpIndex: 2, What: 'failed to delete node "n2", index is stale' },
      { OpIndex: 3, What: 'node "nope" doesn\'t exist' },
      { OpIndex: 4, What: 'failed to set service "web2" on node "n2", index is stale' },
      { OpIndex: 5, What: 'failed to delete service "web2" on node "n2", index is stale' },
      { OpIndex: 6, What: 'service "nope" on node "n2" doesn\'t exist' },
      { OpIndex: 7, What: 'failed to set check "c2" on node "n2", index is stale' },
      { OpIndex: 8, What: 'failed to delete check "c2" on node "n2", index is stale' },
      { OpIndex: 9, What: 'check "nope" on node "n2" doesn\'t exist' },
      { OpIndex: 10, What: "Missing service registration" },
    ]);

    const del = txn(store, 9, [
      { Check: { Verb: "delete-cas", Check: check("n2", "c2"), Index: 7 } },
      { Service: { Verb: "delete-cas", Node: "n2", Service: service("web2", "web"), Index: 7 } },
      { Node: { Verb: "delete", Node: registration("n2"), Index: 0 } },
    ]);
    expect(del).toEqual({ results: [], errors: [] });
    expect(catalogRead.nodeWithServices(store.t, "n2").value).toBeNull();
  });
});

describe("read-only transactions", () => {
  test("readTxn answers from current state and writes nothing", () => {
    const store = kvStore();
    const ops = [kvOp("get", "a"), kvOp("get-tree", ""), kvOp("check-index", "b", { index: 5 })];
    expect(isReadOnlyTxn(ops)).toBe(true);
    const before = store.snapshot();
    const out = store.readTxn(ops);
    expect(out.errors).toEqual([]);
    expect(out.results.map((r) => ("KV" in r ? [r.KV.Key, str(r.KV.Value)] : null))).toEqual([
      ["a", "A"],
      ["a", "A"],
      ["b", "B"],
      ["held", "H"],
      ["b", null],
    ]);
    expect(store.snapshot()).toEqual(before);
    expect(store.lastApplied).toBe(6);
  });

  test("readTxn reports failures like a write transaction", () => {
    const store = kvStore();
    expect(store.readTxn([kvOp("get", "a"), kvOp("get", "nope")])).toEqual({ results: [], errors: [{ OpIndex: 1, What: 'key "nope" doesn\'t exist' }] });
  });

  test("a transaction with any write verb is not read-only", () => {
    expect(isReadOnlyTxn([kvOp("get", "a"), kvOp("set", "b")])).toBe(false);
    expect(isReadOnlyTxn([{ Node: { Verb: "get", Node: registration("n"), Index: 0 } }])).toBe(true);
    expect(isReadOnlyTxn([{ Node: { Verb: "delete", Node: registration("n"), Index: 0 } }])).toBe(false);
  });
});
