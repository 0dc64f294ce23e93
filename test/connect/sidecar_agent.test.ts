/**
 * `consulate connect proxy -sidecar-for` as a process against a real agent:
 * it finds its registration, binds the listeners the registration asks for,
 * follows re-registrations (hot reload), keeps serving its last good config
 * while the agent is gone, and exits cleanly on SIGTERM.
 */
import { afterEach, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";
import { type AgentProcess, BUN, freePort, ROOT, startAgent } from "../e2e/_agent.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

async function eventually(what: string, ms: number, probe: () => Promise<boolean>): Promise<void> {
  const t0 = Date.now();
  while (!(await probe())) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await Bun.sleep(50);
  }
}

function proxyProcess(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(BUN, [join(ROOT, "src/cli/main.ts"), "connect", "proxy", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
  });
  return { child, output: () => out, exited };
}

async function register(agent: AgentProcess, body: unknown): Promise<void> {
  const res = await fetch(`${agent.base}/v1/agent/service/register`, { method: "PUT", body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

test("-sidecar-for binds the registration's listeners, follows a re-registration, and keeps serving while the agent is gone", async () => {
  const agent = await startAgent(["-dev"]);
  cleanups.push(() => agent.kill());
  const [up1, up2, pub, adm] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const web = (upstream: number) => ({
    Name: "web",
    Port: 8080,
    Connect: { SidecarService: { Port: pub, Proxy: { Upstreams: [{ DestinationName: "db", LocalBindPort: upstream, Config: { limits: { max_concurrent_requests: 7 }, passive_health_check: { max_failures: 2 } } }] } } },
  });
  await register(agent, web(up1));

  const p = proxyProcess(["-sidecar-for", "web", "-http-addr", `127.0.0.1:${agent.port}`, "-admin-bind", `127.0.0.1:${adm}`]);
  await eventually("upstream listener", 10_000, () => listening(up1));
  await eventually("public listener", 5_000, () => listening(pub));
  // The admin listener shows the effective config: listeners, the upstream's chain, its cluster with breakers and ejection state.
  await eventually("admin listener", 5_000, () => listening(adm));
  const getDump = async () => (await (await fetch(`http://127.0.0.1:${adm}/config_dump`)).json()) as { upstreams: { protocol: string | null }[] };
  await eventually("the chain in the admin view", 5_000, async () => (await getDump()).upstreams[0]?.protocol === "tcp");
  const dump = (await (await fetch(`http://127.0.0.1:${adm}/config_dump`)).json()) as { service: string; listeners: { upstreams: { service: string; address: string }[] }; upstreams: { protocol: string }[] };
  expect(dump.service).toBe("web");
  expect(dump.listeners.upstreams).toEqual([{ service: "db", address: `127.0.0.1:${up1}` }]);
  expect(dump.upstreams[0]!.protocol).toBe("tcp");
  const clusters = (await (await fetch(`http://127.0.0.1:${adm}/clusters`)).json()) as Record<string, unknown>[];
  expect(clusters).toMatchObject([{ upstream: "db", name: "db.default.default.dc1", targets: [{ id: "db.default.default.dc1", instances: [] }], circuitBreakers: { maxRequests: 7, maxConnections: 1024 }, outlierDetection: {} }]);
  expect((await fetch(`http://127.0.0.1:${adm}/ready`)).status).toBe(200);
  expect(p.output()).toContain("Configuration mode: Agent API");
  expect(p.output()).toContain("Sidecar for ID: web");
  expect(p.output()).toContain("Proxy ID: web-sidecar-proxy");

  await register(agent, web(up2));
  await eventually("moved upstream listener", 5_000, () => listening(up2));
  await eventually("old upstream listener closed", 5_000, async () => !(await listening(up1)));

  await agent.kill();
  await Bun.sleep(300);
  expect(await listening(up2)).toBe(true);
  expect(await listening(pub)).toBe(true);
  await eventually("registration watch notices", 3_000, async () => p.output().includes("proxy registration watch failed (keeping the last good config)"));

  p.child.kill("SIGTERM");
  expect(await p.exited).toBe(0);
  expect(p.output()).toContain("==> Consul Connect proxy shutdown");
  expect(await listening(up2)).toBe(false);
}, 30_000);

test("-sidecar-for without a registered proxy, and a bare invocation, fail with Consul's messages", async () => {
  const agent = await startAgent(["-dev"]);
  cleanups.push(() => agent.stop());
  const none = proxyProcess(["-sidecar-for", "nope", "-http-addr", `127.0.0.1:${agent.port}`]);
  expect(await none.exited).toBe(1);
  expect(none.output()).toContain("==> Error preparing configuration: No sidecar proxy registered for nope");
  const bare = proxyProcess(["-http-addr", `127.0.0.1:${agent.port}`]);
  expect(await bare.exited).toBe(1);
  expect(bare.output()).toContain("-service or -proxy-id must be specified so that proxy can configure itself.");
});

test("-register adds <service>-proxy with a passing TTL check and removes it on exit", async () => {
  const agent = await startAgent(["-dev"]);
  cleanups.push(() => agent.stop());
  const listen = await freePort();
  const p = proxyProcess(["-service", "api", "-listen", `127.0.0.1:${listen}`, "-service-addr", "127.0.0.1:9", "-register", "-http-addr", `127.0.0.1:${agent.port}`]);
  await eventually("registration", 10_000, async () => {
    const res = await fetch(`${agent.base}/v1/agent/services`);
    return "api-proxy" in ((await res.json()) as Record<string, unknown>);
  });
  const svc = (await (await fetch(`${agent.base}/v1/agent/service/api-proxy`)).json()) as Record<string, unknown>;
  expect(svc).toMatchObject({ Kind: "connect-proxy", Service: "api-proxy", Port: listen, Address: "127.0.0.1", Proxy: { DestinationServiceName: "api" } });
  const checks = (await (await fetch(`${agent.base}/v1/agent/checks`)).json()) as Record<string, { Status: string }>;
  expect(checks["api-proxy-ttl"]?.Status).toBe("passing");
  p.child.kill("SIGTERM");
  expect(await p.exited).toBe(0);
  const after = (await (await fetch(`${agent.base}/v1/agent/services`)).json()) as Record<string, unknown>;
  expect(after).not.toHaveProperty("api-proxy");
}, 30_000);
