/**
 * Five agents on loopback — one server, four clients — as real processes
 * over real sockets (UDP/TCP gossip, the server RPC port, HTTP, DNS with dig):
 * they join; services registered on clients are seen through every agent's
 * HTTP API and DNS; the gossip key is rotated with no member ever marked
 * failed; a client killed with SIGKILL is marked failed everywhere, its
 * serfHealth critical and its services unhealthy; a client that leaves is
 * marked left and deregistered.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type AgentProcess, BUN, freePort, ROOT, startAgent, tempDir } from "./_agent.ts";

interface Node {
  name: string;
  proc: AgentProcess;
  dns: number;
}

const key1 = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
const key2 = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
const nodes: Node[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
let serfPort = 0;

const byName = (name: string): Node => nodes.find((n) => n.name === name)!;

async function getJson<T>(n: Node, path: string): Promise<T> {
  const res = await fetch(`${n.proc.base}${path}`);
  if (res.status !== 200) throw new Error(`${n.name} GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface Member {
  Name: string;
  Status: number;
}

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      if (await cond()) return;
    } catch (err) {
      last = err;
    }
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(cmd, args, { cwd: ROOT });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, out })));
}

/** `consulate <command> -http-addr <agent> args...` (flags before positional arguments, as Go's flag package wants). */
const cli = (n: Node, command: string, ...args: string[]) => run(BUN, [join(ROOT, "src/cli/main.ts"), command, "-http-addr", n.proc.base, ...args]);

async function digSrv(n: Node, name: string): Promise<string[]> {
  const { out } = await run("dig", ["@127.0.0.1", "-p", String(n.dns), name, "SRV", "+short", "+time=2", "+tries=1"]);
  return out
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split(/\s+/)[2]!)
    .sort();
}

let root = "";
/** Each agent's gossip port, kept across a restart (a member that comes back elsewhere must wait out the dead-node reclaim time). */
const gossipPorts = new Map<string, number>();

/** Starts (or restarts, on the same data dir and gossip port) one agent of the cluster. */
async function start(name: string, extra: string[]): Promise<Node> {
  const dns = await freePort();
  let serf = gossipPorts.get(name);
  if (serf === undefined) {
    serf = await freePort();
    gossipPorts.set(name, serf);
  }
  const args = ["-node", name, "-data-dir", join(root, name), "-encrypt", key1, "-config-file", join(root, "gossip.json"), "-dns-port", String(dns), "-serf-lan-port", String(serf), ...extra];
  const proc = await startAgent(args);
  cleanups.push(() => proc.kill());
  const n = { name, proc, dns };
  nodes.push(n);
  return n;
}

beforeAll(async () => {
  const dir = await tempDir("consulate-cluster-");
  cleanups.push(() => dir.remove());
  root = dir.path;
  // Fast gossip so failure detection takes seconds, not the LAN defaults' ten.
  await writeFile(join(root, "gossip.json"), JSON.stringify({ gossip_lan: { probe_interval: "200ms", probe_timeout: "200ms", gossip_interval: "100ms", suspicion_mult: 3 } }));
  await start("srv", ["-server", "-bootstrap"]);
  serfPort = gossipPorts.get("srv")!;
  // allSettled: if one start fails, the others still finish and register their cleanup before afterAll runs.
  const started = await Promise.allSettled(["c1", "c2", "c3", "c4"].map((c) => start(c, ["-join", `127.0.0.1:${serfPort}`])));
  const failed = started.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

test("five agents join; the clients' services are visible through every agent's HTTP API and DNS", async () => {
  await waitFor("every agent to see five alive members", async () => {
    for (const n of nodes) {
      const members = await getJson<Member[]>(n, "/v1/agent/members");
      if (members.length !== 5 || members.some((m) => m.Status !== 1)) return false;
    }
    return true;
  });
  for (const [node, service, port] of [["c1", "web", 8081], ["c2", "web", 8082], ["c4", "api", 9090], ["c3", "db", 5432]] as const) {
    const res = await fetch(`${byName(node).proc.base}/v1/agent/service/register`, { method: "PUT", body: JSON.stringify({ Name: service, Port: port }) });
    expect(res.status).toBe(200);
  }
  for (const n of nodes) {
    const web = await getJson<{ Node: string; ServicePort: number }[]>(n, "/v1/catalog/service/web");
    expect(web.map((r) => `${r.Node}:${r.ServicePort}`).sort()).toEqual(["c1:8081", "c2:8082"]);
    const healthy = await getJson<{ Node: { Node: string }; Checks: { CheckID: string; Status: string }[] }[]>(n, "/v1/health/service/api?passing");
    expect(healthy.map((r) => r.Node.Node)).toEqual(["c4"]);
    expect(healthy[0]!.Checks.find((c) => c.CheckID === "serfHealth")?.Status).toBe("passing");
    expect(await digSrv(n, "web.service.consul")).toEqual(["8081", "8082"]);
    expect(await digSrv(n, "api.service.consul")).toEqual(["9090"]);
  }
  const wan = await cli(byName("srv"), "members", "-wan");
  expect(wan.out).toMatch(/srv\.dc1\s+127\.0\.0\.1:\d+\s+alive\s+server/);
  const detailed = await cli(byName("c1"), "members", "-detailed");
  expect(detailed.out).toMatch(/srv\s+127\.0\.0\.1:\d+\s+alive\s+\S*role=consul/);
  expect(detailed.out).toMatch(/c4\s+127\.0\.0\.1:\d+\s+alive\s+\S*role=node/);
  // KV written through one client is read through another (both forward to the server).
  expect((await fetch(`${byName("c1").proc.base}/v1/kv/cluster/greeting`, { method: "PUT", body: "hello" })).status).toBe(200);
  expect(await (await fetch(`${byName("c2").proc.base}/v1/kv/cluster/greeting?raw`)).text()).toBe("hello");
}, 60_000);

test("a user event fired on one client reaches every agent by gossip, and node filters are applied by the receivers", async () => {
  const fire = await fetch(`${byName("c1").proc.base}/v1/event/fire/deploy`, { method: "PUT", body: "v42" });
  expect(fire.status).toBe(200);
  const { ID } = (await fire.json()) as { ID: string };
  const only = await fetch(`${byName("c1").proc.base}/v1/event/fire/only-c2?node=^c2$`, { method: "PUT" });
  const onlyId = ((await only.json()) as { ID: string }).ID;
  await waitFor("the events to reach every agent", async () => {
    for (const n of nodes) {
      const events = await getJson<{ ID: string; Name: string; Payload: string | null; LTime: number }[]>(n, "/v1/event/list");
      const e = events.find((x) => x.ID === ID);
      if (!e || atob(e.Payload ?? "") !== "v42" || e.LTime < 1) return false;
      if (events.some((x) => x.ID === onlyId) !== (n.name === "c2")) return false;
    }
    return true;
  });
}, 60_000);

test("the gossip key is rotated (install, use, remove) with no member ever marked failed", async () => {
  let sampling = true;
  const bad: string[] = [];
  const sampler = (async () => {
    while (sampling) {
      for (const n of nodes) {
        const members = await getJson<Member[]>(n, "/v1/agent/members").catch(() => []);
        for (const m of members) if (m.Status !== 1) bad.push(`${n.name} saw ${m.Name} in status ${m.Status}`);
      }
      await Bun.sleep(100);
    }
  })();
  const c2 = byName("c2");
  const install = await cli(c2, "keyring", "-install", key2);
  expect(install.code).toBe(0);
  const use = await cli(c2, "keyring", "-use", key2);
  expect(use.code).toBe(0);
  const remove = await cli(c2, "keyring", "-remove", key1);
  expect(remove.code).toBe(0);
  const list = await cli(byName("srv"), "keyring", "-list");
  expect(list.code).toBe(0);
  expect(list.out).toContain("dc1 (LAN):");
  expect(list.out).toContain(`  ${key2} [5/5]`);
  expect(list.out).not.toContain(key1);
  // Gossip keeps running on the new key for a while: still nobody suspected.
  await Bun.sleep(2000);
  sampling = false;
  await sampler;
  expect(bad).toEqual([]);
  for (const n of nodes) {
    const checks = await getJson<{ Node: string; CheckID: string; Status: string }[]>(n, "/v1/health/state/critical");
    expect(checks.filter((c) => c.CheckID === "serfHealth")).toEqual([]);
  }
}, 60_000);

test("a client killed with SIGKILL is failed everywhere, its serfHealth critical and its services unhealthy", async () => {
  const c4 = byName("c4");
  await c4.proc.kill();
  const rest = nodes.filter((n) => n !== c4);
  await waitFor("c4 to be marked failed by every other agent", async () => {
    for (const n of rest) {
      const m = (await getJson<Member[]>(n, "/v1/agent/members")).find((x) => x.Name === "c4");
      if (m?.Status !== 4) return false;
    }
    return true;
  });
  await waitFor("serfHealth of c4 to turn critical", async () => {
    const checks = await getJson<{ CheckID: string; Status: string; Output: string }[]>(byName("c1"), "/v1/health/node/c4");
    return checks.find((c) => c.CheckID === "serfHealth")?.Status === "critical";
  });
  for (const n of rest) {
    expect(await getJson<unknown[]>(n, "/v1/health/service/api?passing")).toEqual([]);
    const all = await getJson<{ Checks: { CheckID: string; Status: string; Output: string }[] }[]>(n, "/v1/health/service/api");
    expect(all).toHaveLength(1);
    const serf = all[0]!.Checks.find((c) => c.CheckID === "serfHealth")!;
    expect(serf.Status).toBe("critical");
    expect(serf.Output).toBe("Agent not live or unreachable");
    expect(await digSrv(n, "api.service.consul")).toEqual([]);
    expect(await digSrv(n, "web.service.consul")).toEqual(["8081", "8082"]);
  }
  nodes.splice(nodes.indexOf(c4), 1);
}, 60_000);

test("a client that leaves gracefully is marked left and deregistered", async () => {
  const c3 = byName("c3");
  const leave = await cli(c3, "leave");
  expect(leave.code).toBe(0);
  expect(leave.out).toContain("Graceful leave complete");
  expect(await c3.proc.child.exitCode === 0 || (await c3.proc.stop()) === 0).toBe(true);
  const rest = nodes.filter((n) => n !== c3);
  await waitFor("c3 to be marked left and leave the catalog", async () => {
    for (const n of rest) {
      const m = (await getJson<Member[]>(n, "/v1/agent/members")).find((x) => x.Name === "c3");
      if (m?.Status !== 3) return false;
      const catalog = await getJson<{ Node: string }[]>(n, "/v1/catalog/nodes");
      if (catalog.some((x) => x.Node === "c3")) return false;
    }
    return true;
  });
  for (const n of rest) {
    expect(await getJson<unknown[]>(n, "/v1/catalog/service/db")).toEqual([]);
    const members = await cli(n, "members");
    expect(members.out).toMatch(/c3\s+127\.0\.0\.1:\d+\s+left\s+client/);
    expect(members.out).toMatch(/c4\s+127\.0\.0\.1:\d+\s+failed\s+client/);
    expect(members.out).toMatch(/srv\s+127\.0\.0\.1:\d+\s+alive\s+server/);
  }
  nodes.splice(nodes.indexOf(c3), 1);
}, 60_000);

test("the killed client, restarted on its data dir, rejoins by itself with the rotated key and is healthy again", async () => {
  // No -join: it finds the members it knew; -encrypt names the old key, but the keyring file kept the new one.
  const c4 = await start("c4", []);
  await waitFor("c4 to be alive again everywhere and its service healthy", async () => {
    for (const n of nodes) {
      const m = (await getJson<Member[]>(n, "/v1/agent/members")).find((x) => x.Name === "c4");
      if (m?.Status !== 1) return false;
    }
    const healthy = await getJson<{ Node: { Node: string } }[]>(byName("c1"), "/v1/health/service/api?passing");
    return healthy.length === 1 && healthy[0]!.Node.Node === "c4";
  });
  expect(c4.proc.output()).toContain("keyring file exists");
  expect(await digSrv(byName("srv"), "api.service.consul")).toEqual(["9090"]);
}, 60_000);
