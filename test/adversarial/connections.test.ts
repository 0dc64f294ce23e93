/**
 * Finding 4 of the hardening issue: one client could hold every connection.
 * Per-client caps on HTTP (`limits.http_max_conns_per_client`, 429 past it),
 * DNS over TCP and the server RPC port (`limits.rpc_max_conns_per_client`),
 * plus deadlines for a request body, a DNS query and the RPC preamble, keep
 * another client served. The attacker connects from 127.0.0.1, the other
 * client from 127.0.0.2 (both loopback on Linux).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { tempDir } from "../e2e/_agent.ts";
import { probeDns, sleep, startTarget, type Target } from "./_agent.ts";
import { encodeFrame, RPC_MAGIC } from "../../src/rpc/codec.ts";

const OTHER = "127.0.0.2";
let agent: Target;
let dir: { path: string; remove(): Promise<void> };
const sockets: Socket[] = [];

beforeAll(async () => {
  dir = await tempDir("adv-conns-");
  const config = join(dir.path, "limits.json");
  await writeFile(config, JSON.stringify({ limits: { http_max_conns_per_client: 50, rpc_max_conns_per_client: 20, http_read_timeout: "1s", rpc_handshake_timeout: "1s" } }));
  agent = await startTarget(["-config-file", config]);
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await agent?.stop();
  await dir?.remove();
});

function open(port: number, localAddress = "127.0.0.1"): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, localAddress }, () => resolve(s));
    s.once("error", reject);
    sockets.push(s);
  });
}

/** Sends a raw HTTP request on its own connection; `text()` is what came back so far. */
interface RawExchange {
  readonly socket: Socket;
  text(): string;
}

async function rawHttp(request: string, localAddress = "127.0.0.1"): Promise<RawExchange> {
  const s = await open(agent.port, localAddress);
  s.on("error", () => {});
  let out = "";
  s.on("data", (d: Buffer) => (out += d.toString()));
  s.write(request);
  return { socket: s, text: () => out };
}

const statusOf = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}

test("HTTP: one client's connections past the cap get 429 while another client is served", async () => {
  const index = (await fetch(`${agent.base}/v1/catalog/services`)).headers.get("X-Consul-Index");
  const parked = `GET /v1/catalog/services?index=${index}&wait=30s HTTP/1.1\r\nHost: x\r\n\r\n`;
  const held: RawExchange[] = [];
  for (let i = 0; i < 120; i++) held.push(await rawHttp(parked));
  await until(() => held.filter((h) => statusOf(h.text()) === 429).length >= 70, 5000);
  const refused = held.filter((h) => statusOf(h.text()) === 429);
  const answered = held.filter((h) => statusOf(h.text()) === 200);
  console.log(`120 parked requests from one client: ${refused.length} refused with 429, ${answered.length} answered early`);
  expect(refused.length).toBeGreaterThanOrEqual(70);
  expect(refused[0]!.text()).toContain("too many concurrent connections");
  // Another client is served at once.
  const other = await rawHttp("GET /v1/status/leader HTTP/1.1\r\nHost: x\r\n\r\n", OTHER);
  expect(await until(() => statusOf(other.text()) === 200, 3000)).toBe(true);
  for (const h of held) h.socket.destroy();
});

test("HTTP: a body trickled a byte at a time is cut at the read deadline", async () => {
  const t = performance.now();
  const slow = await rawHttp(`PUT /v1/kv/trickle HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n`, OTHER);
  const timer = setInterval(() => slow.socket.writable && slow.socket.write("a"), 200);
  const cut = await until(() => statusOf(slow.text()) !== 0 || slow.socket.destroyed, 10_000);
  clearInterval(timer);
  console.log(`trickled body answered ${statusOf(slow.text())} after ${(performance.now() - t).toFixed(0)} ms (deadline 1 s)`);
  expect(cut).toBe(true);
  expect(statusOf(slow.text())).toBe(408);
  expect((await fetch(`${agent.base}/v1/kv/trickle`)).status).toBe(404);
});

test("DNS over TCP: 600 trickling connections from one client do not stop dig +tcp from another", async () => {
  const trickling: Socket[] = [];
  for (let i = 0; i < 600; i++) {
    const s = connect({ host: "127.0.0.1", port: agent.dnsPort, localAddress: "127.0.0.1" });
    s.on("error", () => {});
    sockets.push(s);
    trickling.push(s);
  }
  const timer = setInterval(() => {
    for (const s of trickling) if (s.writable) s.write(new Uint8Array([0]));
  }, 300);
  await sleep(500);
  const dig = await probeDns(agent.dnsPort, "+tcp", "-b", OTHER);
  const alive = trickling.filter((s) => !s.destroyed).length;
  clearInterval(timer);
  console.log(`600 trickling DNS TCP connections: ${alive} still open; dig +tcp from another client ${dig.ok ? "answered" : "FAILED"} in ${dig.ms.toFixed(0)} ms`);
  expect(dig.ok).toBe(true);
  expect(alive).toBeLessThanOrEqual(100);
  for (const s of trickling) s.destroy();
});

test("RPC: connections past rpc_max_conns_per_client and silent ones are dropped; another client is answered", async () => {
  const conns: Socket[] = [];
  for (let i = 0; i < 30; i++) {
    const s = await open(agent.rpcPort);
    s.on("error", () => {});
    conns.push(s);
  }
  expect(await until(() => conns.filter((s) => s.destroyed).length >= 10, 3000)).toBe(true);
  // The silent ones are dropped at the handshake timeout too.
  expect(await until(() => conns.every((s) => s.destroyed), 5000)).toBe(true);

  const s = await open(agent.rpcPort, OTHER);
  let reply = "";
  s.on("data", (d: Buffer) => (reply += d.toString("latin1")));
  s.write(RPC_MAGIC);
  s.write(encodeFrame({ i: 9, m: "Status.Leader", a: {}, o: { datacenter: "" } as never }));
  expect(await until(() => reply.includes('"i":9'), 3000)).toBe(true);
});
