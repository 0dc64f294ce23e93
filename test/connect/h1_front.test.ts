/**
 * The sidecar's event-driven HTTP/1.1 front (sidecar/h1_front.ts) with the
 * real engine and the pool's exchange over an in-memory upstream connection:
 * a request nothing changes goes out as its own bytes and its answer's head
 * as it came (less hop-by-hop lines); rewrites and modifiers write them anew;
 * pipelined requests are answered in order; bodies split anywhere; the
 * errors a client or an upstream can cause.
 */
import { afterEach, expect, test } from "bun:test";
import { connect, createServer, type Server, type Socket } from "node:net";
import { L7Engine } from "../../gateways/l7/engine.ts";
import type { ChainPlan, RoutePlan } from "../../gateways/l7/plan.ts";
import { parseUpstreamSettings } from "../../gateways/l7/upstream_config.ts";
import { Reader } from "../../gateways/mesh/relay.ts";
import { serveHttp1 } from "../../gateways/sidecar/h1_front.ts";
import type { UpstreamResponse } from "../../gateways/sidecar/h2_front.ts";
import { exchange, type PooledConn, type PoolSocket, serializeRequest } from "../../gateways/sidecar/http_pool.ts";
import { End } from "./_duplex_end.ts";

const servers: Server[] = [];
const clients: Socket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

const route = (match: RoutePlan["match"], extra: Partial<RoutePlan> = {}): RoutePlan => ({
  match,
  legs: [{ weight: 100, cluster: "t", requestHeaders: null, responseHeaders: null }],
  prefixRewrite: "",
  requestTimeoutMs: 0,
  idleTimeoutMs: 0,
  retry: null,
  requestHeaders: null,
  responseHeaders: null,
  lb: null,
  ...extra,
});

const PLAN: ChainPlan = {
  protocol: "http",
  routes: [route({ PathPrefix: "/admin/" }, { prefixRewrite: "/" }), route({ PathPrefix: "/mod" }, { responseHeaders: { Set: { "x-mod": "1" } } }), route(null)],
  clusters: new Map([["t", { name: "t", targets: ["t"], connectTimeoutMs: 1000, requestTimeoutMs: 0, lb: null }]]),
  targets: new Map([["t", { id: "t", service: "s", subset: "", namespace: "default", datacenter: "dc1", filter: "", onlyPassing: false, sni: "", connectTimeoutMs: 1000, meshGatewayMode: "" }]]),
};

/** A front on a loopback port whose upstream is one in-memory connection (reused while it lasts, like the pool's). */
async function front(maxBody = 1 << 20) {
  let upstream = new End();
  let conn: PooledConn | null = null;
  const released: PooledConn[] = [];
  const engine = new L7Engine<UpstreamResponse>({
    transport: {
      send: () => Promise.reject(new Error("the front must start attempts without a promise")),
      start(_ep, _cluster, req, signal, done) {
        if (conn === null) {
          upstream = new End();
          conn = { socket: upstream as unknown as PoolSocket, reader: new Reader(upstream), cluster: "t", endpoint: "e", reused: false };
        }
        exchange(conn, serializeRequest(req), req.method, signal, (o) => done(o ?? { kind: "failure", reason: "reset", message: "upstream reset" }));
      },
      discard: () => {},
    },
    instances: () => [{ address: "127.0.0.1", port: 1 }],
  });
  engine.setPlan(PLAN, parseUpstreamSettings());
  const pool = {
    reusable: (r: { framing: { kind: string } }) => r.framing.kind !== "close",
    release: (c: PooledConn) => void released.push(c),
  };
  const server = createServer((s) => serveHttp1({ engine, pool, maxBody }, s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  servers.push(server);
  const client = connect((server.address() as { port: number }).port, "127.0.0.1");
  clients.push(client);
  let got = "";
  let ended = false;
  client.on("data", (d: Buffer) => (got += d.toString("latin1")));
  client.on("close", () => (ended = true));
  await new Promise((r) => client.once("connect", r));
  const until = async (what: string, ok: () => boolean) => {
    const t0 = Date.now();
    while (!ok()) {
      if (Date.now() - t0 > 2000) throw new Error(`not within 2 s: ${what} (client got ${JSON.stringify(got)}, upstream got ${JSON.stringify(upstream.text)})`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return {
    client,
    engine,
    released,
    upstream: () => upstream,
    got: () => got,
    ended: () => ended,
    until,
  };
}

test("a request nothing changes goes out as its own bytes; the answer's head passes as it came, less its hop-by-hop lines", async () => {
  const f = await front();
  const req = "GET /x?y=1 HTTP/1.1\r\nHost: a\r\nX-Odd:  spaced \r\n\r\n";
  f.client.write(req);
  await f.until("the request upstream", () => f.upstream().text === req);
  f.upstream().feed("HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok");
  await f.until("the answer", () => f.got().endsWith("ok"));
  expect(f.got()).toBe("HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok");
  expect(f.released.length).toBe(1);
});

test("a rewritten target, a hop-by-hop field and response modifiers make the front write the messages anew", async () => {
  const f = await front();
  f.client.write("GET /admin/u HTTP/1.1\r\nHost: a\r\n\r\n");
  await f.until("the rewritten request", () => f.upstream().text.length > 0);
  expect(f.upstream().text).toBe("GET /u HTTP/1.1\r\nHost: a\r\n\r\n");
  f.upstream().feed("HTTP/1.1 204 No Content\r\n\r\n");
  await f.until("the first answer", () => f.got().includes("204"));
  f.client.write("GET /mod HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n");
  await f.until("the second request", () => f.upstream().text.includes("/mod"));
  expect(f.upstream().text).toEndWith("GET /mod HTTP/1.1\r\nHost: a\r\n\r\n");
  f.upstream().feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\nm");
  await f.until("the modified answer", () => f.got().endsWith("m"));
  expect(f.got()).toEndWith("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nx-mod: 1\r\n\r\nm");
});

test("pipelined requests are answered in order, bodies split anywhere, and Connection: close ends the connection after its answer", async () => {
  const f = await front();
  f.client.write("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhe");
  await f.until("the first request", () => f.upstream().text.includes("/1"));
  // The second waits for the first answer (and for its body).
  expect(f.upstream().text).not.toContain("/2");
  f.upstream().feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n");
  f.client.write("llo");
  await new Promise((r) => setTimeout(r, 20));
  expect(f.upstream().text).not.toContain("/2");
  f.upstream().feed("0\r\n\r\n");
  await f.until("the second request, whole", () => f.upstream().text.endsWith("hello"));
  f.upstream().feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb");
  await f.until("the second answer", () => f.got().endsWith("\r\n\r\nb"));
  expect(f.got()).toStartWith("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\nHTTP/1.1 200 OK");
  f.client.write("GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  await f.until("the third request", () => f.upstream().text.includes("/3"));
  f.upstream().feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc");
  await f.until("the connection's end", () => f.ended());
  expect(f.got()).toEndWith("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nconnection: close\r\n\r\nc");
});

test("a malformed request gets 400, a body over the limit 413; an upstream cut mid-body cuts the client and frees the request's slot", async () => {
  const bad = await front();
  bad.client.write("NOT HTTP\r\n\r\n");
  await bad.until("the 400", () => bad.ended());
  expect(bad.got()).toStartWith("HTTP/1.1 400 Bad Request");

  const big = await front(4);
  big.client.write("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789");
  await big.until("the 413", () => big.ended());
  expect(big.got()).toStartWith("HTTP/1.1 413 Payload Too Large");

  const cut = await front();
  cut.client.write("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  await cut.until("the request", () => cut.upstream().text.length > 0);
  cut.upstream().feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  await cut.until("the first body bytes", () => cut.got().endsWith("abc"));
  const breaker = cut.engine.clusterRuntimes.get("t")!.breaker;
  expect(breaker.active).toBe(1);
  cut.upstream().destroy();
  await cut.until("the client cut", () => cut.ended());
  expect(breaker.active).toBe(0);
  expect(cut.released.length).toBe(0);
});
