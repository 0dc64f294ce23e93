/**
 * UDP checks, as Consul runs them: send an empty datagram; a reply, or
 * silence until the timeout, is passing; an error (ICMP port unreachable
 * surfacing as "connection refused") is critical.
 */
import dgram from "node:dgram";
import net from "node:net";
import type { Clock } from "../../server/clock.ts";
import { addressError, goDialError, goErrorReason, splitHostPort } from "./net_errors.ts";
import { deadline, type ProbeResult } from "./periodic.ts";

export function udpProbe(address: string, timeoutMs: number, clock: Clock) {
  const success: ProbeResult = { status: "passing", output: `UDP connect ${address}: Success` };
  return (stop: AbortSignal): Promise<ProbeResult> => {
    const hp = splitHostPort(address);
    if (!hp) return Promise.resolve({ status: "critical", output: addressError("udp", address) });
    const d = deadline(clock, timeoutMs, stop);
    return new Promise<ProbeResult>((resolve) => {
      const socket = dgram.createSocket(net.isIPv6(hp.host) ? "udp6" : "udp4");
      let connected = false;
      let settled = false;
      const finish = (r: ProbeResult) => {
        if (settled) return;
        settled = true;
        d.done();
        try {
          socket.close();
        } catch {
          // already closed
        }
        resolve(r);
      };
      socket.on("error", (err) => {
        if (!connected) return finish({ status: "critical", output: goDialError("udp", address, err) });
        finish({ status: "critical", output: `read udp ${localAddress(socket)}->${address}: ${readReason(err)}` });
      });
      socket.on("message", () => finish(success));
      d.signal.addEventListener("abort", () => finish(success), { once: true });
      socket.connect(hp.port, hp.host, () => {
        connected = true;
        socket.send(new Uint8Array(0), (err) => {
          if (err) finish({ status: "critical", output: `write udp ${address}: ${goErrorReason(err)}` });
        });
      });
    });
  };
}

function localAddress(socket: dgram.Socket): string {
  try {
    const a = socket.address();
    return a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  } catch {
    return "";
  }
}

function readReason(err: unknown): string {
  return (err as { code?: string }).code === "ECONNREFUSED" ? "read: connection refused" : goErrorReason(err);
}
