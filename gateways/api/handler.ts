/**
 * The API gateway's request path as one `fetch(request) -> Response`
 * handler on web APIs only, so the same code serves a listener in the
 * gateway process (Bun, Deno, Node) and runs bundled in an edge runtime:
 * route by host and match, verify the route's JWTs, then let the shared L7
 * engine split, rewrite, filter, time out and retry over the injected
 * Transport (mutual TLS into the mesh in the process, a fetch to the
 * datacenter's relay at the edge).
 */
import { type Instance, L7Engine, type Transport } from "../l7/engine.ts";
import type { Fields } from "../l7/headers.ts";
import type { L7Request } from "../l7/request.ts";
import { parseUpstreamSettings, type UpstreamSettings } from "../l7/upstream_config.ts";
import type { JwtVerifier } from "./jwt.ts";
import type { JwtRequirement } from "./table.ts";
import type { ListenerTable } from "./table.ts";

/** Largest request body buffered (kept for retries), as the sidecar's L7 path. */
export const MAX_REQUEST_BODY = 8 * 1024 * 1024;

/** Bodies of known length up to this size are passed on whole rather than streamed. */
const SMALL_BODY = 64 * 1024;

/**
 * What a transport answers with: a web Response whose body streams, or the
 * whole body's bytes when it read a small one at once (one buffer, and no
 * second Response built around it).
 */
export type Upstream = Response | Uint8Array<ArrayBuffer>;

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);

export interface HandlerOptions {
  readonly transport: Transport<Upstream>;
  /** The instances of a target (the process follows the catalog; the edge names its relay). */
  readonly instances: (targetId: string) => readonly Instance[];
  readonly verifier: JwtVerifier;
  readonly settings?: UpstreamSettings;
  readonly random?: () => number;
}

const EMPTY = new Uint8Array(0);
const NO_JWT: readonly JwtRequirement[] = [];

const text = (status: number, body: string, extra: Fields = []): Response => new Response(body, { status, headers: [["content-type", "text/plain"], ...extra] });

export class GatewayHandler {
  readonly #engine: L7Engine<Upstream>;
  readonly #verifier: JwtVerifier;
  readonly #settings: UpstreamSettings;
  #table: ListenerTable | null = null;

  constructor(o: HandlerOptions) {
    this.#engine = new L7Engine<Upstream>({ transport: o.transport, instances: o.instances, ...(o.random ? { random: o.random } : {}) });
    this.#verifier = o.verifier;
    this.#settings = o.settings ?? parseUpstreamSettings();
  }

  get engine(): L7Engine<Upstream> {
    return this.#engine;
  }

  get table(): ListenerTable | null {
    return this.#table;
  }

  /** Installs a new table; requests in flight finish on the plan they started with. */
  setTable(table: ListenerTable): void {
    this.#engine.setPlan(table.plan, this.#settings);
    this.#table = table;
  }

  /** `sourceIp` may be a getter: the address is only looked up when a hash policy asks for it. */
  async fetch(request: Request, sourceIp: string | (() => string) = ""): Promise<Response> {
    const table = this.#table;
    if (!table) return text(503, "no healthy upstream");
    // Path and query straight from the URL string (a server's request URL is absolute, without fragment).
    const href = request.url;
    const authority = href.indexOf("//") + 2;
    const slash = href.indexOf("/", authority);
    const target = slash === -1 ? "/" : href.slice(slash);
    // One pass over the fields: the body travels with a length whatever framing it came in, so both framing fields go.
    const fields: [string, string][] = [];
    let hasHost = false;
    let declared = 0;
    request.headers.forEach((v, k) => {
      if (k === "content-length") declared = Number(v);
      else if (k !== "transfer-encoding") {
        if (k === "host") hasHost = true;
        fields.push([k, v]);
      }
    });
    if (!hasHost) fields.unshift(["host", new URL(href).host]);
    if (declared > MAX_REQUEST_BODY) return text(413, "request body too large");
    let body = EMPTY;
    // GET and HEAD carry no body (a web Request refuses one); touching .body would make a stream for nothing.
    if (request.method !== "GET" && request.method !== "HEAD" && request.body) {
      body = new Uint8Array(await request.arrayBuffer());
      if (body.length > MAX_REQUEST_BODY) return text(413, "request body too large");
      if (body.length > 0) fields.push(["content-length", String(body.length)]);
    }
    const ip = sourceIp;
    const base: L7Request =
      typeof ip === "string"
        ? { method: request.method, target, headers: fields, body, sourceIp: ip }
        : {
            method: request.method,
            target,
            headers: fields,
            body,
            get sourceIp() {
              return ip();
            },
          };
    const route = this.#engine.routeFor(base);
    if (!route) return text(404, "no route matched");
    let req = base;
    const reqs = table.jwt.get(route) ?? NO_JWT;
    if (reqs.length > 0) {
      const url = new URL(href);
      const v = await this.#verifier.verify(request, url, reqs);
      if (!v.ok) {
        const extra: Fields = v.status === 401 ? [["www-authenticate", `Bearer realm="${url.origin}${url.pathname}"`]] : [];
        return text(v.status ?? 401, v.message ?? "Jwt verification fails", extra);
      }
      const strip = v.strip?.toLowerCase();
      req = { ...base, headers: [...base.headers.filter(([k]) => k !== strip), ...(v.forward ?? []).map(([k, x]) => [k, x] as [string, string])] };
    }
    const h = await this.#engine.handle(req, route);
    if (h.kind === "local") return text(h.status, h.body, h.headers.filter(([k]) => k.toLowerCase() !== "content-type"));
    const out = h.headers.filter(([k]) => !HOP_BY_HOP.has(k.toLowerCase()));
    const nullBody = h.status === 204 || h.status === 304 || request.method === "HEAD";
    const res = h.response;
    if (res instanceof Uint8Array) {
      // The transport read it whole: hand the bytes on as they are.
      h.done();
      return new Response(nullBody ? null : res, { status: h.status, headers: out });
    }
    const upstream = res.body;
    if (!upstream) {
      h.done();
      return new Response(null, { status: h.status, headers: out });
    }
    const length = Number(h.headers.find(([k]) => k.toLowerCase() === "content-length")?.[1] ?? Number.NaN);
    if (!nullBody && length >= 0 && length <= SMALL_BODY) {
      // A small body of known length is passed on whole: no stream to pump per request.
      try {
        const bytes = await res.arrayBuffer();
        return new Response(bytes, { status: h.status, headers: out });
      } finally {
        h.done();
      }
    }
    // The engine's counters (active requests, breaker) hold until the body is through.
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      h.done();
    };
    const reader = upstream.getReader();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            finish();
            controller.close();
          } else controller.enqueue(value);
        } catch (err) {
          finish();
          controller.error(err);
        }
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    });
    if (nullBody) {
      void reader.cancel().catch(() => {});
      finish();
      return new Response(null, { status: h.status, headers: out });
    }
    return new Response(stream, { status: h.status, headers: out });
  }
}
