/**
 * Parked blocking reads that want the same answer share one wait and one
 * answer (src/http/shared_waits.ts), each keeping its own deadline; and the
 * direct lane groups its KV watchers that way.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { directReads, RequestMetrics } from "../../src/http/mod.ts";
import { DELIVER_TURN, type SharedRead, SharedWaits } from "../../src/http/shared_waits.ts";
import { type DirectAnswer, type DirectHandler, type DirectRequest, LaterAnswer } from "../../src/runtime/mod.ts";
import type { Rpc } from "../../src/rpc/mod.ts";
import { type Harness, startHarness } from "./_harness.ts";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Polls `cond` every 10 ms for up to `ms`. */
async function until(cond: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; ) await sleep(10);
}
const answer = (body: string): DirectAnswer => ({ status: 200, headers: {}, body });

/** A read whose blocking form waits until `release` and counts how often each form ran. */
function fakeRead(): SharedRead & { blockings: number; nows: number; signal: AbortSignal | null; release(a: DirectAnswer | Error): void } {
  let settle: (a: DirectAnswer | Error) => void = () => {};
  const r = {
    blockings: 0,
    nows: 0,
    signal: null as AbortSignal | null,
    blocking(_waitMs: number, signal: AbortSignal): Promise<DirectAnswer> {
      r.blockings++;
      r.signal = signal;
      return new Promise<DirectAnswer>((resolve, reject) => (settle = (a) => (a instanceof Error ? reject(a) : resolve(a))));
    },
    now(): DirectAnswer {
      r.nows++;
      return answer(`now ${r.nows}`);
    },
    release: (a: DirectAnswer | Error) => settle(a),
  };
  return r;
}

/** What a parked read answers, as a promise. */
const answerOf = (a: DirectAnswer | Promise<DirectAnswer> | LaterAnswer | null): Promise<DirectAnswer> =>
  a instanceof LaterAnswer ? new Promise((r) => a.onAnswer(r)) : a === null ? Promise.reject(new Error("not taken")) : Promise.resolve(a);

/** Tracks whether a parked read has been answered. */
function track(p: DirectAnswer | Promise<DirectAnswer> | LaterAnswer | null): { readonly done: () => boolean; readonly value: Promise<DirectAnswer> } {
  let done = false;
  const value = answerOf(p).finally(() => (done = true));
  return { done: () => done, value };
}

describe("SharedWaits", () => {
  test("parks under one id share one blocking read, and every member gets the one answer", async () => {
    const answered: number[] = [];
    const waits = new SharedWaits((started) => answered.push(started));
    const read = fakeRead();
    const a = track(waits.park("k", 30_000, read, 1));
    const b = track(waits.park("k", 60_000, read, 2));
    expect(read.blockings).toBe(1);
    expect(waits.waiting).toBe(1);
    await sleep(20);
    expect(a.done() || b.done()).toBe(false);
    const news = answer("news");
    read.release(news);
    expect(await a.value).toBe(news);
    expect(await b.value).toBe(news);
    expect(answered).toEqual([1, 2]);
    expect(waits.waiting).toBe(0);
    expect(read.nows).toBe(0);
    // The next park under the id waits anew.
    void waits.park("k", 30_000, read, 3);
    expect(read.blockings).toBe(2);
    read.release(news);
  });

  test("different ids wait apart", () => {
    const waits = new SharedWaits(() => {});
    const r1 = fakeRead();
    const r2 = fakeRead();
    void waits.park("a", 30_000, r1, 0);
    void waits.park("b", 30_000, r2, 0);
    expect([r1.blockings, r2.blockings, waits.waiting]).toEqual([1, 1, 2]);
    r1.release(answer("x"));
    r2.release(answer("y"));
  });

  test("one answer reaches each member in the waker's own loop, before any metric; a listener that throws leaves the rest their answer", async () => {
    const events: string[] = [];
    const waits = new SharedWaits((started) => events.push(`metric ${started}`));
    const read = fakeRead();
    const parked = [1, 2, 3].map((i) => waits.park("k", 30_000, read, i) as LaterAnswer);
    for (const p of parked) expect(p).toBeInstanceOf(LaterAnswer);
    parked[0]!.onAnswer(() => events.push("write 1"));
    parked[1]!.onAnswer(() => {
      events.push("write 2");
      throw new Error("socket gone");
    });
    parked[2]!.onAnswer((a) => events.push(`write 3 ${a.body}`));
    read.release(answer("news"));
    // The shared read's own reaction is the only wait: one turn later every member is written.
    await Promise.resolve();
    await Promise.resolve();
    expect(events).toEqual(["write 1", "write 2", "write 3 news", "metric 1", "metric 2", "metric 3"]);
  });

  test("many members are answered a turn of the event loop at a time, each once, every metric recorded", async () => {
    let metrics = 0;
    const waits = new SharedWaits(() => metrics++);
    const read = fakeRead();
    const n = 2 * DELIVER_TURN + 5;
    const written: number[] = [];
    for (let i = 0; i < n; i++) (waits.park("k", 30_000, read, i) as LaterAnswer).onAnswer(() => written.push(i));
    read.release(answer("news"));
    await Promise.resolve();
    await Promise.resolve();
    // The first turn is written in the waker's loop; the others wait for the event loop.
    expect(written.length).toBe(DELIVER_TURN);
    expect(metrics).toBe(DELIVER_TURN);
    await until(() => written.length === n, 2000);
    expect(written.sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(metrics).toBe(n);
    expect(waits.waiting).toBe(0);
  });

  test("a read that does not wait is answered at once, with no group left behind", () => {
    const answered: number[] = [];
    const waits = new SharedWaits((s) => answered.push(s));
    const ready = answer("ready");
    const got = waits.park("k", 30_000, { blocking: () => ready, now: () => answer("never") }, 7);
    expect(got).toBe(ready);
    expect(answered).toEqual([7]);
    expect(waits.waiting).toBe(0);
  });

  test("each member times out on its own wait with a read at once; the last one out cancels the shared read", async () => {
    const waits = new SharedWaits(() => {});
    const read = fakeRead();
    const short = track(waits.park("k", 100, read, 0));
    const long = track(waits.park("k", 1000, read, 0));
    await until(short.done, 900);
    expect(short.done()).toBe(true);
    expect((await short.value).body).toBe("now 1");
    expect(long.done()).toBe(false);
    expect(read.signal?.aborted).toBe(false);
    await until(long.done, 3000);
    expect((await long.value).body).toBe("now 2");
    expect(read.signal?.aborted).toBe(true);
    expect(waits.waiting).toBe(0);
    // The cancelled read answering late reaches nobody.
    read.release(answer("late"));
    await sleep(0);
    expect(read.nows).toBe(2);
  });

  test("a shared read that fails answers each member with a read at once", async () => {
    const waits = new SharedWaits(() => {});
    const read = fakeRead();
    const a = answerOf(waits.park("k", 30_000, read, 0));
    const b = answerOf(waits.park("k", 30_000, read, 0));
    read.release(new Error("gone"));
    expect((await a).body).toBe("now 1");
    expect(await b).toBe(await a);
  });
});

function get(target: string): DirectRequest {
  return { method: "GET", target, header: () => undefined, remoteAddress: () => "127.0.0.1", whenGone: () => {}, body: () => Promise.resolve(new Uint8Array(0)) };
}

describe("the direct lane's parked KV reads", () => {
  let h: Harness;
  let direct: DirectHandler;
  let gets = 0;

  beforeAll(async () => {
    const counting = (rpc: Rpc): Rpc => ({
      call(method, args, opts) {
        if (method === "KVS.Get") gets++;
        return rpc.call(method, args, opts);
      },
    });
    h = await startHarness({ rpc: counting });
    direct = directReads(h.api, new RequestMetrics());
    await h.putJson("/v1/kv/w", "first");
  });
  afterAll(() => h.stop());

  test("watchers of one key and index share one read and one answer; one with a short wait times out alone", async () => {
    const index = Number((await h.get("/v1/kv/w")).headers.get("x-consul-index"));
    const before = gets;
    const plain = Array.from({ length: 20 }, (_, i) => answerOf(direct(get(`/v1/kv/w?index=${index}&wait=${30 + i}s`))));
    const raw = track(direct(get(`/v1/kv/w?raw&index=${index}&wait=30s`)));
    const short = track(direct(get(`/v1/kv/w?index=${index}&wait=100ms`)));
    // One blocking read for the plain ones (the short one joined them), one for ?raw.
    expect(gets - before).toBe(2);
    await until(short.done, 5000);
    expect(short.done()).toBe(true);
    const timedOut = await short.value;
    expect(timedOut.status).toBe(200);
    expect(Number(timedOut.headers["X-Consul-Index"])).toBe(index);
    expect(raw.done()).toBe(false);

    await h.putJson("/v1/kv/w", "second");
    const answers = await Promise.all(plain);
    for (const a of answers) expect(a).toBe(answers[0]!);
    const a = answers[0]!;
    expect(Number(a.headers["X-Consul-Index"])).toBeGreaterThan(index);
    expect(a.headers["X-Consul-Default-Acl-Policy"]).toBe("allow");
    expect(atob(JSON.parse(a.body as string)[0].Value)).toBe("second");
    expect(new TextDecoder().decode((await raw.value).body as Uint8Array)).toBe("second");
  });
});
