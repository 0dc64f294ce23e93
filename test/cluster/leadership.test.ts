/**
 * Leadership of in-process servers sharing a JetStreamLog on a real
 * nats-server: one leader at a time (leases never overlap, even when the
 * holder is cut off from NATS), a fast hand-over on shutdown, session
 * renewals on a follower forwarded to the leader's timers, and leader-only
 * commands fenced by the leader's log index.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { jetstream } from "@nats-io/jetstream";
import { LeaderLease, ServerCluster } from "../../src/cluster/mod.ts";
import { JetStreamLog } from "../../src/log/mod.ts";
import { LEADER_TABLE, MessageType, sessionGet } from "../../src/state/mod.ts";
import { Server } from "../../src/server/mod.ts";
import { FakeClock } from "../_fake_clock.ts";
import { startNatsCluster, type NatsCluster } from "../_nats.ts";
import { startTcpProxy, type TcpProxy } from "../_tcp_proxy.ts";

let nats: NatsCluster;
let dcSeq = 0;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  nats = await startNatsCluster({ size: 1 });
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

afterAll(async () => {
  await nats?.stop();
});

async function conn(url = nats.urls[0]!): Promise<NatsConnection> {
  const nc = await connect({ servers: [url], reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  cleanups.push(() => nc.close());
  return nc;
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startServer(dc: string, name: string, clock: FakeClock, expect = 2): Promise<Server> {
  const nc = await conn();
  const log = new JetStreamLog({ nc, datacenter: dc, replicas: 1 });
  const id = crypto.randomUUID();
  const cluster = await ServerCluster.open({
    nc,
    self: { ID: id, Node: name, Address: `127.0.0.1:${name === "a" ? 8300 : 8301}`, Datacenter: dc, Version: "test" },
    replicas: 1,
    leaseTtlMs: 600,
    bootstrapExpect: expect,
    logContact: () => log.lastContact(),
  });
  const srv = new Server({
    datacenter: dc,
    nodeName: name,
    nodeId: id,
    advertiseAddr: "127.0.0.1",
    serverPort: name === "a" ? 8300 : 8301,
    log,
    cluster,
    clock,
    connect: { enabled: false },
  });
  await srv.start();
  cleanups.push(() => srv.stop());
  return srv;
}

describe("leadership on a shared JetStream log", () => {
  test("exactly one server leads; stopping it hands the lease over within a lease period", async () => {
    const clock = new FakeClock(Date.now());
    const dc = `lead${++dcSeq}`;
    const [a, b] = await Promise.all([startServer(dc, "a", clock), startServer(dc, "b", clock)]);
    await until("a leader", () => a.isLeader() !== b.isLeader());
    const [leader, follower] = a.isLeader() ? [a, b] : [b, a];
    await until("the follower to know the leader", () => follower.leaderAddress() === leader.leaderAddress() && leader.leaderAddress() !== "");
    // The leader fenced before leading: its state's leader index is its fence entry,
    // which the follower applies from the log (asynchronously: it may learn the
    // leader's address from the lease before the entry reaches it).
    expect(leader.state.t.index(LEADER_TABLE)).toBeGreaterThan(0);
    await until("the follower to apply the fence", () => follower.state.t.index(LEADER_TABLE) === leader.state.t.index(LEADER_TABLE));

    const stopped = Date.now();
    await leader.stop();
    await until("the other server to lead", () => follower.isLeader(), 3_000);
    const handover = Date.now() - stopped;
    console.log(`leadership: hand-over on shutdown took ${handover} ms (lease ttl 600 ms)`);
    expect(handover).toBeLessThan(1_500);
  }, 20_000);

  test("a session renewed on a follower stays alive on the leader's timer, and expires 2×TTL after the last renewal", async () => {
    const clock = new FakeClock(Date.now());
    const dc = `lead${++dcSeq}`;
    const [a, b] = await Promise.all([startServer(dc, "a", clock), startServer(dc, "b", clock)]);
    await until("a leader", () => a.isLeader() !== b.isLeader());
    const [leader, follower] = a.isLeader() ? [a, b] : [b, a];
    await until("the leader's own timers", () => leader.isLeader());

    const id = crypto.randomUUID();
    await follower.mustWrite({
      Type: MessageType.Session,
      Now: clock.now(),
      Op: "create",
      Session: { ID: id, Name: "s", Node: follower.config.nodeName, LockDelayMs: 0, Behavior: "release", TTL: "10s", NodeChecks: [], ServiceChecks: [] },
    });
    await until("the leader to arm the session", () => leader.sessions.armedIds().includes(id));
    // Timers run on the leader only.
    expect(follower.sessions.armedIds()).not.toContain(id);

    const alive = () => sessionGet(follower.state.t, id).value.length === 1;
    await clock.advance(15_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(alive()).toBe(true);
    await follower.renewSession(id, "10s"); // forwarded to the leader over NATS
    await clock.advance(10_000); // 25 s after creation: expired by now without the renewal
    await new Promise((r) => setTimeout(r, 200));
    expect(alive()).toBe(true);
    await clock.advance(11_000); // 21 s after the renewal
    await until("the leader to expire the session", () => !alive());
    expect(sessionGet(leader.state.t, id).value).toEqual([]);
  }, 20_000);

  test("a lease holder cut off from NATS steps down before anyone else takes over", async () => {
    const dc = `lease${++dcSeq}`;
    const proxy: TcpProxy = await startTcpProxy(nats.nodes[0]!.port);
    cleanups.push(() => proxy.close());
    const kv = async (nc: NatsConnection) => new Kvm(jetstream(nc, { timeout: 500 })).create(`consulate-${dc}`, { replicas: 1, history: 1 });
    const intervals: { who: string; from: number; to: number }[] = [];
    const open: Record<string, number> = {};
    const track = (who: string) => (leader: boolean) => {
      if (leader) open[who] = Date.now();
      else {
        intervals.push({ who, from: open[who]!, to: Date.now() });
        delete open[who];
      }
    };
    const ncA = await conn(`nats://127.0.0.1:${proxy.port}`);
    const a = new LeaderLease({ kv: await kv(ncA), self: { ID: "a", Node: "a", Address: "a:1" }, ttlMs: 600, onChange: track("a") });
    a.start();
    cleanups.push(() => a.stop());
    await until("a to lead", () => a.isLeader());
    const ncB = await conn();
    const b = new LeaderLease({ kv: await kv(ncB), self: { ID: "b", Node: "b", Address: "b:1" }, ttlMs: 600, onChange: track("b") });
    b.start();
    cleanups.push(() => b.stop());
    await new Promise((r) => setTimeout(r, 800));
    expect(b.isLeader()).toBe(false);
    expect(b.holder()?.ID).toBe("a");

    proxy.cut();
    await until("b to take over", () => b.isLeader(), 5_000);
    expect(a.isLeader()).toBe(false);
    const aStint = intervals.find((i) => i.who === "a");
    expect(aStint).toBeDefined();
    // a had stopped counting itself leader before b started.
    expect(aStint!.to).toBeLessThanOrEqual(open.b!);
    proxy.heal();
    // Back on the network, a learns who leads and does not take the lease back from a live holder.
    await until("a to see b's lease", () => a.holder()?.ID === "b", 5_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(a.isLeader()).toBe(false);
    expect(b.isLeader()).toBe(true);
  }, 20_000);
});
