/**
 * What a server in a cluster needs from the cluster beyond the shared log:
 * the leadership lease, the list of servers (Consul's Raft configuration),
 * and a way to reach the leader. Implemented on NATS by src/cluster/; a
 * single server has none and leads by itself.
 */

/** A server as `/v1/status/peers` and `/v1/operator/raft/configuration` show it. */
export interface RaftPeer {
  /** Node ID. */
  readonly ID: string;
  readonly Node: string;
  /** "ip:port" of its RPC address. */
  readonly Address: string;
}

export interface ClusterHooks {
  /** The lease was gained (true) or lost (false). */
  onLeadership(leader: boolean): void;
  /** Answers a call forwarded to the leader (only while this server leads). */
  serveLeader(method: string, args: unknown): Promise<unknown>;
}

export interface ClusterRole {
  /** Registers this server and starts campaigning for the lease. */
  start(hooks: ClusterHooks): Promise<void>;
  /** Hands the lease over; with `leave`, also drops this server from the configuration. */
  stop(leave: boolean): Promise<void>;
  /** Holds the lease right now. */
  holdsLease(): boolean;
  /** The lease holder as far as this server knows, or null. */
  leader(): RaftPeer | null;
  peers(): RaftPeer[];
  /** When this server last heard from the cluster (ms since epoch). */
  lastContact(): number;
  /** Calls the leader (Consul forwards Session.Renew there); rejects with "No cluster leader" when there is none. */
  callLeader(method: string, args: unknown): Promise<unknown>;
  /** Drops a server from the configuration; false when none matched. */
  removePeer(by: { readonly id?: string; readonly address?: string }): Promise<boolean>;
}
