import { expect, test } from "bun:test";
import {
  FlagError,
  HelpRequested,
  boolFlag,
  durationFlag,
  intFlag,
  mapFlag,
  parseBool,
  parseFlags,
  stringFlag,
  uint64Flag,
  usage,
} from "../../src/cli/flags.ts";

const spec = {
  recurse: boolFlag(false, "Recurse."),
  shell: boolFlag(true, "Use a shell."),
  separator: stringFlag("/", "Separator."),
  n: intFlag(1, "Limit."),
  flags: uint64Flag(0n, "Flags."),
  timeout: durationFlag(0, "Timeout."),
  "node-meta": mapFlag("Meta."),
  "http-addr": stringFlag("", "Address.", { group: "http" }),
};

test("defaults apply when no flags are given", () => {
  const p = parseFlags(spec, ["key"]);
  expect(p.values).toEqual({
    recurse: false,
    shell: true,
    separator: "/",
    n: 1,
    flags: 0n,
    timeout: 0,
    "node-meta": {},
    "http-addr": "",
  });
  expect(p.args).toEqual(["key"]);
  expect(p.set.size).toBe(0);
});

test("-name value, -name=value and --name all set a value", () => {
  const p = parseFlags(spec, ["-separator", ":", "--n=3", "-http-addr=127.0.0.1:1", "rest"]);
  expect(p.values.separator).toBe(":");
  expect(p.values.n).toBe(3);
  expect(p.values["http-addr"]).toBe("127.0.0.1:1");
  expect([...p.set].sort()).toEqual(["http-addr", "n", "separator"]);
  expect(p.args).toEqual(["rest"]);
});

test("booleans: bare name is true, =false turns off, a following word is not consumed", () => {
  const p = parseFlags(spec, ["-recurse", "-shell=false", "false"]);
  expect(p.values.recurse).toBe(true);
  expect(p.values.shell).toBe(false);
  expect(p.args).toEqual(["false"]);
  expect(parseFlags(spec, ["-recurse=0"]).values.recurse).toBe(false);
  expect(parseFlags(spec, ["-recurse=T"]).values.recurse).toBe(true);
});

test("parsing stops at the first positional argument, at a lone '-' and after '--'", () => {
  expect(parseFlags(spec, ["prefix", "-recurse"]).args).toEqual(["prefix", "-recurse"]);
  expect(parseFlags(spec, ["-", "-recurse"]).args).toEqual(["-", "-recurse"]);
  const p = parseFlags(spec, ["-recurse", "--", "-n", "2"]);
  expect(p.values.recurse).toBe(true);
  expect(p.values.n).toBe(1);
  expect(p.args).toEqual(["-n", "2"]);
});

test("uint64 keeps values above 2^53 exact", () => {
  expect(parseFlags(spec, ["-flags=3304740253564472344"]).values.flags).toBe(3304740253564472344n);
  expect(parseFlags(spec, ["-flags", "18446744073709551615"]).values.flags).toBe(18446744073709551615n);
  expect(() => parseFlags(spec, ["-flags=18446744073709551616"])).toThrow(
    'invalid value "18446744073709551616" for flag -flags: value out of range',
  );
  expect(() => parseFlags(spec, ["-flags=-1"])).toThrow('invalid value "-1" for flag -flags: parse error');
});

test("durations use Go syntax and come back in milliseconds", () => {
  expect(parseFlags(spec, ["-timeout=1m30s"]).values.timeout).toBe(90_000);
  expect(parseFlags(spec, ["-timeout", "250ms"]).values.timeout).toBe(250);
  expect(() => parseFlags(spec, ["-timeout=5"])).toThrow('invalid value "5" for flag -timeout: parse error');
});

test("map flags accumulate key=value pairs", () => {
  const p = parseFlags(spec, ["-node-meta", "a=1", "-node-meta=b=x=y"]);
  expect(p.values["node-meta"]).toEqual({ a: "1", b: "x=y" });
  expect(() => parseFlags(spec, ["-node-meta=nokey"])).toThrow(FlagError);
});

test("errors carry Go's wording", () => {
  expect(() => parseFlags(spec, ["-nope"])).toThrow("flag provided but not defined: -nope");
  expect(() => parseFlags(spec, ["-separator"])).toThrow("flag needs an argument: -separator");
  expect(() => parseFlags(spec, ["-recurse=maybe"])).toThrow('invalid boolean value "maybe" for -recurse: parse error');
  expect(() => parseFlags(spec, ["-n=x"])).toThrow('invalid value "x" for flag -n: parse error');
  expect(() => parseFlags(spec, ["---n=1"])).toThrow("bad flag syntax: ---n=1");
  expect(() => parseFlags(spec, ["-=1"])).toThrow("bad flag syntax: -=1");
});

test("-h, -help and --help ask for help unless defined", () => {
  for (const h of ["-h", "-help", "--help"]) expect(() => parseFlags(spec, [h])).toThrow(HelpRequested);
});

test("parseBool accepts exactly Go's spellings", () => {
  expect(["1", "t", "T", "TRUE", "true", "True"].map(parseBool)).toEqual(Array(6).fill(true));
  expect(["0", "f", "F", "FALSE", "false", "False"].map(parseBool)).toEqual(Array(6).fill(false));
  expect(parseBool("yes")).toBeUndefined();
  expect(parseBool("tRUE")).toBeUndefined();
});

test("usage lists HTTP and command flags in separate sections", () => {
  const text = usage("Usage: consulate kv get [options] KEY", spec);
  expect(text.startsWith("Usage: consulate kv get [options] KEY\n")).toBe(true);
  const http = text.indexOf("HTTP API Options");
  const cmd = text.indexOf("Command Options");
  expect(http).toBeGreaterThan(0);
  expect(cmd).toBeGreaterThan(http);
  expect(text.indexOf("-http-addr=<string>")).toBeGreaterThan(http);
  expect(text.indexOf("  -recurse\n")).toBeGreaterThan(cmd);
});
