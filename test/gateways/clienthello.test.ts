import { describe, expect, test } from "bun:test";
import { MAX_HELLO_BYTES, peekClientHello } from "../../gateways/sni/clienthello.ts";
import { parseMeshSni } from "../../gateways/sni/names.ts";
import { captureHello, splitIntoRecords } from "./_hello.ts";

const TD = "11111111-2222-3333-4444-555555555555.consul";
const SNI = `db.default.dc1.internal.${TD}`;

describe("peekClientHello", () => {
  test("TLS 1.3 and TLS 1.2 hellos give the server name, the ALPN list and the version", async () => {
    const h13 = await captureHello({ servername: SNI, ALPNProtocols: ["h2", "http/1.1"] });
    const r13 = peekClientHello(h13);
    expect(r13).toMatchObject({ status: "ok", hello: { serverName: SNI, alpn: ["h2", "http/1.1"], version: "TLSv1.3" } });
    const h12 = await captureHello({ servername: "Web.Example", maxVersion: "TLSv1.2" });
    expect(peekClientHello(h12)).toMatchObject({ status: "ok", hello: { serverName: "web.example", alpn: [], version: "TLSv1.2" } });
  });

  test("a hello fed a byte at a time, and one split across two records, parse once complete", async () => {
    const hello = await captureHello({ servername: SNI, ALPNProtocols: ["h2"] });
    for (let n = 0; n < hello.length; n++) expect(peekClientHello(hello.subarray(0, n)).status).toBe("more");
    expect(peekClientHello(hello)).toMatchObject({ status: "ok", hello: { serverName: SNI } });
    for (const at of [1, 3, 40, 100]) {
      const split = splitIntoRecords(hello, at);
      for (const n of [6, 5 + at, 5 + at + 4, split.length - 1]) expect(peekClientHello(split.subarray(0, n)).status).toBe("more");
      expect(peekClientHello(split)).toMatchObject({ status: "ok", hello: { serverName: SNI, alpn: ["h2"] } });
    }
  });

  test("no SNI gives an empty name", async () => {
    const hello = await captureHello({ servername: "" });
    expect(peekClientHello(hello)).toMatchObject({ status: "ok", hello: { serverName: "" } });
  });

  test("garbage, plaintext, oversized and malformed hellos are refused with a reason", async () => {
    const hello = await captureHello({ servername: SNI });
    expect(peekClientHello(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"))).toMatchObject({ status: "error", reason: "not_tls" });
    expect(peekClientHello(crypto.getRandomValues(new Uint8Array(4096)).map((b, i) => (i === 0 ? 0x17 : b)))).toMatchObject({ status: "error", reason: "not_tls" });
    // A handshake claiming 16 MB.
    expect(peekClientHello(new Uint8Array([0x16, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff]))).toMatchObject({ status: "error", reason: "too_large" });
    // A record over the TLS limit.
    expect(peekClientHello(new Uint8Array([0x16, 3, 1, 0xff, 0xff]))).toMatchObject({ status: "error", reason: "malformed" });
    // Not a ClientHello (a ServerHello).
    expect(peekClientHello(new Uint8Array([0x16, 3, 3, 0, 4, 2, 0, 0, 0]))).toMatchObject({ status: "error", reason: "malformed" });
    // An endless stream of tiny records never becomes a hello.
    const tiny = new Uint8Array(6 * 40);
    for (let i = 0; i < 40; i++) tiny.set([0x16, 3, 1, 0, 1, i === 0 ? 1 : 0], i * 6);
    expect(peekClientHello(tiny)).toMatchObject({ status: "error", reason: "malformed" });
    // Lengths inside the hello that run past it: flip each length-ish byte in turn; never throws, never reads out of bounds.
    for (let i = 5; i < hello.length; i++) {
      const bad = hello.slice();
      bad[i] = bad[i]! ^ 0xff;
      const r = peekClientHello(bad);
      expect(["ok", "error", "more"]).toContain(r.status);
    }
    // Truncated in the middle of the extensions: still waiting for more, never "ok".
    expect(peekClientHello(hello.subarray(0, hello.length - 10)).status).toBe("more");
    // A buffer past the limit with no complete hello.
    const huge = new Uint8Array(MAX_HELLO_BYTES + 100);
    huge.set([0x16, 3, 1, 0x40, 0x00, 1, 0, 0x7f, 0xff]);
    expect(peekClientHello(huge).status).toBe("error");
  });

  test("a server name that is not a host name is malformed", async () => {
    const hello = await captureHello({ servername: "abc.example" });
    const at = Buffer.from(hello).indexOf("abc.example");
    const bad = hello.slice();
    bad[at] = 0x2f; // "/"
    expect(peekClientHello(bad)).toMatchObject({ status: "error", reason: "malformed" });
  });
});

describe("parseMeshSni", () => {
  test("Consul's service names, with subset and partition forms", () => {
    expect(parseMeshSni(SNI, TD)).toEqual({ ok: true, name: { service: "db", namespace: "default", partition: "default", datacenter: "dc1", subset: "" } });
    expect(parseMeshSni(`v1.db.default.dc2.internal.${TD}`, TD)).toMatchObject({ ok: true, name: { service: "db", subset: "v1", datacenter: "dc2" } });
    expect(parseMeshSni(`db.ns1.ap1.dc1.internal-v1.${TD}`, TD)).toMatchObject({ ok: true, name: { service: "db", namespace: "ns1", partition: "ap1", datacenter: "dc1" } });
    expect(parseMeshSni(`dc3.internal.${TD}`, TD)).toMatchObject({ ok: true, name: { service: "", datacenter: "dc3" } });
  });
  test("another trust domain, a non-mesh name and no name are refused with their reasons", () => {
    expect(parseMeshSni("db.default.dc1.internal.other.consul", TD)).toMatchObject({ ok: false, reason: "trust_domain" });
    expect(parseMeshSni("www.example.com", TD)).toMatchObject({ ok: false, reason: "not_mesh" });
    expect(parseMeshSni("", TD)).toMatchObject({ ok: false, reason: "no_sni" });
  });
});
