/** `/v1/operator/autopilot/*`: the replicated configuration (with CAS), health and state. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Harness, NODE_ID, startHarness } from "./_harness.ts";
import { MessageType, StateStore } from "../../src/state/mod.ts";
import type { AutopilotConfigRow } from "../../src/structs/autopilot.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

type Config = AutopilotConfigRow;

describe("autopilot configuration", () => {
  test("defaults, set, CAS, bad input", async () => {
    const first = await h.getJson<Config>("/v1/operator/autopilot/configuration");
    expect(first).toEqual({
      CleanupDeadServers: true, LastContactThreshold: "200ms", MaxTrailingLogs: 250, MinQuorum: 0, ServerStabilizationTime: "10s",
      RedundancyZoneTag: "", DisableUpgradeMigration: false, UpgradeVersionTag: "", CreateIndex: 0, ModifyIndex: 0,
    });

    // Absent fields are zero, as Consul decodes the body; names are case-insensitive; numbers are nanoseconds.
    expect(await h.putJson("/v1/operator/autopilot/configuration", { cleanupdeadservers: true, LastContactThreshold: "1m30s", MaxTrailingLogs: 10, ServerStabilizationTime: 5e9 })).toBe(true);
    const set = await h.getJson<Config>("/v1/operator/autopilot/configuration");
    expect(set).toMatchObject({ CleanupDeadServers: true, LastContactThreshold: "1m30s", MaxTrailingLogs: 10, MinQuorum: 0, ServerStabilizationTime: "5s" });
    expect(set.ModifyIndex).toBeGreaterThan(0);
    expect(set.CreateIndex).toBe(set.ModifyIndex);

    // CAS: a stale index is refused (false, nothing written), the current one wins.
    expect(await h.putJson(`/v1/operator/autopilot/configuration?cas=${set.ModifyIndex - 1}`, { MinQuorum: 3 })).toBe(false);
    expect((await h.getJson<Config>("/v1/operator/autopilot/configuration")).MinQuorum).toBe(0);
    expect(await h.putJson(`/v1/operator/autopilot/configuration?cas=${set.ModifyIndex}`, { MinQuorum: 3 })).toBe(true);
    const after = await h.getJson<Config>("/v1/operator/autopilot/configuration");
    expect(after.MinQuorum).toBe(3);
    expect(after.CreateIndex).toBe(set.CreateIndex);
    expect(after.ModifyIndex).toBeGreaterThan(set.ModifyIndex);

    const bad = async (path: string, body: unknown, text: string) => {
      const res = await h.put(path, typeof body === "string" ? body : JSON.stringify(body));
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(text);
    };
    await bad("/v1/operator/autopilot/configuration?cas=x", {}, "Error parsing cas value");
    await bad("/v1/operator/autopilot/configuration?cas=-1", {}, "Error parsing cas value");
    await bad("/v1/operator/autopilot/configuration", { LastContactThreshold: "soon" }, "Error parsing autopilot config");
    await bad("/v1/operator/autopilot/configuration", { MaxTrailingLogs: -1 }, "Error parsing autopilot config");
    await bad("/v1/operator/autopilot/configuration", { CleanupDeadServers: "yes" }, "Error parsing autopilot config");
    await bad("/v1/operator/autopilot/configuration", [1, 2], "Error parsing autopilot config");
    await bad("/v1/operator/autopilot/configuration", "{", "Request decode failed");
    const huge = await h.put("/v1/operator/autopilot/configuration", JSON.stringify({ RedundancyZoneTag: "x".repeat(200_000) }));
    expect(huge.status).toBe(413);
    // None of the refused writes changed anything.
    expect(await h.getJson<Config>("/v1/operator/autopilot/configuration")).toEqual(after);
    expect((await h.request("/v1/operator/autopilot/configuration", { method: "POST" })).status).toBe(405);
  });

  test("the configuration travels in snapshots", () => {
    const copy = new StateStore();
    copy.restore(h.server.state.snapshot());
    const row = copy.t.autopilot.get("config");
    expect(row?.MinQuorum).toBe(3);
    // And it is an ordinary log command (Consul's AutopilotRequestType is 9).
    expect(MessageType.Autopilot).toBe(9);
  });
});

describe("autopilot health and state", () => {
  test("the single server is the healthy leader", async () => {
    const res = await h.get("/v1/operator/autopilot/health");
    expect(res.status).toBe(200);
    const health = (await res.json()) as { Healthy: boolean; FailureTolerance: number; Servers: { ID: string; Leader: boolean; Voter: boolean; Healthy: boolean; LastContact: string; LastIndex: number }[] };
    expect(health.Healthy).toBe(true);
    expect(health.FailureTolerance).toBe(0);
    expect(health.Servers).toHaveLength(1);
    expect(health.Servers[0]).toMatchObject({ ID: NODE_ID, Leader: true, Voter: true, Healthy: true, LastContact: "0s" });
    expect(health.Servers[0]!.LastIndex).toBe(h.server.lastIndex());

    const state = await h.getJson<{ Healthy: boolean; Leader: string; Voters: string[]; Servers: Record<string, { Status: string; NodeType: string }> }>("/v1/operator/autopilot/state");
    expect(state.Healthy).toBe(true);
    expect(state.Leader).toBe(NODE_ID);
    expect(state.Voters).toEqual([NODE_ID]);
    expect(state.Servers[NODE_ID]).toMatchObject({ Status: "leader", NodeType: "voter" });
  });
});
