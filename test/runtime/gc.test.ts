/** The agent's heap growth on Node (src/runtime/gc.ts). */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { AGENT_HEAP_GROWING_PERCENT, heapGrowthFlag } from "../../src/runtime/gc.ts";

function decide(runtime: "node" | "other", options: string[]): string[] {
  const set: string[] = [];
  heapGrowthFlag(runtime, options, (f) => set.push(f));
  return set;
}

describe("agent heap growth", () => {
  test("Node gets the bounded factor unless the user named one", () => {
    expect(decide("node", [])).toEqual([`--heap-growing-percent=${AGENT_HEAP_GROWING_PERCENT}`]);
    expect(decide("node", ["--max-old-space-size=512", ""])).toEqual([`--heap-growing-percent=${AGENT_HEAP_GROWING_PERCENT}`]);
    expect(decide("node", ["--heap-growing-percent=300"])).toEqual([]);
    expect(decide("node", ["--heap_growing_percent=50"])).toEqual([]);
    expect(decide("node", ["--enable-source-maps --heap-growing-percent=20"])).toEqual([]);
  });

  test("Bun and Deno are left as they are", () => {
    expect(decide("other", [])).toEqual([]);
  });

  test("this Node's V8 knows the flag (an unknown one would be dropped silently by setFlagsFromString)", () => {
    const r = spawnSync("node", [`--heap-growing-percent=${AGENT_HEAP_GROWING_PERCENT}`, "-e", "0"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const bad = spawnSync("node", ["--heap-growing-percentage=1", "-e", "0"], { encoding: "utf8" });
    expect(bad.status).not.toBe(0);
  });
});
