// A plain-TCP listener of the API gateway (tcp-route) fed adversarially: a
// huge stream passes through whole with bounded buffering (back-pressure), a
// client trickling bytes slower than the idle bound stays up, and a client
// that goes silent is closed after the idle bound.
import { afterAll, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import type { Server } from "node:tls";
import { TcpListener } from "../../gateways/api/tcp.ts";
import type { TargetPlan } from "../../gateways/l7/plan.ts";
import type { MeshIdentity } from "../../gateways/mesh/identity.ts";
import { silentLogger } from "../../gateways/mesh/log.ts";
import { makeCa, makeLeaf, TRUST_DOMAIN } from "../connect/_certs.ts";
import { tlsEcho } from "./_tls_echo.ts";

const servers: Server[] = [];
let listener: TcpListener | null = null;
afterAll(async () => {
  await listener?.close(0);
  for (const s of servers) s.close();
});

const closedWithin = (s: Socket, ms: number) =>
  new Promise<boolean>((r) => {
    const t = setTimeout(() => r(false), ms);
    s.once("close", () => {
      clearTimeout(t);
      r(true);
    });
  });

test("tcp listener: huge stream through, trickle kept, silent client closed at the idle bound", async () => {
  const ca = await makeCa("root");
  const gw = await makeLeaf(ca, "gw");
  const api = await makeLeaf(ca, "api");
  const port = await tlsEcho(servers, api.certPem, api.keyPem, ca.pem);
  const identity = { material: { certPem: gw.certPem, keyPem: gw.keyPem, roots: [ca.pem], trustDomain: TRUST_DOMAIN }, datacenter: "dc1" } as unknown as MeshIdentity;
  const target: TargetPlan = { id: "api", service: "api", subset: "", namespace: "default", datacenter: "dc1", filter: "", onlyPassing: true, sni: "", connectTimeoutMs: 5_000, meshGatewayMode: "" };
  const IDLE_MS = 1_500;
  listener = new TcpListener({ host: "127.0.0.1", port: 0, tls: null, identity, instances: () => [{ address: "127.0.0.1", port }], log: silentLogger, name: "tcp", idleTimeoutMs: IDLE_MS });
  listener.setPlan({ service: "api", targets: [target] });
  const lport = await listener.listen();

  // 32 MiB written as fast as the socket takes it, read back whole.
  const big = connect(lport, "127.0.0.1");
  const TOTAL = 32 * 1024 * 1024;
  const chunk = new Uint8Array(256 * 1024).fill(7);
  let got = 0;
  const echoed = new Promise<void>((r) => big.on("data", (d: Buffer) => { got += d.length; if (got >= TOTAL) r(); }));
  for (let sent = 0; sent < TOTAL; sent += chunk.length) if (!big.write(chunk)) await new Promise((r) => big.once("drain", r));
  await echoed;
  expect(got).toBe(TOTAL);
  big.destroy();

  // A byte every IDLE/10 for 2x the idle bound: still open, the bytes echoed.
  const slow = connect(lport, "127.0.0.1");
  let slowGot = 0;
  slow.on("data", (d: Buffer) => (slowGot += d.length));
  const slowClosed = closedWithin(slow, 2 * IDLE_MS);
  for (let i = 0; i < 20; i++) {
    slow.write("x");
    await new Promise((r) => setTimeout(r, IDLE_MS / 10));
  }
  expect(await slowClosed).toBe(false);
  expect(slowGot).toBeGreaterThanOrEqual(19);

  // Silent: closed after the idle bound (a generous wait, no tight timing).
  const silent = connect(lport, "127.0.0.1");
  expect(await closedWithin(silent, 15_000)).toBe(true);
  slow.destroy();
});
