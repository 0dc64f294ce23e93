/**
 * Three datacenters from examples/federation/run.sh (one NATS node and one
 * server each, dc1 primary), in one start-up, driven the way a user does:
 * HTTP with ?dc=, dig, openssl verify, and run.sh stop/start for failure
 * domains.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const RUN = join(ROOT, "examples/federation/run.sh");
let baseDir = "";
let portBase = 0;
const http: Record<string, string> = {};
const dns: Record<string, number> = {};

function sh(cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 240_000): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}
const run = (...args: string[]) => sh("bash", [RUN, ...args], { BASE_DIR: baseDir, PORT_BASE: String(portBase) });

async function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once("error", () => res(false));
    s.listen(port, "127.0.0.1", () => s.close(() => res(true)));
  });
}

/** A PORT_BASE whose 300 ports look free (the ones run.sh binds are checked). */
async function freeBase(): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 120) * 100; // below the ephemeral range (32768+)
    let ok = true;
    for (let dc = 0; dc < 3 && ok; dc++) for (const off of [0, 10, 11, 12, 13, 14]) if (!(await portFree(base + dc * 100 + off))) ok = false;
    if (ok) return base;
  }
}

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

test("?dc=dc3 writes and reads reach dc3; a blocking read on dc2 made through dc1 wakes on a dc2 write", async () => {
  expect(await (await put("dc1", "/v1/kv/fed/x?dc=dc3", "three")).json()).toBe(true);
  expect(await (await api("dc3", "/v1/kv/fed/x?raw")).text()).toBe("three");
  expect((await api("dc1", "/v1/kv/fed/x")).status).toBe(404);
  expect(await (await api("dc1", "/v1/kv/fed/x?dc=dc3&raw")).text()).toBe("three");

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

test("stopping dc2: ?dc=dc2 fails within 1 s, dc1 and dc3 keep serving; dc2 heals by itself when started", async () => {
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
  const up = await run("start", "dc2");
  expect(up.out).toContain("DC=dc2 HTTP=");
  await until("dc2 back in dc1's list", async () => (await datacenters()).includes("dc2"), 15_000);
  expect(await (await api("dc1", "/v1/kv/fed/watch?dc=dc2&raw")).text()).toBe("woke");
}, 120_000);

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
  await until("dc3 to follow dc2", async () => (await j<{ PrimaryDatacenter: string }>("dc3", "/v1/operator/federation")).PrimaryDatacenter === "dc2", 10_000);
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
}, 120_000);
