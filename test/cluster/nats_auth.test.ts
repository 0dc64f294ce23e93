/**
 * A server agent reaching NATS over TLS with a username and password, from
 * the `nats` block of its config file; wrong credentials or an unknown CA
 * stop it at start with a message that says what failed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type AgentProcess, startAgent, tempDir } from "../e2e/_agent.ts";
import { startNatsCluster, type NatsCluster } from "../_nats.ts";
import { http } from "./_cluster.ts";

let dir: { path: string; remove(): Promise<void> };
let nats: NatsCluster;
const agents: AgentProcess[] = [];

function openssl(args: string[]): void {
  const r = spawnSync("openssl", args, { cwd: dir.path, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr}`);
}

beforeAll(async () => {
  dir = await tempDir("consulate-nats-tls-");
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "1", "-subj", "/CN=test-ca"]);
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server-key.pem", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
  await writeFile(join(dir.path, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "san.ext"]);
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "other-key.pem", "-out", "other-ca.pem", "-days", "1", "-subj", "/CN=other-ca"]);
  nats = await startNatsCluster({
    size: 1,
    scheme: "tls",
    extraConfig: [
      `tls { cert_file: "${join(dir.path, "server.pem")}", key_file: "${join(dir.path, "server-key.pem")}" }`,
      `authorization { user: consulate, password: "s3cret" }`,
    ].join("\n"),
    clientOptions: { user: "consulate", pass: "s3cret", tls: { caFile: join(dir.path, "ca.pem") } },
  });
}, 30_000);

afterAll(async () => {
  for (const a of agents) await a.kill();
  await nats?.stop();
  await dir?.remove();
});

async function configWith(name: string, nats: Record<string, unknown>): Promise<string> {
  const file = join(dir.path, `${name}.json`);
  await writeFile(file, JSON.stringify({ nats }));
  return file;
}

function agentArgs(name: string, config: string): string[] {
  return ["-server", "-bootstrap-expect", "1", "-node", name, "-data-dir", join(dir.path, name), "-config-file", config];
}

describe("NATS over TLS with credentials", () => {
  test("the agent connects with the CA, user and password of its nats block and serves its cluster", async () => {
    const config = await configWith("good", {
      urls: [nats.urls[0]],
      tls: { ca_file: join(dir.path, "ca.pem") },
      user: "consulate",
      password: "s3cret",
      replicas: 1,
      lease_ttl: "1s",
    });
    const agent = await startAgent(agentArgs("good", config));
    agents.push(agent);
    expect(agent.output()).toContain("Storage: JetStream (NATS tls://127.0.0.1:");
    expect(await (await http(`${agent.base}/v1/kv/secure`, { method: "PUT", body: "yes" })).text()).toBe("true");
    expect(await (await http(`${agent.base}/v1/kv/secure?raw&consistent`)).text()).toBe("yes");
    const leader = async () => (await (await http(`${agent.base}/v1/status/leader`)).json()) as string;
    const deadline = Date.now() + 10_000;
    while ((await leader()) === "" && Date.now() < deadline) await Bun.sleep(50);
    expect(await leader()).toMatch(/^127\.0\.0\.1:\d+$/);
  }, 30_000);

  test("a wrong password or an unknown CA stops the agent at start, saying so", async () => {
    const wrongPassword = await configWith("badpass", { urls: [nats.urls[0]], tls: { ca_file: join(dir.path, "ca.pem") }, user: "consulate", password: "nope", replicas: 1 });
    const err1 = await startAgent(agentArgs("badpass", wrongPassword)).then(
      (a) => {
        agents.push(a);
        return "";
      },
      (e: Error) => e.message,
    );
    expect(err1).toContain("Cannot connect to NATS");
    expect(err1.toLowerCase()).toContain("authorization");

    const unknownCa = await configWith("badca", { urls: [nats.urls[0]], tls: { ca_file: join(dir.path, "other-ca.pem") }, user: "consulate", password: "s3cret", replicas: 1 });
    const err2 = await startAgent(agentArgs("badca", unknownCa)).then(
      (a) => {
        agents.push(a);
        return "";
      },
      (e: Error) => e.message,
    );
    expect(err2).toContain("Cannot connect to NATS");
  }, 60_000);
});
