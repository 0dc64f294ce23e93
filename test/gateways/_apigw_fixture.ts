/** The config entries, certificate and tokens the API gateway tests share (process and edge). */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface Fixture {
  readonly host: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly token: string;
  readonly forgedToken: string;
  readonly entries: readonly Record<string, unknown>[];
  /** The http-route after the live change (`/` adds x-route-version: 2). */
  readonly routeV2: Record<string, unknown>;
}

const b64url = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

async function sign(key: CryptoKey, kid: string, payload: Record<string, unknown>): Promise<string> {
  const enc = (o: unknown) => b64url(new TextEncoder().encode(JSON.stringify(o)));
  const data = `${enc({ alg: "ES256", typ: "JWT", kid })}.${enc(payload)}`;
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(data)));
  return `${data}.${b64url(sig)}`;
}

function route(parents: readonly string[], version: string): Record<string, unknown> {
  return {
    Kind: "http-route",
    Name: "edge",
    Parents: parents.map((Name) => ({ Kind: "api-gateway", Name })),
    Rules: [
      {
        Matches: [{ Path: { Match: "prefix", Value: "/api" } }],
        Filters: { Headers: [{ Set: { "x-gateway": "consulate" } }], URLRewrite: { Path: "/v2api" }, JWT: { Providers: [{ Name: "local" }] } },
        Services: [{ Name: "api" }],
      },
      { Matches: [{ Path: { Match: "prefix", Value: "/flaky" } }], Filters: { RetryFilter: { NumRetries: 3, RetryOn: ["5xx"] } }, Services: [{ Name: "flaky" }] },
      { Filters: { Headers: [{ Set: { "x-route-version": version } }] }, Services: [{ Name: "web" }] },
    ],
  };
}

/** `ports`: gateway name -> its https listener port; `tcpPorts`: gateway name -> a tcp listener (tcp-route to `echo`). */
export async function apigwFixture(dir: string, ports: Record<string, number>, tcpPorts: Record<string, number> = {}): Promise<Fixture> {
  const host = "gw.example.test";
  const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", `/CN=${host}`, "-addext", `subjectAltName=DNS:${host}`, "-keyout", join(dir, "gw.key"), "-out", join(dir, "gw.crt")], { stdio: "ignore" });
  if (r.status !== 0) throw new Error("openssl could not make the gateway certificate");
  const certPem = readFileSync(join(dir, "gw.crt"), "utf8");
  const keyPem = readFileSync(join(dir, "gw.key"), "utf8");
  const alg = { name: "ECDSA", namedCurve: "P-256" };
  const keys = (await crypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const other = (await crypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = await crypto.subtle.exportKey("jwk", keys.publicKey);
  const jwks = btoa(JSON.stringify({ keys: [{ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: "k1", alg: "ES256", use: "sig" }] }));
  const claims = { iss: "https://issuer.example.test", sub: "alice", aud: "consulate", exp: Math.floor(Date.now() / 1000) + 3600 };
  const names = Object.keys(ports);
  const entries: Record<string, unknown>[] = [
    ...["api", "web", "flaky"].map((Name) => ({ Kind: "service-defaults", Name, Protocol: "http" })),
    { Kind: "service-resolver", Name: "api", Subsets: { v1: { Filter: 'Service.Meta.version == "v1"' }, v2: { Filter: 'Service.Meta.version == "v2"' } } },
    { Kind: "service-splitter", Name: "api", Splits: [{ Weight: 50, ServiceSubset: "v1" }, { Weight: 50, ServiceSubset: "v2" }] },
    { Kind: "inline-certificate", Name: "gw-cert", Certificate: certPem, PrivateKey: keyPem },
    { Kind: "jwt-provider", Name: "local", Issuer: claims.iss, Audiences: ["consulate"], JSONWebKeySet: { Local: { JWKS: jwks } }, Forwarding: { HeaderName: "x-jwt-payload" } },
    ...names.map((Name) => ({
      Kind: "api-gateway",
      Name,
      Listeners: [
        { Name: "https", Port: ports[Name], Protocol: "http", TLS: { Certificates: [{ Kind: "inline-certificate", Name: "gw-cert" }] } },
        ...(tcpPorts[Name] ? [{ Name: "tcp", Port: tcpPorts[Name], Protocol: "tcp" }] : []),
      ],
    })),
    route(names, "1"),
    ...(Object.keys(tcpPorts).length > 0 ? [{ Kind: "tcp-route", Name: "echo", Parents: Object.keys(tcpPorts).map((Name) => ({ Kind: "api-gateway", Name, SectionName: "tcp" })), Services: [{ Name: "echo" }] }] : []),
  ];
  return { host, certPem, keyPem, token: await sign(keys.privateKey, "k1", claims), forgedToken: await sign(other.privateKey, "k1", claims), entries, routeV2: route(names, "2") };
}
