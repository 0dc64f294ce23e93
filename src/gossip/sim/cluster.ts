/**
 * A simulated pool: N real Serf/memberlist members on a SimNetwork in
 * virtual time. Membership can be seeded (as if a join had converged) so
 * that scenarios start from a steady state, and every member-failed event is
 * recorded with its observer, subject and time.
 */
import type { GossipConfig } from "../config.ts";
import { LAN_CONFIG } from "../config.ts";
import { Keyring } from "../keyring.ts";
import { createEnvelope } from "../packet.ts";
import type { Random } from "../random.ts";
import { seededRandom } from "../random.ts";
import { Serf } from "../serf.ts";
import type { Address } from "../transport.ts";
import type { PoolEvent } from "../types.ts";
import { SimClock } from "./clock.ts";
import { NodeExecutor, SimNetwork, nodeClock } from "./network.ts";
import type { SimTransport } from "./network.ts";

export interface SimNode {
  readonly index: number;
  readonly name: string;
  readonly addr: Address;
  readonly serf: Serf;
  readonly exec: NodeExecutor;
  readonly transport: SimTransport;
  /** Killed nodes stop and drop everything. */
  killed: boolean;
}

export interface FailureRecord {
  readonly at: number;
  readonly observer: string;
  readonly subject: string;
}

export interface SimClusterOptions {
  readonly n: number;
  readonly seed: number;
  readonly config?: Partial<GossipConfig>;
  /** One-way delay in ms between node i and j (default 0.5 ms). */
  readonly latencyMs?: (i: number, j: number) => number;
  readonly loss?: number;
  /** Base64 keys: every member gets the same keyring. */
  readonly keys?: readonly string[];
  /** Start with everyone knowing everyone (default true). */
  readonly seeded?: boolean;
  readonly label?: string;
}

export class SimCluster {
  readonly clock: SimClock;
  readonly net: SimNetwork;
  readonly nodes: SimNode[] = [];
  readonly random: Random;
  readonly failures: FailureRecord[] = [];
  readonly config: GossipConfig;
  private readonly byName = new Map<string, SimNode>();
  private readonly byAddr = new Map<string, number>();
  private readonly o: SimClusterOptions;
  /** Listeners attached to every node. */
  readonly listeners: ((node: SimNode, e: PoolEvent) => void)[] = [];

  constructor(o: SimClusterOptions) {
    this.o = o;
    this.clock = new SimClock();
    this.random = seededRandom(o.seed);
    this.config = { ...LAN_CONFIG, ...o.config };
    const lat = o.latencyMs;
    this.net = new SimNetwork({
      clock: this.clock,
      random: seededRandom(o.seed ^ 0x5eed),
      ...(lat ? { latencyMs: (a: Address, b: Address) => lat(this.byAddr.get(a.addr) ?? 0, this.byAddr.get(b.addr) ?? 0) } : {}),
      loss: o.loss ?? 0,
    });
    for (let i = 0; i < o.n; i++) this.addNode(i);
    if (o.seeded !== false) {
      for (const a of this.nodes) for (const b of this.nodes) if (a !== b) a.serf.seedMember(b.name, b.addr, {});
    }
    for (const node of this.nodes) node.serf.start();
  }

  static addressOf(i: number): Address {
    return { addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 7946 };
  }

  private addNode(i: number): SimNode {
    const name = `n${i}`;
    const addr = SimCluster.addressOf(i);
    this.byAddr.set(addr.addr, i);
    const exec = new NodeExecutor(this.clock);
    const transport = this.net.transport(addr, exec);
    const random = seededRandom((this.o.seed * 7919 + i * 104729) >>> 0);
    const clock = nodeClock(this.clock, exec);
    const keyring = this.o.keys && this.o.keys.length > 0 ? Keyring.fromBase64(this.o.keys) : null;
    const envelope = createEnvelope(this.o.label ?? "lan:dc1", keyring, random, () => clock.now(), this.config.replayWindowMs);
    const serf = new Serf({ name, tags: {}, config: this.config, clock, random, transport, envelope, keyring, log: () => {} });
    const node: SimNode = { index: i, name, addr, serf, exec, transport, killed: false };
    serf.on((e) => {
      if (e.type === "member-failed") this.failures.push({ at: this.clock.now(), observer: name, subject: e.member.Name });
      for (const l of this.listeners) l(node, e);
    });
    this.nodes.push(node);
    this.byName.set(name, node);
    return node;
  }

  node(name: string): SimNode {
    const n = this.byName.get(name);
    if (!n) throw new RangeError(`No simulated node "${name}"`);
    return n;
  }

  /** Like kill -9: the node stops at once and its sockets go away. */
  kill(node: SimNode): void {
    node.killed = true;
    node.exec.down = true;
    void node.serf.shutdown();
  }

  alive(): SimNode[] {
    return this.nodes.filter((n) => !n.killed);
  }

  runFor(ms: number, stop?: () => boolean): void {
    this.clock.runFor(ms, stop);
  }

  /**
   * Advances virtual time in steps, letting promise continuations run in
   * between (joins, leaves and queries await between their steps).
   */
  async runAsync(ms: number, stepMs = 50): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      this.clock.runUntil(Math.min(end, this.clock.now() + stepMs));
      await new Promise<void>((r) => setTimeout(r, 0));
    }
  }

  /** Members (alive observers) whose view of `subject` has the given status. */
  countViews(subject: string, status: string): number {
    let c = 0;
    for (const n of this.alive()) {
      if (n.name === subject) continue;
      if (n.serf.members().find((m) => m.Name === subject)?.Status === status) c++;
    }
    return c;
  }

  /** Sum of packets/bytes every node sent. */
  totals(): { packets: number; bytes: number } {
    let packets = 0;
    let bytes = 0;
    for (const n of this.nodes) {
      const s = n.serf.stats();
      packets += s.packetsSent;
      bytes += s.bytesSent;
    }
    return { packets, bytes };
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.serf.shutdown()));
  }
}
