/**
 * gRPC checks (Consul's GrpcHealthProbe): one grpc.health.v1.Health/Check
 * call over HTTP/2 to `host:port[/service]`; SERVING is passing, anything
 * else (including a failed call) critical, with grpc-go's error texts.
 */
import http2 from "node:http2";
import type { Clock } from "../../server/clock.ts";
import { addressError, goDialError, splitHostPort } from "./net_errors.ts";
import { deadline, type ProbeResult } from "./periodic.ts";
import { serverName } from "./tcp.ts";
import { decodeStatusField, encodeHealthRequest, GRPC_CODES, HEALTH_CHECK_PATH, SERVING_STATUS, unframe } from "./grpc_wire.ts";

export interface GrpcProbeOptions {
  target: string;
  timeoutMs: number;
  useTls: boolean;
  tlsSkipVerify: boolean;
  tlsServerName: string;
}

/** The outcome of a call that reached no status: a transport failure, in grpc-go's words. */
class RpcError extends Error {
  constructor(code: number, desc: string) {
    super(`rpc error: code = ${GRPC_CODES[code] ?? `Code(${code})`} desc = ${desc}`);
  }
}

export function grpcProbe(o: GrpcProbeOptions, clock: Clock) {
  const slash = o.target.indexOf("/");
  const server = slash < 0 ? o.target : o.target.slice(0, slash);
  const service = slash < 0 ? "" : o.target.slice(slash + 1);
  return async (stop: AbortSignal): Promise<ProbeResult> => {
    const hp = splitHostPort(server);
    if (!hp) return { status: "critical", output: addressError("tcp", server) };
    const d = deadline(clock, o.timeoutMs, stop);
    try {
      const status = await call(o, hp, server, service, d.signal, d.timedOut);
      if (status !== 1) {
        return { status: "critical", output: `gRPC ${o.target} serving status: ${SERVING_STATUS[status] ?? String(status)}` };
      }
      return { status: "passing", output: `gRPC check ${o.target}: success` };
    } catch (err) {
      return { status: "critical", output: err instanceof Error ? err.message : String(err) };
    } finally {
      d.done();
    }
  };
}

function call(
  o: GrpcProbeOptions,
  hp: { host: string; port: number },
  server: string,
  service: string,
  signal: AbortSignal,
  timedOut: () => boolean,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const host = hp.host.includes(":") ? `[${hp.host}]` : hp.host;
    const session = http2.connect(`${o.useTls ? "https" : "http"}://${host}:${hp.port}`, {
      ...(o.useTls ? { rejectUnauthorized: !o.tlsSkipVerify, ...serverName(hp.host, o.tlsServerName) } : {}),
    });
    let settled = false;
    let connected = false;
    const finish = (err: Error | null, status = 0) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      session.destroy();
      if (err) reject(err);
      else resolve(status);
    };
    const onAbort = () =>
      finish(timedOut() ? new RpcError(4, "context deadline exceeded") : new RpcError(1, "context canceled"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    session.on("connect", () => {
      connected = true;
    });
    session.on("error", (err) => {
      const reason = connected ? (err as Error).message : `transport: Error while dialing: ${goDialError("tcp", server, err)}`;
      finish(new RpcError(14, `connection error: desc = ${JSON.stringify(reason)}`));
    });
    const req = session.request({
      ":method": "POST",
      ":path": HEALTH_CHECK_PATH,
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-timeout": `${Math.max(1, Math.ceil(o.timeoutMs))}m`,
    });
    const chunks: Uint8Array[] = [];
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    req.on("response", (h) => {
      headers = h;
    });
    req.on("trailers", (t) => {
      trailers = t;
    });
    req.on("data", (c: Uint8Array) => chunks.push(c));
    // Before the connection is up, the session's error says more than the stream's.
    req.on("error", (err) => {
      if (connected) finish(new RpcError(14, (err as Error).message));
    });
    session.on("close", () => finish(new RpcError(14, "error reading from server: EOF")));
    req.on("end", () => {
      const httpStatus = Number(headers[":status"] ?? 0);
      const grpcStatus = trailers["grpc-status"] ?? headers["grpc-status"];
      if (httpStatus !== 200 && grpcStatus === undefined) {
        return finish(new RpcError(httpStatusCode(httpStatus), `unexpected HTTP status code received from server: ${httpStatus}`));
      }
      const code = Number(grpcStatus ?? 2);
      if (code !== 0) {
        const message = trailers["grpc-message"] ?? headers["grpc-message"] ?? "";
        return finish(new RpcError(code, decodeGrpcMessage(String(message))));
      }
      try {
        finish(null, decodeStatusField(unframe(concat(chunks))));
      } catch (err) {
        finish(new RpcError(13, `grpc: failed to unmarshal the received message: ${(err as Error).message}`));
      }
    });
    req.end(encodeHealthRequest(service));
  });
}

/** grpc-go's mapping of a non-gRPC HTTP status to a gRPC code. */
function httpStatusCode(status: number): number {
  if (status === 400) return 13;
  if (status === 401) return 16;
  if (status === 403) return 7;
  if (status === 404) return 12;
  if (status === 429 || status === 502 || status === 503 || status === 504) return 14;
  return 2;
}

function decodeGrpcMessage(m: string): string {
  try {
    return decodeURIComponent(m);
  } catch {
    return m;
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
