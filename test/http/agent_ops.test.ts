/** Node maintenance, reload, leave, join, force-leave and metrics. */
import { afterEach, expect, test } from "bun:test";
import { type AgentHarness, catalogCheck, startAgentHarness } from "./_agent_harness.ts";
import { ADDR, NODE, sleep } from "./_harness.ts";

let h: AgentHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

test("node maintenance registers _node_maintenance (critical) and removes it again", async () => {
  h = await startAgentHarness();
  const missing = await h.put("/v1/agent/maintenance");
  expect([missing.status, await missing.text()]).toEqual([400, "Missing value for enable"]);
  const empty = await h.put("/v1/agent/maintenance?enable=");
  expect([empty.status, await empty.text()]).toEqual([400, 'Invalid value for enable: ""']);

  await h.putOk("/v1/agent/maintenance?enable=true");
  const checks = await h.getJson<Record<string, { Status: string; Notes: string; Name: string }>>("/v1/agent/checks");
  expect(checks._node_maintenance).toMatchObject({
    Name: "Node Maintenance Mode",
    Status: "critical",
    Notes: "Maintenance mode is enabled for this node, but no reason was provided. This is a default message.",
  });
  expect(catalogCheck(h, "_node_maintenance")).toMatchObject({ Status: "critical" });
  await h.putOk("/v1/agent/maintenance?enable=false");
  expect(await h.getJson("/v1/agent/checks")).toEqual({});
  expect(catalogCheck(h, "_node_maintenance")).toBeNull();
});

test("reload runs the reload hook; without one it is a 500", async () => {
  let reloads = 0;
  h = await startAgentHarness({
    hooks: {
      reload: async () => {
        reloads++;
      },
    },
  });
  await h.putOk("/v1/agent/reload");
  expect(reloads).toBe(1);
  await h.stop();
  h = await startAgentHarness();
  const res = await h.put("/v1/agent/reload");
  expect(res.status).toBe(500);
});

test("reload replaces the config-file services; a bad config keeps the old ones and is a 500", async () => {
  let next: { services: unknown[]; checks: unknown[] } = { services: [{ Name: "b" }], checks: [] };
  const harness = await startAgentHarness({ config: { services: [{ Name: "a" }], checks: [] }, hooks: { reload: () => harness.agent.reload(next) } });
  h = harness;
  await h.putOk("/v1/agent/service/register", { Name: "from-api" });
  const names = async () => Object.keys(await harness.getJson<object>("/v1/agent/services"));
  expect(await names()).toEqual(["a", "from-api"]);
  await h.putOk("/v1/agent/reload");
  expect(await names()).toEqual(["b", "from-api"]);
  next = { services: [{ Name: "c" }, { Port: 1 }], checks: [] };
  const res = await h.put("/v1/agent/reload");
  expect([res.status, await res.text()]).toEqual([500, "Failed to reload configs: Missing service name"]);
  expect(await names()).toEqual(["b", "from-api"]);
});

test("leave answers 200 first, then runs the shutdown hook", async () => {
  let left = 0;
  h = await startAgentHarness({ hooks: { leave: () => left++ } });
  const res = await h.put("/v1/agent/leave");
  expect(res.status).toBe(200);
  expect(left).toBe(0);
  await sleep(10);
  expect(left).toBe(1);
});

test("join: this agent itself succeeds; any other address fails naming the missing gossip layer", async () => {
  h = await startAgentHarness();
  for (const addr of [ADDR, `${ADDR}:8301`, "127.0.0.1"]) {
    expect((await h.put(`/v1/agent/join/${addr}`)).status).toBe(200);
  }
  expect((await h.put(`/v1/agent/join/${ADDR}:8302?wan=1`)).status).toBe(200);
  const other = await h.put("/v1/agent/join/10.9.9.9:8301");
  expect(other.status).toBe(500);
  expect(await other.text()).toContain("Failed to join 10.9.9.9:8301: this agent has no gossip pool");
  expect((await h.put(`/v1/agent/join/${ADDR}:9999`)).status).toBe(500);
});

test("force-leave of this node is a no-op; another node is not in the pool", async () => {
  h = await startAgentHarness();
  expect((await h.put(`/v1/agent/force-leave/${NODE}`)).status).toBe(200);
  const other = await h.put("/v1/agent/force-leave/ghost");
  expect(other.status).toBe(500);
  expect(await other.text()).toContain("No node found with name 'ghost'");
});

interface Summary {
  Timestamp: string;
  Gauges: { Name: string; Value: number }[];
  Points: unknown[];
  Counters: { Name: string; Count: number }[];
  Samples: { Name: string; Count: number; Sum: number; Labels: Record<string, string> }[];
}

test("/v1/agent/self counts the local services and checks", async () => {
  h = await startAgentHarness();
  await h.putOk("/v1/agent/service/register", { Name: "web", Checks: [{ TTL: "10s" }, { TTL: "20s" }] });
  const self = await h.getJson<{ Stats: { agent: Record<string, string> } }>("/v1/agent/self");
  expect(self.Stats.agent).toMatchObject({ checks: "2", services: "1" });
});

test("metrics: JSON summary with real figures", async () => {
  h = await startAgentHarness({ hooks: { memory: () => ({ rss: 3e7, heapTotal: 2e7, heapUsed: 1e7 }) } });
  await h.putOk("/v1/agent/service/register", { Name: "web" });
  await h.getJson("/v1/agent/self");
  await h.getJson("/v1/agent/self");
  const m = await h.getJson<Summary>("/v1/agent/metrics");
  expect(m.Timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d0 \+0000 UTC$/);
  expect(m.Points).toEqual([]);
  const gauge = (n: string) => m.Gauges.find((g) => g.Name === n)?.Value;
  expect(gauge("consul.raft.last_index")).toBe(h.server.lastIndex());
  expect(gauge("consul.runtime.alloc_bytes")).toBe(1e7);
  expect(gauge("consul.runtime.sys_bytes")).toBe(3e7);
  expect(gauge("consul.agent.local.services")).toBe(1);
  expect(gauge("consul.state.nodes")).toBe(1);
  // The server's own "consul" service and the agent's "web".
  expect(gauge("consul.state.services")).toBe(2);
  const self = m.Samples.find((s) => s.Name === "consul.api.http" && s.Labels.path === "v1_agent_self");
  expect(self).toMatchObject({ Count: 2, Labels: { method: "GET", path: "v1_agent_self" } });
  expect(m.Samples.find((s) => s.Labels.path === "v1_agent_service_register")).toMatchObject({ Count: 1, Labels: { method: "PUT" } });
  expect(m.Counters.find((c) => c.Name === "consul.agent.anti_entropy.full_syncs")!.Count).toBeGreaterThanOrEqual(1);
});

test("metrics: Prometheus text with ?format=prometheus or an OpenMetrics Accept header", async () => {
  h = await startAgentHarness();
  await h.getJson("/v1/agent/self");
  const res = await h.get("/v1/agent/metrics?format=prometheus");
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toStartWith("text/plain; version=0.0.4");
  const text = await res.text();
  expect(text).toContain("# TYPE consul_raft_last_index gauge\n");
  expect(text).toContain(`consul_raft_last_index ${h.server.lastIndex()}\n`);
  expect(text).toContain("# TYPE consul_api_http summary\n");
  expect(text).toContain('consul_api_http_count{method="GET",path="v1_agent_self"} 1\n');
  const viaAccept = await h.get("/v1/agent/metrics", { Accept: "application/openmetrics-text; version=1.0.0" });
  expect(await viaAccept.text()).toContain("# TYPE consul_raft_last_index gauge");
});
