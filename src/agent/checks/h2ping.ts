/** H2PING checks (Consul's CheckH2PING): open an HTTP/2 connection and send a PING frame. */
import http2 from "node:http2";
import type { Clock } from "../../server/clock.ts";
import { addressError, goDialError, splitHostPort } from "./net_errors.ts";
import { deadline, type ProbeResult } from "./periodic.ts";
import { serverName } from "./tcp.ts";

export interface H2PingProbeOptions {
  target: string;
  timeoutMs: number;
  useTls: boolean;
  tlsSkipVerify: boolean;
  tlsServerName: string;
}

export function h2pingProbe(o: H2PingProbeOptions, clock: Clock) {
  return (stop: AbortSignal): Promise<ProbeResult> => {
    const hp = splitHostPort(o.target);
    if (!hp) return Promise.resolve({ status: "critical", output: `Failed to dial to ${o.target}: ${addressError("tcp", o.target)}` });
    const d = deadline(clock, o.timeoutMs, stop);
    return new Promise<ProbeResult>((resolve) => {
      const host = hp.host.includes(":") ? `[${hp.host}]` : hp.host;
      const session = http2.connect(`${o.useTls ? "https" : "http"}://${host}:${hp.port}`, {
        ...(o.useTls ? { rejectUnauthorized: !o.tlsSkipVerify, ...serverName(hp.host, o.tlsServerName) } : {}),
      });
      let connected = false;
      let settled = false;
      const finish = (r: ProbeResult) => {
        if (settled) return;
        settled = true;
        d.done();
        session.destroy();
        resolve(r);
      };
      const critical = (output: string) => finish({ status: "critical", output });
      d.signal.addEventListener(
        "abort",
        () => critical(connected ? "HTTP2 ping failed: context deadline exceeded" : `Failed to dial to ${o.target}: ${goDialError("tcp", o.target, { code: "ETIMEDOUT" })}`),
        { once: true },
      );
      session.on("error", (err) => {
        if (connected) critical(`HTTP2 ping failed: ${(err as Error).message}`);
        else critical(`Failed to dial to ${o.target}: ${goDialError("tcp", o.target, err)}`);
      });
      session.on("connect", () => {
        connected = true;
        session.ping((err) => {
          if (err) critical(`HTTP2 ping failed: ${err.message}`);
          else finish({ status: "passing", output: "HTTP2 ping was successful" });
        });
      });
    });
  };
}
