/** Distance between coordinates (Serf's DistanceTo via lib.ComputeDistance) and segment intersection. */
import { expect, test } from "bun:test";
import { type Coordinate, computeDistance, coordinateProblem, intersect } from "../../src/structs/coordinate.ts";

function coord(x: number, extra: Partial<Coordinate> = {}): Coordinate {
  const Vec = [x, 0, 0, 0, 0, 0, 0, 0];
  return { Vec, Error: 1.5, Adjustment: 0, Height: 0, ...extra };
}

test("distance is the Euclidean gap plus both heights plus both adjustments, in seconds", () => {
  expect(computeDistance(coord(0.001), coord(0.004))).toBeCloseTo(0.003, 12);
  expect(computeDistance(coord(0.001, { Height: 0.0005 }), coord(0.004, { Height: 0.00025 }))).toBeCloseTo(0.00375, 12);
  expect(computeDistance(coord(0.001, { Adjustment: 0.0002 }), coord(0.004, { Adjustment: -0.0001 }))).toBeCloseTo(0.0031, 12);
  // Adjustments that would make the distance non-positive are left out.
  expect(computeDistance(coord(0.001, { Adjustment: -0.002 }), coord(0.002, { Adjustment: -0.002 }))).toBeCloseTo(0.001, 12);
  // Serf truncates to whole nanoseconds.
  expect(computeDistance(coord(0), coord(1.23456789012e-3))).toBe(0.001234567);
});

test("a missing or incompatible coordinate is infinitely far", () => {
  expect(computeDistance(null, coord(0))).toBe(Number.POSITIVE_INFINITY);
  expect(computeDistance(coord(0), undefined)).toBe(Number.POSITIVE_INFINITY);
  expect(computeDistance(coord(0), { Vec: [0, 0], Error: 1, Adjustment: 0, Height: 0 })).toBe(Number.POSITIVE_INFINITY);
});

test("segments: the default segment, unless a node is in exactly one", () => {
  const a = coord(0.1);
  const b = coord(0.2);
  const c = coord(0.3);
  expect(intersect(new Map([["", a]]), new Map([["", b]]))).toEqual([a, b]);
  // A client in segment "alpha" against a server in every segment.
  expect(intersect(new Map([["alpha", a]]), new Map([["", b], ["alpha", c]]))).toEqual([a, c]);
  expect(intersect(new Map([["", a], ["alpha", b]]), new Map([["beta", c]]))).toEqual([null, c]);
  expect(intersect(new Map(), new Map([["", b]]))).toEqual([null, b]);
});

test("incoming coordinates must be finite and have Serf's eight dimensions", () => {
  expect(coordinateProblem(coord(0.1))).toBeNull();
  expect(coordinateProblem(coord(Number.NaN))).toBe("invalid coordinate");
  expect(coordinateProblem(coord(0.1, { Height: Number.POSITIVE_INFINITY }))).toBe("invalid coordinate");
  expect(coordinateProblem({ Vec: [0, 0, 0], Error: 1, Adjustment: 0, Height: 0 })).toBe("incompatible coordinate");
});
