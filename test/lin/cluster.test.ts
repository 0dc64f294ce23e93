/**
 * Linearizability of a 3-server cluster on a 3-node NATS JetStream log under
 * faults: clients spread over the servers do KV get/put/CAS while the fault
 * schedule kills and restarts, or pauses and continues, one Consulate server
 * or one nats-server node at a time. Every acknowledged write must survive
 * and the history must be linearizable per key.
 *
 * LIN_CLUSTER_DURATION_MS (default 20000) and LIN_SEED replay or lengthen a run.
 */
import { afterAll, expect, test } from "bun:test";
import { startNatsCluster } from "../_nats.ts";
import { freePort, tempDir } from "../e2e/_agent.ts";
import { AgentTarget, dataDirArgs, natsTarget } from "./_targets.ts";
import { describeRun, linearizabilityRun } from "./run.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** Until every server acknowledges a write (outside the checked keys). */
async function allServersWrite(servers: readonly AgentTarget[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const s of servers) {
    for (;;) {
      try {
        const r = await fetch(`${s.base}/v1/kv/lin-probe/${s.name}`, { method: "PUT", body: "x", signal: AbortSignal.timeout(2_000) });
        if ((await r.text()) === "true") break;
      } catch {
        // not serving yet
      }
      if (Date.now() > deadline) throw new Error(`${s.name} does not accept writes:\n${s.output().slice(-2_000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

test("3 servers on 3 nats-server nodes, one of them killed or paused at a time, stay linearizable and keep acknowledged writes", async () => {
  const seed = Number(process.env.LIN_SEED ?? Date.now() % 1_000_000);
  const durationMs = Number(process.env.LIN_CLUSTER_DURATION_MS ?? 20_000);
  const nats = await startNatsCluster();
  cleanups.push(() => nats.stop());
  const dir = await tempDir("consulate-lin-cluster-");
  cleanups.push(() => dir.remove());
  const serfPorts = [await freePort(), await freePort(), await freePort()];
  const servers = await Promise.all(
    serfPorts.map(async (serf, i) => {
      const name = `server${i}`;
      const join = serfPorts.filter((p) => p !== serf).flatMap((p) => ["-retry-join", `127.0.0.1:${p}`]);
      const args = ["-server", "-bootstrap-expect", "3", "-nats", nats.urls.join(","), ...dataDirArgs(dir.path, name), "-server-port", String(await freePort()), "-serf-lan-port", String(serf), ...join];
      const s = await AgentTarget.start(name, args);
      cleanups.push(() => s.destroy());
      return s;
    }),
  );
  await allServersWrite(servers);

  const lines: string[] = [];
  const report = await linearizabilityRun({
    servers: servers.map((s) => () => s.base),
    targets: [...servers, ...[0, 1, 2].map((i) => natsTarget(nats, i))],
    durationMs,
    seed,
    clients: 6,
    timeoutMs: 2_000,
    settle: () => allServersWrite(servers),
    log: (l) => lines.push(l),
  });
  const summary = `seed ${seed}: ${describeRun(report)}\n  ${lines.join("\n  ")}`;
  console.log(summary);
  if (report.check.result !== "ok") console.log(report.history.dump().slice(0, 20_000));
  expect(report.check.result).toBe("ok");
  expect(report.events.length).toBeGreaterThanOrEqual(Math.min(3, Math.floor(durationMs / 6_000)));
  expect(report.history.stats.ackedWrites).toBeGreaterThan(100);
}, 180_000);
