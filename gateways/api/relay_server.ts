/**
 * The edge relay's listener: node:tls (which every runtime here serves with
 * the client's certificate readable, unlike their HTTPS servers) asking for
 * a client certificate, HTTP/1.1 on each connection through the
 * connect-native HTTP loop, and the connection's verdict on its client
 * certificate (the gateway's own leaf or not) handed with every request on
 * it. A handshake that fails or does not finish within the deadline
 * closes the connection.
 */
import type { Socket } from "node:net";
import { createServer, type Server, type TLSSocket } from "node:tls";
import { serveHttp } from "../native/http.ts";
import { HANDSHAKE_TIMEOUT_MS, listenOn, type SniCertificates } from "./node_server.ts";

export interface RelayServerOptions {
  readonly certificates: SniCertificates;
  /** CAs the client certificate may chain to (the Connect roots). */
  readonly ca: readonly string[];
  /** null when the connection's client is the gateway; else why it is refused. */
  readonly peer: (socket: TLSSocket) => string | null;
  /** `refused`: the connection's verdict on its client (null: the gateway), for the handler to answer. */
  readonly handler: (request: Request, refused: string | null) => Promise<Response>;
  readonly handshakeTimeoutMs?: number;
}

export class RelayServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(o: RelayServerOptions) {
    const certs = o.certificates;
    const first = certs.first;
    this.#server = createServer(
      {
        ...(first ? { cert: first.certPem, key: first.keyPem } : {}),
        SNICallback: (name, cb) => cb(null, certs.pick(name) ?? undefined),
        requestCert: true,
        rejectUnauthorized: false,
        ca: [...o.ca],
        minVersion: "TLSv1.2",
        handshakeTimeout: o.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
      },
      (socket) => {
        this.#sockets.add(socket);
        // Heads and bodies go out in separate writes: without this a small answer waits out the peer's delayed ACK (~40 ms).
        socket.setNoDelay(true);
        socket.once("close", () => this.#sockets.delete(socket));
        socket.on("error", () => socket.destroy());
        const refused = o.peer(socket);
        void serveHttp(socket, (req) => o.handler(req, refused), () => ({ allowed: true, reason: "" })).catch(() => socket.destroy());
      },
    );
    // A new certificate for the relay serves new connections (where the runtime can swap the default context).
    const server = this.#server as Server & { setSecureContext?: (c: { cert: string; key: string; ca: string[] }) => void };
    certs.onDefault = (pair) => server.setSecureContext?.({ cert: pair.certPem, key: pair.keyPem, ca: [...o.ca] });
    // A malformed or stalled handshake: the connection goes.
    this.#server.on("tlsClientError", (_err: Error, socket: TLSSocket) => socket.destroy());
  }

  listen(host: string, port: number): Promise<number> {
    return listenOn(this.#server, host, port);
  }

  get port(): number {
    return (this.#server.address() as { port: number } | null)?.port ?? 0;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.#server.close(() => r()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }
}
