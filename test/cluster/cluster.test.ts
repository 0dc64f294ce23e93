/**
 * Three `consulate agent -server -bootstrap-expect 3 -nats ...` processes on
 * a real 3-node NATS cluster: one leader for all, reads that see writes made
 * on other servers, a server cut off from NATS that refuses default and
 * consistent reads and recovers by itself, failover when a server or a NATS
 * node is killed (times printed), session TTLs enforced after the leader
 * dies, and a wiped server that catches up from the snapshot plus the tail.
 *
 * Server s2 reaches NATS only through TCP relays the test can cut; the NATS
 * nodes do not advertise each other to clients, so it cannot go around them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { startNatsCluster, type NatsCluster } from "../_nats.ts";
import { startTcpProxy, type TcpProxy } from "../_tcp_proxy.ts";
import { eventually, http, startServerCluster, type ServerClusterHandle } from "./_cluster.ts";
import { freePort, startAgent, tempDir } from "../e2e/_agent.ts";

let nats: NatsCluster;
let proxies: TcpProxy[] = [];
let cluster: ServerClusterHandle;

const STREAM = "consulate-log-dc1";

beforeAll(async () => {
  nats = await startNatsCluster({ noAdvertise: true });
  proxies = await Promise.all(nats.nodes.map((n) => startTcpProxy(n.port)));
  cluster = await startServerCluster(nats, {
    natsUrls: (i) => (i === 2 ? proxies.map((p) => `nats://127.0.0.1:${p.port}`) : nats.urls),
    config: { raft_snapshot_threshold: 64, raft_trailing_logs: 16, nats: { lease_ttl: "2s" } },
  });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  for (const p of proxies) await p.close();
  await nats?.stop();
});

const base = (i: number) => cluster.servers[i]!.base;

async function leaderOf(i: number): Promise<string> {
  return (await (await http(`${base(i)}/v1/status/leader`)).json()) as string;
}

/** The leader every live server agrees on. */
async function agreedLeader(live: number[]): Promise<string> {
  return eventually("the servers to agree on a leader", async () => {
    const seen = await Promise.all(live.map(leaderOf));
    return seen[0] !== "" && seen.every((l) => l === seen[0]) ? seen[0]! : null;
  });
}

async function put(i: number, key: string, value: string, timeoutMs = 20_000): Promise<Response> {
  return http(`${base(i)}/v1/kv/${key}`, { method: "PUT", body: value }, timeoutMs);
}

async function getRaw(i: number, key: string, query = ""): Promise<Response> {
  return http(`${base(i)}/v1/kv/${key}?raw${query}`);
}

/** PUTs until one succeeds; returns ms since `since`. */
async function nextWrite(i: number, since: number, key: string, giveUpMs = 60_000): Promise<number> {
  for (let n = 0; ; n++) {
    try {
      const r = await put(i, key, `v${n}`);
      if (r.status === 200 && (await r.text()) === "true") return Date.now() - since;
    } catch {
      // a timed-out request: try again
    }
    if (Date.now() - since > giveUpMs) throw new Error(`no write succeeded within ${giveUpMs / 1000} s`);
  }
}

async function streamLeader(): Promise<number> {
  const nc = await connect({ servers: nats.nodes.filter((n) => n.child !== null).map((n) => n.url) });
  try {
    const jsm = await jetstreamManager(nc);
    const name = (await jsm.streams.info(STREAM)).cluster?.leader;
    return nats.nodes.findIndex((n) => n.name === name);
  } finally {
    await nc.close();
  }
}

describe("a 3-server cluster on a 3-node NATS cluster", () => {
  test("the servers agree on one leader and list each other", async () => {
    const leader = await agreedLeader([0, 1, 2]);
    const addrs = cluster.servers.map((s) => `127.0.0.1:${s.serverPort}`);
    expect(addrs).toContain(leader);
    for (let i = 0; i < 3; i++) {
      const peers = (await (await http(`${base(i)}/v1/status/peers`)).json()) as string[];
      expect([...peers].sort()).toEqual([...addrs].sort());
    }
    const conf = (await (await http(`${base(1)}/v1/operator/raft/configuration`)).json()) as {
      Servers: { Node: string; Address: string; Leader: boolean; Voter: boolean }[];
    };
    expect(conf.Servers.map((s) => s.Node)).toEqual(["s0", "s1", "s2"]);
    expect(conf.Servers.filter((s) => s.Leader).map((s) => s.Address)).toEqual([leader]);
    // Every server registered itself as an instance of the "consul" service.
    const consul = (await (await http(`${base(2)}/v1/catalog/service/consul`)).json()) as { Node: string }[];
    expect(consul.map((c) => c.Node).sort()).toEqual(["s0", "s1", "s2"]);
  }, 30_000);

  test("default and consistent reads on one server see writes acknowledged by another", async () => {
    for (let n = 0; n < 30; n++) {
      const w = n % 3;
      const r = (n + 1) % 3;
      expect(await (await put(w, "rw/key", `value-${n}`)).text()).toBe("true");
      const res = await getRaw(r, "rw/key", n % 2 === 0 ? "" : "&consistent");
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(`value-${n}`);
      expect(res.headers.get("X-Consul-KnownLeader")).toBe("true");
      expect(res.headers.get("X-Consul-Effective-Consistency")).toBe(n % 2 === 0 ? "leader" : "consistent");
    }
    const stale = await getRaw(0, "rw/key", "&stale");
    expect(stale.headers.get("X-Consul-Effective-Consistency")).toBe("stale");
    expect(Number(stale.headers.get("X-Consul-LastContact"))).toBeGreaterThanOrEqual(0);
  }, 30_000);

  test("a client agent forwards to the servers it learned from gossip", async () => {
    const dir = await tempDir("consulate-client-");
    const client = await startAgent([
      "-node",
      "c0",
      "-data-dir",
      dir.path,
      "-serf-lan-port",
      String(await freePort()),
      "-retry-join",
      `127.0.0.1:${cluster.servers[0]!.serfLanPort}`,
    ]);
    try {
      await eventually("the client to reach a server", async () => {
        const r = await http(`${client.base}/v1/kv/client/key`, { method: "PUT", body: "via-client" });
        return r.status === 200 ? true : null;
      });
      const consistent = await http(`${client.base}/v1/kv/client/key?raw&consistent`);
      expect(await consistent.text()).toBe("via-client");
      expect(consistent.headers.get("X-Consul-KnownLeader")).toBe("true");
      // Every server has it, whichever one the client wrote through.
      for (let i = 0; i < 3; i++) expect(await (await getRaw(i, "client/key")).text()).toBe("via-client");
    } finally {
      await client.kill();
      await dir.remove();
    }
  }, 30_000);

  test("a server cut off from NATS refuses default and consistent reads with 500 No cluster leader, serves stale ones, and recovers by itself", async () => {
    expect(await (await put(0, "cut/key", "before")).text()).toBe("true");
    expect(await (await getRaw(2, "cut/key")).text()).toBe("before");
    for (const p of proxies) p.cut();
    try {
      const refused = await eventually("s2 to refuse default reads", async () => {
        const r = await getRaw(2, "cut/key");
        return r.status === 500 ? r : null;
      });
      expect(await refused.text()).toBe("No cluster leader");
      const consistent = await getRaw(2, "cut/key", "&consistent");
      expect(consistent.status).toBe(500);
      expect(await consistent.text()).toBe("No cluster leader");

      // The rest of the cluster goes on.
      expect(await (await put(0, "cut/key", "during")).text()).toBe("true");
      const stale = await getRaw(2, "cut/key", "&stale");
      expect(stale.status).toBe(200);
      expect(await stale.text()).toBe("before");
      await Bun.sleep(300);
      const staler = await getRaw(2, "cut/key", "&stale");
      expect(Number(staler.headers.get("X-Consul-LastContact"))).toBeGreaterThanOrEqual(300);
      // max_stale shorter than the silence: Consul retries the read consistently, which fails here.
      expect((await getRaw(2, "cut/key", "&stale&max_stale=100ms")).status).toBe(500);
    } finally {
      for (const p of proxies) p.heal();
    }
    const healed = await eventually("s2 to serve default reads again", async () => {
      const r = await getRaw(2, "cut/key");
      return r.status === 200 ? r : null;
    });
    expect(await healed.text()).toBe("during");
  }, 40_000);

  test("killing the leader server: writes go on, another server leads, and session TTLs are still enforced", async () => {
    const leader = await agreedLeader([0, 1, 2]);
    const victim = cluster.servers.findIndex((s) => `127.0.0.1:${s.serverPort}` === leader);
    const live = [0, 1, 2].filter((i) => i !== victim);
    const writer = live[0]!;
    // A session with the shortest TTL Consul allows, holding a lock. It belongs
    // to a server that stays up (a session on the killed node would end with
    // that node's serfHealth, not its TTL).
    const created = Date.now();
    const sid = ((await (await http(`${base(writer)}/v1/session/create`, { method: "PUT", body: JSON.stringify({ TTL: "10s", Name: "ttl" }) })).json()) as { ID: string })
      .ID;
    expect(await (await http(`${base(writer)}/v1/kv/lock?acquire=${sid}`, { method: "PUT", body: "held" })).text()).toBe("true");
    const killed = Date.now();
    await cluster.kill(victim);
    const writeMs = await nextWrite(writer, killed, "failover/server");
    const newLeader = await eventually("a new leader", async () => {
      const seen = await Promise.all(live.map(leaderOf));
      return seen[0] !== "" && seen[0] !== leader && seen.every((l) => l === seen[0]) ? seen[0]! : null;
    });
    const electedMs = Date.now() - killed;
    console.log(`failover: leader server killed -> next successful write ${writeMs} ms, new leader ${newLeader} known after ${electedMs} ms`);
    expect(writeMs).toBeLessThan(5_000);
    expect(electedMs).toBeLessThan(10_000);

    // The session outlived its holder's leader but not its TTL: the new leader expires it.
    const sessionOf = async () => (await (await http(`${base(writer)}/v1/session/info/${sid}`)).json()) as unknown[];
    expect((await sessionOf()).length).toBe(1);
    await eventually("the session to be invalidated by the new leader", async () => ((await sessionOf()).length === 0 ? true : null), 45_000);
    const invalidatedAfter = Date.now() - created;
    console.log(`failover: TTL 10s session invalidated ${invalidatedAfter} ms after creation (2×TTL from the new leader's takeover)`);
    expect(invalidatedAfter).toBeGreaterThanOrEqual(20_000);
    const lock = (await (await http(`${base(writer)}/v1/kv/lock`)).json()) as { Session?: string }[];
    expect(lock[0]!.Session ?? "").toBe("");

    await cluster.restart(victim);
    expect(await (await getRaw(victim, "failover/server")).text()).toMatch(/^v\d+$/);
  }, 90_000);

  test("killing NATS nodes: writes go on (time to the next write printed)", async () => {
    const cases: { what: string; node: number; stop: (i: number) => Promise<void>; boundMs: number }[] = [];
    const leaderNode = await streamLeader();
    cases.push({ what: "a NATS node that is not the stream leader (SIGKILL)", node: [0, 1, 2].find((i) => i !== leaderNode)!, stop: (i) => nats.kill(i), boundMs: 5_000 });
    for (const c of cases) await measure(c);
    // Graceful: nats-server usually hands its Raft leaderships over before it exits (not always at once).
    const leaderNow = await streamLeader();
    await measure({ what: "the stream leader's NATS node (SIGTERM)", node: leaderNow, stop: (i) => nats.terminate(i), boundMs: 45_000 });
    // SIGKILL of the stream leader: JetStream elects only after its Raft election timeout (4-9 s, not
    // configurable in 2.9; seen up to 20 s when a round splits), so the bound that matters is the one
    // relative to JetStream's own re-election, checked in measure(). On a loaded two-core machine
    // JetStream's own re-election has taken 34 s and more, so the absolute bound here only says the
    // cluster comes back at all; the 2.5 s over JetStream's election is what is ours.
    const leaderThen = await streamLeader();
    await measure({ what: "the stream leader's NATS node (SIGKILL)", node: leaderThen, stop: (i) => nats.kill(i), boundMs: 120_000 });
    // Every server still serves what was written.
    for (let i = 0; i < 3; i++) {
      expect(await eventually(`s${i} to answer`, async () => ((await getRaw(i, "failover/nats")).status === 200 ? true : null), 20_000)).toBe(true);
    }

    async function measure(c: { what: string; node: number; stop: (i: number) => Promise<void>; boundMs: number }): Promise<void> {
      const before = nats.nodes[await streamLeader()]!.name;
      const stopped = Date.now();
      await c.stop(c.node);
      // The floor: when JetStream itself has a stream leader again, seen by a plain client.
      let electedMs = -1;
      const watching = (async () => {
        const nc = await connect({ servers: nats.nodes.filter((_, i) => i !== c.node).map((n) => n.url) });
        const jsm = await jetstreamManager(nc, { timeout: 500, checkAPI: false });
        while (Date.now() - stopped < Math.max(60_000, c.boundMs)) {
          const leader = await jsm.streams.info(STREAM).then((i) => i.cluster?.leader ?? "", () => "");
          if (leader !== "" && (leader !== nats.nodes[c.node]!.name || before !== nats.nodes[c.node]!.name)) {
            electedMs = Date.now() - stopped;
            break;
          }
          await Bun.sleep(50);
        }
        await nc.close();
      })();
      const ms = await nextWrite(0, stopped, "failover/nats", Math.max(60_000, c.boundMs));
      await watching;
      console.log(`failover: stopped ${c.what} -> next successful write ${ms} ms (JetStream had a stream leader again after ${electedMs} ms)`);
      expect(ms).toBeLessThan(c.boundMs);
      // Whatever JetStream needs, the servers add little on top of it.
      expect(ms).toBeLessThan(Math.max(electedMs, 0) + 2_500);
      await nats.restart(c.node);
      await nats.waitJetStream(c.node);
    }
  }, 300_000);

  test("a wiped server catches up from the snapshot plus the tail and serves the same data", async () => {
    await cluster.kill(1);
    const { rm } = await import("node:fs/promises");
    await rm(cluster.servers[1]!.dataDir, { recursive: true, force: true });
    // Enough log entries to pass the snapshot threshold (64) several times
    // (one at a time: concurrent writes would share batched entries).
    for (let n = 0; n < 200; n++) await put(0, `wipe/k${String(n).padStart(3, "0")}`, `v${n}`);
    for (let n = 0; n < 5; n++) {
      const body = { Node: `ext${n}`, Address: `10.0.0.${n + 1}`, Service: { Service: "db", Port: 5432 + n, Tags: [`t${n}`] } };
      expect((await http(`${base(2)}/v1/catalog/register`, { method: "PUT", body: JSON.stringify(body) })).status).toBe(200);
    }
    // Compacted past the first of those keys: it now lives only in the snapshot.
    const firstIndex = ((await (await http(`${base(0)}/v1/kv/wipe/k000`)).json()) as { ModifyIndex: number }[])[0]!.ModifyIndex;
    const nc = await connect({ servers: nats.urls });
    const jsm = await jetstreamManager(nc);
    const first = await eventually("the leader to snapshot and compact the stream", async () => {
      const f = (await jsm.streams.info(STREAM)).state.first_seq;
      return f > firstIndex ? f : null;
    }, 20_000).catch((err) => {
      // What the servers said about their snapshots (a failed save is logged and retried).
      for (const s of cluster.servers) console.log(`wipe: ${s.name}: ${(s.proc?.output() ?? "").split("\n").filter((l) => /snapshot/i.test(l)).slice(-10).join("\n")}`);
      throw err;
    });
    await nc.close();
    console.log(`wipe: the stream starts at entry ${first}; the first key was written at ${firstIndex}`);

    await cluster.restart(1, { wipe: true });
    // Writes may still come after the restart (the leader marks s1's serfHealth passing once it gossips again), so
    // one pair of reads may straddle one: the dumps must agree once both servers have applied the same writes.
    // A restored server that diverged never does.
    const dumps = ["/v1/kv/?recurse", "/v1/catalog/nodes", "/v1/catalog/services", "/v1/health/state/any", "/v1/catalog/service/db"];
    for (const path of dumps) {
      const seen = await eventually(`${path} to read the same on the restored server as on s0`, async () => {
        const [a, b] = await Promise.all([http(`${base(0)}${path}`), http(`${base(1)}${path}`)]);
        expect(b.status).toBe(200);
        const [ta, tb] = [await a.text(), await b.text()];
        if (ta !== tb) console.log(`wipe: ${path} differs for now (X-Consul-Index ${a.headers.get("X-Consul-Index")} on s0, ${b.headers.get("X-Consul-Index")} on s1)`);
        return ta === tb ? ta : null;
      }, 10_000);
      expect(seen.length).toBeGreaterThan(2);
    }
    const keys = (await (await http(`${base(1)}/v1/kv/wipe/?keys`)).json()) as string[];
    expect(keys.length).toBe(200);
  }, 60_000);
});
