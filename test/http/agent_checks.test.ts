/** `/v1/agent/checks` and `/v1/agent/check/*`: registration, TTL updates, expiry, refusals. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { type AgentHarness, catalogCheck, startAgentHarness } from "./_agent_harness.ts";
import { NODE, sleep, track } from "./_harness.ts";

let h: AgentHarness;
beforeEach(async () => {
  h = await startAgentHarness();
});
afterEach(async () => {
  await h.stop();
});

type Check = Record<string, unknown> & { Status: string; Output: string };
const checks = () => h.getJson<Record<string, Check>>("/v1/agent/checks");

test("a node-level TTL check is listed as structs.HealthCheck with this node's name", async () => {
  await h.putOk("/v1/agent/check/register", { Name: "mem", TTL: "15s", Notes: "memory pressure" });
  const all = await checks();
  expect(all).toEqual({
    mem: {
      Node: NODE,
      CheckID: "mem",
      Name: "mem",
      Status: "critical",
      Notes: "memory pressure",
      Output: "",
      ServiceID: "",
      ServiceName: "",
      ServiceTags: [],
      Type: "ttl",
      Interval: "",
      Timeout: "",
      ExposedPort: 0,
      Definition: { TTL: "15s" },
      CreateIndex: 0,
      ModifyIndex: 0,
    },
  });
  expect(catalogCheck(h, "mem")).toMatchObject({ Status: "critical" });
});

test("pass, warn, fail and update set a TTL check's status and output, and the catalog follows", async () => {
  await h.putOk("/v1/agent/check/register", { ID: "ttl1", Name: "ttl", TTL: "15s", Status: "passing" });
  expect((await checks()).ttl1!.Status).toBe("passing");
  await h.putOk("/v1/agent/check/warn/ttl1?note=slow");
  expect((await checks()).ttl1).toMatchObject({ Status: "warning", Output: "slow" });
  expect(catalogCheck(h, "ttl1")).toMatchObject({ Status: "warning", Output: "slow" });
  await h.putOk("/v1/agent/check/fail/ttl1?note=down");
  expect(catalogCheck(h, "ttl1")).toMatchObject({ Status: "critical", Output: "down" });
  await h.putOk("/v1/agent/check/pass/ttl1");
  expect(catalogCheck(h, "ttl1")).toMatchObject({ Status: "passing", Output: "" });
  await h.putOk("/v1/agent/check/update/ttl1", { Status: "warning", Output: "via update" });
  expect(catalogCheck(h, "ttl1")).toMatchObject({ Status: "warning", Output: "via update" });
  // Field names are case-insensitive, as Go decodes them.
  await h.putOk("/v1/agent/check/update/ttl1", { status: "passing", output: "lower" });
  expect((await checks()).ttl1).toMatchObject({ Status: "passing", Output: "lower" });
});

test("update: a bad status or body is a 400; long output is cut at 4096 bytes as Consul words it", async () => {
  await h.putOk("/v1/agent/check/register", { ID: "t", Name: "t", TTL: "15s" });
  const bad = await h.put("/v1/agent/check/update/t", { Status: "fine" });
  expect([bad.status, await bad.text()]).toEqual([400, "Invalid check status: 'fine'"]);
  const missing = await h.put("/v1/agent/check/update/t", {});
  expect([missing.status, await missing.text()]).toEqual([400, "Invalid check status: ''"]);
  const wrongType = await h.put("/v1/agent/check/update/t", { Status: "passing", Output: 5 });
  expect(wrongType.status).toBe(400);
  expect(await wrongType.text()).toBe("Request decode failed: json: cannot unmarshal number into Go struct field checkUpdate.Output of type string");
  const empty = await h.put("/v1/agent/check/update/t");
  expect([empty.status, await empty.text()]).toEqual([400, "Request decode failed: EOF"]);

  await h.putOk("/v1/agent/check/update/t", { Status: "passing", Output: "x".repeat(5000) });
  expect((await checks()).t!.Output).toBe(`${"x".repeat(4096)} ... (captured 4096 of 5000 bytes)`);
});

test("a TTL check that is not refreshed turns critical with 'TTL expired'", async () => {
  await h.putOk("/v1/agent/check/register", { ID: "t", Name: "t", TTL: "10s" });
  await h.putOk("/v1/agent/check/pass/t?note=ok");
  h.clock.advance(9_000);
  expect((await checks()).t!.Status).toBe("passing");
  h.clock.advance(2_000);
  expect((await checks()).t).toMatchObject({ Status: "critical", Output: "TTL expired (last output before timeout follows): ok" });
  await sleep(20);
  expect(catalogCheck(h, "t")).toMatchObject({ Status: "critical" });
});

test("a check on a service carries the service's name and tags; an unknown ServiceID is a 404", async () => {
  await h.putOk("/v1/agent/service/register", { ID: "web1", Name: "web", Tags: ["a"] });
  await h.putOk("/v1/agent/check/register", { ID: "web-ttl", Name: "web ttl", ServiceID: "web1", TTL: "10s" });
  expect((await checks())["web-ttl"]).toMatchObject({ ServiceID: "web1", ServiceName: "web", ServiceTags: ["a"] });
  const res = await h.put("/v1/agent/check/register", { Name: "x", ServiceID: "nope", TTL: "10s" });
  expect([res.status, await res.text()]).toEqual([404, 'ServiceID "nope" does not exist']);
});

test.each([
  [{ TTL: "10s" }, "Missing check name"],
  [{ Name: "x", TTL: "10s", Status: "ok" }, "Bad check status"],
  [{ Name: "x" }, "Invalid check: TTL must be > 0 for TTL checks"],
  [{ Name: "x", TCP: "127.0.0.1:1", Interval: "-1s" }, "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks"],
  [{ Name: "x", TTL: "10s", Interval: "10s", HTTP: "http://x" }, "Invalid check: Interval and TTL cannot both be specified"],
  [{ Name: 5, TTL: "10s" }, "Request decode failed: json: cannot unmarshal number into Go struct field CheckDefinition.Name of type string"],
  [
    { Name: "x", Args: ["/bin/sh", "-c", "exit 0"], Interval: "10s" },
    "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true",
  ],
])("check registration %j is a 400: %s", async (body, message) => {
  const res = await h.put("/v1/agent/check/register", body);
  expect(await res.text()).toBe(message);
  expect(res.status).toBe(400);
  expect(await checks()).toEqual({});
});

test("unknown check IDs are 404s; TTL updates on a non-TTL check are refused", async () => {
  for (const path of ["/v1/agent/check/pass/nope", "/v1/agent/check/deregister/nope", "/v1/agent/check/warn/nope"]) {
    const res = await h.put(path);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('Unknown check ID "nope". Ensure that the check ID is passed, not the check name.');
  }
  await h.putOk("/v1/agent/check/register", { ID: "tcp", Name: "tcp", TCP: "127.0.0.1:1", Interval: "30s" });
  const res = await h.put("/v1/agent/check/pass/tcp");
  expect(res.status).toBe(400);
  expect(await res.text()).toBe('CheckID "tcp" does not have associated TTL');
});

test("deregister removes the check from the agent and the catalog", async () => {
  await h.putOk("/v1/agent/check/register", { ID: "t", Name: "t", TTL: "10s" });
  expect(catalogCheck(h, "t")).not.toBeNull();
  await h.putOk("/v1/agent/check/deregister/t");
  expect(await checks()).toEqual({});
  expect(catalogCheck(h, "t")).toBeNull();
});

test("?filter on checks, and ?index blocking wakes on a status change", async () => {
  await h.putOk("/v1/agent/check/register", { ID: "a", Name: "a", TTL: "10s", Status: "passing" });
  await h.putOk("/v1/agent/check/register", { ID: "b", Name: "b", TTL: "10s" });
  const passing = await h.getJson<object>(`/v1/agent/checks?filter=${encodeURIComponent('Status == "passing"')}`);
  expect(Object.keys(passing)).toEqual(["a"]);

  const first = await h.get("/v1/agent/checks");
  const index = Number(first.headers.get("X-Consul-Index"));
  const parked = track(h.get(`/v1/agent/checks?index=${index}&wait=10s`));
  await sleep(50);
  expect(parked.settled).toBe(false);
  await h.putOk("/v1/agent/check/pass/b");
  const res = await parked.promise;
  expect(Number(res.headers.get("X-Consul-Index"))).toBeGreaterThan(index);
  expect(((await res.json()) as Record<string, Check>).b!.Status).toBe("passing");
});
