/**
 * JWT verification for the API gateway, on WebCrypto only (it runs at the
 * edge too): a jwt-provider entry's local JWKS (base64 JSON), Issuer,
 * Audiences, ClockSkewSeconds, Locations (default: `Authorization: Bearer`
 * then the `access_token` query parameter) and Forwarding (the payload,
 * base64url, in a header), plus a route's VerifyClaims. Refusals follow
 * Envoy's jwt_authn filter: 401 with its texts; a claim mismatch is an
 * RBAC refusal, 403.
 */
import { arr, type EntryBody, n, o, s } from "../../src/configentry/kinds/kind.ts";
import { ALGS, type JwksFetch, KeySet } from "./jwks.ts";
import type { JwtRequirement } from "./table.ts";

/** Without an injected fetch (the edge): the runtime's fetch, default trust. */
const plainFetch: JwksFetch = async (uri, o) => {
  const res = await fetch(uri, { signal: AbortSignal.timeout(o.timeoutMs) });
  if (res.status !== 200) throw new Error(`JWKS fetch: status ${res.status}`);
  return res.text();
};

export interface JwtVerdict {
  readonly ok: boolean;
  readonly status?: 401 | 403;
  readonly message?: string;
  /** Headers to add to the forwarded request (Forwarding.HeaderName). */
  readonly forward?: readonly (readonly [string, string])[];
  /** A header that carried the token and is not forwarded (Locations Header.Forward false). */
  readonly strip?: string;
}

interface Provider {
  readonly entry: EntryBody;
  readonly keys: KeySet;
  /** Tokens whose signature verified (CacheConfig.Size of them, Envoy's default 100): the signature is not checked again. */
  readonly verified: Map<string, true>;
  verifiedWith: number;
  readonly cacheSize: number;
}

/** Envoy's jwt_cache_config default size. */
const DEFAULT_JWT_CACHE = 100;

function b64urlBytes(text: string): Uint8Array<ArrayBuffer> {
  const std = text.replaceAll("-", "+").replaceAll("_", "/");
  const pad = std + "=".repeat((4 - (std.length % 4)) % 4);
  const bin = atob(pad);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function b64url(bytes: Uint8Array, pad: boolean): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  const t = btoa(bin).replaceAll("+", "-").replaceAll("/", "_");
  return pad ? t : t.replace(/=+$/, "");
}

function parseJson(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The token from the provider's Locations (or Envoy's defaults), and the header it came in to strip. */
function extract(entry: EntryBody, req: Request, url: URL): { token: string; strip: string | null } | null {
  const locations = arr(entry, "Locations");
  const list = locations.length > 0 ? locations : [{ Header: { Name: "Authorization", ValuePrefix: "Bearer " } }, { QueryParam: { Name: "access_token" } }];
  for (const l of list) {
    const h = o(l, "Header");
    if (h) {
      const v = req.headers.get(s(h, "Name"));
      const prefix = s(h, "ValuePrefix");
      if (v !== null && v.startsWith(prefix) && v.length > prefix.length) return { token: v.slice(prefix.length).trim(), strip: h.Forward === true ? null : s(h, "Name") };
      continue;
    }
    const q = o(l, "QueryParam");
    if (q) {
      const v = url.searchParams.get(s(q, "Name"));
      if (v) return { token: v, strip: null };
      continue;
    }
    const c = o(l, "Cookie");
    if (c) {
      const cookie = req.headers.get("cookie") ?? "";
      for (const part of cookie.split(";")) {
        const [k, ...rest] = part.trim().split("=");
        if (k === s(c, "Name") && rest.length > 0) return { token: rest.join("="), strip: null };
      }
    }
  }
  return null;
}

function claimAt(payload: Record<string, unknown>, path: readonly string[]): unknown {
  let cur: unknown = payload;
  for (const p of path) cur = typeof cur === "object" && cur !== null ? (cur as Record<string, unknown>)[p] : undefined;
  return cur;
}

export class JwtVerifier {
  readonly #providers = new Map<string, Provider>();
  readonly #now: () => number;
  readonly #fetch: JwksFetch;

  constructor(now: () => number = Date.now, fetchJwks: JwksFetch = plainFetch) {
    this.#now = now;
    this.#fetch = fetchJwks;
  }

  /** A provider's key set (remote fetch state), for tests and the admin view. */
  keySet(name: string): KeySet | null {
    return this.#providers.get(name)?.keys ?? null;
  }

  /** Installs the jwt-provider entries; a provider whose entry did not change keeps its imported keys. */
  setProviders(entries: readonly EntryBody[]): void {
    const next = new Map<string, Provider>();
    for (const e of entries) {
      const prev = this.#providers.get(e.Name);
      const size = n(o(e, "CacheConfig"), "Size");
      next.set(e.Name, prev && JSON.stringify(prev.entry) === JSON.stringify(e) ? prev : { entry: e, keys: new KeySet(e, this.#fetch, this.#now), verified: new Map(), verifiedWith: 0, cacheSize: size > 0 ? size : DEFAULT_JWT_CACHE });
    }
    this.#providers.clear();
    for (const [k, v] of next) this.#providers.set(k, v);
  }

  /** Checks a request against a route's requirements: any one provider that verifies it is enough. */
  async verify(req: Request, url: URL, reqs: readonly JwtRequirement[]): Promise<JwtVerdict> {
    if (reqs.length === 0) return { ok: true };
    let last: JwtVerdict = { ok: false, status: 401, message: "Jwt is missing" };
    for (const r of reqs) {
      const p = this.#providers.get(r.name);
      if (!p) {
        last = { ok: false, status: 401, message: "Jwt issuer is not configured" };
        continue;
      }
      const v = await this.#verifyWith(p, req, url, r);
      if (v.ok) return v;
      if (v.message !== "Jwt is missing" || last.message === "Jwt is missing") last = v;
    }
    return last;
  }

  async #verifyWith(p: Provider, req: Request, url: URL, r: JwtRequirement): Promise<JwtVerdict> {
    const found = extract(p.entry, req, url);
    if (!found) return { ok: false, status: 401, message: "Jwt is missing" };
    const parts = found.token.split(".");
    const bad: JwtVerdict = { ok: false, status: 401, message: "Jwt verification fails" };
    if (parts.length !== 3 || found.token.length > 16_384) return { ok: false, status: 401, message: "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections" };
    let header: Record<string, unknown> | null;
    let payload: Record<string, unknown> | null;
    let sig: Uint8Array<ArrayBuffer>;
    try {
      header = parseJson(b64urlBytes(parts[0]!));
      payload = parseJson(b64urlBytes(parts[1]!));
      sig = b64urlBytes(parts[2]!);
    } catch {
      return bad;
    }
    if (!header || !payload) return bad;
    const alg = typeof header.alg === "string" ? header.alg : "";
    const spec = ALGS[alg];
    if (!spec) return bad;
    if (p.verifiedWith !== p.keys.version) {
      p.verified.clear();
      p.verifiedWith = p.keys.version;
    }
    if (!p.verified.has(found.token)) {
      const all = await p.keys.keys();
      if (all === null) return { ok: false, status: 401, message: "Jwks remote fetch is failed" };
      const keys = all.filter((k) => k.key && k.jwk.alg === alg && (typeof header.kid !== "string" || k.jwk.kid === undefined || k.jwk.kid === header.kid));
      const data = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
      let verified = false;
      for (const k of keys) {
        if (await crypto.subtle.verify(spec.verify, k.key!, sig, data)) {
          verified = true;
          break;
        }
      }
      if (!verified) return bad;
      if (p.verified.size >= p.cacheSize) p.verified.delete(p.verified.keys().next().value!);
      p.verified.set(found.token, true);
    }
    const now = Math.floor(this.#now() / 1000);
    const skew = n(p.entry, "ClockSkewSeconds") || 30;
    if (typeof payload.exp === "number" && now > payload.exp + skew) return { ok: false, status: 401, message: "Jwt is expired" };
    if (typeof payload.nbf === "number" && now + skew < payload.nbf) return { ok: false, status: 401, message: "Jwt not yet valid" };
    const issuer = s(p.entry, "Issuer");
    if (issuer !== "" && payload.iss !== issuer) return { ok: false, status: 401, message: "Jwt issuer is not configured" };
    const audiences = (p.entry.Audiences as string[] | undefined) ?? [];
    if (audiences.length > 0) {
      const aud = Array.isArray(payload.aud) ? (payload.aud as unknown[]) : [payload.aud];
      if (!aud.some((a) => typeof a === "string" && audiences.includes(a))) return { ok: false, status: 401, message: "Audiences in Jwt are not allowed" };
    }
    for (const c of r.verifyClaims) {
      const v = claimAt(payload, c.path);
      const match = Array.isArray(v) ? v.includes(c.value) : String(v) === c.value;
      if (!match) return { ok: false, status: 403, message: "RBAC: access denied" };
    }
    const fwd = o(p.entry, "Forwarding");
    const forward: [string, string][] = [];
    if (fwd && s(fwd, "HeaderName") !== "") forward.push([s(fwd, "HeaderName"), b64url(b64urlBytes(parts[1]!), fwd.PadForwardPayloadHeader === true)]);
    return { ok: true, forward, ...(found.strip ? { strip: found.strip } : {}) };
  }
}
