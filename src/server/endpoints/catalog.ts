/** Catalog.* endpoints (Consul's agent/consul/catalog_endpoint.go). */
import { blockingRead } from "./read.ts";
import type { Server } from "../server.ts";
import { compileFilter, serviceNodeSchema } from "../../filter/mod.ts";
import type { Near, NodeServicesRow, ServiceNodeRow } from "../../rpc/methods.ts";
import { near } from "./rtt.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { catalogRead, MessageType, nodeTopic, serviceTopic, Topic } from "../../state/mod.ts";
import { virtualIpForService as virtualIpForServiceIn } from "../../state/virtual_ips.ts";
import { type DeregisterRequest, type Node, type RegisterRequest, serviceNodeJson } from "../../structs/catalog.ts";

export async function register(s: Server, req: RegisterRequest): Promise<true> {
  await s.mustWrite({ Type: MessageType.Register, Now: s.clock.now(), Req: req });
  return true;
}

export async function deregister(s: Server, req: DeregisterRequest): Promise<true> {
  await s.mustWrite({ Type: MessageType.Deregister, Now: s.clock.now(), Req: req });
  return true;
}

/** Reachable datacenters, nearest first (this one first). */
export function virtualIpForService(s: Server, a: { readonly ServiceName: string }): string {
  return virtualIpForServiceIn(s.state.t, a.ServiceName);
}

export function listDatacenters(s: Server): string[] {
  if (s.remote) return s.remote.datacenters().map((d) => d.datacenter);
  return [s.config.datacenter];
}

export function listNodes(s: Server, a: Near, o: RequestOptions): MaybePromise<QueryReply<Node[]>> {
  return blockingRead(s, o, () => [Topic.Nodes], () => near(s, a, catalogRead.listNodes(s.state.t), (n) => n.Node));
}

function metaMatches(meta: Record<string, string>, pairs: readonly (readonly [string, string])[]): boolean {
  for (const [k, v] of pairs) if (meta[k] !== v) return false;
  return true;
}

export function listServices(
  s: Server,
  a: { readonly NodeMeta: readonly (readonly [string, string])[]; readonly Filter: string },
  o: RequestOptions,
): MaybePromise<QueryReply<Record<string, string[]>>> {
  // Compiled before blocking, so a bad filter answers at once.
  const pred = a.Filter === "" ? null : compileFilter(a.Filter, serviceNodeSchema);
  return blockingRead(s, o, () => [Topic.Services, Topic.Nodes], () => {
    const t = s.state.t;
    if (pred === null && a.NodeMeta.length === 0) {
      const { index, value } = catalogRead.serviceTags(t);
      return { index, value: Object.fromEntries(value) };
    }
    const { index, value: byName } = catalogRead.listServices(t);
    const out: Record<string, string[]> = {};
    for (const [name, rows] of byName) {
      const tags = new Set<string>();
      let any = false;
      for (const r of rows) {
        const node = t.nodes.get(r.Node);
        if (!node) continue;
        if (a.NodeMeta.length > 0 && !metaMatches(node.Meta, a.NodeMeta)) continue;
        if (pred && !pred(serviceNodeJson(node, r.Service))) continue;
        any = true;
        for (const tag of r.Service.Tags) tags.add(tag);
      }
      if (any) out[name] = [...tags];
    }
    return { index, value: out };
  });
}

export function serviceNodes(s: Server, a: { readonly ServiceName: string } & Near, o: RequestOptions): MaybePromise<QueryReply<ServiceNodeRow[]>> {
  return blockingRead(s, o, () => [serviceTopic(a.ServiceName)], () => near(s, a, catalogRead.serviceNodes(s.state.t, a.ServiceName), (r) => r.node.Node));
}

export function nodeServices(s: Server, a: { readonly Node: string }, o: RequestOptions): MaybePromise<QueryReply<NodeServicesRow | null>> {
  return blockingRead(s, o, () => [nodeTopic(a.Node)], () => catalogRead.nodeWithServices(s.state.t, a.Node));
}
