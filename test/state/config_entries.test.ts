import { describe, expect, test } from "bun:test";
import type { EntryBody } from "../../src/configentry/kinds/kind.ts";
import { type Command, configEntryGet, configEntryList, configKindTopic, intentionGet, intentionList, MessageType, StateStore } from "../../src/state/mod.ts";

const NOW = 1_700_000_000_000;

function upsert(entry: EntryBody, op: "upsert" | "upsert-cas" = "upsert", cas?: number): Command {
  return { Type: MessageType.ConfigEntry, Now: NOW, Op: op, Entry: entry, ...(cas === undefined ? {} : { Index: cas }) };
}

function del(kind: string, name: string, cas?: number): Command {
  return { Type: MessageType.ConfigEntry, Now: NOW, Op: cas === undefined ? "delete" : "delete-cas", Entry: { Kind: kind, Name: name }, ...(cas === undefined ? {} : { Index: cas }) };
}

describe("config entry table", () => {
  test("indexes: CreateIndex stays, ModifyIndex and the table index follow each write", () => {
    const s = new StateStore();
    expect(s.apply(10, upsert({ Kind: "service-defaults", Name: "web", Protocol: "http" }))).toEqual({ ok: true, value: true });
    expect(s.apply(11, upsert({ Kind: "service-defaults", Name: "web", Protocol: "grpc" }))).toEqual({ ok: true, value: true });
    const row = configEntryGet(s.t, "service-defaults", "web");
    expect(row.index).toBe(11);
    expect(row.value).toMatchObject({ Kind: "service-defaults", Name: "web", CreateIndex: 10, ModifyIndex: 11, Entry: { Protocol: "grpc" } });
    s.apply(12, upsert({ Kind: "service-defaults", Name: "api" }));
    expect(configEntryList(s.t, "service-defaults").value.map((r) => r.Name)).toEqual(["api", "web"]);
    expect(configEntryList(s.t, "proxy-defaults").value).toEqual([]);
  });

  test("CAS: 0 means absent; otherwise the ModifyIndex must match; failed CAS changes nothing", () => {
    const s = new StateStore();
    const e = { Kind: "service-defaults", Name: "c" };
    expect(s.apply(5, upsert(e, "upsert-cas", 0)).ok && s.t.configEntries.size).toBe(1);
    expect(s.apply(6, upsert({ ...e, Protocol: "http" }, "upsert-cas", 0))).toEqual({ ok: true, value: false });
    expect(s.apply(7, upsert({ ...e, Protocol: "http" }, "upsert-cas", 4))).toEqual({ ok: true, value: false });
    expect(configEntryGet(s.t, "service-defaults", "c").index).toBe(5);
    expect(s.apply(8, upsert({ ...e, Protocol: "http" }, "upsert-cas", 5))).toEqual({ ok: true, value: true });
    expect(s.apply(9, del("service-defaults", "c", 5))).toEqual({ ok: true, value: false });
    expect(s.apply(10, del("service-defaults", "c", 8))).toEqual({ ok: true, value: true });
    expect(configEntryGet(s.t, "service-defaults", "c")).toEqual({ index: 10, value: null });
    expect(s.apply(11, del("service-defaults", "missing", 1))).toEqual({ ok: true, value: false });
  });

  test("a write the graph refuses is rolled back whole and fires nothing", async () => {
    const s = new StateStore();
    s.apply(1, upsert({ Kind: "service-defaults", Name: "web", Protocol: "http" }));
    s.apply(2, upsert({ Kind: "service-router", Name: "web", Routes: [] }));
    let fired = false;
    void s.hub.wait(configKindTopic("service-defaults")).then(() => (fired = true));
    const r = s.apply(3, upsert({ Kind: "service-defaults", Name: "web", Protocol: "tcp" }));
    expect(r).toEqual({ ok: false, error: 'discovery chain "web" uses a protocol "tcp" that does not permit advanced routing or splitting behavior' });
    await Promise.resolve();
    expect(fired).toBe(false);
    expect(configEntryGet(s.t, "service-defaults", "web").value).toMatchObject({ ModifyIndex: 1, Entry: { Protocol: "http" } });
    // a write of the same kind wakes the watchers
    s.apply(4, upsert({ Kind: "service-defaults", Name: "other" }));
    await Promise.resolve();
    expect(fired).toBe(true);
  });
});

describe("intention mutations", () => {
  const value = (name: string, action: string, id: string) => ({ Name: name, Action: action, Type: "consul", Precedence: 0, LegacyID: id, LegacyMeta: {}, LegacyCreateTime: "2024-01-01T00:00:00.000Z", LegacyUpdateTime: "2024-01-01T00:00:00.000Z" });

  test("legacy create/update/delete edit the destination's entry with Consul's rules", () => {
    const s = new StateStore();
    const id = "11111111-2222-3333-4444-555555555555";
    expect(s.apply(20, { Type: MessageType.Intention, Now: NOW, Mutation: { Op: "create", Destination: "db", Value: value("web", "deny", id) } })).toEqual({ ok: true, value: true });
    expect(intentionGet(s.t, id).value).toMatchObject({ ID: id, SourceName: "web", DestinationName: "db", Action: "deny", Precedence: 9, CreateIndex: 20 });
    // update keeps the original creation time (UpdateOver)
    const later = { ...value("web", "allow", id), LegacyCreateTime: "2025-01-01T00:00:00.000Z", LegacyUpdateTime: "2025-01-01T00:00:00.000Z" };
    s.apply(21, { Type: MessageType.Intention, Now: NOW, Mutation: { Op: "update", ID: id, Value: later } });
    expect(intentionGet(s.t, id).value).toMatchObject({ Action: "allow", CreatedAt: "2024-01-01T00:00:00.000Z", UpdatedAt: "2025-01-01T00:00:00.000Z", CreateIndex: 20, ModifyIndex: 21 });
    expect(s.apply(22, { Type: MessageType.Intention, Now: NOW, Mutation: { Op: "update", ID: "00000000-0000-0000-0000-000000000000", Value: later } })).toEqual({
      ok: false,
      error: "Cannot modify non-existent intention: '00000000-0000-0000-0000-000000000000'",
    });
    s.apply(23, { Type: MessageType.Intention, Now: NOW, Mutation: { Op: "delete-id", ID: id } });
    expect(intentionList(s.t).value).toEqual([]);
    expect(configEntryGet(s.t, "service-intentions", "db").value).toBeNull();
  });

  test("upsert and delete by name; sources kept in precedence order", () => {
    const s = new StateStore();
    const src = (name: string, action: string) => ({ Name: name, Action: action, Type: "consul", Precedence: 0 });
    s.apply(1, { Type: MessageType.Intention, Now: NOW, Mutation: { Op: "upsert", Destination: "db", Source: "*", Value: src("*", "deny") } });
    s.apply(2, { Type: MessageType.Intention, Now: NOW, Mutation: { Op: "upsert", Destination: "db", Source: "web", Value: src("web", "allow") } });
    expect(intentionList(s.t).value.map((i) => `${i.SourceName}:${i.Action}:${i.Precedence}`)).toEqual(["web:allow:9", "*:deny:8"]);
    s.apply(3, { Type: MessageType.Intention, Now: NOW, Mutation: { Op: "delete", Destination: "db", Source: "web" } });
    expect(intentionList(s.t).value.map((i) => i.SourceName)).toEqual(["*"]);
    expect(configEntryGet(s.t, "service-intentions", "db").value?.CreateIndex).toBe(1);
  });
});
