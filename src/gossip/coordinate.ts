/**
 * Vivaldi network coordinates as Serf computes them (hashicorp/serf
 * coordinate/): a Euclidean vector plus a height (the access link), an
 * adjustment (the non-Euclidean residue averaged over recent samples) and an
 * error estimate. All distances are in seconds, as in Consul's
 * `/v1/coordinate` answers (`{Vec, Error, Adjustment, Height}`).
 */
import type { Random } from "./random.ts";
import { systemRandom } from "./random.ts";

/** Consul's `Coord` JSON shape. */
export interface Coordinate {
  Vec: number[];
  Error: number;
  Adjustment: number;
  Height: number;
}

export interface VivaldiConfig {
  readonly dimensionality: number;
  readonly vivaldiErrorMax: number;
  readonly vivaldiCE: number;
  readonly vivaldiCC: number;
  readonly adjustmentWindowSize: number;
  /** Seconds. */
  readonly heightMin: number;
  readonly latencyFilterSize: number;
  readonly gravityRho: number;
}

/** Serf's defaults (coordinate/config.go), which Consul uses unchanged. */
export const DEFAULT_VIVALDI: VivaldiConfig = {
  dimensionality: 8,
  vivaldiErrorMax: 1.5,
  vivaldiCE: 0.25,
  vivaldiCC: 0.25,
  adjustmentWindowSize: 20,
  heightMin: 10.0e-6,
  latencyFilterSize: 3,
  gravityRho: 150.0,
};

const ZERO_THRESHOLD = 1.0e-6;
/** Serf refuses RTT samples outside [0, 10 s]. */
const MAX_RTT_SECONDS = 10;

export function newCoordinate(config: VivaldiConfig = DEFAULT_VIVALDI): Coordinate {
  return { Vec: new Array<number>(config.dimensionality).fill(0), Error: config.vivaldiErrorMax, Adjustment: 0, Height: config.heightMin };
}

export function cloneCoordinate(c: Coordinate): Coordinate {
  return { Vec: c.Vec.slice(), Error: c.Error, Adjustment: c.Adjustment, Height: c.Height };
}

export function isValidCoordinate(c: Coordinate): boolean {
  for (const v of c.Vec) if (!Number.isFinite(v)) return false;
  return Number.isFinite(c.Error) && Number.isFinite(c.Adjustment) && Number.isFinite(c.Height);
}

export function isCompatible(a: Coordinate, b: Coordinate): boolean {
  return a.Vec.length === b.Vec.length;
}

function magnitudeOfDiff(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/** Vivaldi distance in seconds without the adjustment terms. */
export function rawDistance(a: Coordinate, b: Coordinate): number {
  return magnitudeOfDiff(a.Vec, b.Vec) + a.Height + b.Height;
}

/**
 * Estimated RTT in seconds between two coordinates: the raw distance plus both
 * adjustments when that sum stays positive (Serf's DistanceTo, which also
 * truncates to whole nanoseconds).
 */
export function distance(a: Coordinate, b: Coordinate): number {
  if (!isCompatible(a, b)) throw new RangeError("Coordinate dimensionality does not match");
  let dist = rawDistance(a, b);
  const adjusted = dist + a.Adjustment + b.Adjustment;
  if (adjusted > 0) dist = adjusted;
  return Math.trunc(dist * 1e9) / 1e9;
}

function applyForce(config: VivaldiConfig, rnd: Random, c: Coordinate, force: number, other: Coordinate): Coordinate {
  const ret = cloneCoordinate(c);
  const n = c.Vec.length;
  const unit = new Array<number>(n);
  let mag = magnitudeOfDiff(c.Vec, other.Vec);
  if (mag > ZERO_THRESHOLD) {
    for (let i = 0; i < n; i++) unit[i] = ((c.Vec[i] as number) - (other.Vec[i] as number)) / mag;
  } else {
    // On top of each other: push in a random direction (height is left alone).
    let m = 0;
    for (let i = 0; i < n; i++) {
      const v = rnd.next() - 0.5;
      unit[i] = v;
      m += v * v;
    }
    m = Math.sqrt(m);
    if (m > ZERO_THRESHOLD) for (let i = 0; i < n; i++) unit[i] = (unit[i] as number) / m;
    else {
      unit.fill(0);
      unit[0] = 1;
    }
    mag = 0;
  }
  for (let i = 0; i < n; i++) ret.Vec[i] = (ret.Vec[i] as number) + (unit[i] as number) * force;
  if (mag > ZERO_THRESHOLD) {
    ret.Height = Math.max(((ret.Height + other.Height) * force) / mag + ret.Height, config.heightMin);
  }
  return ret;
}

export class InvalidCoordinateError extends Error {
  override readonly name = "InvalidCoordinateError";
}

/**
 * One node's Vivaldi state: its coordinate, the adjustment window and a
 * per-peer median filter over the last few RTT samples.
 */
export class VivaldiClient {
  private coord: Coordinate;
  private readonly origin: Coordinate;
  private readonly samples: number[];
  private sampleIndex = 0;
  private readonly filters = new Map<string, number[]>();
  /** Times the coordinate went invalid and was reset. */
  resets = 0;

  private readonly config: VivaldiConfig;
  private readonly rnd: Random;

  constructor(config: VivaldiConfig = DEFAULT_VIVALDI, rnd: Random = systemRandom) {
    this.config = config;
    this.rnd = rnd;
    if (!(config.dimensionality > 0)) throw new RangeError("Vivaldi dimensionality must be > 0");
    this.coord = newCoordinate(config);
    this.origin = newCoordinate(config);
    this.samples = new Array<number>(config.adjustmentWindowSize).fill(0);
  }

  get coordinate(): Coordinate {
    return cloneCoordinate(this.coord);
  }

  setCoordinate(c: Coordinate): void {
    this.check(c);
    this.coord = cloneCoordinate(c);
  }

  forgetNode(node: string): void {
    this.filters.delete(node);
  }

  distanceTo(other: Coordinate): number {
    return distance(this.coord, other);
  }

  /** Folds one RTT observation (seconds) to `node` at coordinate `other` in; returns the new coordinate. */
  update(node: string, other: Coordinate, rttSeconds: number): Coordinate {
    this.check(other);
    if (!(rttSeconds >= 0 && rttSeconds <= MAX_RTT_SECONDS)) {
      throw new InvalidCoordinateError(`Round trip time not in valid range: ${rttSeconds}s is not within [0, ${MAX_RTT_SECONDS}s]`);
    }
    const rtt = this.latencyFilter(node, rttSeconds);
    this.updateVivaldi(other, rtt);
    this.updateAdjustment(other, rtt);
    this.updateGravity();
    if (!isValidCoordinate(this.coord)) {
      this.resets++;
      this.coord = newCoordinate(this.config);
    }
    return cloneCoordinate(this.coord);
  }

  private check(c: Coordinate): void {
    if (!isCompatible(this.coord, c)) throw new InvalidCoordinateError("Coordinate dimensions aren't compatible");
    if (!isValidCoordinate(c)) throw new InvalidCoordinateError("Coordinate is invalid");
  }

  private latencyFilter(node: string, rtt: number): number {
    let s = this.filters.get(node);
    if (!s) this.filters.set(node, (s = []));
    s.push(rtt);
    if (s.length > this.config.latencyFilterSize) s.shift();
    const sorted = s.slice().sort((a, b) => a - b);
    return sorted[sorted.length >> 1] as number;
  }

  private updateVivaldi(other: Coordinate, rttIn: number): void {
    const dist = distance(this.coord, other);
    const rtt = rttIn < ZERO_THRESHOLD ? ZERO_THRESHOLD : rttIn;
    const wrongness = Math.abs(dist - rtt) / rtt;
    let totalError = this.coord.Error + other.Error;
    if (totalError < ZERO_THRESHOLD) totalError = ZERO_THRESHOLD;
    const weight = this.coord.Error / totalError;
    const ce = this.config.vivaldiCE;
    this.coord.Error = Math.min(ce * weight * wrongness + this.coord.Error * (1 - ce * weight), this.config.vivaldiErrorMax);
    const force = this.config.vivaldiCC * weight * (rtt - dist);
    this.coord = applyForce(this.config, this.rnd, this.coord, force, other);
  }

  private updateAdjustment(other: Coordinate, rtt: number): void {
    const w = this.config.adjustmentWindowSize;
    if (w === 0) return;
    this.samples[this.sampleIndex] = rtt - rawDistance(this.coord, other);
    this.sampleIndex = (this.sampleIndex + 1) % w;
    let sum = 0;
    for (const s of this.samples) sum += s;
    this.coord.Adjustment = sum / (2 * w);
  }

  private updateGravity(): void {
    const dist = distance(this.origin, this.coord);
    const force = -1 * Math.pow(dist / this.config.gravityRho, 2);
    this.coord = applyForce(this.config, this.rnd, this.coord, force, this.origin);
  }
}
