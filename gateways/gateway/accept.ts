/**
 * The first steps every gateway connection takes: count it, read its
 * ClientHello (refusing what is not TLS, malformed, truncated or too slow),
 * and refuse with a reason that lands in the log and the metrics. For a
 * node:net socket (`acceptWithHello`, the terminating gateway, which
 * terminates TLS on it) and for a TcpConn (`acceptTcpWithHello`, the mesh
 * gateway, which only relays).
 */
import type { Socket } from "node:net";
import type { TcpConn } from "../../src/runtime/tcp.ts";
import type { MeshLogger } from "../mesh/log.ts";
import type { ClientHelloInfo } from "../sni/clienthello.ts";
import { type HelloRead, readClientHello, readClientHelloTcp } from "../sni/read.ts";
import type { CountedConn, GatewayMetrics } from "./metrics.ts";

/** What refusing needs of a connection. */
export interface RefusableConn extends CountedConn {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

export interface AcceptOptions {
  readonly metrics: GatewayMetrics;
  readonly log: MeshLogger;
  readonly timeoutMs: number;
}

export type OnHello = (hello: ClientHelloInfo, bytes: Uint8Array, setRoute: (label: string) => void) => void;

export function refuse(metrics: GatewayMetrics, log: MeshLogger, s: RefusableConn, reason: string, detail: string): void {
  metrics.refused.inc(reason);
  log.warn(`refused ${s.remoteAddress}:${s.remotePort}: ${reason}: ${detail}`);
  s.destroy();
}

/**
 * Reads the hello of an accepted connection and hands it to `onHello` with
 * every byte read so far (the socket is paused); `setRoute` names the
 * connection's route for the per-route byte counts.
 */
export function acceptWithHello(client: Socket, o: AcceptOptions, onHello: OnHello): void {
  let label = "";
  client.once("close", o.metrics.accepted(client, () => label));
  void readClientHello(client, o.timeoutMs).then((r) => afterHello(client, r, o, onHello, (l) => (label = l)));
}

export function acceptTcpWithHello(client: TcpConn, o: AcceptOptions, onHello: OnHello): void {
  let label = "";
  client.onClosed(o.metrics.accepted(client, () => label));
  void readClientHelloTcp(client, o.timeoutMs).then((r) => afterHello(client, r, o, onHello, (l) => (label = l)));
}

function afterHello(client: RefusableConn, r: HelloRead, o: AcceptOptions, onHello: OnHello, setLabel: (l: string) => void): void {
  if (r.ok) {
    onHello(r.hello, r.bytes, (l) => {
      setLabel(l);
      o.metrics.byRoute.inc(l);
    });
    return;
  }
  if (r.reason === "closed") {
    // A TCP health check connects and closes without a byte.
    o.log.debug(`${client.remoteAddress}:${client.remotePort} closed before sending a byte`);
    client.destroy();
    return;
  }
  o.metrics.handshakeErrors.inc(r.reason);
  refuse(o.metrics, o.log, client, r.reason === "not_tls" ? "not_tls" : r.reason === "timeout" ? "hello_timeout" : "malformed_hello", r.detail);
}
