/**
 * The HTTP/2 counterpart of http_relay.ts for an inbound connection that
 * negotiated h2 (an http2 or grpc service): every stream is judged against
 * the intentions before it reaches the app; a denied one is answered 403
 * "RBAC: access denied" (a gRPC one with a trailers-only PERMISSION_DENIED,
 * a rate-limited one 429 / UNAVAILABLE, as Envoy's local replies), an
 * allowed one is forwarded on one HTTP/2 (h2c) session to the app, body,
 * answer and trailers streaming both ways.
 */
import { type ClientHttp2Session, type ClientHttp2Stream, connect as h2connect, constants, createServer as createH2Server, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { Duplex } from "node:stream";
import type { DeadlineSignal } from "../l7/deadline.ts";
import { grpcLocalReply, isGrpc } from "../l7/grpc.ts";
import type { Fields } from "../l7/headers.ts";
import { HeaderList, type RequestHead } from "./http1.ts";
import type { RequestDecision } from "./http_relay.ts";

export interface Http2RelayOptions {
  readonly client: Duplex;
  /** Opens the connection to the app (once, on the first allowed stream; again if it closed). */
  readonly connectApp: () => Promise<Duplex>;
  readonly decide: (req: RequestHead) => RequestDecision;
  readonly onDenied?: (req: RequestHead, reason: string) => void;
  readonly onError?: (err: unknown) => void;
}

/** Fields HTTP/2 forbids in a message (RFC 9113 8.2.2). */
const NOT_H2 = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "http2-settings"]);

export function h2Fields(h: IncomingHttpHeaders, pseudo = false): Fields {
  const out: Fields = [];
  for (const [k, v] of Object.entries(h)) {
    if ((!pseudo && k.startsWith(":")) || v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push([k, x]);
    else out.push([k, String(v)]);
  }
  return out;
}

/** A header object for node:http2 from fields (connection-specific ones dropped, repeats kept). */
export function h2Headers(fields: readonly (readonly [string, string])[], first: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...first };
  for (const [k, v] of fields) {
    const lk = k.toLowerCase();
    if (NOT_H2.has(lk) || (lk.startsWith(":") && lk in first)) continue;
    if (lk === "te" && v.toLowerCase() !== "trailers") continue;
    const prev = out[lk];
    out[lk] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
  }
  return out;
}

const alive = (s: ServerHttp2Stream) => !s.destroyed && !s.closed;

export interface RelayH2ResponseOptions {
  /** The downstream head (":status" included). */
  readonly headers: OutgoingHttpHeaders;
  readonly endStream: boolean;
  /** The upstream's trailers, read once the body is through. */
  readonly trailers: () => Fields | null;
  readonly idleTimeoutMs?: number;
  /** Aborting resets both streams (a request timeout while the body streams). */
  readonly signal?: DeadlineSignal;
  readonly onDone?: () => void;
}

/** Answers `down` with what `up` sends: head, data with back-pressure, trailers; a reset on either side resets the other. */
export function relayH2Response(down: ServerHttp2Stream, up: ClientHttp2Stream, o: RelayH2ResponseOptions): void {
  if (o.endStream) {
    if (alive(down)) down.respond(o.headers, { endStream: true });
    o.onDone?.();
    return;
  }
  let finished = false;
  let idle: ReturnType<typeof setTimeout> | undefined;
  const cancel = () => {
    if (!up.closed) up.close(constants.NGHTTP2_CANCEL);
    if (alive(down)) down.close(constants.NGHTTP2_INTERNAL_ERROR);
  };
  const touch = () => {
    if (!o.idleTimeoutMs || o.idleTimeoutMs <= 0) return;
    clearTimeout(idle);
    idle = setTimeout(cancel, o.idleTimeoutMs);
  };
  const end = () => {
    if (finished) return;
    finished = true;
    clearTimeout(idle);
    o.signal?.removeEventListener("abort", cancel);
    o.onDone?.();
  };
  o.signal?.addEventListener("abort", cancel, { once: true });
  if (!alive(down)) {
    cancel();
    end();
    return;
  }
  down.respond(o.headers, { waitForTrailers: true });
  down.on("wantTrailers", () => down.sendTrailers(h2Headers(o.trailers() ?? [])));
  touch();
  up.on("data", (c: Uint8Array) => {
    touch();
    if (!down.write(c)) up.pause();
  });
  down.on("drain", () => up.resume());
  up.once("end", () => {
    if (alive(down)) down.end();
    end();
  });
  up.once("close", () => {
    if (!up.readableEnded && alive(down)) down.close(constants.NGHTTP2_INTERNAL_ERROR);
    end();
  });
  down.once("close", () => {
    if (!up.closed) up.close(constants.NGHTTP2_CANCEL);
    end();
  });
}

/** A local answer on a stream: trailers-only gRPC status for a gRPC request, else status and text. */
export function localH2Reply(down: ServerHttp2Stream, grpc: boolean, status: number, body: string, extra: Fields = [], grpcStatus?: number): void {
  if (!alive(down)) return;
  if (grpc) {
    down.respond(grpcLocalReply(status, body, grpcStatus, extra), { endStream: true });
    return;
  }
  down.respond(h2Headers([["content-type", "text/plain"], ...extra], { ":status": status }));
  down.end(body);
}

export function relayHttp2(o: Http2RelayOptions): void {
  let app: Promise<ClientHttp2Session> | null = null;
  const sessions = new Set<ClientHttp2Session>();
  const appSession = (): Promise<ClientHttp2Session> => {
    if (!app) {
      const p = o.connectApp().then((sock) => {
        const s = h2connect("http://localhost", { createConnection: () => sock });
        sessions.add(s);
        const forget = () => {
          if (app === p) app = null;
        };
        s.once("close", () => {
          sessions.delete(s);
          forget();
        });
        s.once("goaway", forget);
        s.on("error", (err) => {
          forget();
          o.onError?.(err);
        });
        return s;
      });
      p.catch(() => {
        if (app === p) app = null;
      });
      app = p;
    }
    return app;
  };
  const server = createH2Server();
  server.on("sessionError", (err) => o.onError?.(err));
  server.on("session", (s) => s.once("close", () => {
    for (const a of sessions) a.close();
  }));
  server.on("stream", (down: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    down.on("error", () => {});
    const fields = h2Fields(headers);
    const grpc = isGrpc(fields);
    const authority = typeof headers[":authority"] === "string" ? headers[":authority"] : "";
    const head: RequestHead = {
      method: String(headers[":method"] ?? "GET"),
      target: String(headers[":path"] ?? "/"),
      version: "HTTP/2",
      headers: new HeaderList(authority && !fields.some(([k]) => k === "host") ? [...fields, ["host", authority]] : fields),
      raw: new Uint8Array(0),
    };
    const d = o.decide(head);
    if (!d.allowed) {
      o.onDenied?.(head, d.reason);
      if (d.status === 429) localH2Reply(down, grpc, 429, "local_rate_limited", [["x-envoy-ratelimited", "true"]]);
      else localH2Reply(down, grpc, 403, "RBAC: access denied");
      return;
    }
    appSession().then(
      (session) => {
        if (!alive(down)) return;
        let up: ClientHttp2Stream;
        try {
          up = session.request(h2Headers(h2Fields(headers, true)), { endStream: down.readableEnded && down.readableLength === 0 });
        } catch (err) {
          o.onError?.(err);
          localH2Reply(down, grpc, 503, "upstream connect error or disconnect/reset before headers. reset reason: connection termination");
          return;
        }
        up.on("error", () => {});
        if (!up.writableEnded) down.pipe(up);
        let trailers: Fields | null = null;
        up.once("trailers", (t: IncomingHttpHeaders) => (trailers = h2Fields(t)));
        up.once("response", (h: IncomingHttpHeaders, flags: number) => {
          relayH2Response(down, up, { headers: h2Headers(h2Fields(h), { ":status": Number(h[":status"] ?? 502) }), endStream: (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0, trailers: () => trailers });
        });
        up.once("close", () => {
          // Reset before any answer: what Envoy reports when the app drops the stream.
          if (alive(down) && !down.headersSent) localH2Reply(down, grpc, 503, "upstream connect error or disconnect/reset before headers. reset reason: connection termination");
        });
        down.once("close", () => {
          if (!up.closed) up.close(constants.NGHTTP2_CANCEL);
        });
      },
      (err: unknown) => {
        o.onError?.(err);
        localH2Reply(down, grpc, 503, "upstream connect error or disconnect/reset before headers. reset reason: connection failure");
      },
    );
  });
  o.client.once("close", () => {
    for (const a of sessions) a.destroy();
  });
  server.emit("connection", o.client);
}
