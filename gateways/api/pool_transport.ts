/**
 * The gateway process's Transport: each attempt rides the sidecar's pooled
 * HTTP/1.1 connections over mutual TLS, presenting the gateway's own leaf
 * (so the destination's intentions see the gateway's service name), and the
 * answer is its whole body when small and of known length, else a web
 * Response whose body streams from the connection.
 */
import type { AttemptOutcome, ClusterRuntime, Endpoint, OutboundRequest, Transport } from "../l7/engine.ts";
import type { DeadlineSignal } from "../l7/deadline.ts";
import { pumpBody } from "../mesh/http_relay.ts";
import type { MeshIdentity } from "../mesh/identity.ts";
import type { Upstream } from "./handler.ts";
import { HttpPool, type PooledResponse } from "../sidecar/http_pool.ts";

/** Undoes chunked transfer coding of a body relayed as it came off the wire. */
export class Dechunker {
  #size = -1;
  #line = "";
  #skipCrlf = 0;
  #trailers = false;

  feed(bytes: Uint8Array, out: (c: Uint8Array) => void): void {
    let i = 0;
    while (i < bytes.length) {
      if (this.#skipCrlf > 0) {
        i++;
        this.#skipCrlf--;
        continue;
      }
      if (this.#size > 0) {
        const take = Math.min(this.#size, bytes.length - i);
        out(bytes.subarray(i, i + take));
        i += take;
        this.#size -= take;
        if (this.#size === 0) {
          this.#size = -1;
          this.#skipCrlf = 2;
        }
        continue;
      }
      const b = bytes[i++]!;
      if (b === 10) {
        const line = this.#line.replace(/\r$/, "");
        this.#line = "";
        if (this.#trailers) continue;
        const size = parseInt(line.split(";")[0]!.trim(), 16);
        if (size === 0) this.#trailers = true;
        else this.#size = size;
      } else this.#line += String.fromCharCode(b);
    }
  }
}

/**
 * A response body of known length up to this size is read whole before the
 * answer is handed on: one buffer instead of a stream per request, and the
 * connection goes back to the pool at once.
 */
export const BUFFERED_BODY = 64 * 1024;

async function readWhole(res: PooledResponse): Promise<Uint8Array<ArrayBuffer> | null> {
  const length = res.framing.kind === "length" ? res.framing.length : 0;
  const out = new Uint8Array(length);
  const r = res.conn.reader;
  let at = 0;
  // The body mostly came with the head: copy what is already here without a promise per chunk.
  for (let c = r.nextBuffered(); c; c = at < length ? r.nextBuffered() : null) {
    const take = Math.min(length - at, c.length);
    out.set(c.subarray(0, take), at);
    at += take;
    if (take < c.length) r.unshift(c.subarray(take));
  }
  if (at === length) return out;
  try {
    await pumpBody(r, { kind: "length", length: length - at }, async (c) => {
      out.set(c, at);
      at += c.length;
    });
  } catch {
    res.conn.socket.destroy();
    return null;
  }
  return out;
}

export class PoolTransport implements Transport<Upstream> {
  readonly pool: HttpPool;

  constructor(identity: MeshIdentity) {
    this.pool = new HttpPool(identity, { native: true });
  }

  async send(ep: Endpoint, cluster: ClusterRuntime, req: OutboundRequest, signal: DeadlineSignal): Promise<AttemptOutcome<Upstream>> {
    const out = await this.pool.send(ep, cluster, req, signal);
    if (out.kind === "failure") return out;
    const res = out.response;
    if (res.framing.kind === "length" && res.framing.length <= BUFFERED_BODY && req.method !== "HEAD") {
      const bytes = await readWhole(res);
      if (bytes === null) return { kind: "failure", reason: "reset", message: "upstream closed the connection inside a body" };
      if (this.pool.reusable(res)) this.pool.release(res.conn);
      else res.conn.socket.destroy();
      return { kind: "response", status: out.status, headers: out.headers, response: bytes };
    }
    return { kind: "response", status: out.status, headers: out.headers, response: this.#toResponse(res, out.status, req.method) };
  }

  #toResponse(res: PooledResponse, status: number, method: string): Response {
    const pool = this.pool;
    const bodyless = status === 204 || status === 304 || method === "HEAD" || res.framing.kind === "none";
    if (bodyless) {
      if (pool.reusable(res)) pool.release(res.conn);
      else res.conn.socket.destroy();
      return new Response(null, { status });
    }
    let pumping: Promise<void> | null = null;
    const queue: Uint8Array[] = [];
    let wake: (() => void) | null = null;
    let ended = false;
    let failed: unknown = null;
    const dechunk = res.framing.kind === "chunked" ? new Dechunker() : null;
    const push = (c: Uint8Array) => {
      if (c.length > 0) queue.push(c.slice());
    };
    const start = () => {
      pumping = pumpBody(res.conn.reader, res.framing, async (c) => {
        if (dechunk) dechunk.feed(c, push);
        else push(c);
        wake?.();
      })
        .then(() => {
          if (pool.reusable(res)) pool.release(res.conn);
          else res.conn.socket.destroy();
        })
        .catch((err: unknown) => {
          failed = err;
          res.conn.socket.destroy();
        })
        .finally(() => {
          ended = true;
          wake?.();
        });
    };
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!pumping) start();
        while (queue.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
        wake = null;
        if (queue.length > 0) controller.enqueue(queue.shift()!);
        else if (failed) controller.error(failed);
        else controller.close();
      },
      cancel() {
        res.conn.socket.destroy();
      },
    });
    return new Response(body, { status: status < 200 ? 502 : status });
  }

  discard(r: Upstream): void {
    if (r instanceof Response) void r.body?.cancel().catch(() => {});
  }

  stop(): void {
    this.pool.stop();
  }
}
