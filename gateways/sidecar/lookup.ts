/** Consul's LookupProxyIDForSidecar: the one connect-proxy on the local agent whose Proxy.DestinationServiceID is the service. */
import type { Client } from "../../src/api/mod.ts";
import { errorText } from "../mesh/log.ts";
import { SidecarConfigError } from "./config.ts";

export async function lookupProxyIdForSidecar(client: Client, sidecarFor: string): Promise<string> {
  let services;
  try {
    services = await client.agent().services();
  } catch (err) {
    throw new SidecarConfigError(`Failed looking up sidecar proxy info for ${sidecarFor}: ${errorText(err)}`);
  }
  const ids = Object.values(services)
    .filter((s) => s.Kind === "connect-proxy" && typeof s.Proxy?.DestinationServiceID === "string" && (s.Proxy.DestinationServiceID as string).toLowerCase() === sidecarFor)
    .map((s) => s.ID)
    .sort();
  if (ids.length === 0) throw new SidecarConfigError(`No sidecar proxy registered for ${sidecarFor}`);
  if (ids.length > 1) {
    throw new SidecarConfigError(`More than one sidecar proxy registered for ${sidecarFor}.\n    Start proxy with -proxy-id and one of the following IDs: ${ids.join(", ")}`);
  }
  return ids[0]!;
}
