export { handleDns, type DnsContext, type DnsReply, type Transport } from "./handler.ts";
export { type DnsLookup, type PreparedQueryResult, type ServiceInstance } from "./lookup.ts";
export { StateDnsLookup, type StateLookupOptions, type StateSource } from "./state_lookup.ts";
export {
  type DnsConfig,
  DnsConfigError,
  type DnsOptions,
  defaultDnsOptions,
  mergeDnsOptions,
  recursorAddress,
  resolveDnsConfig,
  type RecursorStrategy,
  serviceTtlSeconds,
} from "./config.ts";
export { type Recursor, UpstreamRecursor, type UpstreamOptions } from "./recursor.ts";
export { parseQuery, type ParsedQuery, type Query, Rcode, RType } from "./wire.ts";
export { type DnsHandle, type DnsListener, DnsListenError, type DnsServerOptions, type DnsServerStats, listenDns } from "./server.ts";
export { type AgentDnsOptions, dnsReadOptions, type RunningDns, startAgentDns } from "./agent_dns.ts";
export { DatagramQueue } from "./queue.ts";
export { AnswerCache } from "./answer_cache.ts";
export { dnsResult, QueryingLookup, type QueryRunner, rpcQueryRunner } from "./query_lookup.ts";
