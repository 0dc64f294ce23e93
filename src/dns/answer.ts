/**
 * Builds the records for one question from catalog lookups, following
 * Consul's agent/dns.go: parses the name under our domain and dispatches to
 * the answer for its form (service_answer.ts for services, connect, ingress
 * and prepared queries; node_answer.ts for nodes, PTR and NS; addr and
 * virtual here). Synchronous: names that need the recursors are collected in
 * `pending` and the caller builds again once they are resolved.
 */
import { serviceTtlSeconds } from "./config.ts";
import type { Rr } from "./message.ts";
import { ipFromHex, parseIp } from "./names.ts";
import { nameservers, nodeAnswer, ptrAnswer } from "./node_answer.ts";
import { answer, type BuilderDeps, type CnameResolver, NXDOMAIN, type Outcome } from "./outcome.ts";
import { effectiveDatacenter, type NameQuery, parseName, zoneOf } from "./route.ts";
import { serviceAnswer, type ServiceRequest } from "./service_answer.ts";
import { RType } from "./wire.ts";

export { type BuilderDeps, MAX_RECURSION_LEVEL, type Outcome, type Resolution } from "./outcome.ts";

/**
 * Healthy sets up to this size are filtered and shuffled whole (and the
 * answer cache replays them); larger ones are drawn from at random.
 */
const SAMPLE_ABOVE = 256;

export class AnswerBuilder implements CnameResolver {
  private readonly d: BuilderDeps;

  constructor(deps: BuilderDeps) {
    this.d = deps;
  }

  /** A name under one of our domains. */
  name(qName: string, qtype: number, respDomain: string, labels: readonly string[], all: readonly string[], level: number): Outcome {
    const q = parseName(labels, all, qtype === RType.SRV);
    return this.dispatch(q, qName, qtype, respDomain, level);
  }

  /** PTR questions under in-addr.arpa / ip6.arpa. */
  ptr(qName: string): Outcome {
    return ptrAnswer(this.d, qName);
  }

  /** Up to three healthy servers as NS records of the domain, with their glue. */
  nameservers(respDomain: string): { ns: Rr[]; glue: Rr[] } {
    return nameservers(this.d, this, respDomain);
  }

  private dispatch(q: NameQuery, qName: string, qtype: number, respDomain: string, level: number): Outcome {
    const cfg = this.d.config;
    const lookup = this.d.lookup;
    const local = cfg.datacenter;
    const service = (req: ServiceRequest) => serviceAnswer(this.d, this, req, qName, qtype, respDomain, level);
    switch (q.kind) {
      case "invalid":
        return NXDOMAIN;
      case "addr":
        return this.addr(q.hex, qName, qtype);
      case "service": {
        if (q.locality.peer !== null) return NXDOMAIN; // no peerings exist
        const dc = effectiveDatacenter(q.locality, local);
        const ttl = serviceTtlSeconds(cfg, q.service);
        // Large healthy sets are drawn from, not walked: the answer costs what it holds.
        const deck = q.tag === "" ? (lookup.healthyInstances?.(dc, q.service, cfg.onlyPassing) ?? null) : null;
        if (deck !== null && deck.size > SAMPLE_ABOVE) return service({ dc, service: q.service, instances: [], deck, ttl });
        let list = lookup.serviceInstances(dc, q.service);
        if (q.tag !== "") {
          const tag = q.tag.toLowerCase();
          list = list.filter((i) => i.service.Tags?.some((t) => t.toLowerCase() === tag));
        }
        return service({ dc, service: q.service, instances: list, ttl });
      }
      case "connect":
      case "ingress": {
        if (q.locality.peer !== null) return NXDOMAIN;
        const dc = effectiveDatacenter(q.locality, local);
        const list = q.kind === "connect" ? lookup.connectInstances(dc, q.service) : lookup.ingressInstances(dc, q.service);
        return service({ dc, service: q.service, instances: list, ttl: serviceTtlSeconds(cfg, q.service) });
      }
      case "virtual": {
        // Consul reads the label after `.virtual` as a peer (virtual IPs are per datacenter) and we have no peers.
        // Extension: a label naming a datacenter we know is answered by that datacenter's servers.
        if (q.locality.peer !== null) return this.virtual(null, q.service, qName);
        const label = q.locality.datacenter ?? q.locality.peerOrDatacenter;
        if (label === null || (label !== local && !lookup.knowsDatacenter(label))) return this.virtual(q.locality.peerOrDatacenter === null ? local : null, q.service, qName);
        return this.virtual(label, q.service, qName);
      }
      case "node": {
        if (q.locality.peer !== null) return NXDOMAIN;
        return nodeAnswer(this.d, this, effectiveDatacenter(q.locality, local), q.node, qName, qtype, level);
      }
      case "query": {
        const dc = q.datacenter ?? local;
        const result = lookup.knowsDatacenter(dc) ? lookup.preparedQuery(dc, q.query, this.d.sourceIp) : null;
        // Prepared-query answers depend on the client's address, so they are never global for ECS.
        if (!result) return { kind: "nxdomain", ecsGlobal: false };
        const ttl = result.ttlSeconds ?? serviceTtlSeconds(cfg, result.service);
        const req = { dc: result.datacenter, service: result.service, instances: result.instances, ttl, chosen: true };
        // A local answer without `near` depends only on this datacenter's state: shuffled and kept like a service answer.
        if (result.cacheable) return service(req);
        const out = service({ ...req, ordered: true });
        if (out.kind === "answer") return { ...out, ecsGlobal: false };
        return out.kind === "recurse" ? out : { kind: out.kind, ecsGlobal: false };
      }
    }
  }

  private addr(hex: string, qName: string, qtype: number): Outcome {
    const ip = ipFromHex(hex);
    if (!ip) return NXDOMAIN;
    const ttl = Math.floor(this.d.config.nodeTtlMs / 1000);
    const rr: Rr = ip.length === 4 ? { type: RType.A, name: qName, ttl, ip } : { type: RType.AAAA, name: qName, ttl, ip };
    const fits = ip.length === 4 ? qtype === RType.A || qtype === RType.ANY : qtype === RType.AAAA || qtype === RType.ANY;
    return fits ? answer([rr]) : answer([], [rr]);
  }

  /** The A record of a service's virtual IP in `dc`; none for a peer's (dc null). */
  private virtual(dc: string | null, service: string, qName: string): Outcome {
    const vip = dc === null ? null : this.d.lookup.virtualIp(dc, service);
    const ip = vip ? parseIp(vip) : null;
    if (!ip) return { kind: "answer", answer: [], authority: [], additional: [], ecsGlobal: true };
    const ttl = Math.floor(this.d.config.nodeTtlMs / 1000);
    const rr: Rr = ip.length === 4 ? { type: RType.A, name: qName, ttl, ip } : { type: RType.AAAA, name: qName, ttl, ip };
    return { kind: "answer", answer: [rr], authority: [], additional: [], ecsGlobal: true };
  }

  /** resolveCNAME: names in our domains are answered here; others through the recursors. */
  resolveCname(name: string, level: number): readonly Rr[] {
    const cfg = this.d.config;
    const lower = name.toLowerCase();
    const zone = zoneOf(lower, cfg);
    if (zone.kind === "domain") {
      if (level < 1) return [];
      const out = this.name(lower, RType.ANY, zone.respDomain, zone.labels, zone.all, level - 1);
      return out.kind === "answer" ? out.answer : [];
    }
    if (cfg.recursors.length === 0) return [];
    const known = this.d.resolution.external.get(lower);
    if (known) return known;
    this.d.resolution.pending.add(lower);
    return [];
  }
}
