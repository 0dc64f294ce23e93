/**
 * A promise-chained mutex. The Go Lock and Semaphore hold a sync.Mutex across
 * Lock/Unlock/Destroy so a concurrent Unlock waits for an in-flight Lock; the
 * same ordering matters here because those methods await network calls.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release: () => void = () => {};
    this.tail = new Promise<void>((r) => (release = r));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
