/**
 * WAN gossip over NATS (`"federation": {"wan_gossip": "nats"}`): two server
 * agents of two datacenters, each on its own NATS node, with nothing bound on
 * their Serf WAN ports. They join the WAN pool and see each other alive, reach
 * each other's datacenter with ?dc=, and a killed server is declared failed by
 * the other; garbage on the gossip subjects is dropped.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { addressToken, NatsGossipTransport, openEnvelope } from "../../federation/wan_gossip.ts";
import { type AgentProcess, freePort, startAgent, tempDir } from "../e2e/_agent.ts";
import { type NatsCluster, startNatsCluster } from "../_nats.ts";

const nats: Record<string, NatsCluster> = {};
const agents: Record<string, AgentProcess> = {};
const wanPort: Record<string, number> = {};
let dir: { path: string; remove(): Promise<void> };

interface WanMember {
  Name: string;
  Port: number;
  Status: number;
}
const members = async (dc: string) => (await (await fetch(`${agents[dc]!.base}/v1/agent/members?wan`)).json()) as WanMember[];

async function until<T>(what: string, fn: () => Promise<T | null>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

/** Whether a UDP port can be bound (nobody listens on it). */
function udpFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createSocket("udp4");
    s.once("error", () => res(false));
    s.bind(port, "127.0.0.1", () => s.close(() => res(true)));
  });
}

beforeAll(async () => {
  dir = await tempDir("consulate-wan-nats-");
  await Promise.all(["dca", "dcb"].map(async (dc) => {
    nats[dc] = await startNatsCluster({ size: 1, name: `wan-${dc}` });
    wanPort[dc] = await freePort();
  }));
  const pairs = [["dca", "dcb"], ["dcb", "dca"]] as const;
  await Promise.all(pairs.map(async ([dc, other]) => {
    const file = join(dir.path, `${dc}.json`);
    await writeFile(file, JSON.stringify({ federation: { wan_gossip: "nats", nats: nats[dc]!.urls, datacenters: { [other]: nats[other]!.urls } } }));
    agents[dc] = await startAgent(["-dev", "-datacenter", dc, "-node", `s-${dc}`, "-config-file", file, "-serf-wan-port", String(wanPort[dc]), "-retry-join-wan", `127.0.0.1:${wanPort[other]}`, "-retry-interval", "1s"]);
  }));
}, 60_000);

afterAll(async () => {
  for (const a of Object.values(agents)) await a.kill().catch(() => {});
  for (const n of Object.values(nats)) await n.stop();
  await dir?.remove();
}, 30_000);

test("servers of two datacenters join the WAN pool over NATS, with nothing on their WAN ports, and reach each other", async () => {
  for (const dc of ["dca", "dcb"]) {
    const alive = await until(`two alive WAN members in ${dc}`, async () => {
      const m = await members(dc);
      return m.filter((x) => x.Status === 1).length === 2 ? m : null;
    }, 15_000);
    expect(alive.map((m) => m.Name).sort()).toEqual(["s-dca.dca", "s-dcb.dcb"]);
    expect(await udpFree(wanPort[dc]!)).toBe(true);
  }
  const dcs = (await (await fetch(`${agents.dca!.base}/v1/catalog/datacenters`)).json()) as string[];
  expect(dcs.sort()).toEqual(["dca", "dcb"]);
  expect((await fetch(`${agents.dca!.base}/v1/kv/over-nats?dc=dcb`, { method: "PUT", body: "yes" })).status).toBe(200);
  expect(await (await fetch(`${agents.dcb!.base}/v1/kv/over-nats?raw`)).text()).toBe("yes");
}, 30_000);

test("garbage on a member's gossip subjects is dropped and gossip goes on", async () => {
  const nc: NatsConnection = await connect({ servers: nats.dca!.urls });
  try {
    const token = addressToken({ addr: "127.0.0.1", port: wanPort.dca! });
    for (const body of [new Uint8Array(0), new Uint8Array([0, 0, 0]), new Uint8Array([200, 1, 2]), new Uint8Array(64).fill(7)]) {
      nc.publish(`consulate.wan-gossip.packet.${token}`, body);
      await nc.request(`consulate.wan-gossip.stream.${token}`, body, { timeout: 300 }).catch(() => null);
    }
    await nc.flush();
  } finally {
    await nc.close();
  }
  await Bun.sleep(500);
  expect((await members("dca")).filter((m) => m.Status === 1).length).toBe(2);
  // The envelope: the sender travels with the payload; anything short, empty-addressed or oversized is not one.
  expect(openEnvelope(new Uint8Array([3, 49, 46, 50, 0x1f, 0x90, 9, 9]))).toEqual({ from: { addr: "1.2", port: 8080 }, data: new Uint8Array([9, 9]) });
  for (const bad of [new Uint8Array(0), new Uint8Array([0, 1, 2]), new Uint8Array([9, 1, 2]), new Uint8Array((1 << 20) + 1)]) expect(openEnvelope(bad)).toBeNull();
  expect(() => new NatsGossipTransport({ addr: "x".repeat(300), port: 1 })).toThrow("too long");
});

test("a killed server is declared failed by the other datacenter over NATS", async () => {
  await agents.dcb!.kill();
  const failed = await until("dcb's server failed in dca's WAN view", async () => {
    const m = (await members("dca")).find((x) => x.Name === "s-dcb.dcb");
    return m && m.Status === 4 ? m : null;
  }, 20_000);
  expect(failed.Status).toBe(4);
}, 30_000);
