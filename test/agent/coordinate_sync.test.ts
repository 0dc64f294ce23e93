/** The agent's periodic coordinate update: interval scaling, what it sends, and nothing without gossip. */
import { expect, test } from "bun:test";
import { CoordinateSync, rateScaledInterval } from "../../src/agent/coordinate_sync.ts";
import type { ArgsOf, Method, ReplyOf, RequestOptions, Rpc } from "../../src/rpc/mod.ts";
import type { Coordinate } from "../../src/structs/coordinate.ts";
import { FakeClock } from "../http/_harness.ts";

const COORD: Coordinate = { Vec: [0.001, 0, 0, 0, 0, 0, 0, 0], Error: 0.4, Adjustment: 0, Height: 0.00001 };

class RecordingRpc implements Rpc {
  readonly calls: { method: string; args: unknown; opts: RequestOptions }[] = [];
  fail = false;
  call<M extends Method>(method: M, args: ArgsOf<M>, opts: RequestOptions): Promise<ReplyOf<M>> {
    this.calls.push({ method, args, opts });
    return this.fail ? Promise.reject(new Error("No known Consul servers")) : Promise.resolve(true as ReplyOf<M>);
  }
}

const settle = () => new Promise((r) => setTimeout(r, 0));

test("the interval is 15 s up to 960 members, then grows to keep 64 updates a second", () => {
  expect(rateScaledInterval(64, 15_000, 1)).toBe(15_000);
  expect(rateScaledInterval(64, 15_000, 960)).toBe(15_000);
  expect(rateScaledInterval(64, 15_000, 6400)).toBe(100_000);
});

test("sends the LAN coordinate each interval (plus a stagger), and reports failures", async () => {
  const clock = new FakeClock();
  const rpc = new RecordingRpc();
  const errors: string[] = [];
  let members = 1;
  const sync = new CoordinateSync({
    rpc,
    node: "web-1",
    datacenter: "dc1",
    source: () => ({ coordinate: () => COORD, memberCount: () => members }),
    timers: clock,
    random: () => 0.5,
    onError: (e) => errors.push(e.message),
  });
  expect(sync.nextDelay()).toBe(22_500);
  sync.start();
  clock.advance(22_499);
  expect(rpc.calls).toHaveLength(0);
  clock.advance(1);
  await settle();
  expect(rpc.calls).toEqual([{ method: "Coordinate.Update", args: { Node: "web-1", Segment: "", Coord: COORD }, opts: expect.objectContaining({ datacenter: "dc1" }) }]);
  members = 12_800;
  rpc.fail = true;
  clock.advance(22_500);
  await settle();
  expect(rpc.calls).toHaveLength(2);
  expect(errors).toEqual(["No known Consul servers"]);
  // With 12,800 members the next wait is 200 s + stagger.
  expect(sync.nextDelay()).toBe(300_000);
  clock.advance(299_999);
  await settle();
  expect(rpc.calls).toHaveLength(2);
  clock.advance(1);
  await settle();
  expect(rpc.calls).toHaveLength(3);
  sync.stop();
  expect(clock.pending).toBe(0);
});

test("without a gossip pool (or with coordinates off) nothing is sent", async () => {
  const clock = new FakeClock();
  const rpc = new RecordingRpc();
  const sync = new CoordinateSync({ rpc, node: "n", datacenter: "dc1", source: () => null, timers: clock, random: () => 0 });
  sync.start();
  clock.advance(60_000);
  await settle();
  expect(rpc.calls).toHaveLength(0);
  expect(await sync.sendNow()).toBe(false);
  const none = new CoordinateSync({ rpc, node: "n", datacenter: "dc1", source: () => ({ coordinate: () => null }), timers: clock, random: () => 0 });
  expect(await none.sendNow()).toBe(false);
  sync.stop();
});
