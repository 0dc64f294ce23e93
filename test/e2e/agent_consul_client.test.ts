/**
 * The `consul` npm package (v2), unchanged, against a running agent:
 * service registration with a TTL check, TTL passes and fails, health
 * queries, maintenance, events, and a KV lock held through a session.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import Consul from "consul";
import { cleanupAll, type LocalAgent, startLocalAgent } from "./_local_agent.ts";

let agent: LocalAgent;
let consul: Consul;

beforeAll(async () => {
  agent = await startLocalAgent(["-dev", "-node", "npm-client"]);
  consul = new Consul({ host: "127.0.0.1", port: agent.port });
});
afterAll(cleanupAll);

interface Entry {
  Service: { ID: string; Service: string; Port: number };
  Checks: { CheckID: string; Status: string; Output: string }[];
}

test("register a service with a TTL check, pass and fail it, and see health follow", async () => {
  // The package's typings demand a check name and timeout, which Consul (and the package itself) do not.
  const heartbeat = { ttl: "30s", notes: "heartbeat" } as unknown as Parameters<typeof consul.agent.check.register>[0];
  await consul.agent.service.register({ name: "api", id: "api1", port: 9000, tags: ["v1"], check: heartbeat });
  const services = (await consul.agent.service.list()) as Record<string, { Service: string; Port: number; Tags: string[] }>;
  expect(services.api1).toMatchObject({ Service: "api", Port: 9000, Tags: ["v1"] });
  const checks = (await consul.agent.check.list()) as Record<string, { Status: string; ServiceID: string; Notes: string }>;
  expect(checks["service:api1"]).toMatchObject({ Status: "critical", ServiceID: "api1", Notes: "heartbeat" });

  expect((await consul.health.service({ service: "api", passing: true })) as Entry[]).toEqual([]);
  await consul.agent.check.pass({ id: "service:api1", note: "all good" });
  const passing = (await consul.health.service({ service: "api", passing: true })) as Entry[];
  expect(passing).toHaveLength(1);
  expect(passing[0]!.Checks.find((c) => c.CheckID === "service:api1")).toMatchObject({ Status: "passing", Output: "all good" });

  await consul.agent.check.fail({ id: "service:api1", note: "db down" });
  expect((await consul.health.service({ service: "api", passing: true })) as Entry[]).toEqual([]);
  await consul.agent.check.warn("service:api1");
  const state = (await consul.health.state("warning")) as { CheckID: string }[];
  expect(state.map((c) => c.CheckID)).toContain("service:api1");
});

test("a standalone check, maintenance mode and deregistration", async () => {
  await consul.agent.check.register({ name: "disk", checkid: "disk", ttl: "30s", status: "passing", timeout: "1s" });
  expect(((await consul.agent.check.list()) as Record<string, { Status: string }>).disk!.Status).toBe("passing");
  await consul.agent.maintenance({ enable: true, reason: "patching" });
  const node = (await consul.health.node("npm-client")) as { CheckID: string; Status: string; Notes: string }[];
  expect(node.find((c) => c.CheckID === "_node_maintenance")).toMatchObject({ Status: "critical", Notes: "patching" });
  await consul.agent.maintenance(false);
  await consul.agent.check.deregister("disk");
  await consul.agent.service.deregister("api1");
  expect(await consul.agent.service.list()).toEqual({});
  expect((await consul.catalog.service.nodes("api")) as unknown[]).toEqual([]);
});

test("a KV lock through sessions: acquire, contend, release, take over", async () => {
  const a = (await consul.session.create({ name: "leader-a", ttl: "15s", behavior: "release" })) as { ID: string };
  const b = (await consul.session.create({ name: "leader-b", ttl: "15s" })) as { ID: string };
  expect(await consul.kv.set({ key: "service/api/leader", value: "a", acquire: a.ID })).toBe(true);
  // Consul answers `false`; the package hands a false body back as undefined.
  expect(await consul.kv.set({ key: "service/api/leader", value: "b", acquire: b.ID })).toBeFalsy();
  const held = (await consul.kv.get("service/api/leader")) as unknown as { Session: string; Value: string; LockIndex: number };
  expect(held).toMatchObject({ Session: a.ID, Value: "a", LockIndex: 1 });
  expect(await consul.kv.set({ key: "service/api/leader", value: "", release: a.ID })).toBe(true);
  expect(await consul.kv.set({ key: "service/api/leader", value: "b", acquire: b.ID })).toBe(true);
  expect((await consul.kv.get("service/api/leader")) as unknown as { Session: string }).toMatchObject({ Session: b.ID });
  const renewed = (await consul.session.renew(b.ID)) as { ID: string }[];
  expect(renewed[0]!.ID).toBe(b.ID);
  await consul.session.destroy(a.ID);
  await consul.session.destroy(b.ID);
  expect(((await consul.kv.get("service/api/leader")) as unknown as { Session?: string }).Session).toBeUndefined();
});

test("events: fire and list", async () => {
  const fired = (await consul.event.fire("deploy", "v2")) as { ID: string; Name: string; Payload: Buffer | string };
  expect(fired.Name).toBe("deploy");
  const list = (await consul.event.list({ name: "deploy" })) as { ID: string; Payload: Buffer | string }[];
  expect(list.map((e) => e.ID)).toEqual([fired.ID]);
  expect(String(list[0]!.Payload)).toBe("v2");
});
