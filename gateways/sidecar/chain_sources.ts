/** The control-plane reads that drive a chain-following upstream: the compiled chain and the instances of each target. */
import type { Client, CompiledDiscoveryChainWire } from "../../src/api/mod.ts";
import type { Instance } from "../l7/engine.ts";
import type { TargetPlan } from "../l7/plan.ts";
import { BLOCK_WAIT_MS } from "../mesh/sources.ts";
import type { BlockingParams, Fetched } from "../mesh/watch.ts";

/** The compiled chain (POST with OverrideProtocol when the upstream's config names a protocol). */
export async function fetchChain(client: Client, service: string, datacenter: string, p: BlockingParams, overrideProtocol = ""): Promise<Fetched<CompiledDiscoveryChainWire>> {
  const opts = { ...(datacenter ? { evaluateInDatacenter: datacenter } : {}), ...(overrideProtocol ? { overrideProtocol } : {}) };
  const [chain, meta] = await client.discoveryChain().get(service, opts, { index: p.index, wait: BLOCK_WAIT_MS, signal: p.signal });
  return { value: chain, index: meta.lastIndex };
}

interface HealthRow {
  Node: { Node: string; Address: string };
  Service: { ID: string; Address: string; Port: number };
  Checks?: { Status: string }[];
}

/**
 * Connect-capable instances of a target: its subset Filter applied by the
 * agent, critical ones dropped, and warning ones too when the subset is
 * OnlyPassing (as Consul marks them for Envoy).
 */
export async function fetchTargetInstances(client: Client, t: TargetPlan, p: BlockingParams): Promise<Fetched<Instance[]>> {
  const [rows, meta] = await client.query(
    `/v1/health/connect/${t.service}`,
    { index: p.index, wait: BLOCK_WAIT_MS, signal: p.signal, ...(t.datacenter ? { dc: t.datacenter } : {}), ...(t.filter ? { filter: t.filter } : {}) },
    (j) => (j ?? []) as HealthRow[],
  );
  const value = rows
    .filter((r) => (r.Checks ?? []).every((c) => c.Status === "passing" || (!t.onlyPassing && c.Status === "warning")))
    .map((r) => ({ address: r.Service.Address || r.Node.Address, port: r.Service.Port }));
  return { value, index: meta.lastIndex };
}
