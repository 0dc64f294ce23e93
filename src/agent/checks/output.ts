/** Captured check output, limited the ways Consul limits it. */
import { DEFAULT_OUTPUT_MAX_SIZE } from "./types.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The agent's limit, lowered by a smaller per-check OutputMaxSize (Consul's agent.addCheck). */
export function effectiveOutputMaxSize(agentMax: number | undefined, checkMax: number): number {
  const base = agentMax && agentMax > 0 ? agentMax : DEFAULT_OUTPUT_MAX_SIZE;
  return checkMax > 0 && checkMax < base ? checkMax : base;
}

/** Keeps the last `size` bytes written and counts them all (Consul's circbuf). */
export class TailBuffer {
  private buf: Uint8Array;
  private len = 0;
  total = 0;
  readonly size: number;

  constructor(size: number) {
    this.size = size;
    this.buf = new Uint8Array(size);
  }

  write(chunk: Uint8Array): void {
    this.total += chunk.length;
    if (chunk.length >= this.size) {
      this.buf.set(chunk.subarray(chunk.length - this.size));
      this.len = this.size;
      return;
    }
    const keep = Math.min(this.len, this.size - chunk.length);
    this.buf.copyWithin(0, this.len - keep, this.len);
    this.buf.set(chunk, keep);
    this.len = keep + chunk.length;
  }

  /** The kept bytes as text. */
  text(): string {
    return decoder.decode(this.buf.subarray(0, this.len));
  }

  /** The kept bytes, prefixed the way script checks report a cut (`Captured N of M bytes`). */
  textWithMarker(): string {
    const out = this.text();
    return this.total > this.size ? `Captured ${this.size} of ${this.total} bytes\n...\n${out}` : out;
  }
}

/** TTL check output beyond the limit keeps its head and says so (Consul's CheckTTL.SetStatus). */
export function truncateTtlOutput(output: string, max: number): string {
  const bytes = encoder.encode(output);
  if (bytes.length <= max) return output;
  return `${decoder.decode(bytes.subarray(0, max))} ... (captured ${max} of ${bytes.length} bytes)`;
}
