/** `/v1/agent/health/service/id/:id` and `/name/:name`: status codes, JSON and text bodies. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { type AgentHarness, startAgentHarness } from "./_agent_harness.ts";
import { NODE } from "./_harness.ts";

let h: AgentHarness;
beforeEach(async () => {
  h = await startAgentHarness();
  await h.putOk("/v1/agent/service/register", { ID: "web1", Name: "web", Port: 80, Check: { CheckID: "t1", TTL: "30s" } });
  await h.putOk("/v1/agent/service/register", { ID: "web2", Name: "web", Port: 81, Check: { CheckID: "t2", TTL: "30s", Status: "passing" } });
});
afterEach(async () => {
  await h.stop();
});

interface Info {
  AggregatedStatus: string;
  Service: { ID: string } | null;
  Checks: { CheckID: string; Status: string; Node: string; Type: string; Definition: Record<string, unknown> }[] | null;
}

test("by ID: 503 while critical, 200 passing, 429 warning, each with the service and its checks", async () => {
  const critical = await h.get("/v1/agent/health/service/id/web1");
  expect(critical.status).toBe(503);
  const body = (await critical.json()) as Info;
  expect(body.AggregatedStatus).toBe("critical");
  expect(body.Service).toMatchObject({ ID: "web1", Service: "web", Port: 80 });
  expect(body.Checks).toEqual([
    expect.objectContaining({ Node: NODE, CheckID: "t1", Status: "critical", ServiceID: "web1", ServiceName: "web", Type: "" }),
  ]);
  expect(body.Checks![0]!.Definition).toMatchObject({ Interval: "0s", Timeout: "0s", DeregisterCriticalServiceAfter: "0s" });

  await h.putOk("/v1/agent/check/pass/t1");
  const ok = await h.get("/v1/agent/health/service/id/web1");
  expect([ok.status, ((await ok.json()) as Info).AggregatedStatus]).toEqual([200, "passing"]);
  await h.putOk("/v1/agent/check/warn/t1");
  const warn = await h.get("/v1/agent/health/service/id/web1");
  expect([warn.status, ((await warn.json()) as Info).AggregatedStatus]).toEqual([429, "warning"]);
});

test("?format=text and Accept: text/plain answer the status word alone", async () => {
  const text = await h.get("/v1/agent/health/service/id/web2?format=text");
  expect(text.status).toBe(200);
  expect(text.headers.get("Content-Type")).toStartWith("text/plain");
  expect(await text.text()).toBe("passing");
  const accept = await h.get("/v1/agent/health/service/id/web1", { Accept: "text/plain" });
  expect([accept.status, await accept.text()]).toEqual([503, "critical"]);
});

test("maintenance (service or node) is reported as 'maintenance' with a 503", async () => {
  await h.putOk("/v1/agent/service/maintenance/web2?enable=true");
  const svc = await h.get("/v1/agent/health/service/id/web2");
  expect([svc.status, ((await svc.json()) as Info).AggregatedStatus]).toEqual([503, "maintenance"]);
  await h.putOk("/v1/agent/service/maintenance/web2?enable=false");
  expect((await h.get("/v1/agent/health/service/id/web2")).status).toBe(200);

  // Node checks (maintenance included) count for every service on the node.
  await h.putOk("/v1/agent/maintenance?enable=true&reason=patching");
  const node = await h.get("/v1/agent/health/service/id/web2");
  const body = (await node.json()) as Info;
  expect([node.status, body.AggregatedStatus]).toEqual([503, "maintenance"]);
  expect(body.Checks!.map((c) => c.CheckID)).toEqual(["_node_maintenance", "t2"]);
});

test("by name: the worst instance decides the status; every instance is listed", async () => {
  const res = await h.get("/v1/agent/health/service/name/web");
  expect(res.status).toBe(503);
  const list = (await res.json()) as Info[];
  expect(list.map((i) => [i.Service!.ID, i.AggregatedStatus])).toEqual([
    ["web1", "critical"],
    ["web2", "passing"],
  ]);
  await h.putOk("/v1/agent/check/warn/t1");
  expect((await h.get("/v1/agent/health/service/name/web")).status).toBe(429);
  await h.putOk("/v1/agent/check/pass/t1");
  const all = await h.get("/v1/agent/health/service/name/web?format=text");
  expect([all.status, await all.text()]).toEqual([200, "passing"]);
});

test("unknown services: 404 with Consul's bodies; a missing ID or name is a 400", async () => {
  const id = await h.get("/v1/agent/health/service/id/nope");
  expect(id.status).toBe(404);
  expect(await id.json()).toEqual({ AggregatedStatus: "critical", Service: null, Checks: null });
  expect(await (await h.get("/v1/agent/health/service/id/nope?format=text")).text()).toBe("ServiceId nope not found");
  const name = await h.get("/v1/agent/health/service/name/nope");
  expect([name.status, await name.json()]).toEqual([404, []]);
  expect(await (await h.get("/v1/agent/health/service/name/nope?format=text")).text()).toBe("ServiceName nope Not Found");
  const noId = await h.get("/v1/agent/health/service/id/");
  expect([noId.status, await noId.text()]).toEqual([400, "Missing serviceID"]);
  const noName = await h.get("/v1/agent/health/service/name/");
  expect([noName.status, await noName.text()]).toEqual([400, "Missing service Name"]);
});
