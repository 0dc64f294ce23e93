/**
 * HTTP/2 sessions over mutual TLS (ALPN h2) to the instances of an http2 or
 * grpc upstream: the sidecar's Transport for such chains. One session per
 * endpoint carries every request as its own stream (multiplexed); a session
 * that fails, closes or gets a GOAWAY is replaced on the next request.
 * Request bodies stream (a gRPC stream passes as it comes); a retry replays
 * what the ReplayBody still holds.
 */
import { type ClientHttp2Session, type ClientHttp2Stream, connect as h2connect, constants, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import type { TLSSocket } from "node:tls";
import type { BodySink } from "../l7/body.ts";
import type { AttemptOutcome, ClusterRuntime, Endpoint, OutboundRequest, Transport } from "../l7/engine.ts";
import type { DeadlineSignal } from "../l7/deadline.ts";
import type { Fields } from "../l7/headers.ts";
import { h2Fields, h2Headers } from "../mesh/http2_relay.ts";
import type { MeshIdentity } from "../mesh/identity.ts";
import { dialInstance } from "../mesh/upstream.ts";

export interface H2Response {
  readonly stream: ClientHttp2Stream;
  /** The response ended with its headers (a trailers-only gRPC answer, an empty body). */
  readonly endStream: boolean;
  /** Set once the upstream's trailers arrive. */
  trailers: Fields | null;
}

/** HTTP/2 request headers from an outbound request (pseudo-headers first, connection-specific fields and Host dropped). */
export function h2RequestHeaders(req: OutboundRequest): OutgoingHttpHeaders {
  const host = req.headers.find(([k]) => k.toLowerCase() === "host")?.[1];
  const authority = req.authority ?? host;
  const first: OutgoingHttpHeaders = { ":method": req.method, ":path": req.target, ":scheme": "https", ...(authority ? { ":authority": authority } : {}) };
  return h2Headers(req.headers.filter(([k]) => k.toLowerCase() !== "host" && !k.startsWith(":")), first);
}

export class H2Pool implements Transport<H2Response> {
  private readonly identity: MeshIdentity;
  private readonly sessions = new Map<string, Promise<ClientHttp2Session>>();
  private readonly open = new Set<ClientHttp2Session>();
  private stopped = false;

  constructor(identity: MeshIdentity) {
    this.identity = identity;
  }

  /** Sessions open (admin view). */
  stats(): { sessions: number } {
    return { sessions: this.open.size };
  }

  private session(ep: Endpoint, cluster: ClusterRuntime): Promise<ClientHttp2Session> {
    const key = `${ep.target.service}/${ep.target.namespace}/${ep.target.datacenter}@${ep.key}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = this.dial(ep, cluster).then(
        (session) => {
          const forget = () => {
            if (this.sessions.get(key) === s) this.sessions.delete(key);
          };
          session.once("close", () => {
            forget();
            this.open.delete(session);
          });
          session.once("goaway", forget);
          session.on("error", forget);
          return session;
        },
        (err: unknown) => {
          this.sessions.delete(key);
          throw err;
        },
      );
      this.sessions.set(key, s);
    }
    return s;
  }

  private async dial(ep: Endpoint, cluster: ClusterRuntime): Promise<ClientHttp2Session> {
    const m = this.identity.material ?? (await this.identity.ready());
    const socket: TLSSocket = await dialInstance(
      m,
      { address: ep.address, port: ep.port, id: ep.key, node: "" },
      { service: ep.target.service, namespace: ep.target.namespace, datacenter: ep.target.datacenter },
      this.identity.datacenter ?? "",
      cluster.connectTimeoutMs,
      ["h2"],
    );
    if (socket.alpnProtocol !== "h2") {
      socket.destroy();
      throw new Error(`${ep.key} did not negotiate h2 (ALPN ${JSON.stringify(socket.alpnProtocol)})`);
    }
    socket.setNoDelay(true);
    const session = h2connect(`https://${ep.address}:${ep.port}`, { createConnection: () => socket });
    this.open.add(session);
    if (this.stopped) session.destroy();
    return session;
  }

  async send(ep: Endpoint, cluster: ClusterRuntime, req: OutboundRequest, signal: DeadlineSignal): Promise<AttemptOutcome<H2Response>> {
    let session: ClientHttp2Session;
    try {
      session = await this.session(ep, cluster);
    } catch (err) {
      return { kind: "failure", reason: signal.aborted ? "reset" : "connect-failure", message: (err as Error).message };
    }
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(h2RequestHeaders(req), { endStream: !req.stream && req.body.length === 0 });
    } catch (err) {
      session.destroy();
      return { kind: "failure", reason: "reset", message: (err as Error).message };
    }
    const body = req.stream;
    const sink: BodySink = {
      data: (c) => stream.write(c),
      end: () => stream.end(),
    };
    if (body) {
      stream.on("drain", () => body.drained());
      stream.once("close", () => body.unfollow(sink));
      if (!body.follow(sink)) {
        stream.close(constants.NGHTTP2_CANCEL);
        return { kind: "failure", reason: "reset", message: "request body no longer replayable" };
      }
    } else if (req.body.length > 0) stream.end(req.body);
    const onAbort = () => stream.close(constants.NGHTTP2_CANCEL);
    signal.addEventListener("abort", onAbort, { once: true });
    return await new Promise<AttemptOutcome<H2Response>>((resolve) => {
      const failed = (message: string) => {
        signal.removeEventListener("abort", onAbort);
        resolve({ kind: "failure", reason: "reset", message });
      };
      stream.once("error", (err: Error) => failed(err.message));
      stream.once("close", () => failed(`stream closed before a response (code ${stream.rstCode ?? 0})`));
      stream.once("response", (headers: IncomingHttpHeaders, flags: number) => {
        const res: H2Response = { stream, endStream: (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0, trailers: null };
        stream.once("trailers", (t: IncomingHttpHeaders) => (res.trailers = h2Fields(t)));
        // The abort listener stays: a timeout while the body streams cancels the stream.
        stream.once("close", () => signal.removeEventListener("abort", onAbort));
        resolve({ kind: "response", status: Number(headers[":status"] ?? 502), headers: h2Fields(headers), response: res });
      });
    });
  }

  discard(r: H2Response): void {
    r.stream.close(constants.NGHTTP2_CANCEL);
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.open) s.destroy();
    this.open.clear();
    this.sessions.clear();
  }
}
