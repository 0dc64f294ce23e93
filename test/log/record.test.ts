import { expect, test } from "bun:test";
import { decodeRecord, encodeRecords, RECORD_HEADER_BYTES } from "../../src/log/record.ts";
import { bytes, text } from "./helpers.ts";

test("records round-trip, including indexes above 2^32", () => {
  const big = 2 ** 40 + 7;
  const buf = encodeRecords([
    { index: 1, data: bytes("one") },
    { index: big, data: new Uint8Array(0) },
  ]);
  expect(buf.length).toBe(2 * RECORD_HEADER_BYTES + 3);
  const a = decodeRecord(buf, 0);
  if (!a.ok) throw new Error(a.reason);
  expect(a.index).toBe(1);
  expect(text(a.data)).toBe("one");
  const b = decodeRecord(buf, a.next);
  if (!b.ok) throw new Error(b.reason);
  expect(b.index).toBe(big);
  expect(b.data.length).toBe(0);
  expect(b.next).toBe(buf.length);
});

test("the checksum covers both index and payload", () => {
  const good = encodeRecords([{ index: 5, data: bytes("payload") }]);
  const badIndex = good.slice();
  badIndex[8] = 6;
  const badPayload = good.slice();
  badPayload[RECORD_HEADER_BYTES] = (badPayload[RECORD_HEADER_BYTES] as number) ^ 0x01;
  for (const buf of [badIndex, badPayload]) {
    const r = decodeRecord(buf, 0);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain("checksum mismatch");
  }
});

test("a record cut short is reported as partial", () => {
  const good = encodeRecords([{ index: 1, data: bytes("0123456789") }]);
  for (const cut of [3, RECORD_HEADER_BYTES, good.length - 1]) {
    const r = decodeRecord(good.subarray(0, cut), 0);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain("partial");
  }
});
