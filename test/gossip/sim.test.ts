/**
 * The SWIM+Lifeguard core in the deterministic simulator (virtual time, one
 * process, the same code as on sockets): failure detection and
 * dissemination at 1,000 members, false positives under packet loss and
 * with a CPU-starved member, partitions healing, and determinism.
 */
import { describe, expect, test } from "bun:test";
import { suspicionTimeoutMs } from "../../src/gossip/config.ts";
import { SimCluster } from "../../src/gossip/sim/cluster.ts";
import { failureScenario, lossScenario, slowMemberScenario } from "../../src/gossip/sim/scenarios.ts";

describe("simulated pool", () => {
  test("1,000 members: a killed member is known failed by all, spreading in O(log n) gossip rounds", () => {
    const r = failureScenario({ n: 1000, seed: 7 });
    const lg = Math.log2(1000);
    // Detection waits out the suspicion timeout (12 s at n=1000, shrunk from 72 s by confirmations).
    const min = suspicionTimeoutMs(4, 1000, 1000);
    expect(r.firstFailedMs).toBeGreaterThanOrEqual(min);
    expect(r.allFailedMs).toBeLessThan(min + 6000);
    // Once one member declares it dead, everyone knows within a few gossip rounds.
    expect(r.disseminationGossipRounds).toBeLessThanOrEqual(2 * Math.ceil(lg));
    expect(r.disseminationProbeRounds).toBeLessThanOrEqual(Math.ceil(lg));
    expect(r.falsePositives).toBe(0);
    // Steady state: one probe and its ack per member per second, plus a little gossip.
    expect(r.steadyLoad.packetsPerNodePerSec).toBeGreaterThan(1.5);
    expect(r.steadyLoad.packetsPerNodePerSec).toBeLessThan(10);
  }, 300_000);

  test("10% packet loss (UDP only, no TCP pings): no member is marked failed", () => {
    const r = lossScenario({ n: 200, seed: 11, loss: 0.1, durationMs: 30_000, config: { disableTcpPings: true } });
    expect(r.lossRate).toBeGreaterThan(0.08);
    // Probes do fail now and then, and the accused refute in time.
    expect(r.suspicions).toBeGreaterThan(0);
    expect(r.refutes).toBeGreaterThan(0);
    expect(r.falsePositives).toBe(0);
  }, 300_000);

  test("a CPU-starved member: with Lifeguard no healthy member is marked failed; without it some are", () => {
    const base = { n: 100, seed: 5, durationMs: 60_000, lagMs: 10_000 };
    const on = slowMemberScenario({ ...base, lifeguard: true });
    expect(on.healthyMarkedFailed).toBe(0);
    // The slow member noticed it was the problem: its health score went up, so it probed and suspected less.
    expect(on.slowHealth).toBeGreaterThan(0);
    const off = slowMemberScenario({ ...base, lifeguard: false });
    expect(off.healthyMarkedFailed).toBeGreaterThan(0);
    expect(off.suspicionsBySlow).toBeGreaterThan(on.suspicionsBySlow);
  }, 300_000);

  test("a partition: each side marks the other failed; after healing, reconnects bring everyone back", () => {
    const c = new SimCluster({ n: 20, seed: 3, config: { reconnectIntervalMs: 5000 } });
    c.runFor(3000);
    const left = c.nodes.slice(0, 10);
    const right = c.nodes.slice(10);
    c.net.partition([left.map((x) => x.addr)]);
    c.runFor(60_000);
    for (const a of left) for (const b of right) expect(a.serf.members().find((m) => m.Name === b.name)?.Status).toBe("failed");
    c.net.heal();
    c.runFor(120_000);
    for (const a of c.nodes) expect(a.serf.members().filter((m) => m.Status === "alive").length).toBe(20);
    void c.shutdown();
  }, 300_000);

  test("the same seed gives the same run", () => {
    const run = (): string => {
      const c = new SimCluster({ n: 50, seed: 99, loss: 0.05 });
      c.runFor(2000);
      c.kill(c.nodes[7] as (typeof c.nodes)[number]);
      c.runFor(20_000);
      const out = JSON.stringify({ f: c.failures, t: c.totals(), coord: c.nodes[3]?.serf.coordinate() });
      void c.shutdown();
      return out;
    };
    const a = run();
    expect(a).toContain("n7");
    expect(run()).toBe(a);
  }, 30_000);
});
