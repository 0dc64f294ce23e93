/**
 * Three datacenters from examples/federation/run.sh (one NATS node and one
 * server each, dc1 primary), in one start-up, driven the way a user does:
 * HTTP with ?dc=, dig, openssl verify, and run.sh stop/start for failure
 * domains.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer, type Server as NetServer } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type AgentProcess, BUN, startAgent } from "../e2e/_agent.ts";
import { freeBase, RUN_SH, sh } from "./_run_sh.ts";

const ROOT = resolve(import.meta.dir, "../..");
let baseDir = "";
let portBase = 0;
const http: Record<string, string> = {};
const dns: Record<string, number> = {};
/** A client agent in dc1 (translate_wan_addrs on), a dc3 sidecar and the app behind it: started by the tests that need them. */
let clientAgent: AgentProcess | null = null;
let sidecar: ChildProcess | null = null;
let echo: NetServer | null = null;

const run = (...args: string[]) => sh("bash", [RUN_SH, ...args], { BASE_DIR: baseDir, PORT_BASE: String(portBase) });

async function api(dc: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`http://${http[dc]}${path}`, { ...init, signal: init.signal ?? AbortSignal.timeout(30_000) });
}
async function j<T = unknown>(dc: string, path: string, init: RequestInit = {}): Promise<T> {
  const r = await api(dc, path, init);
  if (!r.ok) throw new Error(`${path} on ${dc}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}
async function until<T>(what: string, fn: () => Promise<T | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== null && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}
const datacenters = () => j<string[]>("dc1", "/v1/catalog/datacenters");
const put = (dc: string, path: string, body: unknown) => api(dc, path, { method: "PUT", body: typeof body === "string" ? body : JSON.stringify(body) });

beforeAll(async () => {
  baseDir = await mkdtemp(join(tmpdir(), "consulate-fed-e2e-"));
  portBase = await freeBase();
  const up = await run("up");
  if (up.code !== 0) throw new Error(`run.sh up failed:\n${up.out}`);
  for (const line of up.out.split("\n")) {
    const m = /^DC=(dc\d) HTTP=([\d.]+:\d+) DNS=[\d.]+:(\d+)$/.exec(line.trim());
    if (m) {
      http[m[1]!] = m[2]!;
      dns[m[1]!] = Number(m[3]);
    }
  }
  expect(Object.keys(http).sort()).toEqual(["dc1", "dc2", "dc3"]);
}, 250_000);

afterAll(async () => {
  if (sidecar && sidecar.exitCode === null) sidecar.kill("SIGKILL");
  echo?.close();
  await clientAgent?.kill();
  const down = await run("down");
  if (down.code !== 0) console.error(down.out);
  await rm(baseDir, { recursive: true, force: true });
}, 70_000);

test("run.sh keeps every port in [PORT_BASE, PORT_BASE+300) and refuses an unknown datacenter", async () => {
  for (const dc of ["dc1", "dc2", "dc3"]) {
    for (const p of [Number(http[dc]!.split(":")[1]), dns[dc]!]) {
      expect(p).toBeGreaterThanOrEqual(portBase);
      expect(p).toBeLessThan(portBase + 300);
    }
  }
  expect((await run("stop", "dc7")).code).not.toBe(0);
  expect((await run("bogus")).code).not.toBe(0);
});

test("dc1 lists every datacenter and a gauge per datacenter; WAN members of all three", async () => {
  expect((await datacenters()).sort()).toEqual(["dc1", "dc2", "dc3"]);
  const metrics = await j<{ Gauges: { Name: string; Value: number; Labels: Record<string, string> }[] }>("dc1", "/v1/agent/metrics");
  const reach = metrics.Gauges.filter((g) => g.Name === "consulate.federation.datacenter.reachable");
  expect(reach.map((g) => [g.Labels.datacenter, g.Value]).sort()).toEqual([["dc1", 1], ["dc2", 1], ["dc3", 1]]);
  const wan = await until("three WAN members", async () => {
    const m = await j<{ Name: string }[]>("dc1", "/v1/agent/members?wan");
    return m.length === 3 ? m : null;
  });
  expect(wan.map((m) => m.Name).sort()).toEqual(["srv-dc1.dc1", "srv-dc2.dc2", "srv-dc3.dc3"]);
});

test("dig at dc1 for api.service.dc2.consul answers dc2's healthy instances only", async () => {
  const reg = (id: string, port: number, status: string) =>
    put("dc2", "/v1/catalog/register", { Node: `n-${id}`, Address: "10.2.0.1", Service: { ID: id, Service: "api", Port: port }, Check: { CheckID: `c-${id}`, Name: "c", ServiceID: id, Status: status } });
  expect((await reg("api-ok", 8080, "passing")).status).toBe(200);
  expect((await reg("api-bad", 9090, "critical")).status).toBe(200);
  const srv = await until("the SRV answer", async () => {
    const r = await sh("dig", ["+short", "+time=2", "+tries=1", `@127.0.0.1`, "-p", String(dns.dc1), "api.service.dc2.consul", "SRV"]);
    return r.out.includes("8080") ? r.out : null;
  });
  expect(srv).not.toContain("9090");
  expect(srv).toContain("n-api-ok.node.dc2.consul.");
  const local = await sh("dig", ["+short", "+time=2", "+tries=1", `@127.0.0.1`, "-p", String(dns.dc1), "api.service.consul", "SRV"]);
  expect(local.out.trim()).toBe(""); // .service.consul stays local
  const health = await j<{ Service: { Port: number } }[]>("dc1", "/v1/health/service/api?dc=dc2&passing");
  expect(health.map((h) => h.Service.Port)).toEqual([8080]);
});

const dig = async (port: number, name: string, type: string) => (await sh("dig", ["+time=2", "+tries=1", "@127.0.0.1", "-p", String(port), name, type])).out;
const digShort = async (port: number, name: string, type: string) => (await sh("dig", ["+short", "+time=2", "+tries=1", "@127.0.0.1", "-p", String(port), name, type])).out.trim();

test("a client agent in dc1 answers dc2's names by forwarding to its server; translate_wan_addrs gives dc2's WAN addresses over DNS and HTTP, local ones stay LAN", async () => {
  const dir = join(baseDir, "client-dc1");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "client.json"), JSON.stringify({ translate_wan_addrs: true }));
  clientAgent = await startAgent(["-datacenter", "dc1", "-node", "client-dc1", "-bind", "127.0.0.1", "-data-dir", join(dir, "data"), "-config-file", join(dir, "client.json"), "-retry-join", `127.0.0.1:${portBase + 13}`]);
  const cdns = Number(/-dns-port (\d+)/.exec(clientAgent.child.spawnargs.join(" "))![1]);
  const edge = (dc: string, lan: string, wan: string) => ({
    Node: `edge-${dc}`,
    Address: lan,
    TaggedAddresses: { lan, wan },
    Service: { ID: "edge", Service: "edge", Port: 8080, TaggedAddresses: { lan: { Address: lan, Port: 8080 }, wan: { Address: wan.replace(/\.1$/, ".2"), Port: 18080 } } },
    Check: { CheckID: "edge-ok", Name: "c", ServiceID: "edge", Status: "passing" },
  });
  expect((await put("dc2", "/v1/catalog/register", edge("dc2", "10.2.0.9", "198.51.100.1"))).status).toBe(200);
  expect((await put("dc1", "/v1/catalog/register", edge("dc1", "10.1.0.9", "198.51.100.101"))).status).toBe(200);
  // Connect-native services get a virtual IP from their own datacenter's servers.
  expect((await put("dc1", "/v1/catalog/register", { Node: "vip-dc1", Address: "10.1.0.10", Service: { ID: "vip", Service: "vip", Port: 1, Connect: { Native: true } } })).status).toBe(200);
  expect((await put("dc2", "/v1/catalog/register", { Node: "vip-dc2", Address: "10.2.0.10", Service: { ID: "vip2", Service: "vip2", Port: 2, Connect: { Native: true } } })).status).toBe(200);
  const vipOf = async (dc: string, svc: string) => {
    const [row] = await j<{ ServiceTaggedAddresses: Record<string, { Address: string }> }[]>(dc, `/v1/catalog/service/${svc}`);
    return row!.ServiceTaggedAddresses["consul-virtual"]!.Address;
  };
  const [vip1, vip2] = [await vipOf("dc1", "vip"), await vipOf("dc2", "vip2")];
  expect(vip1).toMatch(/^240\./);
  expect(vip2).toMatch(/^240\./);
  expect((await api("dc2", "/v1/query", { method: "POST", body: JSON.stringify({ Name: "edgeq", Service: { Service: "edge" } }) })).status).toBe(200);

  // DNS: the client has no state of its own; every name goes to its server, and dc2's on to dc2.
  const srv = await until("the client's SRV answer for dc2", async () => {
    const out = await dig(cdns, "edge.service.dc2.consul", "SRV");
    return out.includes("18080") ? out : null;
  });
  expect(srv).toMatch(/\.addr\.dc2\.consul\.\s+\d+\s+IN\s+A\s+198\.51\.100\.2\b/); // the service's WAN address and port
  expect(await digShort(cdns, "edge.service.dc2.consul", "A")).toBe("198.51.100.2"); // the service's WAN address
  expect(await digShort(cdns, "edge-dc2.node.dc2.consul", "A")).toBe("198.51.100.1");
  expect(await digShort(cdns, "edgeq.query.dc2.consul", "A")).toBe("198.51.100.2");
  expect(await digShort(cdns, "edge.service.consul", "A")).toBe("10.1.0.9"); // our own datacenter: LAN
  expect(await dig(cdns, "edge.service.dc9.consul", "A")).toContain("status: NXDOMAIN"); // no path to dc9
  // .virtual: each datacenter's own virtual IPs; a label naming another datacenter is answered there (our extension:
  // Consul reads it as a peer), an unknown label keeps Consul's answer (a peer: none).
  expect(await digShort(cdns, "vip.virtual.consul", "A")).toBe(vip1);
  expect(await digShort(cdns, "vip2.virtual.consul", "A")).toBe("");
  expect(await digShort(cdns, "vip2.virtual.dc2.consul", "A")).toBe(vip2);
  expect(await digShort(dns.dc1!, "vip2.virtual.dc2.consul", "A")).toBe(vip2); // a server forwards it the same way
  expect(await digShort(dns.dc3!, "vip.virtual.dc1.consul", "A")).toBe(vip1);
  expect(await digShort(dns.dc1!, "vip.virtual.dc9.consul", "A")).toBe("");
  const [h2] = await j<{ Service: { TaggedAddresses: Record<string, { Address: string }> } }[]>("dc1", "/v1/health/service/vip2?dc=dc2");
  expect(h2!.Service.TaggedAddresses["consul-virtual"]!.Address).toBe(vip2);

  // HTTP: the same translation, and Consul's header saying it is on.
  const h = await fetch(`${clientAgent.base}/v1/health/service/edge?dc=dc2`);
  expect(h.headers.get("X-Consul-Translate-Addresses")).toBe("true");
  const [row] = (await h.json()) as { Node: { Address: string; TaggedAddresses: Record<string, string> }; Service: { Address: string; Port: number } }[];
  expect([row!.Node.Address, row!.Service.Address, row!.Service.Port, row!.Node.TaggedAddresses.lan]).toEqual(["198.51.100.1", "198.51.100.2", 18080, "10.2.0.9"]);
  const [cat] = (await (await fetch(`${clientAgent.base}/v1/catalog/service/edge?dc=dc2`)).json()) as { Address: string; ServiceAddress: string; ServicePort: number }[];
  expect([cat!.Address, cat!.ServiceAddress, cat!.ServicePort]).toEqual(["198.51.100.1", "198.51.100.2", 18080]);
  const q = (await (await fetch(`${clientAgent.base}/v1/query/edgeq/execute?dc=dc2`)).json()) as { Nodes: { Service: { Address: string; Port: number } }[] };
  expect([q.Nodes[0]!.Service.Address, q.Nodes[0]!.Service.Port]).toEqual(["198.51.100.2", 18080]);
  const [local] = (await (await fetch(`${clientAgent.base}/v1/health/service/edge`)).json()) as { Node: { Address: string }; Service: { Address: string; Port: number } }[];
  expect([local!.Node.Address, local!.Service.Address, local!.Service.Port]).toEqual(["10.1.0.9", "", 8080]);
  // A server without translate_wan_addrs answers dc2's LAN addresses, without the header.
  const plain = await api("dc1", "/v1/health/service/edge?dc=dc2");
  expect(plain.headers.get("X-Consul-Translate-Addresses")).toBeNull();
  const [lan] = (await plain.json()) as { Node: { Address: string }; Service: { Address: string; Port: number } }[];
  expect([lan!.Node.Address, lan!.Service.Address, lan!.Service.Port]).toEqual(["10.2.0.9", "", 8080]);
  await clientAgent.kill();
  clientAgent = null;
}, 60_000);

test("?dc=dc3 writes and reads reach dc3; a blocking read on dc2 made through dc1 wakes on a dc2 write", async () => {
  expect(await (await put("dc1", "/v1/kv/fed/x?dc=dc3", "three")).json()).toBe(true);
  expect(await (await api("dc3", "/v1/kv/fed/x?raw")).text()).toBe("three");
  expect((await api("dc1", "/v1/kv/fed/x")).status).toBe(404);
  expect(await (await api("dc1", "/v1/kv/fed/x?dc=dc3&raw")).text()).toBe("three");
  // A ?dc= answer larger than a NATS message (1.3 MB of KV) comes back whole, in parts.
  const big = "b".repeat(480_000);
  for (let n = 0; n < 2; n++) expect((await put("dc3", `/v1/kv/fed/big/${n}`, big)).status).toBe(200);
  const tree = await j<{ Key: string; Value: string }[]>("dc1", "/v1/kv/fed/big/?recurse&dc=dc3");
  expect(tree.map((e) => e.Key)).toEqual(["fed/big/0", "fed/big/1"]);
  expect(tree.every((e) => atob(e.Value) === big)).toBe(true);
  const parted = await j<{ Gauges: { Name: string; Value: number }[] }>("dc3", "/v1/agent/metrics");
  expect(parted.Gauges.find((g) => g.Name === "consulate.federation.rpc.parted_replies")!.Value).toBeGreaterThanOrEqual(1);

  const first = await api("dc1", "/v1/kv/fed/watch?dc=dc2");
  const index = first.headers.get("X-Consul-Index")!;
  const started = Date.now();
  const parked = api("dc1", `/v1/kv/fed/watch?dc=dc2&index=${index}&wait=30s`);
  await Bun.sleep(300);
  await put("dc2", "/v1/kv/fed/watch", "woke");
  const woke = await parked;
  expect(woke.status).toBe(200);
  expect(Number(woke.headers.get("X-Consul-Index"))).toBeGreaterThan(Number(index));
  expect(Date.now() - started).toBeLessThan(10_000);
  const [row] = (await woke.json()) as { Value: string }[];
  expect(atob(row!.Value)).toBe("woke");
});

test("an intention written in dc2 goes to the primary and is enforced in dc3 within 2 s; a dc3 leaf verifies with dc1's roots", async () => {
  const roots = await j<{ TrustDomain: string; Roots: { RootCert: string }[] }>("dc1", "/v1/connect/ca/roots");
  const authorize = () =>
    j<{ Authorized: boolean; Reason: string }>("dc3", "/v1/agent/connect/authorize", {
      method: "POST",
      body: JSON.stringify({ Target: "db", ClientCertURI: `spiffe://${roots.TrustDomain}/ns/default/dc/dc2/svc/web` }),
    });
  expect((await authorize()).Authorized).toBe(true);
  const written = Date.now();
  expect((await put("dc2", "/v1/connect/intentions/exact?source=web&destination=db", { Action: "deny" })).status).toBe(200);
  await until("dc3 to deny web -> db", async () => !(await authorize()).Authorized, 2_000);
  expect(Date.now() - written).toBeLessThan(2_500);
  // It lives in the primary; every datacenter serves the same intention.
  expect((await j<{ Action: string }>("dc1", "/v1/connect/intentions/exact?source=web&destination=db")).Action).toBe("deny");

  const leaf = await j<{ CertPEM: string; ServiceURI: string }>("dc3", "/v1/agent/connect/ca/leaf/web");
  expect(leaf.ServiceURI).toBe(`spiffe://${roots.TrustDomain}/ns/default/dc/dc3/svc/web`);
  const certs = leaf.CertPEM.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
  expect(certs.length).toBeGreaterThanOrEqual(2);
  await writeFile(join(baseDir, "leaf.pem"), `${certs[0]}\n`);
  await writeFile(join(baseDir, "chain.pem"), `${certs.slice(1).join("\n")}\n`);
  await writeFile(join(baseDir, "roots-dc1.pem"), roots.Roots.map((r) => r.RootCert).join(""));
  const ok = await sh("openssl", ["verify", "-CAfile", join(baseDir, "roots-dc1.pem"), "-untrusted", join(baseDir, "chain.pem"), join(baseDir, "leaf.pem")]);
  expect(ok.out).toContain("leaf.pem: OK");
  // Without dc3's intermediate the leaf does not verify: the root never signed it directly.
  const bare = await sh("openssl", ["verify", "-CAfile", join(baseDir, "roots-dc1.pem"), join(baseDir, "leaf.pem")]);
  expect(bare.code).not.toBe(0);
});

interface Leaf {
  CertPEM: string;
  PrivateKeyPEM: string;
}
const leafOf = (dc: string, service: string) => j<Leaf>(dc, `/v1/agent/connect/ca/leaf/${service}`);
const pems = (text: string) => text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
let sidecarPort = 0;

/** Sends a line through dc3's sidecar with `leaf` as the client: what came back ("" when the sidecar closed the connection). */
function through(leaf: Leaf, ca: string): Promise<string> {
  return new Promise((res) => {
    let got = "";
    const s = tlsConnect({ host: "127.0.0.1", port: sidecarPort, key: leaf.PrivateKeyPEM, cert: leaf.CertPEM, ca, checkServerIdentity: () => undefined }, () => s.write("ping\n"));
    const done = () => {
      s.destroy();
      res(got);
    };
    s.on("data", (d: Buffer) => {
      got += d.toString();
      if (got.includes("\n")) done();
    });
    s.on("error", done);
    s.on("close", done);
    s.setTimeout(3_000, done);
  });
}
const rootsPem = async (dc: string) => (await j<{ Roots: { RootCert: string }[] }>(dc, "/v1/connect/ca/roots")).Roots.map((r) => r.RootCert).join("\n");

test("an intention written in dc2 goes to the primary, is replicated to dc3 and enforced by a running dc3 sidecar on a dc2 leaf within 2 s", async () => {
  echo = createServer((c) => c.on("data", (d) => c.write(d)));
  await new Promise<void>((r) => echo!.listen(0, "127.0.0.1", () => r()));
  const reg = await put("dc3", "/v1/agent/service/register", { Name: "db", Port: (echo.address() as AddressInfo).port, Connect: { SidecarService: {} } });
  expect(reg.status).toBe(200);
  const proxy = await j<{ Port: number }>("dc3", "/v1/agent/service/db-sidecar-proxy");
  sidecarPort = proxy.Port;
  expect(sidecarPort).toBeGreaterThanOrEqual(portBase + 250); // from dc3's sidecar port range
  sidecar = spawn(BUN, [join(ROOT, "src/cli/main.ts"), "connect", "proxy", "-sidecar-for", "db", "-http-addr", http.dc3!], { stdio: "ignore" });
  const ca = await rootsPem("dc1");
  const web = await leafOf("dc2", "web");
  expect((await put("dc1", "/v1/connect/intentions/exact?source=web&destination=db", { Action: "allow" })).status).toBe(200);
  await until("web (a dc2 leaf) through dc3's sidecar", async () => (await through(web, ca)) === "ping\n", 20_000);
  const written = Date.now();
  // Written in a secondary: forwarded to the primary, replicated to dc3, enforced by its sidecar.
  expect((await put("dc2", "/v1/connect/intentions/exact?source=web&destination=db", { Action: "deny" })).status).toBe(200);
  await until("the sidecar to refuse web", async () => (await through(web, ca)) === "", 2_000);
  expect(Date.now() - written).toBeLessThan(2_500);
  // Only web is refused: another dc2 service (no intention, default allow) still gets through the same sidecar.
  expect(await through(await leafOf("dc2", "web2"), ca)).toBe("ping\n");
}, 60_000);

test("a root rotation in dc1 reaches the secondaries: new intermediates, new leaves chain to the new root, old leaves keep working", async () => {
  const before = await j<{ ActiveRootID: string }>("dc1", "/v1/connect/ca/roots");
  const oldDc3 = await leafOf("dc3", "web");
  const oldDc2 = await leafOf("dc2", "web2");
  const intermediates = (await j<{ CA: { Intermediates: number } }>("dc3", "/v1/operator/replication")).CA.Intermediates;
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const pem = `-----BEGIN PRIVATE KEY-----\n${btoa(String.fromCharCode(...der)).replace(/.{64}/g, "$&\n")}\n-----END PRIVATE KEY-----\n`;
  expect((await put("dc1", "/v1/connect/ca/configuration", { Provider: "consul", Config: { PrivateKey: pem } })).status).toBe(200);
  const after = await j<{ ActiveRootID: string; Roots: { ID: string; RootCert: string }[] }>("dc1", "/v1/connect/ca/roots");
  expect(after.ActiveRootID).not.toBe(before.ActiveRootID);
  expect(after.Roots.map((r) => r.ID)).toContain(before.ActiveRootID); // the old root stays trusted
  for (const dc of ["dc2", "dc3"]) {
    await until(`${dc} on the new root`, async () => (await j<{ ActiveRootID: string }>(dc, "/v1/connect/ca/roots")).ActiveRootID === after.ActiveRootID, 10_000);
  }
  const ca = await until("dc3's new intermediate", async () => {
    const r = await j<{ CA: { Intermediates: number; ActiveRootID: string } }>("dc3", "/v1/operator/replication");
    return r.CA.Intermediates > intermediates ? r.CA : null;
  }, 10_000);
  expect(ca.ActiveRootID).toBe(after.ActiveRootID);
  // A new dc3 leaf chains to the new root alone; the old dc3 leaf still verifies with the roots every datacenter serves.
  const fresh = pems((await leafOf("dc3", `rotated-${Date.now()}`)).CertPEM);
  await writeFile(join(baseDir, "new-root.pem"), `${after.Roots.find((r) => r.ID === after.ActiveRootID)!.RootCert}\n`);
  await writeFile(join(baseDir, "roots-after.pem"), `${await rootsPem("dc3")}\n`);
  const verify = async (leaf: string[], roots: string) => {
    await writeFile(join(baseDir, "v-leaf.pem"), `${leaf[0]}\n`);
    await writeFile(join(baseDir, "v-chain.pem"), `${leaf.slice(1).join("\n")}\n`);
    return (await sh("openssl", ["verify", "-CAfile", join(baseDir, roots), "-untrusted", join(baseDir, "v-chain.pem"), join(baseDir, "v-leaf.pem")])).out;
  };
  expect(await verify(fresh, "new-root.pem")).toContain("v-leaf.pem: OK");
  expect(await verify(pems(oldDc3.CertPEM), "roots-after.pem")).toContain("v-leaf.pem: OK");
  // Through dc3's sidecar: an old-root dc2 leaf is still let in, and so is a new-root one once dc2 signs with its new intermediate.
  const bundle = await rootsPem("dc3");
  expect(await through(oldDc2, bundle)).toBe("ping\n");
  const newDc2 = await leafOf("dc2", `web3`);
  await writeFile(join(baseDir, "new-root.pem"), `${after.Roots.find((r) => r.ID === after.ActiveRootID)!.RootCert}\n`);
  expect(await verify(pems(newDc2.CertPEM), "new-root.pem")).toContain("v-leaf.pem: OK");
  await until("a new-root dc2 leaf through dc3's sidecar", async () => (await through(newDc2, bundle)) === "ping\n", 10_000);
  sidecar?.kill("SIGTERM");
}, 60_000);

test("from dc1, ?dc= reaches dc2 and dc3 on txn, session, coordinate, event, config, intentions match/check and CA roots; <svc>.connect.dc3 over DNS", async () => {
  // txn: written in dc2 only.
  const txn = await put("dc1", "/v1/txn?dc=dc2", [{ KV: { Verb: "set", Key: "fed/txn", Value: btoa("t") } }]);
  expect(txn.status).toBe(200);
  expect(await (await api("dc2", "/v1/kv/fed/txn?raw")).text()).toBe("t");
  expect((await api("dc1", "/v1/kv/fed/txn")).status).toBe(404);
  // session: created in dc2 (on a dc2 node: the default is the asking agent's own), read back through dc1, unknown to dc1 itself.
  const { ID } = await j<{ ID: string }>("dc1", "/v1/session/create?dc=dc2", { method: "PUT", body: JSON.stringify({ Name: "fed", Node: "srv-dc2", Checks: [] }) });
  expect((await j<{ ID: string; Node: string }[]>("dc1", `/v1/session/info/${ID}?dc=dc2`))[0]!.Node).toBe("srv-dc2");
  expect(await j<unknown[]>("dc1", `/v1/session/info/${ID}`)).toEqual([]);
  // coordinate: answered by dc3 (a lone server has no LAN peer to measure against, so nothing but dc3's own nodes, if any).
  const coords = await j<{ Node: string }[]>("dc1", "/v1/coordinate/nodes?dc=dc3");
  expect(coords.filter((c) => c.Node !== "srv-dc3")).toEqual([]);
  // event: fired through dc1, seen by dc2's agent and not by dc1's.
  const fired = await j<{ ID: string }>("dc1", "/v1/event/fire/fed-deploy?dc=dc2", { method: "PUT", body: "go" });
  await until("the event in dc2", async () => (await j<{ ID: string }[]>("dc2", "/v1/event/list?name=fed-deploy")).some((e) => e.ID === fired.ID), 5_000);
  expect(await j<unknown[]>("dc1", "/v1/event/list?name=fed-deploy")).toEqual([]);
  // config, intentions and CA roots: answered by dc3 from its replica of the primary.
  const roots1 = await j<{ TrustDomain: string; ActiveRootID: string }>("dc1", "/v1/connect/ca/roots");
  const roots3 = await j<{ TrustDomain: string; ActiveRootID: string }>("dc1", "/v1/connect/ca/roots?dc=dc3");
  expect([roots3.TrustDomain, roots3.ActiveRootID]).toEqual([roots1.TrustDomain, roots1.ActiveRootID]);
  expect((await put("dc1", "/v1/connect/intentions/exact?source=fed-web&destination=fed-api", { Action: "deny" })).status).toBe(200);
  const matched = await until("the intention matched in dc3", async () => {
    const m = await j<Record<string, { SourceName: string; Action: string }[]>>("dc1", "/v1/connect/intentions/match?by=destination&name=fed-api&dc=dc3");
    return m["fed-api"]?.find((i) => i.SourceName === "fed-web") ?? null;
  }, 5_000);
  expect(matched.Action).toBe("deny");
  expect((await j<{ Allowed: boolean }>("dc1", "/v1/connect/intentions/check?source=fed-web&destination=fed-api&dc=dc3")).Allowed).toBe(false);
  expect((await api("dc1", "/v1/config/service-defaults?dc=dc3")).status).toBe(200);
  // DNS: a connect-native service of dc3, asked at dc1.
  expect((await put("dc3", "/v1/agent/service/register", { Name: "natv", Port: 7001, Connect: { Native: true } })).status).toBe(200);
  const srv = await until("natv.connect.dc3", async () => (await digShort(dns.dc1!, "natv.connect.dc3.consul", "SRV")) || null, 5_000);
  expect(srv).toContain("7001");
  expect(srv).toContain(".dc3.consul.");
});

test("stopping dc2: ?dc=dc2 fails within 1 s, dc1 and dc3 keep serving; dc2, cut off from all others, restarts alone and serves local reads and writes; everything heals by itself", async () => {
  expect((await run("stop", "dc2")).code).toBe(0);
  const started = Date.now();
  const r = await api("dc1", "/v1/kv/fed/x?dc=dc2");
  expect(Date.now() - started).toBeLessThan(1000);
  expect(r.status).toBe(500);
  expect(await r.text()).toBe("No path to datacenter");
  await until("dc2 to drop from the list", async () => !(await datacenters()).includes("dc2"), 5_000);
  expect((await put("dc1", "/v1/kv/fed/during?dc=dc3", "still")).status).toBe(200);
  expect(await (await api("dc3", "/v1/kv/fed/during?raw")).text()).toBe("still");
  expect((await put("dc1", "/v1/kv/fed/local", "ok")).status).toBe(200);
  expect(await (await api("dc3", "/v1/kv/fed/x?dc=dc1")).text()).toBe("");

  // dc2 comes back while every other datacenter is away: its servers start alone (run.sh start waits only for the running ones).
  await Promise.all([run("stop", "dc1"), run("stop", "dc3")]);
  const lone = await run("start", "dc2");
  expect(lone.code).toBe(0);
  expect(lone.out).toContain("DC=dc2 HTTP=");
  expect((await put("dc2", "/v1/kv/fed/alone", "here")).status).toBe(200);
  expect(await (await api("dc2", "/v1/kv/fed/alone?raw")).text()).toBe("here");
  expect(await (await api("dc2", "/v1/kv/fed/watch?raw")).text()).toBe("woke"); // written before the restart
  const reg = { Node: "alone-node", Address: "10.2.0.77", Service: { ID: "alone", Service: "alone", Port: 7077 } };
  expect((await put("dc2", "/v1/catalog/register", reg)).status).toBe(200);
  expect((await j<{ ServicePort: number }[]>("dc2", "/v1/catalog/service/alone")).map((row) => row.ServicePort)).toEqual([7077]);
  expect(await digShort(dns.dc2!, "alone.service.consul", "A")).toBe("10.2.0.77");
  for (const path of ["/v1/kv/fed/x?dc=dc1", "/v1/catalog/nodes?dc=dc3"]) {
    const t0 = Date.now();
    const res = await api("dc2", path);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect([res.status, await res.text()]).toEqual([500, "No path to datacenter"]);
  }

  const back = await Promise.all([run("start", "dc1"), run("start", "dc3")]);
  expect(back.map((b) => b.code)).toEqual([0, 0]);
  await until("dc2 back in dc1's list", async () => (await datacenters()).includes("dc2"), 15_000);
  expect(await (await api("dc1", "/v1/kv/fed/watch?dc=dc2&raw")).text()).toBe("woke");
  await until("dc1 to read dc2's lone write", async () => (await api("dc1", "/v1/kv/fed/alone?dc=dc2&raw")).status === 200, 15_000);
  expect(await (await api("dc1", "/v1/kv/fed/alone?dc=dc2&raw")).text()).toBe("here");
  await until("dc2 to reach dc3", async () => (await put("dc2", "/v1/kv/fed/after?dc=dc3", "back")).status === 200, 15_000);
  expect(await (await api("dc3", "/v1/kv/fed/after?raw")).text()).toBe("back");
}, 180_000);

test("with the primary stopped, secondaries serve intentions and config entries from their replicas; replication resumes when it returns", async () => {
  expect((await put("dc1", "/v1/config", { Kind: "service-defaults", Name: "api", Protocol: "http" })).status).toBe(200);
  // Both secondaries must hold it before the primary goes (dc2 was restarted by the test before).
  for (const dc of ["dc3", "dc2"]) {
    await until(`the entry in ${dc}`, async () => (await api(dc, "/v1/config/service-defaults/api")).status === 200, 15_000);
  }
  const before = await j<{ ReplicatedIndex: number; EntriesWritten: number }>("dc3", "/v1/operator/replication");
  expect((await run("stop", "dc1")).code).toBe(0);
  expect((await j<{ Protocol: string }>("dc3", "/v1/config/service-defaults/api")).Protocol).toBe("http");
  expect((await j<{ Protocol: string }>("dc2", "/v1/config/service-defaults/api")).Protocol).toBe("http");
  expect((await j<{ Allowed: boolean }>("dc3", "/v1/connect/intentions/check?source=web&destination=db")).Allowed).toBe(false);
  // Writes the primary owns fail fast while it is away; others still work.
  const refused = await put("dc2", "/v1/config", { Kind: "service-defaults", Name: "web", Protocol: "grpc" });
  expect(refused.status).toBe(500);
  expect((await put("dc2", "/v1/kv/fed/primary-down", "fine")).status).toBe(200);
  const lagging = await until("lag to show", async () => {
    const s = await j<{ LagMs: number; LastErrorMessage: string }>("dc3", "/v1/operator/replication");
    return s.LagMs > 0 ? s : null;
  }, 5_000);
  expect(lagging.LastErrorMessage).toContain("No path to datacenter");
  expect((await run("start", "dc1")).code).toBe(0);
  expect((await put("dc1", "/v1/config", { Kind: "service-defaults", Name: "web", Protocol: "grpc" })).status).toBe(200);
  await until("the new entry in dc3", async () => (await api("dc3", "/v1/config/service-defaults/web")).status === 200, 5_000);
  const after = await j<{ ReplicatedIndex: number; EntriesWritten: number; LagMs: number }>("dc3", "/v1/operator/replication");
  expect(after.ReplicatedIndex).toBeGreaterThan(before.ReplicatedIndex);
  // Resumed from where it stopped: only the one new entry was written, nothing re-synced.
  expect(after.EntriesWritten).toBe(before.EntriesWritten + 1);
  expect(after.LagMs).toBe(0);
}, 120_000);

test("a secondary promoted to primary takes config entry writes and replicates them; the old primary comes back as a secondary", async () => {
  expect((await run("stop", "dc1")).code).toBe(0);
  const promote = await sh(join(ROOT, "node_modules/.bin/bun"), [join(ROOT, "src/cli/main.ts"), "operator", "federation", "promote", `-http-addr=${http.dc2}`]);
  expect(promote.out).toContain("Datacenter dc2 is now the primary datacenter (epoch 1)");
  // The claim reaches dc3 in WAN gossip tags: a gossip round or two, longer on a loaded box (dc3 was restarted twice before); a tag update gossip lost is repaired by the next WAN push-pull (60 s).
  await until("dc3 to follow dc2", async () => (await j<{ PrimaryDatacenter: string }>("dc3", "/v1/operator/federation")).PrimaryDatacenter === "dc2", 75_000).catch(async (err: unknown) => {
    throw new Error(`${(err as Error).message}; dc3's WAN members: ${JSON.stringify((await j<{ Name: string; Status: number; Tags: Record<string, string> }[]>("dc3", "/v1/agent/members?wan")).map((m) => [m.Name, m.Status, m.Tags.fed_primary]))}`);
  });
  // Written in dc3: forwarded to the new primary, replicated back.
  expect((await put("dc3", "/v1/config", { Kind: "service-defaults", Name: "promoted", Protocol: "http2" })).status).toBe(200);
  expect((await j<{ Protocol: string }>("dc2", "/v1/config/service-defaults/promoted")).Protocol).toBe("http2");
  await until("the entry in dc3", async () => (await api("dc3", "/v1/config/service-defaults/promoted")).status === 200, 5_000);
  expect((await run("start", "dc1")).code).toBe(0);
  const dc1 = await until("dc1 to follow dc2", async () => {
    const s = await j<{ PrimaryDatacenter: string; Epoch: number }>("dc1", "/v1/operator/federation");
    return s.PrimaryDatacenter === "dc2" ? s : null;
  }, 15_000);
  expect(dc1.Epoch).toBe(1);
  await until("the entry in dc1", async () => (await api("dc1", "/v1/config/service-defaults/promoted")).status === 200, 10_000);
  // dc1 gave up its own root's key: it signs with an intermediate from dc2 now, and its leaves verify with the roots dc3 serves.
  const ca = await until("dc1's intermediate from dc2", async () => {
    const r = await j<{ CA: { Intermediates: number } }>("dc1", "/v1/operator/replication");
    return r.CA.Intermediates >= 1 ? r.CA : null;
  }, 15_000);
  expect(ca.Intermediates).toBeGreaterThanOrEqual(1);
  const roots = await j<{ Roots: { RootCert: string }[] }>("dc3", "/v1/connect/ca/roots");
  await writeFile(join(baseDir, "roots-dc3.pem"), roots.Roots.map((r) => r.RootCert).join(""));
  // A leaf for a service dc1 never signed before: leaf + dc1's intermediate + dc2's, up to the shared root.
  const leaf = await until("a leaf signed in dc1", async () => {
    const r = await fetch(`http://${http.dc1}/v1/agent/connect/ca/leaf/api-${Date.now()}`);
    return r.status === 200 ? ((await r.json()) as { CertPEM: string }) : null;
  }, 10_000);
  const certs = leaf.CertPEM.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
  expect(certs.length).toBeGreaterThanOrEqual(3);
  await writeFile(join(baseDir, "leaf1.pem"), `${certs[0]}\n`);
  await writeFile(join(baseDir, "chain1.pem"), `${certs.slice(1).join("\n")}\n`);
  const ok = await sh("openssl", ["verify", "-CAfile", join(baseDir, "roots-dc3.pem"), "-untrusted", join(baseDir, "chain1.pem"), join(baseDir, "leaf1.pem")]);
  expect(ok.out).toContain("leaf1.pem: OK");
}, 180_000);
