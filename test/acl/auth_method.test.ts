/**
 * Auth methods (jwt), binding rules, login and logout over /v1/acl/*, with
 * JWTs signed by keys made here: static PEM keys and a JWKS served locally.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type AclHarness, ROOT, startAclHarness } from "./_acl_harness.ts";

const enc = (v: unknown): string => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

async function signJwt(key: CryptoKey, alg: "ES256" | "RS256", claims: Record<string, unknown>, kid?: string): Promise<string> {
  const head = enc({ alg, typ: "JWT", ...(kid ? { kid } : {}) });
  const body = enc(claims);
  const params = alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "RSASSA-PKCS1-v1_5" };
  const sig = new Uint8Array(await crypto.subtle.sign(params, key, new TextEncoder().encode(`${head}.${body}`)));
  return `${head}.${body}.${Buffer.from(sig).toString("base64url")}`;
}

async function pemOf(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey("spki", key)).toString("base64");
  return `-----BEGIN PUBLIC KEY-----\n${der.match(/.{1,64}/g)!.join("\n")}\n-----END PUBLIC KEY-----\n`;
}

describe("auth methods, binding rules, login and logout", () => {
  let h: AclHarness;
  let es: CryptoKeyPair;
  let other: CryptoKeyPair;
  let rsa: CryptoKeyPair;
  let jwks: HttpServer;
  let jwksUrl = "";
  const now = () => Math.floor(h.clock.now() / 1000);
  const claims = (extra: Record<string, unknown> = {}) => ({
    iss: "https://issuer.test",
    aud: ["consul"],
    sub: "Web",
    iat: now(),
    exp: now() + 300,
    k8s: { ns: "default" },
    groups: ["dev", "admins"],
    ...extra,
  });

  beforeAll(async () => {
    h = await startAclHarness();
    es = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    other = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    rsa = (await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const jwk = { ...(await crypto.subtle.exportKey("jwk", rsa.publicKey)), kid: "k1", use: "sig" };
    jwks = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, "127.0.0.1", r));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`;
  });
  afterAll(async () => {
    await h.stop();
    await new Promise((r) => jwks.close(r));
  });

  test("auth method config is checked with Consul's texts", async () => {
    const bad = async (body: unknown, text: string | RegExp) => {
      const res = await h.req("PUT", "/v1/acl/auth-method", { token: ROOT, body });
      expect(res.status).toBe(400);
      const got = await res.text();
      if (typeof text === "string") expect(got).toBe(text);
      else expect(got).toMatch(text);
    };
    await bad({ Type: "jwt" }, "Invalid Auth Method: no Name is set");
    await bad({ Name: "x y", Type: "jwt" }, "Invalid Auth Method: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
    await bad({ Name: "m", Type: "ldap" }, "Invalid Auth Method: Type should be one of: [jwt]");
    await bad({ Name: "m", Type: "jwt", Config: {} }, `Invalid Auth Method: exactly one of 'JWTValidationPubKeys', 'JWKSURL', or 'OIDCDiscoveryURL' must be set for type "jwt"`);
    await bad({ Name: "m", Type: "jwt", Config: { JWTValidationPubKeys: ["nope"] } }, /^Invalid Auth Method: error parsing public key JWTValidationPubKeys\[0\]: data does not contain any valid RSA, ECDSA, or ED25519 public keys$/);
    await bad({ Name: "m", Type: "jwt", MaxTokenTTL: "10s", Config: { JWKSURL: jwksUrl } }, "MaxTokenTTL 10s cannot be less than 1m0s");
    await bad({ Name: "m", Type: "jwt", Config: { JWKSURL: jwksUrl, ClaimMappings: { a: "x", b: "x" } } }, 'Invalid Auth Method: ClaimMappings contains multiple mappings for key "x"');
    const anon = await h.req("PUT", "/v1/acl/auth-method", { body: { Name: "m", Type: "jwt", Config: { JWKSURL: jwksUrl } } });
    expect(anon.status).toBe(403);
  });

  test("login with a static key: claims mapped, rules selected, names interpolated; the token works and logs out", async () => {
    const m = await h.json("PUT", "/v1/acl/auth-method", {
      token: ROOT,
      body: {
        Name: "jwt-static",
        Type: "jwt",
        Description: "static keys",
        MaxTokenTTL: "10m",
        Config: {
          JWTValidationPubKeys: [await pemOf(es.publicKey)],
          BoundIssuer: "https://issuer.test",
          BoundAudiences: ["consul"],
          ClaimMappings: { sub: "name", "/k8s/ns": "namespace" },
          ListClaimMappings: { groups: "groups" },
        },
      },
    });
    expect(m).toMatchObject({ Name: "jwt-static", Type: "jwt", MaxTokenTTL: "10m0s" });
    expect(m.TokenLocality).toBeUndefined();
    const stubs = await h.json("GET", "/v1/acl/auth-methods", { token: ROOT });
    expect(stubs.find((x: { Name: string }) => x.Name === "jwt-static").Config).toBeUndefined();
    expect((await h.json("GET", "/v1/acl/auth-method/jwt-static", { token: ROOT })).Config.BoundIssuer).toBe("https://issuer.test");

    const p = await h.json("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "kv-app", Rules: 'key_prefix "app/" { policy = "write" }' } });
    const role = await h.json("PUT", "/v1/acl/role", { token: ROOT, body: { Name: "ops", Policies: [{ ID: p.ID }] } });
    const rule = (body: Record<string, unknown>) => h.req("PUT", "/v1/acl/binding-rule", { token: ROOT, body: { AuthMethod: "jwt-static", ...body } });
    const svc = await (await rule({ Selector: "value.namespace == default", BindType: "service", BindName: "${value.name}-svc" })).json();
    expect(svc).toMatchObject({ AuthMethod: "jwt-static", BindType: "service", BindName: "${value.name}-svc" });
    expect((await rule({ Selector: '"admins" in list.groups', BindType: "role", BindName: "ops" })).status).toBe(200);
    expect((await rule({ Selector: "value.namespace == prod", BindType: "policy", BindName: "kv-app" })).status).toBe(200);
    expect((await rule({ BindType: "node", BindName: "node-${value.name}" })).status).toBe(200);
    // Bad rules are refused.
    const badSel = await rule({ Selector: "value.namespace ==", BindType: "service", BindName: "x" });
    expect(badSel.status).toBe(400);
    expect(await badSel.text()).toMatch(/^invalid Binding Rule: Selector is invalid: /);
    const badVar = await rule({ BindType: "service", BindName: "${value.nope}" });
    expect(await badVar.text()).toBe('Invalid Binding Rule: invalid BindName: failed to validate bindType "service": error interpreting template: unknown variable accessed: value.nope');
    expect(await (await rule({ BindType: "group", BindName: "x" })).text()).toBe('Invalid Binding Rule: unknown BindType "group"');
    expect((await h.json("GET", "/v1/acl/binding-rules?authmethod=jwt-static", { token: ROOT })).length).toBe(4);
    expect((await h.json("GET", `/v1/acl/binding-rule/${svc.ID}`, { token: ROOT })).Selector).toBe("value.namespace == default");

    const bearer = await signJwt(es.privateKey, "ES256", claims());
    const tok = await h.json("POST", "/v1/acl/login", { body: { AuthMethod: "jwt-static", BearerToken: bearer, Meta: { pod: "web-1" } } });
    expect(tok).toMatchObject({
      AuthMethod: "jwt-static",
      Local: true,
      Description: 'token created via login: {"pod":"web-1"}',
      ServiceIdentities: [{ ServiceName: "web-svc" }],
      NodeIdentities: [{ NodeName: "node-web", Datacenter: "dc1" }],
      Roles: [{ ID: role.ID, Name: "ops" }],
      Policies: [],
    });
    const ttl = Date.parse(tok.ExpirationTime) - h.clock.now();
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThanOrEqual(600_000);
    expect((await h.req("PUT", "/v1/kv/app/from-login", { token: tok.SecretID, body: "x" })).status).toBe(200);
    expect((await h.req("PUT", "/v1/kv/other/x", { token: tok.SecretID, body: "x" })).status).toBe(403);
    expect((await h.json("GET", "/v1/acl/tokens?authmethod=jwt-static", { token: ROOT })).map((t: { AccessorID: string }) => t.AccessorID)).toEqual([tok.AccessorID]);

    // Logout: only login's tokens, and only with one.
    const notLogin = await h.req("POST", "/v1/acl/logout", { token: ROOT });
    expect(notLogin.status).toBe(403);
    expect(await notLogin.text()).toBe("Permission denied");
    const none = await h.req("POST", "/v1/acl/logout");
    expect(none.status).toBe(403);
    expect(await none.text()).toBe("ACL not found");
    expect((await h.req("POST", "/v1/acl/logout", { token: tok.SecretID })).status).toBe(200);
    expect((await h.req("GET", "/v1/acl/token/self", { token: tok.SecretID })).status).toBe(403);

    // A selector matching nothing useful: the prod policy rule, with a namespace the other rules skip and no groups.
    const prod = await h.json("POST", "/v1/acl/login", { body: { AuthMethod: "jwt-static", BearerToken: await signJwt(es.privateKey, "ES256", claims({ k8s: { ns: "prod" }, groups: [] })) } });
    expect(prod.Policies).toEqual([{ ID: p.ID, Name: "kv-app" }]);
    expect(prod.ServiceIdentities).toEqual([]);
    expect(prod.Description).toBe("token created via login");
  });

  test("login refuses bad tokens: signature, issuer, audience, expiry, no matching rule, unknown method, garbage", async () => {
    const login = (bearer: string, method = "jwt-static") => h.req("POST", "/v1/acl/login", { body: { AuthMethod: method, BearerToken: bearer } });
    const refused = async (bearer: string, status: number, text: string | RegExp) => {
      const res = await login(bearer);
      expect(res.status).toBe(status);
      const got = await res.text();
      if (typeof text === "string") expect(got).toBe(text);
      else expect(got).toMatch(text);
    };
    await refused(await signJwt(other.privateKey, "ES256", claims()), 400, "no known key successfully validated the token signature");
    await refused(await signJwt(es.privateKey, "ES256", claims({ iss: "https://evil.test" })), 400, "error validating claims: go-jose/go-jose/jwt: validation failed, invalid issuer claim (iss)");
    await refused(await signJwt(es.privateKey, "ES256", claims({ aud: ["other"] })), 400, "error validating claims: aud claim does not match any bound audience");
    await refused(await signJwt(es.privateKey, "ES256", claims({ iat: now() - 4000, exp: now() - 3000 })), 400, "error validating claims: go-jose/go-jose/jwt: validation failed, token is expired (exp)");
    await refused(await signJwt(es.privateKey, "ES256", claims({ iat: undefined, exp: undefined })), 400, "no issue time, notbefore, or expiration time encoded in token");
    // Valid, but with a namespace and groups no rule but the catch-all node rule selects... delete that rule first.
    const rules = await h.json("GET", "/v1/acl/binding-rules?authmethod=jwt-static", { token: ROOT });
    const nodeRule = rules.find((r: { BindType: string }) => r.BindType === "node");
    await h.json("DELETE", `/v1/acl/binding-rule/${nodeRule.ID}`, { token: ROOT });
    await refused(await signJwt(es.privateKey, "ES256", claims({ k8s: { ns: "staging" }, groups: [] })), 403, "Permission denied");
    const unknown = await login("x.y.z", "nope");
    expect(unknown.status).toBe(403);
    expect(await unknown.text()).toBe('ACL not found: auth method "nope" not found');
    await refused("not-a-jwt", 400, /^error parsing token: /);
    await refused("a.b.c", 400, /^error parsing token: /);
    await refused("", 400, "missing jwt");
    await refused("x".repeat(70_000), 400, "error parsing token: token too large");
    const notObj = await h.req("POST", "/v1/acl/login", { body: "[1,2]" });
    expect(notObj.status).toBe(400);
    const badMeta = await h.req("POST", "/v1/acl/login", { body: { AuthMethod: "jwt-static", BearerToken: "x", Meta: { a: 1 } } });
    expect(badMeta.status).toBe(400);
  });

  test("JWKS: keys fetched from JWKSURL, matched by kid; deleting the method deletes its rules and tokens", async () => {
    await h.json("PUT", "/v1/acl/auth-method", { token: ROOT, body: { Name: "jwt-jwks", Type: "jwt", Config: { JWKSURL: jwksUrl, BoundAudiences: ["consul"], ClaimMappings: { sub: "name" } } } });
    await h.json("PUT", "/v1/acl/binding-rule", { token: ROOT, body: { AuthMethod: "jwt-jwks", BindType: "service", BindName: "${value.name}" } });
    const tok = await h.json("POST", "/v1/acl/login", { body: { AuthMethod: "jwt-jwks", BearerToken: await signJwt(rsa.privateKey, "RS256", { aud: "consul", sub: "api", exp: now() + 60 }, "k1") } });
    expect(tok.ServiceIdentities).toEqual([{ ServiceName: "api" }]);
    expect(tok.ExpirationTime).toBeUndefined();
    const wrongKid = await h.req("POST", "/v1/acl/login", { body: { AuthMethod: "jwt-jwks", BearerToken: await signJwt(rsa.privateKey, "RS256", { aud: "consul", sub: "api", exp: now() + 60 }, "k2") } });
    expect(wrongKid.status).toBe(400);
    expect(await wrongKid.text()).toBe("error verifying token: failed to verify id token signature");

    expect(await h.json("DELETE", "/v1/acl/auth-method/jwt-jwks", { token: ROOT })).toBe(true);
    expect((await h.req("GET", "/v1/acl/auth-method/jwt-jwks", { token: ROOT })).status).toBe(404);
    expect(await h.json("GET", "/v1/acl/binding-rules?authmethod=jwt-jwks", { token: ROOT })).toEqual([]);
    expect((await h.req("GET", "/v1/acl/token/self", { token: tok.SecretID })).status).toBe(403);
  });
});
