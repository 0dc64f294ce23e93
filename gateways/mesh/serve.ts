/**
 * What a mesh endpoint does with a connection its inbound listener admitted:
 * an L4 splice to the app, or, when each HTTP request must be judged (an http,
 * http2 or grpc service), the L7 relay (HTTP/1.1, or HTTP/2 when the client
 * negotiated h2) that answers denied requests 403. Shared by the
 * sidecar (the app is local) and the terminating gateway (the app is an
 * external service's instance).
 */
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { relayHttp2 } from "./http2_relay.ts";
import { relayHttp } from "./http_relay.ts";
import type { InboundContext } from "./inbound.ts";
import { errorText, type MeshLogger } from "./log.ts";
import type { InboundPolicy } from "./policy.ts";
import { splice } from "./relay.ts";
import { spliceStreamTcp } from "./tcp_splice.ts";
import type { TcpConn } from "../../src/runtime/tcp.ts";

export interface ServeAdmittedOptions {
  readonly client: Duplex;
  readonly ctx: InboundContext;
  readonly policy: InboundPolicy;
  /** Opens the connection to the app. */
  readonly connectApp: () => Promise<Duplex>;
  /**
   * Opens it over the runtime's own sockets, for the L4 splice where those
   * are cheaper than its node:net (absent: connectApp serves both paths).
   */
  readonly connectAppConn?: () => Promise<TcpConn>;
  /** Names the app in log lines. */
  readonly app: string;
  readonly log: MeshLogger;
}

export function serveAdmitted(o: ServeAdmittedOptions): void {
  const { client, ctx, log } = o;
  if (ctx.perRequest && ctx.source) {
    const source = ctx.source;
    // An http2/grpc client sidecar asks for h2 by ALPN: its streams are judged one by one.
    const h2 = (client as Partial<TLSSocket>).alpnProtocol === "h2";
    (h2 ? relayHttp2 : relayHttp)({
      client,
      connectApp: o.connectApp,
      decide: o.policy.requestJudge(source),
      onDenied: (head, reason) => log.warn(`inbound: ${source.service} ${head.method} ${head.target} denied: ${reason}`),
      onError: (err) => log.debug(`inbound ${h2 ? "http2" : "http"} relay: ${errorText(err)}`),
    });
    return;
  }
  const unreachable = (err: unknown) => {
    log.warn(`inbound: ${o.app} unreachable: ${errorText(err)}`);
    client.destroy();
  };
  if (o.connectAppConn) {
    o.connectAppConn().then((app) => spliceStreamTcp(client, app), unreachable);
    return;
  }
  o.connectApp().then((app) => {
    app.on("error", () => app.destroy());
    splice(client, app);
  }, unreachable);
}
