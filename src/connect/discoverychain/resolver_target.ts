/**
 * What a service-resolver entry, with the service's service-defaults and the
 * global proxy-defaults, sets on the target it resolves to, and which
 * targets its failover names.
 */
import { type EntryLookup, GraphError } from "../../configentry/graph.ts";
import { arr, n, o, type Obj, s, strs } from "../../configentry/kinds/kind.ts";
import type { DiscoveryTarget, TargetOpts } from "./types.ts";

export const PROXY_DEFAULTS = "proxy-defaults";

/** Consul's ServiceResolverConfigEntry.IsDefault: a resolver that changes nothing. */
export function isDefaultResolver(r: Obj): boolean {
  return (
    s(r, "DefaultSubset") === "" &&
    Object.keys(o(r, "Subsets") ?? {}).length === 0 &&
    o(r, "Redirect") === undefined &&
    Object.keys(o(r, "Failover") ?? {}).length === 0 &&
    n(r, "ConnectTimeout") === 0 &&
    n(r, "RequestTimeout") === 0 &&
    o(r, "LoadBalancer") === undefined
  );
}

/**
 * Sets the target's SNI for an external service (which may have no
 * redirect, subsets or failover), else its mesh gateway mode and
 * transparent-proxy dialing from service-defaults, then proxy-defaults, then
 * `overrideMeshGatewayMode`. Answers whether that override changed the mode.
 */
export function applyServiceDefaults(target: DiscoveryTarget, resolver: Obj, lookup: EntryLookup, overrideMeshGatewayMode: string): boolean {
  const sd = lookup.get("service-defaults", target.Service);
  const externalSni = s(sd, "ExternalSNI");
  if (externalSni !== "") {
    target.SNI = externalSni;
    target.External = true;
    const why = o(resolver, "Redirect") ? "redirects" : Object.keys(o(resolver, "Subsets") ?? {}).length > 0 ? "subsets" : Object.keys(o(resolver, "Failover") ?? {}).length > 0 ? "failover" : "";
    if (why !== "") throw new GraphError(`service ${JSON.stringify(target.Service)} has an external SNI set; cannot define ${why} for external services`);
    target.MeshGateway = { Mode: "" };
    return false;
  }
  const pd = lookup.get(PROXY_DEFAULTS, "global");
  if (sd) {
    target.MeshGateway = { Mode: s(o(sd, "MeshGateway"), "Mode") };
    target.TransparentProxy = { DialedDirectly: o(sd, "TransparentProxy")?.DialedDirectly === true };
  }
  if (pd) {
    if (target.MeshGateway.Mode === "") target.MeshGateway = { Mode: s(o(pd, "MeshGateway"), "Mode") };
    if (!target.TransparentProxy.DialedDirectly) target.TransparentProxy = { DialedDirectly: o(pd, "TransparentProxy")?.DialedDirectly === true };
  }
  if (overrideMeshGatewayMode !== "" && target.MeshGateway.Mode !== overrideMeshGatewayMode) {
    target.MeshGateway = { Mode: overrideMeshGatewayMode };
    return true;
  }
  return false;
}

/** What each target a failover entry names changes from the failing one: per datacenter, per listed target, or one. */
export function failoverRewrites(f: Obj): Partial<TargetOpts>[] {
  const base = { Service: s(f, "Service"), ServiceSubset: s(f, "ServiceSubset"), Namespace: s(f, "Namespace") };
  const dcs = strs(f, "Datacenters");
  if (dcs.length > 0) return dcs.map((dc) => ({ ...base, Datacenter: dc }));
  const targets = arr(f, "Targets");
  if (targets.length > 0) {
    return targets.map((ft) => ({
      Service: s(ft, "Service"),
      ServiceSubset: s(ft, "ServiceSubset"),
      Namespace: s(ft, "Namespace"),
      Partition: s(ft, "Partition"),
      Datacenter: s(ft, "Datacenter"),
      Peer: s(ft, "Peer"),
    }));
  }
  return [base];
}
