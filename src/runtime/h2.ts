/**
 * Hands a plain connection whose first bytes were already read (to tell an
 * HTTP/2 preface from HTTP/1.1) to a node:http2 server. Node and Deno take
 * the socket back with the bytes unshifted; Bun's http2 server reads the
 * socket below its JavaScript buffer and would lose them, so there the
 * connection goes in through a Duplex that replays the first bytes.
 */
import type { Http2Server } from "node:http2";
import type { Socket } from "node:net";
import { Duplex } from "node:stream";

function replaying(sock: Socket, first: Uint8Array): Duplex {
  const d = new Duplex({
    read() {
      sock.resume();
    },
    write(chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void) {
      sock.write(chunk, cb);
    },
    final(cb: (err?: Error | null) => void) {
      sock.end();
      cb();
    },
    destroy(err: Error | null, cb: (err?: Error | null) => void) {
      sock.destroy(err ?? undefined);
      cb(err);
    },
  });
  d.push(first);
  sock.on("data", (c: Uint8Array) => {
    if (!d.push(c)) sock.pause();
  });
  sock.on("end", () => d.push(null));
  sock.on("close", () => d.destroy());
  Object.defineProperty(d, "remoteAddress", { get: () => sock.remoteAddress });
  return d;
}

/** Gives `sock` (paused, `first` already read from it) to `server` as a new HTTP/2 connection. */
export function adoptHttp2(server: Http2Server, sock: Socket, first: Uint8Array): void {
  const g = globalThis as { Bun?: unknown };
  if (g.Bun) {
    server.emit("connection", replaying(sock, first));
    return;
  }
  sock.unshift(first);
  server.emit("connection", sock);
}
