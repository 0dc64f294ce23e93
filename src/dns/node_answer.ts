/**
 * Answers about nodes rather than services: `<node>.node` (address, CNAME
 * for a hostname, node meta as TXT), reverse lookups (PTR) and the domain's
 * name servers (NS with glue), following Consul's agent/dns.go.
 */
import type { Rr } from "./message.ts";
import { ipFromArpa, ipToHex, parseIp } from "./names.ts";
import { answer, type BuilderDeps, type CnameResolver, fqdnOf, MAX_RECURSION_LEVEL, NODATA, nodeFqdn, NXDOMAIN, type Outcome, shuffle } from "./outcome.ts";
import { acceptFor, addressRecord, healthy, nodeMetaTxt, translateNodeAddress } from "./records.ts";
import { RType } from "./wire.ts";
import type { Node } from "../structs/catalog.ts";

/** A node: its address (CNAME for a hostname) and its meta as TXT. */
export function nodeAnswer(d: BuilderDeps, resolver: CnameResolver, dc: string, name: string, qName: string, qtype: number, level: number): Outcome {
  const node = d.lookup.node(dc, name);
  if (!node) return NXDOMAIN;
  if (qtype !== RType.ANY && qtype !== RType.A && qtype !== RType.AAAA && qtype !== RType.TXT) return NODATA;
  const cfg = d.config;
  const ttl = Math.floor(cfg.nodeTtlMs / 1000);
  const ans: Rr[] = qtype === RType.TXT ? [] : nodeRecords(d, resolver, node, qtype, qName, ttl, level);
  const extra: Rr[] = [];
  if (cfg.nodeMetaTxt || qtype === RType.TXT || qtype === RType.ANY) {
    const metas = nodeMetaTxt(qName, node, ttl);
    if (qtype === RType.TXT || qtype === RType.ANY) ans.push(...metas);
    else extra.push(...metas);
  }
  return answer(ans, extra);
}

/** makeRecordFromNode. */
export function nodeRecords(d: BuilderDeps, resolver: CnameResolver, node: Node, qtype: number, qName: string, ttl: number, level: number): Rr[] {
  const addr = translateNodeAddress(d.config, node.Datacenter, node, acceptFor(qtype));
  if (addr === "") return [];
  const ip = parseIp(addr);
  if (!ip) {
    const target = fqdnOf(node.Address);
    return [{ type: RType.CNAME, name: qName, ttl, target }, ...resolver.resolveCname(target, level)];
  }
  const rr = addressRecord(qtype, ip, qName, ttl);
  return rr ? [rr] : [];
}

/** PTR: a node whose address matches, else a service instance's own address. */
export function ptrAnswer(d: BuilderDeps, qName: string): Outcome {
  const cfg = d.config;
  const ip = ipFromArpa(qName);
  const dc = cfg.datacenter;
  if (ip) {
    const want = ipToHex(ip);
    for (const n of d.lookup.nodes(dc)) {
      const nip = parseIp(n.Address);
      if (nip && ipToHex(nip) === want) {
        return answer([{ type: RType.PTR, name: qName, ttl: 0, target: nodeFqdn(n.Datacenter || dc, n.Node, cfg.domain) }]);
      }
    }
    const text = ip.length === 4 ? ip.join(".") : formatV6(ip);
    const [inst] = d.lookup.instancesByAddress(dc, text);
    if (inst) return answer([{ type: RType.PTR, name: qName, ttl: 0, target: `${inst.service.Service}.service.${inst.node.Datacenter || dc}.${cfg.domain}` }]);
  }
  return cfg.recursors.length > 0 ? { kind: "recurse" } : NXDOMAIN;
}

/** Up to three healthy servers as NS records of the domain, with their addresses as glue. */
export function nameservers(d: BuilderDeps, resolver: CnameResolver, respDomain: string): { ns: Rr[]; glue: Rr[] } {
  const cfg = d.config;
  const servers = shuffle(healthy(d.lookup.servers(cfg.datacenter), cfg.onlyPassing), d.random);
  const ttl = Math.floor(cfg.nodeTtlMs / 1000);
  const ns: Rr[] = [];
  const glue: Rr[] = [];
  for (const s of servers) {
    // Names that are not valid in DNS cannot be NS targets.
    if (/[^A-Za-z0-9\\-]/.test(s.node.Node)) continue;
    const target = nodeFqdn(s.node.Datacenter || cfg.datacenter, s.node.Node, respDomain).toLowerCase();
    ns.push({ type: RType.NS, name: respDomain, ttl, target });
    glue.push(...nodeRecords(d, resolver, s.node, RType.ANY, target, ttl, MAX_RECURSION_LEVEL));
    if (ns.length >= 3) break;
  }
  return { ns, glue };
}

function formatV6(ip: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip[i]! << 8) | ip[i + 1]!).toString(16));
  return groups.join(":");
}
