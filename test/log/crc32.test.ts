import { expect, test } from "bun:test";
import { crc32 } from "../../src/log/mod.ts";
import { bytes } from "./helpers.ts";

// Bit-at-a-time reference, straight from the polynomial definition.
function reference(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

test("crc32 matches the standard check values", () => {
  expect(crc32(bytes("123456789"))).toBe(0xcbf43926);
  expect(crc32(new Uint8Array(0))).toBe(0);
  expect(crc32(bytes("The quick brown fox jumps over the lazy dog"))).toBe(0x414fa339);
});

test("crc32 agrees with the bitwise reference for every length around the 8-byte stride", () => {
  let seed = 12345;
  for (let len = 0; len < 100; len++) {
    const data = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      data[i] = seed >>> 24;
    }
    expect(crc32(data)).toBe(reference(data));
  }
});

test("crc32 can be computed in pieces and over a sub-range", () => {
  const data = bytes("consulate write-ahead log record payload");
  const whole = crc32(data);
  expect(crc32(data.subarray(17), crc32(data.subarray(0, 17)))).toBe(whole);
  expect(crc32(data, 0, 5, 20)).toBe(crc32(data.subarray(5, 20)));
});
