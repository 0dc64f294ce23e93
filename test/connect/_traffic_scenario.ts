/**
 * Traffic management end to end, runtime-neutral (traffic_runtimes.test.ts
 * runs it under Bun and Node against one real agent): app instances behind
 * their own sidecars, and a `web` sidecar whose upstreams follow each
 * service's discovery chain. One process checks, in order:
 *   - web's service-defaults UpstreamConfig (Defaults, Overrides) sets its
 *     upstreams' connect timeout, limits and passive health check, under
 *     the registration's own upstream Config;
 *   - a 50/50 splitter over `expense` v1/v2 (subsets by Service.Meta.version),
 *     2,000 requests land within 45-55% each;
 *   - a router sends /admin with PrefixRewrite "/" to another service;
 *   - retries (RetryOnStatusCodes 500) hide an instance failing 1 in 3;
 *   - a RequestTimeout of 200 ms cuts a 1 s upstream;
 *   - MaxConcurrentRequests 10: of 100 concurrent slow requests 90 get an immediate 503;
 *   - passive health ejects an instance returning 500s and readmits it;
 *   - ring_hash on a header keeps each key on one instance while one is added;
 *   - a resolver Redirect, then a Failover (primary in maintenance), take
 *     effect within 2 s of the write with no failed request meanwhile.
 * Prints one JSON line; exit code 0 when every check held.
 *
 *   <runtime> test/connect/_traffic_scenario.ts <agent host:port> <suffix>
 */
import { createServer as createHttpServer, Agent as HttpAgent, request } from "node:http";
import type { AddressInfo } from "node:net";
import nodeProcess from "node:process";
import { Client } from "../../src/api/mod.ts";
import { freePort, Scenario, until } from "./_scenario_util.ts";
import { lookupProxyIdForSidecar, SidecarProxy } from "../../gateways/sidecar/mod.ts";

const [agentAddr = "127.0.0.1:8500", suffix = "x"] = nodeProcess.argv.slice(2);
const client = new Client({ address: agentAddr });
const agent = client.agent();
const sc = new Scenario(100_000);
const { result, cleanup, expect, logger } = sc;
const n = (base: string) => `${base}-${suffix}`;
const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 128 });


type Reply = { status: number; text: string; headers: Record<string, string | string[] | undefined>; ms: number } | { error: string; ms: number };

function call(port: number, path = "/", headers: Record<string, string> = {}): Promise<Reply> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, headers, agent: keepAlive, timeout: 5000 }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers, ms: Date.now() - t0 }));
      res.on("error", (e) => resolve({ error: e.message, ms: Date.now() - t0 }));
    });
    req.on("error", (e) => resolve({ error: e.message, ms: Date.now() - t0 }));
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

const okText = (r: Reply): string | null => ("status" in r && r.status === 200 ? r.text : null);



interface App {
  id: string;
  port: number;
  hits: number;
  mode: "ok" | "fail-1-in-3" | "500";
}

/** An HTTP app answering "<id> <path>"; ?ms= delays the answer. */
async function startApp(id: string): Promise<App> {
  const app: App = { id, port: 0, hits: 0, mode: "ok" };
  const server = createHttpServer((req, res) => {
    req.resume();
    app.hits++;
    const ms = Number(new URL(req.url ?? "/", "http://x").searchParams.get("ms") ?? "0");
    const fail = app.mode === "500" || (app.mode === "fail-1-in-3" && app.hits % 3 === 0);
    setTimeout(() => {
      res.writeHead(fail ? 500 : 200, { "x-app": id });
      res.end(`${id} ${req.url}`);
    }, ms);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  app.port = (server.address() as AddressInfo).port;
  cleanup.push(() => new Promise((r) => server.close(r)), async () => server.closeAllConnections());
  return app;
}

/** Registers an instance with a sidecar_service and starts that sidecar. */
async function instance(service: string, id: string, meta: Record<string, string> = {}): Promise<App> {
  const app = await startApp(id);
  await agent.serviceRegister({ Name: service, ID: id, Port: app.port, Meta: meta, Connect: { SidecarService: { Port: await freePort(), Check: { Name: "alias", AliasService: id } } } });
  cleanup.push(() => agent.serviceDeregister(id));
  const proxy = new SidecarProxy({ client, logger, source: { kind: "registration", proxyId: await lookupProxyIdForSidecar(client, id), agentAddress: "127.0.0.1" } });
  await proxy.start();
  cleanup.push(() => proxy.stop());
  return app;
}

const config = (entry: Record<string, unknown>) => client.configEntries().set(entry as { Kind: string });

try {
  sc.step = "config";
  await config({ Kind: "proxy-defaults", Name: "global", Config: { protocol: "http" } });
  const EXPENSE = n("expense");
  await config({ Kind: "service-resolver", Name: EXPENSE, Subsets: { v1: { Filter: "Service.Meta.version == v1" }, v2: { Filter: "Service.Meta.version == v2" } } });
  await config({ Kind: "service-splitter", Name: EXPENSE, Splits: [{ Weight: 50, ServiceSubset: "v1" }, { Weight: 50, ServiceSubset: "v2" }] });
  await config({ Kind: "service-router", Name: EXPENSE, Routes: [{ Match: { HTTP: { PathPrefix: "/admin/" } }, Destination: { Service: n("expadmin"), PrefixRewrite: "/" } }] });
  await config({ Kind: "service-router", Name: n("flaky"), Routes: [{ Match: { HTTP: { PathPrefix: "/" } }, Destination: { NumRetries: 2, RetryOnStatusCodes: [500] } }] });
  await config({ Kind: "service-router", Name: n("slow"), Routes: [{ Match: { HTTP: { PathPrefix: "/timeout" } }, Destination: { RequestTimeout: "200ms" } }] });
  await config({ Kind: "service-resolver", Name: n("ring"), LoadBalancer: { Policy: "ring_hash", HashPolicies: [{ Field: "header", FieldValue: "x-user" }] } });

  sc.step = "instances";
  await instance(EXPENSE, n("expense-v1"), { version: "v1" });
  await instance(EXPENSE, n("expense-v2"), { version: "v2" });
  await instance(n("expadmin"), n("expadmin-1"));
  const flaky = await instance(n("flaky"), n("flaky-1"));
  flaky.mode = "fail-1-in-3";
  await instance(n("slow"), n("slow-1"));
  await instance(n("pool"), n("pool-good"));
  const bad = await instance(n("pool"), n("pool-bad"));
  await instance(n("ring"), n("ring-1"));
  await instance(n("ring"), n("ring-2"));
  await instance(n("primary"), n("primary-1"));
  await instance(n("other"), n("other-1"));
  await instance(n("backup"), n("backup-1"));

  sc.step = "web";
  const ports: Record<string, number> = {};
  const upstreams = [];
  for (const svc of ["expense", "flaky", "slow", "pool", "ring", "primary"]) {
    ports[svc] = await freePort();
    // The registration's own upstream Config wins over the service-defaults UpstreamConfig below.
    upstreams.push({ DestinationName: n(svc), LocalBindPort: ports[svc], ...(svc === "ring" ? { Config: { connect_timeout_ms: 2500 } } : {}) });
  }
  // web's service-defaults UpstreamConfig: Defaults for every upstream, an Override per named one (Consul's field names).
  await config({
    Kind: "service-defaults",
    Name: n("web"),
    UpstreamConfig: {
      Defaults: { ConnectTimeoutMs: 1500, BalanceOutboundConnections: "exact_balance" },
      Overrides: [
        { Name: n("slow"), Limits: { MaxConcurrentRequests: 10 } },
        { Name: n("pool"), PassiveHealthCheck: { Interval: "100ms", MaxFailures: 3, BaseEjectionTime: "3s", MaxEjectionPercent: 100 } },
      ],
    },
  });
  await agent.serviceRegister({ Name: n("web"), Port: 1, Connect: { SidecarService: { Port: await freePort(), Check: { Name: "alias", AliasService: n("web") }, Proxy: { Upstreams: upstreams } } } });
  cleanup.push(() => agent.serviceDeregister(n("web")));
  const web = new SidecarProxy({ client, logger, source: { kind: "registration", proxyId: await lookupProxyIdForSidecar(client, n("web")), agentAddress: "127.0.0.1" } });
  await web.start();
  cleanup.push(() => web.stop());
  await web.whenServing();
  // The UpstreamConfig is in force: Defaults' ConnectTimeoutMs on expense, the registration's 2500 on ring, the Override's limit on slow.
  const clusterOf = (svc: string) => web.clusters().find((c) => c.upstream === n(svc)) as { connectTimeoutMs: number; circuitBreakers: { maxRequests: number }; balanceOutboundConnections?: string } | undefined;
  await until("web's UpstreamConfig applies", 5_000, async () => (clusterOf("slow")?.circuitBreakers.maxRequests === 10 ? true : null));
  result.upstreamConfig = { expense: clusterOf("expense")?.connectTimeoutMs, ring: clusterOf("ring")?.connectTimeoutMs, slowMaxRequests: clusterOf("slow")?.circuitBreakers.maxRequests, balance: clusterOf("expense")?.balanceOutboundConnections };
  expect("service-defaults UpstreamConfig Defaults/Overrides under the registration's Config", JSON.stringify(result.upstreamConfig) === JSON.stringify({ expense: 1500, ring: 2500, slowMaxRequests: 10, balance: "exact_balance" }), result.upstreamConfig);

  sc.step = "split";
  // Both subsets known before counting.
  await until("both expense subsets answer", 15_000, async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add((okText(await call(ports.expense!, "/")) ?? "").split(" ")[0]!);
    return seen.has(n("expense-v1")) && seen.has(n("expense-v2")) ? true : null;
  });
  const counts: Record<string, number> = {};
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < 2000) {
        next++;
        const who = (okText(await call(ports.expense!, "/")) ?? "error").split(" ")[0]!;
        counts[who] = (counts[who] ?? 0) + 1;
      }
    }),
  );
  const v1 = (counts[n("expense-v1")] ?? 0) / 2000;
  result.split = { counts, v1Share: v1, ms: Date.now() - t0 };
  expect("split 45-55%", v1 >= 0.45 && v1 <= 0.55 && (counts.error ?? 0) === 0, counts);

  sc.step = "router";
  const admin = await call(ports.expense!, "/admin/users?x=1");
  result.router = admin;
  expect("router /admin -> expadmin with PrefixRewrite", okText(admin) === `${n("expadmin-1")} /users?x=1`, admin);

  sc.step = "rate limit";
  await config({ Kind: "service-defaults", Name: n("expadmin"), RateLimits: { InstanceLevel: { RequestsPerSecond: 5, RequestsMaxBurst: 5 } } });
  await until("the rate limit applies", 3_000, async () => {
    const r = await call(ports.expense!, "/admin/x");
    return "status" in r && r.status === 429 ? true : null;
  });
  await new Promise((r) => setTimeout(r, 1200));
  const limited = [];
  for (let i = 0; i < 20; i++) limited.push(await call(ports.expense!, "/admin/x"));
  const passed = limited.filter((r) => okText(r) !== null).length;
  const refused = limited.filter((r) => "status" in r && r.status === 429 && r.text === "local_rate_limited").length;
  result.rateLimit = { passed, refused };
  expect("RateLimits 5/s burst 5: the burst passes, the rest get 429", passed >= 5 && passed <= 9 && passed + refused === 20, result.rateLimit);
  await client.configEntries().delete("service-defaults", n("expadmin"));

  sc.step = "retries";
  let flakyFailures = 0;
  for (let i = 0; i < 30; i++) if (okText(await call(ports.flaky!, `/r${i}`)) === null) flakyFailures++;
  result.retries = { requests: 30, clientFailures: flakyFailures, appHits: flaky.hits };
  expect("retries hide 1-in-3 failures", flakyFailures === 0 && flaky.hits > 30, result.retries);

  sc.step = "timeout";
  const slow = await call(ports.slow!, "/timeout?ms=1000");
  result.timeout = slow;
  expect("RequestTimeout 200ms -> 504 at ~200 ms", "status" in slow && slow.status === 504 && slow.ms >= 150 && slow.ms < 600, slow);

  sc.step = "limits";
  const burst = await Promise.all(Array.from({ length: 100 }, () => call(ports.slow!, "/?ms=1000")));
  const shed = burst.filter((r) => "status" in r && r.status === 503);
  const served = burst.filter((r) => okText(r) !== null);
  const maxShedMs = Math.max(...shed.map((r) => r.ms));
  const minServedMs = Math.min(...served.map((r) => r.ms));
  result.limits = { shed: shed.length, served: served.length, maxShedMs, minServedMs, overloaded: shed.every((r) => "headers" in r && r.headers["x-envoy-overloaded"] === "true") };
  // Immediate: every shed request was answered before any admitted one (each takes 1 s) finished, so none waited in a queue.
  expect("MaxConcurrentRequests 10 -> 90 immediate 503s", shed.length === 90 && served.length === 10 && maxShedMs < minServedMs && minServedMs >= 1000, result.limits);

  sc.step = "ejection";
  bad.mode = "500";
  const before = bad.hits;
  for (let i = 0; i < 20; i++) await call(ports.pool!, "/");
  const badHitsWhileBroken = bad.hits - before;
  const afterEject = bad.hits;
  const healthy = await Promise.all(Array.from({ length: 10 }, () => call(ports.pool!, "/")));
  const ejected = bad.hits === afterEject && healthy.every((r) => okText(r) !== null);
  // The admin view (/clusters) shows the ejection.
  const poolView = web.clusters().find((c) => c.upstream === n("pool")) as { outlierDetection: Record<string, { ejected: boolean }> } | undefined;
  const ejectedInView = Object.values(poolView?.outlierDetection ?? {}).filter((s) => s.ejected).length;
  bad.mode = "ok";
  const back = await until("the ejected instance is readmitted", 8_000, async () => ((okText(await call(ports.pool!, "/")) ?? "").startsWith(n("pool-bad")) ? true : null));
  result.ejection = { badHitsWhileBroken, ejected, ejectedInView, readmittedMs: back.ms };
  expect("passive health: ejected after MaxFailures, shown in /clusters, readmitted after BaseEjectionTime", badHitsWhileBroken === 3 && ejected && ejectedInView === 1 && back.ms >= 500, result.ejection);

  sc.step = "ring";
  const keys = Array.from({ length: 24 }, (_, i) => `user-${i}`);
  const owner = async (k: string): Promise<string | null> => {
    const got = new Set<string>();
    for (let i = 0; i < 3; i++) got.add((okText(await call(ports.ring!, "/", { "x-user": k })) ?? "error").split(" ")[0]!);
    return got.size === 1 && !got.has("error") ? [...got][0]! : null;
  };
  const first: Record<string, string | null> = {};
  for (const k of keys) first[k] = await owner(k);
  await instance(n("ring"), n("ring-3"));
  await until("ring-3 takes keys", 5_000, async () => {
    for (const k of keys) if ((await owner(k)) === n("ring-3")) return true;
    return null;
  });
  let moved = 0;
  let wrong = 0;
  for (const k of keys) {
    const now = await owner(k);
    if (now === null || first[k] === null) wrong++;
    else if (now !== first[k]) now === n("ring-3") ? moved++ : wrong++;
  }
  result.ring = { keys: keys.length, movedToNew: moved, inconsistent: wrong, spread: new Set(Object.values(first)).size };
  expect("ring_hash keeps keys on one instance as one is added", wrong === 0 && moved > 0 && moved < keys.length, result.ring);

  sc.step = "redirect";
  const traffic = async (stop: () => boolean, target: string) => {
    let failed = 0;
    let total = 0;
    let firstAt = 0;
    while (!stop()) {
      const r = await call(ports.primary!, "/");
      total++;
      const t = okText(r);
      if (t === null) failed++;
      else if (firstAt === 0 && t.startsWith(target)) firstAt = Date.now();
    }
    return { failed, total, firstAt };
  };
  let done = false;
  const redirectRun = traffic(() => done, n("other-1"));
  await new Promise((r) => setTimeout(r, 200));
  const wroteRedirect = Date.now();
  await config({ Kind: "service-resolver", Name: n("primary"), Redirect: { Service: n("other") } });
  await until("redirect takes effect", 2_000, async () => ((okText(await call(ports.primary!, "/")) ?? "").startsWith(n("other-1")) ? true : null));
  await new Promise((r) => setTimeout(r, 300));
  done = true;
  const red = await redirectRun;
  result.redirect = { ms: red.firstAt - wroteRedirect, failed: red.failed, requests: red.total };
  expect("redirect within 2 s, no failed request", red.firstAt > 0 && red.firstAt - wroteRedirect < 2000 && red.failed === 0, result.redirect);

  sc.step = "failover";
  await config({ Kind: "service-resolver", Name: n("primary"), Failover: { "*": { Targets: [{ Service: n("backup") }] } } });
  await until("primary serves again", 3_000, async () => ((okText(await call(ports.primary!, "/")) ?? "").startsWith(n("primary-1")) ? true : null));
  done = false;
  const failoverRun = traffic(() => done, n("backup-1"));
  await new Promise((r) => setTimeout(r, 200));
  const wroteMaint = Date.now();
  await agent.enableServiceMaintenance(`${n("primary-1")}-sidecar-proxy`, "failover test");
  await until("failover takes effect", 2_000, async () => ((okText(await call(ports.primary!, "/")) ?? "").startsWith(n("backup-1")) ? true : null));
  await new Promise((r) => setTimeout(r, 300));
  done = true;
  const fo = await failoverRun;
  result.failover = { ms: fo.firstAt - wroteMaint, failed: fo.failed, requests: fo.total };
  expect("failover within 2 s, no failed request", fo.firstAt > 0 && fo.firstAt - wroteMaint < 2000 && fo.failed === 0, result.failover);
} catch (err) {
  sc.failures.push(`step ${sc.step}: ${(err as Error).message}`);
}
keepAlive.destroy();
await sc.finish();
