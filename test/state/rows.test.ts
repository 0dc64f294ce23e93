/** Stored catalog rows: one field order, shared frozen empties, kept through a snapshot. */
import { expect, test } from "bun:test";
import { catalogRead, StateStore } from "../../src/state/mod.ts";
import { check, register, registration, service } from "./helpers.ts";

const SERVICE_FIELDS = ["Kind", "ID", "Service", "Tags", "Address", "TaggedAddresses", "Meta", "Port", "SocketPath", "Weights", "EnableTagOverride", "Proxy", "Connect", "Locality", "CreateIndex", "ModifyIndex"];
const CHECK_FIELDS = ["Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID", "ServiceName", "ServiceTags", "Type", "Interval", "Timeout", "ExposedPort", "Definition", "CreateIndex", "ModifyIndex"];

function filled(): StateStore {
  const store = new StateStore();
  // Given with its keys in another order: stored in the wire order all the same.
  const { Port, Kind, ...rest } = service("a1", "a");
  register(store, 1, registration("n1", { Service: { Port, ...rest, Kind }, Checks: [check("n1", "c1", { ServiceID: "a1" })] }));
  register(store, 2, registration("n2", { Service: service("a2", "a"), Checks: [check("n2", "c2", { ServiceID: "a2" })] }));
  register(store, 3, registration("n3", { NodeMeta: { rack: "r1" }, Service: service("b1", "b", { Meta: { v: "1" }, Tags: ["x"], Weights: { Passing: 3, Warning: 1 } }) }));
  return store;
}

function rowsOf(store: StateStore) {
  const svc = (node: string, id: string) => store.t.services.get(`${node}\u0000${id}`)!.Service;
  return { a1: svc("n1", "a1"), a2: svc("n2", "a2"), b1: svc("n3", "b1"), c1: store.t.checks.get("n1\u0000c1")!, c2: store.t.checks.get("n2\u0000c2")! };
}

function expectCompact(store: StateStore): void {
  const { a1, a2, b1, c1, c2 } = rowsOf(store);
  expect(Object.keys(a1)).toEqual(SERVICE_FIELDS);
  expect(Object.keys(c1)).toEqual(CHECK_FIELDS);
  for (const field of ["Tags", "TaggedAddresses", "Meta", "Weights", "Proxy", "Connect"] as const) {
    expect(a1[field]).toBe(a2[field]);
    expect(Object.isFrozen(a1[field])).toBe(true);
  }
  expect(c1.Definition).toBe(c2.Definition);
  expect(store.t.nodes.get("n1")!.Meta).toBe(store.t.nodes.get("n2")!.Meta);
  // What a row holds of its own stays its own, and as given.
  expect(b1.Meta).toEqual({ v: "1" });
  expect(b1.Tags).toEqual(["x"]);
  expect(b1.Weights).toEqual({ Passing: 3, Warning: 1 });
  expect(Object.isFrozen(b1.Meta)).toBe(false);
  expect(store.t.nodes.get("n3")!.Meta).toEqual({ rack: "r1" });
  // A stray write into a shared empty fails instead of reaching every row.
  expect(() => {
    (a1.Meta as Record<string, string>).x = "y";
  }).toThrow(TypeError);
  expect(a2.Meta).toEqual({});
}

test("rows share one frozen value for each empty map, list and the default weights", () => {
  expectCompact(filled());
});

test("instances with the same tags share one frozen list; their checks carry it too", () => {
  const store = new StateStore();
  register(store, 1, registration("n1", { Service: service("a1", "a", { Tags: ["v1", "rack-1"] }), Checks: [check("n1", "c1", { ServiceID: "a1" })] }));
  register(store, 2, registration("n2", { Service: service("a2", "a", { Tags: ["v1", "rack-1"] }) }));
  register(store, 3, registration("n3", { Service: service("a3", "a", { Tags: ["rack-1", "v1"] }) }));
  const tags = (node: string, id: string) => store.t.services.get(`${node}\u0000${id}`)!.Service.Tags;
  expect(tags("n1", "a1")).toBe(tags("n2", "a2"));
  expect(Object.isFrozen(tags("n1", "a1"))).toBe(true);
  expect(tags("n3", "a3")).toEqual(["rack-1", "v1"]);
  expect(store.t.checks.get("n1\u0000c1")!.ServiceTags).toBe(tags("n1", "a1"));
  expect(catalogRead.serviceNodes(store.t, "a").value.map((r) => r.service.Tags)).toEqual([["v1", "rack-1"], ["v1", "rack-1"], ["rack-1", "v1"]]);
});

test("a restored snapshot holds rows built the same way, read the same", () => {
  const store = filled();
  const before = JSON.stringify([catalogRead.serviceNodes(store.t, "a").value, catalogRead.checkServiceNodes(store.t, "b").value]);
  const restored = new StateStore();
  restored.restore(store.snapshot());
  expectCompact(restored);
  expect(JSON.stringify([catalogRead.serviceNodes(restored.t, "a").value, catalogRead.checkServiceNodes(restored.t, "b").value])).toBe(before);
});

test("re-registering an instance as stored changes nothing; a change in a shared empty is a change", () => {
  const store = filled();
  register(store, 4, registration("n2", { Service: service("a2", "a"), Checks: [check("n2", "c2", { ServiceID: "a2" })] }));
  expect(rowsOf(store).a2.ModifyIndex).toBe(2);
  register(store, 5, registration("n2", { Service: service("a2", "a", { Meta: { v: "2" } }) }));
  const { a1, a2 } = rowsOf(store);
  expect(a2.ModifyIndex).toBe(5);
  expect(a2.Meta).toEqual({ v: "2" });
  expect(a1.Meta).toEqual({});
});
