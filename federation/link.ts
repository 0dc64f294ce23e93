/**
 * A link to one other datacenter: a NATS client connection to that
 * datacenter's own NATS servers. Nothing is shared between the two NATS
 * clusters (no gateway, no leaf node, no common JetStream meta layer), so a
 * datacenter that goes away takes nothing of ours with it: its link goes
 * down, calls to it fail at once with "No path to datacenter", and the link
 * comes back by itself when the datacenter does.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { QueuedFrame } from "./batch.ts";
import { type CallOptions, CallMux } from "./call_mux.ts";
import type { ReplyFrame } from "./wire.ts";
import { NoPathError } from "../src/rpc/errors.ts";

/** Opens one connection (one attempt); the connection reconnects by itself afterwards. */
export type Connector = (urls: readonly string[], name: string) => Promise<NatsConnection>;

export interface LinkLog {
  (level: "debug" | "info" | "warn" | "error", message: string): void;
}

/** How long to wait before dialling a datacenter again after a failed attempt. */
const REDIAL_MS = 500;

export class DatacenterLink {
  readonly dc: string;
  private urls: readonly string[];
  private readonly connector: Connector;
  private readonly log: LinkLog;
  private nc: NatsConnection | null = null;
  private up = false;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The calls of the current connection (failed at once when the link drops). */
  private mux: CallMux | null = null;
  /** Counts for metrics: times the link went down and came up. */
  readonly stats = { ups: 0, downs: 0 };

  constructor(dc: string, urls: readonly string[], connector: Connector, log: LinkLog) {
    this.dc = dc;
    this.urls = urls;
    this.connector = connector;
    this.log = log;
  }

  /** Starts dialling; returns at once. */
  start(): void {
    void this.dial();
  }

  /** Whether requests can go out now. */
  isUp(): boolean {
    return this.up && this.nc !== null && !this.nc.isClosed();
  }

  /** The connection to the datacenter's NATS while the link is up (WAN gossip over NATS sends on it). */
  connection(): NatsConnection | null {
    return this.isUp() ? this.nc : null;
  }

  currentUrls(): readonly string[] {
    return this.urls;
  }

  /** New addresses (from WAN gossip): a link that is not up redials with them. */
  setUrls(urls: readonly string[]): void {
    if (urls.length === 0 || sameList(urls, this.urls)) return;
    this.urls = urls;
    if (this.isUp()) return;
    const old = this.nc;
    this.nc = null;
    this.mux?.close();
    this.mux = null;
    if (old) void old.close().catch(() => {});
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    void this.dial();
  }

  /**
   * Sends one request frame (`id` is its id) and waits up to `o.timeoutMs`
   * for its reply frame. Fails with NoPathError when the link is down, drops
   * while waiting, or nobody in the datacenter listens; with RpcError on a
   * timeout or when `signal` aborts.
   */
  request(subject: string, id: number, frame: QueuedFrame, o: CallOptions): Promise<ReplyFrame> {
    const mux = this.mux;
    if (!mux || !this.isUp()) return Promise.reject(new NoPathError());
    return mux.call(subject, id, frame, o);
  }

  /** Publishes without waiting (cancellations); dropped when the link is down. */
  publish(subject: string, body: Uint8Array): void {
    if (!this.isUp()) return;
    try {
      this.nc?.publish(subject, body);
    } catch {
      // The link went down meanwhile; the remote wait ends by its own deadline.
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.markDown(new NoPathError());
    const nc = this.nc;
    this.nc = null;
    this.mux?.close();
    this.mux = null;
    if (nc) await nc.close().catch(() => {});
  }

  private markDown(err: Error): void {
    if (this.up) this.stats.downs++;
    this.up = false;
    this.mux?.failAll(err);
  }

  private async dial(): Promise<void> {
    if (this.closed || this.nc) return;
    const urls = this.urls;
    let nc: NatsConnection;
    try {
      nc = await this.connector(urls, `consulate federation -> ${this.dc}`);
    } catch (err) {
      if (this.closed) return;
      this.log("debug", `federation: cannot reach datacenter ${this.dc} at ${urls.join(", ")}: ${(err as Error).message}`);
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.dial();
      }, REDIAL_MS);
      return;
    }
    if (this.closed || urls !== this.urls || this.nc) {
      await nc.close().catch(() => {});
      if (!this.closed && !this.nc) void this.dial();
      return;
    }
    this.nc = nc;
    this.mux = new CallMux(nc, this.dc);
    this.up = true;
    this.stats.ups++;
    this.log("info", `federation: link to datacenter ${this.dc} up (${nc.getServer()})`);
    void this.watch(nc);
  }

  private async watch(nc: NatsConnection): Promise<void> {
    (async () => {
      for await (const s of nc.status()) {
        if (this.nc !== nc) return;
        if (s.type === "disconnect" || s.type === "reconnecting") {
          if (this.up) this.log("warn", `federation: link to datacenter ${this.dc} down`);
          this.markDown(new NoPathError());
        } else if (s.type === "reconnect") {
          if (!this.up) this.stats.ups++;
          this.up = true;
          this.log("info", `federation: link to datacenter ${this.dc} up again`);
        }
      }
    })().catch(() => {});
    await nc.closed();
    if (this.nc !== nc) return;
    this.markDown(new NoPathError());
    this.nc = null;
    this.mux?.close();
    this.mux = null;
    if (!this.closed) void this.dial();
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
