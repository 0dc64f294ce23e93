/**
 * Root rotation on a real agent while traffic flows through two sidecars:
 * `PUT /v1/connect/ca/configuration` with new key material makes a new root
 * (cross-signed by the old one), every leaf is re-issued and picked up by the
 * sidecars without a failed request, and a client still holding a leaf of the
 * old root (trusting only the old root) keeps connecting to a server whose
 * leaf comes from the new root. openssl s_client without a client
 * certificate, or with a leaf of another CA, is refused by the same sidecar.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { request } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../../src/api/mod.ts";
import { lookupProxyIdForSidecar, SidecarProxy } from "../../gateways/sidecar/mod.ts";
import { type AgentProcess, freePort, startAgent } from "../e2e/_agent.ts";
import { makeCa, makeLeaf } from "./_certs.ts";

let agent: AgentProcess;
let client: Client;
const stops: (() => Promise<unknown>)[] = [];
let db: SidecarProxy;
let web: SidecarProxy;
let upstream = 0;
let dbPublic = 0;
let dir = "";

interface Roots {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: { ID: string; RootCert: string; Active: boolean }[];
}

function call(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/", agent: false, timeout: 3000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

beforeAll(async () => {
  agent = await startAgent(["-dev"]);
  client = new Client({ address: `127.0.0.1:${agent.port}` });
  dir = mkdtempSync(join(tmpdir(), "consulate-rotation-"));
  const app = createServer((s) => {
    s.on("data", () => s.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"));
  });
  await new Promise<void>((r) => app.listen(0, "127.0.0.1", () => r()));
  stops.push(() => new Promise((r) => app.close(r)));
  upstream = await freePort();
  dbPublic = await freePort();
  await client.agent().serviceRegister({ Name: "db", Port: (app.address() as AddressInfo).port, Connect: { SidecarService: { Port: dbPublic, Check: { Name: "alias", AliasService: "db" } } } });
  await client.agent().serviceRegister({
    Name: "web",
    Port: 1,
    Connect: { SidecarService: { Port: await freePort(), Check: { Name: "alias", AliasService: "web" }, Proxy: { Upstreams: [{ DestinationName: "db", LocalBindPort: upstream }] } } },
  });
  const proxies: SidecarProxy[] = [];
  for (const svc of ["db", "web"]) {
    const p = new SidecarProxy({ client, source: { kind: "registration", proxyId: await lookupProxyIdForSidecar(client, svc), agentAddress: "127.0.0.1" } });
    await p.start();
    await p.whenServing();
    stops.push(() => p.stop());
    proxies.push(p);
  }
  [db, web] = proxies as [SidecarProxy, SidecarProxy];
  const t0 = Date.now();
  while ((await call(upstream)) !== 200 && Date.now() - t0 < 10_000) await Bun.sleep(50);
});

afterAll(async () => {
  for (const s of stops.reverse()) await s().catch(() => {});
  await agent.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function roots(): Promise<Roots> {
  return (await (await fetch(`${agent.base}/v1/agent/connect/ca/roots`)).json()) as Roots;
}

test("openssl s_client without a client certificate, or with a leaf of another CA, is refused by a sidecar on the real CA", async () => {
  writeFileSync(join(dir, "roots.pem"), (await roots()).Roots.map((r) => r.RootCert).join("\n"));
  const other = await makeLeaf(await makeCa("Another CA"), "web");
  writeFileSync(join(dir, "other.crt"), other.certPem);
  writeFileSync(join(dir, "other.key"), other.keyPem);
  for (const extra of [[], ["-cert", join(dir, "other.crt"), "-key", join(dir, "other.key")]]) {
    const out = await new Promise<string>((resolve) => {
      const p = spawn("openssl", ["s_client", "-connect", `127.0.0.1:${dbPublic}`, "-CAfile", join(dir, "roots.pem"), ...extra], { stdio: ["pipe", "pipe", "pipe"] });
      let o = "";
      p.stdout.on("data", (d) => (o += d));
      p.stderr.on("data", (d) => (o += d));
      setTimeout(() => p.stdin.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 300);
      setTimeout(() => p.stdin.end(), 1000);
      p.on("close", () => resolve(o));
    });
    expect(out).toContain("Verify return code: 0 (ok)"); // the server's chain is fine...
    expect(out).not.toContain("HTTP/1.1 200 OK"); // ...but the client is turned away
  }
});

test("a new root under traffic: leaves re-issued, no failed request, and an old-root client still reaches a new-root server", async () => {
  const before = await roots();
  const oldRoot = before.Roots.find((r) => r.Active)!.RootCert;
  const oldWebLeaf = (await (await fetch(`${agent.base}/v1/agent/connect/ca/leaf/web`)).json()) as { CertPEM: string; PrivateKeyPEM: string; SerialNumber: string };
  const serials = { db: db.leafSerial, web: web.leafSerial };
  expect(serials.web).toBe(oldWebLeaf.SerialNumber);

  let ok = 0;
  let failed = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      if ((await call(upstream)) === 200) ok++;
      else failed++;
    }
  })();
  await Bun.sleep(200);

  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const pem = `-----BEGIN PRIVATE KEY-----\n${btoa(String.fromCharCode(...der)).replace(/.{64}/g, "$&\n")}\n-----END PRIVATE KEY-----\n`;
  const put = await fetch(`${agent.base}/v1/connect/ca/configuration`, { method: "PUT", body: JSON.stringify({ Provider: "consul", Config: { PrivateKey: pem } }) });
  expect(put.status).toBe(200);

  // The agent re-issues each leaf at a random point of Consul's 30 s CA-change window.
  const t0 = Date.now();
  while ((db.leafSerial === serials.db || web.leafSerial === serials.web) && Date.now() - t0 < 35_000) await Bun.sleep(50);
  await Bun.sleep(300);
  running = false;
  await loop;
  expect(db.leafSerial).not.toBe(serials.db);
  expect(web.leafSerial).not.toBe(serials.web);
  const after = await roots();
  expect(after.Roots.length).toBe(2);
  expect(after.ActiveRootID).not.toBe(before.ActiveRootID);
  expect(failed).toBe(0);
  expect(ok).toBeGreaterThan(20);

  // The old web leaf, trusting only the old root, against db's sidecar now serving a leaf of the new root.
  const got = await new Promise<string>((resolve) => {
    const s = tlsConnect({ host: "127.0.0.1", port: dbPublic, key: oldWebLeaf.PrivateKeyPEM, cert: oldWebLeaf.CertPEM, ca: [oldRoot], checkServerIdentity: () => undefined }, () => {
      s.write("GET / HTTP/1.1\r\nHost: db\r\n\r\n");
    });
    let data = "";
    s.on("data", (d: Uint8Array) => (data += new TextDecoder().decode(d)));
    s.on("close", () => resolve(data));
    s.on("error", (e: Error) => resolve(`error: ${e.message}`));
  });
  expect(got).toContain("HTTP/1.1 200 OK");
}, 60_000);
