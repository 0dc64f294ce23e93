/**
 * KV table driven through `apply` with explicit indexes; expected values follow
 * Consul's agent/consul/state/kvs.go and kvs_test.go.
 */
import { describe, expect, test } from "bun:test";
import { kvGet, kvKeys, kvList, MessageType, StateStore } from "../../src/state/mod.ts";
import { expectUnchanged, kvCmd, set, str } from "./helpers.ts";

function reap(store: StateStore, index: number, reapIndex: number): void {
  expect(store.apply(index, { Type: MessageType.Tombstone, Now: 0, ReapIndex: reapIndex })).toEqual({ ok: true, value: null });
}

function keysOf(store: StateStore, prefix: string): string[] {
  return kvList(store.t, prefix).value.map((r) => r.Key);
}

describe("set and get", () => {
  test("an empty store answers index 0 and no entry", () => {
    const store = new StateStore();
    expect(kvGet(store.t, "foo")).toEqual({ index: 0, value: null });
    expect(kvList(store.t, "")).toEqual({ index: 0, value: [] });
  });

  test("create then update keep CreateIndex and move ModifyIndex", () => {
    const store = new StateStore();
    set(store, 1, "foo", "bar");
    let got = kvGet(store.t, "foo");
    expect(got.index).toBe(1);
    expect(got.value).toMatchObject({ Key: "foo", CreateIndex: 1, ModifyIndex: 1, LockIndex: 0, Session: "", Flags: 0n });
    expect(str(got.value!.Value)).toBe("bar");

    set(store, 2, "foo", "baz");
    got = kvGet(store.t, "foo");
    expect(got.index).toBe(2);
    expect(got.value).toMatchObject({ CreateIndex: 1, ModifyIndex: 2 });
    expect(str(got.value!.Value)).toBe("baz");
  });

  test("a missing key reports the KV table index", () => {
    const store = new StateStore();
    set(store, 1, "foo", "x");
    set(store, 8, "other", "yup");
    expect(kvGet(store.t, "nope")).toEqual({ index: 8, value: null });
    // A key's own read also carries the table index, not the key's ModifyIndex.
    expect(kvGet(store.t, "foo").index).toBe(8);
  });

  test("a session given to a plain set is ignored", () => {
    const store = new StateStore();
    set(store, 3, "foo", "zoo", { session: "nope" });
    expect(kvGet(store.t, "foo").value?.Session).toBe("");
  });

  test("flags are uint64 and survive exactly", () => {
    const store = new StateStore();
    set(store, 1, "lock", "v", { flags: 3304740253564472344n });
    set(store, 2, "max", "v", { flags: 18446744073709551615n });
    expect(kvGet(store.t, "lock").value?.Flags).toBe(3304740253564472344n);
    expect(kvGet(store.t, "max").value?.Flags).toBe(18446744073709551615n);
    expect(typeof kvGet(store.t, "lock").value?.Flags).toBe("bigint");
  });

  test("writing the same value, flags and session again is not a modification", () => {
    const store = new StateStore();
    set(store, 1, "foo", "bar", { flags: 42n });
    set(store, 2, "foo", "bar", { flags: 42n });
    expect(kvGet(store.t, "foo")).toMatchObject({ index: 1, value: { CreateIndex: 1, ModifyIndex: 1 } });
    set(store, 3, "foo", "bar", { flags: 43n });
    expect(kvGet(store.t, "foo")).toMatchObject({ index: 3, value: { ModifyIndex: 3, Flags: 43n } });
  });

  test("a key re-created after a delete starts over", () => {
    const store = new StateStore();
    set(store, 1, "a", "1");
    expect(store.apply(2, kvCmd("delete", "a"))).toEqual({ ok: true, value: true });
    set(store, 3, "a", "2");
    expect(kvGet(store.t, "a").value).toMatchObject({ CreateIndex: 3, ModifyIndex: 3, LockIndex: 0 });
  });
});

describe("check-and-set", () => {
  test("cas=0 creates only when absent", () => {
    const store = new StateStore();
    expect(store.apply(2, kvCmd("cas", "foo", { value: "foo", index: 0 }))).toEqual({ ok: true, value: true });
    expect(kvGet(store.t, "foo").value).toMatchObject({ CreateIndex: 2, ModifyIndex: 2 });
    const r = expectUnchanged(store, 3, kvCmd("cas", "foo", { value: "again", index: 0 }));
    expect(r).toEqual({ ok: true, value: false });
    expect(str(kvGet(store.t, "foo").value!.Value)).toBe("foo");
  });

  test("cas=N on a missing key does nothing", () => {
    const store = new StateStore();
    expect(expectUnchanged(store, 2, kvCmd("cas", "foo", { value: "foo", index: 1 }))).toEqual({ ok: true, value: false });
    expect(kvGet(store.t, "foo")).toEqual({ index: 0, value: null });
  });

  test("cas=N writes only when N is the current ModifyIndex", () => {
    const store = new StateStore();
    set(store, 2, "foo", "foo");
    expect(expectUnchanged(store, 3, kvCmd("cas", "foo", { value: "bar", index: 3 }))).toEqual({ ok: true, value: false });
    expect(kvGet(store.t, "foo")).toMatchObject({ index: 2, value: { ModifyIndex: 2 } });
    expect(store.apply(4, kvCmd("cas", "foo", { value: "bar", index: 2 }))).toEqual({ ok: true, value: true });
    expect(kvGet(store.t, "foo")).toMatchObject({ index: 4, value: { CreateIndex: 2, ModifyIndex: 4 } });
    expect(str(kvGet(store.t, "foo").value!.Value)).toBe("bar");
    // The old index is now stale.
    expect(store.apply(5, kvCmd("cas", "foo", { value: "baz", index: 2 }))).toEqual({ ok: true, value: false });
  });

  test("cas ignores a session in the request", () => {
    const store = new StateStore();
    set(store, 2, "foo", "foo");
    expect(store.apply(3, kvCmd("cas", "foo", { value: "zoo", index: 2, session: "nope" }))).toEqual({ ok: true, value: true });
    expect(kvGet(store.t, "foo").value?.Session).toBe("");
  });
});

describe("delete", () => {
  test("delete removes one key and moves the table index", () => {
    const store = new StateStore();
    set(store, 1, "foo", "foo");
    set(store, 2, "foo/bar", "bar");
    expect(store.apply(3, kvCmd("delete", "foo"))).toEqual({ ok: true, value: true });
    expect(kvGet(store.t, "foo")).toEqual({ index: 3, value: null });
    expect(str(kvGet(store.t, "foo/bar").value!.Value)).toBe("bar");
    // The tombstone keeps the prefix index from sliding back to 2.
    expect(kvList(store.t, "foo").index).toBe(3);
    expect(keysOf(store, "foo")).toEqual(["foo/bar"]);
  });

  test("deleting a missing key succeeds and changes nothing", () => {
    const store = new StateStore();
    set(store, 1, "foo", "foo");
    expect(expectUnchanged(store, 4, kvCmd("delete", "nope"))).toEqual({ ok: true, value: true });
    expect(kvGet(store.t, "foo").index).toBe(1);
  });

  test("delete-cas deletes only at the current index; a missing key is success", () => {
    const store = new StateStore();
    set(store, 1, "foo", "foo");
    set(store, 2, "bar", "bar");
    set(store, 3, "baz", "baz");
    expect(expectUnchanged(store, 4, kvCmd("delete-cas", "bar", { index: 1 }))).toEqual({ ok: true, value: false });
    expect(kvGet(store.t, "bar").index).toBe(3);
    expect(store.apply(5, kvCmd("delete-cas", "bar", { index: 2 }))).toEqual({ ok: true, value: true });
    expect(kvGet(store.t, "bar")).toEqual({ index: 5, value: null });
    set(store, 6, "some/other/key", "baz");
    expect(kvList(store.t, "bar").index).toBe(5);
    expect(expectUnchanged(store, 7, kvCmd("delete-cas", "bar", { index: 2 }))).toEqual({ ok: true, value: true });
  });

  test("delete-tree removes a subtree; a tree with nothing under it changes nothing", () => {
    const store = new StateStore();
    set(store, 1, "foo/bar", "bar");
    set(store, 2, "foo/bar/baz", "baz");
    set(store, 3, "foo/bar/zip", "zip");
    set(store, 4, "foo/zorp", "zorp");
    expect(expectUnchanged(store, 5, kvCmd("delete-tree", "bar"))).toEqual({ ok: true, value: true });
    expect(kvGet(store.t, "x").index).toBe(4);

    expect(store.apply(6, kvCmd("delete-tree", "foo/bar"))).toEqual({ ok: true, value: true });
    expect(keysOf(store, "")).toEqual(["foo/zorp"]);
    expect(kvGet(store.t, "x").index).toBe(6);
    expect(kvList(store.t, "foo").index).toBe(6);
    reap(store, 7, 6);
    expect(kvList(store.t, "foo").index).toBe(4);
  });

  test("delete-tree leaves one tombstone at the prefix, none for the whole tree", () => {
    const store = new StateStore();
    set(store, 1, "foo", "foo");
    set(store, 2, "foo/bar", "bar");
    set(store, 3, "foo/bar/zip", "zip");
    set(store, 4, "foo/bar/zip/zorp", "zorp");
    set(store, 5, "foo/bar/zip/zap", "zap");
    set(store, 6, "foo/nope", "nope");
    expect(kvList(store.t, "foo/bar").index).toBe(5);

    expect(store.apply(7, kvCmd("delete-tree", "foo/bar/zip"))).toEqual({ ok: true, value: true });
    expect(kvList(store.t, "foo/bar").index).toBe(7);
    reap(store, 8, 7);
    expect(kvList(store.t, "foo/bar").index).toBe(2);

    set(store, 9, "some/other/key", "");
    // Nothing was ever under foo/bar/baz: the table index answers.
    expect(kvList(store.t, "foo/bar/baz").index).toBe(9);
    expect(kvList(store.t, "").index).toBe(9);

    // A key below a deleted tree is not covered by the tree's tombstone
    // (Consul matches tombstones by prefix of the *tombstone* key).
    set(store, 10, "t/a", "1");
    expect(store.apply(11, kvCmd("delete-tree", "t/"))).toEqual({ ok: true, value: true });
    set(store, 12, "u", "1");
    expect(kvList(store.t, "t/").index).toBe(11);
    expect(kvList(store.t, "t/a").index).toBe(12);

    expect(store.apply(13, kvCmd("delete-tree", ""))).toEqual({ ok: true, value: true });
    expect(kvList(store.t, "").value).toEqual([]);
    expect(kvList(store.t, "/foo/bar").index).toBe(13);
  });
});

describe("tombstones", () => {
  test("prefix index stays monotonic across deletes until the tombstones are reaped", () => {
    const store = new StateStore();
    set(store, 1, "foo", "foo");
    set(store, 2, "foo/bar", "bar");
    set(store, 3, "foo/baz", "bar");
    set(store, 4, "foo/moo", "bar");
    set(store, 5, "foo/zoo", "bar");
    store.apply(6, kvCmd("delete", "foo/baz"));
    store.apply(7, kvCmd("delete", "foo/moo"));
    expect(kvList(store.t, "foo/").index).toBe(7);

    reap(store, 8, 6);
    expect(kvList(store.t, "foo/").index).toBe(7);
    reap(store, 9, 7);
    // With every tombstone gone the prefix index slides back to its newest key.
    expect(kvList(store.t, "foo/").index).toBe(5);
    expect(keysOf(store, "foo/")).toEqual(["foo/bar", "foo/zoo"]);
    // Reaping moves no table index.
    expect(kvGet(store.t, "foo").index).toBe(7);
  });

  test("after reaping, a prefix with no keys reports the table index", () => {
    const store = new StateStore();
    set(store, 1, "foo", "foo");
    set(store, 2, "foo/bar/baz", "baz");
    store.apply(6, kvCmd("delete", "foo/bar/baz"));
    set(store, 7, "some/other/key", "");
    expect(kvList(store.t, "foo/bar/baz").index).toBe(6);
    reap(store, 8, 6);
    expect(kvList(store.t, "foo/bar/baz")).toEqual({ index: 7, value: [] });
    expect(kvList(store.t, "").index).toBe(7);
  });

  test("a tombstone is not a key", () => {
    const store = new StateStore();
    set(store, 1, "a/1", "x");
    set(store, 2, "a/2", "y");
    store.apply(3, kvCmd("delete", "a/1"));
    expect(kvGet(store.t, "a/1").value).toBeNull();
    expect(keysOf(store, "a/")).toEqual(["a/2"]);
    expect(kvKeys(store.t, "a/", "").value).toEqual(["a/2"]);
  });
});

describe("list and keys", () => {
  test("list: the whole store reports the table index, a prefix its newest entry", () => {
    const store = new StateStore();
    set(store, 1, "foo", "foo");
    set(store, 2, "foo/bar", "bar");
    set(store, 3, "foo/bar/zip", "zip");
    set(store, 4, "foo/bar/zip/zorp", "zorp");
    set(store, 5, "foo/bar/baz", "baz");
    expect(kvList(store.t, "").index).toBe(5);
    expect(kvList(store.t, "").value.length).toBe(5);
    const zip = kvList(store.t, "foo/bar/zip");
    expect(zip.index).toBe(4);
    expect(zip.value.map((e) => e.Key)).toEqual(["foo/bar/zip", "foo/bar/zip/zorp"]);
    // A prefix with nothing under it reports the table index.
    expect(kvList(store.t, "zzz")).toEqual({ index: 5, value: [] });
  });

  test("keys roll up at the first separator after the prefix", () => {
    const store = new StateStore();
    set(store, 1, "foo", "foo");
    set(store, 2, "foo/bar", "bar");
    set(store, 3, "foo/bar/baz", "baz");
    set(store, 4, "foo/bar/zip", "zip");
    set(store, 5, "foo/bar/zip/zam", "zam");
    set(store, 6, "foo/bar/zip/zorp", "zorp");
    set(store, 7, "some/other/prefix", "nack");

    expect(kvKeys(store.t, "", "")).toMatchObject({ index: 7 });
    expect(kvKeys(store.t, "", "").value.length).toBe(7);
    expect(kvKeys(store.t, "foo/bar/", "/")).toEqual({ index: 6, value: ["foo/bar/baz", "foo/bar/zip", "foo/bar/zip/"] });
    expect(kvKeys(store.t, "foo", "")).toEqual({
      index: 6,
      value: ["foo", "foo/bar", "foo/bar/baz", "foo/bar/zip", "foo/bar/zip/zam", "foo/bar/zip/zorp"],
    });
    expect(kvKeys(store.t, "", "/")).toEqual({ index: 7, value: ["foo", "foo/", "some/"] });
    expect(kvKeys(store.t, "foo/", "/").value).toEqual(["foo/bar", "foo/bar/"]);

    store.apply(8, kvCmd("delete", "foo/bar/baz"));
    expect(kvKeys(store.t, "foo/bar/baz", "").index).toBe(8);
    set(store, 9, "some/other/key", "");
    expect(kvKeys(store.t, "foo/bar/baz", "").index).toBe(8);
    reap(store, 10, 8);
    expect(kvKeys(store.t, "foo/bar/baz", "")).toEqual({ index: 9, value: [] });
    expect(kvKeys(store.t, "", "").index).toBe(9);
  });

  test("multi-character separators", () => {
    const store = new StateStore();
    set(store, 1, "a::b::c", "1");
    set(store, 2, "a::d", "2");
    set(store, 3, "a:e", "3");
    expect(kvKeys(store.t, "a", "::").value).toEqual(["a::", "a:e"]);
    expect(kvKeys(store.t, "a::", "::").value).toEqual(["a::b::", "a::d"]);
  });
});
