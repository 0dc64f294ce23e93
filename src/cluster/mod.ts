export { ServerCluster, type ServerClusterOptions } from "./cluster.ts";
export { LeaderLease, type LeaseHolder, type LeaseOptions } from "./lease.ts";
export { ServerRegistry, type ServerRecord } from "./registry.ts";
export { connectNats, defaultNatsSettings, NatsConnectError, type NatsSettings, type NatsTls } from "./nats.ts";
export { callLeader, serveLeader, leaderSubject } from "./leader_rpc.ts";
