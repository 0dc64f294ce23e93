/**
 * The control-plane reads a mesh endpoint watches, each one a blocking query
 * through the `/v1` API client: its leaf certificate, the CA roots, the
 * intentions that name it as destination, the service-defaults and
 * proxy-defaults config entries, the healthy instances of an upstream, and a
 * proxy's own registration on the local agent.
 */
import { type Client, parseQueryMeta, type QueryOptions } from "../../src/api/mod.ts";
import type { Intention } from "../../src/structs/intention.ts";
import type { BlockingParams, Fetched } from "./watch.ts";

/** How long one blocking read parks (well under the 300s a Node fetch tolerates). */
export const BLOCK_WAIT_MS = 60_000;

export interface LeafCert {
  SerialNumber: string;
  CertPEM: string;
  PrivateKeyPEM: string;
  Service: string;
  ServiceURI: string;
  ValidAfter: string;
  ValidBefore: string;
  ModifyIndex?: number;
}

export interface CARoot {
  ID: string;
  Name?: string;
  RootCert: string;
  IntermediateCerts?: string[] | null;
  Active: boolean;
}

export interface CARoots {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: CARoot[];
}

export interface IntentionSet {
  readonly intentions: Intention[];
  /** What applies when no intention matches (the agent's X-Consul-Default-ACL-Policy). */
  readonly defaultAllow: boolean;
}

/** The parts of service-defaults / proxy-defaults the data plane acts on. */
export interface ServiceDefaults {
  readonly protocol: string;
  readonly mutualTLSMode: string;
}

export interface UpstreamInstance {
  readonly address: string;
  readonly port: number;
  readonly id: string;
  readonly node: string;
}

function q(p: BlockingParams, extra: QueryOptions = {}): QueryOptions {
  return { ...extra, index: p.index, wait: BLOCK_WAIT_MS, signal: p.signal };
}

export async function fetchLeaf(client: Client, service: string, p: BlockingParams): Promise<Fetched<LeafCert>> {
  const [leaf, meta] = await client.query(`/v1/agent/connect/ca/leaf/${service}`, q(p), (j) => j as LeafCert);
  return { value: leaf, index: meta.lastIndex };
}

export async function fetchRoots(client: Client, p: BlockingParams): Promise<Fetched<CARoots>> {
  const [roots, meta] = await client.query("/v1/agent/connect/ca/roots", q(p), (j) => j as CARoots);
  return { value: { ...roots, Roots: roots.Roots ?? [] }, index: meta.lastIndex };
}

/** A source name no intention is expected to name, used to ask the agent what applies when none matches. */
export const DEFAULT_PROBE_SOURCE = "consulate-default-intention-probe";

/**
 * Intentions whose destination matches `service` (exact and wildcard), in
 * precedence order, plus the agent's answer for a caller no intention names
 * (`default_intention_policy`, else the ACL default), from
 * `/v1/connect/intentions/check` — the HTTP API's view of what Consul hands
 * Envoy as the intentions' default.
 */
export async function fetchIntentions(client: Client, service: string, p: BlockingParams): Promise<Fetched<IntentionSet>> {
  const [byName, meta] = await client.query(
    "/v1/connect/intentions/match",
    q(p),
    (j) => (j ?? {}) as Record<string, Intention[] | null>,
    [["by", "destination"], ["name", service]],
  );
  const intentions = byName[service] ?? [];
  let defaultAllow = meta.defaultACLPolicy !== "deny";
  if (!intentions.some((i) => i.SourceName === "*")) {
    const [check] = await client.query(
      "/v1/connect/intentions/check",
      { signal: p.signal },
      (j) => j as { Allowed?: boolean },
      [["source", DEFAULT_PROBE_SOURCE], ["destination", service]],
    );
    defaultAllow = check.Allowed === true;
  }
  return { value: { intentions, defaultAllow }, index: meta.lastIndex };
}

export interface ConfigEntryWire {
  /** service-defaults RateLimits (instance-level token buckets, applied on the inbound side). */
  RateLimits?: { InstanceLevel?: Record<string, unknown> };
  Protocol?: string;
  MutualTLSMode?: string;
  Config?: Record<string, unknown>;
  MeshGateway?: { Mode?: string };
  /** service-defaults UpstreamConfig: settings for this service's upstreams (Defaults, then the Override naming the upstream). */
  UpstreamConfig?: { Defaults?: Record<string, unknown> | null; Overrides?: Record<string, unknown>[] | null };
  /** A terminating-gateway entry's linked services. */
  Services?: unknown[];
}

/** A config entry, or null when there is none (a 404 still carries the index to block on). */
export async function fetchConfigEntry(client: Client, kind: string, name: string, p: BlockingParams): Promise<Fetched<ConfigEntryWire | null>> {
  const request = { method: "GET" as const, path: `/v1/config/${kind}/${name}`, query: q(p) };
  const response = await client.send(request);
  const meta = parseQueryMeta(response.headers, response.requestTime);
  if (response.status === 404) return { value: null, index: meta.lastIndex };
  client.requireStatus(request, response);
  return { value: client.decode(request, response) as ConfigEntryWire, index: meta.lastIndex };
}

/**
 * Protocol and MutualTLSMode of a service as Consul resolves them:
 * service-defaults first, then proxy-defaults (`Config.protocol`), then tcp/strict.
 */
export function resolveServiceDefaults(service: ConfigEntryWire | null | undefined, proxy: ConfigEntryWire | null | undefined): ServiceDefaults {
  const proxyProtocol = proxy?.Config?.protocol;
  return {
    protocol: (service?.Protocol || (typeof proxyProtocol === "string" ? proxyProtocol : "") || "tcp").toLowerCase(),
    mutualTLSMode: (service?.MutualTLSMode || proxy?.MutualTLSMode || "strict").toLowerCase(),
  };
}

interface HealthEntryWire {
  Node: { Node: string; Address: string };
  Service: { ID: string; Address: string; Port: number };
}

/** Healthy Connect-capable instances (sidecars and native) of `service`. */
export async function fetchUpstream(client: Client, service: string, datacenter: string, p: BlockingParams): Promise<Fetched<UpstreamInstance[]>> {
  const [rows, meta] = await client.query(
    `/v1/health/connect/${service}`,
    q(p, datacenter ? { dc: datacenter } : {}),
    (j) => (j ?? []) as HealthEntryWire[],
    [["passing", "1"]],
  );
  const value = rows.map((r) => ({ address: r.Service.Address || r.Node.Address, port: r.Service.Port, id: r.Service.ID, node: r.Node.Node }));
  return { value, index: meta.lastIndex };
}

export interface AgentServiceWire {
  ID: string;
  Service: string;
  Kind?: string;
  Address: string;
  Port: number;
  Proxy?: Record<string, unknown>;
  Connect?: { Native?: boolean };
  ContentHash?: string;
}

/** One service of the local agent, blocking on its content hash. */
export async function fetchAgentService(client: Client, id: string, p: BlockingParams): Promise<Fetched<AgentServiceWire>> {
  const [svc, meta] = await client.query(`/v1/agent/service/${id}`, { hash: p.hash, wait: BLOCK_WAIT_MS, signal: p.signal }, (j) => j as AgentServiceWire);
  return { value: svc, index: 0, hash: meta.lastContentHash || svc.ContentHash || "" };
}
