/**
 * The HTTP/2 side of an upstream's local listener (h2c, prior knowledge):
 * each stream goes through the L7 engine like an HTTP/1.1 request, its body
 * streaming (replayable for retries while it fits the buffer), and the
 * answer goes back on the stream with its trailers. A gRPC request answered
 * locally (no route, overflow, timeout, no healthy upstream) gets a
 * trailers-only gRPC status, as Envoy's local replies do. Also writes an
 * HTTP/2 upstream's answer to an HTTP/1.1 client (an http2 service called
 * without prior knowledge).
 */
import { STATUS_CODES } from "node:http";
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { Duplex } from "node:stream";
import { ReplayBody } from "../l7/body.ts";
import type { Handled, L7Engine } from "../l7/engine.ts";
import { isGrpc } from "../l7/grpc.ts";
import { h2Fields, h2Headers, localH2Reply, relayH2Response } from "../mesh/http2_relay.ts";
import { pumpBody } from "../mesh/h1_wire.ts";
import { write } from "../mesh/relay.ts";
import type { H2Response } from "./h2_pool.ts";
import type { ConnReturn, PooledResponse } from "./http_pool.ts";

export type UpstreamResponse = PooledResponse | H2Response;

export const isH2Response = (r: UpstreamResponse): r is H2Response => "stream" in r;

/** Drops a response nobody will read (its client went away). */
export function discardResponse(r: UpstreamResponse): void {
  if (isH2Response(r)) r.stream.close(constants.NGHTTP2_CANCEL);
  else r.conn.socket.destroy();
}

const alive = (s: ServerHttp2Stream) => !s.destroyed && !s.closed;

export interface H2FrontOptions {
  readonly engine: L7Engine<UpstreamResponse>;
  readonly pool: ConnReturn;
  readonly maxBody: number;
}

/** Serves one downstream HTTP/2 stream. */
export async function serveH2Stream(o: H2FrontOptions, stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
  stream.on("error", () => {});
  const body = new ReplayBody(o.maxBody);
  body.onPause = () => stream.pause();
  body.onResume = () => stream.resume();
  stream.pause();
  stream.on("data", (c: Uint8Array) => body.push(c));
  stream.once("end", () => body.end());
  const fields = h2Fields(headers);
  const authority = typeof headers[":authority"] === "string" ? headers[":authority"] : undefined;
  const h = await o.engine.handle({
    method: String(headers[":method"] ?? "GET"),
    target: String(headers[":path"] ?? "/"),
    headers: fields,
    body: new Uint8Array(0),
    stream: body,
    ...(authority !== undefined ? { authority } : {}),
    sourceIp: stream.session?.socket?.remoteAddress ?? "",
  });
  if (h.kind === "local") {
    localH2Reply(stream, isGrpc(fields), h.status, h.body, h.headers.filter(([k]) => k.toLowerCase() !== "content-type"), h.grpcStatus);
    return;
  }
  const res = h.response;
  if (!alive(stream)) {
    discardResponse(res);
    h.done();
    return;
  }
  if (isH2Response(res)) relayH2Response(stream, res.stream, { headers: h2Headers(h.headers, { ":status": h.status }), endStream: res.endStream, trailers: () => res.trailers, idleTimeoutMs: h.idleTimeoutMs, signal: h.signal, onDone: () => h.done() });
  else await relayH1(o.pool, stream, h, res, String(headers[":method"] ?? "GET"));
}

function idleTimer(ms: number, onIdle: () => void): { touch(): void; stop(): void } {
  let t: ReturnType<typeof setTimeout> | undefined;
  return {
    touch() {
      if (ms <= 0) return;
      clearTimeout(t);
      t = setTimeout(onIdle, ms);
    },
    stop: () => clearTimeout(t),
  };
}

/** HTTP/1.1 upstream (the chain turned http) -> HTTP/2 downstream. */
async function relayH1(pool: ConnReturn, down: ServerHttp2Stream, h: Extract<Handled<UpstreamResponse>, { kind: "upstream" }>, res: PooledResponse, method: string): Promise<void> {
  const kill = () => res.conn.socket.destroy();
  h.signal.addEventListener("abort", kill, { once: true });
  try {
    down.respond(h2Headers(h.headers, { ":status": h.status }));
    await pumpBody(res.conn.reader, res.framing, async (c) => {
      if (!down.write(c)) await new Promise<void>((r) => down.once("drain", r));
    });
    down.end();
    if (pool.reusable(res) && method !== "CONNECT") pool.release(res.conn);
    else res.conn.socket.destroy();
  } catch {
    res.conn.socket.destroy();
    if (alive(down)) down.close(constants.NGHTTP2_INTERNAL_ERROR);
  } finally {
    h.signal.removeEventListener("abort", kill);
    h.done();
  }
}

/** HTTP/2 upstream -> HTTP/1.1 downstream: chunked unless the length is known; trailers are dropped (Envoy's HTTP/1 default). False when the connection must end. */
export async function respondH2OnH1(client: Duplex, h: Extract<Handled<UpstreamResponse>, { kind: "upstream" }>, res: H2Response, method: string, close: boolean): Promise<boolean> {
  const up = res.stream;
  const noBody = method === "HEAD" || h.status === 204 || h.status === 304 || res.endStream;
  const lengthKnown = h.headers.some(([k]) => k.toLowerCase() === "content-length");
  const chunked = !noBody && !lengthKnown;
  let head = `HTTP/1.1 ${h.status} ${STATUS_CODES[h.status] ?? ""}\r\n`;
  for (const [k, v] of h.headers) {
    const lk = k.toLowerCase();
    if (lk !== "connection" && lk !== "keep-alive" && lk !== "transfer-encoding") head += `${k}: ${v}\r\n`;
  }
  if (chunked) head += "transfer-encoding: chunked\r\n";
  if (res.endStream && !lengthKnown && method !== "HEAD" && h.status !== 204 && h.status !== 304) head += "content-length: 0\r\n";
  if (close) head += "connection: close\r\n";
  const cancel = () => up.close(constants.NGHTTP2_CANCEL);
  h.signal.addEventListener("abort", cancel, { once: true });
  const idle = idleTimer(h.idleTimeoutMs, cancel);
  try {
    await write(client, `${head}\r\n`);
    if (noBody) {
      if (!up.closed) up.close(constants.NGHTTP2_NO_ERROR);
      return !close;
    }
    idle.touch();
    await new Promise<void>((resolve, reject) => {
      up.on("data", (c: Uint8Array) => {
        idle.touch();
        up.pause();
        const framed = chunked ? [new TextEncoder().encode(`${c.length.toString(16)}\r\n`), c, new TextEncoder().encode("\r\n")] : [c];
        Promise.all(framed.map((f) => write(client, f))).then(() => up.resume(), reject);
      });
      up.once("end", resolve);
      up.once("close", () => (up.readableEnded ? resolve() : reject(new Error("upstream stream reset"))));
    });
    if (chunked) await write(client, "0\r\n\r\n");
    return !close;
  } catch {
    client.destroy();
    return false;
  } finally {
    idle.stop();
    h.signal.removeEventListener("abort", cancel);
    h.done();
  }
}
