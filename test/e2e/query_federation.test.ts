/**
 * Prepared-query failover across three real datacenters (examples/federation/run.sh:
 * one NATS node and one server each, linked over NATS and WAN gossip), asked
 * over HTTP and with dig the way a user does.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import { ROOT, tempDir } from "./_agent.ts";
import { digAt } from "../dns/_dig.ts";

const SCRIPT = join(ROOT, "examples/federation/run.sh");
const http = new Map<string, string>();
const dnsPort = new Map<string, number>();
let env: Record<string, string> = {};
let removeDir: () => Promise<void> = async () => {};

/**
 * dc2 and dc3 advertise their WAN gossip on 127.0.0.2 / 127.0.0.3, where a relay
 * forwards to the server on 127.0.0.1, holding each UDP packet for `delayMs` first.
 * Pings to that datacenter's server then take that much longer, so the WAN
 * coordinates (and the datacenter order) move the way a farther datacenter's would.
 */
interface Relay {
  delayMs: number;
  close(): Promise<void>;
}
const relays = new Map<string, Relay>();

async function startRelay(host: string, port: number): Promise<Relay> {
  const udp: UdpSocket = createSocket("udp4");
  const out: UdpSocket = createSocket("udp4");
  const tcp: Server = createServer((c) => {
    const up = connect(port, "127.0.0.1");
    c.pipe(up).pipe(c);
    c.on("error", () => up.destroy());
    up.on("error", () => c.destroy());
  });
  const relay: Relay = {
    delayMs: 0,
    close: async () => {
      await new Promise<void>((r) => udp.close(() => r()));
      await new Promise<void>((r) => out.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
  udp.on("message", (msg) => {
    setTimeout(() => out.send(msg, port, "127.0.0.1", () => {}), relay.delayMs);
  });
  await new Promise<void>((r) => udp.bind(port, host, () => r()));
  await new Promise<void>((r) => out.bind(0, "127.0.0.1", () => r()));
  await new Promise<void>((r) => tcp.listen(port, host, () => r()));
  return relay;
}

function run(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [SCRIPT, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`run.sh ${args.join(" ")} exited ${code}:\n${out}`))));
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A block of 300 ports whose used ones are free now. */
async function portBase(): Promise<number> {
  for (;;) {
    const base = 30_000 + Math.floor(Math.random() * 300) * 100;
    let ok = true;
    for (let dc = 0; dc < 3 && ok; dc++) for (const off of [0, 10, 11, 12, 13, 14]) if (!(await portFree(base + dc * 100 + off))) ok = false;
    if (ok) return base;
  }
}

async function call(dc: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`http://${http.get(dc)}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

async function register(dc: string, node: string, addr: string, status: string): Promise<void> {
  const res = await call(dc, "PUT", "/v1/catalog/register", {
    Node: node,
    Address: addr,
    Service: { ID: "api", Service: "api", Port: 8080 },
    Check: { CheckID: "api-health", Name: "api", Status: status, ServiceID: "api" },
  });
  expect(res.status).toBe(200);
}

async function createQuery(dc: string, body: unknown): Promise<void> {
  const res = await call(dc, "POST", "/v1/query", body);
  expect(res.status).toBe(200);
}

interface Executed {
  Datacenter: string;
  Failovers: number;
  Nodes: { Node: { Address: string } }[];
}

async function execute(name: string): Promise<Executed & { ms: number }> {
  const started = performance.now();
  const res = await call("dc1", "GET", `/v1/query/${name}/execute`);
  const ms = performance.now() - started;
  expect(res.status).toBe(200);
  return { ...((await res.json()) as Executed), ms };
}

/** Delays pings to `far`'s server until dc1 lists `near` before `far` (WAN coordinates moved). */
async function nearer(near: string, far: string): Promise<void> {
  relays.get(near)!.delayMs = 0;
  relays.get(far)!.delayMs = 150;
  console.log(`making ${near} nearer than ${far}; dc1 lists ${((await (await call("dc1", "GET", "/v1/catalog/datacenters")).json()) as string[]).join(", ")}`);
  const deadline = Date.now() + 60_000;
  let order: string[] = [];
  while (Date.now() < deadline) {
    order = (await (await call("dc1", "GET", "/v1/catalog/datacenters")).json()) as string[];
    if (order.indexOf(near) >= 0 && order.indexOf(near) < order.indexOf(far)) {
      // Twice in a row a second apart, so the order has settled rather than flickered.
      await Bun.sleep(1000);
      order = (await (await call("dc1", "GET", "/v1/catalog/datacenters")).json()) as string[];
      if (order.indexOf(near) < order.indexOf(far)) {
        console.log(`${near} nearer than ${far} after ${((Date.now() - deadline + 60_000) / 1000).toFixed(1)} s: ${order.join(", ")}`);
        return;
      }
    }
    await Bun.sleep(500);
  }
  throw new Error(`dc1 still lists ${order.join(", ")} (wanted ${near} before ${far})`);
}

const addrs = (r: Executed): string[] => r.Nodes.map((n) => n.Node.Address).sort();
const dig = async (name: string, dc = "dc1"): Promise<string[]> => (await digAt(dnsPort.get(dc)!, name, "A", "+short")).trim().split("\n").filter((l) => l !== "").sort();

beforeAll(async () => {
  const dir = await tempDir("consulate-query-fed-");
  removeDir = dir.remove;
  const base = await portBase();
  env = { BASE_DIR: dir.path, PORT_BASE: String(base) };
  for (const n of [2, 3]) {
    env[`ADVERTISE_WAN_dc${n}`] = `127.0.0.${n}`;
    relays.set(`dc${n}`, await startRelay(`127.0.0.${n}`, base + (n - 1) * 100 + 14));
  }
  // dc3 starts out the farther one, so making it the nearer below is a change the coordinates must follow.
  relays.get("dc3")!.delayMs = 150;
  const out = await run("up");
  for (const m of out.matchAll(/DC=(dc\d) HTTP=(\S+) DNS=127\.0\.0\.1:(\d+)/g)) {
    http.set(m[1]!, m[2]!);
    dnsPort.set(m[1]!, Number(m[3]));
  }
  expect(http.size).toBe(3);
  for (const i of [1, 2]) await register("dc2", `dc2-api${i}`, `10.2.0.${i}`, "passing");
  for (const i of [1, 2]) await register("dc3", `dc3-api${i}`, `10.3.0.${i}`, "passing");
  await register("dc1", "dc1-api1", "10.1.0.1", "critical");
  await createQuery("dc1", { Name: "api", Service: { Service: "api", Failover: { NearestN: 2 } }, DNS: { TTL: "3s" } });
  await createQuery("dc1", { Name: "api-pinned", Service: { Service: "api", Failover: { Datacenters: ["dc3", "dc2"] } } });
  await createQuery("dc1", { Name: "api-dc2-first", Service: { Service: "api", Failover: { Datacenters: ["dc2", "dc3"] } } });
  await createQuery("dc3", { Name: "api", Service: { Service: "api" } });
}, 300_000);

afterAll(async () => {
  await run("down").catch(() => {});
  for (const r of relays.values()) await r.close().catch(() => {});
  await removeDir();
}, 60_000);

test("failover across datacenters: nearest by WAN RTT, listed order, a failed datacenter skipped, a stopped one never waited for", async () => {
  // dc3 nearer to dc1 than dc2 (dc2's pings delayed): NearestN answers from dc3, then from dc2 once dc3's instances fail.
  await nearer("dc3", "dc2");
  const near3 = await execute("api");
  expect(near3).toMatchObject({ Datacenter: "dc3", Failovers: 1 });
  expect(addrs(near3)).toEqual(["10.3.0.1", "10.3.0.2"]);
  for (const i of [1, 2]) await register("dc3", `dc3-api${i}`, `10.3.0.${i}`, "critical");
  expect(await execute("api")).toMatchObject({ Datacenter: "dc2", Failovers: 2 });
  for (const i of [1, 2]) await register("dc3", `dc3-api${i}`, `10.3.0.${i}`, "passing");
  // The other way round: dc2 nearer, NearestN answers from dc2 although dc3 is healthy.
  await nearer("dc2", "dc3");
  const near2 = await execute("api");
  expect(near2).toMatchObject({ Datacenter: "dc2", Failovers: 1 });
  expect(addrs(near2)).toEqual(["10.2.0.1", "10.2.0.2"]);
  for (const r of relays.values()) r.delayMs = 0;

  // The listed order: dc3 answers (HTTP and DNS, with the query's TTL), the client sees dc3's instances.
  const pinned = await execute("api-pinned");
  expect(pinned).toMatchObject({ Datacenter: "dc3", Failovers: 1 });
  expect(addrs(pinned)).toEqual(["10.3.0.1", "10.3.0.2"]);
  expect(await dig("api-pinned.query.consul")).toEqual(["10.3.0.1", "10.3.0.2"]);
  // <query>.query.<dc>.consul runs dc3's own "api" query in dc3.
  expect(await dig("api.query.dc3.consul")).toEqual(["10.3.0.1", "10.3.0.2"]);
  // And over HTTP: ?dc=dc3 executes dc3's own "api" query there (dc1's "api" would answer from its nearest).
  const inDc3 = await call("dc1", "GET", "/v1/query/api/execute?dc=dc3");
  expect(inDc3.status).toBe(200);
  const r3 = (await inDc3.json()) as Executed;
  expect(r3).toMatchObject({ Datacenter: "dc3", Failovers: 0 });
  expect(addrs(r3)).toEqual(["10.3.0.1", "10.3.0.2"]);

  // dc3's instances fail: dc2 answers.
  for (const i of [1, 2]) await register("dc3", `dc3-api${i}`, `10.3.0.${i}`, "critical");
  const moved = await execute("api-pinned");
  expect(moved).toMatchObject({ Datacenter: "dc2", Failovers: 2 });
  expect(await dig("api-pinned.query.consul")).toEqual(["10.2.0.1", "10.2.0.2"]);
  for (const i of [1, 2]) await register("dc3", `dc3-api${i}`, `10.3.0.${i}`, "passing");

  // dc2 stopped as a whole (server and NATS killed): a query that lists it first answers from dc3 within a second.
  await run("stop", "dc2");
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await execute("api-dc2-first");
    expect(r.Datacenter).toBe("dc3");
    expect(addrs(r)).toEqual(["10.3.0.1", "10.3.0.2"]);
    times.push(r.ms);
  }
  times.sort((a, b) => a - b);
  console.log(`api-dc2-first with dc2 stopped: ${times.map((t) => t.toFixed(0)).join(", ")} ms`);
  expect(times[1]!).toBeLessThan(1000);
  const started = performance.now();
  expect(await dig("api-dc2-first.query.consul")).toEqual(["10.3.0.1", "10.3.0.2"]);
  expect(performance.now() - started).toBeLessThan(2000);

  // SkipLocal across real datacenters: healthy in dc1, still answered from elsewhere.
  await register("dc1", "dc1-api1", "10.1.0.1", "passing");
  await createQuery("dc1", { Name: "api-away", Service: { Service: "api", SkipLocal: true, Failover: { Datacenters: ["dc2", "dc3"] } } });
  expect(await execute("api")).toMatchObject({ Datacenter: "dc1", Failovers: 0 });
  expect(await execute("api-away")).toMatchObject({ Datacenter: "dc3" });
}, 240_000);
