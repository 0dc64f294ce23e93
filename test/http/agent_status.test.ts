import { afterAll, describe, expect, test } from "bun:test";
import { ADDR, DC, NODE, NODE_ID, startHarness } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

describe("status", () => {
  test("leader is the server's RPC address as a JSON string", async () => {
    const res = await h.get("/v1/status/leader");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toStartWith("application/json");
    expect(await res.text()).toBe(`"${ADDR}:8300"`);
  });

  test("peers lists the one server", async () => {
    expect(await h.getJson<string[]>("/v1/status/peers")).toEqual([`${ADDR}:8300`]);
  });
});

describe("agent", () => {
  test("self: Config.Datacenter, NodeName, NodeID, Server; Member.Addr", async () => {
    const self = await h.getJson<{
      Config: Record<string, unknown>;
      Member: Record<string, unknown>;
      DebugConfig: Record<string, unknown>;
      Stats: Record<string, Record<string, string>>;
    }>("/v1/agent/self");
    expect(self.Config).toMatchObject({ Datacenter: DC, NodeName: NODE, NodeID: NODE_ID, Server: true, PrimaryDatacenter: DC });
    expect(typeof self.Config.Version).toBe("string");
    expect(self.Member).toMatchObject({ Name: NODE, Addr: ADDR, Port: 8301, Status: 1 });
    expect((self.Member.Tags as Record<string, string>).dc).toBe(DC);
    expect((self.Member.Tags as Record<string, string>).role).toBe("consul");
    expect(self.DebugConfig.KVMaxValueSize).toBe(512 * 1024);
    expect(self.Stats.consul!.leader).toBe("true");
  });

  test("members: this agent, alive, with its serf tags", async () => {
    const members = await h.getJson<{ Name: string; Addr: string; Port: number; Status: number; Tags: Record<string, string> }[]>("/v1/agent/members");
    expect(members).toHaveLength(1);
    expect(members[0]).toMatchObject({ Name: NODE, Addr: ADDR, Port: 8301, Status: 1 });
    expect(members[0]!.Tags).toMatchObject({ dc: DC, id: NODE_ID, role: "consul", port: "8300" });
  });

  test("members ?wan lists the server as <node>.<dc>", async () => {
    const members = await h.getJson<{ Name: string; Port: number; Tags: Record<string, string> }[]>("/v1/agent/members?wan=1");
    expect(members.map((m) => m.Name)).toEqual([`${NODE}.${DC}`]);
    expect(members[0]!.Port).toBe(8302);
  });

  test("unknown paths are 404 page not found", async () => {
    const res = await h.get("/v1/agent/nope");
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("404 page not found");
  });
});
