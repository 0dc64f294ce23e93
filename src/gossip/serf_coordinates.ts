/**
 * Network coordinates in Serf (serf/ping_delegate.go): this member's own
 * Vivaldi coordinate rides on every probe ack; each ack received with the
 * prober's measured RTT updates ours and is kept as that member's. Off
 * (null everywhere) when coordinates are disabled.
 */
import { cloneCoordinate, type Coordinate, isValidCoordinate, type VivaldiConfig, VivaldiClient } from "./coordinate.ts";
import type { Random } from "./random.ts";
import { decodeCoordinate, encodeCoordinate } from "./serf_messages.ts";
import { WireDecodeError } from "./wire.ts";

export class SerfCoordinates {
  readonly #self: string;
  readonly #config: VivaldiConfig;
  readonly #vivaldi: VivaldiClient | null;
  readonly #others = new Map<string, Coordinate>();

  constructor(self: string, config: VivaldiConfig, random: Random, disabled: boolean) {
    this.#self = self;
    this.#config = config;
    this.#vivaldi = disabled ? null : new VivaldiClient(config, random);
  }

  /** This member's coordinate, or null when coordinates are off. */
  own(): Coordinate | null {
    return this.#vivaldi ? this.#vivaldi.coordinate : null;
  }

  of(name: string): Coordinate | null {
    if (name === this.#self) return this.own();
    const c = this.#others.get(name);
    return c ? cloneCoordinate(c) : null;
  }

  all(): Map<string, Coordinate> {
    const out = new Map<string, Coordinate>();
    for (const [k, v] of this.#others) out.set(k, cloneCoordinate(v));
    const own = this.own();
    if (own) out.set(this.#self, own);
    return out;
  }

  /** What our acks carry: our coordinate, encoded (empty when off). */
  ackPayload(): Uint8Array {
    return this.#vivaldi ? encodeCoordinate(this.#vivaldi.coordinate) : new Uint8Array(0);
  }

  /** A probe of `name` came back after `rttMs` with its coordinate; a malformed or invalid one is skipped. */
  observe(name: string, rttMs: number, payload: Uint8Array): void {
    if (!this.#vivaldi || payload.length === 0) return;
    let other: Coordinate;
    try {
      other = decodeCoordinate(payload);
    } catch (e) {
      if (!(e instanceof WireDecodeError)) throw e;
      return;
    }
    if (!isValidCoordinate(other) || other.Vec.length !== this.#config.dimensionality) return;
    try {
      this.#vivaldi.update(name, other, Math.max(0, rttMs) / 1000);
      this.#others.set(name, other);
    } catch {
      // An RTT out of range or a bad coordinate: Serf logs and skips the sample.
    }
  }

  forget(name: string): void {
    this.#others.delete(name);
    this.#vivaldi?.forgetNode(name);
  }
}
