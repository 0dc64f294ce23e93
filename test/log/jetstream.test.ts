/**
 * JetStreamLog against a real 3-node nats-server cluster: ordering across
 * writers, deduplication of a retried append, restart and replay, snapshot +
 * compaction + catch-up, a replica that falls behind a purge, and a NATS node
 * killed while appends are in flight.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { JetStreamLog, type JetStreamLogOptions, type LogEntry, type LogSnapshot, LogUnavailableError } from "../../src/log/mod.ts";
import { startNatsCluster, type NatsCluster } from "../_nats.ts";
import { startTcpProxy, type TcpProxy } from "../_tcp_proxy.ts";

let nats: NatsCluster;
const conns: NatsConnection[] = [];
const logs: JetStreamLog[] = [];
const proxies: TcpProxy[] = [];
let dcSeq = 0;

beforeAll(async () => {
  nats = await startNatsCluster({ noAdvertise: true });
});

afterAll(async () => {
  for (const l of logs) await l.close().catch(() => {});
  for (const c of conns) await c.close().catch(() => {});
  for (const p of proxies) await p.close().catch(() => {});
  await nats?.stop();
});

async function conn(servers: string[] = nats.urls): Promise<NatsConnection> {
  const nc = await connect({ servers, reconnectTimeWait: 100, maxReconnectAttempts: -1, pingInterval: 2000 });
  conns.push(nc);
  return nc;
}

interface Opened {
  readonly log: JetStreamLog;
  readonly seen: LogEntry[];
  readonly restores: LogSnapshot[];
  readonly snapshot: LogSnapshot | null;
  readonly recovered: LogEntry[];
}

async function open(dc: string, opts: Partial<JetStreamLogOptions> = {}, nc?: NatsConnection): Promise<Opened> {
  const log = new JetStreamLog({ nc: nc ?? (await conn()), datacenter: dc, ...opts });
  logs.push(log);
  const { snapshot, entries } = await log.open();
  const seen: LogEntry[] = [];
  const restores: LogSnapshot[] = [];
  log.onCommit((e) => seen.push(e));
  log.onRestore((s) => restores.push(s));
  return { log, seen, restores, snapshot, recovered: [...entries] };
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const newDc = () => `t${process.pid}x${++dcSeq}`;

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("JetStreamLog on a 3-node NATS cluster", () => {
  test("two writers share one order; each append resolves with the stream sequence of the message holding it, after the local consumer saw it", async () => {
    const dc = newDc();
    const a = await open(dc);
    const b = await open(dc);
    const fromA = Array.from({ length: 150 }, (_, i) => `a${i}`);
    const fromB = Array.from({ length: 150 }, (_, i) => `b${i}`);
    const [ia, ib] = await Promise.all([
      Promise.all(fromA.map((s) => a.log.append(enc(s)).then((index) => ({ index, sawIt: a.seen.some((e) => e.index === index) })))),
      Promise.all(fromB.map((s) => b.log.append(enc(s)))),
    ]);
    // Resolved only after the local consumer got the entry.
    expect(ia.every((x) => x.sawIt)).toBe(true);
    await until(() => a.seen.length === 300 && b.seen.length === 300, "both replicas to see 300 entries");
    // One order for both replicas; the index never goes back, and entries that
    // share one (a batch) come in sub order.
    expect(a.seen.map((e) => `${e.index}.${e.sub ?? 0}:${dec(e.data)}`)).toEqual(b.seen.map((e) => `${e.index}.${e.sub ?? 0}:${dec(e.data)}`));
    for (let i = 1; i < a.seen.length; i++) {
      const [p, e] = [a.seen[i - 1]!, a.seen[i]!];
      if (e.index === p.index) expect(e.sub).toBe((p.sub ?? 0) + 1);
      else expect(e.index).toBe(p.index + 1);
    }
    // Under this load the writers batched.
    expect(new Set(a.seen.map((e) => e.index)).size).toBeLessThan(300);
    const jsm = await jetstreamManager(await conn());
    expect((await jsm.streams.info(a.log.names.stream)).state.last_seq).toBe(a.log.lastIndex());
    // The index an append answers is the one its entry was applied at.
    const at = new Map(a.seen.map((e) => [dec(e.data), e.index]));
    for (const [i, s] of fromA.entries()) expect(at.get(s)).toBe(ia[i]!.index);
    for (const [i, s] of fromB.entries()) expect(at.get(s)).toBe(ib[i]!);
    // Entries the other server wrote are marked remote.
    expect(a.seen.filter((e) => e.local).map((e) => dec(e.data)).sort()).toEqual([...fromA].sort());
    expect(b.seen.filter((e) => e.local).map((e) => dec(e.data)).sort()).toEqual([...fromB].sort());
  });

  test("an append retried with the same message id is stored once and answers with the first index", async () => {
    const a = await open(newDc());
    const first = await a.log.appendWithId("writer-1", enc("once"));
    const again = await a.log.appendWithId("writer-1", enc("once"));
    const next = await a.log.append(enc("next"));
    expect(again).toBe(first);
    expect(next).toBe(first + 1);
    expect(a.seen.map((e) => dec(e.data))).toEqual(["once", "next"]);
    expect(a.log.stats().duplicates).toBe(1);
    const jsm = await jetstreamManager(await conn());
    expect((await jsm.streams.info(a.log.names.stream)).state.messages).toBe(2);
  });

  test("a reopened log replays the stream; sync() waits for entries other servers appended", async () => {
    const dc = newDc();
    const a = await open(dc);
    for (let i = 0; i < 20; i++) await a.log.append(enc(`e${i}`));
    await a.log.close();
    const again = await open(dc);
    expect(again.snapshot).toBeNull();
    expect(again.recovered.map((e) => dec(e.data))).toEqual(Array.from({ length: 20 }, (_, i) => `e${i}`));
    expect(again.log.lastIndex()).toBe(20);

    const writer = await open(dc);
    await Promise.all(Array.from({ length: 50 }, (_, i) => writer.log.append(enc(`w${i}`))));
    await again.log.sync();
    expect(again.log.lastIndex()).toBe(writer.log.lastIndex());
    expect(again.seen.map((e) => dec(e.data))).toEqual(writer.seen.map((e) => dec(e.data)));
    expect(again.seen.length).toBe(50);
  });

  test("a snapshot compacts the stream; a new replica starts from it plus the tail", async () => {
    const dc = newDc();
    const a = await open(dc, { trailingEntries: 10 });
    const late = await open(dc, { trailingEntries: 10 });
    for (let i = 1; i <= 50; i++) await a.log.append(enc(`e${i}`));
    await a.log.saveSnapshot({ index: 50, data: enc("state@50") });
    // A server that snapshots an older state afterwards does not replace the newer snapshot.
    await until(() => late.log.lastIndex() === 50, "the second replica to catch up");
    await late.log.saveSnapshot({ index: 45, data: enc("state@45") });
    for (let i = 51; i <= 55; i++) await a.log.append(enc(`e${i}`));
    const jsm = await jetstreamManager(await conn());
    const state = (await jsm.streams.info(a.log.names.stream)).state;
    expect(state.first_seq).toBe(41);
    expect(state.last_seq).toBe(55);
    expect(a.log.entriesSinceSnapshot()).toBe(5);

    const c = await open(dc);
    expect(c.snapshot?.index).toBe(50);
    expect(dec(c.snapshot!.data)).toBe("state@50");
    expect(c.recovered.map((e) => e.index)).toEqual([51, 52, 53, 54, 55]);
  });

  test("a replica cut off while the stream is compacted past it loads the newer snapshot, then goes on", async () => {
    const dc = newDc();
    const a = await open(dc, { trailingEntries: 0 });
    const proxy = await startTcpProxy(nats.nodes[1]!.port);
    proxies.push(proxy);
    const b = await open(dc, { requestTimeoutMs: 500 }, await conn([`nats://127.0.0.1:${proxy.port}`]));
    for (let i = 1; i <= 5; i++) await a.log.append(enc(`e${i}`));
    await until(() => b.seen.length === 5, "b to see the first entries");

    proxy.cut();
    await until(() => !b.log.connected, "b to notice the cut");
    // A cut-off replica refuses default reads rather than answering from old state.
    const refused = await b.log.sync().then(() => null, (err: unknown) => err);
    expect(refused).toBeInstanceOf(LogUnavailableError);
    expect((refused as Error).message).toBe("No cluster leader");
    for (let i = 6; i <= 30; i++) await a.log.append(enc(`e${i}`));
    await a.log.saveSnapshot({ index: 30, data: enc("state@30") });
    const pendingOnB = b.log.append(enc("from-b"));
    proxy.heal();

    const index = await pendingOnB;
    expect(index).toBe(31);
    expect(b.restores.map((s) => s.index)).toEqual([30]);
    expect(dec(b.restores[0]!.data)).toBe("state@30");
    expect(b.seen.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 31]);
    expect(b.log.stats().restores).toBe(1);
    await until(() => a.seen.length === 31, "a to see b's entry");
    expect(dec(a.seen[30]!.data)).toBe("from-b");
  });

  test("appends in flight when the stream leader's NATS node is killed all land exactly once", async () => {
    const dc = newDc();
    const a = await open(dc);
    await a.log.append(enc("first"));
    const jsm = await jetstreamManager(await conn());
    const leader = (await jsm.streams.info(a.log.names.stream)).cluster?.leader;
    const victim = nats.nodes.findIndex((n) => n.name === leader);
    expect(victim).toBeGreaterThanOrEqual(0);

    const payloads = Array.from({ length: 300 }, (_, i) => `p${i}`);
    const inFlight: Promise<number>[] = [];
    for (const [i, p] of payloads.entries()) {
      inFlight.push(a.log.append(enc(p)));
      if (i === 100) await nats.kill(victim);
    }
    const indexes = await Promise.all(inFlight);
    await until(() => a.seen.length === 301, "all entries to be applied", 20_000);
    const at = new Map(a.seen.map((e) => [dec(e.data), e.index]));
    expect(payloads.map((p) => at.get(p))).toEqual(indexes);
    // Publishes were sent again across the election; none was stored twice.
    expect(a.log.stats().retries).toBeGreaterThan(0);
    const bodies = a.seen.slice(1).map((e) => dec(e.data));
    expect([...bodies].sort()).toEqual([...payloads].sort());
    await nats.restart(victim);
    await nats.waitJetStream(victim);
  }, 40_000);
});
