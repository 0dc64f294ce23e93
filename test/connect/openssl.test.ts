/**
 * The public listener seen from outside by `openssl s_client`: a client
 * without a certificate, with one from another CA, with an expired leaf, or
 * with a leaf of another trust domain is refused (and never reaches the app);
 * a valid leaf gets through. `openssl x509` shows the SPIFFE URI SAN.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SidecarProxy } from "../../gateways/sidecar/proxy.ts";
import { Client } from "../../src/api/mod.ts";
import { makeCa, makeLeaf, TRUST_DOMAIN } from "./_certs.ts";
import { FakeControlPlane } from "./_control_plane.ts";

let cp: FakeControlPlane;
let proxy: SidecarProxy;
let app: Server;
let dir: string;
const logs: string[] = [];

beforeAll(async () => {
  cp = await FakeControlPlane.start();
  dir = mkdtempSync(join(tmpdir(), "consulate-openssl-"));
  app = createServer((s) => s.end("APP-REACHED\n"));
  await new Promise<void>((r) => app.listen(0, "127.0.0.1", () => r()));
  const appPort = (app.address() as { port: number }).port;
  proxy = new SidecarProxy({
    client: new Client({ address: cp.address }),
    logger: { debug() {}, info() {}, warn: (m) => logs.push(m), error: (m) => logs.push(m) },
    source: { kind: "static", config: { service: "db", public: { bindAddress: "127.0.0.1", bindPort: 0, localAddress: "127.0.0.1", localPort: appPort }, upstreams: [], protocol: "" } },
  });
  await proxy.start();
  await proxy.whenServing();
  writeFileSync(join(dir, "ca.pem"), cp.ca.pem);
  // Wait for the leaf so the listener speaks TLS.
  for (let i = 0; i < 50 && !(await proxyReady()); i++) await new Promise((r) => setTimeout(r, 50));
});

beforeEach(() => {
  logs.length = 0;
});

async function proxyReady(): Promise<boolean> {
  const r = await sClient([]);
  return r.stdout.includes("BEGIN CERTIFICATE");
}

afterAll(async () => {
  await proxy.stop();
  await new Promise<void>((r) => app.close(() => r()));
  await cp.stop();
  rmSync(dir, { recursive: true, force: true });
});

function sClient(extra: string[]): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    const p = spawn("openssl", ["s_client", "-connect", `127.0.0.1:${proxy.publicPort}`, "-servername", `db.default.dc1.internal.${TRUST_DOMAIN}`, "-CAfile", join(dir, "ca.pem"), ...extra], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    // Say something once connected, then give the server time to answer or refuse.
    setTimeout(() => p.stdin.write("hello\n"), 300);
    const t = setTimeout(() => p.stdin.end(), 1200);
    p.on("close", (code) => {
      clearTimeout(t);
      resolve({ stdout, stderr, code });
    });
  });
}

async function withLeaf(name: string, leaf: { certPem: string; keyPem: string }): Promise<string[]> {
  writeFileSync(join(dir, `${name}.crt`), leaf.certPem);
  writeFileSync(join(dir, `${name}.key`), leaf.keyPem);
  return ["-cert", join(dir, `${name}.crt`), "-key", join(dir, `${name}.key`)];
}

test("a client without a certificate is refused", async () => {
  const r = await sClient([]);
  expect(r.stdout).not.toContain("APP-REACHED");
  expect(logs.some((l) => l.includes("no client certificate presented"))).toBe(true);
});

test("a client with a leaf from another CA is refused", async () => {
  const other = await makeCa("Evil CA");
  const r = await sClient(await withLeaf("evil", await makeLeaf(other, "web")));
  expect(r.stdout).not.toContain("APP-REACHED");
  expect(logs.some((l) => l.includes("certificate chain is not trusted"))).toBe(true);
});

test("a client with an expired leaf from the right CA is refused", async () => {
  const expired = await makeLeaf(cp.ca, "web", { notBefore: new Date(Date.now() - 7_200_000), notAfter: new Date(Date.now() - 3_600_000) });
  const r = await sClient(await withLeaf("expired", expired));
  expect(r.stdout).not.toContain("APP-REACHED");
  expect(logs.some((l) => l.includes("certificate has expired"))).toBe(true);
});

test("a leaf of another trust domain, even from a trusted CA, is refused", async () => {
  const foreign = await makeLeaf(cp.ca, "web", { trustDomain: "99999999-0000-0000-0000-000000000000.consul" });
  const r = await sClient(await withLeaf("foreign", foreign));
  expect(r.stdout).not.toContain("APP-REACHED");
  expect(logs.some((l) => l.includes('trust domain "99999999-0000-0000-0000-000000000000.consul"'))).toBe(true);
});

test("a valid leaf reaches the app; openssl x509 shows the SPIFFE URI SAN of the server leaf", async () => {
  const r = await sClient(await withLeaf("web", await makeLeaf(cp.ca, "web")));
  expect(r.stdout).toContain("APP-REACHED");
  expect(r.stdout).toContain("Verify return code: 0 (ok)");
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)![0];
  const x = spawnSync("openssl", ["x509", "-noout", "-ext", "subjectAltName"], { input: pem, encoding: "utf8" });
  expect(x.stdout).toContain(`URI:spiffe://${TRUST_DOMAIN}/ns/default/dc/dc1/svc/db`);
});
