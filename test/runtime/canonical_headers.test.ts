import { expect, test } from "bun:test";
import { connect } from "node:net";
import { canonicalHeaderKey } from "../../src/runtime/canonical_headers.ts";
import { serveHttp } from "../../src/runtime/mod.ts";

test("Go's CanonicalMIMEHeaderKey", () => {
  expect(canonicalHeaderKey("x-consul-index")).toBe("X-Consul-Index");
  expect(canonicalHeaderKey("X-Consul-KnownLeader")).toBe("X-Consul-Knownleader");
  expect(canonicalHeaderKey("x-consul-default-acl-policy")).toBe("X-Consul-Default-Acl-Policy");
  expect(canonicalHeaderKey("content-type")).toBe("Content-Type");
  expect(canonicalHeaderKey("bad name")).toBe("bad name");
});

/** The raw response head as it crossed the socket. */
function rawHead(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write("GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    let text = "";
    socket.on("data", (d: Buffer) => (text += d.toString("latin1")));
    socket.on("end", () => resolve(text.split("\r\n\r\n")[0] ?? ""));
    socket.on("error", reject);
    setTimeout(() => socket.destroy(new Error("timeout")), 10_000);
  });
}

test("header names leave the listener in Go's canonical case, values and body untouched", async () => {
  const listener = await serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => {
      const headers = new Headers({ "content-type": "application/json" });
      headers.set("x-consul-index", "42");
      headers.set("X-Consul-KnownLeader", "true");
      return new Response("[1]", { status: 200, headers });
    },
  });
  try {
    const head = await rawHead(listener.port);
    expect(head).toContain("\r\nX-Consul-Index: 42");
    expect(head).toContain("\r\nX-Consul-Knownleader: true");
    expect(head).toContain("\r\nContent-Type: application/json");
    expect(head).not.toContain("x-consul-index");
    const res = await fetch(`http://127.0.0.1:${listener.port}/x`);
    expect(await res.text()).toBe("[1]");
  } finally {
    await listener.stop();
  }
});
