import { expect, test } from "bun:test";
import { decodeBody, encodeFrame, FrameError, FrameReader, MAX_FRAME } from "../../src/rpc/codec.ts";

const roundTrip = (r: unknown): unknown => {
  const f = encodeFrame({ i: 7, r });
  expect(new DataView(f.buffer).getUint32(0)).toBe(f.length - 4);
  return (decodeBody(f.subarray(4)) as { r: unknown }).r;
};

test("values keep their types: bigints past 2^53, bytes, NUL-led strings, nesting", () => {
  const v = {
    Flags: 18446744073709551615n,
    Value: new Uint8Array([0, 255, 1]),
    Key: "\u0000b not bytes",
    Other: "\u0000n42",
    list: [1, "a", null, [2n, { deep: new Uint8Array(0) }]],
    map: { __proto__x: "\u0000" },
  };
  expect(roundTrip(v)).toEqual(v);
});

test("JSON's own rules: undefined fields are dropped, undefined and NaN in arrays and non-finite numbers become null", () => {
  expect(roundTrip({ a: undefined, b: [undefined, Number.NaN, Infinity], c: -0 })).toEqual({ b: [null, null, null], c: 0 });
});

test("plain messages (the native JSON fast path) and tagged ones are written alike: a tagged value deep in a plain tree still tags, class instances and toJSON are not called", () => {
  const plain = { a: [1, "x", null, { b: true }], c: { d: "é\ud800" } };
  expect(new TextDecoder().decode(encodeFrame({ i: 1, r: plain }).subarray(4))).toBe(JSON.stringify({ i: 1, r: plain }));
  expect(roundTrip({ deep: [{ x: [{ y: 5n }] }] })).toEqual({ deep: [{ x: [{ y: 5n }] }] });
  expect(roundTrip([{ s: "\u0000keep" }])).toEqual([{ s: "\u0000keep" }]);
  // Not plain: no toJSON is called and a Date is written as the object it is (as before the fast path).
  expect(roundTrip({ t: { toJSON: () => "called", k: 1 } })).toEqual({ t: { k: 1 } });
  expect(roundTrip({ d: new Date(0) })).toEqual({ d: {} });
});

test("frames split and joined anywhere come out whole; an oversize length is refused", () => {
  const frames = [encodeFrame({ i: 1, r: "one" }), encodeFrame({ i: 2, r: { x: 2n } }), encodeFrame({ i: 3, r: null })];
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    all.set(f, at);
    at += f.length;
  }
  for (const step of [1, 3, 7, all.length]) {
    const reader = new FrameReader();
    const got: unknown[] = [];
    for (let i = 0; i < all.length; i += step) for (const b of reader.push(all.subarray(i, i + step))) got.push(decodeBody(b));
    expect(got).toEqual([{ i: 1, r: "one" }, { i: 2, r: { x: 2n } }, { i: 3, r: null }]);
    expect(reader.pending).toBe(0);
  }
  const huge = new Uint8Array(4);
  new DataView(huge.buffer).setUint32(0, MAX_FRAME + 1);
  expect(() => new FrameReader().push(huge)).toThrow(FrameError);
});

test("a frame that does not start like one is refused from its first bytes, before its body arrives", () => {
  const head = new Uint8Array(9);
  new DataView(head.buffer).setUint32(0, 1 << 20);
  head.set(new TextEncoder().encode("GET /"), 4);
  expect(() => new FrameReader().push(head)).toThrow(FrameError);
});

test("a large frame in many small chunks is reassembled in linear time", () => {
  const frame = encodeFrame({ i: 1, r: "x".repeat(8 << 20) });
  const reader = new FrameReader();
  const t = performance.now();
  const got: Uint8Array[] = [];
  for (let i = 0; i < frame.length; i += 4096) got.push(...reader.push(frame.subarray(i, i + 4096)));
  const ms = performance.now() - t;
  expect(got.length).toBe(1);
  expect((decodeBody(got[0]!) as { r: string }).r.length).toBe(8 << 20);
  // Joining the buffer on every chunk took minutes for this; once each byte it takes milliseconds.
  expect(ms).toBeLessThan(5000);
});
