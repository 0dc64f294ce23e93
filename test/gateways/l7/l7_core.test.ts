/** The runtime-portable L7 pieces: matching, rewriting, header modifiers, balancers, hashing, ejection, breakers, rate limits, the chain plan and the engine's retry/timeout/failover loop. */
import { describe, expect, test } from "bun:test";
import { type AttemptOutcome, type ClusterRuntime, type Endpoint, L7Engine, type OutboundRequest, type Transport } from "../../../gateways/l7/engine.ts";
import { abortSignalOf, Deadline, type DeadlineSignal } from "../../../gateways/l7/deadline.ts";
import { applyHeaderModifiers } from "../../../gateways/l7/headers.ts";
import { requestHash } from "../../../gateways/l7/hash_policy.ts";
import { makeBalancer } from "../../../gateways/l7/lb.ts";
import { CircuitBreaker } from "../../../gateways/l7/limits.ts";
import { matcherOf, rewritePath, routeMatches } from "../../../gateways/l7/match.ts";
import { OutlierDetector } from "../../../gateways/l7/outlier.ts";
import { planChain } from "../../../gateways/l7/plan.ts";
import { RateLimiter } from "../../../gateways/l7/rate_limit.ts";
import type { L7Request } from "../../../gateways/l7/request.ts";
import { parseUpstreamSettings } from "../../../gateways/l7/upstream_config.ts";
import { compileChain, renderChain } from "../../../src/connect/discoverychain/mod.ts";
import { decodeConfigEntry, normalizeAndValidate } from "../../../src/configentry/registry.ts";
import type { CompiledDiscoveryChainWire } from "../../../src/api/mod.ts";

const req = (target: string, headers: [string, string][] = [], method = "GET"): L7Request => ({ method, target, headers, body: new Uint8Array(0), sourceIp: "10.0.0.9" });

describe("route matching", () => {
  test("paths, methods, headers and query parameters", () => {
    expect(routeMatches({ PathExact: "/a" }, req("/a?x=1"))).toBe(true);
    expect(routeMatches({ PathExact: "/a" }, req("/a/b"))).toBe(false);
    expect(routeMatches({ PathPrefix: "/admin/" }, req("/admin/users"))).toBe(true);
    expect(routeMatches({ PathPrefix: "/Admin", CaseInsensitive: true }, req("/ADMIN/x"))).toBe(true);
    expect(routeMatches({ PathRegex: "/v[0-9]+/.*" }, req("/v2/items"))).toBe(true);
    expect(routeMatches({ PathRegex: "/v[0-9]+" }, req("/v2/items"))).toBe(false);
    expect(routeMatches({ Methods: ["POST"] }, req("/", [], "GET"))).toBe(false);
    expect(routeMatches({ Header: [{ Name: "x-debug", Present: true }] }, req("/", [["X-Debug", "1"]]))).toBe(true);
    expect(routeMatches({ Header: [{ Name: "x-debug", Present: true, Invert: true }] }, req("/"))).toBe(true);
    expect(routeMatches({ Header: [{ Name: "x-env", Prefix: "can" }, { Name: "x-env", Suffix: "ary" }] }, req("/", [["x-env", "canary"]]))).toBe(true);
    expect(routeMatches({ Header: [{ Name: "x-env", Regex: "prod|stage" }] }, req("/", [["x-env", "production"]]))).toBe(false);
    expect(routeMatches({ Header: [{ Name: "x-env", Exact: "prod", Invert: true }] }, req("/", [["x-env", "prod"]]))).toBe(false);
    expect(routeMatches({ QueryParam: [{ Name: "beta", Exact: "1" }] }, req("/?beta=1&x=2"))).toBe(true);
    expect(routeMatches({ QueryParam: [{ Name: "beta", Present: true }] }, req("/?x=2"))).toBe(false);
    expect(routeMatches({ QueryParam: [{ Name: "id", Regex: "[0-9]+" }] }, req("/?id=42"))).toBe(true);
  });

  test("a compiled matcher agrees with the general one on every match and target", () => {
    const matches = [{}, { PathExact: "/a" }, { PathExact: "/a?b" }, { PathPrefix: "/admin" }, { PathPrefix: "/ad?" }, { PathExact: "/a", PathPrefix: "/b" }, { PathExact: "", PathPrefix: "/a" }, { PathPrefix: "/A", CaseInsensitive: true }, { PathRegex: "/a.*" }, { PathPrefix: "/a", Methods: ["POST"] }];
    const targets = ["/", "/a", "/a?x=1", "/ab", "/a/b", "/ad?min", "/admin", "/admin/x?y", "/A/b", "/b", "/a?b", "/ad?"];
    for (const m of matches) for (const t of targets) expect([JSON.stringify(m), t, matcherOf(m)(req(t))]).toEqual([JSON.stringify(m), t, routeMatches(m, req(t))]);
    const m = { PathPrefix: "/x" };
    expect(matcherOf(m)).toBe(matcherOf(m));
  });

  test("PrefixRewrite replaces the matched prefix literally and keeps the query", () => {
    expect(rewritePath({ PathPrefix: "/admin/" }, "/", "/admin/users?x=1")).toBe("/users?x=1");
    expect(rewritePath({ PathPrefix: "/admin" }, "/", "/admin/users")).toBe("//users");
    expect(rewritePath({ PathExact: "/old" }, "/new", "/old")).toBe("/new");
    expect(rewritePath({ PathRegex: "/x.*" }, "/", "/xy")).toBe("/xy");
  });
});

test("header modifiers: Set replaces, Add appends, Remove deletes, case-insensitively", () => {
  const out = applyHeaderModifiers([["Host", "a"], ["X-Old", "1"], ["x-keep", "k"]], [{ Set: { host: "b" }, Add: { "x-keep": "k2" }, Remove: ["x-old"] }]);
  expect(out).toEqual([["x-keep", "k"], ["host", "b"], ["x-keep", "k2"]]);
});

describe("load balancers", () => {
  const eps = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `10.0.0.${i}:80`, active: 0 }));
  test("round_robin cycles; least_request prefers the idle endpoint", () => {
    const rr = makeBalancer(null);
    const list = eps(3);
    expect([0, 1, 2, 3].map(() => rr.pick(list, null)!.key)).toEqual(["10.0.0.0:80", "10.0.0.1:80", "10.0.0.2:80", "10.0.0.0:80"]);
    const lr = makeBalancer({ Policy: "least_request", LeastRequestConfig: { ChoiceCount: 10 } });
    const busy = [{ key: "a", active: 50 }, { key: "b", active: 0 }];
    const picks = Array.from({ length: 50 }, () => lr.pick(busy, null)!.key);
    expect(picks.filter((k) => k === "b").length).toBeGreaterThan(45);
    expect(makeBalancer({ Policy: "random" }).pick([], null)).toBeNull();
  });

  for (const policy of ["ring_hash", "maglev"]) {
    test(`${policy}: a key stays on one endpoint, and adding one only moves keys onto it`, () => {
      const lb = makeBalancer({ Policy: policy });
      const two = eps(2);
      const three = eps(3);
      const keys = Array.from({ length: 500 }, (_, i) => requestHash([{ Field: "header", FieldValue: "x-user" }], req("/", [["x-user", `u${i}`]])).hash!);
      const before = keys.map((h) => lb.pick(two, h)!.key);
      expect(keys.map((h) => lb.pick(two, h)!.key)).toEqual(before);
      expect(new Set(before).size).toBe(2);
      const after = keys.map((h) => lb.pick(three, h)!.key);
      const moved = after.filter((k, i) => k !== before[i]);
      if (policy === "ring_hash") expect(moved.every((k) => k === three[2]!.key)).toBe(true);
      else expect(moved.filter((k) => k !== three[2]!.key).length).toBeLessThan(keys.length * 0.1);
      expect(moved.length).toBeGreaterThan(keys.length * 0.15);
      expect(moved.length).toBeLessThan(keys.length * 0.55);
    });
  }

  test("hash policies: header, cookie generated with its TTL, source IP, terminal", () => {
    const a = requestHash([{ Field: "header", FieldValue: "x-user" }], req("/", [["x-user", "alice"]]));
    const b = requestHash([{ Field: "header", FieldValue: "x-user" }], req("/", [["x-user", "bob"]]));
    expect(a.hash).not.toBe(b.hash);
    expect(requestHash([{ Field: "header", FieldValue: "x-user" }], req("/")).hash).toBeNull();
    const gen = requestHash([{ Field: "cookie", FieldValue: "sticky", CookieConfig: { TTL: 60e9, Path: "/" } }], req("/"));
    expect(gen.setCookie).toMatch(/^sticky=[0-9a-f]+; Path=\/; Max-Age=60; HttpOnly$/);
    const value = gen.setCookie!.split(";")[0]!.split("=")[1]!;
    const again = requestHash([{ Field: "cookie", FieldValue: "sticky", CookieConfig: { TTL: 60e9 } }], req("/", [["cookie", `other=1; sticky=${value}`]]));
    expect(again.hash).toBe(gen.hash);
    expect(again.setCookie).toBeNull();
    expect(requestHash([{ Field: "cookie", FieldValue: "c" }], req("/")).setCookie).toBeNull();
    const ip = requestHash([{ SourceIP: true }], req("/"));
    expect(ip.hash).not.toBeNull();
    const terminal = requestHash([{ SourceIP: true, Terminal: true }, { Field: "header", FieldValue: "x" }], req("/", [["x", "1"]]));
    expect(terminal.hash).toBe(ip.hash);
  });
});

test("outlier detection ejects after MaxFailures, bounded by MaxEjectionPercent, and readmits after BaseEjectionTime", () => {
  let now = 0;
  const o = new OutlierDetector({ intervalMs: 100, maxFailures: 3, baseEjectionTimeMs: 1000, maxEjectionPercent: 10 }, () => now);
  o.report("a", true, 4);
  o.report("a", true, 4);
  o.report("a", false, 4);
  o.report("a", true, 4);
  expect(o.isEjected("a")).toBe(false);
  o.report("a", true, 4);
  o.report("a", true, 4);
  expect(o.isEjected("a")).toBe(true);
  // 10% of 4 rounds down, but one may always be ejected; a second may not.
  for (let i = 0; i < 3; i++) o.report("b", true, 4);
  expect(o.isEjected("b")).toBe(false);
  now = 900;
  expect(o.isEjected("a")).toBe(true);
  now = 1100;
  expect(o.isEjected("a")).toBe(false);
});

test("circuit breaker sheds past MaxConcurrentRequests and MaxPendingRequests", () => {
  const b = new CircuitBreaker({ maxConcurrentRequests: 2, maxPendingRequests: 1 });
  expect([b.tryRequest(), b.tryRequest(), b.tryRequest()]).toEqual([true, true, false]);
  b.releaseRequest();
  expect(b.tryRequest()).toBe(true);
  expect([b.tryPending(), b.tryPending()]).toEqual([true, false]);
  expect(b.overflows).toBe(2);
  expect(new CircuitBreaker({}).maxConnections).toBe(1024);
});

test("rate limiter: per-route buckets before the instance bucket, refilled over time", () => {
  let now = 0;
  const r = new RateLimiter({ RequestsPerSecond: 2, RequestsMaxBurst: 2, Routes: [{ PathPrefix: "/slow", RequestsPerSecond: 1 }] }, () => now);
  expect([r.allow("/"), r.allow("/"), r.allow("/")]).toEqual([true, true, false]);
  expect([r.allow("/slow/x"), r.allow("/slow/y")]).toEqual([true, false]);
  now = 1000;
  expect([r.allow("/"), r.allow("/slow")]).toEqual([true, true]);
});

test("upstream settings from proxy Config (snake_case) and UpstreamConfig (Go names), later layers winning", () => {
  const s = parseUpstreamSettings(
    { Limits: { MaxConnections: 5, MaxConcurrentRequests: 7 }, PassiveHealthCheck: { Interval: 1e9, MaxFailures: 4 } },
    { limits: { max_concurrent_requests: 10 }, passive_health_check: { base_ejection_time: "2s" }, connect_timeout_ms: 250, balance_outbound_connections: "exact_balance" },
  );
  expect(s).toEqual({
    connectTimeoutMs: 250,
    limits: { maxConnections: 5, maxConcurrentRequests: 10 },
    passiveHealthCheck: { intervalMs: 1000, maxFailures: 4, baseEjectionTimeMs: 2000 },
    protocol: "",
    balanceOutboundConnections: "exact_balance",
  });
});

function chainOf(raw: Record<string, unknown>[], service = "web"): CompiledDiscoveryChainWire {
  const entries = raw.map((r) => {
    const e = decodeConfigEntry(r);
    normalizeAndValidate(e);
    return e;
  });
  const lookup = { get: (k: string, n: string) => entries.find((e) => e.Kind === k && e.Name === n), list: (k: string) => entries.filter((e) => e.Kind === k) };
  return renderChain(compileChain({ serviceName: service, datacenter: "dc1", trustDomain: "td.consul", entries: lookup })) as unknown as CompiledDiscoveryChainWire;
}

const HTTP = { Kind: "proxy-defaults", Name: "global", Config: { protocol: "http" } };

test("plan: router routes with retries and timeouts, the catch-all, split legs and failover targets", () => {
  const plan = planChain(
    chainOf([
      HTTP,
      { Kind: "service-router", Name: "web", Routes: [{ Match: { HTTP: { PathPrefix: "/api/" } }, Destination: { Service: "api", PrefixRewrite: "/", RequestTimeout: "2s", NumRetries: 3, RetryOnConnectFailure: true, RetryOnStatusCodes: [503] } }] },
      { Kind: "service-splitter", Name: "web", Splits: [{ Weight: 90, ServiceSubset: "v1" }, { Weight: 10, ServiceSubset: "v2", RequestHeaders: { Set: { "x-canary": "1" } } }] },
      { Kind: "service-resolver", Name: "web", Subsets: { v1: { Filter: "Service.Meta.v == 1", OnlyPassing: true }, v2: { Filter: "Service.Meta.v == 2" } }, Failover: { "*": { Service: "web-backup" } } },
    ]),
  );
  expect(plan.protocol).toBe("http");
  expect(plan.routes).toHaveLength(2);
  const [api, all] = plan.routes;
  expect(api!.prefixRewrite).toBe("/");
  expect(api!.requestTimeoutMs).toBe(2000);
  expect(api!.retry).toEqual({ numRetries: 3, on: new Set(["connect-failure", "retriable-status-codes"]), statusCodes: new Set([503]) });
  expect(all!.legs.map((l) => [l.weight, l.cluster])).toEqual([[90, "v1.web.default.default.dc1"], [10, "v2.web.default.default.dc1"]]);
  expect(all!.legs[1]!.requestHeaders).toEqual({ Set: { "x-canary": "1" } });
  expect(plan.clusters.get("v1.web.default.default.dc1")!.targets).toEqual(["v1.web.default.default.dc1", "web-backup.default.default.dc1"]);
  expect(plan.targets.get("v1.web.default.default.dc1")).toMatchObject({ service: "web", filter: "Service.Meta.v == 1", onlyPassing: true, connectTimeoutMs: 5000 });
});

describe("engine", () => {
  type Resp = { from: string };
  const plan = planChain(
    chainOf([
      HTTP,
      { Kind: "service-router", Name: "web", Routes: [{ Match: { HTTP: { PathPrefix: "/retry" } }, Destination: { NumRetries: 2, RetryOn: ["5xx"] } }, { Match: { HTTP: { PathPrefix: "/slow" } }, Destination: { RequestTimeout: "50ms" } }] },
      { Kind: "service-resolver", Name: "web", Failover: { "*": { Service: "backup" } } },
    ]),
  );
  function engine(instances: Record<string, string[]>, answer: (ep: Endpoint, r: OutboundRequest, signal: DeadlineSignal) => Promise<AttemptOutcome<Resp>>) {
    const seen: string[] = [];
    const transport: Transport<Resp> = {
      send: (ep, _c: ClusterRuntime, r, signal) => {
        seen.push(ep.key);
        return answer(ep, r, signal);
      },
      discard: () => {},
    };
    const e = new L7Engine<Resp>({ transport, instances: (id) => (instances[id] ?? []).map((a) => ({ address: a, port: 80 })) });
    e.setPlan(plan, parseUpstreamSettings({ limits: { max_concurrent_requests: 1 } }));
    return { e, seen };
  }
  const ok = (from: string): AttemptOutcome<Resp> => ({ kind: "response", status: 200, headers: [], response: { from } });

  test("retries a 5xx on the next endpoint; without a retry policy the 5xx is the answer", async () => {
    let n = 0;
    const { e, seen } = engine({ "web.default.default.dc1": ["a", "b"] }, async (ep) => (n++ === 0 ? { kind: "response", status: 503, headers: [], response: { from: ep.key } } : ok(ep.key)));
    const h = await e.handle(req("/retry"));
    expect(h).toMatchObject({ kind: "upstream", status: 200 });
    if (h.kind === "upstream") h.done();
    expect(seen).toEqual(["a:80", "b:80"]);
    n = 0;
    const h2 = await e.handle(req("/other"));
    expect(h2.status).toBe(503);
    if (h2.kind === "upstream") h2.done();
  });

  test("a request timeout answers 504; the breaker sheds a second request at once", async () => {
    const { e } = engine({ "web.default.default.dc1": ["a"] }, (_ep, _r, signal) => new Promise((resolve) => signal.addEventListener("abort", () => resolve({ kind: "failure", reason: "reset", message: "aborted" }))));
    const slow = e.handle(req("/slow"));
    const shed = await e.handle(req("/slow"));
    expect(shed).toMatchObject({ kind: "local", status: 503 });
    expect(shed.headers).toContainEqual(["x-envoy-overloaded", "true"]);
    const t0 = Date.now();
    expect(await slow).toMatchObject({ kind: "local", status: 504, body: "upstream request timeout" });
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  test("failover: no instance of the primary target sends traffic to the failover target; none at all is 503", async () => {
    const { e, seen } = engine({ "backup.default.default.dc1": ["z"] }, async (ep) => ok(ep.key));
    const h = await e.handle(req("/"));
    if (h.kind === "upstream") h.done();
    expect(seen).toEqual(["z:80"]);
    const { e: none } = engine({}, async (ep) => ok(ep.key));
    expect(await none.handle(req("/"))).toMatchObject({ kind: "local", status: 503, body: "no healthy upstream" });
  });
});

test("a deadline runs its abort listeners once when it passes, none once cleared, and hands fetch a real AbortSignal", async () => {
  const d = new Deadline(20);
  let fired = 0;
  const gone = () => fired++;
  d.addEventListener("abort", () => fired++);
  d.addEventListener("abort", gone);
  d.removeEventListener("abort", gone);
  const real = abortSignalOf(d);
  expect(real.aborted).toBe(false);
  await new Promise((r) => setTimeout(r, 60));
  expect([d.aborted, fired, real.aborted]).toEqual([true, 1, true]);
  d.addEventListener("abort", () => fired++);
  d.abort();
  expect(fired).toBe(1);
  const cleared = new Deadline(10);
  cleared.addEventListener("abort", () => fired++);
  cleared.clear();
  await new Promise((r) => setTimeout(r, 40));
  expect([cleared.aborted, fired]).toEqual([false, 1]);
  const native = AbortSignal.abort();
  expect(abortSignalOf(native)).toBe(native);
});
