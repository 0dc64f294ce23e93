import { expect, test } from "bun:test";
import { DropCounter } from "../../src/gossip/drops.ts";
import { emptyStats } from "../../src/gossip/serf.ts";

test("drops are counted by reason and logged at debug, at most once a second per reason", () => {
  let now = 0;
  const lines: string[] = [];
  const stats = emptyStats();
  const drops = new DropCounter(stats, (level, msg) => lines.push(`${level} ${msg}`), { now: () => now } as never);
  for (let i = 0; i < 50; i++) drops.drop("replayed", "10.0.0.9:8301");
  drops.drop("unknownKey", "10.0.0.8:8301");
  expect(stats.dropped.replayed).toBe(50);
  expect(stats.dropped.unknownKey).toBe(1);
  expect(lines).toEqual(["debug Dropped a gossip message from 10.0.0.9:8301: replayed", "debug Dropped a gossip message from 10.0.0.8:8301: unknownKey"]);
  now = 1500;
  drops.drop("replayed", "10.0.0.9:8301");
  expect(lines[2]).toBe("debug Dropped a gossip message from 10.0.0.9:8301: replayed (and 49 more since the last report)");
});
