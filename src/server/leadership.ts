/**
 * This server's side of leadership: whether it may run leader-only duties
 * now, and the fence index its leader-only commands carry.
 *
 * A single server leads from the start. In a cluster, holding the lease is
 * not enough: the new leader first appends a fence entry (a Barrier with
 * `Leader`) and leads only once that entry is applied here, which also means
 * its state holds everything committed before it (Consul's barrier after an
 * election). Commands it issues carry that entry's index as `Fence`, and the
 * state machine refuses them once a later leader has fenced.
 */
export type LeadershipListener = (leader: boolean) => void;

export class Leadership {
  readonly #holdsLease: (() => boolean) | null;
  #established: boolean;
  #fence = 0;
  #epoch = 0;
  readonly #listeners = new Set<LeadershipListener>();

  /** `holdsLease` null: a single server, always the leader. */
  constructor(holdsLease: (() => boolean) | null) {
    this.#holdsLease = holdsLease;
    this.#established = holdsLease === null;
  }

  get clustered(): boolean {
    return this.#holdsLease !== null;
  }

  isLeader(): boolean {
    return this.#established && (this.#holdsLease === null || this.#holdsLease());
  }

  /** The fence to put on a leader-only command (undefined for a single server, which needs none). */
  fence(): number | undefined {
    return this.#holdsLease === null ? undefined : this.#fence;
  }

  /** Called with every change (CA maintenance, member reconciliation, ... subscribe here). */
  onChange(listener: LeadershipListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The lease was gained: append the fence (retrying while the lease holds),
   * then lead. A loss in the meantime cancels it.
   */
  async gain(appendFence: () => Promise<number>, retryMs = 250): Promise<void> {
    const epoch = ++this.#epoch;
    for (;;) {
      try {
        const index = await appendFence();
        if (epoch !== this.#epoch) return;
        this.#fence = index;
        if (!this.#established) {
          this.#established = true;
          this.#emit(true);
        }
        return;
      } catch {
        if (epoch !== this.#epoch || (this.#holdsLease !== null && !this.#holdsLease())) return;
        await new Promise((r) => setTimeout(r, retryMs));
      }
    }
  }

  lose(): void {
    this.#epoch++;
    if (!this.#established || this.#holdsLease === null) return;
    this.#established = false;
    this.#fence = 0;
    this.#emit(false);
  }

  #emit(leader: boolean): void {
    for (const l of this.#listeners) {
      try {
        l(leader);
      } catch {
        // One listener's failure must not keep the others from hearing it.
      }
    }
  }
}
