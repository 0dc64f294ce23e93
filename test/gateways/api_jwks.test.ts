/**
 * Remote JWKS for jwt-provider entries, as the gateway process verifies
 * tokens (JwtVerifier with the process fetcher) against a local HTTPS JWKS
 * server this test starts with its own certificate: TrustedCA makes it
 * trusted (without it the fetch fails and requests get Envoy's `Jwks remote
 * fetch is failed`); keys are cached for CacheDuration, then refreshed
 * (a rotated key verifies after the refresh); a failed refresh keeps the
 * last good keys after RetryPolicy's retries; FetchAsynchronously fetches
 * before the first request; an oversized or malformed document is refused.
 */
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { JwtVerifier } from "../../gateways/api/jwt.ts";
import { fetchJwksInProcess } from "../../gateways/api/jwks_fetch.ts";
import { tempDir } from "../e2e/_agent.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await Promise.race([c().catch(() => {}), new Promise((r) => setTimeout(r, 5_000))]);
});

const b64url = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const alg = { name: "ECDSA", namedCurve: "P-256" };

async function keyPair(kid: string): Promise<{ sign: (claims: Record<string, unknown>) => Promise<string>; jwk: Record<string, unknown> }> {
  const keys = (await crypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const pub = await crypto.subtle.exportKey("jwk", keys.publicKey);
  return {
    jwk: { kty: pub.kty, crv: pub.crv, x: pub.x, y: pub.y, kid, alg: "ES256", use: "sig" },
    async sign(claims) {
      const enc = (o: unknown) => b64url(new TextEncoder().encode(JSON.stringify(o)));
      const data = `${enc({ alg: "ES256", typ: "JWT", kid })}.${enc(claims)}`;
      const sig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, new TextEncoder().encode(data)));
      return `${data}.${b64url(sig)}`;
    },
  };
}

async function eventually(what: string, probe: () => Promise<boolean> | boolean): Promise<void> {
  const t0 = Date.now();
  while (!(await probe())) {
    if (Date.now() - t0 > 10_000) throw new Error(`${what}: not within 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("remote JWKS: trusted CA, cache, refresh, last good keys, async fetch, bad documents", async () => {
  const dir = await tempDir("apigw-jwks-");
  cleanups.push(() => dir.remove());
  const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=jwks", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir.path, "k.pem"), "-out", join(dir.path, "c.pem")], { stdio: "ignore" });
  expect(r.status).toBe(0);
  const certPem = readFileSync(join(dir.path, "c.pem"), "utf8");

  const k1 = await keyPair("k1");
  const k2 = await keyPair("k2");
  // What the JWKS server answers next, and how many requests it saw.
  let body: () => [number, string] = () => [200, JSON.stringify({ keys: [k1.jwk] })];
  let served = 0;
  const server = createServer({ cert: certPem, key: readFileSync(join(dir.path, "k.pem"), "utf8") }, (_req, res) => {
    served++;
    const [status, text] = body();
    res.writeHead(status, { "content-type": "application/json" }).end(text);
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
  cleanups.push(() => new Promise((res) => server.close(res)));
  const uri = `https://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;

  let now = Date.now();
  const verifier = new JwtVerifier(() => now, fetchJwksInProcess);
  const claims = () => ({ iss: "https://issuer.test", aud: "gw", exp: Math.floor(now / 1000) + 3600 });
  const remote = (name: string, extra: Record<string, unknown> = {}, trusted = true) => ({
    Kind: "jwt-provider",
    Name: name,
    Issuer: "https://issuer.test",
    Audiences: ["gw"],
    JSONWebKeySet: { Remote: { URI: uri, CacheDuration: "60s", ...(trusted ? { JWKSCluster: { TLSCertificates: { TrustedCA: { InlineString: certPem } } } } : {}), ...extra } },
  });
  const check = async (provider: string, token: string) => {
    const url = new URL("https://gw.test/api");
    const v = await verifier.verify(new Request(url, { headers: { authorization: `Bearer ${token}` } }), url, [{ name: provider, verifyClaims: [] }]);
    return v.ok ? "ok" : `${v.status} ${v.message}`;
  };

  verifier.setProviders([remote("trusted"), remote("untrusted", {}, false), remote("eager", { FetchAsynchronously: true }), remote("retry", { RetryPolicy: { NumRetries: 2, RetryPolicyBackOff: { BaseInterval: "10ms", MaxInterval: "20ms" } } })]);

  // FetchAsynchronously: fetched as the provider is installed, before any request.
  await eventually("eager provider fetched", () => verifier.keySet("eager")!.fetches === 1 && served >= 1);
  expect(verifier.keySet("trusted")!.fetches).toBe(0);

  // Fetched at the first request over TLS with the TrustedCA; cached for the next ones.
  expect(await check("trusted", await k1.sign(claims()))).toBe("ok");
  expect(await check("trusted", await k1.sign({ ...claims(), sub: "other" }))).toBe("ok");
  expect(verifier.keySet("trusted")!.fetches).toBe(1);
  expect(await check("trusted", await k2.sign(claims()))).toBe("401 Jwt verification fails");

  // Without the TrustedCA the server's certificate is not trusted: no keys, Envoy's refusal.
  expect(await check("untrusted", await k1.sign(claims()))).toBe("401 Jwks remote fetch is failed");
  expect(verifier.keySet("untrusted")!.lastError).not.toBe("");

  // Past CacheDuration the keys are fetched again: a rotated key verifies once the refresh is in.
  body = () => [200, JSON.stringify({ keys: [k2.jwk] })];
  now += 61_000;
  const rotated = await k2.sign(claims());
  await eventually("rotated key accepted", async () => (await check("trusted", rotated)) === "ok");
  expect(verifier.keySet("trusted")!.fetches).toBe(2);
  // The old key is gone with the refresh, even for a token verified before.
  expect(await check("trusted", await k1.sign(claims()))).toBe("401 Jwt verification fails");

  // A failed refresh (after its retries) keeps the last good keys.
  body = () => [200, JSON.stringify({ keys: [k1.jwk] })];
  expect(await check("retry", await k1.sign(claims()))).toBe("ok");
  const before = served;
  body = () => [503, "down"];
  now += 61_000;
  const stale = await k1.sign(claims());
  expect(await check("retry", stale)).toBe("ok");
  await eventually("three attempts", () => served - before === 3);
  expect(await check("retry", await k1.sign({ ...claims(), sub: "x" }))).toBe("ok");

  // Bad documents: too large, not a key set: refused, nothing cached.
  body = () => [200, JSON.stringify({ keys: [k1.jwk], pad: "x".repeat(2 * 1024 * 1024) })];
  verifier.setProviders([remote("huge")]);
  expect(await check("huge", await k1.sign(claims()))).toBe("401 Jwks remote fetch is failed");
  body = () => [200, "{not json"];
  verifier.setProviders([remote("garbled")]);
  expect(await check("garbled", await k1.sign(claims()))).toBe("401 Jwks remote fetch is failed");
  body = () => [200, JSON.stringify({ keys: "none" })];
  verifier.setProviders([remote("nokeys")]);
  expect(await check("nokeys", await k1.sign(claims()))).toBe("401 Jwks remote fetch is failed");
}, 30_000);
