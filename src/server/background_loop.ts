/**
 * A loop a server runs in the background while it holds a duty (replication
 * from the primary): `start` is idempotent, `stop` ends the loop and waits
 * for it, and each round's blocking call takes `roundSignal()` so that `stop`
 * (or `interrupt`, to start the next round afresh) cancels it at once.
 */
export abstract class BackgroundLoop {
  protected running = false;
  private round: AbortController | null = null;
  private loop: Promise<void> | null = null;

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.round?.abort();
    await this.loop;
    this.loop = null;
  }

  /** A fresh signal for this round's blocking call. */
  protected roundSignal(): AbortSignal {
    this.round = new AbortController();
    return this.round.signal;
  }

  /** Cancels the round in flight; the loop goes on with the next. */
  protected interrupt(): void {
    this.round?.abort();
  }

  /** The loop: runs while `running`, one round after another. */
  protected abstract run(): Promise<void>;
}
