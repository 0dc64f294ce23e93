/** Serf's Lamport clock: orders intents, events and queries without synchronized time. */
export class LamportClock {
  private counter = 0;

  time(): number {
    return this.counter;
  }

  increment(): number {
    return ++this.counter;
  }

  /** Moves past a time seen elsewhere. */
  witness(v: number): void {
    if (v >= this.counter) this.counter = v + 1;
  }
}
