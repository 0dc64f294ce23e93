/**
 * The gateway process's Transport: each attempt rides pooled HTTP/1.1
 * connections over mutual TLS, presenting the gateway's own leaf (so the
 * destination's intentions see the gateway's service name), and the answer
 * is its whole body when small and of known length, else a web Response
 * whose body streams from the connection. Where the runtime has its own TLS
 * sockets the lean client of h1_native.ts carries it; elsewhere the
 * sidecar's pool over node:tls.
 */
import type { AttemptOutcome, ClusterRuntime, Endpoint, OutboundRequest, Transport } from "../l7/engine.ts";
import type { DeadlineSignal } from "../l7/deadline.ts";
import { pumpBody } from "../mesh/h1_wire.ts";
import type { MeshIdentity } from "../mesh/identity.ts";
import { nativeTcp } from "../../src/runtime/tcp.ts";
import { HttpPool, type PooledResponse } from "../sidecar/http_pool.ts";
import { BUFFERED_BODY, Dechunker } from "./dechunk.ts";
import type { Upstream } from "./handler.ts";
import { NativeH1Pool } from "./h1_native.ts";

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
  readonly #native: NativeH1Pool | null;

  /** `portable`: the node:tls pool even where native sockets exist (for comparisons and tests). */
  constructor(identity: MeshIdentity, o: { portable?: boolean } = {}) {
    this.pool = new HttpPool(identity);
    this.#native = nativeTcp() && !o.portable ? new NativeH1Pool(identity) : null;
  }

  send(ep: Endpoint, cluster: ClusterRuntime, req: OutboundRequest, signal: DeadlineSignal): Promise<AttemptOutcome<Upstream>> {
    return this.#native ? this.#native.send(ep, cluster, req, signal) : this.#send(ep, cluster, req, signal);
  }

  async #send(ep: Endpoint, cluster: ClusterRuntime, req: OutboundRequest, signal: DeadlineSignal): Promise<AttemptOutcome<Upstream>> {
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
    this.#native?.stop();
    this.pool.stop();
  }
}
