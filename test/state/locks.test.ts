/** acquire/release semantics (Consul's kvsLockTxn / kvsUnlockTxn and TestStateStore_KVSLock/Unlock). */
import { expect, test } from "bun:test";
import { kvGet } from "../../src/state/mod.ts";
import { createSession, expectUnchanged, kvCmd, sessionBody, set, storeWithNode, str } from "./helpers.ts";

const S1 = "11111111-1111-1111-1111-111111111111";
const S2 = "22222222-2222-2222-2222-222222222222";

function lockStore() {
  const store = storeWithNode();
  createSession(store, 2, sessionBody(S1, "n1"));
  createSession(store, 3, sessionBody(S2, "n1"));
  return store;
}

test("lock without a session is an error and changes nothing", () => {
  const store = lockStore();
  expect(expectUnchanged(store, 4, kvCmd("lock", "foo", { value: "foo" }))).toEqual({ ok: false, error: "missing session" });
});

test("lock with an unknown session is an error and changes nothing", () => {
  const store = lockStore();
  set(store, 4, "foo", "orig");
  const r = expectUnchanged(store, 5, kvCmd("lock", "foo", { value: "new", session: "nope" }));
  expect(r).toEqual({ ok: false, error: 'invalid session "nope"' });
  expect(kvGet(store.t, "foo").value).toMatchObject({ Session: "", LockIndex: 0, ModifyIndex: 4 });
  expect(str(kvGet(store.t, "foo").value!.Value)).toBe("orig");
});

test("acquire creates the key with LockIndex 1; the holder re-acquires without a new LockIndex", () => {
  const store = lockStore();
  expect(store.apply(4, kvCmd("lock", "foo", { value: "foo", session: S1, flags: 3304740253564472344n }))).toEqual({ ok: true, value: true });
  let e = kvGet(store.t, "foo");
  expect(e.index).toBe(4);
  expect(e.value).toMatchObject({ LockIndex: 1, CreateIndex: 4, ModifyIndex: 4, Session: S1, Flags: 3304740253564472344n });

  expect(store.apply(5, kvCmd("lock", "foo", { value: "bar", session: S1, flags: 3304740253564472344n }))).toEqual({ ok: true, value: true });
  e = kvGet(store.t, "foo");
  expect(e.value).toMatchObject({ LockIndex: 1, CreateIndex: 4, ModifyIndex: 5, Session: S1 });
  expect(str(e.value!.Value)).toBe("bar");

  // Same holder, same value and flags: nothing to write.
  expect(store.apply(6, kvCmd("lock", "foo", { value: "bar", session: S1, flags: 3304740253564472344n }))).toEqual({ ok: true, value: true });
  expect(kvGet(store.t, "foo")).toMatchObject({ index: 5, value: { ModifyIndex: 5, LockIndex: 1 } });
});

test("another session does not get a held lock", () => {
  const store = lockStore();
  store.apply(4, kvCmd("lock", "foo", { value: "mine", session: S1 }));
  expect(expectUnchanged(store, 5, kvCmd("lock", "foo", { value: "nope", session: S2 }))).toEqual({ ok: true, value: false });
  expect(kvGet(store.t, "foo").value).toMatchObject({ Session: S1, LockIndex: 1, ModifyIndex: 4 });
});

test("release clears Session and keeps LockIndex; re-acquire increments it", () => {
  const store = lockStore();
  store.apply(4, kvCmd("lock", "foo", { value: "foo", session: S1 }));
  expect(store.apply(6, kvCmd("unlock", "foo", { value: "baz", session: S1 }))).toEqual({ ok: true, value: true });
  let e = kvGet(store.t, "foo").value!;
  expect(e).toMatchObject({ Session: "", LockIndex: 1, CreateIndex: 4, ModifyIndex: 6 });
  expect(str(e.Value)).toBe("baz");

  expect(store.apply(7, kvCmd("lock", "foo", { value: "zoo", session: S2 }))).toEqual({ ok: true, value: true });
  e = kvGet(store.t, "foo").value!;
  expect(e).toMatchObject({ Session: S2, LockIndex: 2, CreateIndex: 4, ModifyIndex: 7 });
});

test("release by a non-holder, of an unlocked or a missing key returns false", () => {
  const store = lockStore();
  expect(expectUnchanged(store, 4, kvCmd("unlock", "missing", { session: S1 }))).toEqual({ ok: true, value: false });
  set(store, 5, "plain", "v");
  expect(expectUnchanged(store, 6, kvCmd("unlock", "plain", { session: S1 }))).toEqual({ ok: true, value: false });
  store.apply(7, kvCmd("lock", "foo", { value: "foo", session: S1 }));
  expect(expectUnchanged(store, 8, kvCmd("unlock", "foo", { value: "x", session: S2 }))).toEqual({ ok: true, value: false });
  expect(kvGet(store.t, "foo").value).toMatchObject({ Session: S1, LockIndex: 1 });
  expect(expectUnchanged(store, 9, kvCmd("unlock", "foo", { value: "x" }))).toEqual({ ok: false, error: "missing session" });
});

test("locking an existing key keeps its CreateIndex", () => {
  const store = lockStore();
  set(store, 8, "bar", "bar");
  expect(store.apply(9, kvCmd("lock", "bar", { value: "xxx", session: S1 }))).toEqual({ ok: true, value: true });
  expect(kvGet(store.t, "bar").value).toMatchObject({ LockIndex: 1, CreateIndex: 8, ModifyIndex: 9, Session: S1 });
});

test("a plain set or cas on a locked key keeps the holder", () => {
  const store = lockStore();
  store.apply(4, kvCmd("lock", "foo", { value: "locked", session: S1 }));
  set(store, 5, "foo", "stoleit");
  let e = kvGet(store.t, "foo").value!;
  expect(e).toMatchObject({ Session: S1, CreateIndex: 4, ModifyIndex: 5 });
  expect(str(e.Value)).toBe("stoleit");
  // Consul's kvsSetTxn takes LockIndex from the request (0 for a plain PUT).
  expect(e.LockIndex).toBe(0);

  expect(store.apply(6, kvCmd("cas", "foo", { value: "cas", index: 5 }))).toEqual({ ok: true, value: true });
  e = kvGet(store.t, "foo").value!;
  expect(e).toMatchObject({ Session: S1, ModifyIndex: 6 });
  // The holder can still release it.
  expect(store.apply(7, kvCmd("unlock", "foo", { value: "done", session: S1 }))).toEqual({ ok: true, value: true });
  expect(kvGet(store.t, "foo").value?.Session).toBe("");
});

test("a deleted lock key is no longer held by its session", () => {
  const store = lockStore();
  store.apply(4, kvCmd("lock", "foo", { value: "v", session: S1 }));
  store.apply(5, kvCmd("delete", "foo"));
  expect(store.t.keysBySession.get(S1)).toBeUndefined();
  expect(store.apply(6, kvCmd("lock", "foo", { value: "again", session: S2 }))).toEqual({ ok: true, value: true });
  expect(kvGet(store.t, "foo").value).toMatchObject({ LockIndex: 1, CreateIndex: 6, Session: S2 });
});
