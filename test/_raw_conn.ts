/** A raw TCP connection for listener tests: what came back so far and when it closed. */
import { connect, type Socket } from "node:net";

export interface RawConn {
  readonly socket: Socket;
  /** performance.now() when the connection was started. */
  readonly opened: number;
  text(): string;
  closedAt(): number | null;
}

/** Connects from `localAddress` (a loopback address) and resolves once connected, or closed; `track` keeps the socket for cleanup. */
export function openRaw(port: number, localAddress: string, track?: Socket[]): Promise<RawConn> {
  return new Promise((resolve) => {
    const opened = performance.now();
    let out = "";
    let closed: number | null = null;
    const socket = connect({ host: "127.0.0.1", port, localAddress });
    track?.push(socket);
    socket.on("data", (d: Buffer) => (out += d.toString("latin1")));
    socket.on("error", () => {});
    socket.on("close", () => (closed = performance.now()));
    const conn = { socket, opened, text: () => out, closedAt: () => closed };
    socket.once("connect", () => resolve(conn));
    socket.once("close", () => resolve(conn));
  });
}
