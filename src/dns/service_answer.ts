/**
 * Answers for service instances (`.service`, `.connect`, `.ingress` and
 * prepared queries), following Consul's agent/dns.go: healthy instances only,
 * shuffled, A/AAAA (capped by a_record_limit) or SRV with the targets'
 * addresses as extras, hostnames as CNAMEs.
 */
import type { InstanceDeck, ServiceInstance } from "./lookup.ts";
import type { Rr } from "./message.ts";
import { rrKey } from "./message.ts";
import { ipToHex, parseIp } from "./names.ts";
import { answer, type BuilderDeps, type CnameResolver, fqdnOf, MAX_RECURSE_RECORDS, MAX_RECURSION_LEVEL, nodeFqdn, NXDOMAIN, type Outcome, shuffle } from "./outcome.ts";
import { acceptFor, addressRecord, healthy, nodeMetaTxt, srvWeight, translateNodeAddress, translateServiceAddress, translateServicePort } from "./records.ts";
import { RType } from "./wire.ts";

export interface ServiceRequest {
  readonly dc: string;
  readonly service: string;
  readonly instances: readonly ServiceInstance[];
  readonly ttl: number;
  /**
   * The instances are already chosen (a prepared query's, by its own health
   * rules): no health filter here.
   */
  readonly chosen?: boolean;
  /** ...and ordered (sorted by `near` on the server, or from another datacenter): no shuffle and no replay either. */
  readonly ordered?: boolean;
  /** The healthy instances as a set to draw from (then `instances` is unused): no filter, no full shuffle, no replay. */
  readonly deck?: InstanceDeck;
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

/**
 * The instances an answer is dealt from, in dealing order. The live deck
 * builds each instance's records when it is reached (so hostnames are
 * resolved only for instances that are used, as Consul does); a replay's deck
 * reads records built once.
 */
interface Deck {
  readonly size: number;
  /** The k-th instance's records for the question (SRV extras include its node-meta TXT). */
  records(k: number): Records;
  /** SRV de-duplication key of the k-th instance: node, address and port. */
  srvKey(k: number): string;
  /** A/AAAA de-duplication key of the k-th instance, from its first answer. */
  addressKey(k: number, first: Rr): string;
}

export function serviceAnswer(d: BuilderDeps, resolver: CnameResolver, req: ServiceRequest, qName: string, qtype: number, respDomain: string, level: number): Outcome {
  if (req.deck) return drawnAnswer(d, resolver, req, req.deck, qName, qtype, respDomain, level);
  const list = req.chosen || req.ordered ? [...req.instances] : healthy(req.instances, d.config.onlyPassing);
  if (list.length === 0) return NXDOMAIN;
  const ask: Ask = { d, resolver, req, qName, qtype, respDomain, level };
  const rec = d.recorder;
  if (rec && !req.ordered) {
    rec.services++;
    if (level === MAX_RECURSION_LEVEL) {
      const replay = ServiceReplay.of(ask, list);
      if (replay) {
        rec.replay = replay;
        return replay.deal(d.random);
      }
    }
  }
  if (!req.ordered) shuffle(list, d.random);
  const deck: Deck = {
    size: list.length,
    records: (k) => instanceRecords(ask, list[k]!, qtype, true)!,
    srvKey: (k) => srvKeyOf(ask, list[k]!),
    addressKey: (_k, first) => rrKey(first),
  };
  return deal(qtype, d.config.aRecordLimit, deck);
}

/**
 * An answer drawn from a large healthy set: a Fisher-Yates shuffle carried
 * only as far as the answer reaches (its swaps kept in a map), so the cost
 * follows the records dealt, and every order stays equally likely.
 */
function drawnAnswer(d: BuilderDeps, resolver: CnameResolver, req: ServiceRequest, set: InstanceDeck, qName: string, qtype: number, respDomain: string, level: number): Outcome {
  const n = set.size;
  if (n === 0) return NXDOMAIN;
  if (d.recorder) d.recorder.services++;
  const ask: Ask = { d, resolver, req, qName, qtype, respDomain, level };
  const swaps = new Map<number, number>();
  const picks: ServiceInstance[] = [];
  const pick = (k: number): ServiceInstance => {
    while (picks.length <= k) {
      const i = picks.length;
      const j = i + Math.floor(d.random() * (n - i));
      const atJ = swaps.get(j) ?? j;
      swaps.set(j, swaps.get(i) ?? i);
      picks.push(set.at(atJ));
    }
    return picks[k]!;
  };
  const deck: Deck = {
    size: n,
    records: (k) => instanceRecords(ask, pick(k), qtype, true)!,
    srvKey: (k) => srvKeyOf(ask, pick(k)),
    addressKey: (_k, first) => rrKey(first),
  };
  return deal(qtype, d.config.aRecordLimit, deck, d.maxAnswers);
}

/**
 * A service answer that can be dealt again: the healthy instances with their
 * records built once. Only answers whose every instance has an IP address
 * qualify, so records depend neither on the dealing order nor on recursors.
 * Dealing shuffles with the same draws as the live path, so for the same
 * random source a replay and a fresh build give the same answer.
 */
export class ServiceReplay {
  private readonly qtype: number;
  private readonly aRecordLimit: number;
  private readonly records: readonly Records[];
  private readonly srvKeys: readonly string[];
  private readonly addressKeys: readonly string[];

  private constructor(qtype: number, aRecordLimit: number, records: Records[], srvKeys: string[], addressKeys: string[]) {
    this.qtype = qtype;
    this.aRecordLimit = aRecordLimit;
    this.records = records;
    this.srvKeys = srvKeys;
    this.addressKeys = addressKeys;
  }

  /** A replay of the answer to `ask` over `list`, or null when an instance has a hostname address. */
  static of(ask: Ask, list: readonly ServiceInstance[]): ServiceReplay | null {
    const records: Records[] = [];
    const srvKeys: string[] = [];
    const addressKeys: string[] = [];
    for (const inst of list) {
      const r = instanceRecords(ask, inst, ask.qtype, false);
      if (r === null) return null;
      records.push(r);
      srvKeys.push(ask.qtype === RType.SRV ? srvKeyOf(ask, inst) : "");
      addressKeys.push(r.answers.length > 0 && ask.qtype !== RType.SRV ? rrKey(r.answers[0]!) : "");
    }
    return new ServiceReplay(ask.qtype, ask.d.config.aRecordLimit, records, srvKeys, addressKeys);
  }

  /** Records kept (answers and extras of every instance), for the cache's memory budget. */
  get recordCount(): number {
    let n = 0;
    for (const r of this.records) n += r.answers.length + r.extras.length;
    return n;
  }

  /** Draws `random` this many times per deal. */
  get draws(): number {
    return Math.max(0, this.records.length - 1);
  }

  /** The answer with a fresh shuffle. */
  deal(random: () => number): Outcome {
    const n = this.records.length;
    const order = new Array<number>(n);
    for (let i = 0; i < n; i++) order[i] = i;
    shuffle(order, random);
    return deal(this.qtype, this.aRecordLimit, {
      size: n,
      records: (k) => this.records[order[k]!]!,
      srvKey: (k) => this.srvKeys[order[k]!]!,
      addressKey: (k) => this.addressKeys[order[k]!]!,
    });
  }
}

/** `cap`: stop once this many answers are dealt (more than the transport keeps; see BuilderDeps.maxAnswers). */
function deal(qtype: number, aRecordLimit: number, deck: Deck, cap = Number.POSITIVE_INFINITY): Outcome {
  if (qtype === RType.SRV) {
    const { answers, extras } = srvRecords(deck, cap);
    return answer(answers, extras);
  }
  return answer(addressRecords(deck, aRecordLimit, cap));
}

/** addServiceNodeRecordsToMessage: one answer per instance, de-duplicated, capped by a_record_limit. */
function addressRecords(deck: Deck, aRecordLimit: number, cap: number): Rr[] {
  const handled = new Set<string>();
  const out: Rr[] = [];
  let cname: Rr[] | null = null;
  let count = 0;
  for (let k = 0; k < deck.size; k++) {
    const { answers } = deck.records(k);
    if (answers.length === 0) continue;
    if (deck.size > 1) {
      const key = deck.addressKey(k, answers[0]!);
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
    if (count === aRecordLimit || out.length >= cap) break;
  }
  return out.length === 0 && cname !== null ? cname : out;
}

function srvRecords(deck: Deck, cap: number): Records {
  const handled = new Set<string>();
  const answers: Rr[] = [];
  const extras: Rr[] = [];
  for (let k = 0; k < deck.size && answers.length < cap; k++) {
    const tuple = deck.srvKey(k);
    if (handled.has(tuple)) continue;
    handled.add(tuple);
    const r = deck.records(k);
    answers.push(...r.answers);
    extras.push(...r.extras);
  }
  return { answers, extras };
}

function srvKeyOf(ask: Ask, inst: ServiceInstance): string {
  const cfg = ask.d.config;
  const addr = translateServiceAddress(cfg, ask.req.dc, inst.service.Address, inst.service.TaggedAddresses, -1);
  const port = translateServicePort(cfg, ask.req.dc, inst.service.Port, inst.service.TaggedAddresses);
  return `${inst.node.Node}:${addr}:${port}`;
}

/**
 * makeNodeServiceRecords: the service address, else the node's; IPs,
 * hostnames, WAN translation. SRV extras end with the node's meta as TXT when
 * enabled. Null when the address is a hostname and `hostnames` is false.
 */
function instanceRecords(ask: Ask, inst: ServiceInstance, qtype: number, hostnames: boolean): Records | null {
  const r = ownRecords(ask, inst, qtype, hostnames);
  if (r === null || qtype !== RType.SRV || !ask.d.config.nodeMetaTxt) return r;
  const metas = nodeMetaTxt(nodeFqdn(ask.req.dc, inst.node.Node, ask.respDomain), inst.node, ask.req.ttl);
  if (metas.length > 0) r.extras.push(...metas);
  return r;
}

function ownRecords(ask: Ask, inst: ServiceInstance, qtype: number, hostnames: boolean): Records | null {
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
  if (svcAddr === "") return hostnames ? fqdnRecords(ask, inst, nodeAddr, qtype) : null;
  if (svcIp) return ipRecords(ask, inst, svcIp, qtype);
  if (fqdnOf(svcAddr).toLowerCase() === ask.qName && nodeIp) return nodeIpRecords(ask, inst, nodeIp, qtype);
  return hostnames ? fqdnRecords(ask, inst, svcAddr, qtype) : null;
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
