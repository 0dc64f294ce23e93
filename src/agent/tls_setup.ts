/**
 * Agent TLS wiring: the TLS context from the config, the RPC port's TLS side,
 * the HTTP and HTTPS listeners, and what a reload changes.
 */
import type { AgentConfig } from "./config.ts";
import { readCert } from "../connect/leaf.ts";
import { ConfigError } from "./config_error.ts";
import type { Logger } from "./logger.ts";
import type { RpcServerTls } from "../rpc/tcp_server.ts";
import { type HttpListener, serveHttp, type ServeOptions } from "../runtime/serve.ts";
import { type HttpsListener, serveHttps } from "../runtime/serve_tls.ts";
import { TlsContext, tlsConfigured, TlsSetupError } from "../tls/mod.ts";

/** Loads the TLS files; null when the config asks for no TLS at all. */
export async function startTls(cfg: AgentConfig, logger: Logger): Promise<TlsContext | null> {
  for (const w of cfg.tls.warnings) logger.warn(`agent: ${w}`);
  if (!tlsConfigured(cfg.tls) && cfg.ports.https < 0) return null;
  if (cfg.tls.autoEncrypt.tls && cfg.server) throw new ConfigError("auto_encrypt.tls can only be used on client agents; servers use auto_encrypt.allow_tls");
  if (cfg.tls.autoEncrypt.allowTls && !cfg.server) throw new ConfigError("auto_encrypt.allow_tls can only be used on servers");
  if (cfg.tls.autoEncrypt.allowTls && !cfg.connect.enabled) throw new ConfigError("auto_encrypt.allow_tls requires connect to be enabled: the client certificates are signed by the Connect CA");
  try {
    const ctx = await TlsContext.load(cfg.tls, { serverMode: cfg.server, datacenter: cfg.datacenter, domain: cfg.domain });
    if (cfg.tls.autoEncrypt.tls && ctx.rpc.caFile === "" && ctx.rpc.caPath === "") {
      throw new ConfigError("auto_encrypt.tls needs the CA that signed the servers' certificates: set tls.defaults.ca_file (or ca_file)");
    }
    return ctx;
  } catch (err) {
    if (err instanceof TlsSetupError) throw new ConfigError(err.message);
    throw err;
  }
}

/** A client certificate the RPC port accepted, for the debug log: serial, SPIFFE ID (auto_encrypt) and expiry. */
export function describePeer(leaf: Uint8Array): string {
  try {
    const c = readCert(leaf);
    return `client certificate serial ${c.serial.toString(16)}${c.uris[0] ? ` ${c.uris[0]}` : ""} valid until ${c.notAfter.toISOString()}`;
  } catch (err) {
    return `client certificate unreadable (${(err as Error).message})`;
  }
}

/** The RPC listener's view of the TLS context. */
export function rpcServerTls(ctx: TlsContext): RpcServerTls {
  return {
    required: () => ctx.verifyIncomingRpc,
    incoming: (insecure) => ctx.incomingRpc(insecure ? { requireClientCert: false } : {}),
    refuseChain: (chain) => ctx.refuseClientCert(chain, Date.now()),
  };
}

export interface Listeners {
  /** The plain HTTP listener (null with `ports.http = -1`). */
  readonly http: HttpListener | null;
  /** The HTTPS listener (null unless `ports.https` is set). */
  readonly https: HttpsListener | null;
  stop(): Promise<void>;
}

/** Starts HTTP and/or HTTPS on the client address, as `ports` say. */
export async function startHttpListeners(cfg: AgentConfig, ctx: TlsContext | null, serve: Omit<ServeOptions, "hostname" | "port">, logger: Logger): Promise<Listeners> {
  if (cfg.ports.http < 0 && cfg.ports.https < 0) throw new ConfigError("ports.http and ports.https are both disabled: the agent needs one of them");
  let http: HttpListener | null = null;
  let https: HttpsListener | null = null;
  const stop = async () => {
    await http?.stop();
    await https?.stop();
  };
  try {
    if (cfg.ports.https >= 0) {
      const tls = ctx?.incomingHttps() ?? null;
      if (!tls) throw new ConfigError("ports.https is set but there is no certificate to serve it with: set tls.https (or tls.defaults) cert_file and key_file");
      https = await serveHttps({ ...serve, hostname: cfg.clientAddr, port: cfg.ports.https, tls });
      logger.info(`https: listening on ${cfg.clientAddr}:${https.port}${tls.requestCert ? " (client certificates required)" : ""}`);
    }
    if (cfg.ports.http >= 0) {
      http = await serveHttp({ ...serve, hostname: cfg.clientAddr, port: cfg.ports.http });
      logger.info(`http: listening on ${cfg.clientAddr}:${http.port}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { http, https, stop };
}

/** Applies reloaded TLS settings: new files for new handshakes, nothing dropped. */
export async function reloadTls(ctx: TlsContext | null, next: AgentConfig, listeners: Listeners, logger: Logger): Promise<void> {
  if (!ctx) {
    if (tlsConfigured(next.tls)) logger.warn("agent: TLS settings added by a reload need a restart (the agent started without TLS)");
    return;
  }
  try {
    await ctx.reload(next.tls);
  } catch (err) {
    if (err instanceof TlsSetupError) throw new ConfigError(`Failed to reload TLS configuration: ${err.message}`);
    throw err;
  }
  const tls = ctx.incomingHttps();
  if (listeners.https && tls) await listeners.https.setTls(tls);
  logger.info("agent: TLS configuration reloaded");
}
