/**
 * Connect-native integration for apps on Bun, Deno and Node: the mesh's
 * mutual TLS and intention checks without a sidecar.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { connect } from "consulate/gateways/native/mod.ts";
 * const db = await connect.service({ service: "db", client: { address: "127.0.0.1:8500" } });
 * const app = new Hono().get("/", (c) => c.text("rows"));
 * await connect.serve(db, app.fetch, { port: 9090 });           // mTLS + intentions in front of the app
 *
 * const web = await connect.service({ service: "web" });
 * const res = await connect.fetch(web, "db", "/");               // mTLS to a healthy "db" instance
 * const sock = await connect.dial(web, "db");                    // or a raw verified TLS socket
 * ```
 */
import type { TLSSocket, TlsOptions } from "node:tls";
import { ConnectService, type ConnectServiceOptions, guard, type ServeOptions, type Served } from "./service.ts";
import type { FetchHandler } from "./http.ts";
import type { UpstreamTarget } from "../mesh/upstream.ts";

export { ConnectService, guard };
export type { Authorization, ConnectServiceOptions, ServeOptions, Served } from "./service.ts";
export type { FetchHandler } from "./http.ts";
export type { ServiceIdentity } from "../mesh/spiffe.ts";
export type { UpstreamTarget } from "../mesh/upstream.ts";

export const connect = {
  /** The app's identity in the mesh, loaded and kept current. */
  service: (o: ConnectServiceOptions): Promise<ConnectService> => ConnectService.create(o),
  /** `tls.createServer` options with the service's leaf and roots (pair with `svc.watchServer` and `svc.authorize`). */
  serverTLS: (svc: ConnectService): TlsOptions => svc.serverTLS(),
  /** A verified mutual-TLS socket to a healthy instance of `target`. */
  dial: (svc: ConnectService, target: string | UpstreamTarget): Promise<TLSSocket> => svc.dial(target),
  /** An HTTP request to `target` over the mesh. */
  fetch: (svc: ConnectService, target: string, input: Request | string, init?: RequestInit): Promise<Response> => svc.fetch(target, input, init),
  /** Serves a fetch handler (a hono app's `fetch`) behind mutual TLS and intentions. */
  serve: (svc: ConnectService, handler: FetchHandler, o: ServeOptions): Promise<Served> => svc.serve(handler, o),
} as const;
