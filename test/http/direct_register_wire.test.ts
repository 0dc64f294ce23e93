/**
 * The registration lane on a socket: the same bytes sent to a listener with
 * the direct lanes and to one with the app alone must come back as the same
 * bytes (but the Date header), on node:http and on the runtime's own listener:
 * pipelined requests, bodies past a socket read, bodies that arrive late or
 * never, chunked bodies and declared sizes past the limit (the app's), and a
 * client that hangs up mid-body.
 * (Under Bun here; test/smoke/smoke.mjs compares the lanes under Node and Deno.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { createApp, directApi, RequestMetrics } from "../../src/http/mod.ts";
import { type HttpListener, serveHttp, type ServeOptions } from "../../src/runtime/mod.ts";
import { serveNode } from "../../src/runtime/serve_node.ts";
import { type Harness, startHarness } from "./_harness.ts";
import { registerCases } from "./_register_cases.ts";

const READ_TIMEOUT_MS = 400;
const enc = new TextEncoder();

/** One request's bytes: head, then body (Content-Length unless given otherwise). */
function put(target: string, body: string | Uint8Array, extra = ""): Uint8Array {
  const b = typeof body === "string" ? enc.encode(body) : body;
  const length = /content-length|transfer-encoding/i.test(extra) ? "" : `Content-Length: ${b.length}\r\n`;
  return concat([enc.encode(`PUT ${target} HTTP/1.1\r\nHost: t\r\n${length}${extra}\r\n`), b]);
}

const concat = (parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);

/**
 * Writes `parts` (pausing `gapMs` between them) and returns what came back,
 * once the server closed the connection or said nothing for `idleMs`; the
 * Date header is dropped (the one thing the two lanes may not agree on).
 */
function exchange(port: number, parts: Uint8Array[], opts: { gapMs?: number; idleMs?: number; hangUp?: boolean } = {}): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, "127.0.0.1");
    let idle: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      clearTimeout(idle);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString("latin1").replace(/\r\nDate: [^\r]*/g, ""));
    };
    const quiet = () => {
      clearTimeout(idle);
      idle = setTimeout(done, opts.idleMs ?? 1500);
    };
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      quiet();
    });
    socket.on("error", () => {});
    socket.on("close", done);
    socket.on("connect", async () => {
      for (let i = 0; i < parts.length; i++) {
        if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        if (socket.destroyed) return;
        socket.write(parts[i]!);
      }
      if (opts.hangUp) socket.destroy();
      quiet();
    });
  });
}

const onNode = (o: ServeOptions): Promise<HttpListener> => serveNode(o, null);
for (const [name, serve, translate] of [
  ["node:http", onNode, false],
  ["the runtime's listener", (o: ServeOptions): Promise<HttpListener> => serveHttp(o), false],
  ["node:http, translate_wan_addrs", onNode, true],
] as const) {
  describe(`registration on the wire (${name})`, () => {
    let h: Harness;
    let lanes: HttpListener;
    let app: HttpListener;
    /** Requests the direct lanes answered (the rest went to the app). */
    let taken = 0;
    beforeAll(async () => {
      h = await startHarness();
      const api = { ...h.api, agent: { ...h.api.agent, translateWanAddrs: translate } };
      const whole = createApp(api);
      const fetch: ServeOptions["fetch"] = (req, remoteAddress) => whole.fetch(req, { remoteAddress, readTimeoutMs: READ_TIMEOUT_MS });
      const common = { hostname: "127.0.0.1", port: 0, fetch, headerTimeoutMs: 30_000 };
      const direct = directApi(api, new RequestMetrics(), { readTimeoutMs: READ_TIMEOUT_MS });
      lanes = await serve({
        ...common,
        direct: (req) => {
          const a = direct(req);
          if (a !== null) taken++;
          return a;
        },
      });
      app = await serve(common);
    });
    afterAll(async () => {
      await lanes.stop();
      await app.stop();
      await h.stop();
    });

    /** The same exchange with both listeners: equal, and returned. */
    async function same(parts: Uint8Array[], opts?: Parameters<typeof exchange>[2]): Promise<string> {
      const a = await exchange(lanes.port, parts, opts);
      const b = await exchange(app.port, parts, opts);
      expect(a).toBe(b);
      return a;
    }

    test("every case, pipelined on one connection, answers byte for byte as the app", async () => {
      const cases = registerCases();
      const parts = cases.map((c, i) => put(c.target ?? "/v1/catalog/register", c.body, i === cases.length - 1 ? "Connection: close\r\n" : ""));
      const before = taken;
      const got = await same([concat(parts)]);
      expect(taken - before).toBe(cases.length);
      const statuses = [...got.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
      expect(statuses).toEqual(cases.map((c) => c.status));
      expect(got.includes("\r\nX-Consul-Translate-Addresses: true\r\n")).toBe(translate);
    });

    test("each case on a connection of its own, with gzip asked for", async () => {
      for (const c of registerCases().slice(0, 12)) await same([put(c.target ?? "/v1/catalog/register", c.body, "Accept-Encoding: gzip\r\nConnection: close\r\n")]);
    });

    test("a body that comes after its head, in pieces, then another request on the connection", async () => {
      const body = enc.encode(JSON.stringify({ Node: "late-1", Address: "10.0.0.1", Service: { Service: "web", Port: 80 } }));
      const whole = put("/v1/catalog/register", body);
      const head = whole.subarray(0, whole.length - body.length);
      const got = await same([head, body.subarray(0, 10), body.subarray(10), put("/v1/catalog/register", "{", "Connection: close\r\n")], { gapMs: 60 });
      expect(got).toMatch(/^HTTP\/1\.1 200 [^]*true[^]*HTTP\/1\.1 400 /);
    });

    test("a body that never arrives whole is answered 408 and its connection closed", async () => {
      const got = await same([enc.encode('PUT /v1/catalog/register HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{"Node":')], { idleMs: READ_TIMEOUT_MS * 5 });
      expect(got).toStartWith("HTTP/1.1 408 ");
      expect(taken).toBeGreaterThan(0);
      expect(got).toContain("\r\nConnection: close\r\n");
      expect(got).toEndWith(`Request body not received within ${READ_TIMEOUT_MS} ms`);
    });

    test("chunked bodies and declared sizes past the limit are the app's, answered alike", async () => {
      const json = JSON.stringify({ Node: "chunked-1", Address: "10.0.0.1" });
      const chunked = enc.encode(`PUT /v1/catalog/register HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n`);
      expect(await same([chunked])).toMatch(/^HTTP\/1\.1 200 [^]*true$/);
      const huge = enc.encode(`PUT /v1/catalog/register HTTP/1.1\r\nHost: t\r\nContent-Length: ${64 * 1024 * 1024 + 1}\r\n\r\n{}`);
      expect(await same([huge], { idleMs: 800 })).toStartWith("HTTP/1.1 413 ");
    });

    test("a client that hangs up mid-body leaves the listener serving", async () => {
      const partial = enc.encode('PUT /v1/catalog/register HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\n\r\n{"Node":"gone"');
      for (let i = 0; i < 20; i++) await exchange(lanes.port, [partial], { hangUp: true });
      const got = await same([put("/v1/catalog/register", JSON.stringify({ Node: "after", Address: "10.0.0.1" }), "Connection: close\r\n")]);
      expect(got).toMatch(/^HTTP\/1\.1 200 [^]*true$/);
      expect(await (await h.get("/v1/catalog/node/gone")).text()).toBe("null");
    });
  });
}
