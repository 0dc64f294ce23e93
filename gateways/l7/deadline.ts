/**
 * A request's deadline as the L7 path watches it. It has AbortSignal's shape
 * (`aborted`, "abort" listeners), so an AbortSignal is one too, but costs a
 * place in a list and a small array instead of an AbortController and an
 * EventTarget per request (a --cpu-prof of the sidecar under load put the
 * latter at about 9% of its busy time), and deadlines of one duration share
 * one timer.
 */

export interface DeadlineSignal {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { readonly once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/** A timer as both runtimes' timers offer it: ref/unref where there are (absent on a runtime whose timers are numbers). */
type Timer = ReturnType<typeof setTimeout> & { ref?: () => unknown; unref?: () => unknown };

/**
 * The live deadlines of one duration, in the order they were made, which is
 * the order they pass in: one timer for all of them, armed for the first,
 * instead of a timer per request (made and cancelled for every request that
 * answers in time). A deadline cleared early leaves the list at once.
 */
class DeadlineList {
  readonly #ms: number;
  head: Deadline | null = null;
  tail: Deadline | null = null;
  #timer: Timer | null = null;
  /** The timer holds the process open (some deadline is live). */
  #held = false;
  readonly #fire = () => this.#expire();

  constructor(ms: number) {
    this.#ms = ms;
  }

  add(d: Deadline): void {
    d.prev = this.tail;
    if (this.tail) this.tail.next = d;
    else this.head = d;
    this.tail = d;
    if (this.#timer === null) this.#arm(this.#ms);
    else if (!this.#held) {
      this.#timer.ref?.();
      this.#held = true;
    }
  }

  remove(d: Deadline): void {
    if (d.prev) d.prev.next = d.next;
    else this.head = d.next;
    if (d.next) d.next.prev = d.prev;
    else this.tail = d.prev;
    d.prev = d.next = null;
    if (this.head !== null || this.#timer === null) return;
    // Nothing left to watch: the timer may stay armed (it re-arms or stops when it fires) but must not keep the process up.
    if (this.#timer.unref) {
      this.#timer.unref();
      this.#held = false;
    } else {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  #arm(ms: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#fire, ms) as Timer;
    this.#held = true;
  }

  #expire(): void {
    this.#timer = null;
    const now = Date.now();
    for (let d = this.head; d !== null && d.at <= now; d = this.head) d.abort();
    // (Re-armed for the first one left even when a listener's new deadline armed it already, for itself.)
    if (this.head) this.#arm(Math.max(1, this.head.at - now));
  }
}

const LISTS = new Map<number, DeadlineList>();

export class Deadline implements DeadlineSignal {
  /** When it passes (Date.now() milliseconds). */
  readonly at: number;
  /** Neighbours in its list while it is live. */
  prev: Deadline | null = null;
  next: Deadline | null = null;
  #list: DeadlineList | null;
  #expired = false;
  #listeners: (() => void)[] | null = null;

  /** Aborts after `ms` unless cleared first. */
  constructor(ms: number) {
    this.at = Date.now() + ms;
    let list = LISTS.get(ms);
    if (!list) LISTS.set(ms, (list = new DeadlineList(ms)));
    this.#list = list;
    list.add(this);
  }

  get aborted(): boolean {
    return this.#expired;
  }

  /** Listeners run once, when the deadline passes; none is added after it has. */
  addEventListener(_type: "abort", listener: () => void): void {
    if (this.#expired) return;
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const l = this.#listeners;
    const i = l ? l.indexOf(listener) : -1;
    if (i >= 0) l!.splice(i, 1);
  }

  abort(): void {
    if (this.#expired) return;
    this.#expired = true;
    this.#leave();
    const l = this.#listeners;
    this.#listeners = null;
    for (const fn of l ?? []) fn();
  }

  /** Stops watching (the request is over); listeners still registered are dropped. */
  clear(): void {
    this.#leave();
    this.#listeners = null;
  }

  #leave(): void {
    const list = this.#list;
    if (list === null) return;
    this.#list = null;
    list.remove(this);
  }
}

/** An AbortSignal that aborts with `d`, for APIs that take only a real one (fetch). */
export function abortSignalOf(d: DeadlineSignal): AbortSignal {
  if (d instanceof AbortSignal) return d;
  const ac = new AbortController();
  if (d.aborted) ac.abort();
  else d.addEventListener("abort", () => ac.abort(), { once: true });
  return ac.signal;
}
