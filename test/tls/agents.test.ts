/**
 * Agent TLS end to end, with real agent processes: a server and client
 * agents with verify_incoming, verify_outgoing and verify_server_hostname;
 * HTTPS checked by curl, openssl s_client, the CLI and the npm `consul`
 * client; client certificates from another CA and a server certificate for
 * another datacenter refused with a log line saying why; plain text and
 * random bytes to the TLS RPC port cut off at their first byte.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { Agent as HttpsAgent } from "node:https";
import { connect } from "node:net";
import { join } from "node:path";
import Consul from "consul";
import { type AgentProcess, freePort, startAgent, tempDir } from "../e2e/_agent.ts";
import { runCli } from "../../src/cli/run.ts";
import { memoryIo } from "../cli/memory_io.ts";
import { generateCa, generateCert } from "../../src/tls/mod.ts";
import { RPC_MAGIC } from "../../src/rpc/codec.ts";

let dir: { path: string; remove(): Promise<void> };
let caKeyPem = "";
const agents: AgentProcess[] = [];
let server: AgentProcess;
let serverPorts: { https: number; rpc: number; serf: number };
const f = (name: string) => join(dir.path, name);

async function writePair(name: string, pair: { certPem: string; keyPem: string }) {
  await writeFile(f(`${name}.pem`), pair.certPem);
  await writeFile(f(`${name}-key.pem`), pair.keyPem);
}

function tlsConfig(cert: string, extra: Record<string, unknown> = {}) {
  return {
    tls: {
      defaults: { ca_file: f("ca.pem"), cert_file: f(`${cert}.pem`), key_file: f(`${cert}-key.pem`), verify_incoming: true, verify_outgoing: true },
      internal_rpc: { verify_server_hostname: true },
    },
    ...extra,
  };
}

async function agentWith(name: string, config: object, args: string[]): Promise<AgentProcess> {
  await writeFile(f(`${name}.json`), JSON.stringify(config));
  const a = await startAgent(["-config-file", f(`${name}.json`), "-node", name, ...args]);
  agents.push(a);
  return a;
}

async function eventually<T>(what: string, fn: () => Promise<T | null>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${agents.map((a) => a.output()).join("\n----\n")}`);
    await Bun.sleep(100);
  }
}

beforeAll(async () => {
  dir = await tempDir("tls-agents-");
  const ca = await generateCa({ days: 30 });
  caKeyPem = ca.keyPem;
  await writeFile(f("ca.pem"), ca.certPem);
  const sign = (name: string, dnsNames: string[], ext: ("serverAuth" | "clientAuth")[], on = ca) =>
    generateCert({ caPem: on.certPem, caKeyPem: on.keyPem, name, days: 30, dnsNames, ipAddresses: ["127.0.0.1"], extKeyUsage: ext });
  await writePair("server", await sign("server.dc1.consul", ["server.dc1.consul", "localhost"], ["serverAuth", "clientAuth"]));
  await writePair("client", await sign("client.dc1.consul", ["client.dc1.consul", "localhost"], ["clientAuth", "serverAuth"]));
  await writePair("cli", await sign("cli.dc1.consul", ["cli.dc1.consul", "localhost"], []));
  await writePair("dc2-server", await sign("server.dc2.consul", ["server.dc2.consul", "localhost"], ["serverAuth", "clientAuth"]));
  const other = await generateCa({ days: 30 });
  await writePair("other-client", await sign("client.dc1.consul", ["client.dc1.consul", "localhost"], ["clientAuth", "serverAuth"], other));

  serverPorts = { https: await freePort(), rpc: await freePort(), serf: await freePort() };
  // Connect leaves are backdated a minute (as Consul's), so a 68 s TTL leaves ~8 s of life: auto_encrypt renews within the test.
  // SkipValidate lifts Consul's 1 h floor on the TTL, as Consul's own tests do.
  const connect = { ca_config: { leaf_cert_ttl: "68s", SkipValidate: true } };
  server = await agentWith("s1", tlsConfig("server", { ports: { https: serverPorts.https }, auto_encrypt: { allow_tls: true }, connect }), [
    "-dev",
    "-log-level",
    "debug",
    "-server-port",
    String(serverPorts.rpc),
    "-serf-lan-port",
    String(serverPorts.serf),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.kill()));
  await dir?.remove();
});

const join1 = () => ["-retry-join", `127.0.0.1:${serverPorts.serf}`];

test("a client agent with a certificate of the agent CA joins and forwards RPC over verified TLS", async () => {
  const c1 = await agentWith("c1", tlsConfig("client"), ["-data-dir", f("c1-data"), ...join1()]);
  await eventually("a KV write through the client", async () => {
    const r = await fetch(`${c1.base}/v1/kv/from-c1`, { method: "PUT", body: "hello" });
    return r.status === 200 ? true : null;
  });
  expect(await (await fetch(`${server.base}/v1/kv/from-c1?raw`)).text()).toBe("hello");
  expect(await (await fetch(`${c1.base}/v1/catalog/nodes`)).json()).toEqual(expect.arrayContaining([expect.objectContaining({ Node: "c1" })]));
}, 40_000);

test("auto_encrypt: a client agent with only the CA file gets a Connect CA certificate, renews it before it expires, and keeps forwarding RPC", async () => {
  const config = { tls: { defaults: { ca_file: f("ca.pem"), verify_outgoing: true }, internal_rpc: { verify_server_hostname: true } }, auto_encrypt: { tls: true } };
  const c4 = await agentWith("c4", config, ["-data-dir", f("c4-data"), "-log-level", "info", ...join1()]);
  await eventually("a KV write through the auto_encrypt client", async () => {
    const r = await fetch(`${c4.base}/v1/kv/from-c4`, { method: "PUT", body: "auto" });
    return r.status === 200 ? true : null;
  });
  expect(await (await fetch(`${server.base}/v1/kv/from-c4?raw`)).text()).toBe("auto");
  // The server requires client certificates (verify_incoming), and c4 was given none: the one it shows came from AutoEncrypt.Sign.
  expect(c4.output()).not.toContain("AutoEncrypt.Sign RPC failed");

  // Each certificate the client receives is logged with its serial, expiry and renewal time.
  const received = () =>
    [...c4.output().matchAll(/auto_encrypt: received a client certificate \(serial ([0-9a-f]+)\) valid until (\S+); renewing at (\S+)/g)].map((m) => ({
      serial: m[1]!,
      notAfter: Date.parse(m[2]!),
      renewAt: Date.parse(m[3]!),
    }));
  const [first] = received();
  expect(first).toBeDefined();
  expect(first!.renewAt).toBeLessThan(first!.notAfter);
  const second = await eventually("the renewed certificate", async () => received()[1] ?? null, 20_000);
  expect(second.serial).not.toBe(first!.serial);
  expect(second.notAfter).toBeGreaterThan(first!.notAfter);
  // The server saw the client dial again with the new certificate (its debug log names each accepted client certificate).
  await eventually("a connection with the renewed certificate", async () => {
    await fetch(`${c4.base}/v1/kv/from-c4`);
    return server.output().includes(`client certificate serial ${second.serial} spiffe://`) ? true : null;
  });
  // Past the first certificate's expiry the client still forwards reads and writes.
  await eventually("the first certificate's expiry", async () => (Date.now() > first!.notAfter + 500 ? true : null), 20_000);
  const w = await fetch(`${c4.base}/v1/kv/from-c4`, { method: "PUT", body: "renewed" });
  expect(w.status).toBe(200);
  expect(await (await fetch(`${c4.base}/v1/kv/from-c4?raw`)).text()).toBe("renewed");
  expect(server.output()).not.toContain("client certificate has expired");
  expect(c4.output()).not.toContain("renewing the client certificate failed");
}, 40_000);

test("a client certificate from another CA is refused by the server, which logs why", async () => {
  const c2 = await agentWith("c2", tlsConfig("other-client"), ["-data-dir", f("c2-data"), ...join1()]);
  await eventually("the refusal in the server's log", async () => {
    await fetch(`${c2.base}/v1/kv/x`, { method: "PUT", body: "y" }).catch(() => null);
    return /dropped connection from 127\.0\.0\.1:\d+: TLS handshake failed: .*certificate signed by unknown authority/.test(server.output()) ? true : null;
  });
  const r = await fetch(`${c2.base}/v1/kv/x`, { method: "PUT", body: "y" });
  expect(r.status).toBe(500);
  expect(await (await fetch(`${server.base}/v1/kv/x`)).status).toBe(404);
}, 40_000);

test("a client with verify_server_hostname refuses a server whose certificate is for another datacenter", async () => {
  const rpc = await freePort();
  const serf = await freePort();
  const wrong = await agentWith("s-wrong", tlsConfig("dc2-server"), ["-dev", "-server-port", String(rpc), "-serf-lan-port", String(serf)]);
  const c3 = await agentWith("c3", tlsConfig("client"), ["-data-dir", f("c3-data"), "-retry-join", `127.0.0.1:${serf}`]);
  await eventually("the client's log of the refused server", async () => {
    await fetch(`${c3.base}/v1/kv/x`).catch(() => null);
    return c3.output().includes("server.dc1.consul") && c3.output().includes("TLS handshake failed") ? true : null;
  });
  expect(c3.output()).toMatch(/TLS handshake failed: .*(altnames|does not match)/);
  const r = await fetch(`${c3.base}/v1/kv/x`);
  expect(r.status).toBe(500);
  await wrong.kill();
}, 40_000);

test("HTTPS: curl and the CLI with the CA and a client certificate; openssl s_client without one is refused", async () => {
  const url = `https://127.0.0.1:${serverPorts.https}`;
  const curl = (...args: string[]) => spawnSync("curl", ["-s", "-S", "--cacert", f("ca.pem"), ...args], { encoding: "utf8" });
  const ok = curl("--cert", f("cli.pem"), "--key", f("cli-key.pem"), `${url}/v1/status/leader`);
  expect(ok.stdout.trim()).toBe(`"127.0.0.1:${serverPorts.rpc}"`);
  const noCert = curl(`${url}/v1/status/leader`);
  expect(noCert.status).not.toBe(0);
  expect(noCert.stdout).toBe("");

  const sClient = (cert: boolean) =>
    spawnSync(
      "openssl",
      ["s_client", "-connect", `127.0.0.1:${serverPorts.https}`, "-CAfile", f("ca.pem"), "-quiet", ...(cert ? ["-cert", f("cli.pem"), "-key", f("cli-key.pem")] : [])],
      { input: "GET /v1/status/leader HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", encoding: "utf8", timeout: 10_000 },
    );
  const refused = sClient(false);
  expect(refused.stdout).not.toContain("HTTP/1.1 200");
  expect(refused.stderr).toMatch(/alert|certificate required|handshake failure/i);
  expect(sClient(true).stdout).toContain("HTTP/1.1 200");

  const io = memoryIo({ env: { CONSUL_HTTP_ADDR: url, CONSUL_CACERT: f("ca.pem"), CONSUL_CLIENT_CERT: f("cli.pem"), CONSUL_CLIENT_KEY: f("cli-key.pem") } });
  expect(await runCli(["kv", "put", "via-cli", "v"], io)).toBe(0);
  expect(io.stdoutText()).toBe("Success! Data written to: via-cli\n");
  const flags = memoryIo({ env: {} });
  expect(await runCli(["kv", "get", "-http-addr", url, "-ca-file", f("ca.pem"), "-client-cert", f("cli.pem"), "-client-key", f("cli-key.pem"), "via-cli"], flags)).toBe(0);
  expect(flags.stdoutText()).toBe("v\n");
  // CONSUL_CAPATH: a folder of CA files.
  const { mkdir, copyFile } = await import("node:fs/promises");
  await mkdir(f("ca-dir"), { recursive: true });
  await copyFile(f("ca.pem"), join(f("ca-dir"), "agent-ca.pem"));
  const capath = memoryIo({ env: { CONSUL_HTTP_ADDR: url, CONSUL_CAPATH: f("ca-dir"), CONSUL_CLIENT_CERT: f("cli.pem"), CONSUL_CLIENT_KEY: f("cli-key.pem") } });
  expect(await runCli(["kv", "get", "via-cli"], capath)).toBe(0);
  expect(capath.stdoutText()).toBe("v\n");
  const without = memoryIo({ env: { CONSUL_HTTP_ADDR: url, CONSUL_CACERT: f("ca.pem") } });
  expect(await runCli(["kv", "get", "via-cli"], without)).toBe(1);
  expect(without.stderrText()).toStartWith("Error querying Consul agent: ");
  const unverified = memoryIo({ env: { CONSUL_HTTP_ADDR: url, CONSUL_CLIENT_CERT: f("cli.pem"), CONSUL_CLIENT_KEY: f("cli-key.pem") } });
  expect(await runCli(["kv", "get", "via-cli"], unverified)).toBe(1);
  const skip = memoryIo({ env: { CONSUL_HTTP_ADDR: url, CONSUL_HTTP_SSL_VERIFY: "false", CONSUL_CLIENT_CERT: f("cli.pem"), CONSUL_CLIENT_KEY: f("cli-key.pem") } });
  expect(await runCli(["kv", "get", "via-cli"], skip)).toBe(0);
}, 30_000);

test("the npm consul client talks to the HTTPS API with the CA file", async () => {
  const { readFileSync } = await import("node:fs");
  const agent = new HttpsAgent({ ca: readFileSync(f("ca.pem")), cert: readFileSync(f("cli.pem")), key: readFileSync(f("cli-key.pem")) });
  const consul = new Consul({ host: "127.0.0.1", port: serverPorts.https, secure: true, agent });
  await consul.kv.set("npm-tls", "yes");
  expect(((await consul.kv.get("npm-tls")) as { Value: string }).Value).toBe("yes");
  agent.destroy();
}, 20_000);

/** Random bytes that do not start with a TLS type byte (0x03, 0x07), so nothing waits for a handshake. */
function junk(n: number): Uint8Array {
  const b = crypto.getRandomValues(new Uint8Array(n));
  if (b[0] === 0x03 || b[0] === 0x07) b[0] = 0xff;
  return b;
}

/** Opens a connection, sends `bytes`, and resolves with how long until the server closed it (ms), or -1 if it stayed open 2 s. */
function cutOffAfter(bytes: Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    const s = connect(serverPorts.rpc, "127.0.0.1");
    let t0 = 0;
    const timer = setTimeout(() => {
      s.destroy();
      resolve(-1);
    }, 2000);
    s.on("connect", () => {
      t0 = performance.now();
      s.write(bytes);
    });
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve(performance.now() - t0);
    });
  });
}

test("plain text and random bytes to the TLS RPC port are cut off at once, without disturbing HTTP", async () => {
  expect(await cutOffAfter(RPC_MAGIC)).toBeGreaterThanOrEqual(0);
  expect(server.output()).toContain("Non-TLS connection attempted with VerifyIncoming set");
  for (let i = 0; i < 20; i++) {
    expect(await cutOffAfter(junk(64))).toBeGreaterThanOrEqual(0);
  }
  // HTTP p50 with and without a concurrent flood of junk connections.
  const p50 = async (n: number) => {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await (await fetch(`${server.base}/v1/kv/from-c1`)).arrayBuffer();
      times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b)[Math.floor(n / 2)]!;
  };
  const quiet = await p50(200);
  let flooding = true;
  const flood = (async () => {
    let n = 0;
    while (flooding) {
      await cutOffAfter(junk(1 + (n++ % 512)));
    }
    return n;
  })();
  const busy = await p50(200);
  flooding = false;
  const junkConnections = await flood;
  console.log(`HTTP GET p50: ${quiet.toFixed(2)} ms quiet, ${busy.toFixed(2)} ms during ${junkConnections} junk RPC connections (ratio ${(busy / quiet).toFixed(2)})`);
  expect(junkConnections).toBeGreaterThan(50);
  // A TLS byte followed by something that is not a TLS handshake fails at once.
  expect(await cutOffAfter(new TextEncoder().encode("\x03GET / HTTP/1.1\r\nHost: x\r\n\r\n"))).toBeGreaterThanOrEqual(0);
  await eventually("the failed handshake in the log", async () => (server.output().includes("TLS handshake failed") ? true : null), 3000);
  // Loose on purpose (shared machine): a stalled server would be seconds, not a few ms.
  expect(busy).toBeLessThan(quiet * 5 + 20);
}, 30_000);

test("SIGHUP and consulate reload swap the HTTPS certificate for new connections; a blocking query parked over HTTPS and the agent stay up", async () => {
  const serial = () =>
    spawnSync("sh", ["-c", `echo | openssl s_client -connect 127.0.0.1:${serverPorts.https} -CAfile ${f("ca.pem")} -cert ${f("cli.pem")} -key ${f("cli-key.pem")} 2>/dev/null | openssl x509 -noout -serial`], { encoding: "utf8" }).stdout.trim();
  const { readFileSync } = await import("node:fs");
  // A blocking query over HTTPS, parked before the reloads and answered after them.
  const { spawn } = await import("node:child_process");
  await fetch(`${server.base}/v1/kv/reload-watch`, { method: "PUT", body: "before" });
  const index = (await fetch(`${server.base}/v1/kv/reload-watch`)).headers.get("x-consul-index");
  const watch = spawn("curl", ["-s", "--cacert", f("ca.pem"), "--cert", f("cli.pem"), "--key", f("cli-key.pem"), `https://127.0.0.1:${serverPorts.https}/v1/kv/reload-watch?raw&index=${index}&wait=60s`], { stdio: ["ignore", "pipe", "ignore"] });
  let watched = "";
  watch.stdout.on("data", (d: Buffer) => (watched += d.toString()));
  const watchDone = new Promise<number | null>((r) => watch.once("exit", (code) => r(code)));
  const newServerCert = async () =>
    writePair("server", await generateCert({ caPem: readFileSync(f("ca.pem"), "utf8"), caKeyPem, name: "server.dc1.consul", days: 30, dnsNames: ["server.dc1.consul", "localhost"], ipAddresses: ["127.0.0.1"], extKeyUsage: ["serverAuth", "clientAuth"] }));

  const first = serial();
  expect(first).toMatch(/^serial=/);
  await newServerCert();
  server.child.kill("SIGHUP");
  const second = await eventually("the certificate after SIGHUP", async () => {
    const s = serial();
    return s !== first && s.startsWith("serial=") ? s : null;
  });
  await newServerCert();
  const io = memoryIo({ env: { CONSUL_HTTP_ADDR: server.base } });
  expect(await runCli(["reload"], io)).toBe(0);
  expect(io.stdoutText()).toContain("Configuration reload triggered");
  const third = serial();
  expect(third).toMatch(/^serial=/);
  expect(third).not.toBe(second);
  // The blocking query parked before both reloads is still there, and wakes on the write; the agent never went away.
  expect(watch.exitCode).toBeNull();
  await fetch(`${server.base}/v1/kv/reload-watch`, { method: "PUT", body: "after" });
  expect(await watchDone).toBe(0);
  expect(watched).toBe("after");
  expect(server.child.exitCode).toBeNull();
  expect((await fetch(`${server.base}/v1/status/leader`)).status).toBe(200);
}, 30_000);
