/**
 * A direct answer that comes later (a parked blocking read), handed over
 * through a callback rather than a promise. One write wakes thousands of
 * parked watchers with one shared answer: with a promise each, every write
 * waits behind a promise reaction per watcher, and the first answer goes out
 * only once all of them are queued; with this the listener writes each answer
 * as the waker's loop reaches it.
 */
import type { DirectAnswer } from "./serve.ts";

export class LaterAnswer {
  private to: ((a: DirectAnswer) => void) | null = null;
  private given: DirectAnswer | null = null;

  /** The listener's side: `to` gets the answer once (at once if it is here already). Only one listener. */
  onAnswer(to: (a: DirectAnswer) => void): void {
    if (this.given !== null) to(this.given);
    else this.to = to;
  }

  /** The handler's side: hands the answer over; only the first one counts. */
  give(a: DirectAnswer): void {
    if (this.given !== null) return;
    this.given = a;
    const to = this.to;
    this.to = null;
    if (to !== null) to(a);
  }
}
