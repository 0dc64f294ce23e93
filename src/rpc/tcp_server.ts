/**
 * The server RPC port (Consul's 8300): client agents open a connection, send
 * the magic bytes, then multiplexed request frames; each is answered through
 * the same endpoint table as in-process calls, in whatever order they finish
 * (a parked blocking query does not hold up the calls behind it).
 */
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { decodeBody, encodeFrame, FrameReader, FrameWriter, isRequestFrame, MAX_REQUEST_FRAME, RPC_MAGIC, type ReplyFrame } from "./codec.ts";
import { NoPathError, toWireError } from "./errors.ts";
import { validateArgs, validateOptions } from "./validate.ts";
import type { Server } from "../server/server.ts";
import { type EndpointTable, endpoints, type Handler, isMethod } from "../server/endpoints/table.ts";
import type { Method, Rpc } from "./types.ts";
import { PerClientCount } from "../structs/per_client.ts";

export interface RpcListenerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly server: Server;
  readonly table?: EndpointTable;
  /** Where calls for other datacenters go (federation); without it they fail with "No path to datacenter". */
  readonly forward?: Rpc;
  /** Connections one client address may hold (Consul's `limits.rpc_max_conns_per_client`, 100; 0: no cap). */
  readonly maxConnsPerClient?: number;
  /** Time a new connection has to send the preamble (Consul's `limits.rpc_handshake_timeout`, 5 s). */
  readonly handshakeTimeoutMs?: number;
  /** Told about connections dropped for bad input (never thrown). */
  readonly onBadPeer?: (remote: string, reason: string) => void;
}

export interface RpcListener {
  readonly port: number;
  /** Frames refused (bad magic, oversize, malformed), for tests and metrics. */
  readonly stats: { readonly connections: number; readonly calls: number; readonly refused: number };
  stop(): Promise<void>;
}

export async function listenRpc(opts: RpcListenerOptions): Promise<RpcListener> {
  const table = opts.table ?? endpoints;
  const dc = opts.server.config.datacenter;
  const sockets = new Set<Socket>();
  const stats = { connections: 0, calls: 0, refused: 0 };

  const refuse = (socket: Socket, reason: string) => {
    stats.refused++;
    opts.onBadPeer?.(`${socket.remoteAddress}:${socket.remotePort}`, reason);
    socket.destroy();
  };

  const dispatch = (method: Method, args: unknown, o: Parameters<Handler<Method>>[2]): unknown => {
    validateOptions(o);
    if (o.datacenter !== dc && o.datacenter !== "") {
      if (!opts.forward) throw new NoPathError();
      validateArgs(method, args);
      return opts.forward.call(method, args as never, o);
    }
    validateArgs(method, args);
    return (table[method] as Handler<Method>)(opts.server, args as never, o);
  };

  const perClient = new PerClientCount(opts.maxConnsPerClient ?? 100);
  const serve = (socket: Socket) => {
    const release = perClient.acquire(socket.remoteAddress ?? "");
    if (release === null) return refuse(socket, `client already holds the most connections allowed (rpc_max_conns_per_client)`);
    socket.once("close", release);
    stats.connections++;
    sockets.add(socket);
    const handshake = setTimeout(() => {
      if (!greeted) refuse(socket, "no preamble within the handshake timeout (rpc_handshake_timeout)");
    }, opts.handshakeTimeoutMs ?? 5000);
    socket.once("close", () => clearTimeout(handshake));
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    const reader = new FrameReader(MAX_REQUEST_FRAME);
    let greeted = false;
    let head = new Uint8Array(0);
    const out = new FrameWriter((data) => {
      if (!socket.destroyed) socket.write(data);
    });
    const send = (frame: ReplyFrame) => out.push(encodeFrame(frame));
    socket.on("data", (chunk: Uint8Array) => {
      let data = chunk;
      if (!greeted) {
        const joined = new Uint8Array(head.length + data.length);
        joined.set(head);
        joined.set(data, head.length);
        if (joined.length < RPC_MAGIC.length) {
          head = joined;
          return;
        }
        for (let i = 0; i < RPC_MAGIC.length; i++) if (joined[i] !== RPC_MAGIC[i]) return refuse(socket, "not a Consulate RPC client (bad preamble)");
        greeted = true;
        clearTimeout(handshake);
        data = joined.subarray(RPC_MAGIC.length);
      }
      let bodies: Uint8Array[];
      try {
        bodies = reader.push(data);
      } catch (err) {
        return refuse(socket, (err as Error).message);
      }
      for (const body of bodies) {
        let frame: unknown;
        try {
          frame = decodeBody(body);
        } catch {
          return refuse(socket, "frame is not valid JSON");
        }
        if (!isRequestFrame(frame)) return refuse(socket, "frame is not a request");
        stats.calls++;
        const { i, m, a, o } = frame;
        if (!isMethod(m)) {
          send({ i, e: { code: "RpcError", message: `rpc: can't find method ${m}` } });
          continue;
        }
        let result: unknown;
        try {
          result = dispatch(m, a, o);
        } catch (err) {
          send({ i, e: toWireError(err) });
          continue;
        }
        if (result instanceof Promise) {
          result.then(
            (r: unknown) => send({ i, r: r ?? null }),
            (err: unknown) => send({ i, e: toWireError(err) }),
          );
        } else {
          send({ i, r: result ?? null });
        }
      }
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => sockets.delete(socket));
  };

  const net: NetServer = createServer(serve);
  await new Promise<void>((resolve, reject) => {
    net.once("error", reject);
    net.listen(opts.port, opts.host, () => {
      net.off("error", reject);
      resolve();
    });
  });
  const addr = net.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  let stopping: Promise<void> | null = null;
  return {
    port,
    stats,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        net.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return stopping;
    },
  };
}
