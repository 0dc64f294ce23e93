/**
 * Validation that crosses entries (Consul's validateProposedConfigEntryInGraph),
 * run inside `apply` against the state as it will be after the write:
 * permissive mTLS needs the mesh entry's consent, an ingress and a terminating
 * gateway cannot share a name, routers and splitters need an HTTP-like
 * protocol, ingress listeners must match their services' protocols, and L7
 * intentions need an HTTP-like destination.
 *
 * A service's protocol is its service-defaults Protocol, else proxy-defaults'
 * Config.protocol, else "tcp" (what Consul's discovery chain compiles to for
 * the chains built here; full chain compilation is not modelled).
 */
import { chainTargets } from "./kinds/chain.ts";
import { PROXY_CONFIG_GLOBAL, proxyDefaultsProtocol } from "./kinds/defaults.ts";
import { ingressServices } from "./kinds/gateways.ts";
import { hasPermissions, referencedJwtProviders } from "./kinds/intentions.ts";
import { b, type EntryBody, HTTP_LIKE, s, WILDCARD } from "./kinds/kind.ts";
import { MESH_NAME } from "./kinds/mesh.ts";

export interface EntryLookup {
  get(kind: string, name: string): EntryBody | undefined;
  list(kind: string): EntryBody[];
}

/** The lookup as it will read once `name` of `kind` is replaced by `entry` (null: deleted). */
function withOverride(base: EntryLookup, kind: string, name: string, entry: EntryBody | null): EntryLookup {
  return {
    get(k, n) {
      if (k === kind && n === name) return entry ?? undefined;
      return base.get(k, n);
    },
    list(k) {
      const rows = base.list(k).filter((e) => !(k === kind && e.Name === name));
      if (k === kind && entry) rows.push(entry);
      return rows;
    },
  };
}

export function serviceProtocol(lookup: EntryLookup, service: string): string {
  const sd = lookup.get("service-defaults", service);
  const p = sd ? s(sd, "Protocol") : "";
  if (p !== "") return p;
  return proxyDefaultsProtocol(lookup.get("proxy-defaults", PROXY_CONFIG_GLOBAL)) || "tcp";
}

interface ChainInfo {
  readonly protocol: string;
  /** A router or splitter heads the chain (else its top node is a resolver). */
  readonly routed: boolean;
}

/** Compiles what the checks need of a service's discovery chain; throws Consul's chain errors. */
function compileChain(lookup: EntryLookup, service: string): ChainInfo {
  const protocol = serviceProtocol(lookup, service);
  const router = lookup.get("service-router", service);
  const splitter = lookup.get("service-splitter", service);
  if ((router || splitter) && !HTTP_LIKE.has(protocol)) {
    throw new GraphError(`discovery chain ${JSON.stringify(service)} uses a protocol ${JSON.stringify(protocol)} that does not permit advanced routing or splitting behavior`);
  }
  for (const e of [router, splitter]) {
    if (!e) continue;
    for (const target of chainTargets(e)) {
      const tp = serviceProtocol(lookup, target);
      if (tp !== protocol) {
        throw new GraphError(`discovery chain ${JSON.stringify(service)} uses inconsistent protocols; service ${JSON.stringify(target)} has ${JSON.stringify(tp)} which is not ${JSON.stringify(protocol)}`);
      }
    }
  }
  return { protocol, routed: router !== undefined || splitter !== undefined };
}

export class GraphError extends Error {
  override readonly name = "GraphError";
}

/**
 * Throws GraphError when writing `entry` (or deleting, when null) as
 * `kind`/`name` would leave the entries inconsistent.
 */
export function validateInGraph(base: EntryLookup, kind: string, name: string, entry: EntryBody | null, existing: EntryBody | null): void {
  switch (kind) {
    case "proxy-defaults":
    case "service-defaults":
      if (entry) checkMutualTLSMode(base, s(entry, "MutualTLSMode"), existing ? s(existing, "MutualTLSMode") : "");
      break;
    case "ingress-gateway":
    case "terminating-gateway": {
      const other = kind === "ingress-gateway" ? "terminating-gateway" : "ingress-gateway";
      if (entry && base.get(other, name)) {
        throw new GraphError(`cannot create a ${JSON.stringify(kind)} config entry with name ${JSON.stringify(name)}, a ${JSON.stringify(other)} config entry with that name already exists`);
      }
      break;
    }
    case "service-intentions":
      if (entry) {
        const missing = referencedJwtProviders(entry);
        if (missing.length > 0) throw new GraphError(`Referenced JWT Provider does not exist. Provider Name: ${missing[0]}`);
      }
      break;
  }
  validateServiceGraph(withOverride(base, kind, name, entry), kind, name, entry);
}

function checkMutualTLSMode(lookup: EntryLookup, newMode: string, existingMode: string): void {
  if (newMode !== "permissive" || existingMode === newMode) return;
  const m = lookup.get("mesh", MESH_NAME);
  if (!(m && b(m, "AllowEnablingPermissiveMutualTLS"))) {
    throw new GraphError("cannot set MutualTLSMode=permissive because AllowEnablingPermissiveMutualTLS=false in the mesh config entry");
  }
}

function validateServiceGraph(lookup: EntryLookup, kind: string, name: string, entry: EntryBody | null): void {
  const chains = new Set<string>();
  const ingresses: EntryBody[] = [];
  const intentions: EntryBody[] = [];
  let strictIngress = false;
  switch (kind) {
    case "exported-services":
    case "mesh":
    case "api-gateway":
    case "http-route":
    case "tcp-route":
    case "inline-certificate":
    case "file-system-certificate":
    case "jwt-provider":
    case "terminating-gateway":
      return;
    case "proxy-defaults":
      for (const k of ["service-router", "service-splitter", "service-resolver"]) for (const e of lookup.list(k)) chains.add(e.Name);
      ingresses.push(...lookup.list("ingress-gateway"));
      intentions.push(...lookup.list("service-intentions"));
      break;
    case "service-intentions":
      if (!entry) return;
      intentions.push(entry);
      break;
    case "ingress-gateway":
      if (!entry) return;
      ingresses.push(entry);
      strictIngress = true;
      break;
    default: {
      // service-defaults and the chain kinds: this chain and everything that points at it.
      chains.add(name);
      intentions.push(...lookup.list("service-intentions"));
      for (const k of ["service-router", "service-splitter", "service-resolver"]) {
        for (const e of lookup.list(k)) if (chainTargets(e).includes(name)) chains.add(e.Name);
      }
      for (const ig of lookup.list("ingress-gateway")) if (ingressServices(ig).some((svc) => svc.name === name)) ingresses.push(ig);
    }
  }
  for (const ig of ingresses) for (const svc of ingressServices(ig)) if (svc.name !== WILDCARD) chains.add(svc.name);
  for (const ixn of intentions) chains.add(ixn.Name);

  const compiled = new Map<string, ChainInfo>();
  for (const svc of [...chains].sort()) compiled.set(svc, compileChain(lookup, svc));

  for (const ig of ingresses) {
    for (const svc of ingressServices(ig)) {
      if (svc.name === WILDCARD) continue;
      const info = compiled.get(svc.name)!;
      if (info.protocol === svc.protocol) continue;
      // A tcp listener may front a non-tcp service whose chain is just a resolver, unless the gateway itself is being written.
      if (strictIngress || svc.protocol !== "tcp" || info.routed) {
        throw new GraphError(`service ${JSON.stringify(svc.name)} has protocol ${JSON.stringify(info.protocol)}, which does not match defined listener protocol ${JSON.stringify(svc.protocol)}`);
      }
    }
  }
  for (const ixn of intentions) {
    if (ixn.Name === WILDCARD || !hasPermissions(ixn)) continue;
    const proto = compiled.get(ixn.Name)!.protocol;
    if (!HTTP_LIKE.has(proto)) {
      throw new GraphError(`service ${JSON.stringify(ixn.Name)} has protocol ${JSON.stringify(proto)}, which is incompatible with L7 intentions permissions`);
    }
  }
}
