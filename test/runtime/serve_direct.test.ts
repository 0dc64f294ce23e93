/**
 * A listener's direct handler: answers written as given (canonical names, a
 * Content-Length for the bytes), a promised answer, and null handing the
 * request to the fetch handler, an answer given later (a parked read, on the
 * runtime's listener and on node:http); the per-client cap counts both lanes.
 * (Under Bun here; test/smoke/smoke.mjs reads a key through it under Node and Deno.)
 */
import { expect, test } from "bun:test";
import { connect } from "node:net";
import { type DirectHandler, type HttpListener, LaterAnswer, serveHttp, type ServeOptions } from "../../src/runtime/mod.ts";
import { serveNode } from "../../src/runtime/serve_node.ts";
import { limitPerClient, TOO_MANY_CONNECTIONS } from "../../src/http/client_limit.ts";

/** One request on a fresh connection: the raw head and body as they crossed the socket. */
function raw(port: number, path: string): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(`GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`));
    const chunks: Buffer[] = [];
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const at = text.indexOf("\r\n\r\n");
      resolve({ head: text.slice(0, at), body: text.slice(at + 4) });
    });
    socket.on("error", reject);
    setTimeout(() => socket.destroy(new Error("timeout")), 10_000);
  });
}

test("direct answers, promised answers and the fetch fallback", async () => {
  const listener = await serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    direct: (req) => {
      if (req.target === "/now?x=1") return { status: 200, headers: { "X-Consul-Index": "7", "Content-Type": "application/json", Echo: req.header("x-echo") ?? "none" }, body: '["é"]' };
      if (req.target === "/later") return Promise.resolve({ status: 404, headers: { "X-Consul-Knownleader": "true" }, body: null });
      return null;
    },
    fetch: (req) => new Response(`fetch saw ${new URL(req.url).pathname}`, { headers: { "x-consul-index": "9" } }),
  });
  try {
    const now = await raw(listener.port, "/now?x=1");
    expect(now.head).toStartWith("HTTP/1.1 200");
    expect(now.head).toContain("\r\nX-Consul-Index: 7");
    expect(now.head).toContain("\r\nContent-Type: application/json");
    expect(now.head).toMatch(/\r\ncontent-length: 6(\r\n|$)/i);
    expect(now.body).toBe('["é"]');
    const echoed = await fetch(`http://127.0.0.1:${listener.port}/now?x=1`, { headers: { "X-Echo": "hi" } });
    expect(echoed.headers.get("echo")).toBe("hi");
    await echoed.text();
    const later = await raw(listener.port, "/later");
    expect(later.head).toStartWith("HTTP/1.1 404");
    expect(later.head).toContain("\r\nX-Consul-Knownleader: true");
    expect(later.body).toBe("");
    const other = await raw(listener.port, "/other");
    expect(other.head).toContain("\r\nX-Consul-Index: 9");
    expect(other.body).toBe("fetch saw /other");
  } finally {
    await listener.stop();
  }
});

test("a client at its cap is refused in the direct lane too", async () => {
  const limit = limitPerClient(1);
  let release = (): void => {};
  const parked = new Promise<void>((r) => (release = r));
  const listener = await serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    direct: limit.direct((req) => (req.target === "/d" ? { status: 200, headers: {}, body: "direct" } : null)),
    fetch: limit.fetch(async () => {
      await parked;
      return new Response("parked");
    }),
  });
  try {
    const base = `http://127.0.0.1:${listener.port}`;
    expect(await (await fetch(`${base}/d`)).text()).toBe("direct");
    const blocking = fetch(`${base}/park`);
    // Wait until the parked request holds the slot.
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`${base}/d`);
      const text = await r.text();
      if (r.status === 429) {
        expect(text).toBe(TOO_MANY_CONNECTIONS);
        break;
      }
      if (i === 199) throw new Error("the direct lane never saw the parked request's slot");
      await new Promise((res) => setTimeout(res, 20));
    }
    release();
    expect(await (await blocking).text()).toBe("parked");
    expect(await (await fetch(`${base}/d`)).text()).toBe("direct");
  } finally {
    release();
    await listener.stop();
  }
});

/** Requests to /parked wait for `give`; the cap (1 per client) is held until each is answered. */
function parkedLane(): { direct: DirectHandler; give: (body: string) => void; waiting: () => number } {
  const parked: LaterAnswer[] = [];
  const limit = limitPerClient(1);
  return {
    direct: limit.direct((req) => {
      if (req.target !== "/parked") return req.target === "/d" ? { status: 200, headers: {}, body: "direct" } : null;
      const later = new LaterAnswer();
      parked.push(later);
      return later;
    }),
    give: (body) => {
      const answer = { status: 200, headers: { "X-Consul-Index": "8", "Content-Type": "text/plain" }, body };
      for (const later of parked.splice(0)) later.give(answer);
    },
    waiting: () => parked.length,
  };
}

for (const [name, serve] of [
  ["the runtime's listener", (o: ServeOptions): Promise<HttpListener> => serveHttp(o)],
  ["node:http", (o: ServeOptions): Promise<HttpListener> => serveNode(o, null)],
] as const) {
  test(`an answer given later is written when given, and frees the client's slot (${name})`, async () => {
    const lane = parkedLane();
    const listener = await serve({ hostname: "127.0.0.1", port: 0, direct: lane.direct, fetch: () => new Response("fetch") });
    try {
      const parked = raw(listener.port, "/parked");
      for (let i = 0; i < 200 && lane.waiting() === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(lane.waiting()).toBe(1);
      // The slot is held while it waits.
      expect((await fetch(`http://127.0.0.1:${listener.port}/d`)).status).toBe(429);
      lane.give("news");
      const answered = await parked;
      expect(answered.head).toStartWith("HTTP/1.1 200");
      expect(answered.head).toContain("\r\nX-Consul-Index: 8");
      expect(answered.head).toMatch(/\r\ncontent-length: 4(\r\n|$)/i);
      expect(answered.body).toBe("news");
      expect(await (await fetch(`http://127.0.0.1:${listener.port}/d`)).text()).toBe("direct");
    } finally {
      await listener.stop();
    }
  });
}
