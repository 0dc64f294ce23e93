import { expect, test } from "bun:test";
import { effectiveOutputMaxSize } from "../../../src/agent/checks/mod.ts";
import { TailBuffer } from "../../../src/agent/checks/output.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

test("TailBuffer keeps the last bytes across writes of any size", () => {
  const b = new TailBuffer(5);
  b.write(bytes("ab"));
  expect(b.text()).toBe("ab");
  b.write(bytes("cd"));
  expect(b.text()).toBe("abcd");
  b.write(bytes("ef"));
  expect(b.text()).toBe("bcdef");
  b.write(bytes("0123456789"));
  expect(b.text()).toBe("56789");
  b.write(bytes("X"));
  expect(b.text()).toBe("6789X");
  expect(b.total).toBe(17);
  expect(b.textWithMarker()).toBe("Captured 5 of 17 bytes\n...\n6789X");
});

test("no marker while nothing was cut", () => {
  const b = new TailBuffer(5);
  b.write(bytes("12345"));
  expect(b.textWithMarker()).toBe("12345");
});

test("effectiveOutputMaxSize: agent default 4096, lowered but never raised by the check", () => {
  expect(effectiveOutputMaxSize(undefined, 0)).toBe(4096);
  expect(effectiveOutputMaxSize(0, 100)).toBe(100);
  expect(effectiveOutputMaxSize(1000, 100)).toBe(100);
  expect(effectiveOutputMaxSize(1000, 5000)).toBe(1000);
});
