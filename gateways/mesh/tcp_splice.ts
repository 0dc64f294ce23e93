/**
 * An L4 splice between two TcpConns (src/runtime/tcp.ts): each side's bytes
 * go to the other as they arrive; a side whose peer cannot take more is
 * paused until the peer drains (back-pressure); a FIN is passed on as a FIN
 * (half-close), so a client can finish sending and still read the answer.
 * A side that fails cuts both; a side that closes cleanly leaves the other to
 * flush what it holds, for a while.
 */
import type { Duplex } from "node:stream";
import type { TcpConn } from "../../src/runtime/tcp.ts";

/** How long a side may take to flush after its peer closed before it is cut. */
const LINGER_MS = 5_000;

function linger(c: TcpConn): void {
  if (c.closed) return;
  c.end();
  const t = setTimeout(() => c.destroy(), LINGER_MS);
  (t as { unref?: () => void }).unref?.();
  c.onClosed(() => clearTimeout(t));
}

export function spliceTcp(a: TcpConn, b: TcpConn): void {
  a.handle({
    data: (c) => {
      if (!b.write(c)) a.pause();
    },
    end: () => b.end(),
    drain: () => b.resume(),
    close: (err) => (err ? b.destroy() : linger(b)),
  });
  b.handle({
    data: (c) => {
      if (!a.write(c)) b.pause();
    },
    end: () => a.end(),
    drain: () => a.resume(),
    close: (err) => (err ? a.destroy() : linger(a)),
  });
}

/**
 * The same splice between a node stream (a TLS socket of node:tls) and a
 * TcpConn, for a leg where the runtime's own sockets are cheaper than its
 * node:net (the sidecar's connection to its local app): the same
 * back-pressure, half-close and failure rules as spliceTcp.
 */
export function spliceStreamTcp(a: Duplex, b: TcpConn): void {
  const cut = () => {
    a.destroy();
    b.destroy();
  };
  a.on("data", (c: Uint8Array) => {
    if (!b.write(c)) a.pause();
  });
  a.on("end", () => b.end());
  a.on("drain", () => b.resume());
  a.on("error", cut);
  a.on("close", () => linger(b));
  b.handle({
    data: (c) => {
      if (!a.destroyed && !a.write(c)) b.pause();
    },
    end: () => {
      if (!a.writableEnded) a.end();
    },
    drain: () => a.resume(),
    close: (err) => (err ? a.destroy() : lingerStream(a)),
  });
  // A stream paused on purpose (bytes peeked and pushed back) does not flow again by itself when read.
  a.resume();
}

function lingerStream(s: Duplex): void {
  if (s.destroyed) return;
  if (!s.writableEnded) s.end();
  const t = setTimeout(() => s.destroy(), LINGER_MS);
  (t as { unref?: () => void }).unref?.();
  s.once("close", () => clearTimeout(t));
}
