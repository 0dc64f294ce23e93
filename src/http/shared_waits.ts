/**
 * Parked blocking reads that ask the same thing (same key, same `?index=`,
 * same options, token and encoding; only `?wait=` differs) share one wait:
 * the first one parks a blocking read with the longest wait, the others join
 * it, and the one answer it gives (read once, encoded once) goes to all of
 * them in a loop (1,024 per turn of the event loop), each member's `LaterAnswer` handing it straight to its
 * listener's write (no promise reaction per member: the first answer is on
 * the wire before the loop reaches the second), the latency metrics recorded
 * once every answer is out. Without it each of 10,000 watchers woken by one
 * write would read, render and encode its own copy.
 *
 * Each member keeps its own deadline (`?wait=` plus Consul's jitter of up
 * to wait/16, which only ever delays a timeout, never a wake): members whose
 * deadlines fall in the same 50 ms bucket time out together, with one read
 * at once shared between them. Once no member waits, the shared read is
 * cancelled. A shared read that ends without news (a restore, a shutdown, or
 * its own ten-minute wait running out) answers every member with what it read,
 * as a blocking query may return early with an unchanged index.
 */
import { effectiveWait, MAX_WAIT_MS } from "../server/mod.ts";
import { type DirectAnswer, LaterAnswer } from "../runtime/mod.ts";

const BUCKET_MS = 50;
/** Members answered in one turn of the event loop (a turn of 1,024 takes ~10-30 ms of CPU). */
export const DELIVER_TURN = 1024;

type Answer = DirectAnswer | Promise<DirectAnswer>;

/** One kind of read, as a blocking read and as a read at once. */
export interface SharedRead {
  /** The read that waits at most `waitMs` for news, or until `signal` aborts. */
  readonly blocking: (waitMs: number, signal: AbortSignal) => Answer;
  /** The read answered at once (members whose own wait ran out). */
  readonly now: () => Answer;
}

interface Member {
  readonly started: number;
  readonly later: LaterAnswer;
}

interface Group {
  readonly id: string;
  readonly read: SharedRead;
  readonly abort: AbortController;
  /** Members still waiting. */
  live: number;
  readonly timers: Map<number, { readonly timer: ReturnType<typeof setTimeout>; readonly members: Member[] }>;
}

export class SharedWaits {
  private readonly groups = new Map<string, Group>();
  private readonly answered: (started: number) => void;

  /** `answered` is told, per request, when its answer is handed over (its start time, `performance.now()`). */
  constructor(answered: (started: number) => void) {
    this.answered = answered;
  }

  /**
   * Parks a read under `id` (requests with the same id must want the same
   * answer) for `waitMs` (0: the default wait), or answers it at once when the
   * read does not wait.
   */
  park(id: string, waitMs: number, read: SharedRead, started: number): Answer | LaterAnswer {
    let g = this.groups.get(id);
    if (g === undefined) {
      const abort = new AbortController();
      const first = read.blocking(MAX_WAIT_MS, abort.signal);
      if (!(first instanceof Promise)) {
        this.answered(started);
        return first;
      }
      const group: Group = { id, read, abort, live: 0, timers: new Map() };
      this.groups.set(id, group);
      first.then((a) => this.settle(group, a), () => this.settle(group, null));
      g = group;
    }
    return this.join(g, Date.now() + effectiveWait(waitMs), started);
  }

  /** Groups waiting (for tests and metrics). */
  get waiting(): number {
    return this.groups.size;
  }

  private join(g: Group, deadline: number, started: number): LaterAnswer {
    const later = new LaterAnswer();
    g.live++;
    const bucket = Math.ceil(deadline / BUCKET_MS);
    let t = g.timers.get(bucket);
    if (t === undefined) {
      const members: Member[] = [];
      const timer = setTimeout(() => this.expire(g, bucket), Math.max(0, bucket * BUCKET_MS - Date.now()));
      t = { timer, members };
      g.timers.set(bucket, t);
    }
    t.members.push({ started, later });
    return later;
  }

  /** The shared read answered (null: it failed, and each member reads again at once). */
  private settle(g: Group, a: DirectAnswer | null): void {
    // A member waits while its deadline bucket stands.
    const waiting: Member[] = [];
    for (const t of g.timers.values()) for (const m of t.members) waiting.push(m);
    this.close(g);
    g.live = 0;
    if (waiting.length === 0) return;
    if (a === null) this.answerWith(waiting, readNow(g.read));
    else this.deliver(waiting, a);
  }

  /** The members of one deadline bucket: their wait is over. */
  private expire(g: Group, bucket: number): void {
    const t = g.timers.get(bucket);
    g.timers.delete(bucket);
    if (t === undefined) return;
    const waiting = t.members;
    g.live -= waiting.length;
    if (g.live === 0) {
      this.close(g);
      g.abort.abort();
    }
    this.answerWith(waiting, readNow(g.read));
  }

  private answerWith(members: readonly Member[], a: Answer): void {
    if (a instanceof Promise) {
      // A read that fails at once hands its members nothing to answer with: the listener answers 500.
      a.then((ready) => this.deliver(members, ready), () => this.deliver(members, FAILED));
    } else {
      this.deliver(members, a);
    }
  }

  /**
   * Hands `a` to the members in turns of `DELIVER_TURN`, each turn after the
   * event loop has run once: the first answers are on the wire (on Bun, where
   * a Response is written only after the loop that made it, and for the
   * client reading them) while the rest wait, and other requests (the write
   * that woke them) are not held behind ten thousand answers.
   */
  private deliver(members: readonly Member[], a: DirectAnswer, from = 0): void {
    const to = Math.min(members.length, from + DELIVER_TURN);
    for (let i = from; i < to; i++) {
      try {
        members[i]!.later.give(a);
      } catch {
        // One listener failing to write its answer leaves the others to theirs.
      }
    }
    for (let i = from; i < to; i++) this.answered(members[i]!.started);
    if (to < members.length) setImmediate(() => this.deliver(members, a, to));
  }

  /** Takes the group out of the map and stops its timers. */
  private close(g: Group): void {
    if (this.groups.get(g.id) === g) this.groups.delete(g.id);
    for (const t of g.timers.values()) clearTimeout(t.timer);
    g.timers.clear();
  }
}

/** The read at once; one that throws is answered as a failure, since no caller is left to catch it. */
function readNow(read: SharedRead): Answer {
  try {
    return read.now();
  } catch {
    return FAILED;
  }
}

const FAILED: DirectAnswer = { status: 500, headers: { "Content-Type": "text/plain; charset=UTF-8" }, body: "Internal Server Error" };
