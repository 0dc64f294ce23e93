/**
 * The sidecar end-to-end scenario, runtime-neutral so the same file runs
 * under Bun, Deno and Node (mesh_runtimes.test.ts starts it under each):
 * a db app behind its sidecar, web's sidecar with an upstream to db, both
 * configured from `sidecar_service` registrations on a real agent, then
 *   - web reaches db (upstream port -> mTLS -> public listener -> app),
 *   - `consulate intention create -deny` stops the next connection within 1 s,
 *     `-allow` (with -replace) restores it,
 *   - an L7 service-intentions entry on an http service answers POST /admin 403
 *     while GET / passes;
 *   - a 90/10 canary service-splitter over db's two instances (subsets by
 *     Service.Meta.version; round robin would give 50/50) sends 4-20% of 200
 *     requests to v2;
 *   - reuse does not outlive an intention: the L4 deny above refuses
 *     connections that resumed a TLS session made while allowed (counted from
 *     db's sidecars' refusal lines, on runtimes that resume), and a deny written
 *     last answers 403 on web's pooled sidecar-to-sidecar connection (no new
 *     dial) made while allowed.
 * Prints one JSON line with the results; exit code 0 when every step held.
 *
 *   <runtime> test/connect/_mesh_scenario.ts <agent host:port> <suffix>
 */
import { spawn } from "node:child_process";
import { createServer as createHttpServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import nodeProcess from "node:process";
import { Client } from "../../src/api/mod.ts";
import { freePort, runtimeName, until } from "./_scenario_util.ts";
import { lookupProxyIdForSidecar, SidecarProxy } from "../../gateways/sidecar/mod.ts";

const [agentAddr = "127.0.0.1:8500", suffix = "x", rootArg] = nodeProcess.argv.slice(2);
const ROOT = rootArg ?? join(dirname(fileURLToPath(import.meta.url)), "../..");
const WEB = `web-${suffix}`;
const DB = `db-${suffix}`;
const client = new Client({ address: agentAddr });
const logs: string[] = [];
const logger = { debug() {}, info() {}, warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) };


/** One request on a new connection. */
function call(port: number, path = "/", method = "GET"): Promise<{ status: number; text: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, method, agent: false, timeout: 3000 }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      res.on("error", (e) => resolve({ error: e.message }));
    });
    req.on("error", (e) => resolve({ error: e.message }));
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

/** Runs the consulate CLI (under Bun, the control-plane tool) against the agent. */
function cli(args: string[], input?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(join(ROOT, "node_modules/.bin/bun"), [join(ROOT, "src/cli/main.ts"), ...args], {
      env: { ...nodeProcess.env, CONSUL_HTTP_ADDR: agentAddr },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (code) => resolve({ code, out }));
    p.stdin.end(input ?? "");
  });
}


const result: Record<string, unknown> = { runtime: runtimeName() };
const cleanup: (() => Promise<unknown>)[] = [];
let ok = false;
let step = "start";
// A stuck step still reports where it stuck.
const watchdog = setTimeout(() => {
  nodeProcess.stdout.write(`${JSON.stringify({ ...result, ok: false, error: `watchdog: stuck at step "${step}"`, logs: logs.slice(-10) })}\n`);
  nodeProcess.exit(1);
}, 40_000);
try {
  const startApp = async (version: string): Promise<number> => {
    const app = createHttpServer((req, res) => {
      req.resume();
      req.on("end", () => res.end(`${DB} ${req.method} ${req.url} ${version}`));
    });
    await new Promise<void>((r) => app.listen(0, "127.0.0.1", () => r()));
    // closeAllConnections: the sidecar keeps its connections to the app alive, and close() alone waits them out.
    cleanup.push(() => new Promise((r) => {
      app.close(r);
      app.closeAllConnections();
    }));
    return (app.address() as AddressInfo).port;
  };
  const upstreamPort = await freePort();
  const agent = client.agent();
  step = "register";
  await agent.serviceRegister({ Name: DB, Port: await startApp("v1"), Meta: { version: "v1" }, Connect: { SidecarService: { Port: await freePort(), Check: { Name: "alias", AliasService: DB } } } });
  await agent.serviceRegister({ Name: DB, ID: `${DB}-2`, Port: await startApp("v2"), Meta: { version: "v2" }, Connect: { SidecarService: { Port: await freePort(), Check: { Name: "alias", AliasService: `${DB}-2` } } } });
  await agent.serviceRegister({
    Name: WEB,
    Port: 1,
    Connect: { SidecarService: { Port: await freePort(), Check: { Name: "alias", AliasService: WEB }, Proxy: { Upstreams: [{ DestinationName: DB, LocalBindPort: upstreamPort }] } } },
  });
  cleanup.push(() => agent.serviceDeregister(DB), () => agent.serviceDeregister(`${DB}-2`), () => agent.serviceDeregister(WEB));
  const agentAddress = "127.0.0.1";
  step = "sidecars";
  const proxies: SidecarProxy[] = [];
  for (const svc of [DB, `${DB}-2`, WEB]) {
    const proxy = new SidecarProxy({ client, logger, source: { kind: "registration", proxyId: await lookupProxyIdForSidecar(client, svc), agentAddress } });
    await proxy.start();
    proxies.push(proxy);
    cleanup.push(() => proxy.stop());
  }
  const webProxy = proxies[2]!;
  /** db's two sidecars' handshakes, full and resumed. */
  const handshakes = () => proxies.slice(0, 2).reduce((a, p) => ({ full: a.full + (p.inboundListener?.handshakes.full ?? 0), resumed: a.resumed + (p.inboundListener?.handshakes.resumed ?? 0) }), { full: 0, resumed: 0 });

  step = "reach";
  const first = await until("web reaches db", 15_000, async () => {
    const r = await call(upstreamPort, "/hello");
    return "status" in r && r.status === 200 ? r : null;
  });
  result.reach = { ...first.value, ms: first.ms };
  // Both db instances in turn, each dialled again: the second connection to each resumes the first one's session.
  for (let i = 0; i < 4; i++) await call(upstreamPort, "/again");
  result.handshakesAllowed = handshakes();

  step = "deny";
  const deny = await cli(["intention", "create", "-deny", WEB, DB]);
  if (deny.code !== 0) throw new Error(`intention create -deny: ${deny.out}`);
  const denied = await until("deny takes effect", 1_000, async () => {
    const r = await call(upstreamPort);
    return "error" in r ? r : null;
  });
  result.denyMs = denied.ms;
  result.refusedResumed = logs.filter((l) => l.includes("resumed TLS session) to")).length;
  step = "allow";
  const allow = await cli(["intention", "create", "-replace", "-allow", WEB, DB]);
  if (allow.code !== 0) throw new Error(`intention create -allow: ${allow.out}`);
  const allowed = await until("allow takes effect", 1_000, async () => {
    const r = await call(upstreamPort);
    return "status" in r && r.status === 200 ? r : null;
  });
  result.allowMs = allowed.ms;

  step = "l7";
  const http = await cli(["config", "write", "-"], JSON.stringify({ Kind: "service-defaults", Name: DB, Protocol: "http" }));
  if (http.code !== 0) throw new Error(`config write service-defaults: ${http.out}`);
  const l7 = await cli(
    ["config", "write", "-"],
    JSON.stringify({
      Kind: "service-intentions",
      Name: DB,
      Sources: [{ Name: WEB, Permissions: [{ Action: "deny", HTTP: { PathPrefix: "/admin", Methods: ["POST"] } }, { Action: "allow", HTTP: { PathPrefix: "/" } }] }],
    }),
  );
  if (l7.code !== 0) throw new Error(`config write service-intentions: ${l7.out}`);
  // Over HTTP, in dependency order (a CLI process per entry takes seconds to start on a loaded box).
  cleanup.push(async () => {
    for (const kind of ["service-intentions", "service-splitter", "service-resolver", "service-defaults"]) {
      await fetch(`http://${agentAddr}/v1/config/${kind}/${DB}`, { method: "DELETE" }).then((r) => r.text());
    }
  });
  const forbidden = await until("POST /admin is refused", 2_000, async () => {
    const r = await call(upstreamPort, "/admin", "POST");
    return "status" in r && r.status === 403 ? r : null;
  });
  result.postAdmin = forbidden.value;
  result.getRoot = await call(upstreamPort, "/", "GET");
  result.getAdmin = await call(upstreamPort, "/admin", "GET");

  step = "split";
  for (const entry of [
    { Kind: "service-resolver", Name: DB, Subsets: { v1: { Filter: "Service.Meta.version == v1" }, v2: { Filter: "Service.Meta.version == v2" } } },
    { Kind: "service-splitter", Name: DB, Splits: [{ Weight: 90, ServiceSubset: "v1" }, { Weight: 10, ServiceSubset: "v2" }] },
  ]) {
    const w = await cli(["config", "write", "-"], JSON.stringify(entry));
    if (w.code !== 0) throw new Error(`config write ${entry.Kind}: ${w.out}`);
  }
  // Round robin before the splitter: half go to v2; with the 90/10 split hardly any do.
  await until("the split is installed", 3_000, async () => {
    const v = await Promise.all(Array.from({ length: 40 }, () => call(upstreamPort, "/split")));
    return v.filter((r) => "text" in r && r.text.endsWith("v2")).length <= 10 ? true : null;
  });
  const counts: Record<string, number> = {};
  for (let i = 0; i < 200; i++) {
    const r = await call(upstreamPort, "/split");
    const v = "status" in r && r.status === 200 ? r.text.split(" ").pop()! : "error";
    counts[v] = (counts[v] ?? 0) + 1;
  }
  result.split = counts;

  step = "deny pooled";
  // web's pool holds kept-alive connections to db's sidecars, made while allowed; a deny written now answers 403 on them.
  const pool = () => Object.values((webProxy.configDump().upstreams as { connections: Record<string, { dialled: number; reused: number }> }[])[0]!.connections).reduce((a, c) => ({ dialled: a.dialled + c.dialled, reused: a.reused + c.reused }), { dialled: 0, reused: 0 });
  const before = pool();
  const denyAll = await cli(["config", "write", "-"], JSON.stringify({ Kind: "service-intentions", Name: DB, Sources: [{ Name: WEB, Action: "deny" }] }));
  if (denyAll.code !== 0) throw new Error(`config write service-intentions deny: ${denyAll.out}`);
  const pooledDeny = await until("deny reaches pooled connections", 2_000, async () => {
    const r = await call(upstreamPort, "/pooled");
    return "status" in r && r.status === 403 ? r : null;
  });
  const after = pool();
  result.pooledDeny = { status: pooledDeny.value.status, text: pooledDeny.value.text, dialled: after.dialled - before.dialled, reused: after.reused - before.reused };
  ok =
    (result.getRoot as { status?: number }).status === 200 &&
    (result.getAdmin as { status?: number }).status === 200 &&
    forbidden.value.text === "RBAC: access denied" &&
    (counts.v2 ?? 0) >= 8 &&
    (counts.v2 ?? 0) <= 40 &&
    (counts.v1 ?? 0) + (counts.v2 ?? 0) === 200;
} catch (err) {
  result.error = (err as Error).message;
  result.logs = logs.slice(-10);
} finally {
  step = "cleanup";
  // Independent of each other, so all at once: a loaded machine cannot stretch them past the watchdog.
  await Promise.all(
    cleanup.reverse().map((c) => {
      const slow = new Promise((r) => setTimeout(() => r((result.slowCleanup = (Number(result.slowCleanup) || 0) + 1)), 5_000));
      return Promise.race([c().catch(() => {}), slow]);
    }),
  );
}
clearTimeout(watchdog);
result.ok = ok;
nodeProcess.stdout.write(`${JSON.stringify(result)}\n`);
nodeProcess.exit(ok ? 0 : 1);
