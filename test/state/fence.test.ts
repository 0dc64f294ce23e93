/** Barrier entries and leader fencing: a leader-only command issued under an older fence is refused. */
import { describe, expect, test } from "bun:test";
import { type FencedCommand, kvGet, LEADER_TABLE, MessageType, StateStore } from "../../src/state/mod.ts";
import { kvCmd, NOW, str } from "./helpers.ts";

const fence = (node: string): FencedCommand => ({ Type: MessageType.Barrier, Now: NOW, Leader: { ID: `${node}-id`, Node: node } });
const fenced = (key: string, value: string, at: number): FencedCommand => ({ ...kvCmd("set", key, { value }), Fence: at });

describe("barrier and fence", () => {
  test("a plain barrier changes nothing but the applied index", () => {
    const store = new StateStore();
    store.apply(1, kvCmd("set", "a", { value: "1" }));
    const before = store.snapshot();
    expect(store.apply(2, { Type: MessageType.Barrier, Now: NOW })).toEqual({ ok: true, value: null });
    expect(store.lastApplied).toBe(2);
    expect(store.t.index(LEADER_TABLE)).toBe(0);
    // Same tables; only the index in the snapshot header moved.
    expect(new TextDecoder().decode(store.snapshot()).replace(/"Index":2/, '"Index":1')).toBe(new TextDecoder().decode(before));
  });

  test("commands carry the fence they were issued under; a newer fence refuses the older leader's", () => {
    const store = new StateStore();
    store.apply(3, fence("s1"));
    expect(store.t.index(LEADER_TABLE)).toBe(3);
    expect(store.apply(4, fenced("k", "from-s1", 3)).ok).toBe(true);
    store.apply(5, fence("s2"));
    const late = store.apply(6, fenced("k", "late-s1", 3));
    expect(late.ok).toBe(false);
    expect(late.ok ? "" : late.error).toContain("leadership lost");
    expect(str(kvGet(store.t, "k").value?.Value)).toBe("from-s1");
    expect(store.lastApplied).toBe(6);
    expect(store.apply(7, fenced("k", "from-s2", 5)).ok).toBe(true);
    expect(str(kvGet(store.t, "k").value?.Value)).toBe("from-s2");
    // Unfenced commands (clients' writes) are never refused by the fence.
    expect(store.apply(8, kvCmd("set", "k", { value: "client" })).ok).toBe(true);
  });

  test("the fence survives a snapshot", () => {
    const store = new StateStore();
    store.apply(1, fence("s1"));
    const copy = new StateStore();
    copy.restore(store.snapshot());
    expect(copy.apply(2, fenced("k", "v", 1)).ok).toBe(true);
    expect(copy.apply(3, fenced("k", "v", 0)).ok).toBe(false);
  });
});
