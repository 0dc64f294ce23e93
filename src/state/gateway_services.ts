/**
 * The services a gateway is linked to (Consul's gateway-services table, read
 * by `/v1/catalog/gateway-services/:gateway`), derived from the gateway's
 * config entry: a `terminating-gateway` entry's Services (the wildcard `*`
 * standing for every registered typical service, a named link overriding it)
 * and an `ingress-gateway` entry's listeners' Services (the wildcard standing
 * for every Connect-enabled service).
 */
import { configKey, CONFIG_TABLE } from "./config_entries.ts";
import { SERVICES } from "./catalog.ts";
import type { Read } from "./catalog_read.ts";
import { cmp, type Tables } from "./tables.ts";

/** One row, with Consul's GatewayService JSON field names. */
export interface GatewayServiceRow {
  readonly Gateway: { readonly Name: string };
  readonly Service: { readonly Name: string };
  readonly GatewayKind: "terminating-gateway" | "ingress-gateway";
  readonly Port?: number;
  readonly Protocol?: string;
  readonly Hosts?: readonly string[];
  readonly CAFile?: string;
  readonly CertFile?: string;
  readonly KeyFile?: string;
  readonly SNI?: string;
  readonly FromWildcard?: boolean;
  /** "service" when the service is registered, "destination" when a service-defaults Destination names it. */
  readonly ServiceKind?: "service" | "destination";
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

interface TerminatingLink {
  Name?: string;
  CAFile?: string;
  CertFile?: string;
  KeyFile?: string;
  SNI?: string;
}

interface IngressListener {
  Port?: number;
  Protocol?: string;
  Services?: { Name?: string; Hosts?: string[] | null }[] | null;
}

const isTypical = (t: Tables, name: string) => name !== "consul" && t.instancesOf(name).some((r) => r.Service.Kind === "");

function connectEnabled(t: Tables, name: string): boolean {
  for (const row of t.services.values()) {
    const s = row.Service;
    if (s.Kind === "connect-proxy" && (s.Proxy as { DestinationServiceName?: unknown }).DestinationServiceName === name) return true;
    if (s.Service === name && (s.Connect as { Native?: unknown }).Native === true) return true;
  }
  return false;
}

function serviceKind(t: Tables, name: string): "service" | "destination" | undefined {
  if (t.instancesOf(name).length > 0) return "service";
  const defaults = t.configEntries.get(configKey("service-defaults", name));
  return defaults && defaults.Entry.Destination ? "destination" : undefined;
}

const omitEmpty = <T extends Record<string, unknown>>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== "" && v !== false && v !== 0)) as T;

/** The gateway's linked services, sorted by name; null when no gateway entry of that name exists (Consul answers null then). */
export function gatewayServices(t: Tables, gateway: string): Read<GatewayServiceRow[] | null> {
  const index = Math.max(t.index(CONFIG_TABLE), t.index(SERVICES), 1);
  const term = t.configEntries.get(configKey("terminating-gateway", gateway));
  const ingress = t.configEntries.get(configKey("ingress-gateway", gateway));
  if (!term && !ingress) return { index, value: null };
  const out: GatewayServiceRow[] = [];
  const base = (row: { CreateIndex: number; ModifyIndex: number }, kind: GatewayServiceRow["GatewayKind"], name: string) => ({
    Gateway: { Name: gateway },
    Service: { Name: name },
    GatewayKind: kind,
    CreateIndex: row.CreateIndex,
    ModifyIndex: row.ModifyIndex,
  });
  if (term) {
    const links = ((term.Entry.Services as TerminatingLink[] | undefined) ?? []).filter((l) => typeof l.Name === "string" && l.Name !== "");
    const named = new Set(links.filter((l) => l.Name !== "*").map((l) => l.Name!));
    const link = (l: TerminatingLink, name: string, fromWildcard: boolean) =>
      out.push({
        ...base(term, "terminating-gateway", name),
        ...omitEmpty({ CAFile: l.CAFile, CertFile: l.CertFile, KeyFile: l.KeyFile, SNI: l.SNI, FromWildcard: fromWildcard, ServiceKind: serviceKind(t, name) }),
      });
    for (const l of links) {
      if (l.Name !== "*") link(l, l.Name!, false);
      else for (const name of t.servicesByName.keys()) if (!named.has(name) && isTypical(t, name)) link(l, name, true);
    }
  }
  if (ingress) {
    for (const l of (ingress.Entry.Listeners as IngressListener[] | undefined) ?? []) {
      const services = (l.Services ?? []).filter((s) => typeof s.Name === "string" && s.Name !== "");
      const named = new Set(services.filter((s) => s.Name !== "*").map((s) => s.Name!));
      const link = (s: { Hosts?: string[] | null }, name: string, fromWildcard: boolean) =>
        out.push({
          ...base(ingress, "ingress-gateway", name),
          ...omitEmpty({ Port: l.Port, Protocol: l.Protocol }),
          ...(s.Hosts && s.Hosts.length > 0 ? { Hosts: s.Hosts } : {}),
          ...omitEmpty({ FromWildcard: fromWildcard, ServiceKind: serviceKind(t, name) }),
        });
      for (const s of services) {
        if (s.Name !== "*") link(s, s.Name!, false);
        else for (const name of t.servicesByName.keys()) if (!named.has(name) && name !== "consul" && connectEnabled(t, name)) link(s, name, true);
      }
    }
  }
  out.sort((a, b) => cmp(a.Service.Name, b.Service.Name) || (a.Port ?? 0) - (b.Port ?? 0));
  return { index, value: out };
}
