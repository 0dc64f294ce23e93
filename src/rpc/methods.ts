/**
 * Every server endpoint an agent can call, by Consul's RPC method name, with
 * its arguments and reply. Arguments hold what Consul's request structs hold
 * besides QueryOptions/WriteRequest (those travel as RequestOptions).
 *
 * To add an endpoint: add a line here, write the server function
 * (Server + args + options -> reply) under src/server/endpoints/, and list it
 * in src/server/endpoints/table.ts; the type checker insists on all three.
 * Replies must survive the wire codec: plain JSON plus Uint8Array and bigint
 * (no Map, Set, class instances or undefined inside arrays).
 */
import type { QueryReply } from "./types.ts";
import type { CheckServiceNode, GatewayServiceRow, KvCommandEntry, KvRow, SessionCommandBody, TxnOp, TxnOutcome } from "../state/mod.ts";
import type { DeregisterRequest, HealthCheck, Node, NodeService, RegisterRequest } from "../structs/catalog.ts";
import type { KvVerb } from "../structs/kv.ts";
import type { Session } from "../structs/session.ts";
import type { PreparedQueryResult, ServiceInstance } from "../dns/lookup.ts";
import type { EntryBody } from "../configentry/kinds/kind.ts";
import type { IntentionInput } from "../configentry/intention_view.ts";
import type { StoredConfigEntry } from "../configentry/registry.ts";
import type { Intention } from "../structs/intention.ts";
import type { AutopilotConfigBody, AutopilotConfigRow } from "../structs/autopilot.ts";
import type { AutopilotStateReply, OperatorHealthReply } from "../server/endpoints/autopilot.ts";
import type { CoordinateEntry, CoordinateUpdateRequest, DatacenterMap } from "../structs/coordinate.ts";
import type { CAConfigJson, IndexedCARoots, IssuedCert } from "../structs/connect_ca.ts";
import type { CAConfigUpdate } from "../server/ca_options.ts";
import type { PreparedQuery } from "../structs/prepared_query.ts";
import type { ExecuteArgs, ExecuteRemoteArgs, ExecuteReply } from "../query/execute.ts";
import type { CompiledChain } from "../connect/discoverychain/mod.ts";
import type { NodeInfo, NodesWithGateways, ServiceInfo } from "../state/ui_read.ts";
import type { ServiceTopologyReply } from "../server/endpoints/ui.ts";

/** Consul's structs.SignedResponse: the certificate, the Connect CA roots, the agent CA(s) and whether servers are checked by name. */
export interface AutoEncryptSigned {
  readonly IssuedCert: IssuedCert;
  readonly ConnectCARoots: IndexedCARoots;
  readonly ManualCARoots: readonly string[];
  readonly VerifyServerHostname: boolean;
}

/** Consul's DiscoveryChainRequest besides QueryOptions. */
export interface DiscoveryChainArgs {
  readonly Name: string;
  /** `?compile-dc`; "" compiles for the server's own datacenter. */
  readonly EvaluateInDatacenter: string;
  readonly OverrideProtocol: string;
  /** Nanoseconds. */
  readonly OverrideConnectTimeout: number;
  readonly OverrideMeshGateway: { readonly Mode: string };
}
import type { ACLAuthMethod, ACLBindingRule, ACLPolicy, ACLRole, ACLToken } from "../structs/acl.ts";
import type { AuthMethodStub, LoginArgs } from "../server/endpoints/acl_auth.ts";
import type { ACLReplicationData, ACLReplicationStatus } from "../server/acl_replication.ts";
import type { TokenListArgs, TokenSetArgs } from "../server/endpoints/acl_tokens.ts";
import type { ResolvedToken } from "../server/acl.ts";

interface E<A, R> {
  readonly args: A;
  readonly reply: R;
}

type Empty = Record<string, never>;

/**
 * `?near=`: results sorted by estimated round trip from this node, nearest
 * first, nodes without a coordinate last (Consul's QuerySource.Node).
 */
export interface Near {
  readonly Near?: string;
}

/** One service instance: its node and the service as registered there. */
export interface ServiceNodeRow {
  readonly node: Node;
  readonly service: NodeService;
}

export interface NodeServicesRow {
  readonly node: Node;
  readonly services: NodeService[];
}

/** Consul's structs.RaftConfigurationResponse. */
export interface RaftConfiguration {
  readonly Servers: {
    readonly ID: string;
    readonly Node: string;
    readonly Address: string;
    readonly Leader: boolean;
    readonly ProtocolVersion: string;
    readonly Voter: boolean;
  }[];
  readonly Index: number;
}

export type SessionApplyArgs =
  | { readonly Op: "create"; readonly Session: SessionCommandBody }
  | { readonly Op: "destroy"; readonly ID: string };

/** One question of the DNS interface (a DnsLookup method and its arguments). */
export type DnsLookupOp =
  | { readonly Op: "serviceInstances" | "connectInstances" | "ingressInstances"; readonly Dc: string; readonly Name: string }
  | { readonly Op: "virtualIp"; readonly Dc: string; readonly Name: string }
  | { readonly Op: "node"; readonly Dc: string; readonly Name: string }
  | { readonly Op: "nodes"; readonly Dc: string }
  | { readonly Op: "instancesByAddress"; readonly Dc: string; readonly Address: string }
  | { readonly Op: "servers"; readonly Dc: string }
  | { readonly Op: "preparedQuery"; readonly Dc: string; readonly Name: string; readonly SourceIp: string; readonly Agent?: string };

/** The answer to each DnsLookupOp, in order (the DnsLookup method's return value). */
export type DnsLookupAnswer = ServiceInstance[] | Node | Node[] | PreparedQueryResult | string | null;

export type KeyringOp = "list" | "install" | "use" | "remove";

/** One ring's answer to a keyring operation (Consul's structs.KeyringResponse, as the HTTP API shows it). */
export interface KeyringEntry {
  readonly WAN: boolean;
  readonly Datacenter: string;
  readonly Segment: string;
  /** Errors by member name. */
  readonly Messages: Record<string, string>;
  readonly Keys: Record<string, number>;
  readonly PrimaryKeys: Record<string, number>;
  readonly NumNodes: number;
  readonly NumResp: number;
  readonly NumErr: number;
}

export interface Endpoints {
  "Catalog.Register": E<RegisterRequest, true>;
  "Catalog.Deregister": E<DeregisterRequest, true>;
  "Catalog.ListDatacenters": E<Empty, string[]>;
  "Catalog.ListNodes": E<Near, QueryReply<Node[]>>;
  /** Service name -> union of tags, after the node-meta pairs and the bexpr filter (over ServiceNode). */
  "Catalog.ListServices": E<{ readonly NodeMeta: readonly (readonly [string, string])[]; readonly Filter: string }, QueryReply<Record<string, string[]>>>;
  "Catalog.ServiceNodes": E<{ readonly ServiceName: string } & Near, QueryReply<ServiceNodeRow[]>>;
  /** The node and its services; null value when the node is unknown. */
  "Catalog.NodeServices": E<{ readonly Node: string }, QueryReply<NodeServicesRow | null>>;
  /** Where a mesh client dials `ServiceName`: its sidecar proxies and Connect-native instances. */
  "Catalog.ConnectServiceNodes": E<{ readonly ServiceName: string } & Near, QueryReply<ServiceNodeRow[]>>;
  /** The services a terminating or ingress gateway is linked to (null: no such gateway entry). */
  "Catalog.GatewayServices": E<{ readonly ServiceName: string }, QueryReply<GatewayServiceRow[] | null>>;
  /** The service's virtual IP in this datacenter, "" when it has none (Consul's Catalog.VirtualIPForService). */
  "Catalog.VirtualIPForService": E<{ readonly ServiceName: string }, string>;

  "Health.NodeChecks": E<{ readonly Node: string }, QueryReply<HealthCheck[]>>;
  "Health.ServiceChecks": E<{ readonly ServiceName: string } & Near, QueryReply<HealthCheck[]>>;
  "Health.ChecksInState": E<{ readonly State: string } & Near, QueryReply<HealthCheck[]>>;
  "Health.ServiceNodes": E<{ readonly ServiceName: string } & Near, QueryReply<CheckServiceNode[]>>;
  "Health.ConnectServiceNodes": E<{ readonly ServiceName: string } & Near, QueryReply<CheckServiceNode[]>>;

  "KVS.Get": E<{ readonly Key: string }, QueryReply<KvRow | null>>;
  "KVS.List": E<{ readonly Key: string }, QueryReply<KvRow[]>>;
  "KVS.ListKeys": E<{ readonly Prefix: string; readonly Separator: string }, QueryReply<string[]>>;
  /** true when the write took effect (cas, lock and delete-cas may say false). */
  "KVS.Apply": E<{ readonly Op: KvVerb; readonly Entry: KvCommandEntry }, boolean>;

  /** The session's ID (create fills in ID when it is ""). */
  "Session.Apply": E<SessionApplyArgs, string>;
  "Session.Get": E<{ readonly SessionID: string }, QueryReply<Session[]>>;
  "Session.List": E<Empty, QueryReply<Session[]>>;
  "Session.NodeSessions": E<{ readonly Node: string }, QueryReply<Session[]>>;
  /** Restarts the TTL; throws NotFoundError for an unknown session. */
  "Session.Renew": E<{ readonly SessionID: string }, Session[]>;

  /** A transaction with writes, as one log entry (errors roll it back). */
  "Txn.Apply": E<{ readonly Ops: TxnOp[] }, TxnOutcome>;
  /** A read-only transaction against current state. */
  "Txn.Read": E<{ readonly Ops: TxnOp[] }, QueryReply<TxnOutcome>>;

  /** Upsert (or check-and-set) a config entry; true when it took effect. The server normalizes and validates. */
  "ConfigEntry.Apply": E<{ readonly Op: "upsert" | "upsert-cas"; readonly Entry: EntryBody; readonly Index?: number }, boolean>;
  /** Delete (CAS when `CAS` is given); Deleted says whether it took effect. */
  "ConfigEntry.Delete": E<{ readonly Kind: string; readonly Name: string; readonly CAS?: number }, { readonly Deleted: boolean }>;
  "ConfigEntry.Get": E<{ readonly Kind: string; readonly Name: string }, QueryReply<StoredConfigEntry | null>>;
  "ConfigEntry.List": E<{ readonly Kind: string }, QueryReply<StoredConfigEntry[]>>;
  /** The compiled discovery chain of a service; a chain Consul would refuse throws its graph error. */
  "DiscoveryChain.Get": E<DiscoveryChainArgs, QueryReply<CompiledChain>>;

  /** Intention edits; the reply is the legacy ID for create/update, "" otherwise. */
  "Intention.Apply": E<{ readonly Op: "create" | "update" | "upsert" | "delete"; readonly Intention: IntentionInput }, string>;
  /** By legacy ID or exact (source, destination); NotFoundError "Intention not found" when absent. */
  "Intention.Get": E<{ readonly IntentionID: string } | { readonly Exact: { readonly SourceName: string; readonly DestinationName: string } }, QueryReply<Intention>>;
  "Intention.List": E<{ readonly Filter: string }, QueryReply<Intention[]>>;
  /** For each name, the intentions matching it by source or destination, highest precedence first. */
  "Intention.Match": E<{ readonly Type: "source" | "destination"; readonly Names: readonly string[] }, QueryReply<Intention[][]>>;
  "Intention.Check": E<{ readonly SourceName: string; readonly DestinationName: string; readonly SourceType: string; readonly SourceNS?: string; readonly DestinationNS?: string }, { readonly Allowed: boolean }>;

  /** The trusted roots (public fields only) and the trust domain. */
  "ConnectCA.Roots": E<Empty, QueryReply<IndexedCARoots>>;
  "ConnectCA.ConfigurationGet": E<Empty, QueryReply<CAConfigJson>>;
  /** Stores a CA configuration; one with new key material rotates the root. */
  "ConnectCA.ConfigurationSet": E<{ readonly Config: CAConfigUpdate }, true>;
  /** Signs a leaf CSR (PEM); the reply has no private key (the caller made it). */
  "ConnectCA.Sign": E<{ readonly CSR: string }, IssuedCert>;
  /** auto_encrypt: signs a client agent's CSR with the Connect CA and tells it what to trust (Consul's AutoEncrypt.Sign). */
  "AutoEncrypt.Sign": E<{ readonly CSR: string }, AutoEncryptSigned>;
  /** The primary signs a secondary's self-signed CA certificate (PEM) into an intermediate (PEM) under its active root. */
  "ConnectCA.SignIntermediate": E<{ readonly CSR: string }, string>;

  /** The state as a snapshot archive (gzipped tar: meta.json, state.bin, SHA256SUMS); the index is the snapshot's. */
  "Snapshot.Save": E<Empty, QueryReply<Uint8Array>>;
  /** Replaces the state with an archive's; BadRequestError (and nothing changed) when the archive is bad. */
  "Snapshot.Restore": E<{ readonly Archive: Uint8Array }, true>;

  /** "ip:port" of the leader's RPC address, "" when there is none. */
  "Status.Leader": E<Empty, string>;
  "Status.Peers": E<Empty, string[]>;
  "Status.Ping": E<Empty, true>;

  /**
   * Consulate's own: the DNS interface's catalog questions, answered by a
   * server's lookup (client agents' DNS asks these in one batch per pass).
   */
  /** Broadcasts a user event on the LAN pool (Payload is the encoded event, Name its serf name). */
  "Internal.EventFire": E<{ readonly Name: string; readonly Payload: Uint8Array }, true>;
  /** List, install, use or remove a gossip key on every ring the server is in (WAN first, then LAN). */
  "Internal.KeyringOperation": E<{ readonly Operation: KeyringOp; readonly Key: string; readonly LocalOnly: boolean }, KeyringEntry[]>;
  /** The web UI's whole-catalog reads (Consul's Internal.ServiceDump, NodeDump/NodeInfo, GatewayServiceDump, ServiceTopology). */
  "Internal.ServiceDump": E<Empty, QueryReply<NodesWithGateways>>;
  "Internal.NodeDump": E<{ readonly Node?: string }, QueryReply<NodeInfo[]>>;
  "Internal.GatewayServiceDump": E<{ readonly ServiceName: string }, QueryReply<ServiceInfo[]>>;
  "Internal.ServiceTopology": E<{ readonly ServiceName: string; readonly ServiceKind: string }, QueryReply<ServiceTopologyReply>>;
  "Internal.DNSLookup": E<{ readonly Ops: readonly DnsLookupOp[] }, QueryReply<DnsLookupAnswer[]>>;

  /** Queues a node's LAN coordinate for the next batch; "invalid coordinate" / "incompatible coordinate" when it is unusable. */
  "Coordinate.Update": E<CoordinateUpdateRequest, true>;
  /** Each datacenter's servers with their WAN coordinates. */
  "Coordinate.ListDatacenters": E<Empty, DatacenterMap[]>;
  /** Every LAN coordinate of the datacenter, by node and segment. */
  "Coordinate.ListNodes": E<Empty, QueryReply<CoordinateEntry[]>>;
  /** One node's coordinates (one per segment; none when it has not sent any). */
  "Coordinate.Node": E<{ readonly Node: string }, QueryReply<CoordinateEntry[]>>;

  /** Create, update or delete a prepared query; the reply is its ID (create makes one). */
  "PreparedQuery.Apply": E<{ readonly Op: "create" | "update" | "delete"; readonly Query: PreparedQuery }, string>;
  /** One query by ID, as a list of one; NotFoundError "Query not found" when there is none. */
  "PreparedQuery.Get": E<{ readonly QueryID: string }, QueryReply<PreparedQuery[]>>;
  "PreparedQuery.List": E<Empty, QueryReply<PreparedQuery[]>>;
  /** The query an ID or name resolves to, a template rendered for the name. */
  "PreparedQuery.Explain": E<ExecuteArgs, QueryReply<PreparedQuery>>;
  /** Runs a query here, failing over to other datacenters as it says. */
  "PreparedQuery.Execute": E<ExecuteArgs, QueryReply<ExecuteReply>>;
  /** Runs a query shipped from another datacenter here only (no sorting, no further failover). */
  "PreparedQuery.ExecuteRemote": E<ExecuteRemoteArgs, QueryReply<ExecuteReply>>;

  /** The servers of the datacenter (Consul's Raft configuration). */
  "Operator.RaftGetConfiguration": E<Empty, QueryReply<RaftConfiguration>>;
  /** Drops a server from the configuration by ID or by "ip:port". */
  "Operator.RaftRemovePeer": E<{ readonly ID: string; readonly Address: string }, true>;
  /** The autopilot configuration (Consul's defaults until one is written). */
  "Operator.AutopilotGetConfiguration": E<Empty, QueryReply<AutopilotConfigRow>>;
  /** Stores it; with `CAS`, only if its ModifyIndex is still `CAS`. */
  "Operator.AutopilotSetConfiguration": E<{ readonly Config: AutopilotConfigBody; readonly CAS?: number }, boolean>;
  "Operator.ServerHealth": E<Empty, OperatorHealthReply>;
  "Operator.AutopilotState": E<Empty, AutopilotStateReply>;
  "ACL.BootstrapTokens": E<Empty, ACLToken & { ID: string }>;
  "ACL.TokenSet": E<TokenSetArgs, ACLToken>;
  "ACL.TokenClone": E<{ readonly AccessorID: string; readonly Description: string }, ACLToken>;
  /** `Self`: TokenID is the caller's secret (GET /v1/acl/token/self). */
  "ACL.TokenRead": E<{ readonly TokenID: string; readonly Self: boolean }, QueryReply<ACLToken | null>>;
  "ACL.TokenDelete": E<{ readonly TokenID: string }, string>;
  "ACL.TokenList": E<TokenListArgs, QueryReply<ACLToken[]>>;
  /** The caller's token, resolved to its identity and rules (client agents build their authorizers from it). */
  "ACL.ResolveToken": E<Empty, ResolvedToken>;
  "ACL.PolicySet": E<{ readonly Policy: unknown; readonly Create: boolean; readonly ID?: string }, ACLPolicy>;
  "ACL.PolicyRead": E<{ readonly PolicyID: string; readonly PolicyName: string }, QueryReply<ACLPolicy | null>>;
  "ACL.PolicyList": E<Empty, QueryReply<Omit<ACLPolicy, "Rules">[]>>;
  "ACL.PolicyDelete": E<{ readonly PolicyID: string }, string>;
  "ACL.RoleSet": E<{ readonly Role: unknown; readonly Create: boolean; readonly ID?: string }, ACLRole>;
  "ACL.RoleRead": E<{ readonly RoleID: string; readonly RoleName: string }, QueryReply<ACLRole | null>>;
  "ACL.RoleList": E<{ readonly Policy: string }, QueryReply<ACLRole[]>>;
  "ACL.RoleDelete": E<{ readonly RoleID: string }, string>;
  "ACL.AuthMethodSet": E<{ readonly AuthMethod: unknown; readonly Create: boolean; readonly Name?: string }, ACLAuthMethod>;
  "ACL.AuthMethodRead": E<{ readonly AuthMethodName: string }, QueryReply<ACLAuthMethod | null>>;
  "ACL.AuthMethodList": E<Empty, QueryReply<AuthMethodStub[]>>;
  "ACL.AuthMethodDelete": E<{ readonly AuthMethodName: string }, boolean>;
  "ACL.BindingRuleSet": E<{ readonly BindingRule: unknown; readonly Create: boolean; readonly ID?: string }, ACLBindingRule>;
  "ACL.BindingRuleRead": E<{ readonly BindingRuleID: string }, QueryReply<ACLBindingRule | null>>;
  "ACL.BindingRuleList": E<{ readonly AuthMethod: string }, QueryReply<ACLBindingRule[]>>;
  "ACL.BindingRuleDelete": E<{ readonly BindingRuleID: string }, boolean>;
  /** Verifies a bearer token with an auth method and makes a token of the matching binding rules. */
  "ACL.Login": E<LoginArgs, ACLToken>;
  /** The primary's policies, roles and (`Tokens`) global tokens, for a secondary's replicator. */
  "ACL.ReplicationRead": E<{ readonly Tokens: boolean }, QueryReply<ACLReplicationData>>;
  "ACL.ReplicationStatus": E<Empty, ACLReplicationStatus>;
  /** Deletes the caller's token, if login made it. */
  "ACL.Logout": E<Empty, boolean>;
}

export type { Empty };
