/**
 * Federation: many datacenters, each with its own NATS and JetStream, linked
 * by NATS client connections and WAN gossip. See federation/README.md.
 */
export { defaultFederationSettings, type FederationSettings, FederationConfigError, federationNatsFlag, mergeFederationBlock } from "./config.ts";
export { type DatacenterDistance, datacentersByDistance, type LinkState } from "./datacenters.ts";
export { Federation, type FederationOptions } from "./federation.ts";
export { type Connector, DatacenterLink } from "./link.ts";
export { DatacenterLinks, NATS_TAG, natsUrlsOf } from "./links.ts";
export { type Responder, serveDatacenter } from "./responder.ts";
export { CROSS_DC_TIMEOUT_MS, FederatedRpc, forward } from "./rpc.ts";
export { cancelSubject, isDatacenterName, rpcQueue, rpcSubject } from "./subjects.ts";
export { startFederation, type StartFederationOptions } from "./start.ts";
export { addressToken, NatsGossipTransport } from "./wan_gossip.ts";
