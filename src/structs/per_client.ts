/**
 * Counts what each client address holds (connections, requests in flight)
 * against a cap, for the per-client limits of the HTTP, DNS and RPC
 * listeners.
 */
export class PerClientCount {
  private readonly held = new Map<string, number>();
  private readonly max: number;

  /** `max` 0 or less: no cap. */
  constructor(max: number) {
    this.max = max;
  }

  /** Takes a slot for `client`: the function that gives it back (once), or null when the client is at the cap. */
  acquire(client: string): (() => void) | null {
    const n = this.held.get(client) ?? 0;
    if (this.max > 0 && n >= this.max) return null;
    this.held.set(client, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(client) ?? 1) - 1;
      if (left <= 0) this.held.delete(client);
      else this.held.set(client, left);
    };
  }

  /** What `client` holds now. */
  count(client: string): number {
    return this.held.get(client) ?? 0;
  }
}
