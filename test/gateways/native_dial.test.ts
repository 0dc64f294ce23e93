// The API gateway's pool dials with the runtime's own TLS sockets where it has
// them (dialInstanceConn): the same checks as node:tls (chain to the roots,
// the server's SPIFFE identity, validity), and bytes flow both ways.
import { afterAll, expect, test } from "bun:test";
import type { Server } from "node:tls";
import { dialInstanceConn } from "../../gateways/mesh/upstream.ts";
import type { TlsMaterial } from "../../gateways/mesh/tls.ts";
import { makeCa, makeLeaf, TRUST_DOMAIN } from "../connect/_certs.ts";
import { tlsEcho } from "./_tls_echo.ts";

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

const echoServer = (certPem: string, keyPem: string, ca: string) => tlsEcho(servers, certPem, keyPem, ca);

test("native mutual TLS dial: identity, chain, validity checked; bytes flow", async () => {
  const ca = await makeCa("root");
  const other = await makeCa("other");
  const gw = await makeLeaf(ca, "gw");
  const m: TlsMaterial = { certPem: gw.certPem, keyPem: gw.keyPem, roots: [ca.pem], trustDomain: TRUST_DOMAIN };
  const api = await makeLeaf(ca, "api");
  const web = await makeLeaf(ca, "web");
  const expired = await makeLeaf(ca, "api", { notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) });
  const stranger = await makeLeaf(other, "api");
  const dial = (port: number) => dialInstanceConn(m, { address: "127.0.0.1", port, id: "x", node: "" }, { service: "api" }, "dc1", 5_000);
  const probe = dial(1);
  if (probe === null) return; // a runtime without native sockets dials node:tls (covered by the mesh tests)
  expect(await probe.then(() => null, (e: Error) => e)).not.toBeNull();

  const good = await echoServer(api.certPem, api.keyPem, ca.pem);
  const conn = await dial(good)!;
  let got = "";
  const echoed = new Promise<void>((resolve) => {
    conn.handle({
      data: (c) => {
        got += new TextDecoder().decode(c);
        if (got.length >= 4) resolve();
      },
    });
  });
  conn.write(new TextEncoder().encode("ping"));
  await echoed;
  expect(got).toBe("ping");
  conn.destroy();

  const cases: [string, number, RegExp][] = [
    ["another service", await echoServer(web.certPem, web.keyPem, ca.pem), /server identity is service "web"/],
    ["expired", await echoServer(expired.certPem, expired.keyPem, ca.pem), /not trusted|expired/i],
    ["another CA", await echoServer(stranger.certPem, stranger.keyPem, ca.pem), /not trusted/],
  ];
  for (const [what, port, why] of cases) {
    const err = await dial(port)!.then(() => null, (e: Error) => e);
    expect(err?.message ?? `${what}: accepted`).toMatch(why);
  }
});
