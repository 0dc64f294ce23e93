/**
 * bench/federation/rpc_path: where the time of one cross-datacenter RPC goes,
 * in one process (two servers on MemoryLog, each on its own nats-server,
 * linked as federation/ links them), against same-run baselines:
 *   - a KVS.Get answered locally (in-process) and in dc2 over the link,
 *     sequentially and at 32 concurrent callers (rate, and CPU per call of
 *     this process and both nats-servers: on a shared machine the wall-clock
 *     figures swing with everyone's load, CPU per call much less);
 *   - a bare NATS request/reply of the same request bytes on dc2's NATS (the
 *     floor under any NATS-carried RPC);
 *   - the codec: encoding the request and the reply, decoding both.
 *
 *   npx bun bench/federation/rpc_path.ts [sequential-calls (default 3000)]
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Federation } from "../../federation/mod.ts";
import { LINK_OPTIONS } from "../../federation/start.ts";
import { decodeReply, decodeRequest, encodeMessage } from "../../federation/wire.ts";
import { type NatsCluster, startNatsCluster } from "../../test/_nats.ts";
import { MemoryLog } from "../../src/log/mod.ts";
import type { RequestOptions } from "../../src/rpc/mod.ts";
import { Server } from "../../src/server/mod.ts";
import { cpuSeconds } from "../kv/procs.ts";

const N = Number(process.argv[2] ?? 3000);
interface Dc {
  nats: NatsCluster;
  server: Server;
  nc: NatsConnection;
  fed?: Federation;
}
const dcs: Record<string, Dc> = {};
const opts = (datacenter: string): RequestOptions => ({ datacenter, minIndex: 0, waitMs: 0, consistency: "default", maxStaleMs: 0 });
const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;

async function timeEach(n: number, once: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(300, n); i++) await once();
  const t = performance.now();
  for (let i = 0; i < n; i++) await once();
  return (performance.now() - t) / n;
}

/** Mean time of a synchronous step (no await between runs: an await would cost more than the step). */
function timeSync(n: number, once: () => unknown): number {
  for (let i = 0; i < Math.min(2000, n); i++) once();
  const t = performance.now();
  for (let i = 0; i < n; i++) once();
  return (performance.now() - t) / n;
}

/** Calls a second at 32 concurrent callers, and the CPU µs per call of this process and of both nats-servers. */
async function perSecond(ms: number, once: () => unknown): Promise<{ rate: number; cpuUs: number }> {
  const natsCpu = () => Object.values(dcs).reduce((a, dc) => a + cpuSeconds(dc.nats.nodes[0]!.child!.pid!), 0);
  const u0 = process.cpuUsage();
  const n0 = natsCpu();
  const end = performance.now() + ms;
  let n = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < end) {
        await once();
        n++;
      }
    }),
  );
  const u = process.cpuUsage(u0);
  return { rate: n / (ms / 1000), cpuUs: (u.user + u.system + (natsCpu() - n0) * 1e6) / n };
}

try {
  for (const name of ["dc1", "dc2"]) {
    const nats = await startNatsCluster({ size: 1, name: `bench-${name}` });
    const server = new Server({ datacenter: name, nodeName: `s-${name}`, nodeId: crypto.randomUUID(), advertiseAddr: "127.0.0.1", serverPort: 0, log: new MemoryLog() });
    await server.start();
    dcs[name] = { nats, server, nc: await connect({ servers: nats.urls }) };
  }
  // The links' own options (federation/start.ts).
  const connector = (urls: readonly string[]) => connect({ servers: [...urls], maxReconnectAttempts: -1, ...LINK_OPTIONS });
  for (const [name, dc] of Object.entries(dcs)) {
    const other = name === "dc1" ? "dc2" : "dc1";
    dc.fed = new Federation({ server: dc.server, primary: "dc1", nc: dc.nc, connector, staticUrls: { [other]: dcs[other]!.nats.urls }, wan: null });
  }
  const fed = dcs.dc1!.fed!;
  while (!fed.links.isUp("dc2")) await Bun.sleep(20);
  const rpc = fed.rpc;
  for (const dc of ["dc1", "dc2"]) await rpc.call("KVS.Apply", { Op: "set", Entry: { Key: "k", Value: btoa("v"), Flags: "0", Session: "", ModifyIndex: 0 } }, opts(dc));
  const get = (dc: string) => () => rpc.call("KVS.Get", { Key: "k" }, opts(dc));

  const local = await timeEach(N, get("dc1"));
  const cross = await timeEach(N, get("dc2"));
  const request = encodeMessage({ i: 0, m: "KVS.Get", a: { Key: "k" }, o: opts("dc2") });
  const echo = dcs.dc2!.nc.subscribe("bench.echo", { callback: (_e, m) => void m.respond(m.data) });
  const asker = await connect({ servers: dcs.dc2!.nats.urls, noAsyncTraces: true });
  const bare = await timeEach(N, () => asker.request("bench.echo", request));
  const reply = await rpc.call("KVS.Get", { Key: "k" }, opts("dc1"));
  const replyBytes = encodeMessage({ i: 0, r: reply });
  const C = 100_000;
  const encReq = timeSync(C, () => encodeMessage({ i: 0, m: "KVS.Get", a: { Key: "k" }, o: opts("dc2") }));
  const decReq = timeSync(C, () => decodeRequest(request.subarray(4)));
  const encRep = timeSync(C, () => encodeMessage({ i: 0, r: reply }));
  const decRep = timeSync(C, () => decodeReply(replyBytes.subarray(4)));
  const tLocal = await perSecond(2000, get("dc1"));
  const tCross = await perSecond(2000, get("dc2"));
  const tBare = await perSecond(2000, () => asker.request("bench.echo", request));
  echo.unsubscribe();
  await asker.close();

  console.log(`bench/federation/rpc_path (bun ${Bun.version}, ${N} sequential calls each; in one process)`);
  console.log(`KVS.Get in-process (local)       ${us(local)}`);
  console.log(`KVS.Get in dc2 over the link     ${us(cross)}`);
  console.log(`bare NATS request/reply, same bytes ${us(bare)}   (cross = ${(cross / bare).toFixed(2)} x bare; ${us(cross - bare)} above it)`);
  console.log(`codec: encode request ${us(encReq)}, decode request ${us(decReq)}, encode reply ${us(encRep)}, decode reply ${us(decRep)} (${request.length} + ${replyBytes.length} bytes)`);
  const t = (x: { rate: number; cpuUs: number }) => `${x.rate.toFixed(0)}/s (${x.cpuUs.toFixed(1)} µs CPU a call)`;
  console.log(`c=32: local ${t(tLocal)}, cross ${t(tCross)}, bare NATS ${t(tBare)}; cross/bare ${(tCross.rate / tBare.rate).toFixed(2)} by rate, ${(tBare.cpuUs / tCross.cpuUs).toFixed(2)} by CPU`);
} finally {
  for (const dc of Object.values(dcs)) {
    await dc.fed?.stop().catch(() => {});
    await dc.nc.close().catch(() => {});
    await dc.server.stop().catch(() => {});
    await dc.nats.stop();
  }
}
