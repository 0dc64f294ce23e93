/**
 * Answers for service instances (`.service`, `.connect`, `.ingress` and
 * prepared queries), following Consul's agent/dns.go: healthy instances only,
 * shuffled, A/AAAA (capped by a_record_limit) or SRV with the targets'
 * addresses as extras, hostnames as CNAMEs.
 */
import type { ServiceInstance } from "./lookup.ts";
import type { Rr } from "./message.ts";
import { rrKey } from "./message.ts";
import { ipToHex, parseIp } from "./names.ts";
import { type BuilderDeps, type CnameResolver, fqdnOf, MAX_RECURSE_RECORDS, nodeFqdn, NXDOMAIN, type Outcome, answer, shuffle } from "./outcome.ts";
import { acceptFor, addressRecord, healthy, nodeMetaTxt, srvWeight, translateNodeAddress, translateServiceAddress, translateServicePort } from "./records.ts";
import { RType } from "./wire.ts";

export interface ServiceRequest {
  readonly dc: string;
  readonly service: string;
  readonly instances: readonly ServiceInstance[];
  readonly ttl: number;
}

interface Records {
  answers: Rr[];
  extras: Rr[];
}

const NONE = (): Records => ({ answers: [], extras: [] });

/** One question about a set of instances, with what answering it needs. */
interface Ask {
  readonly d: BuilderDeps;
  readonly resolver: CnameResolver;
  readonly req: ServiceRequest;
  readonly qName: string;
  readonly qtype: number;
  readonly respDomain: string;
  readonly level: number;
}

export function serviceAnswer(d: BuilderDeps, resolver: CnameResolver, req: ServiceRequest, qName: string, qtype: number, respDomain: string, level: number): Outcome {
  const list = healthy(req.instances, d.config.onlyPassing);
  if (list.length === 0) return NXDOMAIN;
  shuffle(list, d.random);
  const ask: Ask = { d, resolver, req, qName, qtype, respDomain, level };
  if (qtype === RType.SRV) {
    const { answers, extras } = srvRecords(ask, list);
    return answer(answers, extras);
  }
  return answer(addressRecords(ask, list));
}

/** addServiceNodeRecordsToMessage: one answer per instance, de-duplicated, capped by a_record_limit. */
function addressRecords(ask: Ask, list: readonly ServiceInstance[]): Rr[] {
  const handled = new Set<string>();
  const out: Rr[] = [];
  let cname: Rr[] | null = null;
  let count = 0;
  for (const inst of list) {
    const { answers } = instanceRecords(ask, inst, ask.qtype);
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
    if (count === ask.d.config.aRecordLimit) break;
  }
  return out.length === 0 && cname !== null ? cname : out;
}

function srvRecords(ask: Ask, list: readonly ServiceInstance[]): Records {
  const { req, d } = ask;
  const cfg = d.config;
  const handled = new Set<string>();
  const answers: Rr[] = [];
  const extras: Rr[] = [];
  for (const inst of list) {
    const addr = translateServiceAddress(cfg, req.dc, inst.service.Address, inst.service.TaggedAddresses, -1);
    const port = translateServicePort(cfg, req.dc, inst.service.Port, inst.service.TaggedAddresses);
    const tuple = `${inst.node.Node}:${addr}:${port}`;
    if (handled.has(tuple)) continue;
    handled.add(tuple);
    const r = instanceRecords(ask, inst, RType.SRV);
    answers.push(...r.answers);
    extras.push(...r.extras);
    if (cfg.nodeMetaTxt) extras.push(...nodeMetaTxt(nodeFqdn(req.dc, inst.node.Node, ask.respDomain), inst.node, req.ttl));
  }
  return { answers, extras };
}

/** makeNodeServiceRecords: the service address, else the node's; IPs, hostnames, WAN translation. */
function instanceRecords(ask: Ask, inst: ServiceInstance, qtype: number): Records {
  const cfg = ask.d.config;
  const accept = acceptFor(qtype);
  const svcAddr = translateServiceAddress(cfg, ask.req.dc, inst.service.Address, inst.service.TaggedAddresses, accept);
  const nodeAddr = translateNodeAddress(cfg, inst.node.Datacenter, inst.node, accept);
  if (svcAddr === "" && nodeAddr === "") return NONE();
  const nodeIp = parseIp(nodeAddr);
  const svcIp = svcAddr === "" ? null : parseIp(svcAddr);
  if (svcAddr === "" && nodeIp) {
    // A translated (tagged) node address is not the node's name: point at the address itself.
    if (inst.node.Address !== nodeAddr) return ipRecords(ask, inst, nodeIp, qtype);
    return nodeIpRecords(ask, inst, nodeIp, qtype);
  }
  if (svcAddr === "") return fqdnRecords(ask, inst, nodeAddr, qtype);
  if (svcIp) return ipRecords(ask, inst, svcIp, qtype);
  if (fqdnOf(svcAddr).toLowerCase() === ask.qName && nodeIp) return nodeIpRecords(ask, inst, nodeIp, qtype);
  return fqdnRecords(ask, inst, svcAddr, qtype);
}

function srv(ask: Ask, inst: ServiceInstance, target: string): Rr {
  const { req } = ask;
  return {
    type: RType.SRV,
    name: ask.qName,
    ttl: req.ttl,
    priority: 1,
    weight: srvWeight(inst),
    port: translateServicePort(ask.d.config, req.dc, inst.service.Port, inst.service.TaggedAddresses) & 0xffff,
    target,
  };
}

/** An SRV pointing at `target` with the address as glue, or the address itself for A/AAAA/ANY. */
function addressOrSrv(ask: Ask, inst: ServiceInstance, ip: Uint8Array, qtype: number, target: string): Records {
  if (qtype === RType.SRV) {
    const glue = addressRecord(qtype, ip, target, ask.req.ttl);
    return glue ? { answers: [srv(ask, inst, target)], extras: [glue] } : NONE();
  }
  const rr = addressRecord(qtype, ip, ask.qName, ask.req.ttl);
  return { answers: rr ? [rr] : [], extras: [] };
}

/** makeRecordFromServiceNode: SRV targets the node's name, with its address as glue. */
function nodeIpRecords(ask: Ask, inst: ServiceInstance, ip: Uint8Array, qtype: number): Records {
  const target = qtype === RType.SRV ? nodeFqdn(ask.req.dc, inst.node.Node, ask.respDomain) : "";
  return addressOrSrv(ask, inst, ip, qtype, target);
}

/** makeRecordFromIP: SRV targets `<hex>.addr.<dc>.<domain>`. */
function ipRecords(ask: Ask, inst: ServiceInstance, ip: Uint8Array, qtype: number): Records {
  const target = qtype === RType.SRV ? `${ipToHex(ip)}.addr.${ask.req.dc}.${ask.respDomain}` : "";
  return addressOrSrv(ask, inst, ip, qtype, target);
}

/** makeRecordFromFQDN: a hostname address becomes a CNAME (or SRV target) plus what it resolves to. */
function fqdnRecords(ask: Ask, inst: ServiceInstance, host: string, qtype: number): Records {
  const target = fqdnOf(host);
  const ttl = ask.req.ttl;
  const more: Rr[] = [];
  for (const rr of ask.resolver.resolveCname(target, ask.level)) {
    if (rr.type !== RType.CNAME && rr.type !== RType.A && rr.type !== RType.AAAA) continue;
    more.push({ ...rr, ttl });
    if (more.length === MAX_RECURSE_RECORDS && !ask.d.edns) break;
  }
  if (qtype === RType.SRV) return { answers: [srv(ask, inst, target)], extras: more };
  return { answers: [{ type: RType.CNAME, name: ask.qName, ttl, target }, ...more], extras: [] };
}
