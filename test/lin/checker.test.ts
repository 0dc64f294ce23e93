/** The linearizability checker against histories whose verdict is known. */
import { describe, expect, test } from "bun:test";
import { checkLinearizable, type KvInput, type KvOutput, kvRegisterModel, type Operation } from "./checker.ts";

type Op = Operation<KvInput, KvOutput>;
const get = (client: number, start: number, end: number, output: string | null | undefined, key = "k"): Op => ({
  client,
  input: { key, op: "get" },
  output,
  start,
  end,
});
const put = (client: number, start: number, end: number, value: string, key = "k"): Op => ({
  client,
  input: { key, op: "put", value },
  output: end === Infinity ? undefined : true,
  start,
  end,
});
const cas = (client: number, start: number, end: number, expect: string | null, value: string, output: boolean | undefined, key = "k"): Op => ({
  client,
  input: { key, op: "cas", expect, value },
  output,
  start,
  end,
});
const check = (ops: Op[]) => checkLinearizable(kvRegisterModel, ops).result;

describe("known linearizable histories are accepted", () => {
  test("sequential put then get", () => {
    expect(check([put(0, 0, 1, "a"), get(0, 2, 3, "a")])).toBe("ok");
  });

  test("a read concurrent with a write may see either value", () => {
    expect(check([put(0, 0, 10, "a"), get(1, 1, 2, null)])).toBe("ok");
    expect(check([put(0, 0, 10, "a"), get(1, 1, 2, "a")])).toBe("ok");
  });

  test("Porcupine's example: two reads inside one write, the earlier-ending one sees the old value", () => {
    expect(check([put(0, 0, 100, "200"), get(1, 25, 75, "200"), get(2, 30, 60, null)])).toBe("ok");
  });

  test("CAS: one of two racing creates wins, the other fails", () => {
    expect(check([cas(0, 0, 10, null, "x", true), cas(1, 1, 9, null, "y", false), get(2, 11, 12, "x")])).toBe("ok");
  });

  test("CAS chain on values read", () => {
    expect(
      check([put(0, 0, 1, "a"), get(1, 2, 3, "a"), cas(1, 4, 5, "a", "b", true), cas(0, 4, 6, "a", "c", false), get(2, 7, 8, "b")]),
    ).toBe("ok");
  });

  test("an ambiguous write may have happened...", () => {
    expect(check([put(0, 0, Infinity, "x"), get(1, 5, 6, "x"), get(1, 7, 8, "x")])).toBe("ok");
  });

  test("...or not", () => {
    expect(check([put(0, 0, Infinity, "x"), get(1, 5, 6, null), get(1, 7, 8, null)])).toBe("ok");
  });

  test("...or later than any completed read", () => {
    expect(check([put(0, 0, Infinity, "x"), get(1, 5, 6, null), get(1, 7, 8, "x")])).toBe("ok");
  });

  test("an ambiguous CAS is judged by whether it could apply", () => {
    expect(check([put(0, 0, 1, "a"), cas(0, 2, Infinity, "a", "b", undefined), get(1, 3, 4, "b")])).toBe("ok");
  });

  test("ops given out of order, independent keys", () => {
    const ops = [get(1, 7, 8, "2", "k2"), put(0, 0, 1, "1", "k1"), put(0, 2, 3, "2", "k2"), get(1, 4, 5, "1", "k1")];
    const r = checkLinearizable(kvRegisterModel, ops);
    expect(r).toEqual({ result: "ok", partitions: 2, ops: 4 });
  });
});

describe("known non-linearizable histories are rejected", () => {
  test("a stale read after a completed write", () => {
    expect(check([put(0, 0, 1, "a"), put(0, 2, 3, "b"), get(1, 4, 5, "a")])).toBe("illegal");
  });

  test("Porcupine's example: a read after a read that saw the write sees the old value", () => {
    expect(check([put(0, 0, 100, "200"), get(1, 10, 30, "200"), get(2, 40, 90, null)])).toBe("illegal");
  });

  test("a value nobody wrote", () => {
    expect(check([put(0, 0, 10, "a"), get(1, 1, 2, "zzz")])).toBe("illegal");
  });

  test("a lost acknowledged write", () => {
    expect(check([put(0, 0, 1, "a"), get(1, 5, 6, null)])).toBe("illegal");
  });

  test("two racing creates both win", () => {
    expect(check([cas(0, 0, 10, null, "x", true), cas(1, 1, 9, null, "y", true)])).toBe("illegal");
  });

  test("a CAS that failed although its expectation held throughout", () => {
    expect(check([put(0, 0, 1, "a"), cas(1, 2, 3, "a", "b", false)])).toBe("illegal");
  });

  test("an ambiguous write seen, then unseen", () => {
    expect(check([put(0, 0, Infinity, "x"), get(1, 5, 6, "x"), get(1, 7, 8, null)])).toBe("illegal");
  });

  test("one bad key among good ones is found and named", () => {
    const ops = [put(0, 0, 1, "1", "good"), get(1, 2, 3, "1", "good"), put(0, 0, 1, "a", "bad"), put(0, 2, 3, "b", "bad"), get(1, 4, 5, "a", "bad")];
    const r = checkLinearizable(kvRegisterModel, ops);
    expect(r.result).toBe("illegal");
    if (r.result === "illegal") {
      expect(new Set(r.partition.map((o) => o.input.key))).toEqual(new Set(["bad"]));
      expect(r.longestPrefix.length).toBeGreaterThan(0);
    }
  });

  test("the read order inverts the write order (two writers, two readers)", () => {
    // w1=a and w2=b concurrent; reader 1 sees a then b, reader 2 sees b then a: no single order explains both.
    const ops = [put(0, 0, 10, "a"), put(1, 0, 10, "b"), get(2, 11, 12, "b"), get(3, 11, 12, "b"), get(2, 1, 2, "a"), get(3, 3, 4, "b"), get(3, 5, 6, "a"), get(2, 7, 8, "b")];
    expect(check(ops)).toBe("illegal");
  });
});

/** A simulated linearizable register: each op takes effect at one random instant inside its interval. */
function simulate(seed: number, clients: number, opsPerClient: number, keys: number): Op[] {
  let s = seed >>> 0;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  type Pending = { client: number; input: KvInput; start: number; end: number; at: number };
  const pending: Pending[] = [];
  let unique = 0;
  for (let c = 0; c < clients; c++) {
    let t = rand() * 5;
    for (let i = 0; i < opsPerClient; i++) {
      const key = `k${Math.floor(rand() * keys)}`;
      const r = rand();
      const start = t;
      const end = start + 0.5 + rand() * 6;
      const at = start + rand() * (end - start);
      const input: KvInput =
        r < 0.45 ? { key, op: "get" } : r < 0.8 ? { key, op: "put", value: `v${unique++}` } : { key, op: "cas", expect: null, value: `v${unique++}` };
      pending.push({ client: c, input, start, end, at });
      t = end + rand() * 2;
    }
  }
  // Apply in linearization order; CAS expectations come from the state at that instant half of the time.
  const state = new Map<string, string | null>();
  const out = new Map<Pending, KvOutput>();
  for (const p of [...pending].sort((a, b) => a.at - b.at)) {
    const cur = state.get(p.input.key) ?? null;
    if (p.input.op === "get") out.set(p, cur);
    else if (p.input.op === "put") {
      state.set(p.input.key, p.input.value);
      out.set(p, true);
    } else {
      const input = rand() < 0.5 ? { ...p.input, expect: cur } : p.input;
      p.input = input;
      const ok = cur === input.expect;
      if (ok) state.set(p.input.key, input.value);
      out.set(p, ok);
    }
  }
  return pending.map((p) => ({ client: p.client, input: p.input, output: out.get(p), start: p.start, end: p.end }));
}

describe("generated histories", () => {
  test("simulated linearizable registers pass; corrupting one read makes them fail", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const ops = simulate(seed, 6, 60, 3);
      expect(checkLinearizable(kvRegisterModel, ops).result).toBe("ok");
      const i = ops.findIndex((o) => o.input.op === "get");
      const bad = ops.map((o, j) => (j === i ? { ...o, output: "never-written" } : o));
      expect(checkLinearizable(kvRegisterModel, bad).result).toBe("illegal");
    }
  });

  test("a delayed read (its output replaced with an older value of the key) is caught", () => {
    let caught = 0;
    for (let seed = 100; seed < 140; seed++) {
      const ops = simulate(seed, 4, 80, 1);
      const puts = ops.filter((o) => o.input.op === "put").sort((a, b) => a.end - b.end);
      // A read starting after two puts completed in sequence cannot return the first of them.
      const first = puts[0]!;
      const second = puts.find((p) => p.start > first.end);
      if (!second) continue;
      const readIdx = ops.findIndex((o) => o.input.op === "get" && o.start > second.end && o.output !== (first.input as { value: string }).value);
      if (readIdx < 0) continue;
      // Only a violation when no later write of the same value exists (values are unique) and nothing re-writes it.
      const bad = ops.map((o, j) => (j === readIdx ? { ...o, output: (first.input as { value: string }).value } : o));
      expect(checkLinearizable(kvRegisterModel, bad).result).toBe("illegal");
      caught++;
    }
    expect(caught).toBeGreaterThan(10);
  });

  test("a hopeless search gives up with 'unknown' instead of hanging", () => {
    const ops: Op[] = Array.from({ length: 22 }, (_, i) => put(i, 0, 100, `v${i}`));
    ops.push(get(99, 101, 102, "nobody"));
    const r = checkLinearizable(kvRegisterModel, ops, 30);
    expect(r.result).toBe("unknown");
  });
});
