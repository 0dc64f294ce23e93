/**
 * The NATS connection of a clustered server, from the agent's `nats` settings
 * (`-nats` flag or the `nats` block of a config file): URLs, TLS and
 * credentials. It reconnects forever; the log and the lease ride it.
 */
import { readFile } from "node:fs/promises";
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";

export interface NatsTls {
  /** CA bundle that signed the NATS servers' certificates. */
  readonly caFile: string;
  /** Client certificate and key, when the servers verify clients. */
  readonly certFile: string;
  readonly keyFile: string;
}

export interface NatsSettings {
  readonly urls: readonly string[];
  /** Null: plain TCP unless the URL says tls://. */
  readonly tls: NatsTls | null;
  /** A `.creds` file (JWT + nkey seed). */
  readonly credsFile: string;
  readonly user: string;
  readonly password: string;
  readonly token: string;
  /** Replicas of the log stream, snapshot store and KV bucket (1 for a single NATS node). */
  readonly replicas: number;
  /** Leader lease length in ms. */
  readonly leaseTtlMs: number;
}

export function defaultNatsSettings(): NatsSettings {
  return { urls: [], tls: null, credsFile: "", user: "", password: "", token: "", replicas: 3, leaseTtlMs: 3_000 };
}

/** A NATS connection that cannot be made; the message says where and why. */
export class NatsConnectError extends Error {
  override readonly name = "NatsConnectError";
}

/**
 * Connects, retrying until `timeoutMs` passes (a server may start before its
 * NATS cluster does); 0 tries once. `overrides` tunes the connection (the
 * links to other datacenters ping more often than the log's connection).
 */
export async function connectNats(settings: NatsSettings, name: string, timeoutMs = 30_000, overrides: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  if (settings.urls.length === 0) throw new NatsConnectError("No NATS servers given: set -nats or nats.urls");
  const opts: ConnectionOptions = {
    servers: [...settings.urls],
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    pingInterval: 5_000,
    maxPingOut: 2,
    timeout: 2_000,
    ...overrides,
  };
  if (settings.tls) {
    const t = settings.tls;
    opts.tls = {
      ...(t.caFile ? { caFile: t.caFile } : {}),
      ...(t.certFile ? { certFile: t.certFile } : {}),
      ...(t.keyFile ? { keyFile: t.keyFile } : {}),
    };
  }
  if (settings.credsFile) {
    let creds: Uint8Array;
    try {
      creds = await readFile(settings.credsFile);
    } catch (err) {
      throw new NatsConnectError(`Cannot read nats.creds_file "${settings.credsFile}": ${(err as Error).message}`);
    }
    opts.authenticator = credsAuthenticator(creds);
  } else if (settings.token) {
    opts.token = settings.token;
  } else if (settings.user) {
    opts.user = settings.user;
    opts.pass = settings.password;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await connect(opts);
    } catch (err) {
      const e = err as Error;
      // Bad credentials or TLS will not fix themselves.
      if (/authori[sz]ation|authentication|certificate|tls/i.test(`${e.name} ${e.message}`) || Date.now() >= deadline) {
        throw new NatsConnectError(`Cannot connect to NATS at ${settings.urls.join(", ")}: ${e.message}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
