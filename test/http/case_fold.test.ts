/**
 * Node names, and service and check IDs within a node, fold case as Consul's
 * catalog indexes do (indexFromNode, indexFromNodeCheckQuery lower-case them):
 * another spelling is the same node, service or check, on every path that
 * names one (register, deregister, reads, sessions, txn).
 */
import { afterAll, expect, test } from "bun:test";
import { register, startHarness } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

interface Check {
  Node: string;
  CheckID: string;
  Status: string;
}

test("another spelling of a node, service or check is the same one", async () => {
  await register(h, {
    Node: "Web-1",
    Address: "10.0.0.1",
    Service: { ID: "Svc-A", Service: "web", Port: 80 },
    Check: { CheckID: "Chk-A", Name: "alive", Status: "passing", ServiceID: "Svc-A" },
  });
  // The same node, service and check again, spelled otherwise: updates, not new rows.
  await register(h, {
    Node: "web-1",
    Address: "10.0.0.2",
    Service: { ID: "svc-a", Service: "web", Port: 81 },
    Check: { CheckID: "CHK-A", Name: "alive", Status: "warning", ServiceID: "SVC-A" },
  });
  const nodes = await h.getJson<{ Node: string; Address: string }[]>("/v1/catalog/nodes");
  expect(nodes.filter((n) => n.Node.toLowerCase() === "web-1")).toEqual([expect.objectContaining({ Node: "Web-1", Address: "10.0.0.2" })]);
  const node = await h.getJson<{ Services: Record<string, { Port: number }> }>("/v1/catalog/node/WEB-1");
  expect(Object.keys(node.Services)).toEqual(["Svc-A"]);
  expect(node.Services["Svc-A"]!.Port).toBe(81);
  const checks = await h.getJson<Check[]>("/v1/health/node/wEb-1");
  expect(checks.map((c) => [c.Node, c.CheckID, c.Status])).toEqual([["Web-1", "Chk-A", "warning"]]);

  // A session names the node and its check in any case.
  const session = await h.putJson<{ ID: string }>("/v1/session/create", { Node: "WEB-1", NodeChecks: ["chk-a"] });
  expect((await h.getJson<{ ID: string }[]>("/v1/session/node/web-1")).map((s) => s.ID)).toEqual([session.ID]);

  // Txn reads find them too.
  const txn = await h.put("/v1/txn", [{ Node: { Verb: "get", Node: { Node: "WEB-1" } } }, { Check: { Verb: "get", Check: { Node: "web-1", CheckID: "chk-A" } } }]);
  expect(txn.status).toBe(200);
  const results = ((await txn.json()) as { Results: { Node?: { Node: string }; Check?: Check }[] }).Results;
  expect([results[0]!.Node!.Node, results[1]!.Check!.CheckID]).toEqual(["Web-1", "Chk-A"]);

  // Deregistering by another spelling removes them.
  await h.put("/v1/catalog/deregister", { Node: "WEB-1", CheckID: "chk-a" });
  expect(await h.getJson<Check[]>("/v1/health/node/Web-1")).toEqual([]);
  await h.put("/v1/catalog/deregister", { Node: "web-1", ServiceID: "SVC-a" });
  expect(Object.keys((await h.getJson<{ Services: object }>("/v1/catalog/node/Web-1")).Services)).toEqual([]);
  await h.put("/v1/catalog/deregister", { Node: "wEB-1" });
  expect(await h.getJson("/v1/catalog/node/Web-1")).toBeNull();
});

test("a name stored in lower case (no fold entry kept for it) is found by any spelling", async () => {
  await register(h, { Node: "db-1", Address: "10.0.0.3", Service: { ID: "svc-b", Service: "db", Port: 80 }, Check: { CheckID: "chk-b", Name: "alive", Status: "passing", ServiceID: "svc-b" } });
  await register(h, { Node: "DB-1", Address: "10.0.0.4", Service: { ID: "SVC-B", Service: "db", Port: 81 }, Check: { CheckID: "Chk-B", Name: "alive", Status: "critical", ServiceID: "Svc-b" } });
  const nodes = await h.getJson<{ Node: string; Address: string }[]>("/v1/catalog/nodes");
  expect(nodes.filter((n) => n.Node.toLowerCase() === "db-1")).toEqual([expect.objectContaining({ Node: "db-1", Address: "10.0.0.4" })]);
  const node = await h.getJson<{ Services: Record<string, { Port: number }> }>("/v1/catalog/node/Db-1");
  expect(Object.keys(node.Services)).toEqual(["svc-b"]);
  expect(node.Services["svc-b"]!.Port).toBe(81);
  expect((await h.getJson<Check[]>("/v1/health/node/DB-1")).map((c) => [c.Node, c.CheckID, c.Status])).toEqual([["db-1", "chk-b", "critical"]]);
  await h.put("/v1/catalog/deregister", { Node: "DB-1" });
  expect(await h.getJson("/v1/catalog/node/db-1")).toBeNull();
});
