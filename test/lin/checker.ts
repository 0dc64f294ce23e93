/**
 * A linearizability checker in the style of Wing & Gong with Lowe's
 * memoisation, as Porcupine implements it: walk the history's call/return
 * events in real-time order, try to linearize each pending call against a
 * sequential model, backtrack when a return is reached before its call was
 * linearized, and never revisit a (set of linearized ops, model state) pair.
 *
 * Operations that failed ambiguously (timeouts, connection errors) are
 * recorded with `end: Infinity` and no known output, as Jepsen does: they may
 * take effect at any point after their call, or never.
 *
 * Histories are split by key first (a register per key; linearizability is
 * compositional), so each search is small.
 */

export interface Operation<I, O> {
  /** Client (process) that issued it; a client's operations never overlap. */
  readonly client: number;
  readonly input: I;
  /** The observed output; undefined when the outcome is unknown. */
  readonly output: O | undefined;
  /** Invocation time (any monotonic clock shared by all clients). */
  readonly start: number;
  /** Completion time; Infinity for an operation whose outcome is unknown. */
  readonly end: number;
}

export interface Model<S, I, O> {
  init(): S;
  /** Applies `input` to `state`; `ok` is false when `output` could not have been observed. `output` undefined = unknown. */
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  /** A string identifying the state (for the memo table). */
  key(state: S): string;
  /** Independent sub-histories (e.g. one per key). */
  partition?(ops: readonly Operation<I, O>[]): Operation<I, O>[][];
}

export type CheckResult<I, O> =
  | { readonly result: "ok"; readonly partitions: number; readonly ops: number }
  | { readonly result: "illegal"; readonly partition: readonly Operation<I, O>[]; readonly longestPrefix: readonly Operation<I, O>[] }
  | { readonly result: "unknown"; readonly reason: string };

interface Entry {
  readonly id: number;
  readonly call: boolean;
  readonly time: number;
  /** For a call, its return entry. */
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

function linkedEntries<I, O>(ops: readonly Operation<I, O>[]): Entry {
  const events: Entry[] = [];
  ops.forEach((op, id) => {
    if (!(op.end >= op.start)) throw new RangeError(`Operation ${id} ends (${op.end}) before it starts (${op.start})`);
    const ret: Entry = { id, call: false, time: op.end, match: null, prev: null, next: null };
    const call: Entry = { id, call: true, time: op.start, match: ret, prev: null, next: null };
    events.push(call, ret);
  });
  // Ties: calls first, which treats touching operations as concurrent (never a false alarm).
  events.sort((a, b) => a.time - b.time || (a.call === b.call ? 0 : a.call ? -1 : 1));
  const head: Entry = { id: -1, call: false, time: -Infinity, match: null, prev: null, next: null };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

/** Removes a call and its return from the list. */
function lift(call: Entry): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

/** Puts them back (in reverse order of `lift`). */
function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

class Bitset {
  readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array(Math.ceil(n / 32) || 1);
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }
  key(): string {
    return this.words.join(",");
  }
}

/** Checks one independent sub-history; returns null when linearizable, else the longest linearized prefix found. */
function checkPartition<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], deadline: number): Operation<I, O>[] | null | "timeout" {
  const head = linkedEntries(ops);
  const linearized = new Bitset(ops.length);
  const cache = new Set<string>();
  const stack: { entry: Entry; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  let longest: Operation<I, O>[] = [];
  let steps = 0;
  while (head.next !== null) {
    if ((++steps & 0xfff) === 0 && Date.now() > deadline) return "timeout";
    if (entry === null) throw new Error("checker invariant broken: ran off the end of the history");
    if (entry.call) {
      const op = ops[entry.id]!;
      const next = model.step(state, op.input, op.output);
      if (next.ok) {
        linearized.set(entry.id);
        const key = `${linearized.key()}|${model.key(next.state)}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ entry, state });
          state = next.state;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized.clear(entry.id);
      }
      entry = entry.next;
      continue;
    }
    // A return whose call is not linearized: undo the latest choice.
    if (stack.length > longest.length) longest = stack.map((s) => ops[s.entry.id]!);
    const top = stack.pop();
    if (top === undefined) return longest;
    state = top.state;
    linearized.clear(top.entry.id);
    unlift(top.entry);
    entry = top.entry.next;
  }
  return null;
}

/** Checks a whole history; gives up with "unknown" after `timeoutMs`. */
export function checkLinearizable<S, I, O>(model: Model<S, I, O>, history: readonly Operation<I, O>[], timeoutMs = 30_000): CheckResult<I, O> {
  const deadline = Date.now() + timeoutMs;
  const parts = model.partition ? model.partition(history) : [history.slice()];
  for (const part of parts) {
    const bad = checkPartition(model, part, deadline);
    if (bad === "timeout") return { result: "unknown", reason: `gave up after ${timeoutMs} ms` };
    if (bad !== null) return { result: "illegal", partition: part, longestPrefix: bad };
  }
  return { result: "ok", partitions: parts.length, ops: history.length };
}

// ---------------------------------------------------------------------------
// The model the cluster tests use: a KV register per key with Consul's verbs.

/**
 * `get` reads the key (null when absent); `put` writes; `cas` writes only
 * when the current value is `expect` (null: only when absent). Consul's CAS
 * compares ModifyIndex, not the value, but every write in a test history
 * writes a value never written before, so a ModifyIndex read together with a
 * value names exactly that value: comparing values is the same test.
 */
export type KvInput =
  | { readonly key: string; readonly op: "get" }
  | { readonly key: string; readonly op: "put"; readonly value: string }
  | { readonly key: string; readonly op: "cas"; readonly expect: string | null; readonly value: string };

/** `get`: the value read; `put`: true; `cas`: whether it was applied. */
export type KvOutput = string | null | boolean;

export const kvRegisterModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.op) {
      case "get":
        return { ok: output === undefined || output === state, state };
      case "put":
        return { ok: true, state: input.value };
      case "cas": {
        const applies = state === input.expect;
        if (output === undefined) return { ok: true, state: applies ? input.value : state };
        return { ok: output === applies, state: applies ? input.value : state };
      }
    }
  },
  key: (state) => (state === null ? "\u0000" : state),
  partition(ops) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of ops) {
      let list = byKey.get(op.input.key);
      if (!list) byKey.set(op.input.key, (list = []));
      list.push(op);
    }
    return [...byKey.values()];
  },
};
