/**
 * examples/federation/run.sh with TLS=1, two datacenters: every link is TLS
 * (HTTPS API only, RPC port with verify_incoming, NATS requiring client
 * certificates for the log and the federation links) and gossip is encrypted;
 * a write and a read cross datacenters over it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as natsConnect } from "@nats-io/transport-node";
import { RPC_MAGIC } from "../../src/rpc/codec.ts";
import { freeBase, RUN_SH, sh } from "./_run_sh.ts";

let baseDir = "";
let portBase = 0;
let ca = "";
const https: Record<string, string> = {};
const run = (...args: string[]) => sh("bash", [RUN_SH, ...args], { BASE_DIR: baseDir, PORT_BASE: String(portBase), DATACENTERS: "dc1 dc2", TLS: "1" });

/** curl over HTTPS with the agent CA: [HTTP status, body]. */
function curl(dc: string, path: string, ...args: string[]): [number, string] {
  const r = spawnSync("curl", ["-s", "-S", "--max-time", "10", "--cacert", ca, "-w", "\n%{http_code}", ...args, `https://${https[dc]}${path}`], { encoding: "utf8" });
  const at = r.stdout.lastIndexOf("\n");
  return [Number(r.stdout.slice(at + 1)), r.stdout.slice(0, at)];
}

beforeAll(async () => {
  baseDir = await mkdtemp(join(tmpdir(), "consulate-fed-tls-"));
  portBase = await freeBase(2);
  const up = await run("up");
  if (up.code !== 0) throw new Error(`run.sh up (TLS=1) failed:\n${up.out}`);
  for (const line of up.out.split("\n")) {
    const m = /^DC=(dc\d) HTTPS=([\d.]+:\d+) DNS=[\d.]+:\d+ CA=(\S+)$/.exec(line.trim());
    if (m) {
      https[m[1]!] = m[2]!;
      ca = m[3]!;
    }
  }
  expect(Object.keys(https).sort()).toEqual(["dc1", "dc2"]);
}, 120_000);

afterAll(async () => {
  const down = await run("down");
  if (down.code !== 0) console.error(down.out);
  await rm(baseDir, { recursive: true, force: true });
}, 30_000);

const log = (dc: string) => readFileSync(join(baseDir, dc, "server.log"), "utf8");

test("TLS on every link: a cross-DC write and read over HTTPS, TLS RPC and TLS NATS links; plain text refused on each; gossip encrypted", async () => {
  // Cross-DC through the TLS links: written in dc2 by way of dc1, read in dc2, and read back through dc1.
  expect(curl("dc1", "/v1/kv/over-tls?dc=dc2", "-X", "PUT", "-d", "secret")).toEqual([200, "true"]);
  expect(curl("dc2", "/v1/kv/over-tls?raw")).toEqual([200, "secret"]);
  expect(curl("dc1", "/v1/kv/over-tls?dc=dc2&raw")).toEqual([200, "secret"]);
  expect(curl("dc1", "/v1/kv/over-tls?raw")[0]).toBe(404);
  expect(JSON.parse(curl("dc2", "/v1/catalog/datacenters")[1]).sort()).toEqual(["dc1", "dc2"]);

  // The API is HTTPS only: plain HTTP on the port gets no answer.
  const plain = spawnSync("curl", ["-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", `http://${https.dc1}/v1/status/leader`], { encoding: "utf8" });
  expect(plain.stdout).toBe("000");

  // Each server advertises its NATS as tls:// to the other datacenter (the federation links dial these).
  const wan = JSON.parse(curl("dc1", "/v1/agent/members?wan")[1]) as { Name: string; Tags: Record<string, string> }[];
  expect(wan.map((m) => m.Name).sort()).toEqual(["srv-dc1.dc1", "srv-dc2.dc2"]);
  for (const m of wan) expect(m.Tags.fed_nats).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);

  // NATS asks for TLS and a client certificate: a client with only the CA is refused.
  const natsUrl = wan.find((m) => m.Name === "srv-dc2.dc2")!.Tags.fed_nats!;
  const refused = await natsConnect({ servers: natsUrl, tls: { caFile: ca }, timeout: 3000, reconnect: false }).then(
    async (nc) => {
      await nc.close();
      return "connected";
    },
    (err: Error) => err.message,
  );
  expect(refused).not.toBe("connected");
  const serverCert = { caFile: ca, certFile: join(baseDir, "tls", "dc1-server-consul-0.pem"), keyFile: join(baseDir, "tls", "dc1-server-consul-0-key.pem") };
  const ok = await natsConnect({ servers: natsUrl, tls: serverCert, timeout: 3000, reconnect: false });
  await ok.close();

  // The RPC port refuses plain text at the first byte.
  const rpcPort = portBase + 12;
  await new Promise<void>((resolve) => {
    const s = tcpConnect(rpcPort, "127.0.0.1", () => s.write(RPC_MAGIC));
    s.on("error", () => {});
    s.on("close", () => resolve());
  });
  expect(log("dc1")).toContain("Non-TLS connection attempted with VerifyIncoming set");

  // Gossip (LAN and WAN) carries the encryption key.
  const keyring = JSON.parse(curl("dc1", "/v1/operator/keyring")[1]) as { WAN: boolean; Keys: Record<string, number> }[];
  const key = readFileSync(join(baseDir, "tls", "gossip.key"), "utf8").trim();
  expect(keyring.map((k) => k.WAN).sort()).toEqual([false, true]);
  for (const k of keyring) expect(Object.keys(k.Keys)).toEqual([key]);
  for (const dc of ["dc1", "dc2"]) expect(log(dc)).not.toMatch(/TLS handshake failed|client certificate refused/);
}, 30_000);
