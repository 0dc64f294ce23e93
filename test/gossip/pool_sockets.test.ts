/**
 * Real UDP/TCP sockets on loopback: members join, see a user event, see a
 * crashed member marked failed and a leaving one marked left.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createPool } from "../../src/gossip/mod.ts";
import type { PoolEvent, Serf } from "../../src/gossip/mod.ts";

const FAST = { probeIntervalMs: 200, probeTimeoutMs: 100, gossipIntervalMs: 50, suspicionMult: 2, leavePropagateDelayMs: 100, pushPullIntervalMs: 2000 };
const pools: Serf[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.shutdown()));
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("Timed out waiting for a condition");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function start(name: string, extra: Partial<Parameters<typeof createPool>[0]> = {}): Promise<Serf> {
  const p = await createPool({ name, bindPort: 0, config: FAST, dc: "dc1", ...extra });
  pools.push(p);
  return p;
}

function statusOf(p: Serf, name: string): string | undefined {
  return p.members().find((m) => m.Name === name)?.Status;
}

describe("gossip pool on loopback sockets", () => {
  test("join, tags, user event, failure and leave", async () => {
    const a = await start("a", { tags: { role: "consul", dc: "dc1" } });
    const b = await start("b");
    const c = await start("c");
    const seed = `127.0.0.1:${a.localMember().Port}`;
    expect(await b.join([seed])).toBe(1);
    expect(await c.join([seed])).toBe(1);
    await until(() => [a, b, c].every((p) => p.members().filter((m) => m.Status === "alive").length === 3));
    expect(c.members().find((m) => m.Name === "a")?.Tags).toEqual({ role: "consul", dc: "dc1" });

    const seen: string[] = [];
    for (const p of [a, b, c]) p.on((e: PoolEvent) => e.type === "user" && seen.push(`${p.name}:${e.name}:${new TextDecoder().decode(e.payload)}`));
    b.userEvent("deploy", new TextEncoder().encode("v42"), false);
    await until(() => seen.length === 3);
    expect(seen.sort()).toEqual(["a:deploy:v42", "b:deploy:v42", "c:deploy:v42"]);

    b.setTags({ role: "node", build: "x" });
    await until(() => a.members().find((m) => m.Name === "b")?.Tags.build === "x");

    // c crashes: closes its sockets without a word.
    await c.shutdown();
    await until(() => statusOf(a, "c") === "failed" && statusOf(b, "c") === "failed", 8000);

    // b leaves gracefully.
    await b.leave();
    await until(() => statusOf(a, "b") === "left");
    expect(a.numAliveMembers()).toBe(1);
  });

  test("join fails cleanly when nobody answers", async () => {
    const a = await start("a");
    await expect(a.join(["127.0.0.1:1"])).rejects.toThrow("Failed to join");
  });
});
