/**
 * Leaf signing cost of the built-in CA against a WebCrypto floor measured in
 * the same run.
 *
 *   server sign   ConnectCA.Sign on a server (MemoryLog): parse the CSR, check
 *                 its signature, check the SPIFFE ID, take a serial (a log
 *                 entry), make and sign the certificate, read it back.
 *   floor         only the two ECDSA operations the server cannot avoid: one
 *                 verify (the CSR) and one sign (the certificate), over
 *                 buffers of the same sizes.
 *   agent issue   what an agent does for a new leaf: key pair, CSR, the sign
 *                 above, SEC1 export of the key.
 *
 *     npx bun bench/connect/ca_sign.ts [n] [concurrency]
 *
 * Run it pinned (`taskset -c 0`) and repeat: the box is shared and noisy.
 */
import { LeafCerts } from "../../src/agent/leaf_certs.ts";
import { createCsr, generateKeyPair, serviceId, spiffeUri } from "../../src/connect/mod.ts";
import { MemoryLog } from "../../src/log/mod.ts";
import { inProcessRpc } from "../../src/rpc/mod.ts";
import { args } from "../../src/runtime/process.ts";
import { Server } from "../../src/server/mod.ts";

const [nArg, cArg] = args();
const N = Number(nArg ?? "400");
const CONCURRENCY = Number(cArg ?? "8");

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function measure(label: string, n: number, workers: number, op: (i: number) => Promise<unknown>): Promise<{ perSec: number; cpuUsPerOp: number }> {
  let next = 0;
  const cpu0 = cpuMs();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let i = next++; i < n; i = next++) await op(i);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpuUsPerOp = ((cpuMs() - cpu0) * 1000) / n;
  const perSec = n / seconds;
  console.log(`${label.padEnd(34)} ${perSec.toFixed(0).padStart(7)}/s   ${((seconds * 1e6) / n).toFixed(0).padStart(6)} us/op wall   ${cpuUsPerOp.toFixed(0).padStart(6)} us/op CPU`);
  return { perSec, cpuUsPerOp };
}

const server = new Server({
  datacenter: "dc1",
  nodeName: "bench",
  nodeId: "5bd7bb38-9e23-4f5a-8c2b-1d8a7b3f7e10",
  advertiseAddr: "127.0.0.1",
  serverPort: 8300,
  log: new MemoryLog(),
  connect: { clusterId: "11111111-2222-3333-4444-555555555555", caConfig: { CSRMaxPerSecond: 0 } },
});
await server.start();
const td = "11111111-2222-3333-4444-555555555555.consul";

console.log(`preparing ${N} CSRs ...`);
const csrs: string[] = [];
for (let i = 0; i < N; i++) csrs.push(await createCsr({ uri: spiffeUri(serviceId(td, "dc1", `svc${i}`)), keys: await generateKeyPair() }));

// Floor inputs: a CA key, a CSR-sized signed message, a certificate-sized TBS.
const ca = await generateKeyPair();
const leafKeys = await Promise.all(Array.from({ length: 16 }, () => generateKeyPair()));
const csrBody = new Uint8Array(220).fill(7);
const tbs = new Uint8Array(420).fill(9);
const ecdsa = { name: "ECDSA", hash: "SHA-256" } as const;
const csrSigs = await Promise.all(leafKeys.map((k) => crypto.subtle.sign(ecdsa, k.privateKey, csrBody)));

console.log(`\nconcurrency 1, ${N} operations each (bun ${process.versions.bun ?? "-"}, node ${process.versions.node})`);
const floor1 = await measure("floor (verify + sign)", N, 1, async (i) => {
  await crypto.subtle.verify(ecdsa, leafKeys[i % 16]!.publicKey, csrSigs[i % 16]!, csrBody);
  await crypto.subtle.sign(ecdsa, ca.privateKey, tbs);
});
const sign1 = await measure("server sign (ConnectCA.Sign)", N, 1, (i) => server.ca.sign(csrs[i]!));

console.log(`\nconcurrency ${CONCURRENCY}`);
const floorC = await measure("floor (verify + sign)", N, CONCURRENCY, async (i) => {
  await crypto.subtle.verify(ecdsa, leafKeys[i % 16]!.publicKey, csrSigs[i % 16]!, csrBody);
  await crypto.subtle.sign(ecdsa, ca.privateKey, tbs);
});
const signC = await measure("server sign (ConnectCA.Sign)", N, CONCURRENCY, (i) => server.ca.sign(csrs[i]!));

const leaves = new LeafCerts({ rpc: inProcessRpc(server), datacenter: "dc1", clock: server.clock, random: Math.random });
const issue = await measure("agent issue (key, CSR, sign)", Math.min(N, 200), 1, (i) => leaves.get(`agent${i}`, { minIndex: 0, waitMs: 0 }));
const cached = await measure("agent cached leaf read", N * 10, 1, () => leaves.get("agent0", { minIndex: 0, waitMs: 0 }));
leaves.stop();
await server.stop();

console.log("\nratios (same run)");
console.log(`server sign / floor, c=1:           ${(sign1.perSec / floor1.perSec).toFixed(2)} (CPU per op ${(sign1.cpuUsPerOp / floor1.cpuUsPerOp).toFixed(2)}x the floor's)`);
console.log(`server sign / floor, c=${CONCURRENCY}:           ${(signC.perSec / floorC.perSec).toFixed(2)}`);
console.log(`agent issue / server sign, c=1:     ${(issue.perSec / sign1.perSec).toFixed(2)}`);
console.log(`cached read / agent issue:          ${(cached.perSec / issue.perSec).toFixed(0)}x`);
console.log(`CSR limit headroom: default CSRMaxPerSecond 50 is ${((50 / sign1.perSec) * 100).toFixed(1)}% of one core's signing rate`);
