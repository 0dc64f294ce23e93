/**
 * A request's deadline as the L7 path watches it. It has AbortSignal's shape
 * (`aborted`, "abort" listeners), so an AbortSignal is one too, but costs a
 * timer and a small array instead of an AbortController and an EventTarget
 * per request: a --cpu-prof of the sidecar under load put the latter at
 * about 9% of its busy time.
 */

export interface DeadlineSignal {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { readonly once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

export class Deadline implements DeadlineSignal {
  private expired = false;
  private listeners: (() => void)[] | null = null;
  private readonly timer: ReturnType<typeof setTimeout>;

  /** Aborts after `ms` unless cleared first. */
  constructor(ms: number) {
    this.timer = setTimeout(() => this.abort(), ms);
  }

  get aborted(): boolean {
    return this.expired;
  }

  /** Listeners run once, when the deadline passes; none is added after it has. */
  addEventListener(_type: "abort", listener: () => void): void {
    if (this.expired) return;
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const l = this.listeners;
    const i = l ? l.indexOf(listener) : -1;
    if (i >= 0) l!.splice(i, 1);
  }

  abort(): void {
    if (this.expired) return;
    this.expired = true;
    clearTimeout(this.timer);
    const l = this.listeners;
    this.listeners = null;
    for (const fn of l ?? []) fn();
  }

  /** Stops the timer (the request is over); listeners still registered are dropped. */
  clear(): void {
    clearTimeout(this.timer);
    this.listeners = null;
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
