/** Sessions: creation checks, invalidation and lock-delay (Consul's state/session.go). */
import { describe, expect, test } from "bun:test";
import { kvGet, kvList, sessionGet, sessionList, sessionsOfNode, StateStore } from "../../src/state/mod.ts";
import {
  check,
  createSession,
  deregisterCmd,
  expectUnchanged,
  kvCmd,
  NOW,
  register,
  registration,
  service,
  sessionBody,
  sessionCreateCmd,
  sessionDestroyCmd,
  storeWithNode,
} from "./helpers.ts";

const S1 = "11111111-1111-1111-1111-111111111111";
const S2 = "22222222-2222-2222-2222-222222222222";

describe("create", () => {
  test("requires the node", () => {
    const store = new StateStore();
    const r = expectUnchanged(store, 1, sessionCreateCmd(sessionBody(S1, "ghost")));
    expect(r).toEqual({ ok: false, error: "Missing node registration" });
    expect(sessionList(store.t)).toEqual({ index: 0, value: [] });
  });

  test("requires every named check to exist and not be critical", () => {
    const store = storeWithNode();
    register(store, 2, registration("n1", { Checks: [check("n1", "bad", { Status: "critical" }), check("n1", "meh", { Status: "warning" })] }));
    expect(expectUnchanged(store, 3, sessionCreateCmd(sessionBody(S1, "n1", { NodeChecks: ["serfHealth", "nope"] })))).toEqual({
      ok: false,
      error: "Missing check 'nope' registration",
    });
    expect(expectUnchanged(store, 4, sessionCreateCmd(sessionBody(S1, "n1", { NodeChecks: ["bad"] })))).toEqual({
      ok: false,
      error: "Check 'bad' is in critical state",
    });
    expect(expectUnchanged(store, 5, sessionCreateCmd(sessionBody(S1, "n1", { ServiceChecks: [{ ID: "nope", Namespace: "" }] })))).toEqual({
      ok: false,
      error: "Missing check 'nope' registration",
    });
    // A warning check is acceptable.
    createSession(store, 6, sessionBody(S1, "n1", { NodeChecks: ["serfHealth", "meh"] }));
    expect(sessionGet(store.t, S1)).toMatchObject({ index: 6, value: [{ ID: S1, Node: "n1", CreateIndex: 6, ModifyIndex: 6, NodeChecks: ["serfHealth", "meh"] }] });
  });

  test("a check of another node does not count", () => {
    const store = storeWithNode();
    register(store, 2, registration("n2"));
    expect(expectUnchanged(store, 3, sessionCreateCmd(sessionBody(S1, "n2", { NodeChecks: ["serfHealth"] })))).toEqual({
      ok: false,
      error: "Missing check 'serfHealth' registration",
    });
  });

  test("reads: by id, list and by node, with the sessions table index", () => {
    const store = storeWithNode();
    register(store, 2, registration("n2"));
    createSession(store, 3, sessionBody(S2, "n1"));
    createSession(store, 4, sessionBody(S1, "n2"));
    expect(sessionList(store.t).index).toBe(4);
    expect(sessionList(store.t).value.map((s) => s.ID)).toEqual([S1, S2]);
    expect(sessionsOfNode(store.t, "n1")).toMatchObject({ index: 4, value: [{ ID: S2 }] });
    expect(sessionGet(store.t, "nope")).toEqual({ index: 4, value: [] });
  });
});

describe("destroy", () => {
  test("an unknown session is destroyed idempotently", () => {
    const store = storeWithNode();
    expect(expectUnchanged(store, 2, sessionDestroyCmd("nope"))).toEqual({ ok: true, value: true });
  });

  test("behavior release clears Session on held keys and keeps them", () => {
    const store = storeWithNode();
    createSession(store, 2, sessionBody(S1, "n1"));
    store.apply(3, kvCmd("lock", "a", { value: "1", session: S1 }));
    store.apply(4, kvCmd("lock", "b", { value: "2", session: S1 }));
    expect(store.apply(5, sessionDestroyCmd(S1))).toEqual({ ok: true, value: true });
    expect(kvGet(store.t, "a").value).toMatchObject({ Session: "", LockIndex: 1, CreateIndex: 3, ModifyIndex: 5 });
    expect(kvGet(store.t, "b").value).toMatchObject({ Session: "", LockIndex: 1, ModifyIndex: 5 });
    expect(sessionGet(store.t, S1)).toEqual({ index: 5, value: [] });
    expect(store.t.keysBySession.has(S1)).toBe(false);
  });

  test("behavior delete deletes held keys, leaving tombstones", () => {
    const store = storeWithNode();
    createSession(store, 2, sessionBody(S1, "n1", { Behavior: "delete" }));
    store.apply(3, kvCmd("lock", "a/1", { value: "1", session: S1 }));
    store.apply(4, kvCmd("set", "a/2", { value: "2" }));
    store.apply(5, sessionDestroyCmd(S1));
    expect(kvGet(store.t, "a/1")).toEqual({ index: 5, value: null });
    expect(kvList(store.t, "a/")).toMatchObject({ index: 5, value: [{ Key: "a/2" }] });
  });
});

describe("lock-delay", () => {
  function invalidated(lockDelayMs: number) {
    const store = storeWithNode();
    createSession(store, 2, sessionBody(S1, "n1", { LockDelayMs: lockDelayMs }));
    createSession(store, 3, sessionBody(S2, "n1"));
    store.apply(4, kvCmd("lock", "k", { value: "v", session: S1, now: NOW }));
    store.apply(5, sessionDestroyCmd(S1, NOW + 1_000));
    return store;
  }

  test("an acquire before Now+delay returns false; at the deadline it succeeds", () => {
    const store = invalidated(10_000);
    const r = expectUnchanged(store, 6, kvCmd("lock", "k", { value: "x", session: S2, now: NOW + 1_000 + 9_999 }));
    expect(r).toEqual({ ok: true, value: false });
    expect(store.apply(7, kvCmd("lock", "k", { value: "x", session: S2, now: NOW + 1_000 + 10_000 }))).toEqual({ ok: true, value: true });
    expect(kvGet(store.t, "k").value).toMatchObject({ Session: S2, LockIndex: 2 });
  });

  test("lock-delay blocks only acquire, not a plain write", () => {
    const store = invalidated(10_000);
    expect(store.apply(6, kvCmd("set", "k", { value: "w", now: NOW + 2_000 }))).toEqual({ ok: true, value: true });
  });

  test("lock-delay applies to the key even after a behavior=delete session", () => {
    const store = storeWithNode();
    createSession(store, 2, sessionBody(S1, "n1", { Behavior: "delete", LockDelayMs: 5_000 }));
    createSession(store, 3, sessionBody(S2, "n1"));
    store.apply(4, kvCmd("lock", "k", { value: "v", session: S1 }));
    store.apply(5, sessionDestroyCmd(S1, NOW));
    expect(store.apply(6, kvCmd("lock", "k", { value: "x", session: S2, now: NOW + 4_999 }))).toEqual({ ok: true, value: false });
    expect(store.apply(7, kvCmd("lock", "k", { value: "x", session: S2, now: NOW + 5_000 }))).toEqual({ ok: true, value: true });
  });

  test("a zero lock-delay allows an immediate acquire", () => {
    const store = invalidated(0);
    expect(store.apply(6, kvCmd("lock", "k", { value: "x", session: S2, now: NOW + 1_000 }))).toEqual({ ok: true, value: true });
  });

  test("lock-delay is capped at 60s (structs.MaxLockDelay)", () => {
    const store = invalidated(120_000);
    expect(store.apply(6, kvCmd("lock", "k", { value: "x", session: S2, now: NOW + 1_000 + 59_999 }))).toEqual({ ok: true, value: false });
    expect(store.apply(7, kvCmd("lock", "k", { value: "x", session: S2, now: NOW + 1_000 + 60_000 }))).toEqual({ ok: true, value: true });
  });
});

describe("invalidation", () => {
  function withLock(extra: Parameters<typeof sessionBody>[2] = {}) {
    const store = new StateStore();
    register(
      store,
      1,
      registration("n1", {
        Service: service("web1", "web"),
        Checks: [check("n1", "serfHealth"), check("n1", "web-check", { ServiceID: "web1" })],
      }),
    );
    createSession(store, 2, sessionBody(S1, "n1", { NodeChecks: ["serfHealth"], LockDelayMs: 0, ...extra }));
    createSession(store, 3, sessionBody(S2, "n1", { NodeChecks: [] }));
    expect(store.apply(4, kvCmd("lock", "k", { value: "v", session: S1 }))).toEqual({ ok: true, value: true });
    return store;
  }

  test("a check turning critical destroys the sessions that name it", () => {
    const store = withLock();
    register(store, 5, registration("n1", { Checks: [check("n1", "serfHealth", { Status: "warning" })] }));
    expect(sessionGet(store.t, S1).value.length).toBe(1);
    register(store, 6, registration("n1", { Checks: [check("n1", "serfHealth", { Status: "critical" })] }));
    expect(sessionGet(store.t, S1)).toEqual({ index: 6, value: [] });
    expect(sessionGet(store.t, S2).value.length).toBe(1);
    expect(kvGet(store.t, "k").value).toMatchObject({ Session: "", ModifyIndex: 6 });
  });

  test("a check registered with an empty status is critical and invalidates", () => {
    const store = withLock();
    register(store, 5, registration("n1", { Checks: [check("n1", "serfHealth", { Status: "" })] }));
    expect(sessionGet(store.t, S1).value).toEqual([]);
  });

  test("deleting a named check destroys the session", () => {
    const store = withLock();
    expect(store.apply(5, deregisterCmd("n1", "", "serfHealth"))).toEqual({ ok: true, value: null });
    expect(sessionGet(store.t, S1)).toEqual({ index: 5, value: [] });
    expect(kvGet(store.t, "k").value?.Session).toBe("");
  });

  test("a service check named by the session invalidates it when the service goes", () => {
    const store = withLock({ NodeChecks: [], ServiceChecks: [{ ID: "web-check", Namespace: "" }] });
    expect(store.apply(5, deregisterCmd("n1", "web1"))).toEqual({ ok: true, value: null });
    expect(sessionGet(store.t, S1).value).toEqual([]);
    expect(sessionGet(store.t, S2).value.length).toBe(1);
  });

  test("deregistering the node destroys all its sessions", () => {
    const store = withLock();
    store.apply(5, kvCmd("lock", "k2", { value: "v", session: S2 }));
    expect(store.apply(6, deregisterCmd("n1"))).toEqual({ ok: true, value: null });
    expect(sessionList(store.t)).toEqual({ index: 6, value: [] });
    expect(kvGet(store.t, "k").value?.Session).toBe("");
    expect(kvGet(store.t, "k2").value?.Session).toBe("");
    expect(store.t.sessionsByNode.has("n1")).toBe(false);
    expect(store.t.sessionsByCheck.size).toBe(0);
  });

  test("the invalidating write sets the lock-delay from its own Now", () => {
    const store = withLock({ LockDelayMs: 3_000 });
    register(store, 5, registration("n1", { Checks: [check("n1", "serfHealth", { Status: "critical" })] }));
    expect(store.apply(6, kvCmd("lock", "k", { value: "x", session: S2, now: NOW + 2_999 }))).toEqual({ ok: true, value: false });
    expect(store.apply(7, kvCmd("lock", "k", { value: "x", session: S2, now: NOW + 3_000 }))).toEqual({ ok: true, value: true });
  });
});
