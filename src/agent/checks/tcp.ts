/** TCP checks: passing when a connection (optionally TLS) opens within the timeout. */
import net from "node:net";
import tls from "node:tls";
import type { Clock } from "../../server/clock.ts";
import { addressError, goDialError, goDialTimeout, splitHostPort } from "./net_errors.ts";
import { deadline, type ProbeResult } from "./periodic.ts";

export interface TcpProbeOptions {
  address: string;
  timeoutMs: number;
  useTls: boolean;
  tlsSkipVerify: boolean;
  tlsServerName: string;
}

export function tcpProbe(o: TcpProbeOptions, clock: Clock) {
  const label = o.useTls ? "TCP+TLS" : "TCP";
  return (stop: AbortSignal): Promise<ProbeResult> => {
    const hp = splitHostPort(o.address);
    if (!hp) return Promise.resolve({ status: "critical", output: addressError("tcp", o.address) });
    const d = deadline(clock, o.timeoutMs, stop);
    return new Promise<ProbeResult>((resolve) => {
      const socket = o.useTls
        ? tls.connect({
            host: hp.host,
            port: hp.port,
            rejectUnauthorized: !o.tlsSkipVerify,
            ...serverName(hp.host, o.tlsServerName),
          })
        : net.connect({ host: hp.host, port: hp.port });
      const finish = (r: ProbeResult) => {
        d.done();
        socket.destroy();
        resolve(r);
      };
      socket.once(o.useTls ? "secureConnect" : "connect", () => {
        finish({ status: "passing", output: `${label} connect ${o.address}: Success` });
      });
      socket.once("error", (err: Error) => finish({ status: "critical", output: goDialError("tcp", o.address, err) }));
      d.signal.addEventListener("abort", () => finish({ status: "critical", output: goDialTimeout("tcp", o.address) }), {
        once: true,
      });
    });
  };
}

/** SNI only for names: an IP address as server name is not allowed by RFC 6066. */
export function serverName(host: string, configured: string): { servername?: string } {
  if (configured !== "") return { servername: configured };
  return net.isIP(host) === 0 ? { servername: host } : {};
}
