/** HTTP/1.1 framing and the L7 relay: chunked bodies split anywhere, pipelined requests answered in order with denials in their turn, upgrades spliced. */
import { afterEach, expect, test } from "bun:test";
import { connect, createServer, type Server, type Socket } from "node:net";
import { ChunkedTracker, parseRequestHead, requestFraming, responseFraming, parseResponseHead, HttpParseError } from "../../gateways/mesh/http1.ts";
import { PassThrough } from "node:stream";
import { joined, pumpBody, readHead } from "../../gateways/mesh/h1_wire.ts";
import { relayHttp } from "../../gateways/mesh/http_relay.ts";
import { Reader } from "../../gateways/mesh/relay.ts";
import { parseServiceUri, serviceSni, uriSans } from "../../gateways/mesh/spiffe.ts";

const enc = (s: string) => new TextEncoder().encode(s);

test("a chunked body is tracked byte by byte, trailers included, leaving the next message alone", () => {
  const body = "4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\n";
  const next = "GET / HTTP/1.1\r\n\r\n";
  const all = enc(body + next);
  for (let split = 1; split < all.length; split++) {
    const t = new ChunkedTracker();
    const a = t.feed(all.subarray(0, split));
    const b = t.done ? 0 : t.feed(all.subarray(split));
    expect(t.done).toBe(true);
    expect(a + b).toBe(body.length);
  }
  expect(() => new ChunkedTracker().feed(enc("zz\r\n"))).toThrow(HttpParseError);
});

test("request and response framing follow RFC 9112", () => {
  const req = (h: string) => requestFraming(parseRequestHead(enc(`POST / HTTP/1.1\r\n${h}\r\n\r\n`)));
  expect(req("Content-Length: 5")).toEqual({ kind: "length", length: 5 });
  expect(req("Transfer-Encoding: gzip, chunked")).toEqual({ kind: "chunked" });
  expect(req("Host: x")).toEqual({ kind: "none" });
  expect(() => req("Content-Length: 5\r\nContent-Length: 6")).toThrow("invalid Content-Length");
  expect(() => req("Transfer-Encoding: gzip")).toThrow();
  const res = (h: string, m = "GET", status = "200 OK") => responseFraming(parseResponseHead(enc(`HTTP/1.1 ${status}\r\n${h}\r\n\r\n`)), m);
  expect(res("Content-Length: 3")).toEqual({ kind: "length", length: 3 });
  expect(res("Content-Length: 3", "HEAD")).toEqual({ kind: "none" });
  expect(res("", "GET", "204 No Content")).toEqual({ kind: "none" });
  expect(res("")).toEqual({ kind: "close" });
  expect(() => parseRequestHead(enc("GARBAGE\r\n\r\n"))).toThrow("malformed request line");
});

test("heads parse in one pass: fields in order, case-insensitive lookup, repeated fields joined, the reason phrase kept", () => {
  const h = parseRequestHead(enc("GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\n\r\n"));
  expect([h.method, h.target, h.version]).toEqual(["GET", "/a?b=1", "HTTP/1.1"]);
  expect(h.headers.fields).toEqual([["Host", "x"], ["X-A", "1"], ["x-a", "2"]]);
  expect(h.headers.get("X-a")).toBe("1, 2");
  expect(h.headers.all("x-A")).toEqual(["1", "2"]);
  expect(h.headers.get("missing")).toBeNull();
  expect(parseResponseHead(enc("HTTP/1.1 404 Not Found\r\n\r\n")).reason).toBe("Not Found");
  expect(parseResponseHead(enc("HTTP/1.0 200\r\n\r\n"))).toMatchObject({ status: 200, version: "HTTP/1.0", reason: "" });
  for (const bad of ["GET  / HTTP/1.1", "GET / HTTP/1.1 x", "GET /", " / HTTP/1.1", "GET / HTTP/2.0"]) expect(() => parseRequestHead(enc(`${bad}\r\n\r\n`))).toThrow("malformed request line");
  expect(() => parseRequestHead(enc("GET / HTTP/1.1\r\nbad header\r\n\r\n"))).toThrow("malformed header line");
  expect(() => parseRequestHead(enc("GET / HTTP/1.1\r\nb@d: 1\r\n\r\n"))).toThrow("invalid header name");
  expect(requestFraming(parseRequestHead(enc("POST / HTTP/1.1\r\nContent-Length: 7, 7\r\n\r\n")))).toEqual({ kind: "length", length: 7 });
});

test("a head and the body bytes that came with it leave in one write; a body still to come follows in its own", async () => {
  const s = new PassThrough();
  const r = new Reader(s);
  s.write(enc("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"));
  const raw = (await readHead(r, 502))!;
  const writes: string[] = [];
  const sink = async (c: Uint8Array) => void writes.push(new TextDecoder().decode(c));
  await pumpBody(r, responseFraming(parseResponseHead(raw), "GET"), sink, raw);
  expect(writes).toEqual(["HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"]);
  s.write(enc("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"));
  const raw2 = (await readHead(r, 502))!;
  writes.length = 0;
  const done = pumpBody(r, responseFraming(parseResponseHead(raw2), "GET"), sink, raw2);
  await new Promise((t) => setTimeout(t, 10));
  s.write(enc("world"));
  await done;
  expect(writes).toEqual(["HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n", "world"]);
  // Separate buffers are copied together while small, and left apart when large.
  expect(new TextDecoder().decode(joined(enc("ab"), enc("cd"))!)).toBe("abcd");
  expect(joined(enc("ab"), new Uint8Array(64 * 1024))).toBeNull();
  const one = enc("abcd");
  expect(joined(one.subarray(0, 2), one.subarray(2))!.buffer).toBe(one.buffer);
});

test("SPIFFE service IDs and SNI names", () => {
  expect(parseServiceUri("spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web")).toEqual({
    trustDomain: "11111111-2222-3333-4444-555555555555.consul",
    partition: "default",
    namespace: "default",
    datacenter: "dc1",
    service: "web",
  });
  expect(parseServiceUri("spiffe://td.consul/ap/part1/ns/ns1/dc/dc2/svc/db")?.partition).toBe("part1");
  expect(parseServiceUri("spiffe://td.consul/agent/client/dc/dc1/id/abc")).toBeNull();
  expect(parseServiceUri("https://td.consul/ns/default/dc/dc1/svc/web")).toBeNull();
  expect(serviceSni("db", "", "dc1", "td.consul")).toBe("db.default.dc1.internal.td.consul");
  expect(uriSans("DNS:x, URI:spiffe://a/ns/default/dc/dc1/svc/web, IP Address:127.0.0.1")).toEqual(["spiffe://a/ns/default/dc/dc1/svc/web"]);
});

const servers: Server[] = [];
const upgraded: Socket[] = [];
afterEach(async () => {
  for (const u of upgraded.splice(0)) u.destroy();
  for (const s of servers.splice(0)) {
    (s as { closeAllConnections?: () => void }).closeAllConnections?.();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

/** An app that answers each request with its method and path (chunked for /chunked), and switches protocols on /ws. */
async function appServer(): Promise<number> {
  const { createServer: httpServer } = await import("node:http");
  const s = httpServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.url === "/chunked") {
        res.write("part1-");
        res.end("part2");
        return;
      }
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`${req.method} ${req.url} ${body}`);
    });
  });
  s.on("upgrade", (_req, sock: Socket) => {
    upgraded.push(sock);
    sock.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
    sock.on("data", (d) => sock.write(`echo:${d}`));
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  servers.push(s as unknown as Server);
  return (s.address() as { port: number }).port;
}

async function relayServer(appPort: number): Promise<number> {
  const s = createServer((client) =>
    relayHttp({
      client,
      connectApp: () => new Promise((resolve, reject) => {
        const a = connect(appPort, "127.0.0.1", () => resolve(a));
        a.once("error", reject);
      }),
      decide: (h) => (h.target.startsWith("/admin") ? { allowed: false, reason: "no" } : { allowed: true, reason: "" }),
    }),
  );
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  servers.push(s);
  return (s.address() as { port: number }).port;
}

function exchange(port: number, data: string, until: (got: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    const c = connect(port, "127.0.0.1", () => c.write(data));
    let got = "";
    const t = setTimeout(() => {
      c.destroy();
      resolve(got);
    }, 3000);
    c.on("data", (d) => {
      got += d;
      if (until(got)) {
        clearTimeout(t);
        c.destroy();
        resolve(got);
      }
    });
  });
}

test("pipelined requests come back in order, a denied one answered 403 in its place, chunked responses intact", async () => {
  const port = await relayServer(await appServer());
  const got = await exchange(
    port,
    "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /admin HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\ndropPOST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /chunked HTTP/1.1\r\nHost: x\r\n\r\n",
    (g) => g.includes("part2"),
  );
  const a = got.indexOf("GET /a ");
  const denied = got.indexOf("RBAC: access denied");
  const b = got.indexOf("POST /b abc");
  const c = got.indexOf("part1-");
  expect(a).toBeGreaterThan(-1);
  expect(denied).toBeGreaterThan(a);
  expect(b).toBeGreaterThan(denied);
  expect(c).toBeGreaterThan(b);
  expect(got).toContain("HTTP/1.1 403 Forbidden");
});

test("an upgrade (101) turns the relay into a splice", async () => {
  const port = await relayServer(await appServer());
  const c = connect(port, "127.0.0.1");
  let got = "";
  c.on("data", (d) => {
    got += d;
    if (got.includes("101 Switching") && !got.includes("echo:")) c.write("ping");
  });
  c.write("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
  const t0 = Date.now();
  while (!got.includes("echo:ping") && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
  c.destroy();
  expect(got).toContain("echo:ping");
});
