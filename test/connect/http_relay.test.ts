/**
 * The event-driven L7 relay (mesh/http_relay.ts) over in-memory sockets: what
 * one read brings leaves in one write, bodies and heads split anywhere, the
 * errors a client or an app can cause, and back-pressure both ways.
 */
import { expect, test } from "bun:test";
import { relayHttp, type RequestDecision } from "../../gateways/mesh/http_relay.ts";
import { End } from "./_duplex_end.ts";

const text = (cs: Uint8Array[]) => cs.map((c) => Buffer.from(c).toString("latin1")).join("");
const tick = () => new Promise((r) => setTimeout(r, 5));

function relay(decide: (target: string) => RequestDecision = () => ({ allowed: true, reason: "" }), app: End | Error = new End()) {
  const client = new End();
  const errors: unknown[] = [];
  let connects = 0;
  relayHttp({
    client,
    connectApp: async () => {
      connects++;
      if (app instanceof Error) throw app;
      return app;
    },
    decide: (h) => decide(h.target),
    onError: (e) => errors.push(e),
  });
  return { client, app: app instanceof End ? app : null, errors, connects: () => connects };
}

test("a request and its body that come in one read leave in one write; so does a response", async () => {
  const { client, app } = relay();
  client.feed("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  await tick();
  expect(app!.written.length).toBe(1);
  expect(text(app!.written)).toBe("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  app!.feed("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
  await tick();
  expect(client.written.length).toBe(1);
  expect(text(client.written)).toBe("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
});

test("heads and bodies split at every byte pass through whole and in order", async () => {
  const req = "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
  const res = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\noneHTTP/1.1 204 No Content\r\n\r\n";
  for (const step of [1, 2, 7]) {
    const { client, app } = relay();
    for (let i = 0; i < req.length; i += step) client.feed(req.slice(i, i + step));
    await tick();
    expect(text(app!.written)).toBe(req);
    for (let i = 0; i < res.length; i += step) app!.feed(res.slice(i, i + step));
    await tick();
    expect(text(client.written)).toBe(res);
  }
});

test("a refused request is answered in its turn and its body dropped; a refused close ends the connection", async () => {
  const { client, app } = relay((t) => (t === "/deny" ? { allowed: false, reason: "no" } : t === "/slow" ? { allowed: false, reason: "rate", status: 429 } : { allowed: true, reason: "" }));
  client.feed("GET /a HTTP/1.1\r\n\r\nPOST /deny HTTP/1.1\r\nContent-Length: 4\r\n\r\ndropGET /b HTTP/1.1\r\n\r\n");
  await tick();
  expect(text(app!.written)).toBe("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
  expect(client.written.length).toBe(0);
  app!.feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb");
  await tick();
  const got = text(client.written);
  expect(got.indexOf("\r\n\r\na")).toBeLessThan(got.indexOf("403 Forbidden"));
  expect(got.indexOf("403 Forbidden")).toBeLessThan(got.indexOf("\r\n\r\nb"));
  client.feed("GET /slow HTTP/1.1\r\nConnection: close\r\n\r\n");
  await tick();
  expect(text(client.written)).toEndWith("x-envoy-ratelimited: true\r\nconnection: close\r\n\r\nlocal_rate_limited");
  expect(client.writableEnded).toBe(true);
});

test("malformed and oversized requests get their 4xx; an app that closes before answering a 502; an unreachable app a 503", async () => {
  const bad = relay();
  bad.client.feed("GARBAGE\r\n\r\n");
  await tick();
  expect(text(bad.client.written)).toStartWith("HTTP/1.1 400 Bad Request");
  expect(bad.client.writableEnded).toBe(true);

  const big = relay();
  big.client.feed(`GET / HTTP/1.1\r\nX: ${"a".repeat(70 * 1024)}`);
  await tick();
  expect(text(big.client.written)).toStartWith("HTTP/1.1 431 ");

  const gone = relay();
  gone.client.feed("GET / HTTP/1.1\r\n\r\n");
  await tick();
  gone.app!.push(null);
  await tick();
  expect(text(gone.client.written)).toStartWith("HTTP/1.1 502 Bad Gateway");

  const down = relay(undefined, new Error("refused"));
  down.client.feed("GET / HTTP/1.1\r\n\r\nGET /never HTTP/1.1\r\n\r\n");
  await tick();
  expect(text(down.client.written)).toStartWith("HTTP/1.1 503 Service Unavailable");
  expect(down.errors.length).toBe(1);
  expect(down.connects()).toBe(1);
});

test("an upgrade the app refuses leaves the connection HTTP; a request after it is relayed", async () => {
  const { client, app } = relay();
  client.feed("GET /ws HTTP/1.1\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
  await tick();
  // The next request waits for the upgrade's answer.
  expect(text(app!.written)).toBe("GET /ws HTTP/1.1\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n");
  app!.feed("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  await tick();
  expect(text(app!.written)).toEndWith("GET /next HTTP/1.1\r\n\r\n");
});

test("back-pressure: a full app stops the relay reading the client, a full client stops it reading the app", async () => {
  const { client, app } = relay();
  client.feed("GET /1 HTTP/1.1\r\n\r\n");
  await tick();
  app!.full = true;
  client.feed("GET /2 HTTP/1.1\r\n\r\n");
  await tick();
  client.feed("GET /3 HTTP/1.1\r\n\r\n");
  await tick();
  // /2 was written (and got the "full" answer); /3 waits for the drain.
  expect(text(app!.written)).not.toContain("/3");
  app!.drainNow();
  await tick();
  expect(text(app!.written)).toContain("GET /3");
  client.full = true;
  app!.feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1");
  await tick();
  app!.feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2");
  await tick();
  expect(text(client.written)).not.toContain("\r\n\r\n2");
  client.drainNow();
  await tick();
  expect(text(client.written)).toEndWith("\r\n\r\n2");
});

test("an app connection that ended while idle is replaced for the next request, not answered for with a 502", async () => {
  const apps = [new End(), new End()];
  const client = new End();
  let connects = 0;
  relayHttp({ client, connectApp: async () => apps[connects++]!, decide: () => ({ allowed: true, reason: "" }) });
  client.feed("GET /1 HTTP/1.1\r\n\r\n");
  await tick();
  apps[0]!.feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1");
  await tick();
  // The app closes its idle keep-alive connection.
  apps[0]!.push(null);
  await tick();
  client.feed("GET /2 HTTP/1.1\r\n\r\n");
  await tick();
  expect(connects).toBe(2);
  expect(apps[1]!.text).toBe("GET /2 HTTP/1.1\r\n\r\n");
  apps[1]!.feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2");
  await tick();
  expect(client.text).toBe("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2");
});
