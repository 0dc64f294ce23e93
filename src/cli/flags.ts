/**
 * A command-line flag parser with the rules of Go's `flag` package, which
 * Consul's CLI uses: `-name value`, `-name=value`, `--name`, booleans as
 * `-name` or `-name=false`; parsing stops at the first non-flag argument or
 * after `--`.
 */
import { parseDuration } from "../api/mod.ts";

export interface Flag<T> {
  readonly kind: "bool" | "string" | "int" | "uint64" | "duration" | "map";
  readonly initial: T;
  readonly usage: string;
  /** Placeholder shown in help, e.g. `-http-addr=<address>`. */
  readonly placeholder: string;
  /** Which help section lists the flag. */
  readonly group: "http" | "command";
  /** Returns the new value, or throws a `FlagValueError` detail string. */
  parse(raw: string, previous: T): T;
}

export type FlagSpec = Readonly<Record<string, Flag<unknown>>>;
export type FlagValues<S extends FlagSpec> = { -readonly [K in keyof S]: S[K] extends Flag<infer T> ? T : never };

export interface Parsed<S extends FlagSpec> {
  readonly values: FlagValues<S>;
  /** Names of flags given on the command line. */
  readonly set: ReadonlySet<string>;
  /** Arguments after the flags. */
  readonly args: string[];
}

/** Bad command-line syntax; the message is Go's wording. */
export class FlagError extends Error {
  override readonly name = "FlagError";
}

/** `-h`, `-help` or `--help` was given. */
export class HelpRequested extends Error {
  override readonly name = "HelpRequested";
  constructor() {
    super("flag: help requested");
  }
}

type Opt = { placeholder?: string; group?: "http" | "command" };

export function boolFlag(initial: boolean, usage: string, opt: Opt = {}): Flag<boolean> {
  return {
    kind: "bool",
    initial,
    usage,
    placeholder: "",
    group: opt.group ?? "command",
    parse(raw) {
      const v = parseBool(raw);
      if (v === undefined) throw new Error("parse error");
      return v;
    },
  };
}

/** A string flag that may be given several times; its value is every occurrence, in order. */
export function listFlag(usageText: string, opt: Opt = {}): Flag<string[]> {
  return { kind: "string", initial: [], usage: usageText, placeholder: opt.placeholder ?? "value", group: opt.group ?? "command", parse: (raw, prev) => [...prev, raw] };
}

export function stringFlag(initial: string, usage: string, opt: Opt = {}): Flag<string> {
  return { kind: "string", initial, usage, placeholder: opt.placeholder ?? "string", group: opt.group ?? "command", parse: (raw) => raw };
}

export function intFlag(initial: number, usage: string, opt: Opt = {}): Flag<number> {
  return {
    kind: "int",
    initial,
    usage,
    placeholder: opt.placeholder ?? "int",
    group: opt.group ?? "command",
    parse(raw) {
      if (!/^[+-]?\d+$/.test(raw)) throw new Error("parse error");
      const n = Number(raw);
      if (!Number.isSafeInteger(n)) throw new Error("value out of range");
      return n;
    },
  };
}

export function uint64Flag(initial: bigint, usage: string, opt: Opt = {}): Flag<bigint> {
  return {
    kind: "uint64",
    initial,
    usage,
    placeholder: opt.placeholder ?? "uint",
    group: opt.group ?? "command",
    parse(raw) {
      let n: bigint;
      if (/^\d+$/.test(raw)) n = BigInt(raw);
      else if (/^0[xX][0-9a-fA-F]+$/.test(raw)) n = BigInt(raw);
      else throw new Error("parse error");
      if (n > 0xffffffffffffffffn) throw new Error("value out of range");
      return n;
    },
  };
}

/** Milliseconds, written as a Go duration ("5s", "1m30s"). */
export function durationFlag(initialMs: number, usage: string, opt: Opt = {}): Flag<number> {
  return {
    kind: "duration",
    initial: initialMs,
    usage,
    placeholder: opt.placeholder ?? "duration",
    group: opt.group ?? "command",
    parse(raw) {
      try {
        return parseDuration(raw);
      } catch {
        throw new Error("parse error");
      }
    },
  };
}

/** Repeatable `key=value` flag (Consul's FlagMapValue). */
export function mapFlag(usage: string, opt: Opt = {}): Flag<Record<string, string>> {
  return {
    kind: "map",
    initial: {},
    usage,
    placeholder: opt.placeholder ?? "key=value",
    group: opt.group ?? "command",
    parse(raw, previous) {
      const eq = raw.indexOf("=");
      if (eq === -1) throw new Error(`missing "=" value in argument: ${raw}`);
      return { ...previous, [raw.slice(0, eq)]: raw.slice(eq + 1) };
    },
  };
}

/** Go's `strconv.ParseBool`. */
export function parseBool(raw: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(raw)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(raw)) return false;
  return undefined;
}

export function parseFlags<S extends FlagSpec>(spec: S, argv: readonly string[]): Parsed<S> {
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(spec)) values[name] = flag.initial;
  const set = new Set<string>();
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] ?? "";
    if (arg.length < 2 || arg[0] !== "-") break;
    let numMinuses = 1;
    if (arg[1] === "-") {
      numMinuses = 2;
      if (arg.length === 2) {
        i++;
        break;
      }
    }
    let name = arg.slice(numMinuses);
    if (name.length === 0 || name[0] === "-" || name[0] === "=") throw new FlagError(`bad flag syntax: ${arg}`);
    i++;
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq !== -1) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const flag = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (flag === undefined) {
      if (name === "help" || name === "h") throw new HelpRequested();
      throw new FlagError(`flag provided but not defined: -${name}`);
    }
    if (flag.kind === "bool") {
      if (value === undefined) {
        values[name] = true;
      } else {
        try {
          values[name] = flag.parse(value, values[name]);
        } catch {
          throw new FlagError(`invalid boolean value ${goQuote(value)} for -${name}: parse error`);
        }
      }
    } else {
      if (value === undefined) {
        if (i >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
        value = argv[i] ?? "";
        i++;
      }
      try {
        values[name] = flag.parse(value, values[name]);
      } catch (err) {
        throw new FlagError(`invalid value ${goQuote(value)} for flag -${name}: ${(err as Error).message}`);
      }
    }
    set.add(name);
  }
  return { values: values as FlagValues<S>, set, args: argv.slice(i) };
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Help text in Consul's layout: the command's own text, then its flags grouped by section. */
export function usage(help: string, spec: FlagSpec): string {
  const sections: [string, "http" | "command"][] = [
    ["HTTP API Options", "http"],
    ["Command Options", "command"],
  ];
  let out = help.trim() + "\n";
  for (const [title, group] of sections) {
    const names = Object.keys(spec)
      .filter((n) => spec[n]?.group === group)
      .sort();
    if (names.length === 0) continue;
    out += `\n${title}\n`;
    for (const n of names) {
      const f = spec[n];
      if (!f) continue;
      const head = f.kind === "bool" ? `  -${n}` : `  -${n}=<${f.placeholder}>`;
      out += `\n${head}\n${wrap(f.usage, 80, "     ")}\n`;
    }
  }
  return out;
}

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== "" && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(indent + line);
  return lines.join("\n");
}
