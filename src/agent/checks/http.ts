/**
 * HTTP checks (Consul's CheckHTTP): 2xx is passing, 429 warning, anything
 * else or a failed request critical. The output is
 * `HTTP <method> <url>: <status line> Output: <body tail>`.
 */
import http from "node:http";
import https from "node:https";
import type { Clock } from "../../server/clock.ts";
import { goDialError, goErrorReason } from "./net_errors.ts";
import { deadline, type ProbeResult } from "./periodic.ts";
import { serverName } from "./tcp.ts";
import { TailBuffer } from "./output.ts";

export const USER_AGENT = "Consul Health Check";
const MAX_REDIRECTS = 10;

export interface HttpProbeOptions {
  url: string;
  method: string;
  header: Record<string, string[]>;
  body: string;
  timeoutMs: number;
  tlsSkipVerify: boolean;
  tlsServerName: string;
  disableRedirects: boolean;
  outputMaxSize: number;
}

interface Reply {
  status: number;
  statusText: string;
  body: TailBuffer;
  location?: string;
}

export function httpProbe(o: HttpProbeOptions, clock: Clock) {
  const method = o.method === "" ? "GET" : o.method;
  // Go's url.Error names the method this way ("Get", "Post").
  const op = method.slice(0, 1).toUpperCase() + method.slice(1).toLowerCase();
  return async (stop: AbortSignal): Promise<ProbeResult> => {
    const d = deadline(clock, o.timeoutMs, stop);
    try {
      let url: URL;
      try {
        url = new URL(o.url);
      } catch {
        return { status: "critical", output: `parse ${JSON.stringify(o.url)}: invalid URL` };
      }
      let reqMethod = method;
      let body = o.body;
      for (let hop = 0; ; hop++) {
        let reply: Reply;
        try {
          reply = await send(url, reqMethod, body, o, d.signal);
        } catch (err) {
          const reason = d.timedOut()
            ? "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            : requestError(url, err);
          return { status: "critical", output: `${op} ${JSON.stringify(url.href)}: ${reason}` };
        }
        const location = reply.status >= 300 && reply.status < 400 ? reply.location : undefined;
        if (location !== undefined && !o.disableRedirects) {
          if (hop + 1 >= MAX_REDIRECTS) {
            return { status: "critical", output: `${op} ${JSON.stringify(location)}: stopped after ${MAX_REDIRECTS} redirects` };
          }
          url = new URL(location, url);
          // As Go's client: 301/302/303 turn into a bodiless GET, 307/308 repeat the request.
          if (reply.status <= 303 && reqMethod !== "HEAD") {
            reqMethod = "GET";
            body = "";
          }
          continue;
        }
        const result = `HTTP ${method} ${o.url}: ${reply.status} ${reply.statusText} Output: ${reply.body.text()}`;
        if (reply.status >= 200 && reply.status <= 299) return { status: "passing", output: result };
        if (reply.status === 429) return { status: "warning", output: result };
        return { status: "critical", output: result };
      }
    } finally {
      d.done();
    }
  };
}

function send(url: URL, method: string, body: string, o: HttpProbeOptions, signal: AbortSignal): Promise<Reply> {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(o.header)) if (v.length > 0) headers[k] = v.length === 1 ? v[0]! : v;
  const has = (name: string) => Object.keys(headers).some((k) => k.toLowerCase() === name);
  if (!has("user-agent")) headers["User-Agent"] = USER_AGENT;
  if (!has("accept")) headers["Accept"] = "text/plain, text/*, */*";
  if (body !== "") headers["Content-Length"] = String(new TextEncoder().encode(body).length);
  const secure = url.protocol === "https:";
  const lib = secure ? https : http;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const req = lib.request(url, {
      method,
      headers,
      // A fresh connection per probe, as Consul disables keep-alives for checks.
      agent: false,
      ...(secure ? { rejectUnauthorized: !o.tlsSkipVerify, ...serverName(url.hostname.replace(/^\[|\]$/g, ""), o.tlsServerName) } : {}),
    });
    const onAbort = () => req.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    req.on("error", (err) => {
      signal.removeEventListener("abort", onAbort);
      reject(err);
    });
    req.on("response", (res) => {
      const out = new TailBuffer(o.outputMaxSize);
      const done = () => {
        signal.removeEventListener("abort", onAbort);
        resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? "", body: out, location: header(res.headers.location) });
      };
      res.on("data", (chunk: Uint8Array) => out.write(chunk));
      res.on("end", done);
      // A body cut short (timeout, reset) still yields the status: Consul only logs the read error.
      res.on("error", done);
      res.on("aborted", done);
      req.on("close", done);
    });
    req.end(body === "" ? undefined : body);
  });
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

const DIAL_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT"]);

function requestError(url: URL, err: unknown): string {
  const e = err as { code?: string; message?: string };
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  if (DIAL_CODES.has(e.code ?? "")) return goDialError("tcp", `${url.hostname}:${port}`, err);
  // A connection closed before any response is io.EOF to Go's client.
  if (e.message === "socket hang up") return "EOF";
  return goErrorReason(err);
}
