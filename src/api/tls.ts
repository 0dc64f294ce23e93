/**
 * HTTPS with the agent's own CA and a client certificate (Go's api.TLSConfig):
 * global fetch cannot take a CA or a client certificate on every runtime
 * (Node's cannot at all), so these requests go through node:https, which
 * Bun, Deno and Node all implement. Files are read on the first request.
 */
import { readdir, readFile } from "node:fs/promises";
import { Agent, request as httpsRequest } from "node:https";
import { join } from "node:path";
import { ApiConfigError } from "./errors.ts";
import { fetchNoReplay } from "../runtime/fetch.ts";

export interface TlsConfig {
  /** Server name to verify (and send as SNI) instead of the address's host (Go's TLSConfig.Address). */
  readonly serverName?: string;
  /** PEM file of the CA that signed the agent's certificate (CONSUL_CACERT). */
  readonly caFile?: string;
  /** Directory of CA PEM files (CONSUL_CAPATH). */
  readonly caPath?: string;
  /** CA PEM text, instead of a file. */
  readonly caPem?: string;
  /** Client certificate and key files (CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY), for agents with verify_incoming. */
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly certPem?: string;
  readonly keyPem?: string;
  /** Skip verifying the agent's certificate (CONSUL_HTTP_SSL_VERIFY=false). */
  readonly insecureSkipVerify?: boolean;
}

/** True when any field asks for more than the system's defaults. */
export function hasTlsSettings(t: TlsConfig | undefined): t is TlsConfig {
  return t !== undefined && Object.values(t).some((v) => v !== undefined && v !== "" && v !== false);
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new ApiConfigError(`Error loading ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

interface Loaded {
  readonly ca?: string[];
  readonly cert?: string;
  readonly key?: string;
}

async function load(t: TlsConfig): Promise<Loaded> {
  const ca: string[] = [];
  if (t.caPem) ca.push(t.caPem);
  if (t.caFile) ca.push(await readPem(t.caFile, "CA file"));
  else if (t.caPath) {
    let names: string[];
    try {
      names = (await readdir(t.caPath)).sort();
    } catch (err) {
      throw new ApiConfigError(`Error loading CA path ${t.caPath}: ${(err as Error).message}`, { cause: err });
    }
    for (const n of names) ca.push(await readPem(join(t.caPath, n), "CA file"));
  }
  const cert = t.certPem || (t.certFile ? await readPem(t.certFile, "client certificate") : undefined);
  const key = t.keyPem || (t.keyFile ? await readPem(t.keyFile, "client key") : undefined);
  if ((cert === undefined) !== (key === undefined)) throw new ApiConfigError("a client certificate needs its key, and a key its certificate (CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY)");
  return { ...(ca.length > 0 ? { ca } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
}

/** A fetch for one client: keep-alive connections, the given CA and client certificate. */
export function tlsFetch(t: TlsConfig): (request: Request) => Promise<Response> {
  let agent: Promise<Agent> | null = null;
  const agentOf = () =>
    (agent ??= load(t).then(
      (l) =>
        new Agent({
          keepAlive: true,
          ...l,
          rejectUnauthorized: t.insecureSkipVerify !== true,
          ...(t.serverName ? { servername: t.serverName } : {}),
        }),
      (err: unknown) => {
        agent = null;
        throw err;
      },
    ));
  return async (request) => {
    const url = new URL(request.url);
    // CONSUL_CACERT and the like are harmless for a plain http:// address, as in Go's client.
    if (url.protocol !== "https:") return fetchNoReplay(request);
    const a = await agentOf();
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    const headers: Record<string, string> = {};
    request.headers.forEach((v, k) => (headers[k] = v));
    if (body) headers["content-length"] = String(body.length);
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(
        {
          agent: a,
          host: url.hostname.replace(/^\[|\]$/g, ""),
          port: url.port || 443,
          path: url.pathname + url.search,
          method: request.method,
          headers,
          ...(t.serverName ? { servername: t.serverName } : {}),
        },
        (res) => {
          const chunks: Uint8Array[] = [];
          res.on("data", (c: Uint8Array) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) {
              if (Array.isArray(v)) for (const x of v) h.append(k, x);
              else if (v !== undefined) h.set(k, String(v));
            }
            const status = res.statusCode ?? 0;
            const all = Buffer.concat(chunks);
            resolve(new Response(status === 204 || status === 304 ? null : all, { status, headers: h }));
          });
        },
      );
      const onAbort = () => req.destroy(Object.assign(new Error("The operation was aborted."), { name: "AbortError" }));
      if (request.signal.aborted) onAbort();
      request.signal.addEventListener("abort", onAbort, { once: true });
      req.on("error", reject);
      req.on("close", () => request.signal.removeEventListener("abort", onAbort));
      req.end(body);
    });
  };
}

/** Consul's environment variables for the client's TLS (api.DefaultConfig), read through `env`. */
export const TLS_ENV = {
  caFile: "CONSUL_CACERT",
  caPath: "CONSUL_CAPATH",
  certFile: "CONSUL_CLIENT_CERT",
  keyFile: "CONSUL_CLIENT_KEY",
  serverName: "CONSUL_TLS_SERVER_NAME",
  sslVerify: "CONSUL_HTTP_SSL_VERIFY",
} as const;

/** The TLS settings Consul's environment variables give; `env` is the caller's (the client never reads the process environment). */
export function tlsConfigFromEnv(env: (name: string) => string | undefined): TlsConfig {
  const out: { -readonly [K in keyof TlsConfig]: TlsConfig[K] } = {};
  const set = (k: "caFile" | "caPath" | "certFile" | "keyFile" | "serverName") => {
    const v = env(TLS_ENV[k]);
    if (v) out[k] = v;
  };
  set("caFile");
  set("caPath");
  set("certFile");
  set("keyFile");
  set("serverName");
  const verify = env(TLS_ENV.sslVerify);
  if (verify !== undefined && verify !== "") {
    const b = ["1", "t", "T", "TRUE", "true", "True"].includes(verify) ? true : ["0", "f", "F", "FALSE", "false", "False"].includes(verify) ? false : null;
    if (b === null) throw new ApiConfigError(`could not parse ${TLS_ENV.sslVerify}: ${JSON.stringify(verify)}`);
    if (!b) out.insecureSkipVerify = true;
  }
  return out;
}
