/**
 * The scale bench's two large HTTP reads measured in-process, in CPU time:
 * a server filled with the same registrations as run.ts (10,000 nodes x 10
 * services at 100,000), the app answering `GET /v1/catalog/service/svc5` and
 * `GET /v1/health/service/svc3?passing` as a -dev agent does (indented) and
 * compact, next to JSON.stringify of the parsed answer in the same process
 * (run.ts's reference). Give another checkout (same node_modules) to A/B:
 * the two trees' reads alternate.
 *
 *     bun bench/scale/http_reads.ts [size=100000] [rounds=9] [tree...]
 *     RUNTIME=node bench/scale/http_reads.sh [size] [rounds] [tree...]
 */
import { resolve } from "node:path";

type HttpMod = typeof import("../../src/http/mod.ts");
type ServerMod = typeof import("../../src/server/mod.ts");
type LogMod = typeof import("../../src/log/mod.ts");
type RpcMod = typeof import("../../src/rpc/mod.ts");
type StateMod = typeof import("../../src/state/mod.ts");

const argv = process.argv.slice(2);
const size = Number(argv[0] ?? "100000");
const rounds = Number(argv[1] ?? "9");
const trees = argv.length > 2 ? argv.slice(2).map((t) => resolve(t)) : [resolve(import.meta.dirname ?? ".", "../..")];

const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function registration(i: number, MessageType: StateMod["MessageType"]) {
  const n = Math.floor(i / 10), k = i % 10;
  const node = `node-${String(n).padStart(5, "0")}`;
  return { Type: MessageType.Register, Now: 0, Req: { ID: "", Node: node, Address: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, Datacenter: "dc1", TaggedAddresses: {}, NodeMeta: {}, SkipNodeUpdate: false,
    Service: { Kind: "", ID: `svc${k}-${n}`, Service: `svc${k}`, Tags: ["v1", `rack-${n % 8}`], Address: "", TaggedAddresses: {}, Meta: {}, Port: 20000 + k, SocketPath: "", Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {}, Locality: null },
    Checks: [{ Node: node, CheckID: `service:svc${k}-${n}`, Name: `svc${k} alive`, Status: "passing", Notes: "", Output: "", ServiceID: `svc${k}-${n}`, ServiceName: `svc${k}`, ServiceTags: [], Type: "", Interval: "", Timeout: "", ExposedPort: 0, Definition: {} }] } } as const;
}

interface Tree {
  readonly root: string;
  /** A -dev agent's app (indented answers) and a plain one (compact). */
  readonly apps: { readonly dev: App; readonly plain: App };
}

type App = { request(url: string): Response | Promise<Response> };

/** What a tree offers the bench: its own sources (Bun), or one bundle of them (Node; see http_reads.sh). */
interface Mods {
  readonly createApp: HttpMod["createApp"];
  readonly Server: ServerMod["Server"];
  readonly MemoryLog: LogMod["MemoryLog"];
  readonly inProcessRpc: RpcMod["inProcessRpc"];
  readonly MessageType: StateMod["MessageType"];
}

async function mods(root: string): Promise<Mods> {
  if (root.endsWith(".mjs")) return (await import(root)) as Mods;
  return {
    ...((await import(`${root}/src/http/mod.ts`)) as HttpMod),
    ...((await import(`${root}/src/server/mod.ts`)) as ServerMod),
    ...((await import(`${root}/src/log/mod.ts`)) as LogMod),
    ...((await import(`${root}/src/rpc/mod.ts`)) as RpcMod),
    ...((await import(`${root}/src/state/mod.ts`)) as StateMod),
  };
}

async function load(root: string): Promise<Tree> {
  const { createApp, Server, MemoryLog, inProcessRpc, MessageType } = await mods(root);
  const server = new Server({ datacenter: "dc1", nodeName: "scale-agent", nodeId: "5bd7bb38-9e23-4f5a-8c2b-1d8a7b3f7e10", advertiseAddr: "127.0.0.1", serverPort: 8300, log: new MemoryLog() });
  await server.start();
  let index = server.state.lastApplied + 1000;
  for (let i = 0; i < size; i++) server.state.apply(++index, registration(i, MessageType) as never);
  const app = (devMode: boolean) => createApp({
    server, rpc: inProcessRpc(server),
    agent: { nodeName: "scale-agent", nodeId: "x", datacenter: "dc1", primaryDatacenter: "dc1", advertiseAddr: "127.0.0.1", bindAddr: "127.0.0.1", serverPort: 8300, serfLanPort: 8301, httpPort: () => 8500, server: true, version: "1.21.0", revision: "bench", startedAt: Date.now(), devMode },
    limits: { kvMaxValueSize: 512 * 1024, txnMaxReqLen: 512 * 1024, txnMaxOps: 128 },
    authorizer: { authorize: () => true },
  });
  return { root, apps: { dev: app(true), plain: app(false) } };
}

const loaded: Tree[] = [];
for (const root of trees) loaded.push(await load(root));
const reads = [
  ["dev", "/v1/catalog/service/svc5"],
  ["dev", "/v1/health/service/svc3?passing"],
  ["plain", "/v1/catalog/service/svc5"],
  ["plain", "/v1/health/service/svc3?passing"],
] as const;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`in-process reads at ${size} instances, CPU ms (median of ${rounds}), load ${(await import("node:fs")).readFileSync("/proc/loadavg", "utf8").trim()}`);
for (const [kind, path] of reads) {
  const times = loaded.map(() => [] as number[]);
  const enc: number[] = [];
  let value: unknown = null;
  let indent = 0;
  for (let r = 0; r < rounds; r++) {
    for (let t = 0; t < loaded.length; t++) {
      const c0 = cpu();
      const res = await loaded[t]!.apps[kind].request(`http://bench${path}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      times[t]!.push(cpu() - c0);
      if (value === null) {
        const text = new TextDecoder().decode(bytes);
        value = JSON.parse(text);
        indent = /^[[{]\n( +)/.exec(text)?.[1]?.length ?? 0;
      }
    }
    const c0 = cpu();
    if (indent > 0) JSON.stringify(value, null, indent);
    else JSON.stringify(value);
    enc.push(cpu() - c0);
  }
  const e = median(enc);
  console.log(`${kind} ${path}  encode ${e.toFixed(1)}  ` + loaded.map((t, i) => `${i === 0 ? "this" : `tree${i}`}: ${median(times[i]!).toFixed(1)} (x${(median(times[i]!) / e).toFixed(2)})`).join("  "));
}
process.exit(0);
