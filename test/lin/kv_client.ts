/**
 * One test client: KV get/put/CAS over HTTP against one server, each
 * operation recorded in a History with what the client could know about it.
 */
import type { KvInput } from "./checker.ts";
import type { History } from "./history.ts";

export interface KvClientOptions {
  readonly id: number;
  /** `http://127.0.0.1:<port>` of the server this client talks to. */
  readonly base: () => string;
  readonly history: History;
  /** Per-request timeout; a request still unanswered then is ambiguous. */
  readonly timeoutMs: number;
  /** Read consistency: "" (default), "consistent" or "stale". */
  readonly consistency?: "" | "consistent";
}

/** What the client remembers of a key from its last read: CAS expects it. */
interface Seen {
  readonly value: string | null;
  readonly modifyIndex: number;
}

type Outcome = { kind: "ok"; status: number; body: string } | { kind: "refused" } | { kind: "ambiguous" };

/** Refused at connect: with a fresh connection per request, the request was never sent. */
function refused(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  const code = e?.cause?.code ?? e?.code ?? "";
  return code === "ECONNREFUSED" || code === "ConnectionRefused";
}

export class KvClient {
  private readonly o: KvClientOptions;
  private readonly seen = new Map<string, Seen>();
  private counter = 0;

  constructor(options: KvClientOptions) {
    this.o = options;
  }

  private async request(method: "GET" | "PUT", path: string, body?: string): Promise<Outcome> {
    try {
      // A new connection per request. On a reused keep-alive connection that
      // breaks, Bun's fetch resends the request on a fresh one and reports
      // only the second failure: a PUT the dying server had applied would then
      // look "refused" (never sent), and the history would lie.
      const res = await fetch(`${this.o.base()}${path}`, {
        method,
        keepalive: false,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
      // A -dev agent ends its JSON with a newline; the body is compared without it.
      return { kind: "ok", status: res.status, body: (await res.text()).trimEnd() };
    } catch (err) {
      return refused(err) ? { kind: "refused" } : { kind: "ambiguous" };
    }
  }

  private nextValue(): string {
    return `c${this.o.id}-${++this.counter}`;
  }

  async get(key: string): Promise<void> {
    const h = this.o.history;
    const input: KvInput = { key, op: "get" };
    const start = h.now();
    const q = this.o.consistency ? `?${this.o.consistency}` : "";
    const r = await this.request("GET", `/v1/kv/${key}${q}`);
    if (r.kind === "ok" && r.status === 404) {
      h.ok(this.o.id, input, null, start);
      this.seen.set(key, { value: null, modifyIndex: 0 });
      return;
    }
    if (r.kind === "ok" && r.status === 200) {
      const [entry] = JSON.parse(r.body) as { Value: string | null; ModifyIndex: number }[];
      const value = entry?.Value == null ? "" : atob(entry.Value);
      h.ok(this.o.id, input, value, start);
      this.seen.set(key, { value, modifyIndex: entry!.ModifyIndex });
      return;
    }
    h.failed();
  }

  async put(key: string): Promise<void> {
    const value = this.nextValue();
    await this.write({ key, op: "put", value }, `/v1/kv/${key}`, value);
  }

  /** CAS against what this client last read of the key (index 0 = create when absent). */
  async cas(key: string): Promise<void> {
    const seen = this.seen.get(key) ?? { value: null, modifyIndex: 0 };
    const value = this.nextValue();
    await this.write({ key, op: "cas", expect: seen.value, value }, `/v1/kv/${key}?cas=${seen.modifyIndex}`, value);
  }

  private async write(input: KvInput, path: string, value: string): Promise<void> {
    const h = this.o.history;
    const start = h.now();
    const r = await this.request("PUT", path, value);
    if (r.kind === "ok" && r.status === 200 && (r.body === "true" || r.body === "false")) {
      h.ok(this.o.id, input, r.body === "true", start);
      return;
    }
    // Refused connections and 4xx never reached the log; anything else might have.
    if (r.kind === "refused" || (r.kind === "ok" && r.status >= 400 && r.status < 500)) {
      h.failed();
      return;
    }
    h.ambiguous(this.o.id, input, start);
  }
}
