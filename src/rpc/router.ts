/**
 * A client agent's RPC: every call goes to one server of its datacenter over
 * the RPC port (Consul's agent/router + agent/pool). The servers come from a
 * source (LAN gossip: members tagged role=consul with their port); they are
 * tried in a shuffled order, and a server that fails is moved to the back, so
 * calls fail over to the next one (Consul's NotifyFailedServer).
 */
import { NoServersError } from "./errors.ts";
import type { ArgsOf, Method, ReplyOf, RequestOptions, Rpc } from "./types.ts";
import { RpcConnection, TransportError } from "./tcp_client.ts";
import type { ClientTls } from "../tls/context.ts";

export interface ServerInfo {
  /** Node name of the server. */
  readonly name: string;
  readonly host: string;
  /** Its RPC port (the `port` member tag). */
  readonly port: number;
}

/** Where the router learns the servers; called on every call, so keep it cheap. */
export interface ServerSource {
  servers(): readonly ServerInfo[];
}

/** A fixed list, for tests and tools that are given a server address. */
export function staticServers(list: readonly ServerInfo[]): ServerSource {
  return { servers: () => list };
}

/**
 * Methods with no side effect: when a connection drops after one was sent,
 * it is safe to ask the next server. A write that went out is never resent
 * (the first server may have applied it); it fails with the transport error.
 */
const READS = new Set<string>([
  "Catalog.ListDatacenters",
  "Catalog.ListNodes",
  "Catalog.ListServices",
  "Catalog.ServiceNodes",
  "Catalog.NodeServices",
  "Catalog.ConnectServiceNodes",
  "Catalog.VirtualIPForService",
  "Health.NodeChecks",
  "Health.ServiceChecks",
  "Health.ChecksInState",
  "Health.ServiceNodes",
  "Health.ConnectServiceNodes",
  "KVS.Get",
  "KVS.List",
  "KVS.ListKeys",
  "Session.Get",
  "Session.List",
  "Session.NodeSessions",
  "Session.Renew",
  "Txn.Read",
  "Status.Leader",
  "Status.Peers",
  "Status.Ping",
  "Internal.DNSLookup",
  "Internal.ServiceDump",
  "Internal.NodeDump",
  "Internal.GatewayServiceDump",
  "Internal.ServiceTopology",
  "Coordinate.ListDatacenters",
  "Coordinate.ListNodes",
  "Coordinate.Node",
  "PreparedQuery.Get",
  "PreparedQuery.List",
  "PreparedQuery.Explain",
  "PreparedQuery.Execute",
  "PreparedQuery.ExecuteRemote",
]);

/** Marks more methods as safe to resend (for endpoints added elsewhere). */
export function markReadOnly(...methods: Method[]): void {
  for (const m of methods) READS.add(m);
}

export interface RouterOptions {
  readonly source: ServerSource;
  readonly random?: () => number;
  readonly connectTimeoutMs?: number;
  readonly callTimeoutMs?: number;
  /** TLS for connections to the servers (asked per new connection). */
  readonly tls?: () => ClientTls | null;
  /** Told when a server fails a call and the router moves on. */
  readonly onFailover?: (server: string, err: Error) => void;
}

const keyOf = (s: ServerInfo): string => `${s.name}@${s.host}:${s.port}`;

export class ServerRouter implements Rpc {
  private readonly o: RouterOptions;
  private readonly random: () => number;
  /** Preference order: the first is used until it fails. */
  private order: ServerInfo[] = [];
  private readonly conns = new Map<string, RpcConnection>();
  /** Retired connections still finishing calls, closed with the router. */
  private readonly draining = new Set<RpcConnection>();
  private closed = false;
  /** Calls that failed over to another server, for tests and metrics. */
  failovers = 0;

  constructor(options: RouterOptions) {
    this.o = options;
    this.random = options.random ?? Math.random;
  }

  /** Servers currently known. */
  knownServers(): number {
    this.refresh();
    return this.order.length;
  }

  /** The server calls go to now, or null. */
  current(): ServerInfo | null {
    this.refresh();
    return this.order[0] ?? null;
  }

  /** Takes in servers that appeared (at a random place) and drops those that went. */
  private refresh(): void {
    const live = this.o.source.servers();
    const keys = new Set(live.map(keyOf));
    const kept = this.order.filter((s) => keys.has(keyOf(s)));
    const have = new Set(kept.map(keyOf));
    for (const s of live) {
      if (have.has(keyOf(s))) continue;
      kept.splice(Math.floor(this.random() * (kept.length + 1)), 0, s);
      have.add(keyOf(s));
    }
    for (const [key, conn] of this.conns) {
      if (!keys.has(key)) {
        conn.close();
        this.conns.delete(key);
      }
    }
    this.order = kept;
  }

  private connection(s: ServerInfo): RpcConnection {
    const key = keyOf(s);
    let c = this.conns.get(key);
    if (!c) {
      c = new RpcConnection({ host: s.host, port: s.port, connectTimeoutMs: this.o.connectTimeoutMs, callTimeoutMs: this.o.callTimeoutMs, ...(this.o.tls ? { tls: this.o.tls } : {}) });
      this.conns.set(key, c);
    }
    return c;
  }

  private demote(s: ServerInfo): void {
    const key = keyOf(s);
    const at = this.order.findIndex((x) => keyOf(x) === key);
    if (at >= 0 && at < this.order.length - 1) this.order = [...this.order.slice(0, at), ...this.order.slice(at + 1), s];
  }

  async call<M extends Method>(method: M, args: ArgsOf<M>, opts: RequestOptions): Promise<ReplyOf<M>> {
    if (this.closed) throw new NoServersError();
    this.refresh();
    const tried = new Set<string>();
    let last: Error | null = null;
    while (tried.size < this.order.length) {
      const s = this.order.find((x) => !tried.has(keyOf(x)));
      if (!s) break;
      tried.add(keyOf(s));
      try {
        return (await this.connection(s).call(method, args, opts)) as ReplyOf<M>;
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        last = err;
        this.demote(s);
        if (err.sent && !READS.has(method)) throw err;
        this.failovers++;
        this.o.onFailover?.(s.name, err);
        this.refresh();
      }
    }
    if (last) throw last;
    throw new NoServersError();
  }

  /**
   * New calls go over new connections; the open ones finish their calls in
   * flight and close. For a changed TLS setting (a renewed auto_encrypt
   * certificate, new roots, a reload), which a connection only reads when it
   * dials.
   */
  retire(): void {
    for (const c of this.conns.values()) {
      c.drain();
      if (c.inFlight > 0) this.draining.add(c);
    }
    this.conns.clear();
    for (const c of this.draining) if (c.inFlight === 0) this.draining.delete(c);
  }

  close(): void {
    this.closed = true;
    for (const c of this.draining) c.close();
    this.draining.clear();
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
  }
}
