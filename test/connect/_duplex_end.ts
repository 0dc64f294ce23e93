/** One end of a socket held in memory, for relay and front tests: what the code under test writes is recorded; `feed` plays the peer. */
import { Duplex } from "node:stream";

const enc = (s: string) => new TextEncoder().encode(s);

export class End extends Duplex {
  readonly written: Uint8Array[] = [];
  /** When set, writes report back-pressure until `drainNow`. */
  full = false;
  override _read(): void {}
  override _write(c: Uint8Array, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.written.push(c);
    cb();
  }
  override write(c: Uint8Array | string): boolean {
    super.write(c);
    return !this.full;
  }
  feed(s: string | Uint8Array): void {
    this.push(typeof s === "string" ? enc(s) : s);
  }
  drainNow(): void {
    this.full = false;
    this.emit("drain");
  }
  setNoDelay(): void {}
  /** Everything written so far, as text. */
  get text(): string {
    return this.written.map((c) => Buffer.from(c).toString("latin1")).join("");
  }
}
