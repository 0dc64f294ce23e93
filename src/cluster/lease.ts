/**
 * Leadership for the leader-only duties of a server cluster (session TTL
 * expiry, tombstone reaping, member reconciliation, CA maintenance): a lease
 * held in one key of a JetStream KV bucket, taken and renewed with
 * compare-and-set on the key's revision.
 *
 * Safety without trusting clocks to agree: the holder renews every ttl/3 and
 * counts itself leader only until `ttl × (1 - margin)` after it *sent* its
 * last successful renewal; a contender takes over only when it has seen the
 * same revision unchanged for a full `ttl` on its own clock, measured from
 * when it first saw it (after the holder sent it). So the old holder has
 * stopped before anyone else can start, as long as clock rates agree to
 * within the margin. The log then fences what slipped through: the new
 * leader appends a fence entry first, and leader-only commands carry the
 * fence index they were issued under (see Server).
 */
import type { KV } from "@nats-io/kv";

export interface LeaseHolder {
  /** Node ID of the server. */
  readonly ID: string;
  readonly Node: string;
  /** "ip:port" of the server's RPC address (what /v1/status/leader shows). */
  readonly Address: string;
}

export interface LeaseOptions {
  readonly kv: KV;
  readonly key?: string;
  readonly self: LeaseHolder;
  /** Lease length. Default 3 s. */
  readonly ttlMs?: number;
  /** Called with true when this server gains the lease, false when it loses it. */
  readonly onChange: (leader: boolean) => void;
  /** Campaign only while this says yes (bootstrap_expect not met yet: no). */
  readonly mayLead?: () => boolean;
  readonly now?: () => number;
}

/** Fraction of the ttl a holder gives up before a contender could take over. */
const MARGIN = 0.2;

export class LeaderLease {
  readonly #kv: KV;
  readonly #key: string;
  readonly #self: LeaseHolder;
  readonly #value: Uint8Array;
  readonly #ttl: number;
  readonly #onChange: (leader: boolean) => void;
  readonly #mayLead: () => boolean;
  readonly #now: () => number;
  #leader = false;
  /** Our revision of the key while we hold it. */
  #revision = 0;
  #validUntil = 0;
  /** What others hold, as last seen, and since when (our clock) that revision stood. */
  #observed: { revision: number; holder: LeaseHolder | null; since: number } | null = null;
  #lastContact = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #expiry: ReturnType<typeof setTimeout> | null = null;
  #ticking: Promise<void> | null = null;
  #stopped = false;

  constructor(options: LeaseOptions) {
    this.#kv = options.kv;
    this.#key = options.key ?? "leader";
    this.#self = options.self;
    this.#value = new TextEncoder().encode(JSON.stringify(options.self));
    this.#ttl = options.ttlMs ?? 3_000;
    if (!Number.isFinite(this.#ttl) || this.#ttl < 300) throw new RangeError(`Leader lease ttl must be at least 300ms, got ${this.#ttl}`);
    this.#onChange = options.onChange;
    this.#mayLead = options.mayLead ?? (() => true);
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    this.#schedule(0);
  }

  /** Stops campaigning; a holder deletes the key so another server takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#ticking;
    if (this.#leader) {
      this.#setLeader(false);
      await this.#kv.delete(this.#key, { previousSeq: this.#revision }).catch(() => undefined);
    }
    if (this.#expiry) clearTimeout(this.#expiry);
  }

  isLeader(): boolean {
    return this.#leader && this.#now() < this.#validUntil;
  }

  /** The current holder as far as this server knows, or null when there is none. */
  holder(): LeaseHolder | null {
    if (this.isLeader()) return this.#self;
    const o = this.#observed;
    if (o === null || o.holder === null) return null;
    // A lease nobody renewed for a whole ttl is as good as gone.
    return this.#now() - o.since < this.#ttl * 2 ? o.holder : null;
  }

  /** When the lease key was last read or written successfully (ms since epoch). */
  lastContact(): number {
    return this.#lastContact;
  }

  /** Revision of the key while held (a number that grows with every take-over and renewal). */
  get revision(): number {
    return this.#revision;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#ticking = this.#tick().finally(() => {
        this.#ticking = null;
        this.#schedule(Math.max(50, Math.floor(this.#ttl / 3)));
      });
    }, ms);
  }

  async #tick(): Promise<void> {
    const sent = this.#now();
    try {
      if (this.#leader) {
        await this.#renew(sent);
        return;
      }
      const entry = await this.#kv.get(this.#key);
      this.#lastContact = this.#now();
      if (entry === null || entry.operation !== "PUT") {
        this.#observed = { revision: entry?.revision ?? 0, holder: null, since: this.#now() };
        if (this.#mayLead()) await this.#take(() => this.#kv.create(this.#key, this.#value), sent);
        return;
      }
      if (this.#observed === null || this.#observed.revision !== entry.revision) {
        this.#observed = { revision: entry.revision, holder: parseHolder(entry.value), since: this.#now() };
        return;
      }
      if (this.#now() - this.#observed.since >= this.#ttl && this.#mayLead()) {
        const revision = entry.revision;
        await this.#take(() => this.#kv.update(this.#key, this.#value, revision), sent);
      }
    } catch {
      // A failed renewal: the lease lapses by itself at #validUntil (see #renewed).
      // A failed take-over (someone else won, or NATS is away): try again next tick.
    }
  }

  async #renew(sent: number): Promise<void> {
    try {
      this.#revision = await this.#kv.update(this.#key, this.#value, this.#revision);
      this.#renewed(sent);
    } catch {
      // Someone else wrote the key (a take-over after we lost contact): step
      // down now. Otherwise (NATS away) the lease lapses by itself at #validUntil.
      const entry = await this.#kv.get(this.#key).catch(() => null);
      if (entry !== null && entry.revision !== this.#revision && this.#leader) this.#setLeader(false);
    }
  }

  async #take(write: () => Promise<number>, sent: number): Promise<void> {
    try {
      this.#revision = await write();
    } catch {
      // Someone else won: learn who at once rather than a tick later.
      const entry = await this.#kv.get(this.#key).catch(() => null);
      if (entry !== null && entry.operation === "PUT") {
        this.#observed = { revision: entry.revision, holder: parseHolder(entry.value), since: this.#now() };
      }
      return;
    }
    this.#observed = null;
    this.#renewed(sent);
    this.#setLeader(true);
  }

  #renewed(sent: number): void {
    this.#lastContact = this.#now();
    this.#validUntil = sent + this.#ttl * (1 - MARGIN);
    if (this.#expiry) clearTimeout(this.#expiry);
    // Step down by ourselves the moment the lease may have lapsed.
    this.#expiry = setTimeout(() => {
      this.#expiry = null;
      if (this.#leader && this.#now() >= this.#validUntil) this.#setLeader(false);
    }, Math.max(0, this.#validUntil - this.#now()) + 1);
  }

  #setLeader(leader: boolean): void {
    if (this.#leader === leader) return;
    this.#leader = leader;
    if (!leader) this.#revision = 0;
    this.#onChange(leader);
  }
}

function parseHolder(value: Uint8Array): LeaseHolder | null {
  try {
    const v = JSON.parse(new TextDecoder().decode(value)) as Partial<LeaseHolder>;
    if (typeof v.ID === "string" && typeof v.Node === "string" && typeof v.Address === "string") return { ID: v.ID, Node: v.Node, Address: v.Address };
  } catch {
    // Not ours; treat the lease as held by someone unknown.
  }
  return null;
}
