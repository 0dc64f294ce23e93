/**
 * A minimal gRPC server and client on node:http2 (length-prefixed messages,
 * grpc-status trailers, trailers-only errors), enough to drive gRPC through
 * the sidecars without a gRPC library. Messages are raw bytes; the health
 * check speaks real grpc.health.v1 protobuf (HealthCheckResponse{status: SERVING} = 08 01).
 */
import { type ClientHttp2Session, connect, constants, createServer, type Http2Server, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";

export const HEALTH_CHECK = "/grpc.health.v1.Health/Check";
export const SERVING = new Uint8Array([0x08, 0x01]);

export function frame(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + msg.length);
  new DataView(out.buffer).setUint32(1, msg.length);
  out.set(msg, 5);
  return out;
}

/** Splits length-prefixed messages out of a byte stream as they complete (chunks joined once per message). */
export class Deframer {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private need = -1;
  push(chunk: Uint8Array): Uint8Array[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.need < 0 && this.size >= 5) this.need = 5 + new DataView(this.joined().buffer, this.joined().byteOffset).getUint32(1);
      if (this.need < 0 || this.size < this.need) return out;
      const all = this.joined();
      out.push(all.slice(5, this.need));
      const rest = all.subarray(this.need);
      this.chunks = rest.length ? [rest] : [];
      this.size = rest.length;
      this.need = -1;
    }
  }
  private joined(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    const all = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      all.set(c, at);
      at += c.length;
    }
    this.chunks = [all];
    return all;
  }
}

export interface GrpcCall {
  /** Messages as they arrive from the client. */
  readonly messages: AsyncIterable<Uint8Array>;
  send(msg: Uint8Array): void;
  /** Ends the call with a status (trailers-only when nothing was sent). */
  finish(status: number, message?: string): void;
}

export type GrpcHandler = (call: GrpcCall, path: string) => void | Promise<void>;

/** A gRPC server (h2c) that hands every call to `handler`. */
export async function startGrpcServer(handler: GrpcHandler): Promise<{ port: number; server: Http2Server; close(): Promise<void> }> {
  const server = createServer();
  const streams = new Set<ServerHttp2Stream>();
  server.on("stream", (stream, headers) => {
    streams.add(stream);
    stream.once("close", () => streams.delete(stream));
    stream.on("error", () => {});
    const queue: Uint8Array[] = [];
    let ended = false;
    let wake: (() => void) | null = null;
    const d = new Deframer();
    stream.on("data", (c: Uint8Array) => {
      queue.push(...d.push(c));
      wake?.();
    });
    stream.once("end", () => {
      ended = true;
      wake?.();
    });
    let started = false;
    const call: GrpcCall = {
      messages: {
        async *[Symbol.asyncIterator]() {
          for (;;) {
            const m = queue.shift();
            if (m) yield m;
            else if (ended) return;
            else await new Promise<void>((r) => (wake = r));
          }
        },
      },
      send(msg) {
        if (!started) stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        started = true;
        stream.write(frame(msg));
      },
      finish(status, message = "") {
        if (stream.destroyed || stream.closed) return;
        if (!started) {
          stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": String(status), "grpc-message": message }, { endStream: true });
          return;
        }
        stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": String(status), "grpc-message": message }));
        stream.end();
      },
    };
    void Promise.resolve(handler(call, String(headers[":path"]))).catch(() => call.finish(13, "handler failed"));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    server,
    close: () =>
      new Promise<void>((r) => {
        for (const s of streams) s.close(constants.NGHTTP2_CANCEL);
        server.close(() => r());
        setTimeout(r, 1000);
      }),
  };
}

export interface GrpcResult {
  readonly httpStatus: number;
  readonly grpcStatus: number | null;
  readonly grpcMessage: string;
  readonly messages: Uint8Array[];
  /** ms from the call's start to each message. */
  readonly at: number[];
  readonly ms: number;
  readonly error?: string;
}

export function grpcSession(port: number): ClientHttp2Session {
  const s = connect(`http://127.0.0.1:${port}`);
  s.on("error", () => {});
  return s;
}

/**
 * One call: sends `requests` (each after the previous reply arrived when
 * `pingPong`, else all at once), collects replies and the status.
 */
export function grpcCall(session: ClientHttp2Session, path: string, requests: Uint8Array[], o: { pingPong?: boolean; timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<GrpcResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let stream: ReturnType<ClientHttp2Session["request"]>;
    try {
      stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...o.headers });
    } catch (err) {
      resolve({ httpStatus: 0, grpcStatus: null, grpcMessage: "", messages: [], at: [], ms: 0, error: (err as Error).message });
      return;
    }
    let httpStatus = 0;
    let grpcStatus: number | null = null;
    let grpcMessage = "";
    const messages: Uint8Array[] = [];
    const at: number[] = [];
    const d = new Deframer();
    let sent = 0;
    const sendNext = () => {
      if (sent < requests.length) stream.write(frame(requests[sent++]!));
      if (sent >= requests.length) stream.end();
    };
    const timer = setTimeout(() => {
      stream.close(constants.NGHTTP2_CANCEL);
      done("client timeout");
    }, o.timeoutMs ?? 5000);
    let finished = false;
    const done = (error?: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      resolve({ httpStatus, grpcStatus, grpcMessage, messages, at, ms: Date.now() - t0, ...(error ? { error } : {}) });
    };
    const status = (h: Record<string, unknown>) => {
      if (h["grpc-status"] !== undefined) grpcStatus = Number(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) grpcMessage = decodeURIComponent(String(h["grpc-message"]));
    };
    stream.on("response", (h) => {
      httpStatus = Number(h[":status"]);
      status(h);
    });
    stream.on("trailers", (h) => status(h));
    stream.on("data", (c: Uint8Array) => {
      for (const m of d.push(c)) {
        messages.push(m);
        at.push(Date.now() - t0);
        if (o.pingPong) sendNext();
      }
    });
    stream.on("end", () => done());
    stream.on("close", () => done());
    stream.on("error", (e) => done(e.message));
    if (o.pingPong) sendNext();
    else {
      for (const r of requests) stream.write(frame(r));
      stream.end();
    }
  });
}
