/**
 * The Serf layer in the simulator: joining through push-pull, tag updates,
 * user events delivered once each, queries with per-member answers,
 * force-leave (and prune), reaping of failed and left members.
 */
import { describe, expect, test } from "bun:test";
import { SimCluster } from "../../src/gossip/sim/cluster.ts";
import type { PoolEvent } from "../../src/gossip/types.ts";

function statusAt(c: SimCluster, observer: string, subject: string): string | undefined {
  return c.node(observer).serf.members().find((m) => m.Name === subject)?.Status;
}

describe("serf layer (simulated)", () => {
  test("30 members join one seed through push-pull and converge; tags spread as updates", async () => {
    const c = new SimCluster({ n: 30, seed: 12, seeded: false });
    const joins = c.nodes.slice(1).map((n) => n.serf.join([`${c.nodes[0]?.addr.addr}:7946`]));
    await c.runAsync(1000);
    expect(await Promise.all(joins)).toEqual(new Array(29).fill(1));
    c.runFor(15_000);
    for (const n of c.nodes) expect(n.serf.numAliveMembers()).toBe(30);
    const updates: string[] = [];
    c.listeners.push((node, e) => e.type === "member-update" && updates.push(`${node.name}:${e.member.Name}:${e.member.Tags.role}`));
    c.node("n5").serf.setTags({ role: "consul", dc: "dc1", port: "8300" });
    c.runFor(5000);
    expect(updates.length).toBe(30);
    expect(updates).toContain("n17:n5:consul");
    expect(c.node("n29").serf.members().find((m) => m.Name === "n5")?.Tags).toEqual({ role: "consul", dc: "dc1", port: "8300" });
    void c.shutdown();
  });

  test("a user event reaches every member exactly once, even with loss", () => {
    const c = new SimCluster({ n: 50, seed: 13, loss: 0.1 });
    const got = new Map<string, number>();
    c.listeners.push((node, e: PoolEvent) => {
      if (e.type === "user") got.set(`${node.name}/${e.name}`, (got.get(`${node.name}/${e.name}`) ?? 0) + 1);
    });
    c.node("n3").serf.userEvent("deploy", new TextEncoder().encode("v1"), false);
    c.node("n9").serf.userEvent("restart", new Uint8Array(0), true);
    c.runFor(10_000);
    expect(got.size).toBe(100);
    expect([...got.values()].every((v) => v === 1)).toBe(true);
    void c.shutdown();
  });

  test("a query is answered by every member (and only the filtered ones when filtered)", async () => {
    const c = new SimCluster({ n: 20, seed: 14 });
    c.runFor(1000);
    c.listeners.push((node, e) => {
      if (e.type === "query" && e.name === "whoami") e.respond(new TextEncoder().encode(node.name.toUpperCase()));
    });
    const q = c.node("n0").serf.query("whoami", new Uint8Array(0));
    c.runFor(5000);
    const r = await q;
    expect(r.expected).toBe(20);
    expect(r.responses.size).toBe(20);
    expect(new TextDecoder().decode(r.responses.get("n7"))).toBe("N7");
    const f = c.node("n1").serf.query("whoami", new Uint8Array(0), { filterNodes: ["n2", "n3"], timeoutMs: 2000 });
    c.runFor(3000);
    expect([...(await f).responses.keys()].sort()).toEqual(["n2", "n3"]);
    void c.shutdown();
  });

  test("force-leave turns a failed member left; with prune it is forgotten at once", async () => {
    const c = new SimCluster({ n: 10, seed: 15 });
    c.runFor(1000);
    c.kill(c.node("n8"));
    c.kill(c.node("n9"));
    c.runFor(20_000);
    expect(statusAt(c, "n0", "n8")).toBe("failed");
    const reaps: string[] = [];
    c.listeners.push((node, e) => e.type === "member-reap" && reaps.push(`${node.name}:${e.member.Name}`));
    const p1 = c.node("n0").serf.forceLeave("n8");
    const p2 = c.node("n1").serf.forceLeave("n9", true);
    c.runFor(6000);
    await Promise.all([p1, p2]);
    for (const n of c.alive()) {
      expect(statusAt(c, n.name, "n8")).toBe("left");
      expect(statusAt(c, n.name, "n9")).toBeUndefined();
    }
    expect(reaps.filter((r) => r.endsWith(":n9")).length).toBe(8);
    void c.shutdown();
  });

  test("failed members are reaped after the reconnect timeout, left ones after the tombstone timeout", async () => {
    const c = new SimCluster({ n: 8, seed: 16, config: { reconnectTimeoutMs: 60_000, tombstoneTimeoutMs: 120_000, reapIntervalMs: 5000, leavePropagateDelayMs: 500 } });
    c.runFor(1000);
    c.kill(c.node("n7"));
    const leaving = c.node("n6").serf.leave();
    await c.runAsync(10_000);
    await leaving;
    await c.node("n6").serf.shutdown();
    c.node("n6").killed = true;
    c.runFor(10_000);
    expect(statusAt(c, "n0", "n7")).toBe("failed");
    expect(statusAt(c, "n0", "n6")).toBe("left");
    c.runFor(60_000);
    expect(statusAt(c, "n0", "n7")).toBeUndefined();
    expect(statusAt(c, "n0", "n6")).toBe("left");
    c.runFor(60_000);
    expect(statusAt(c, "n0", "n6")).toBeUndefined();
    expect(c.node("n0").serf.members().length).toBe(6);
    void c.shutdown();
  });

  test("a member accused of leaving while alive refutes it", () => {
    const c = new SimCluster({ n: 10, seed: 17 });
    c.runFor(1000);
    void c.node("n0").serf.forceLeave("n5");
    c.runFor(1000);
    c.runFor(10_000);
    for (const n of c.nodes) expect(statusAt(c, n.name, "n5")).toBe("alive");
    void c.shutdown();
  });

  test("messages too big for a datagram travel over a stream (acks carrying coordinates, here)", () => {
    // With a 100-byte datagram limit an ack with its coordinate (120 bytes sealed) cannot go by UDP.
    const c = new SimCluster({ n: 5, seed: 18, config: { udpBufferSize: 100 } });
    c.runFor(20_000);
    const s = c.node("n0").serf.stats();
    expect(s.streamsOpened).toBeGreaterThan(10);
    expect(c.failures).toEqual([]);
    // Probes succeeded through the streamed acks, so coordinates moved off the origin.
    expect(c.node("n0").serf.coordinates().size).toBe(5);
    void c.shutdown();
  });
});
