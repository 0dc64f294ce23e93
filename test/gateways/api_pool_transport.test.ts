// The API gateway's upstream transport against a scripted mutual-TLS server,
// on both of its HTTP/1.1 clients: the lean one on the runtime's own TLS
// sockets (where it has them) and the sidecar pool over node:tls. Small
// bodies come whole (also when the body trails the head), chunked, large and
// close-delimited ones stream, bodiless answers, 1xx skipped, connections
// reused, a kept-alive connection the server dropped retried on a new one,
// a cut body, a malformed head and a deadline are failures.
import { afterAll, expect, test } from "bun:test";
import { createServer, type Server, type TLSSocket } from "node:tls";
import { ClusterRuntime, type Endpoint } from "../../gateways/l7/engine.ts";
import { Deadline } from "../../gateways/l7/deadline.ts";
import { parseUpstreamSettings } from "../../gateways/l7/upstream_config.ts";
import type { MeshIdentity } from "../../gateways/mesh/identity.ts";
import { PoolTransport } from "../../gateways/api/pool_transport.ts";
import type { Upstream } from "../../gateways/api/handler.ts";
import { nativeTcp } from "../../src/runtime/tcp.ts";
import { makeCa, makeLeaf, TRUST_DOMAIN } from "../connect/_certs.ts";

const servers: Server[] = [];
const transports: PoolTransport[] = [];
afterAll(() => {
  for (const t of transports) t.stop();
  for (const s of servers) s.close();
});

const BIG = 200_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Each target's answer: pieces written 20 ms apart, then what the server does with the connection. */
const SCRIPT: Record<string, { readonly pieces: readonly string[]; readonly then?: "end" | "destroy" | "poison" }> = {
  "/small": { pieces: ["HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-a: 1\r\n\r\nhello"] },
  "/trailing": { pieces: ["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n01", "234", "56789"] },
  "/head-in-pieces": { pieces: ["HTTP/1.1 201 Created\r\ncontent-le", "ngth: 2\r\n\r\nok"] },
  "/chunked": { pieces: ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel", "lo\r\n6;x=y\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n"] },
  "/big": { pieces: [`HTTP/1.1 200 OK\r\ncontent-length: ${BIG}\r\n\r\n${"x".repeat(BIG)}`] },
  "/close-big": { pieces: [`HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n${"x".repeat(BIG)}`, "tail"], then: "end" },
  "/close": { pieces: ["HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nbye now"], then: "end" },
  "/nocontent": { pieces: ["HTTP/1.1 204 No Content\r\n\r\n"] },
  "/continue": { pieces: ["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"] },
  // A server that drops the connection just as the next request comes.
  "/stale": { pieces: ["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"], then: "poison" },
  "/garbage": { pieces: ["NOT HTTP AT ALL\r\n\r\n"] },
  "/bad-length": { pieces: ["HTTP/1.1 200 OK\r\ncontent-length: 12x\r\n\r\nhello"] },
  "/cut": { pieces: ["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc", ""], then: "destroy" },
};

/** Answers by the request target; counts the connections it accepted. */
async function scripted(cert: string, key: string, ca: string): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0;
  const s = createServer({ cert, key, ca, requestCert: true, rejectUnauthorized: true }, (c: TLSSocket) => {
    accepted++;
    c.on("error", () => {});
    let buf = "";
    let poisoned = false;
    c.on("data", async (d: Buffer) => {
      buf += d.toString("latin1");
      for (let end = buf.indexOf("\r\n\r\n"); end !== -1; end = buf.indexOf("\r\n\r\n")) {
        const target = buf.split(" ")[1]!;
        buf = buf.slice(end + 4);
        if (poisoned) return c.destroy();
        const step = SCRIPT[target];
        if (!step) continue; // "/hang": no answer
        for (const [i, piece] of step.pieces.entries()) {
          if (i > 0) await sleep(20);
          c.write(piece);
        }
        if (step.then === "end") c.end();
        if (step.then === "destroy") c.destroy();
        if (step.then === "poison") poisoned = true;
      }
    });
  });
  servers.push(s);
  const port = await new Promise<number>((r) => s.listen(0, "127.0.0.1", () => r((s.address() as { port: number }).port)));
  return { port, accepted: () => accepted };
}

async function text(r: Upstream): Promise<string> {
  return r instanceof Uint8Array ? new TextDecoder().decode(r) : await r.text();
}

/** A transport against a fresh scripted server: `send` a request, `ok` one that must be answered. */
async function setup(portable: boolean) {
  const ca = await makeCa("root");
  const gw = await makeLeaf(ca, "gw");
  const api = await makeLeaf(ca, "api");
  const srv = await scripted(api.certPem, api.keyPem, ca.pem);
  const material = { certPem: gw.certPem, keyPem: gw.keyPem, roots: [ca.pem], trustDomain: TRUST_DOMAIN };
  const identity = { material, ready: async () => material, datacenter: "dc1" } as unknown as MeshIdentity;
  const t = new PoolTransport(identity, { portable });
  transports.push(t);
  const target = { id: "api.default.default.dc1", service: "api", subset: "", namespace: "default", datacenter: "dc1", filter: "", onlyPassing: false, sni: "", connectTimeoutMs: 5000, meshGatewayMode: "" };
  const cluster = new ClusterRuntime({ name: "api", targets: [target.id], connectTimeoutMs: 5000, requestTimeoutMs: 0, lb: null }, parseUpstreamSettings(), "k");
  const ep: Endpoint = { address: "127.0.0.1", port: srv.port, key: `127.0.0.1:${srv.port}`, target, active: 0 };
  const send = async (path: string, method = "GET", ms = 5000) => {
    const d = new Deadline(ms);
    try {
      return await t.send(ep, cluster, { method, target: path, headers: [["host", "api"]], body: new Uint8Array(0) }, d);
    } finally {
      d.clear();
    }
  };
  const ok = async (path: string, method = "GET") => {
    const o = await send(path, method);
    if (o.kind !== "response") throw new Error(`${path}: ${o.reason} ${o.message}`);
    return { status: o.status, headers: o.headers, body: await text(o.response), whole: o.response instanceof Uint8Array };
  };
  return { srv, send, ok };
}

test("sidecar pool: when every kept-alive connection died at once, the retry goes on a new one", async () => {
  const { srv, ok } = await setup(true);
  // Two connections, each dropped by the server as the next request comes on it.
  expect((await Promise.all([ok("/stale"), ok("/stale")])).map((r) => r.body)).toEqual(["ok", "ok"]);
  expect(srv.accepted()).toBe(2);
  // The first try takes a dead one; the retry must not take the other dead one.
  expect((await ok("/small")).body).toBe("hello");
  expect(srv.accepted()).toBe(3);
});

for (const portable of [false, true]) {
  const which = portable || !nativeTcp() ? "node:tls pool" : "native client";
  test(`gateway transport (${which}): framing, reuse, retries of a dropped kept-alive connection, failures`, async () => {
    const { srv, send, ok } = await setup(portable);

    const small = await ok("/small");
    expect(small).toMatchObject({ status: 200, body: "hello", whole: true });
    expect(small.headers).toContainEqual(["x-a", "1"]);
    for (let i = 0; i < 4; i++) expect((await ok("/small")).body).toBe("hello");
    expect(srv.accepted()).toBe(1);
    // Concurrent requests each get a connection; they are kept for later ones.
    expect((await Promise.all([1, 2, 3].map(() => ok("/small")))).map((r) => r.body)).toEqual(["hello", "hello", "hello"]);
    const open = srv.accepted();
    expect(open).toBeLessThanOrEqual(3);
    expect(await ok("/trailing")).toMatchObject({ status: 200, body: "0123456789", whole: true });
    expect(await ok("/head-in-pieces")).toMatchObject({ status: 201, body: "ok" });
    expect(await ok("/continue")).toMatchObject({ status: 200, body: "ok" });
    expect(await ok("/chunked")).toMatchObject({ status: 200, body: "hello world", whole: false });
    const big = await ok("/big");
    expect(big.whole).toBe(false);
    expect(big.body.length).toBe(BIG);
    expect((await ok("/nocontent")).status).toBe(204);
    expect((await ok("/small", "HEAD")).status).toBe(200);
    // Streamed and bodiless answers gave their connections back: no new one so far.
    expect(srv.accepted()).toBe(open);
    expect(await ok("/close")).toMatchObject({ status: 200, body: "bye now", whole: false });

    // A reader that stops early: the connection is dropped, nothing is delivered after, the pool goes on.
    const early = await send("/close-big");
    if (early.kind !== "response" || early.response instanceof Uint8Array) throw new Error("/close-big: not streamed");
    const reader = early.response.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel();
    await sleep(100);
    expect((await ok("/small")).body).toBe("hello");

    // The kept-alive connection dies as the next request goes out on it (the last one freed is taken first): it goes again on another.
    expect((await ok("/stale")).body).toBe("ok");
    expect((await ok("/small")).body).toBe("hello");

    for (const bad of ["/garbage", "/bad-length"]) expect((await send(bad)).kind).toBe("failure");
    const cut = await send("/cut");
    if (cut.kind === "response") await expect(text(cut.response)).rejects.toThrow();
    else expect(cut.reason).toBe("reset");
    const hang = await send("/hang", "GET", 100);
    expect(hang).toMatchObject({ kind: "failure", reason: "reset" });
    // After all of that the pool still serves.
    expect((await ok("/small")).body).toBe("hello");
  });
}
