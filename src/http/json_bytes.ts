/**
 * JSON written straight into UTF-8 bytes, exactly as `JSON.stringify(value,
 * null, pretty ? 4 : undefined)` then a UTF-8 encode would give them, for the
 * large catalog and health answers (row_json.ts): no answer objects, no
 * 16 MB string and no second pass to encode it (Node's `Buffer.from(text)`
 * alone cost as much as the stringify). Plain data (strings, numbers,
 * booleans, null, arrays, objects whose prototype is Object's or null) is
 * written here; anything else (a bigint, an object with `toJSON`, a class
 * instance, a boxed primitive, nesting past MAX_DEPTH) is handed to
 * `toJson` and its text re-indented to where it sits, so the bytes stay those
 * of the whole-answer encode (test/http/json_bytes.test.ts compares them).
 */
import { toJson } from "../structs/json.ts";

/** The bytes of a chunk; answers of many megabytes are a list of these. */
const CHUNK = 64 * 1024;
/** Past this depth (twice what a body may nest: a cycle) a value is handed to `toJson`, which throws JSON.stringify's TypeError. */
const MAX_DEPTH = 256;
/** Key names remembered per writer mode (field names are few; past this many distinct ones a new one is encoded each time). */
const MAX_KEYS = 4096;

const utf8 = new TextEncoder();
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const ZERO = 0x30;
const NULL = utf8.encode("null");
const TRUE = utf8.encode("true");
const FALSE = utf8.encode("false");
const EMPTY_OBJECT = utf8.encode("{}");
const EMPTY_ARRAY = utf8.encode("[]");

/** What a writer knows of its mode: the line breaks and member starts it writes, encoded once. */
class Style {
  readonly pretty: boolean;
  /** "\n" and 4 spaces per level, per depth (pretty); empty (compact). */
  private readonly breaks: Uint8Array[] = [];
  /** Per key name: what starts its member, by depth and with or without the comma before it (index depth * 2 + comma). */
  private readonly members = new Map<string, Uint8Array[]>();

  constructor(pretty: boolean) {
    this.pretty = pretty;
  }

  /** The line break that starts a member at `depth` (nothing when compact). */
  lineBreak(depth: number): Uint8Array {
    let b = this.breaks[depth];
    if (b === undefined) {
      b = this.pretty ? utf8.encode("\n" + " ".repeat(4 * depth)) : new Uint8Array(0);
      this.breaks[depth] = b;
    }
    return b;
  }

  /**
   * `,\n    "name": ` and the like: the comma (when `comma` is 1), the line
   * break to `depth + 1` and the key, in one piece.
   */
  memberStart(name: string, depth: number, comma: number): Uint8Array {
    let byDepth = this.members.get(name);
    if (byDepth === undefined) {
      byDepth = [];
      if (this.members.size < MAX_KEYS) this.members.set(name, byDepth);
    }
    const i = depth * 2 + comma;
    let m = byDepth[i];
    if (m === undefined) {
      const line = this.lineBreak(depth + 1);
      const key = utf8.encode(JSON.stringify(name) + (this.pretty ? ": " : ":"));
      m = new Uint8Array(comma + line.length + key.length);
      if (comma === 1) m[0] = COMMA;
      m.set(line, comma);
      m.set(key, comma + line.length);
      byDepth[i] = m;
    }
    return m;
  }
}

const STYLES = { pretty: new Style(true), compact: new Style(false) } as const;

/** A Number, String, Boolean or BigInt object, which JSON writes as the primitive inside. */
function boxed(v: object): v is { valueOf(): unknown } {
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto === Object.prototype || proto === null) return false;
  return v instanceof Number || v instanceof String || v instanceof Boolean || v instanceof BigInt;
}

/**
 * Writes one JSON text into byte chunks. Objects are written member by
 * member: `open`, then `member(count, name, value, depth)` for each (it
 * returns the new count, leaving out what JSON leaves out), then `close`.
 */
export class JsonBytes {
  private readonly style: Style;
  private readonly chunks: Uint8Array[] = [];
  private buf: Uint8Array = new Uint8Array(CHUNK);
  private at = 0;
  private done = 0;

  constructor(pretty: boolean) {
    this.style = pretty ? STYLES.pretty : STYLES.compact;
  }

  /** The text's bytes, in order; the writer is spent. */
  finish(): { readonly chunks: Uint8Array[]; readonly size: number } {
    if (this.at > 0) this.chunks.push(this.buf.subarray(0, this.at));
    this.done += this.at;
    this.buf = new Uint8Array(0);
    this.at = 0;
    return { chunks: this.chunks, size: this.done };
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    if (this.at > 0) this.chunks.push(this.buf.subarray(0, this.at));
    this.done += this.at;
    this.buf = new Uint8Array(Math.max(CHUNK, n));
    this.at = 0;
  }

  /** Copies bytes (short constant pieces: a loop beats `set` for them). */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.room(n);
    const b = this.buf;
    let p = this.at;
    for (let i = 0; i < n; i++) b[p++] = bytes[i]!;
    this.at = p;
  }

  byte(c: number): void {
    this.room(1);
    this.buf[this.at++] = c;
  }

  /** Text that needs no escaping (already JSON), encoded as UTF-8. */
  private text(s: string): void {
    this.room(s.length * 3);
    this.at += utf8.encodeInto(s, this.buf.subarray(this.at)).written;
  }

  /** A JSON string: printable ASCII copied as it is, anything else as JSON.stringify escapes it. */
  string(s: string): void {
    const n = s.length;
    this.room(n + 2);
    const b = this.buf;
    let p = this.at;
    b[p++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) {
        this.text(JSON.stringify(s));
        return;
      }
      b[p++] = c;
    }
    b[p++] = QUOTE;
    this.at = p;
  }

  number(v: number): void {
    if (v >= 0 && v <= 0x7fffffff && (v | 0) === v) this.smallInt(v);
    else this.raw(utf8.encode(Number.isFinite(v) ? String(v) : "null"));
  }

  private smallInt(v: number): void {
    this.room(10);
    const b = this.buf;
    if (v < 10) {
      b[this.at++] = ZERO + v;
      return;
    }
    let digits = 1;
    for (let x = v; x >= 10; x = (x / 10) | 0) digits++;
    let p = this.at + digits;
    this.at = p;
    for (let x = v; x > 0; x = (x / 10) | 0) b[--p] = ZERO + (x % 10);
  }

  boolean(v: boolean): void {
    this.raw(v ? TRUE : FALSE);
  }

  /**
   * The value of the member `key` (an array index as a string) at `depth`
   * (the depth of the line it starts on), as JSON.stringify's
   * SerializeJSONProperty writes it; false, writing nothing, where it gives
   * undefined (a member JSON leaves out; an array writes null for it).
   */
  value(v: unknown, key: string, depth: number): boolean {
    if ((typeof v === "object" && v !== null) || typeof v === "bigint") {
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") v = (toJSON as (key: string) => unknown).call(v, key);
    }
    switch (typeof v) {
      case "string":
        this.string(v);
        return true;
      case "number":
        this.number(v);
        return true;
      case "boolean":
        this.boolean(v);
        return true;
      case "bigint":
        // toJson writes a uint64 (KV flags) as its digits.
        this.raw(utf8.encode(v.toString()));
        return true;
      case "object":
        if (v === null) this.raw(NULL);
        else if (depth > MAX_DEPTH) this.encoded(v, depth);
        else if (Array.isArray(v)) this.array(v, depth);
        else if (!boxed(v)) this.object(v as Record<string, unknown>, depth);
        else return this.value(v.valueOf(), key, depth);
        return true;
      default:
        return false;
    }
  }

  /** Nesting deeper than any body the agent takes (a cycle, then): JSON.stringify's own answer, or its TypeError. */
  private encoded(v: unknown, depth: number): void {
    const text = toJson(v, this.style.pretty);
    this.text(this.style.pretty && depth > 0 ? text.replaceAll("\n", "\n" + " ".repeat(4 * depth)) : text);
  }

  array(a: readonly unknown[], depth: number): void {
    if (a.length === 0) return this.raw(EMPTY_ARRAY);
    this.byte(OPEN_BRACKET);
    const inner = this.style.lineBreak(depth + 1);
    for (let i = 0; i < a.length; i++) {
      if (i > 0) this.byte(COMMA);
      this.raw(inner);
      if (!this.value(a[i], String(i), depth + 1)) this.raw(NULL);
    }
    this.raw(this.style.lineBreak(depth));
    this.byte(CLOSE_BRACKET);
  }

  /** An object's own enumerable string keys in their order (for-in's, less what it inherits: Object.keys's). */
  object(o: Record<string, unknown>, depth: number): void {
    let n = 0;
    this.open();
    for (const k in o) {
      if (Object.hasOwn(o, k)) n = this.member(n, k, o[k], depth);
    }
    this.close(n, depth);
  }

  /** `{` of an object whose members the caller writes. */
  open(): void {
    this.byte(OPEN_BRACE);
  }

  /** One member of the object at `depth` unless JSON omits it; returns how many members are written now. */
  member(count: number, name: string, v: unknown, depth: number): number {
    const at = this.at;
    const chunks = this.chunks.length;
    this.key(count, name, depth);
    if (this.value(v, name, depth + 1)) return count + 1;
    this.unwrite(chunks, at);
    return count;
  }

  /** Takes back what was written since the writer stood at `at` in chunk `chunks` (a member start whose value JSON leaves out). */
  private unwrite(chunks: number, at: number): void {
    if (this.chunks.length > chunks) {
      // The member start crossed into a new chunk: the old one is current again (its bytes were copied, not moved).
      this.done -= this.chunks[chunks]!.length;
      this.buf = new Uint8Array(this.chunks[chunks]!.buffer);
      this.chunks.length = chunks;
    }
    this.at = at;
  }

  /** What comes before a member's value: a comma after `count` others, its line, its name. */
  key(count: number, name: string, depth: number): void {
    this.raw(this.style.memberStart(name, depth, count > 0 ? 1 : 0));
  }

  /** The line break that starts a line at `depth` (nothing when compact). */
  lineBreak(depth: number): void {
    this.raw(this.style.lineBreak(depth));
  }

  /** `}` of an object of `count` members at `depth` (`{}` when it has none). */
  close(count: number, depth: number): void {
    if (count === 0) {
      this.at--; // the `{` written by open()
      this.raw(EMPTY_OBJECT);
      return;
    }
    this.raw(this.style.lineBreak(depth));
    this.byte(CLOSE_BRACE);
  }

  /** The end of the whole text: Consul's marshalJSON ends an indented answer with a newline. */
  end(): void {
    if (this.style.pretty) this.byte(0x0a);
  }
}

/** One buffer of the chunks (the whole answer, for a body of known length). */
export function joinChunks(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
