/**
 * A jwt-provider's key set, on WebCrypto only (it runs at the edge too):
 * `JSONWebKeySet.Local` (base64 JSON, imported once) or
 * `JSONWebKeySet.Remote`, fetched from its URI and cached for
 * CacheDuration (Envoy's default: 10 minutes), with RequestTimeoutMs,
 * RetryPolicy (NumRetries, RetryPolicyBackOff) and FetchAsynchronously (fetch
 * as the provider is installed rather than at the first request). A failed
 * refresh keeps the last good keys; with none, requests are refused with
 * Envoy's `Jwks remote fetch is failed`. The fetch itself is injected: the
 * gateway process trusts the JWKSCluster's TrustedCA, the edge uses its
 * runtime's fetch.
 */
import { type EntryBody, n, o, s } from "../../src/configentry/kinds/kind.ts";
import { backoffDelay } from "../../src/util/mod.ts";

export type Jwk = JsonWebKey & { kid?: string; alg?: string };
export interface ImportedKey {
  readonly jwk: Jwk;
  readonly key: CryptoKey | null;
}

/** The roots a remote JWKS' JWKSCluster trusts: PEM given inline, a file, an environment variable (all empty: the defaults). */
export interface JwksTrust {
  readonly inline: readonly string[];
  readonly filename: string;
  readonly env: string;
}

/** Fetches a JWKS document. */
export type JwksFetch = (uri: string, o: { readonly trust: JwksTrust; readonly timeoutMs: number }) => Promise<string>;

/** Largest JWKS document accepted (a remote one is refused past it). */
export const MAX_JWKS_BYTES = 1024 * 1024;

const DEFAULT_CACHE_MS = 10 * 60_000;
const DEFAULT_TIMEOUT_MS = 5_000;

export class JwksError extends Error {
  override readonly name = "JwksError";
}

export const ALGS: Record<string, { import: RsaHashedImportParams | EcKeyImportParams; verify: AlgorithmIdentifier | RsaPssParams | EcdsaParams }> = {
  RS256: { import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, verify: { name: "RSASSA-PKCS1-v1_5" } },
  RS384: { import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-384" }, verify: { name: "RSASSA-PKCS1-v1_5" } },
  RS512: { import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-512" }, verify: { name: "RSASSA-PKCS1-v1_5" } },
  ES256: { import: { name: "ECDSA", namedCurve: "P-256" }, verify: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams },
  ES384: { import: { name: "ECDSA", namedCurve: "P-384" }, verify: { name: "ECDSA", hash: "SHA-384" } as EcdsaParams },
};

/** The keys of a JWKS document (unusable keys kept with `key: null`); throws on a document that is not a key set. */
export async function importJwks(text: string): Promise<ImportedKey[]> {
  let set: unknown;
  try {
    set = JSON.parse(text);
  } catch {
    throw new JwksError("JWKS is not JSON");
  }
  const keys = typeof set === "object" && set !== null && Array.isArray((set as { keys?: unknown }).keys) ? ((set as { keys: unknown[] }).keys as Jwk[]) : null;
  if (!keys) throw new JwksError("JWKS has no keys array");
  return Promise.all(
    keys.slice(0, 256).map(async (jwk) => {
      if (typeof jwk !== "object" || jwk === null) return { jwk: {}, key: null };
      const alg = jwk.alg ?? (jwk.kty === "EC" ? (jwk.crv === "P-384" ? "ES384" : "ES256") : "RS256");
      const spec = ALGS[alg];
      if (!spec) return { jwk, key: null };
      try {
        return { jwk: { ...jwk, alg }, key: await crypto.subtle.importKey("jwk", jwk, spec.import, false, ["verify"]) };
      } catch {
        return { jwk, key: null };
      }
    }),
  );
}

/** A Go duration as the config API returns it: nanoseconds, or text such as "5m". */
function durationMs(v: unknown, fallback: number): number {
  if (typeof v === "number" && v > 0) return v / 1e6;
  if (typeof v === "string") {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim());
    if (m) return Number(m[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  }
  return fallback;
}

export function trustedCa(entry: EntryBody): JwksTrust {
  const ca = o(o(o(o(o(entry, "JSONWebKeySet"), "Remote"), "JWKSCluster"), "TLSCertificates"), "TrustedCA");
  const inline: string[] = [];
  if (s(ca, "InlineString") !== "") inline.push(s(ca, "InlineString"));
  if (s(ca, "InlineBytes") !== "") {
    try {
      inline.push(atob(s(ca, "InlineBytes")));
    } catch {
      // not base64: nothing to trust from it
    }
  }
  return { inline, filename: s(ca, "Filename"), env: s(ca, "EnvironmentVariable") };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The keys of one provider: local ones imported once, remote ones fetched and cached. */
export class KeySet {
  readonly #entry: EntryBody;
  readonly #fetch: JwksFetch;
  readonly #now: () => number;
  #keys: ImportedKey[] | null = null;
  #fetchedAt = 0;
  #pending: Promise<void> | null = null;
  #failedAt = 0;
  #lastError = "";
  /** Remote fetches started (for tests and the admin view). */
  fetches = 0;
  /** Bumped each time new keys are installed (tokens verified with older keys are checked again). */
  version = 0;

  constructor(entry: EntryBody, fetch: JwksFetch, now: () => number) {
    this.#entry = entry;
    this.#fetch = fetch;
    this.#now = now;
    if (!this.#remote) this.#pending = this.#loadLocal();
    else if (this.#remote.FetchAsynchronously === true) void this.#refresh();
  }

  get #remote(): EntryBody | undefined {
    return o(o(this.#entry, "JSONWebKeySet"), "Remote") as EntryBody | undefined;
  }

  get lastError(): string {
    return this.#lastError;
  }

  async #loadLocal(): Promise<void> {
    const text = s(o(o(this.#entry, "JSONWebKeySet"), "Local"), "JWKS");
    try {
      this.#keys = text === "" ? [] : await importJwks(new TextDecoder().decode(Uint8Array.from(atob(text), (c) => c.charCodeAt(0))));
    } catch {
      this.#keys = [];
    }
  }

  #refresh(): Promise<void> {
    this.#pending ??= this.#fetchRemote().finally(() => (this.#pending = null));
    return this.#pending;
  }

  async #fetchRemote(): Promise<void> {
    const r = this.#remote!;
    const timeoutMs = n(r, "RequestTimeoutMs") || DEFAULT_TIMEOUT_MS;
    const policy = o(r, "RetryPolicy");
    const retries = Math.min(10, Math.max(0, n(policy, "NumRetries")));
    const backoff = o(policy, "RetryPolicyBackOff");
    const base = durationMs(backoff?.BaseInterval, 1_000);
    const max = durationMs(backoff?.MaxInterval, 10_000);
    const trust = trustedCa(this.#entry);
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await sleep(backoffDelay(attempt - 1, { initialMs: base, maxMs: max }));
      this.fetches++;
      try {
        const text = await this.#fetch(s(r, "URI"), { trust, timeoutMs });
        if (text.length > MAX_JWKS_BYTES) throw new JwksError(`JWKS larger than ${MAX_JWKS_BYTES} bytes`);
        this.#keys = await importJwks(text);
        this.version++;
        this.#fetchedAt = this.#now();
        this.#lastError = "";
        return;
      } catch (err) {
        this.#lastError = err instanceof Error ? err.message : String(err);
      }
    }
    this.#failedAt = this.#now();
  }

  /** The keys to verify with now, or null when a remote set could not be fetched and none is cached. */
  async keys(): Promise<ImportedKey[] | null> {
    const remote = this.#remote;
    if (!remote) {
      await this.#pending;
      return this.#keys ?? [];
    }
    const fresh = this.#keys !== null && this.#now() - this.#fetchedAt < durationMs(remote.CacheDuration, DEFAULT_CACHE_MS);
    // After a failed fetch, requests within a second do not start another one.
    if (!fresh && this.#now() - this.#failedAt >= 1_000) {
      // Past the cache: the first request waits for the fetch; a failure keeps the last good keys.
      if (this.#keys === null) await this.#refresh();
      else void this.#refresh();
    }
    return this.#keys;
  }
}
