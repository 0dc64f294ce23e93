/**
 * Running out of file descriptors does not stop an agent for good, on each
 * runtime: an agent started with a low open-file limit (`ulimit -n`) is
 * flooded with idle HTTP connections until its descriptors are gone, while a
 * DNS-over-TCP and a server RPC connection arrive (so every listener's accept
 * fails at least once); once the flood is closed, HTTP, `dig +tcp` and RPC
 * from another client are answered again and the process is still running.
 * Deno's node:net stops accepting for good after one failed accept; the
 * listener watchdog (src/runtime/keep_accepting.ts) binds it again.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { freePort, type Runtime, startAgent, tempDir } from "../e2e/_agent.ts";
import { encodeFrame, RPC_MAGIC } from "../../src/rpc/codec.ts";
import { probeDns, sleep } from "./_agent.ts";

const OTHER = "127.0.0.2";
const RUNTIMES: readonly Runtime[] = (process.env.FD_RUNTIMES?.split(",") as Runtime[] | undefined) ?? ["bun", "deno", "node"];
const FD_LIMIT = 160;
const FLOOD = 400;

interface Agent {
  readonly runtime: Runtime;
  readonly port: number;
  readonly dnsPort: number;
  readonly rpcPort: number;
  readonly pid: number;
  alive(): boolean;
  stop(): Promise<unknown>;
}

const agents: Agent[] = [];
const sockets: Socket[] = [];
let dir: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  dir = await tempDir("adv-fd-");
  const config = join(dir.path, "limits.json");
  // No per-client cap, so one client can take every descriptor.
  await writeFile(config, JSON.stringify({ limits: { http_max_conns_per_client: 0, http_read_timeout: "30s" } }));
  await Promise.all(
    RUNTIMES.map(async (runtime) => {
      const dnsPort = await freePort();
      const rpcPort = await freePort();
      const a = await startAgent(["-dev", "-node", "adv", "-config-file", config, "-dns-port", String(dnsPort), "-server-port", String(rpcPort)], { runtime, fdLimit: FD_LIMIT });
      agents.push({ runtime, port: a.port, dnsPort, rpcPort, pid: a.child.pid!, alive: () => a.child.exitCode === null, stop: () => a.stop() });
    }),
  );
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(agents.map((a) => a.stop()));
  await dir?.remove();
});

function open(port: number, localAddress = "127.0.0.1"): Socket {
  const s = connect({ host: "127.0.0.1", port, localAddress });
  s.on("error", () => {});
  sockets.push(s);
  return s;
}

function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

async function until(check: () => boolean | Promise<boolean>, ms: number, every = 100): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(every);
  }
  return check();
}

/** One raw exchange from the other client: resolves with what came back within `ms`. */
function exchange(port: number, bytes: Uint8Array | string, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const s = open(port, OTHER);
    let out = "";
    s.on("data", (d: Buffer) => (out += d.toString("latin1")));
    s.once("connect", () => s.write(bytes));
    setTimeout(() => {
      s.destroy();
      resolve(out);
    }, ms);
  });
}

const httpServed = async (a: Agent) => (await exchange(a.port, "GET /v1/status/leader HTTP/1.1\r\nHost: x\r\n\r\n", 1000)).startsWith("HTTP/1.1 200");
const rpcServed = async (a: Agent) => {
  const frame = encodeFrame({ i: 7, m: "Status.Leader", a: {}, o: { datacenter: "" } as never });
  const both = new Uint8Array(RPC_MAGIC.length + frame.length);
  both.set(RPC_MAGIC);
  both.set(frame, RPC_MAGIC.length);
  return (await exchange(a.rpcPort, both, 1000)).includes('"i":7');
};
const dnsServed = async (a: Agent) => (await probeDns(a.dnsPort, "+tcp", "-b", OTHER)).ok;

test("an agent out of file descriptors accepts again on HTTP, DNS TCP and RPC once they are free", async () => {
  await Promise.all(
    agents.map(async (a) => {
      const before = openFds(a.pid);
      const flood = Array.from({ length: FLOOD }, () => open(a.port));
      const exhausted = await until(() => openFds(a.pid) >= FD_LIMIT - 10, 15_000);
      // Connections to the other listeners while no descriptor is left: their accept fails too.
      const late = [open(a.dnsPort), open(a.rpcPort), open(a.port, OTHER)];
      await sleep(1000);
      const peak = openFds(a.pid);
      for (const s of [...flood, ...late]) s.destroy();
      const t = performance.now();
      const back = await until(async () => (await httpServed(a)) && (await dnsServed(a)) && (await rpcServed(a)), 25_000, 250);
      if (!back) console.log(`${a.runtime}: HTTP ${await httpServed(a)}, DNS TCP ${await dnsServed(a)}, RPC ${await rpcServed(a)}`);
      console.log(`${a.runtime}: ${before} fds before, ${peak} at the peak (limit ${FD_LIMIT}); HTTP, DNS TCP and RPC answered again ${back ? `${((performance.now() - t) / 1000).toFixed(1)} s after the flood closed` : "NEVER"}`);
      expect(exhausted).toBe(true);
      expect(back).toBe(true);
      expect(a.alive()).toBe(true);
    }),
  );
}, 60_000);
