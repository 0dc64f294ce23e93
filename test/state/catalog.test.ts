/** Catalog writes and the indexes reads report (Consul's state/catalog.go, catalog_test.go). */
import { describe, expect, test } from "bun:test";
import { catalogRead, StateStore } from "../../src/state/mod.ts";
import { check, deregisterCmd, expectUnchanged, register, registerCmd, registration, service, spy } from "./helpers.ts";

function idx(store: StateStore, name: string): number | undefined {
  return store.t.indexes.get(name);
}

/** n1's node fields as first registered, so later registrations leave the node unchanged. */
const N1 = { NodeMeta: { rack: "r1", zone: "z1" } };

function webStore(): StateStore {
  const store = new StateStore();
  register(
    store,
    1,
    registration("n1", {
      ...N1,
      Service: service("web1", "web", { Tags: ["a"], Port: 80, Meta: { v: "1", w: "2" } }),
      Checks: [check("n1", "serfHealth"), check("n1", "web-check", { ServiceID: "web1", Definition: { HTTP: "http://x", Interval: "10s" } })],
    }),
  );
  register(store, 2, registration("n2", { Address: "10.0.0.2", Service: service("db1", "db"), Checks: [check("n2", "serfHealth")] }));
  return store;
}

describe("register", () => {
  test("stores node, service and checks with their indexes", () => {
    const store = webStore();
    expect(catalogRead.listNodes(store.t)).toMatchObject({ index: 2, value: [{ Node: "n1", CreateIndex: 1, ModifyIndex: 1 }, { Node: "n2" }] });
    const web = catalogRead.serviceNodes(store.t, "web");
    expect(web.index).toBe(1);
    expect(web.value).toMatchObject([{ node: { Node: "n1" }, service: { ID: "web1", Service: "web", Tags: ["a"], Port: 80, CreateIndex: 1, ModifyIndex: 1 } }]);
    const checks = catalogRead.nodeChecks(store.t, "n1");
    expect(checks.index).toBe(2);
    expect(checks.value).toMatchObject([
      { CheckID: "serfHealth", ServiceID: "", Status: "passing" },
      { CheckID: "web-check", ServiceID: "web1", ServiceName: "web", ServiceTags: ["a"] },
    ]);
    expect(idx(store, "service.web")).toBe(1);
    expect(idx(store, "service.db")).toBe(2);
    expect(catalogRead.listServices(store.t).index).toBe(2);
  });

  test("an unchanged re-registration moves no index and fires nothing", async () => {
    const store = webStore();
    const before = JSON.stringify([...store.t.indexes.entries()]);
    const fired = spy(store.hub, ["nodes", "services", "checks", "svc:web", "node:n1"]);
    // Same content, maps written in another key order.
    register(
      store,
      3,
      registration("n1", {
        NodeMeta: { zone: "z1", rack: "r1" },
        Service: service("web1", "web", { Tags: ["a"], Port: 80, Meta: { w: "2", v: "1" } }),
        Checks: [check("n1", "serfHealth"), check("n1", "web-check", { ServiceID: "web1", Definition: { Interval: "10s", HTTP: "http://x" } })],
      }),
    );
    expect(JSON.stringify([...store.t.indexes.entries()])).toBe(before);
    expect(catalogRead.serviceNodes(store.t, "web").value[0]!.service.ModifyIndex).toBe(1);
    expect(await fired()).toEqual([]);
  });

  test("a check on an unknown service fails and writes nothing, not even the node", () => {
    const store = webStore();
    const r = expectUnchanged(
      store,
      3,
      registerCmd(registration("n3", { Service: service("x1", "x"), Checks: [check("n3", "c", { ServiceID: "nope" })] })),
    );
    expect(r).toEqual({ ok: false, error: 'failed inserting check on node "n3": Missing service registration' });
    expect(catalogRead.nodeWithServices(store.t, "n3").value).toBeNull();
    expect(catalogRead.serviceNodes(store.t, "x").value).toEqual([]);
  });

  test("a check naming another node is refused", () => {
    const store = webStore();
    const r = expectUnchanged(store, 3, registerCmd(registration("n1", { ...N1, Checks: [check("n2", "c")] })));
    expect(r).toEqual({ ok: false, error: 'check node "n2" does not match node "n1"' });
  });

  test("a check with an empty node takes the registration's node", () => {
    const store = webStore();
    register(store, 3, registration("n1", { ...N1, Checks: [check("", "mem")] }));
    expect(catalogRead.nodeChecks(store.t, "n1").value.map((c) => c.CheckID)).toEqual(["mem", "serfHealth", "web-check"]);
  });

  test("a node ID already used by another node is refused", () => {
    const store = new StateStore();
    register(store, 1, registration("n1", { ID: "aaaaaaaa-0000-0000-0000-000000000001" }));
    const r = expectUnchanged(store, 2, registerCmd(registration("n2", { ID: "aaaaaaaa-0000-0000-0000-000000000001" })));
    expect(r.ok).toBe(false);
  });
});

describe("service index", () => {
  test("moves when an instance is added, changed or removed", () => {
    const store = webStore();
    register(store, 3, registration("n2", { Address: "10.0.0.2", Service: service("web2", "web") }));
    expect(catalogRead.serviceNodes(store.t, "web")).toMatchObject({ index: 3 });
    expect(catalogRead.serviceNodes(store.t, "web").value.map((r) => r.service.ID)).toEqual(["web1", "web2"]);
    register(store, 4, registration("n2", { Address: "10.0.0.2", Service: service("web2", "web", { Port: 8080 }) }));
    expect(catalogRead.serviceNodes(store.t, "web").index).toBe(4);
    expect(store.apply(5, deregisterCmd("n2", "web2"))).toEqual({ ok: true, value: null });
    expect(catalogRead.serviceNodes(store.t, "web")).toMatchObject({ index: 5, value: [{ service: { ID: "web1" } }] });
    // db was not touched.
    expect(catalogRead.serviceNodes(store.t, "db").index).toBe(2);
  });

  test("moves when one of its checks changes status", () => {
    const store = webStore();
    register(store, 3, registration("n1", { ...N1, Checks: [check("n1", "web-check", { ServiceID: "web1", Status: "critical", Definition: { HTTP: "http://x", Interval: "10s" } })] }));
    expect(catalogRead.checkServiceNodes(store.t, "web").index).toBe(3);
    expect(catalogRead.serviceChecks(store.t, "web").value[0]!.Status).toBe("critical");
    expect(catalogRead.checkServiceNodes(store.t, "db").index).toBe(2);
  });

  test("moves for every service of a node when a node check changes", () => {
    const store = webStore();
    register(store, 3, registration("n1", { ...N1, Service: service("api1", "api") }));
    register(store, 4, registration("n1", { ...N1, Checks: [check("n1", "serfHealth", { Status: "critical" })] }));
    expect(catalogRead.checkServiceNodes(store.t, "web").index).toBe(4);
    expect(catalogRead.checkServiceNodes(store.t, "api").index).toBe(4);
    expect(catalogRead.checkServiceNodes(store.t, "db").index).toBe(2);
    const web = catalogRead.checkServiceNodes(store.t, "web").value[0]!;
    expect(web.Checks.map((c) => [c.CheckID, c.Status])).toEqual([
      ["serfHealth", "critical"],
      ["web-check", "passing"],
    ]);
    // Deleting a node check moves them too.
    expect(store.apply(5, deregisterCmd("n1", "", "serfHealth"))).toEqual({ ok: true, value: null });
    expect(catalogRead.checkServiceNodes(store.t, "api").index).toBe(5);
    expect(catalogRead.checkServiceNodes(store.t, "db").index).toBe(2);
  });

  test("moves when the node's own data changes", () => {
    const store = webStore();
    register(store, 3, registration("n1", { Address: "10.9.9.9", NodeMeta: { rack: "r1", zone: "z1" } }));
    expect(catalogRead.serviceNodes(store.t, "web")).toMatchObject({ index: 3, value: [{ node: { Address: "10.9.9.9", ModifyIndex: 3 } }] });
    expect(catalogRead.serviceNodes(store.t, "db").index).toBe(2);
  });

  test("a service with no instances reports the last extinction, else the catalog index", () => {
    const store = webStore();
    // Nothing was ever removed: the catalog (services, nodes) index answers.
    expect(catalogRead.serviceNodes(store.t, "nope")).toEqual({ index: 2, value: [] });
    register(store, 3, registration("n2", { Address: "10.0.0.2", Checks: [check("n2", "mem")] }));
    // health reads include the checks table.
    expect(catalogRead.checkServiceNodes(store.t, "nope")).toEqual({ index: 3, value: [] });
    expect(catalogRead.serviceNodes(store.t, "nope").index).toBe(2);

    expect(store.apply(4, deregisterCmd("n1", "web1"))).toEqual({ ok: true, value: null });
    expect(store.t.indexes.has("service.web")).toBe(false);
    expect(catalogRead.serviceNodes(store.t, "web")).toEqual({ index: 4, value: [] });
    expect(catalogRead.serviceNodes(store.t, "nope").index).toBe(4);
    register(store, 5, registration("n2", { Address: "10.0.0.2", Service: service("other", "other") }));
    expect(store.apply(6, deregisterCmd("n2", "other"))).toEqual({ ok: true, value: null });
    expect(catalogRead.serviceNodes(store.t, "web").index).toBe(6);
    register(store, 7, registration("n1", { ...N1, Service: service("web1", "web") }));
    expect(catalogRead.serviceNodes(store.t, "web").index).toBe(7);
  });
});

describe("deregister", () => {
  test("a service takes its checks with it and leaves node checks", () => {
    const store = webStore();
    expect(store.apply(3, deregisterCmd("n1", "web1"))).toEqual({ ok: true, value: null });
    expect(catalogRead.nodeChecks(store.t, "n1")).toMatchObject({ index: 3, value: [{ CheckID: "serfHealth" }] });
    expect(catalogRead.nodeWithServices(store.t, "n1").value?.services).toEqual([]);
    expect(catalogRead.listServices(store.t)).toMatchObject({ index: 3 });
    expect([...catalogRead.listServices(store.t).value.keys()]).toEqual(["db"]);
    expect(catalogRead.checksInState(store.t, "any").value.map((c) => `${c.Node}/${c.CheckID}`)).toEqual(["n1/serfHealth", "n2/serfHealth"]);
  });

  test("a node takes everything with it", () => {
    const store = webStore();
    expect(store.apply(3, deregisterCmd("n1"))).toEqual({ ok: true, value: null });
    expect(catalogRead.listNodes(store.t)).toMatchObject({ index: 3, value: [{ Node: "n2" }] });
    expect(catalogRead.nodeWithServices(store.t, "n1")).toEqual({ index: 3, value: null });
    expect(catalogRead.serviceNodes(store.t, "web")).toEqual({ index: 3, value: [] });
    expect(catalogRead.nodeChecks(store.t, "n1")).toEqual({ index: 3, value: [] });
    expect(store.t.servicesByName.has("web")).toBe(false);
    expect(store.t.servicesByNode.has("n1")).toBe(false);
    expect(store.t.checksByNode.has("n1")).toBe(false);
    expect(catalogRead.serviceNodes(store.t, "db").index).toBe(2);
  });

  test("deregistering what is not there changes nothing", () => {
    const store = webStore();
    expectUnchanged(store, 3, deregisterCmd("ghost"));
    expectUnchanged(store, 4, deregisterCmd("n1", "nope"));
    expectUnchanged(store, 5, deregisterCmd("n1", "", "nope"));
  });
});

describe("node reads", () => {
  test("a node's services report the node's own index", () => {
    const store = webStore();
    expect(catalogRead.nodeWithServices(store.t, "n1")).toMatchObject({ index: 1, value: { node: { Node: "n1" } } });
    register(store, 3, registration("n2", { Address: "10.0.0.2", Service: service("web2", "web") }));
    expect(catalogRead.nodeWithServices(store.t, "n1").index).toBe(1);
    expect(catalogRead.nodeWithServices(store.t, "n2").index).toBe(3);
    // Services are part of the node listing's index too.
    expect(catalogRead.listNodes(store.t).index).toBe(3);
    // A missing node reports the last node removal (none yet: 0).
    expect(catalogRead.nodeWithServices(store.t, "ghost")).toEqual({ index: 0, value: null });
  });

  test("health checks report the checks table index", () => {
    const store = new StateStore();
    register(store, 1, registration("n1"));
    expect(catalogRead.nodeChecks(store.t, "n1")).toEqual({ index: 0, value: [] });
    register(store, 2, registration("n1", { Checks: [check("n1", "c1", { Status: "warning" })] }));
    register(store, 3, registration("n2"));
    expect(catalogRead.nodeChecks(store.t, "n1").index).toBe(2);
    expect(catalogRead.checksInState(store.t, "warning")).toMatchObject({ index: 2, value: [{ CheckID: "c1" }] });
    expect(catalogRead.checksInState(store.t, "passing")).toEqual({ index: 2, value: [] });
  });
});
