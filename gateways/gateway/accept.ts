/**
 * The first steps every gateway connection takes: count it, read its
 * ClientHello (refusing what is not TLS, malformed, truncated or too slow),
 * and refuse with a reason that lands in the log and the metrics.
 */
import type { Socket } from "node:net";
import type { MeshLogger } from "../mesh/log.ts";
import type { ClientHelloInfo } from "../sni/clienthello.ts";
import { readClientHello } from "../sni/read.ts";
import type { GatewayMetrics } from "./metrics.ts";

export function refuse(metrics: GatewayMetrics, log: MeshLogger, s: Socket, reason: string, detail: string): void {
  metrics.refused.inc(reason);
  log.warn(`refused ${s.remoteAddress}:${s.remotePort}: ${reason}: ${detail}`);
  s.destroy();
}

/**
 * Reads the hello of an accepted connection and hands it to `onHello` with
 * every byte read so far (the socket is paused); `setRoute` names the
 * connection's route for the per-route byte counts.
 */
export function acceptWithHello(
  client: Socket,
  o: { metrics: GatewayMetrics; log: MeshLogger; timeoutMs: number },
  onHello: (hello: ClientHelloInfo, bytes: Uint8Array, setRoute: (label: string) => void) => void,
): void {
  let label = "";
  o.metrics.accepted(client, () => label);
  void readClientHello(client, o.timeoutMs).then((r) => {
    if (r.ok) {
      onHello(r.hello, r.bytes, (l) => {
        label = l;
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
  });
}
