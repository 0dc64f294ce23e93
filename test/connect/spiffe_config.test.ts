/** SPIFFE ID forms and the CA provider configuration decoder. */
import { describe, expect, test } from "bun:test";
import { canSign, parseConsulCAConfig, parseSpiffeUri, providerId, spiffeUri, trustDomainFor } from "../../src/connect/mod.ts";

const TD = "11111111-2222-3333-4444-555555555555.consul";

describe("SPIFFE IDs", () => {
  test("service, agent, mesh gateway, server and signing forms round-trip", () => {
    const uris = [
      `spiffe://${TD}/ns/default/dc/dc1/svc/web`,
      `spiffe://${TD}/ap/team/ns/ns1/dc/dc2/svc/db`,
      `spiffe://${TD}/agent/client/dc/dc1/id/node-1`,
      `spiffe://${TD}/gateway/mesh/dc/dc1`,
      `spiffe://${TD}/agent/server/dc/dc1`,
    ];
    for (const uri of uris) expect(spiffeUri(parseSpiffeUri(uri))).toBe(uri);
    expect(parseSpiffeUri(`spiffe://${TD}/ns/default/dc/dc1/svc/web`)).toEqual({ kind: "service", host: TD, partition: "", namespace: "default", datacenter: "dc1", service: "web" });
    expect(parseSpiffeUri(`spiffe://${TD}`)).toEqual({ kind: "signing", clusterId: "11111111-2222-3333-4444-555555555555", domain: "consul" });
    expect(parseSpiffeUri(`spiffe://${TD}/ns/default/dc/dc1/svc/a%20b`)).toMatchObject({ service: "a b" });
  });

  test("bad URIs get Consul's errors", () => {
    expect(() => parseSpiffeUri("https://x.consul/ns/default/dc/dc1/svc/web")).toThrow("SPIFFE ID must have 'spiffe' scheme");
    expect(() => parseSpiffeUri(`spiffe://${TD}/ns/default/svc/web`)).toThrow("SPIFFE ID is not in the expected format");
  });

  test("a CA signs only its own trust domain, case-insensitively", () => {
    expect(trustDomainFor("ABC")).toBe("abc.consul");
    expect(canSign(TD, parseSpiffeUri(`spiffe://${TD.toUpperCase()}/ns/default/dc/dc1/svc/web`))).toBe(true);
    expect(canSign(TD, parseSpiffeUri("spiffe://other.consul/ns/default/dc/dc1/svc/web"))).toBe(false);
    expect(canSign(TD, parseSpiffeUri(`spiffe://${TD}`))).toBe(true);
  });
});

describe("CA provider configuration", () => {
  test("defaults are Consul's: leaf 72h, intermediate 1y, root 10y, EC P-256, 50 CSRs/s", () => {
    const c = parseConsulCAConfig({});
    expect(c.leafCertTtlMs).toBe(72 * 3_600_000);
    expect(c.intermediateCertTtlMs).toBe(8760 * 3_600_000);
    expect(c.rootCertTtlMs).toBe(87600 * 3_600_000);
    expect(c.key).toEqual({ type: "ec", bits: 256 });
    expect(c.csrMaxPerSecond).toBe(50);
    expect(c.csrMaxConcurrent).toBe(0);
  });

  test("keys match case-insensitively and snake_case; durations are Go strings or nanoseconds", () => {
    const c = parseConsulCAConfig({ leafcertttl: "2h", intermediate_cert_ttl: 24 * 3_600e9, PrivateKeyBits: "384", csr_max_per_second: 0, CSRMaxConcurrent: 2 });
    expect(c.leafCertTtlMs).toBe(2 * 3_600_000);
    expect(c.intermediateCertTtlMs).toBe(24 * 3_600_000);
    expect(c.key).toEqual({ type: "ec", bits: 384 });
    expect(c.csrMaxPerSecond).toBe(0);
    expect(c.csrMaxConcurrent).toBe(2);
  });

  test("invalid settings get Consul's validation texts", () => {
    expect(() => parseConsulCAConfig({ LeafCertTTL: "30m" })).toThrow("leaf cert TTL must be greater or equal than 1h0m0s");
    expect(() => parseConsulCAConfig({ LeafCertTTL: "9000h" })).toThrow("leaf cert TTL must be less than 8760h0m0s");
    expect(() => parseConsulCAConfig({ LeafCertTTL: "24h", IntermediateCertTTL: "48h" })).toThrow(
      "Intermediate Cert TTL must be greater or equal than 3 * LeafCertTTL (>=72h0m0s).",
    );
    expect(() => parseConsulCAConfig({ PrivateKeyType: "dsa" })).toThrow("private key type must be either 'ec' or 'rsa'");
    expect(() => parseConsulCAConfig({ PrivateKeyBits: 512 })).toThrow("EC key length must be one of (224, 256, 384, 521) bits");
    expect(() => parseConsulCAConfig({ PrivateKeyType: "rsa", PrivateKeyBits: 1024 })).toThrow("RSA key length must be 2048 or 4096 bits");
    expect(() => parseConsulCAConfig({ LeafCertTTL: "soon" })).toThrow(`error decoding 'LeafCertTTL': time: invalid duration "soon"`);
    expect(() => parseConsulCAConfig({ RootCert: "x" })).toThrow("must provide a private key when providing a root cert");
  });

  test("the provider identity changes with the key material only", async () => {
    const base = await providerId(parseConsulCAConfig({}));
    expect(await providerId(parseConsulCAConfig({ LeafCertTTL: "24h" }))).toBe(base);
    expect(await providerId(parseConsulCAConfig({ PrivateKeyType: "ec", PrivateKeyBits: 256 }))).toBe(base);
    expect(await providerId(parseConsulCAConfig({ PrivateKeyBits: 384 }))).not.toBe(base);
  });
});
