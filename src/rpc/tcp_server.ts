/**
 * The server RPC port (Consul's 8300): client agents open a connection, send
 * the magic bytes, then multiplexed request frames; each is answered through
 * the same endpoint table as in-process calls, in whatever order they finish
 * (a parked blocking query does not hold up the calls behind it).
 *
 * TLS (Consul's RPC TLS byte): a connection whose first byte is 0x03 is a
 * TLS handshake, inside which the magic bytes and frames follow as in plain
 * text. 0x07 is Consul's "TLS insecure" variant: no client certificate is
 * asked for, and only AutoEncrypt.Sign is answered (a client agent fetching
 * its first certificate). With verify_incoming any other first byte is
 * refused at once.
 */
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { keepAccepting } from "../runtime/keep_accepting.ts";
import { decodeBody, encodeFrame, FrameReader, FrameWriter, isRequestFrame, MAX_REQUEST_FRAME, RPC_MAGIC, RPC_TLS, RPC_TLS_INSECURE, type ReplyFrame } from "./codec.ts";
import { NoPathError, toWireError } from "./errors.ts";
import { validateArgs, validateOptions } from "./validate.ts";
import type { Server } from "../server/server.ts";
import { type EndpointTable, endpoints, type Handler, isMethod } from "../server/endpoints/table.ts";
import type { Method, Rpc } from "./types.ts";
import { PerClientCount } from "../structs/per_client.ts";
import type { ServerTls } from "../tls/context.ts";
import { acceptTls, describeTlsError, peerChain } from "../tls/sockets.ts";


/** The only method answered over an insecure (0x07) connection. */
const INSECURE_METHODS: ReadonlySet<string> = new Set(["AutoEncrypt.Sign"]);

/** The TLS side of the RPC port, asked on every connection so reloads apply at once. */
export interface RpcServerTls {
  /** verify_incoming: plain connections are refused at their first byte. */
  required(): boolean;
  /** The listener's certificate and what it asks of clients; null when it has none. */
  incoming(insecure: boolean): ServerTls | null;
  /** Why a client certificate chain (DER, leaf first) is refused, or null. */
  refuseChain(chain: Uint8Array[]): Promise<string | null>;
}

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
  /** Told about each client whose certificate was accepted (the leaf, DER). */
  readonly onTlsPeer?: (remote: string, leaf: Uint8Array) => void;
  /** TLS on this port; without it only plain connections are taken. */
  readonly tls?: RpcServerTls;
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

  const peers = new WeakMap<Socket, string>();
  const refused = new WeakSet<Socket>();
  const refuse = (socket: Socket, reason: string) => {
    if (refused.has(socket)) return;
    refused.add(socket);
    stats.refused++;
    opts.onBadPeer?.(peers.get(socket) ?? `${socket.remoteAddress}:${socket.remotePort}`, reason);
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
  /** Serves frames on a (possibly TLS) socket; `greeted` is told once the preamble is in. Answers the handler of its data. */
  const serve = (socket: Socket, insecure: boolean, greetedOk: () => void): ((chunk: Uint8Array) => void) => {
    const reader = new FrameReader(MAX_REQUEST_FRAME);
    let greeted = false;
    let head = new Uint8Array(0);
    const out = new FrameWriter((data) => {
      if (!socket.destroyed) socket.write(data);
    });
    const send = (frame: ReplyFrame) => out.push(encodeFrame(frame));
    const onData = (chunk: Uint8Array) => {
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
        greetedOk();
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
        if (!isMethod(m) || (insecure && !INSECURE_METHODS.has(m))) {
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
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
    return onData;
  };

  /** Takes the handshake over after the TLS byte; frames follow once the client is verified. */
  const upgrade = (socket: Socket, head: Uint8Array, insecure: boolean, greetedOk: () => void) => {
    const side = opts.tls?.incoming(insecure) ?? null;
    if (!side) return refuse(socket, "TLS connection attempted, server not configured for TLS");
    const t = acceptTls(socket, head, insecure ? { ...side, requestCert: false } : side);
    sockets.add(t);
    t.on("error", (err: Error & { code?: string }) => refuse(socket, `TLS handshake failed: ${describeTlsError(err)}`));
    let secured = false;
    t.on("close", () => {
      sockets.delete(t);
      if (!secured) refuse(socket, "TLS handshake failed: the connection ended before the handshake completed");
    });
    t.once("secure", () => {
      secured = true;
      const start = (insecureConn: boolean) => serve(t, insecureConn, greetedOk);
      if (insecure || !side.requestCert) return start(insecure);
      const chain = peerChain(t);
      opts.tls!.refuseChain(chain).then(
        (reason) => {
          if (reason !== null) return refuse(socket, `client certificate refused: ${reason}`);
          if (socket.destroyed) return;
          opts.onTlsPeer?.(peers.get(socket) ?? "", chain[0]!);
          start(false);
        },
        (err: Error) => refuse(socket, `client certificate refused: ${err.message}`),
      );
    });
  };

  const accept = (socket: Socket) => {
    peers.set(socket, `${socket.remoteAddress}:${socket.remotePort}`);
    const release = perClient.acquire(socket.remoteAddress ?? "");
    if (release === null) return refuse(socket, `client already holds the most connections allowed (rpc_max_conns_per_client)`);
    socket.once("close", release);
    stats.connections++;
    sockets.add(socket);
    // The TLS handshake, the client check and the preamble all fall within rpc_handshake_timeout.
    const handshake = setTimeout(() => refuse(socket, "no preamble within the handshake timeout (rpc_handshake_timeout)"), opts.handshakeTimeoutMs ?? 5000);
    const greetedOk = () => clearTimeout(handshake);
    socket.once("close", greetedOk);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    socket.on("error", () => socket.destroy());
    socket.on("close", () => sockets.delete(socket));
    socket.once("data", (chunk: Uint8Array) => {
      const first = chunk[0];
      if (first === RPC_TLS || first === RPC_TLS_INSECURE) return upgrade(socket, chunk.subarray(1), first === RPC_TLS_INSECURE, greetedOk);
      if (opts.tls?.required()) return refuse(socket, "Non-TLS connection attempted with VerifyIncoming set");
      serve(socket, false, greetedOk)(chunk);
    });
  };

  const net: NetServer = createServer(accept);
  await new Promise<void>((resolve, reject) => {
    net.once("error", reject);
    net.listen(opts.port, opts.host, () => {
      net.off("error", reject);
      resolve();
    });
  });
  keepAccepting(net);
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
