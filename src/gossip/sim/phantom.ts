/**
 * Synthetic RTT matrices (Serf's coordinate/phantom.go shapes: line, grid,
 * split, circle, random) and a driver that feeds Vivaldi clients random
 * samples from one, for accuracy tests and the coordinate bench.
 */
import type { Random } from "../random.ts";
import { randomInt } from "../random.ts";
import { VivaldiClient, distance } from "../coordinate.ts";
import type { VivaldiConfig } from "../coordinate.ts";

/** RTTs in seconds, symmetric, zero diagonal. */
export type Matrix = number[][];

function empty(n: number): Matrix {
  return Array.from({ length: n }, () => new Array<number>(n).fill(0));
}

function fill(n: number, f: (i: number, j: number) => number): Matrix {
  const m = empty(n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = f(i, j);
      (m[i] as number[])[j] = v;
      (m[j] as number[])[i] = v;
    }
  }
  return m;
}

export function lineMatrix(n: number, spacing: number): Matrix {
  return fill(n, (i, j) => (j - i) * spacing);
}

export function gridMatrix(n: number, spacing: number): Matrix {
  const side = Math.floor(Math.sqrt(n));
  return fill(n, (i, j) => Math.hypot((j % side) - (i % side), Math.floor(j / side) - Math.floor(i / side)) * spacing);
}

export function splitMatrix(n: number, lan: number, wan: number): Matrix {
  const split = Math.floor(n / 2);
  return fill(n, (i, j) => lan + ((i <= split && j > split) || (i > split && j <= split) ? wan : 0));
}

export function circleMatrix(n: number, radius: number): Matrix {
  return fill(n, (i, j) => {
    if (i === 0) return 2 * radius;
    const a = (2 * Math.PI * i) / n;
    const b = (2 * Math.PI * j) / n;
    return Math.hypot(Math.cos(b) - Math.cos(a), Math.sin(b) - Math.sin(a)) * radius;
  });
}

/** Normal(mean, deviation) RTTs via Box-Muller. */
export function randomMatrix(n: number, mean: number, deviation: number, r: Random): Matrix {
  return fill(n, () => {
    const u = 1 - r.next();
    const v = r.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v) * deviation + mean;
  });
}

/**
 * Points in a plane (a continent of `spreadMs`) with a per-node access-link
 * height and ±jitter: a stand-in for a real datacenter-to-datacenter matrix.
 */
export function planeMatrix(n: number, spreadS: number, heightS: number, r: Random): Matrix {
  const pts = Array.from({ length: n }, () => [r.next() * spreadS, r.next() * spreadS, r.next() * heightS] as const);
  return fill(n, (i, j) => {
    const a = pts[i] as readonly [number, number, number];
    const b = pts[j] as readonly [number, number, number];
    return Math.hypot(a[0] - b[0], a[1] - b[1]) + a[2] + b[2];
  });
}

export function vivaldiClients(n: number, config: VivaldiConfig, r: Random): VivaldiClient[] {
  return Array.from({ length: n }, () => new VivaldiClient(config, r));
}

/** Each cycle, every client observes the true RTT to one random other client. */
export function simulate(clients: VivaldiClient[], truth: Matrix, cycles: number, r: Random): void {
  const n = clients.length;
  for (let c = 0; c < cycles; c++) {
    for (let i = 0; i < n; i++) {
      const j = randomInt(r, n);
      if (j === i) continue;
      (clients[i] as VivaldiClient).update(`n${j}`, (clients[j] as VivaldiClient).coordinate, (truth[i] as number[])[j] as number);
    }
  }
}

/** Average and max relative error of the estimated RTTs over every pair. */
export function evaluate(clients: VivaldiClient[], truth: Matrix): { avg: number; max: number; median: number } {
  const errs: number[] = [];
  for (let i = 0; i < clients.length; i++) {
    for (let j = i + 1; j < clients.length; j++) {
      const est = distance((clients[i] as VivaldiClient).coordinate, (clients[j] as VivaldiClient).coordinate);
      const actual = (truth[i] as number[])[j] as number;
      errs.push(Math.abs(est - actual) / actual);
    }
  }
  errs.sort((a, b) => a - b);
  const sum = errs.reduce((a, b) => a + b, 0);
  return { avg: sum / errs.length, max: errs[errs.length - 1] ?? 0, median: errs[errs.length >> 1] ?? 0 };
}
