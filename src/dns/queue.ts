/**
 * The UDP listener's queue: fixed capacity, and when full it drops its
 * oldest datagram to make room (under overload the freshest queries are the
 * ones still worth answering). Kept in parallel arrays, so a query waiting
 * here costs no object of its own.
 */
export class DatagramQueue {
  readonly capacity: number;
  private readonly msgs: (Uint8Array | undefined)[];
  private readonly addresses: string[];
  private readonly ports: Uint16Array;
  private readonly arrivals: Float64Array;
  private head = 0;
  private count = 0;
  /** Entries pushed out by newer ones since creation. */
  dropped = 0;
  /** The most entries held at once. */
  highWater = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`Queue capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.msgs = new Array<Uint8Array | undefined>(capacity).fill(undefined);
    this.addresses = new Array<string>(capacity).fill("");
    this.ports = new Uint16Array(capacity);
    this.arrivals = new Float64Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** Queues a datagram that arrived at `at`; when full, the oldest goes. */
  push(msg: Uint8Array, port: number, address: string, at: number): void {
    if (this.count === this.capacity) {
      this.msgs[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      this.dropped++;
    }
    const i = (this.head + this.count) % this.capacity;
    this.msgs[i] = msg;
    this.ports[i] = port;
    this.addresses[i] = address;
    this.arrivals[i] = at;
    this.count++;
    if (this.count > this.highWater) this.highWater = this.count;
  }

  /** Hands the oldest datagram to `take` and forgets it; false when there is none. */
  shift(take: (msg: Uint8Array, port: number, address: string, at: number) => void): boolean {
    if (this.count === 0) return false;
    const i = this.head;
    const msg = this.msgs[i]!;
    this.msgs[i] = undefined;
    this.head = (i + 1) % this.capacity;
    this.count--;
    take(msg, this.ports[i]!, this.addresses[i]!, this.arrivals[i]!);
    return true;
  }

  clear(): void {
    this.msgs.fill(undefined);
    this.head = 0;
    this.count = 0;
  }
}
