/**
 * Errors of the RPC layer, and how any endpoint error crosses a process
 * boundary: as `{code, message}` (code = the class name), rebuilt on the
 * other side into the same class when it is registered, else into RpcError.
 */

/** A failure of the call itself (connection lost, timeout, bad frame); Consul answers these with 500. */
export class RpcError extends Error {
  override readonly name: string = "RpcError";
  /** The remote error's class name when it could not be rebuilt; "" for local failures. */
  readonly code: string;

  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options);
    this.code = options?.code ?? "";
  }
}

/** Consul's structs.ErrNoServers: a client agent knows no server to forward to. */
export class NoServersError extends RpcError {
  override readonly name = "NoServersError";

  constructor(message = "No known Consul servers", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A request for a datacenter this agent cannot reach (Consul's structs.ErrNoDCPath). */
export class NoPathError extends RpcError {
  override readonly name = "NoPathError";

  constructor(message = "No path to datacenter", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The thing asked for does not exist (answered 404 over HTTP), e.g. renewing an unknown session. */
export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
}

/** A request the server refuses as malformed (answered 400 over HTTP). */
export class BadRequestError extends Error {
  override readonly name = "BadRequestError";
}

/** The wire form of an error. */
export interface WireError {
  readonly code: string;
  readonly message: string;
}

type Rebuild = (message: string) => Error;
const registry = new Map<string, Rebuild>([
  ["RpcError", (m) => new RpcError(m)],
  ["NoServersError", (m) => new NoServersError(m)],
  ["NoPathError", (m) => new NoPathError(m)],
  ["NotFoundError", (m) => new NotFoundError(m)],
  ["BadRequestError", (m) => new BadRequestError(m)],
]);

/**
 * Lets a module make its error class survive the wire (the server's
 * ApplyError, the filter's FilterError, ...). Registering a name twice keeps
 * the last.
 */
export function registerWireError(code: string, rebuild: Rebuild): void {
  registry.set(code, rebuild);
}

export function toWireError(err: unknown): WireError {
  if (err instanceof Error) return { code: err.name, message: err.message };
  return { code: "Error", message: String(err) };
}

export function fromWireError(w: WireError): Error {
  const rebuild = registry.get(w.code);
  return rebuild ? rebuild(w.message) : new RpcError(w.message, { code: w.code });
}
