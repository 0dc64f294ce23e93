/**
 * HTTP/2 and gRPC at L7 through two real sidecars, runtime-neutral
 * (traffic_runtimes.test.ts runs it under Bun, Node and Deno against one real
 * agent). A `web` sidecar's upstreams follow the discovery chains of a grpc
 * service (`greeter`, two versions) and an http2 upstream (`h2web`); apps
 * are h2c-only servers. Checks, in order:
 *   - a grpc.health.v1 Health/Check call passes (SERVING);
 *   - a 50/50 splitter over greeter v1/v2 spreads 200 unary calls;
 *   - a server-streaming call streams (the first message arrives well
 *     before the last) and a ping-pong bidirectional call works (the
 *     request body is not buffered to its end);
 *   - a router on the method path retries UNAVAILABLE (RetryOn
 *     "unavailable") so a method failing 1 in 3 shows no failure;
 *   - a RequestTimeout of 200 ms ends a slow method with DEADLINE_EXCEEDED;
 *   - an L7 intention denying one method path answers PERMISSION_DENIED
 *     ("RBAC: access denied") at once while other methods pass;
 *   - curl --http2-prior-knowledge (HTTP/2) and plain curl (HTTP/1.1)
 *     reach h2web, whose app speaks only HTTP/2 and whose chain is http2
 *     by web's service-defaults UpstreamConfig Override (Protocol).
 * Prints one JSON line; exit code 0 when every check held.
 *
 *   <runtime> test/connect/_grpc_scenario.ts <agent host:port> <suffix>
 */
import { spawn } from "node:child_process";
import { createServer as createH2Server } from "node:http2";
import { type AddressInfo, connect as netConnect } from "node:net";
import nodeProcess from "node:process";
import { Client } from "../../src/api/mod.ts";
import { lookupProxyIdForSidecar, SidecarProxy } from "../../gateways/sidecar/mod.ts";
import { type GrpcCall, grpcCall, grpcSession, HEALTH_CHECK, SERVING, startGrpcServer } from "./_grpc.ts";
import { freePort, Scenario, until } from "./_scenario_util.ts";

const [agentAddr = "127.0.0.1:8500", suffix = "x"] = nodeProcess.argv.slice(2);
const client = new Client({ address: agentAddr });
const agent = client.agent();
const sc = new Scenario(80_000);
const { result, cleanup, expect, logger } = sc;
const n = (base: string) => `${base}-${suffix}`;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The greeter app: Hello (unary), Count (server streaming), Echo (bidirectional), Flaky (UNAVAILABLE 1 in 3), Slow (1 s), Secret. */
async function greeter(id: string): Promise<{ port: number; flakyHits: () => number }> {
  let flaky = 0;
  const s = await startGrpcServer(async (call: GrpcCall, path: string) => {
    if (path === HEALTH_CHECK) {
      for await (const _ of call.messages);
      call.send(SERVING);
      return call.finish(0);
    }
    const method = path.split("/").pop();
    if (method === "Echo") {
      for await (const m of call.messages) call.send(enc(`${id}:${dec(m)}`));
      return call.finish(0);
    }
    const msgs: Uint8Array[] = [];
    for await (const m of call.messages) msgs.push(m);
    if (method === "Count") {
      for (let i = 0; i < 5; i++) {
        call.send(enc(`${id}:${i}`));
        await sleep(100);
      }
      return call.finish(0);
    }
    if (method === "Flaky" && ++flaky % 3 === 0) return call.finish(14, "flaky");
    if (method === "Slow") await sleep(1000);
    call.send(enc(`${id}:${dec(msgs[0] ?? new Uint8Array(0))}`));
    call.finish(0);
  });
  cleanup.push(() => s.close());
  return { port: s.port, flakyHits: () => flaky };
}

/** An h2c-only HTTP app (no HTTP/1.1): answers "<id> <path> <httpVersion>". */
async function h2App(id: string): Promise<number> {
  const server = createH2Server((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "text/plain", "x-app": id });
    res.end(`${id} ${req.url} ${req.httpVersion}`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  cleanup.push(() => new Promise((r) => server.close(() => r(undefined))));
  return (server.address() as AddressInfo).port;
}

async function sidecarFor(service: string, id: string, port: number, meta: Record<string, string> = {}): Promise<void> {
  await agent.serviceRegister({ Name: service, ID: id, Port: port, Meta: meta, Connect: { SidecarService: { Port: await freePort(), Check: { Name: "alias", AliasService: id } } } });
  cleanup.push(() => agent.serviceDeregister(id));
  const proxy = new SidecarProxy({ client, logger, source: { kind: "registration", proxyId: await lookupProxyIdForSidecar(client, id), agentAddress: "127.0.0.1" } });
  await proxy.start();
  cleanup.push(() => proxy.stop());
}

function curl(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn("curl", ["-s", "-i", "--max-time", "5", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (code) => resolve({ code, out }));
  });
}

const config = (entry: Record<string, unknown>) => client.configEntries().set(entry as { Kind: string });

try {
  sc.step = "config";
  const GREETER = n("greeter");
  const H2WEB = n("h2web");
  await config({ Kind: "service-defaults", Name: GREETER, Protocol: "grpc" });
  // h2web has no protocol of its own: web's UpstreamConfig override makes its chain http2 (OverrideProtocol).
  await config({ Kind: "service-defaults", Name: n("web"), UpstreamConfig: { Overrides: [{ Name: H2WEB, Protocol: "http2" }] } });
  await config({ Kind: "service-resolver", Name: GREETER, Subsets: { v1: { Filter: "Service.Meta.version == v1" }, v2: { Filter: "Service.Meta.version == v2" } } });
  await config({ Kind: "service-splitter", Name: GREETER, Splits: [{ Weight: 50, ServiceSubset: "v1" }, { Weight: 50, ServiceSubset: "v2" }] });
  await config({
    Kind: "service-router",
    Name: GREETER,
    Routes: [
      { Match: { HTTP: { PathExact: "/greet.Greeter/Flaky" } }, Destination: { ServiceSubset: "v1", NumRetries: 3, RetryOn: ["unavailable"] } },
      { Match: { HTTP: { PathExact: "/greet.Greeter/Slow" } }, Destination: { ServiceSubset: "v1", RequestTimeout: "200ms" } },
    ],
  });

  sc.step = "instances";
  const g1 = await greeter("v1");
  const g2 = await greeter("v2");
  await sidecarFor(GREETER, n("greeter-v1"), g1.port, { version: "v1" });
  await sidecarFor(GREETER, n("greeter-v2"), g2.port, { version: "v2" });
  await sidecarFor(H2WEB, n("h2web-1"), await h2App("h2web-1"));

  sc.step = "web";
  const ports = { greeter: await freePort(), h2web: await freePort() };
  const upstreams = [
    { DestinationName: GREETER, LocalBindPort: ports.greeter },
    { DestinationName: H2WEB, LocalBindPort: ports.h2web },
  ];
  await agent.serviceRegister({ Name: n("web"), Port: 1, Connect: { SidecarService: { Port: await freePort(), Check: { Name: "alias", AliasService: n("web") }, Proxy: { Upstreams: upstreams } } } });
  cleanup.push(() => agent.serviceDeregister(n("web")));
  const web = new SidecarProxy({ client, logger, source: { kind: "registration", proxyId: await lookupProxyIdForSidecar(client, n("web")), agentAddress: "127.0.0.1" } });
  await web.start();
  cleanup.push(() => web.stop());
  await web.whenServing();
  const session = grpcSession(ports.greeter);
  cleanup.push(async () => session.destroy());

  sc.step = "health";
  const health = await until("the health check passes", 10_000, async () => {
    const r = await grpcCall(session, HEALTH_CHECK, [new Uint8Array(0)]);
    return r.grpcStatus === 0 ? r : null;
  });
  result.health = { grpcStatus: health.value.grpcStatus, serving: health.value.messages.length === 1 && dec(health.value.messages[0]!) === dec(SERVING) };
  expect("grpc.health.v1 Check -> SERVING", health.value.grpcStatus === 0 && (result.health as { serving: boolean }).serving, health.value);

  sc.step = "split";
  await until("both greeter subsets answer", 10_000, async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(dec((await grpcCall(session, "/greet.Greeter/Hello", [enc("x")])).messages[0] ?? enc("error")).split(":")[0]!);
    return seen.has("v1") && seen.has("v2") ? true : null;
  });
  const counts: Record<string, number> = {};
  // 200 calls, 20 streams at a time on one connection.
  const errors = new Set<string>();
  for (let batch = 0; batch < 10; batch++) {
    const calls = await Promise.all(Array.from({ length: 20 }, (_, i) => grpcCall(session, "/greet.Greeter/Hello", [enc(`m${batch}-${i}`)])));
    for (const c of calls) {
      const who = c.grpcStatus === 0 ? dec(c.messages[0] ?? enc("?")).split(":")[0]! : `status-${c.grpcStatus}`;
      if (c.error) errors.add(c.error);
      counts[who] = (counts[who] ?? 0) + 1;
    }
  }
  if (errors.size > 0) result.splitErrors = [...errors].slice(0, 3);
  result.split = counts;
  expect("50/50 split over gRPC: 35-65% each, no failure", (counts.v1 ?? 0) >= 70 && (counts.v1 ?? 0) <= 130 && (counts.v1 ?? 0) + (counts.v2 ?? 0) === 200, counts);

  sc.step = "streaming";
  const count = await grpcCall(session, "/greet.Greeter/Count", [enc("go")]);
  result.serverStream = { grpcStatus: count.grpcStatus, messages: count.messages.map(dec), at: count.at };
  const spread = (count.at[4] ?? 0) - (count.at[0] ?? 0);
  expect("server streaming: 5 messages in order, streamed", count.grpcStatus === 0 && count.messages.length === 5 && spread >= 250, result.serverStream);
  const echo = await grpcCall(session, "/greet.Greeter/Echo", [enc("a"), enc("b"), enc("c")], { pingPong: true });
  result.bidi = { grpcStatus: echo.grpcStatus, messages: echo.messages.map(dec) };
  const who = dec(echo.messages[0] ?? enc("?")).split(":")[0];
  expect("bidirectional ping-pong", echo.grpcStatus === 0 && echo.messages.map(dec).join(",") === `${who}:a,${who}:b,${who}:c`, result.bidi);

  sc.step = "retries";
  let flakyFailures = 0;
  for (let i = 0; i < 30; i++) if ((await grpcCall(session, "/greet.Greeter/Flaky", [enc(`f${i}`)])).grpcStatus !== 0) flakyFailures++;
  result.retries = { calls: 30, clientFailures: flakyFailures, appCalls: g1.flakyHits() };
  expect("RetryOn unavailable hides 1-in-3 UNAVAILABLE", flakyFailures === 0 && g1.flakyHits() > 30, result.retries);

  sc.step = "timeout";
  const slow = await grpcCall(session, "/greet.Greeter/Slow", [enc("s")]);
  result.timeout = { httpStatus: slow.httpStatus, grpcStatus: slow.grpcStatus, grpcMessage: slow.grpcMessage, ms: slow.ms };
  expect("RequestTimeout 200ms -> DEADLINE_EXCEEDED at ~200 ms", slow.httpStatus === 200 && slow.grpcStatus === 4 && slow.ms >= 150 && slow.ms < 700, result.timeout);

  sc.step = "intention";
  await config({
    Kind: "service-intentions",
    Name: GREETER,
    Sources: [{ Name: n("web"), Permissions: [{ Action: "deny", HTTP: { PathExact: "/greet.Greeter/Secret" } }, { Action: "allow", HTTP: { PathPrefix: "/" } }] }],
  });
  const denied = await until("the L7 intention applies", 3_000, async () => {
    const r = await grpcCall(session, "/greet.Greeter/Secret", [enc("s")], { timeoutMs: 2000 });
    return r.grpcStatus === 7 ? r : null;
  });
  const allowed = await grpcCall(session, "/greet.Greeter/Hello", [enc("h")]);
  result.intention = { httpStatus: denied.value.httpStatus, grpcStatus: denied.value.grpcStatus, grpcMessage: denied.value.grpcMessage, ms: denied.value.ms, allowedStatus: allowed.grpcStatus };
  expect("L7 intention on a gRPC method -> PERMISSION_DENIED, not a hang", denied.value.grpcMessage === "RBAC: access denied" && denied.value.ms < 1000 && allowed.grpcStatus === 0, result.intention);
  await client.configEntries().delete("service-intentions", GREETER);

  sc.step = "adversarial";
  // Garbage after the HTTP/2 preface, a stalled half preface, a 100 KiB header: each loses only its own connection or stream.
  const raw = (bytes: string, waitMs: number) =>
    new Promise<string>((resolve) => {
      const sock = netConnect(ports.greeter, "127.0.0.1", () => sock.write(bytes));
      let got = "";
      sock.on("data", (d) => (got += d.length));
      sock.on("error", () => {});
      sock.on("close", () => resolve(`closed after ${got || 0} bytes`));
      setTimeout(() => {
        sock.destroy();
        resolve("still open");
      }, waitMs);
    });
  const garbage = await raw(`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${"\xff".repeat(64)}`, 3000);
  const half = raw("PRI * HT", 1500);
  const bigHeader = await grpcCall(grpcSession(ports.greeter), "/greet.Greeter/Hello", [enc("h")], { headers: { "x-big": "a".repeat(100 * 1024) }, timeoutMs: 3000 });
  // A 9 MiB request (over the 8 MiB retry buffer) still streams through, just without retries.
  const big = await grpcCall(session, "/greet.Greeter/Hello", [new Uint8Array(9 * 1024 * 1024).fill(120)], { timeoutMs: 30_000 });
  const after = await grpcCall(session, HEALTH_CHECK, [new Uint8Array(0)]);
  result.adversarial = { garbage, half: await half, bigHeader: bigHeader.error ?? bigHeader.grpcStatus, big: { grpcStatus: big.grpcStatus, bytes: big.messages[0]?.length, ms: big.ms, error: big.error }, after: after.grpcStatus };
  expect(
    "malformed HTTP/2, a stalled preface, a huge header and a 9 MiB body leave the sidecar serving",
    garbage.startsWith("closed") && bigHeader.grpcStatus !== 0 && big.grpcStatus === 0 && big.messages[0]?.length === 9 * 1024 * 1024 + 3 && after.grpcStatus === 0,
    result.adversarial,
  );

  sc.step = "curl";
  const h2 = await curl(["--http2-prior-knowledge", `http://127.0.0.1:${ports.h2web}/hello?x=1`]);
  const h1 = await curl([`http://127.0.0.1:${ports.h2web}/plain`]);
  result.curl = { h2: h2.out.split("\r\n")[0], h2Body: h2.out.split("\r\n\r\n")[1], h1: h1.out.split("\r\n")[0], h1Body: h1.out.split("\r\n\r\n")[1] };
  expect("curl --http2-prior-knowledge through two sidecars", /^HTTP\/2 200/.test(h2.out) && h2.out.endsWith("h2web-1 /hello?x=1 2.0"), result.curl);
  expect("curl HTTP/1.1 to an http2 upstream (carried as HTTP/2)", /^HTTP\/1\.1 200/.test(h1.out) && h1.out.endsWith("h2web-1 /plain 2.0"), result.curl);
} catch (err) {
  sc.failures.push(`step ${sc.step}: ${(err as Error).message}`);
}
await sc.finish();
