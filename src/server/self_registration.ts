/**
 * A server keeps its own node in the catalog: the node, its serfHealth check
 * and an instance of the "consul" service, as every Consul server has.
 */
import type { Command } from "../state/mod.ts";
import type { Tables } from "../state/tables.ts";
import { consulServiceInstance, HealthStatus, SERF_ALIVE_OUTPUT, SERF_CHECK_ID, serfHealthCheck } from "../structs/catalog.ts";
import { CONSUL_VERSION } from "../version.ts";

/** Who this server is, as its catalog entry shows it. */
export interface SelfIdentity {
  readonly datacenter: string;
  readonly nodeName: string;
  readonly nodeId: string;
  readonly advertiseAddr: string;
  readonly serverPort: number;
  readonly nodeMeta?: Record<string, string>;
}

/** Whether the catalog already holds this server as `selfRegistration` would write it. */
export function isSelfRegistered(t: Tables, self: SelfIdentity): boolean {
  const node = t.nodes.get(self.nodeName);
  const serf = t.checks.get(`${self.nodeName}\u0000${SERF_CHECK_ID}`);
  const consul = t.services.get(`${self.nodeName}\u0000consul`);
  return node?.Address === self.advertiseAddr && node.ID === self.nodeId && serf?.Status === HealthStatus.Passing && consul?.Service.Port === self.serverPort;
}

/** The catalog register command for this server's node, "consul" service and serfHealth check. */
export function selfRegistration(self: SelfIdentity, now: number): Command {
  const { nodeName, nodeId, advertiseAddr, datacenter, nodeMeta } = self;
  return {
    Type: 0,
    Now: now,
    Req: {
      ID: nodeId,
      Node: nodeName,
      Address: advertiseAddr,
      Datacenter: datacenter,
      TaggedAddresses: { lan: advertiseAddr, lan_ipv4: advertiseAddr, wan: advertiseAddr, wan_ipv4: advertiseAddr },
      NodeMeta: nodeMeta ?? { "consul-network-segment": "" },
      Service: consulServiceInstance(self.serverPort, { raft_version: "3", serf_protocol_current: "2", serf_protocol_max: "5", serf_protocol_min: "1", version: CONSUL_VERSION }),
      Checks: [serfHealthCheck(nodeName, HealthStatus.Passing, SERF_ALIVE_OUTPUT)],
      SkipNodeUpdate: false,
    },
  };
}
