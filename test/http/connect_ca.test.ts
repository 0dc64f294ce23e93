/** `/v1/connect/ca/roots` and `/v1/connect/ca/configuration` through the whole HTTP pipeline. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { type Harness, index, startHarness, track, sleep } from "./_harness.ts";
import { pemDecodeAll } from "../../src/connect/pem.ts";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.stop();
});

interface Roots {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: { ID: string; Active: boolean; RootCert: string; IntermediateCerts: string[] | null; SerialNumber: number; SigningKeyID: string }[];
}

describe("GET /v1/connect/ca/roots", () => {
  test("answers Consul's IndexedCARoots with index headers and no private material", async () => {
    const res = await h.get("/v1/connect/ca/roots");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json");
    expect(index(res)).toBeGreaterThan(0);
    const text = await res.text();
    expect(text).not.toContain("PRIVATE KEY");
    expect(text).not.toContain("SigningKey\"");
    const body = JSON.parse(text) as Roots;
    expect(Object.keys(body)).toEqual(["ActiveRootID", "TrustDomain", "Roots"]);
    expect(body.TrustDomain).toMatch(/^[0-9a-f-]{36}\.consul$/);
    expect(Object.keys(body.Roots[0]!)).toEqual([
      "ID",
      "Name",
      "SerialNumber",
      "SigningKeyID",
      "ExternalTrustDomain",
      "NotBefore",
      "NotAfter",
      "RootCert",
      "IntermediateCerts",
      "Active",
      "PrivateKeyType",
      "PrivateKeyBits",
      "CreateIndex",
      "ModifyIndex",
    ]);
    expect(body.Roots[0]!.ID).toBe(body.ActiveRootID);
    expect(body.Roots[0]!.ID).toMatch(/^([0-9a-f]{2}:){19}[0-9a-f]{2}$/);
    expect(body.Roots[0]!.SigningKeyID).toMatch(/^([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
  });

  test("?pem=true answers the roots and intermediates as one PEM chain", async () => {
    await h.put("/v1/connect/ca/configuration", { Provider: "consul", Config: { PrivateKeyBits: 384 } });
    const roots = await h.getJson<Roots>("/v1/connect/ca/roots");
    const res = await h.get("/v1/connect/ca/roots?pem=true");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/pem-certificate-chain");
    const blocks = pemDecodeAll(await res.text());
    // Two roots and the cross-signed certificate.
    expect(blocks).toHaveLength(3);
    expect(blocks.every((b) => b.type === "CERTIFICATE")).toBe(true);
    expect((await h.get("/v1/connect/ca/roots?pem=false")).headers.get("Content-Type")).toBe("application/json");
    expect(roots.Roots).toHaveLength(2);
  });

  test("a bad ?pem is a 400 with Consul's text", async () => {
    const res = await h.get("/v1/connect/ca/roots?pem=yes");
    expect(res.status).toBe(400);
    expect(await res.text()).toBe("The 'pem' query parameter must be a boolean value");
  });

  test("a blocking query wakes when the root rotates", async () => {
    const first = await h.get("/v1/connect/ca/roots");
    const idx = index(first);
    const waiting = track(h.get(`/v1/connect/ca/roots?index=${idx}&wait=5s`));
    await sleep(30);
    expect(waiting.settled).toBe(false);
    await h.put("/v1/connect/ca/configuration", { Provider: "consul", Config: { PrivateKeyBits: 384 } });
    const res = await waiting.promise;
    expect(index(res)).toBeGreaterThan(idx);
    expect(((await res.json()) as Roots).Roots).toHaveLength(2);
  });
});

describe("/v1/connect/ca/configuration", () => {
  test("GET answers the provider config Consul stores at bootstrap", async () => {
    const res = await h.get("/v1/connect/ca/configuration");
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({
      Provider: "consul",
      Config: { LeafCertTTL: "72h", IntermediateCertTTL: "8760h", RootCertTTL: "87600h" },
      State: null,
      ForceWithoutCrossSigning: false,
      CreateIndex: expect.any(Number),
      ModifyIndex: expect.any(Number),
    });
  });

  test("PUT stores a config change (200, empty body) without rotating when the key stays", async () => {
    const before = await h.getJson<Roots>("/v1/connect/ca/roots");
    const res = await h.put("/v1/connect/ca/configuration", { provider: "consul", config: { LeafCertTTL: "24h" } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
    const cfg = await h.getJson<{ Config: Record<string, unknown> }>("/v1/connect/ca/configuration");
    expect(cfg.Config).toEqual({ LeafCertTTL: "24h" });
    expect((await h.getJson<Roots>("/v1/connect/ca/roots")).ActiveRootID).toBe(before.ActiveRootID);
  });

  test("PUT with new key material rotates: old root inactive, new one cross-signed", async () => {
    const before = await h.getJson<Roots>("/v1/connect/ca/roots");
    expect((await h.put("/v1/connect/ca/configuration", { Provider: "consul", Config: { PrivateKeyType: "rsa", PrivateKeyBits: 2048 } })).status).toBe(200);
    const after = await h.getJson<Roots>("/v1/connect/ca/roots");
    expect(after.TrustDomain).toBe(before.TrustDomain);
    expect(after.ActiveRootID).not.toBe(before.ActiveRootID);
    expect(after.Roots.map((r) => [r.ID, r.Active])).toEqual([
      [before.ActiveRootID, false],
      [after.ActiveRootID, true],
    ]);
    expect(after.Roots[1]!.IntermediateCerts).toHaveLength(1);
  });

  test("bad bodies and configs get Consul's status and text", async () => {
    const bad = async (body: unknown, status: number, text: string | RegExp) => {
      const res = await h.put("/v1/connect/ca/configuration", typeof body === "string" ? body : (body as object));
      expect(res.status).toBe(status);
      const got = await res.text();
      if (typeof text === "string") expect(got).toBe(text);
      else expect(got).toMatch(text);
    };
    await bad("{", 400, /^Request decode failed: /);
    await bad({ Provider: "consul", Config: "x" }, 400, "Request decode failed: Config must be an object");
    await bad({ Provider: "consul", Config: { LeafCertTTL: "5m" } }, 500, "error configuring provider: leaf cert TTL must be greater or equal than 1h0m0s");
    await bad({ Provider: "vault", Config: {} }, 500, 'could not initialize provider: unknown CA provider "vault"');
    await bad({ Provider: "consul", Config: {}, State: { a: "b" } }, 400, "Provider State is read-only. It must be omitted or identical to the current value");
    const del = await h.request("/v1/connect/ca/configuration", { method: "DELETE" });
    expect(del.status).toBe(405);
    expect(await del.text()).toBe("method DELETE not allowed");
    // Nothing was stored by any of them.
    expect((await h.getJson<{ Config: Record<string, unknown> }>("/v1/connect/ca/configuration")).Config).toEqual({
      LeafCertTTL: "72h",
      IntermediateCertTTL: "8760h",
      RootCertTTL: "87600h",
    });
  });

  test("?dc of another datacenter has no path", async () => {
    const res = await h.get("/v1/connect/ca/roots?dc=dc9");
    expect(res.status).toBe(500);
    expect(await res.text()).toBe("No path to datacenter");
  });
});
