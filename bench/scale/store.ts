/**
 * The scale bench's reads measured in-process, in CPU time (process.cpuUsage),
 * which a loaded machine disturbs far less than wall-clock HTTP timings: a
 * state store filled to each size with the same registrations as run.ts,
 * then the DNS A (UDP) and SRV (TCP) answers through the DNS handler, and
 * the state reads behind catalog/services, catalog/service and
 * health/service with their JSON encoding, next to the JSON encoding alone.
 * Give another checkout (same node_modules) to compare before and after.
 *
 *     bun bench/scale/store.ts [tree=.] [sizes=100,10000,100000]
 */
import { resolve } from "node:path";

type StateMod = typeof import("../../src/state/mod.ts");
type DnsMod = typeof import("../../src/dns/mod.ts");
type CatalogRead = StateMod["catalogRead"] & { serviceTags?: (t: unknown) => { value: Map<string, string[]> } };

const root = resolve(process.argv[2] ?? ".");
const sizes = (process.argv[3] ?? "100,10000,100000").split(",").map(Number);
const { StateStore, MessageType, catalogRead: read } = (await import(`${root}/src/state/mod.ts`)) as StateMod;
const catalogRead = read as CatalogRead;
const { handleDns, resolveDnsConfig, StateDnsLookup } = (await import(`${root}/src/dns/mod.ts`)) as DnsMod;
const packet = (await import("dns-packet")).default;
const store = new StateStore();
let index = 0;
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
function reg(i: number): Parameters<InstanceType<typeof StateStore>["apply"]>[1] {
  const n = Math.floor(i / 10), k = i % 10;
  const node = `node-${String(n).padStart(5, "0")}`;
  return { Type: MessageType.Register, Now: 0, Req: { ID: "", Node: node, Address: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, Datacenter: "dc1", TaggedAddresses: {}, NodeMeta: {}, SkipNodeUpdate: false,
    Service: { Kind: "", ID: `svc${k}-${n}`, Service: `svc${k}`, Tags: ["v1", `rack-${n % 8}`], Address: "", TaggedAddresses: {}, Meta: {}, Port: 20000 + k, SocketPath: "", Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {}, Locality: null },
    Checks: [{ Node: node, CheckID: `service:svc${k}-${n}`, Name: "alive", Status: "passing", Notes: "", Output: "", ServiceID: `svc${k}-${n}`, ServiceName: `svc${k}`, ServiceTags: [], Type: "", Interval: "", Timeout: "", ExposedPort: 0, Definition: {} }] } };
}
const config = resolveDnsConfig({ datacenter: "dc1", nodeName: "s", options: {} });
const lookup = new StateDnsLookup(store, { datacenter: "dc1", selfNode: "s" });
const q = (name: string, type: "A" | "SRV") => new Uint8Array(packet.encode({ type: "query", id: 1, flags: packet.RECURSION_DESIRED, questions: [{ type, name, class: "IN" }] }));
const qa = q("svc3.service.consul", "A"), qs = q("svc3.service.consul", "SRV");
async function timeIt(f: () => unknown, reps: number): Promise<number> { const ts: number[] = []; for (let i = 0; i < reps; i++) { const c0 = cpu(); await f(); ts.push(cpu() - c0); } ts.sort((a, b) => a - b); return ts[Math.floor(ts.length / 2)]!; }
function services(): Record<string, string[]> {
  if (catalogRead.serviceTags) return Object.fromEntries(catalogRead.serviceTags(store.t).value);
  const out: Record<string, string[]> = {};
  for (const [name, rows] of catalogRead.listServices(store.t).value) { const tags = new Set<string>(); for (const r of rows) for (const t of r.Service.Tags) tags.add(t); out[name] = [...tags]; }
  return out;
}
Bun.gc(true);
const heap0 = process.memoryUsage().heapUsed;
let have = 0;
console.log(`root ${root}`);
console.log("CPU ms per read (median); heap per instance after a full GC\nsize | apply/s (CPU) | heap B/inst | DNS A udp ms | DNS SRV tcp ms (answers) | catalog/services ms | catalog/service ms | health/service ms | JSON encode health ms");
for (const size of sizes) {
  const c0 = cpu();
  for (let i = have; i < size; i++) store.apply(++index, reg(i));
  const rate = (size - have) / ((cpu() - c0) / 1000);
  have = size;
  Bun.gc(true);
  const heap = (process.memoryUsage().heapUsed - heap0) / size;
  const ctx = (transport: "udp" | "tcp") => ({ config, lookup, transport, recursor: null, now: () => 0 });
  const reps = size >= 100000 ? 7 : 21;
  await handleDns(qa, ctx("udp"));
  const dnsA = await timeIt(() => handleDns(qa, ctx("udp")), reps * 3);
  let srvN = 0;
  const dnsS = await timeIt(async () => { const r = await handleDns(qs, ctx("tcp")); srvN = r ? (packet.decode(Buffer.from(r)).answers?.length ?? 0) : 0; }, reps);
  const cs = await timeIt(() => JSON.stringify(services()), reps);
  const csv = await timeIt(() => JSON.stringify(catalogRead.serviceNodes(store.t, "svc5").value), reps);
  const hs = await timeIt(() => JSON.stringify(catalogRead.checkServiceNodes(store.t, "svc3").value), reps);
  const val = catalogRead.checkServiceNodes(store.t, "svc3").value;
  const enc = await timeIt(() => JSON.stringify(val), reps);
  console.log(`${size} | ${Math.round(rate)} | ${Math.round(heap)} | ${dnsA.toFixed(3)} | ${dnsS.toFixed(2)} (${srvN}) | ${cs.toFixed(3)} | ${csv.toFixed(2)} | ${hs.toFixed(2)} | ${enc.toFixed(2)}`);
}
