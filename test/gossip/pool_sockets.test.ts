/**
 * Real UDP/TCP sockets on loopback: members join, see a user event, see a
 * crashed member marked failed and a leaving one marked left.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import net from "node:net";
import { createPool, encodeKey } from "../../src/gossip/mod.ts";
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

  test("encrypted pool: a wrong-key member cannot join; key rotation fails nobody", async () => {
    const k1 = encodeKey(randomBytes(32));
    const k2 = encodeKey(randomBytes(32));
    const persisted: string[][] = [];
    const a = await start("a", { keyring: { keys: [k1] }, onKeyringChange: (keys) => persisted.push(keys) });
    const b = await start("b", { keyring: { keys: [k1] } });
    const c = await start("c", { keyring: { keys: [k1] } });
    const seed = `127.0.0.1:${a.localMember().Port}`;
    await b.join([seed]);
    await c.join([seed]);
    await until(() => [a, b, c].every((p) => p.numAliveMembers() === 3));

    const intruder = await start("x", { keyring: { keys: [encodeKey(randomBytes(32))] } });
    await expect(intruder.join([seed])).rejects.toThrow("Failed to join");
    expect(a.stats().dropped.unknownKey).toBeGreaterThan(0);

    const failed: string[] = [];
    for (const p of [a, b, c]) p.on((e) => e.type === "member-failed" && failed.push(e.member.Name));
    const inst = await b.installKey(k2);
    expect(inst).toMatchObject({ NumNodes: 3, NumResp: 3, NumErr: 0 });
    expect((await a.useKey(k2)).NumErr).toBe(0);
    expect((await c.removeKey(k1)).NumErr).toBe(0);
    const list = await a.listKeys();
    expect(list.Keys).toEqual({ [k2]: 3 });
    expect(list.PrimaryKeys).toEqual({ [k2]: 3 });
    // Gossip, probes and events keep working under the new key.
    const got: string[] = [];
    c.on((e) => e.type === "user" && got.push(e.name));
    a.userEvent("after-rotation", new Uint8Array(0), false);
    await until(() => got.length === 1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(failed).toEqual([]);
    // The agent is told after each change, so it can persist the keyring.
    expect(persisted).toEqual([[k1, k2], [k2, k1], [k2]]);
  });

  test("garbage datagrams and streams are dropped and counted; the pool keeps working", async () => {
    const a = await start("a");
    const b = await start("b");
    await b.join([`127.0.0.1:${a.localMember().Port}`]);
    const port = a.localMember().Port;
    const sock = dgram.createSocket("udp4");
    for (let i = 0; i < 50; i++) await new Promise<void>((r) => sock.send(randomBytes(1 + i * 7), port, "127.0.0.1", () => r()));
    await new Promise<void>((r) => sock.close(() => r()));
    for (const junk of [randomBytes(3), randomBytes(100), new Uint8Array([0, 0, 0, 5, 1, 2])]) {
      await new Promise<void>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => s.end(junk));
        s.resume();
        s.on("close", () => resolve());
        s.on("error", () => resolve());
      });
    }
    await until(() => {
      const d = a.stats().dropped;
      return d.malformed + d.badVersion + d.wrongLabel + d.stale >= 53;
    });
    const seen: string[] = [];
    a.on((e) => e.type === "user" && seen.push(e.name));
    b.userEvent("still-alive", new Uint8Array(0), false);
    await until(() => seen.length === 1);
    expect(a.members().filter((m) => m.Status === "alive").length).toBe(2);
  });
});
