/**
 * Builds the records for one question from catalog lookups, following
 * Consul's agent/dns.go: service, connect, ingress, virtual, node, prepared
 * query, addr, PTR and NS answers. Synchronous: names that need the
 * recursors are collected in `pending` and the caller builds again once they
 * are resolved.
 */
import { type DnsConfig, serviceTtlSeconds } from "./config.ts";
import type { DnsLookup, ServiceInstance } from "./lookup.ts";
import type { Rr } from "./message.ts";
import { rrKey } from "./message.ts";
import { ipFromArpa, ipFromHex, ipToHex, parseIp } from "./names.ts";
import {
  acceptFor,
  addressRecord,
  healthy,
  nodeMetaTxt,
  srvWeight,
  translateNodeAddress,
  translateServiceAddress,
  translateServicePort,
} from "./records.ts";
import { effectiveDatacenter, type NameQuery, parseName, zoneOf } from "./route.ts";
import { RType } from "./wire.ts";
import type { Node } from "../structs/catalog.ts";

/** Upper bound on internal CNAME chasing (maxRecursionLevelDefault). */
export const MAX_RECURSION_LEVEL = 3;
/** Records kept from a CNAME chase when the client did not send EDNS (maxRecurseRecords). */
const MAX_RECURSE_RECORDS = 5;

export type Outcome =
  | { readonly kind: "answer"; readonly answer: Rr[]; readonly authority: Rr[]; readonly additional: Rr[]; readonly ecsGlobal: boolean }
  | { readonly kind: "nxdomain" | "nodata"; readonly ecsGlobal: boolean }
  | { readonly kind: "recurse" };

/** Per-request memory of names resolved through the recursors. */
export interface Resolution {
  readonly external: Map<string, readonly Rr[]>;
  readonly pending: Set<string>;
}

export interface BuilderDeps {
  readonly config: DnsConfig;
  readonly lookup: DnsLookup;
  readonly random: () => number;
  readonly sourceIp: string;
  readonly edns: boolean;
  readonly resolution: Resolution;
}

const NXDOMAIN: Outcome = { kind: "nxdomain", ecsGlobal: true };
const NODATA: Outcome = { kind: "nodata", ecsGlobal: true };

function answer(ans: Rr[], add: Rr[] = [], auth: Rr[] = [], ecsGlobal = true): Outcome {
  if (ans.length === 0 && add.length === 0 && auth.length === 0) return ecsGlobal ? NODATA : { kind: "nodata", ecsGlobal };
  return { kind: "answer", answer: ans, authority: auth, additional: add, ecsGlobal };
}

function shuffle<T>(list: T[], random: () => number): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = list[i]!;
    list[i] = list[j]!;
    list[j] = tmp;
  }
  return list;
}

function fqdnOf(name: string): string {
  return name.endsWith(".") ? name : `${name}.`;
}

interface ServiceRequest {
  readonly dc: string;
  readonly service: string;
  readonly instances: readonly ServiceInstance[];
  readonly ttl: number;
}

export class AnswerBuilder {
  private readonly d: BuilderDeps;
  private readonly cfg: DnsConfig;

  constructor(deps: BuilderDeps) {
    this.d = deps;
    this.cfg = deps.config;
  }

  /** A name under one of our domains. */
  name(qName: string, qtype: number, respDomain: string, labels: readonly string[], all: readonly string[], level: number): Outcome {
    const q = parseName(labels, all, qtype === RType.SRV);
    return this.dispatch(q, qName, qtype, respDomain, level);
  }

  private dispatch(q: NameQuery, qName: string, qtype: number, respDomain: string, level: number): Outcome {
    const local = this.cfg.datacenter;
    switch (q.kind) {
      case "invalid":
        return NXDOMAIN;
      case "addr":
        return this.addr(q.hex, qName, qtype);
      case "service": {
        if (q.locality.peer !== null) return NXDOMAIN; // no peerings exist
        const dc = effectiveDatacenter(q.locality, local);
        let list = this.d.lookup.serviceInstances(dc, q.service);
        if (q.tag !== "") {
          const tag = q.tag.toLowerCase();
          list = list.filter((i) => i.service.Tags?.some((t) => t.toLowerCase() === tag));
        }
        return this.service({ dc, service: q.service, instances: list, ttl: serviceTtlSeconds(this.cfg, q.service) }, qName, qtype, respDomain, level);
      }
      case "connect":
      case "ingress": {
        if (q.locality.peer !== null) return NXDOMAIN;
        const dc = effectiveDatacenter(q.locality, local);
        const list = q.kind === "connect" ? this.d.lookup.connectInstances(dc, q.service) : this.d.lookup.ingressInstances(dc, q.service);
        return this.service({ dc, service: q.service, instances: list, ttl: serviceTtlSeconds(this.cfg, q.service) }, qName, qtype, respDomain, level);
      }
      case "virtual":
        return this.virtual(q.service, q.locality.peer ?? q.locality.peerOrDatacenter, qName);
      case "node": {
        if (q.locality.peer !== null) return NXDOMAIN;
        return this.node(effectiveDatacenter(q.locality, local), q.node, qName, qtype, level);
      }
      case "query": {
        const dc = q.datacenter ?? local;
        const result = this.d.lookup.knowsDatacenter(dc) ? this.d.lookup.preparedQuery(dc, q.query, this.d.sourceIp) : null;
        // Prepared-query answers depend on the client's address, so they are never global for ECS.
        if (!result) return { kind: "nxdomain", ecsGlobal: false };
        const ttl = result.ttlSeconds ?? serviceTtlSeconds(this.cfg, result.service);
        const out = this.service({ dc: result.datacenter, service: result.service, instances: result.instances, ttl }, qName, qtype, respDomain, level);
        if (out.kind === "answer") return { ...out, ecsGlobal: false };
        return out.kind === "recurse" ? out : { kind: out.kind, ecsGlobal: false };
      }
    }
  }

  private addr(hex: string, qName: string, qtype: number): Outcome {
    const ip = ipFromHex(hex);
    if (!ip) return NXDOMAIN;
    const ttl = Math.floor(this.cfg.nodeTtlMs / 1000);
    const rr: Rr = ip.length === 4 ? { type: RType.A, name: qName, ttl, ip } : { type: RType.AAAA, name: qName, ttl, ip };
    const fits = ip.length === 4 ? qtype === RType.A || qtype === RType.ANY : qtype === RType.AAAA || qtype === RType.ANY;
    return fits ? answer([rr]) : answer([], [rr]);
  }

  private virtual(service: string, peer: string | null, qName: string): Outcome {
    // Virtual IPs are allocated per datacenter and there are no peers yet: a peer gets no address.
    const vip = peer === null ? this.d.lookup.virtualIp(service) : null;
    const ip = vip ? parseIp(vip) : null;
    if (!ip) return { kind: "answer", answer: [], authority: [], additional: [], ecsGlobal: true };
    const ttl = Math.floor(this.cfg.nodeTtlMs / 1000);
    const rr: Rr = ip.length === 4 ? { type: RType.A, name: qName, ttl, ip } : { type: RType.AAAA, name: qName, ttl, ip };
    return { kind: "answer", answer: [rr], authority: [], additional: [], ecsGlobal: true };
  }

  private service(req: ServiceRequest, qName: string, qtype: number, respDomain: string, level: number): Outcome {
    const list = healthy(req.instances, this.cfg.onlyPassing);
    if (list.length === 0) return NXDOMAIN;
    shuffle(list, this.d.random);
    if (qtype === RType.SRV) {
      const { answers, extras } = this.srvRecords(req, list, qName, respDomain, level);
      return answer(answers, extras);
    }
    return answer(this.addressRecords(req, list, qName, qtype, respDomain, level));
  }

  /** addServiceNodeRecordsToMessage: one answer per instance, de-duplicated, capped by a_record_limit. */
  private addressRecords(req: ServiceRequest, list: readonly ServiceInstance[], qName: string, qtype: number, respDomain: string, level: number): Rr[] {
    const handled = new Set<string>();
    const out: Rr[] = [];
    let cname: Rr[] | null = null;
    let count = 0;
    for (const inst of list) {
      const { answers } = this.instanceRecords(req, inst, qName, qtype, respDomain, level);
      if (answers.length === 0) continue;
      if (list.length > 1) {
        const key = rrKey(answers[0]!);
        if (handled.has(key)) continue;
        handled.add(key);
      }
      if (answers[0]!.type === RType.CNAME) {
        // A CNAME answers only when no instance has an address of its own.
        if (cname === null) cname = answers;
        continue;
      }
      out.push(...answers);
      count++;
      if (count === this.cfg.aRecordLimit) break;
    }
    return out.length === 0 && cname !== null ? cname : out;
  }

  private srvRecords(req: ServiceRequest, list: readonly ServiceInstance[], qName: string, respDomain: string, level: number): { answers: Rr[]; extras: Rr[] } {
    const handled = new Set<string>();
    const answers: Rr[] = [];
    const extras: Rr[] = [];
    for (const inst of list) {
      const addr = translateServiceAddress(this.cfg, req.dc, inst.service.Address, inst.service.TaggedAddresses, -1);
      const port = translateServicePort(this.cfg, req.dc, inst.service.Port, inst.service.TaggedAddresses);
      const tuple = `${inst.node.Node}:${addr}:${port}`;
      if (handled.has(tuple)) continue;
      handled.add(tuple);
      const r = this.instanceRecords(req, inst, qName, RType.SRV, respDomain, level);
      answers.push(...r.answers);
      extras.push(...r.extras);
      if (this.cfg.nodeMetaTxt) extras.push(...nodeMetaTxt(this.nodeFqdn(req.dc, inst.node.Node, respDomain), inst.node, req.ttl));
    }
    return { answers, extras };
  }

  private nodeFqdn(dc: string, node: string, respDomain: string): string {
    return `${node}.node.${dc}.${respDomain}`;
  }

  /** makeNodeServiceRecords: the service address, else the node's; IPs, hostnames, WAN translation. */
  private instanceRecords(req: ServiceRequest, inst: ServiceInstance, qName: string, qtype: number, respDomain: string, level: number): { answers: Rr[]; extras: Rr[] } {
    const accept = acceptFor(qtype);
    const svcAddr = translateServiceAddress(this.cfg, req.dc, inst.service.Address, inst.service.TaggedAddresses, accept);
    const nodeAddr = translateNodeAddress(this.cfg, inst.node.Datacenter, inst.node, accept);
    if (svcAddr === "" && nodeAddr === "") return { answers: [], extras: [] };
    const nodeIp = parseIp(nodeAddr);
    const svcIp = svcAddr === "" ? null : parseIp(svcAddr);
    if (svcAddr === "" && nodeIp) {
      // A translated (tagged) node address is not the node's name: point at the address itself.
      if (inst.node.Address !== nodeAddr) return this.ipRecords(req, inst, nodeIp, qName, qtype, respDomain);
      return this.nodeIpRecords(req, inst, nodeIp, qName, qtype, respDomain);
    }
    if (svcAddr === "") return this.fqdnRecords(req, inst, nodeAddr, qName, qtype, level);
    if (svcIp) return this.ipRecords(req, inst, svcIp, qName, qtype, respDomain);
    if (fqdnOf(svcAddr).toLowerCase() === qName && nodeIp) return this.nodeIpRecords(req, inst, nodeIp, qName, qtype, respDomain);
    return this.fqdnRecords(req, inst, svcAddr, qName, qtype, level);
  }

  private srv(req: ServiceRequest, inst: ServiceInstance, qName: string, target: string): Rr {
    return {
      type: RType.SRV,
      name: qName,
      ttl: req.ttl,
      priority: 1,
      weight: srvWeight(inst),
      port: translateServicePort(this.cfg, req.dc, inst.service.Port, inst.service.TaggedAddresses) & 0xffff,
      target,
    };
  }

  /** makeRecordFromServiceNode: SRV targets the node's name, with its address as glue. */
  private nodeIpRecords(req: ServiceRequest, inst: ServiceInstance, ip: Uint8Array, qName: string, qtype: number, respDomain: string): { answers: Rr[]; extras: Rr[] } {
    if (qtype === RType.SRV) {
      const target = this.nodeFqdn(req.dc, inst.node.Node, respDomain);
      const glue = addressRecord(qtype, ip, target, req.ttl);
      return glue ? { answers: [this.srv(req, inst, qName, target)], extras: [glue] } : { answers: [], extras: [] };
    }
    const rr = addressRecord(qtype, ip, qName, req.ttl);
    return { answers: rr ? [rr] : [], extras: [] };
  }

  /** makeRecordFromIP: SRV targets `<hex>.addr.<dc>.<domain>`. */
  private ipRecords(req: ServiceRequest, inst: ServiceInstance, ip: Uint8Array, qName: string, qtype: number, respDomain: string): { answers: Rr[]; extras: Rr[] } {
    if (qtype === RType.SRV) {
      const target = `${ipToHex(ip)}.addr.${req.dc}.${respDomain}`;
      const glue = addressRecord(qtype, ip, target, req.ttl);
      return glue ? { answers: [this.srv(req, inst, qName, target)], extras: [glue] } : { answers: [], extras: [] };
    }
    const rr = addressRecord(qtype, ip, qName, req.ttl);
    return { answers: rr ? [rr] : [], extras: [] };
  }

  /** makeRecordFromFQDN: a hostname address becomes a CNAME (or SRV target) plus what it resolves to. */
  private fqdnRecords(req: ServiceRequest, inst: ServiceInstance, host: string, qName: string, qtype: number, level: number): { answers: Rr[]; extras: Rr[] } {
    const target = fqdnOf(host);
    const more: Rr[] = [];
    for (const rr of this.resolveCname(target, level)) {
      if (rr.type !== RType.CNAME && rr.type !== RType.A && rr.type !== RType.AAAA) continue;
      more.push({ ...rr, ttl: req.ttl });
      if (more.length === MAX_RECURSE_RECORDS && !this.d.edns) break;
    }
    if (qtype === RType.SRV) return { answers: [this.srv(req, inst, qName, target)], extras: more };
    return { answers: [{ type: RType.CNAME, name: qName, ttl: req.ttl, target }, ...more], extras: [] };
  }

  /** resolveCNAME: names in our domains are answered here; others through the recursors. */
  private resolveCname(name: string, level: number): readonly Rr[] {
    const lower = name.toLowerCase();
    const zone = zoneOf(lower, this.cfg);
    if (zone.kind === "domain") {
      if (level < 1) return [];
      const out = this.name(lower, RType.ANY, zone.respDomain, zone.labels, zone.all, level - 1);
      return out.kind === "answer" ? out.answer : [];
    }
    if (this.cfg.recursors.length === 0) return [];
    const known = this.d.resolution.external.get(lower);
    if (known) return known;
    this.d.resolution.pending.add(lower);
    return [];
  }

  /** A node: its address (CNAME for a hostname) and its meta as TXT. */
  private node(dc: string, name: string, qName: string, qtype: number, level: number): Outcome {
    const node = this.d.lookup.node(dc, name);
    if (!node) return NXDOMAIN;
    if (qtype !== RType.ANY && qtype !== RType.A && qtype !== RType.AAAA && qtype !== RType.TXT) return NODATA;
    const ttl = Math.floor(this.cfg.nodeTtlMs / 1000);
    const ans: Rr[] = qtype === RType.TXT ? [] : this.nodeRecords(node, qtype, qName, ttl, level);
    const extra: Rr[] = [];
    if (this.cfg.nodeMetaTxt || qtype === RType.TXT || qtype === RType.ANY) {
      const metas = nodeMetaTxt(qName, node, ttl);
      if (qtype === RType.TXT || qtype === RType.ANY) ans.push(...metas);
      else extra.push(...metas);
    }
    return answer(ans, extra);
  }

  /** makeRecordFromNode. */
  nodeRecords(node: Node, qtype: number, qName: string, ttl: number, level: number): Rr[] {
    const addr = translateNodeAddress(this.cfg, node.Datacenter, node, acceptFor(qtype));
    if (addr === "") return [];
    const ip = parseIp(addr);
    if (!ip) {
      const target = fqdnOf(node.Address);
      return [{ type: RType.CNAME, name: qName, ttl, target }, ...this.resolveCname(target, level)];
    }
    const rr = addressRecord(qtype, ip, qName, ttl);
    return rr ? [rr] : [];
  }

  /** PTR: a node whose address matches, else a service instance's own address. */
  ptr(qName: string, qtype: number): Outcome {
    const ip = ipFromArpa(qName);
    const dc = this.cfg.datacenter;
    if (ip) {
      const want = ipToHex(ip);
      for (const n of this.d.lookup.nodes(dc)) {
        const nip = parseIp(n.Address);
        if (nip && ipToHex(nip) === want) {
          return answer([{ type: RType.PTR, name: qName, ttl: 0, target: this.nodeFqdn(n.Datacenter || dc, n.Node, this.cfg.domain) }]);
        }
      }
      const text = ip.length === 4 ? ip.join(".") : formatV6(ip);
      const [inst] = this.d.lookup.instancesByAddress(dc, text);
      if (inst) return answer([{ type: RType.PTR, name: qName, ttl: 0, target: `${inst.service.Service}.service.${inst.node.Datacenter || dc}.${this.cfg.domain}` }]);
    }
    void qtype;
    return this.cfg.recursors.length > 0 ? { kind: "recurse" } : NXDOMAIN;
  }

  /** Up to three healthy servers as NS records of the domain, with their addresses as glue. */
  nameservers(respDomain: string): { ns: Rr[]; glue: Rr[] } {
    const servers = shuffle(healthy(this.d.lookup.servers(this.cfg.datacenter), this.cfg.onlyPassing), this.d.random);
    const ttl = Math.floor(this.cfg.nodeTtlMs / 1000);
    const ns: Rr[] = [];
    const glue: Rr[] = [];
    for (const s of servers) {
      // Names that are not valid in DNS cannot be NS targets.
      if (/[^A-Za-z0-9\\-]/.test(s.node.Node)) continue;
      const target = `${s.node.Node}.node.${s.node.Datacenter || this.cfg.datacenter}.${respDomain}`.toLowerCase();
      ns.push({ type: RType.NS, name: respDomain, ttl, target });
      glue.push(...this.nodeRecords(s.node, RType.ANY, target, ttl, MAX_RECURSION_LEVEL));
      if (ns.length >= 3) break;
    }
    return { ns, glue };
  }
}

function formatV6(ip: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip[i]! << 8) | ip[i + 1]!).toString(16));
  return groups.join(":");
}
