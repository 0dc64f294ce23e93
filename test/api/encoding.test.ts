import { expect, test } from "bun:test";
import {
  Base64Error,
  DurationError,
  cleanPath,
  decodeBase64,
  durationToMsec,
  encodeBase64,
  encodeJson,
  joinPath,
  parseDuration,
  parseJson,
} from "../../src/api/mod.ts";

test("parseJson keeps integers above 2^53 exact as decimal strings, leaves strings alone", () => {
  const text = '[{"Key":"a \\"Flags\\":9007199254740993","Flags":3304740253564472344,"ModifyIndex":12,"f":-9223372036854775808,"x":1.5e300}]';
  const [entry] = parseJson(text) as Record<string, unknown>[];
  expect(entry?.Flags).toBe("3304740253564472344");
  expect(entry?.Key).toBe('a "Flags":9007199254740993');
  expect(entry?.ModifyIndex).toBe(12);
  expect(entry?.f).toBe("-9223372036854775808");
  expect(entry?.x).toBe(1.5e300);
  expect(parseJson('{"n":9007199254740991}')).toEqual({ n: 9007199254740991 });
});

test("encodeJson writes bigint as bare integers and can indent and HTML-escape like Go", () => {
  expect(encodeJson({ a: 16210313421097356768n, b: [1, "x"], c: undefined, d: null })).toBe(
    '{"a":16210313421097356768,"b":[1,"x"],"d":null}',
  );
  expect(encodeJson([{ key: "<a&b>", flags: 0n }], { indent: "\t", escapeHtml: true })).toBe(
    '[\n\t{\n\t\t"key": "\\u003ca\\u0026b\\u003e",\n\t\t"flags": 0\n\t}\n]',
  );
  expect(encodeJson([], { indent: "\t" })).toBe("[]");
  expect(encodeJson({}, { indent: "\t" })).toBe("{}");
});

test("base64 is padded standard encoding; bad input reports the offending byte", () => {
  const bytes = new Uint8Array([0, 255, 10, 200]);
  expect(encodeBase64(bytes)).toBe("AP8KyA==");
  expect(decodeBase64("AP8KyA==")).toEqual(bytes);
  expect(decodeBase64("")).toEqual(new Uint8Array(0));
  expect(() => decodeBase64("AP8KyA")).toThrow("illegal base64 data at input byte 4");
  expect(() => decodeBase64("AP*K")).toThrow(Base64Error);
  expect(() => decodeBase64("AP8=yA==")).toThrow("illegal base64 data at input byte 3");
  const big = new Uint8Array(100_000).map((_, i) => i % 251);
  expect(decodeBase64(encodeBase64(big))).toEqual(big);
});

test("Go durations parse to milliseconds with Go's error texts", () => {
  expect(parseDuration("15s")).toBe(15_000);
  expect(parseDuration("1h2m3.5s")).toBe(3_723_500);
  expect(parseDuration("1.5ms")).toBe(1.5);
  expect(parseDuration("-2m")).toBe(-120_000);
  expect(parseDuration("0")).toBe(0);
  expect(parseDuration("500us")).toBeCloseTo(0.5);
  expect(() => parseDuration("5")).toThrow('time: missing unit in duration "5"');
  expect(() => parseDuration("5d")).toThrow('time: unknown unit "d" in duration "5d"');
  expect(() => parseDuration("")).toThrow(DurationError);
  expect(() => parseDuration("s")).toThrow('time: invalid duration "s"');
});

test("durationToMsec never rounds a positive wait to 0ms", () => {
  expect(durationToMsec(15_000)).toBe("15000ms");
  expect(durationToMsec(0.2)).toBe("1ms");
  expect(durationToMsec(0)).toBe("0ms");
});

test("joinPath and cleanPath follow Go's path package", () => {
  expect(joinPath("svc/leader", ".lock")).toBe("svc/leader/.lock");
  expect(joinPath("svc/leader/", ".lock")).toBe("svc/leader/.lock");
  expect(joinPath("", "a/")).toBe("a");
  expect(joinPath("", "")).toBe("");
  expect(joinPath("a", "../b")).toBe("b");
  expect(cleanPath("")).toBe(".");
  expect(cleanPath("/../x/./y//")).toBe("/x/y");
});
