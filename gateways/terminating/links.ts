/**
 * The services a terminating gateway carries traffic for, from its
 * `terminating-gateway` config entry: each linked service by name, or every
 * registered typical service through `*` (an entry naming a service overrides
 * the wildcard's settings for it), with how to reach the external instances
 * (plain TCP, or TLS with the entry's CAFile, CertFile, KeyFile and SNI).
 */
import { readFileSync } from "node:fs";
import { createSecureContext, type SecureContext } from "node:tls";

export interface LinkedServiceWire {
  Name?: string;
  Namespace?: string;
  CAFile?: string;
  CertFile?: string;
  KeyFile?: string;
  SNI?: string;
}

export interface Link {
  readonly service: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly sni: string;
}

/** The links an entry makes, given the registered typical services (for `*`). */
export function resolveLinks(services: readonly LinkedServiceWire[] | undefined, typical: readonly string[]): Link[] {
  const out = new Map<string, Link>();
  const toLink = (name: string, w: LinkedServiceWire): Link => ({ service: name, caFile: w.CAFile ?? "", certFile: w.CertFile ?? "", keyFile: w.KeyFile ?? "", sni: w.SNI ?? "" });
  const wildcard = (services ?? []).find((s) => s.Name === "*");
  if (wildcard) for (const name of typical) out.set(name, toLink(name, wildcard));
  for (const s of services ?? []) if (s.Name && s.Name !== "*") out.set(s.Name, toLink(s.Name, s));
  return [...out.values()].sort((a, b) => (a.service < b.service ? -1 : 1));
}

export const linkKey = (l: Link): string => JSON.stringify(l);

/** TLS toward the external service, or null for plain TCP (no CAFile). Files are read once per link. */
export function originationContext(l: Link): SecureContext | null {
  if (l.caFile === "") return null;
  if ((l.certFile === "") !== (l.keyFile === "")) throw new Error(`service ${JSON.stringify(l.service)}: CertFile and KeyFile must be given together`);
  return createSecureContext({
    ca: readFileSync(l.caFile, "utf8"),
    ...(l.certFile ? { cert: readFileSync(l.certFile, "utf8"), key: readFileSync(l.keyFile, "utf8") } : {}),
    minVersion: "TLSv1.2",
  });
}
