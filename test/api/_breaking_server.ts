/**
 * An HTTP/1.1 server that answers the first request on each connection and
 * drops the connection after reading the second without answering: the
 * agent that applied a write and died before replying, seen over keep-alive.
 * Prints its port, then each request as it arrives ("PUT /v1/session/create").
 */
import { createServer } from "node:net";

export interface BreakingServer {
  readonly port: number;
  readonly arrivals: string[];
  close(): Promise<void>;
}

export async function startBreakingServer(): Promise<BreakingServer> {
  const arrivals: string[] = [];
  const server = createServer((sock) => {
    let n = 0;
    let buf = Buffer.alloc(0);
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.subarray(0, end).toString("latin1");
        const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        buf = buf.subarray(end + 4 + len);
        arrivals.push(head.split(" ").slice(0, 2).join(" "));
        if (++n === 2) {
          sock.destroy();
          return;
        }
        const body = '{"ID":"9f1a1b8e-0000-4000-8000-000000000001"}';
        sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      }
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return { port, arrivals, close: () => new Promise<void>((r) => server.close(() => r())) };
}
