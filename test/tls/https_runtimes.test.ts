/**
 * The HTTPS listener on each runtime the agent runs on (Bun.serve on Bun,
 * node:https on Node and Deno) with `tls.https.tls_min_version = TLSv1_3`:
 * curl with the CA gets answers over TLS 1.3 and `openssl s_client -tls1_2`
 * is refused. Bun.serve has no minVersion option (the floor becomes OpenSSL
 * "no TLSv1.x" options) and took no cipher list before, so on Bun a TLS 1.2
 * floor with one suite in `tls_cipher_suites` is checked too: only that
 * suite is taken.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type AgentProcess, freePort, type Runtime, startAgent, tempDir } from "../e2e/_agent.ts";
import { generateCa, generateCert } from "../../src/tls/mod.ts";

const RUNTIMES: readonly Runtime[] = ["bun", "deno", "node"];
let dir: { path: string; remove(): Promise<void> };
const agents: AgentProcess[] = [];
/** Per runtime: the HTTPS port of the TLS 1.3-only agent. */
const ports = new Map<Runtime, number>();
/** The HTTPS port of the Bun agent with a TLS 1.2 floor and one cipher suite. */
let bunV12 = 0;
const f = (name: string) => join(dir.path, name);

async function agent(runtime: Runtime, name: string, https: Record<string, unknown>): Promise<number> {
  const port = await freePort();
  const config = {
    tls: { defaults: { ca_file: f("ca.pem"), cert_file: f("server.pem"), key_file: f("server-key.pem") }, https },
    ports: { https: port },
  };
  await writeFile(f(`${name}.json`), JSON.stringify(config));
  agents.push(await startAgent(["-dev", "-node", name, "-config-file", f(`${name}.json`)], { runtime }));
  return port;
}

beforeAll(async () => {
  dir = await tempDir("tls-runtimes-");
  const ca = await generateCa({ days: 30 });
  await writeFile(f("ca.pem"), ca.certPem);
  const server = await generateCert({ caPem: ca.certPem, caKeyPem: ca.keyPem, name: "server.dc1.consul", days: 30, dnsNames: ["server.dc1.consul", "localhost"], ipAddresses: ["127.0.0.1"], extKeyUsage: ["serverAuth", "clientAuth"] });
  await writeFile(f("server.pem"), server.certPem);
  await writeFile(f("server-key.pem"), server.keyPem);
  await Promise.all([
    ...RUNTIMES.map(async (runtime) => ports.set(runtime, await agent(runtime, `${runtime}-13`, { tls_min_version: "TLSv1_3" }))),
    (async () => (bunV12 = await agent("bun", "bun-12", { tls_min_version: "TLSv1_2", tls_cipher_suites: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" })))(),
  ]);
}, 150_000);
afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await dir?.remove();
});

/** openssl s_client's handshake outcome: the protocol and cipher it settled on, or "" when refused. */
function handshake(port: number, ...opts: string[]): string {
  const r = spawnSync("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-CAfile", f("ca.pem"), ...opts], { input: "", encoding: "utf8", timeout: 15_000 });
  const m = /New, (TLSv[\d.]+), Cipher is (\S+)/.exec(r.stdout);
  return m ? `${m[1]} ${m[2]}` : "";
}

test("tls_min_version holds on the HTTPS listener under Bun, Deno and Node", () => {
  for (const runtime of RUNTIMES) {
    const port = ports.get(runtime)!;
    const curl = spawnSync("curl", ["-s", "-S", "--cacert", f("ca.pem"), "-w", " %{ssl_verify_result}", `https://127.0.0.1:${port}/v1/agent/self`], { encoding: "utf8", timeout: 15_000 });
    const tls13 = handshake(port, "-tls1_3");
    const tls12 = handshake(port, "-tls1_2");
    console.log(`${runtime}: TLS 1.3 floor: -tls1_3 -> "${tls13}", -tls1_2 -> "${tls12}"`);
    expect(curl.stdout).toMatch(new RegExp(`"NodeName":\\s*"${runtime}-13"`));
    expect(curl.stdout.endsWith(" 0")).toBe(true);
    expect(tls13).toStartWith("TLSv1.3 ");
    expect(tls12).toBe("");
  }
}, 60_000);

test("tls_cipher_suites holds on Bun's HTTPS listener", () => {
  const listed = handshake(bunV12, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384");
  const unlisted = handshake(bunV12, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256");
  console.log(`bun: TLS 1.2 floor with one suite: listed -> "${listed}", unlisted -> "${unlisted}"`);
  expect(listed).toBe("TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384");
  expect(unlisted).toBe("");
});
