/** KeyGroups (src/state/key_groups.ts): small arrays and large sets against a model. */
import { describe, expect, test } from "bun:test";
import { KeyGroups } from "../../src/state/key_groups.ts";
import { seeded } from "../dns/_fixture.ts";

describe("key groups", () => {
  test("membership follows random adds and removes, through the array-to-set switch and back to empty", () => {
    const g = new KeyGroups();
    const model = new Map<string, Set<string>>();
    const random = seeded(5);
    for (let step = 0; step < 20000; step++) {
      // One name grows well past the array size, the others stay small.
      const name = random() < 0.5 ? "big" : `n${Math.floor(random() * 4)}`;
      const key = `k${Math.floor(random() * (name === "big" ? 80 : 6))}`;
      const set = model.get(name) ?? new Set<string>();
      if (random() < (name === "big" && step < 10000 ? 0.7 : 0.45)) {
        g.add(name, key);
        set.add(key);
      } else {
        g.remove(name, key);
        set.delete(key);
      }
      if (set.size > 0) model.set(name, set);
      else model.delete(name);
      expect(g.has(name)).toBe(model.has(name));
      expect([...(g.get(name) ?? [])].sort()).toEqual([...(model.get(name) ?? [])].sort());
    }
    expect(g.size).toBe(model.size);
    g.remove("absent", "k1");
    expect(g.has("absent")).toBe(false);
  });
});
