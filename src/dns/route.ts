/**
 * Question names to lookups: which of our domains a name is under, and which
 * Consul query form its labels spell (agent/dns/router.go, parser.go and the
 * CE query_locality.go).
 */
import type { DnsConfig } from "./config.ts";
import { nameLabels } from "./names.ts";

export type Zone =
  /** Outside every domain we serve: recurse, or REFUSED without recursors. */
  | { readonly kind: "foreign" }
  /** Under `arpa.`: reverse lookups, answered in the primary domain. */
  | { readonly kind: "arpa"; readonly respDomain: string }
  /** Under the domain or alt domain; `labels` are the ones before it. */
  | { readonly kind: "domain"; readonly respDomain: string; readonly labels: readonly string[]; readonly all: readonly string[] };

const domainLabels = new Map<string, readonly string[]>();

function labelsOf(domain: string): readonly string[] {
  let l = domainLabels.get(domain);
  if (!l) domainLabels.set(domain, (l = nameLabels(domain)));
  return l;
}

function endsWithLabels(all: readonly string[], tail: readonly string[]): boolean {
  if (tail.length === 0 || tail.length > all.length) return false;
  const off = all.length - tail.length;
  for (let i = 0; i < tail.length; i++) if (all[off + i] !== tail[i]) return false;
  return true;
}

/** The zone of a lower-case question name; the longest matching domain wins. */
export function zoneOf(name: string, cfg: DnsConfig): Zone {
  const all = nameLabels(name);
  const primary = labelsOf(cfg.domain);
  const alt = cfg.altDomain === "" ? null : labelsOf(cfg.altDomain);
  const inPrimary = endsWithLabels(all, primary);
  const inAlt = alt !== null && endsWithLabels(all, alt);
  if (inPrimary || inAlt) {
    const useAlt = inAlt && (!inPrimary || alt!.length > primary.length);
    const d = useAlt ? alt! : primary;
    return { kind: "domain", respDomain: useAlt ? cfg.altDomain : cfg.domain, labels: all.slice(0, all.length - d.length), all };
  }
  if (all.length > 0 && all[all.length - 1] === "arpa") return { kind: "arpa", respDomain: cfg.domain };
  return { kind: "foreign" };
}

export interface Locality {
  readonly datacenter: string | null;
  readonly peer: string | null;
  /** A lone label after the kind: a datacenter (or, for `.virtual`, a peer). */
  readonly peerOrDatacenter: string | null;
}

/** `[.<dc>]`, `[.<dc>.dc]`, `[.<peer>.peer]`; null when the labels fit none. */
export function parseLocality(labels: readonly string[]): Locality | null {
  if (labels.length === 0) return { datacenter: null, peer: null, peerOrDatacenter: null };
  if (labels.length === 1) return { datacenter: null, peer: null, peerOrDatacenter: labels[0]! };
  if (labels.length !== 2 && labels.length !== 4) return null;
  let datacenter: string | null = null;
  let peer: string | null = null;
  for (let i = 0; i < labels.length; i += 2) {
    const value = labels[i]!;
    const kind = labels[i + 1];
    if (kind === "dc") datacenter = value;
    else if (kind === "peer") peer = value;
    else return null;
  }
  if (datacenter !== null && peer !== null) return null;
  return { datacenter, peer, peerOrDatacenter: null };
}

export type NameQuery =
  | { readonly kind: "service"; readonly locality: Locality; readonly service: string; readonly tag: string }
  | { readonly kind: "connect" | "ingress"; readonly locality: Locality; readonly service: string }
  | { readonly kind: "virtual"; readonly locality: Locality; readonly service: string }
  | { readonly kind: "node"; readonly locality: Locality; readonly node: string }
  | { readonly kind: "query"; readonly datacenter: string | null; readonly query: string }
  | { readonly kind: "addr"; readonly hex: string }
  | { readonly kind: "invalid" };

const KINDS = new Set(["service", "connect", "virtual", "ingress", "node", "query", "addr"]);
const INVALID: NameQuery = { kind: "invalid" };

/**
 * Parses the labels in front of the domain. `all` is the whole name's labels:
 * `<hex>.addr.` is recognised on it first, as the router does.
 */
export function parseName(labels: readonly string[], all: readonly string[], srv: boolean): NameQuery {
  if (all.length > 2 && all[1] === "addr") return { kind: "addr", hex: all[0]! };
  let kind = "";
  let parts: readonly string[] = [];
  let suffixes: readonly string[] = [];
  for (let i = labels.length - 1; i >= 0; i--) {
    const l = labels[i]!;
    if (KINDS.has(l)) {
      kind = l;
      parts = labels.slice(0, i);
      suffixes = labels.slice(i + 1);
      break;
    }
    // An SRV question may leave out ".service" in the RFC 2782 form.
    if (srv && l.startsWith("_")) {
      kind = "service";
      parts = labels.slice(0, i + 1);
      suffixes = labels.slice(i + 1);
      break;
    }
  }
  const n = parts.length;
  if (kind === "" || n < 1) return INVALID;
  if (kind === "query") {
    if (suffixes.length > 1) return INVALID;
    const rfc2782 = n >= 2 && parts[0]!.startsWith("_") && parts[n - 1]!.startsWith("_");
    const query = rfc2782 ? parts.slice(0, n - 1).join(".").slice(1) : parts.join(".");
    return { kind: "query", datacenter: suffixes[0] ?? null, query };
  }
  if (kind === "addr") return INVALID;
  const locality = parseLocality(suffixes);
  if (!locality) return INVALID;
  switch (kind) {
    case "service": {
      if (n === 2 && parts[0]!.startsWith("_") && parts[1]!.startsWith("_")) {
        const tag = parts[1]!.slice(1);
        return { kind: "service", locality, service: parts[0]!.slice(1), tag: tag === "tcp" ? "" : tag };
      }
      return { kind: "service", locality, service: parts[n - 1]!, tag: n >= 2 ? parts.slice(0, n - 1).join(".") : "" };
    }
    case "connect":
    case "ingress":
    case "virtual":
      return { kind, locality, service: parts[n - 1]! };
    case "node":
      return { kind: "node", locality, node: parts.join(".") };
  }
  return INVALID;
}

/** The datacenter a (non-peer) lookup is for. */
export function effectiveDatacenter(l: Locality, local: string): string {
  return l.datacenter ?? l.peerOrDatacenter ?? local;
}
