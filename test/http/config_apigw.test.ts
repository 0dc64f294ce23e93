/**
 * The API gateway config entries through /v1/config: Consul's fields and
 * validation for api-gateway, http-route, tcp-route, inline-certificate,
 * file-system-certificate and jwt-provider, and the controller's
 * Status.Conditions (Accepted, Bound, ResolvedRefs with Consul's reasons).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { startHarness } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

const write = (body: unknown) => h.put("/v1/config", JSON.stringify(body));
const read = async (kind: string, name: string) => (await (await h.get(`/v1/config/${kind}/${name}`)).json()) as Record<string, unknown>;
type Cond = { Type: string; Status: string; Reason: string; Message: string; Resource: { Kind: string; Name: string; SectionName: string }; LastTransitionTime: string };
const conditions = async (kind: string, name: string): Promise<Cond[]> => {
  await h.server.gatewayController.idle();
  return ((await read(kind, name)).Status as { Conditions: Cond[] }).Conditions;
};
const find = (cs: Cond[], type: string, section = "") => cs.find((c) => c.Type === type && (section === "" || c.Resource.SectionName === section));

async function refused(body: unknown, text: string): Promise<void> {
  const res = await write(body);
  expect(await res.text()).toContain(text);
  expect(res.status).toBeGreaterThanOrEqual(400);
}

const CERT = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ==\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----\n";
const JWKS = btoa(JSON.stringify({ keys: [] }));

describe("API gateway config entries", () => {
  test("validation refuses what Consul refuses, with its messages", async () => {
    await refused({ Kind: "api-gateway", Name: "gw", Listeners: [{ Name: "a", Port: 80, Protocol: "udp" }] }, `unsupported listener protocol "udp"`);
    await refused({ Kind: "api-gateway", Name: "gw", Listeners: [{ Name: "a", Port: 80, Protocol: "http" }, { Name: "a", Port: 81, Protocol: "http" }] }, "found multiple listeners with the name a");
    await refused({ Kind: "api-gateway", Name: "gw", Listeners: [{ Name: "a", Port: 70000, Protocol: "http" }] }, "listener port 70000 not in the range 1-65535");
    await refused({ Kind: "api-gateway", Name: "gw", Listeners: [{ Name: "a", Port: 80, Protocol: "http", TLS: { MinVersion: "TLSv9" } }] }, `unsupported TLS version "TLSv9"`);
    await refused(
      { Kind: "api-gateway", Name: "gw", Listeners: [{ Name: "a", Port: 80, Protocol: "http", TLS: { Certificates: [{ Kind: "service-defaults", Name: "x" }] } }] },
      "unsupported certificate kind",
    );
    await refused({ Kind: "http-route", Name: "r", Parents: [{ Kind: "service-defaults", Name: "gw" }] }, `unsupported parent kind: "service-defaults", must be 'api-gateway'`);
    await refused({ Kind: "http-route", Name: "r", Parents: [{ Name: "gw" }, { Name: "gw" }] }, "route parents must be unique");
    await refused({ Kind: "http-route", Name: "r", Rules: [{ Matches: [{ Path: { Match: "prefix", Value: "api" } }] }] }, `Rule[0], Match[0], Path, prefix type match doesn't start with '/': "api"`);
    await refused({ Kind: "http-route", Name: "r", Rules: [{ Matches: [{ Method: "FETCH" }] }] }, `Rule[0], Match[0], Method contains an invalid method "FETCH"`);
    await refused({ Kind: "http-route", Name: "r", Rules: [{ Matches: [{ Headers: [{ Match: "glob", Name: "x" }] }] }] }, "Rule[0], Match[0], Headers[0], match type should be one of present, exact, prefix, suffix, or regex");
    await refused({ Kind: "http-route", Name: "r", Hostnames: ["*.example.com"] }, `host "*.example.com" must not be a wildcard`);
    await refused({ Kind: "tcp-route", Name: "t", Services: [{ Name: "a" }, { Name: "b" }] }, "tcp-route currently only supports one service");
    await refused({ Kind: "inline-certificate", Name: "c", Certificate: "nope", PrivateKey: KEY }, "failed to parse certificate PEM");
    await refused({ Kind: "jwt-provider", Name: "j" }, "JSONWebKeySet is required");
    await refused({ Kind: "jwt-provider", Name: "j", JSONWebKeySet: { Local: { JWKS: "***" } } }, "JWKS must be valid base64 encoded string");
    await refused({ Kind: "jwt-provider", Name: "j", JSONWebKeySet: { Local: { JWKS }, Remote: { URI: "https://x" } } }, "must specify exactly one of Local or Remote JSON Web key set");
    await refused({ Kind: "jwt-provider", Name: "j", JSONWebKeySet: { Remote: {} } }, "Remote JWKS URI is required");
    await refused({ Kind: "jwt-provider", Name: "j", JSONWebKeySet: { Local: { JWKS } }, Locations: [{ Header: { Name: "a" }, Cookie: { Name: "b" } }] }, "must set exactly one of: JWT location header, query param or cookie");
    await refused({ Kind: "jwt-provider", Name: "j", JSONWebKeySet: { Local: { JWKS } }, Forwarding: {} }, "Header name required for forwarding config");
    for (const kind of ["api-gateway", "http-route", "tcp-route", "inline-certificate", "jwt-provider"]) expect((await h.get(`/v1/config/${kind}`)).status).toBe(200);
    expect(await (await h.get("/v1/config/http-route")).json()).toEqual([]);
  });

  test("entries round-trip with Consul's field names and defaults", async () => {
    expect((await write({ Kind: "jwt-provider", Name: "okta", Issuer: "https://issuer", json_web_key_set: { local: { jwks: JWKS } }, Forwarding: { HeaderName: "x-jwt" } })).status).toBe(200);
    const jp = await read("jwt-provider", "okta");
    expect(jp).toMatchObject({ Kind: "jwt-provider", Name: "okta", Issuer: "https://issuer", JSONWebKeySet: { Local: { JWKS } }, ClockSkewSeconds: 30, Forwarding: { HeaderName: "x-jwt", PadForwardPayloadHeader: false } });
    expect((await write({ Kind: "file-system-certificate", Name: "fs", Certificate: "/etc/cert.pem", PrivateKey: "/etc/key.pem" })).status).toBe(200);
    expect(await read("file-system-certificate", "fs")).toMatchObject({ Certificate: "/etc/cert.pem", PrivateKey: "/etc/key.pem" });
    const route = {
      Kind: "http-route",
      Name: "shape",
      Rules: [
        {
          Matches: [{ Path: { Match: "prefix", Value: "/api" }, Method: "get", Headers: [{ Match: "exact", Name: "x-v", Value: "1" }] }],
          Filters: { Headers: [{ Set: { "x-gw": "1" } }], URLRewrite: { Path: "/" }, RetryFilter: { NumRetries: 2, RetryOn: ["5xx"] }, TimeoutFilter: { RequestTimeout: "3s" }, JWT: { Providers: [{ Name: "okta", VerifyClaims: [{ Path: ["role"], Value: "admin" }] }] } },
          Services: [{ Name: "api", Weight: 0 }],
        },
        { Services: [{ Name: "web" }] },
      ],
    };
    expect((await write(route)).status).toBe(200);
    const got = await read("http-route", "shape");
    const rules = got.Rules as { Matches: { Method: string; Path: unknown }[]; Services: { Weight: number }[]; Filters: { TimeoutFilter: { RequestTimeout: number } } }[];
    expect(rules[0]!.Matches[0]!.Method).toBe("GET");
    expect(rules[0]!.Services[0]!.Weight).toBe(1);
    expect(rules[0]!.Filters.TimeoutFilter.RequestTimeout).toBe(3e9);
    // Go writes a nil slice as null.
    expect(got.Parents).toBeNull();
  });

  test("the controller reports a route bound to a missing gateway or listener, and fixing it clears it", async () => {
    await write({ Kind: "service-defaults", Name: "api", Protocol: "http" });
    await write({ Kind: "service-defaults", Name: "web", Protocol: "http" });
    expect((await write({ Kind: "http-route", Name: "r1", Parents: [{ Name: "gw1", SectionName: "https" }], Rules: [{ Services: [{ Name: "api" }] }] })).status).toBe(200);
    let cs = await conditions("http-route", "r1");
    expect(find(cs, "Accepted")).toMatchObject({ Status: "True", Reason: "Accepted", Message: "route is valid" });
    expect(find(cs, "Bound")).toMatchObject({ Status: "False", Reason: "GatewayNotFound", Message: "gateway was not found", Resource: { Kind: "api-gateway", Name: "gw1", SectionName: "https" } });
    expect(find(cs, "Bound")!.LastTransitionTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    // The gateway exists but its certificate does not, and the listener is named differently.
    await write({ Kind: "api-gateway", Name: "gw1", Listeners: [{ Name: "http", Port: 8080, Protocol: "http", TLS: { Certificates: [{ Kind: "inline-certificate", Name: "cert" }] } }] });
    let gw = await conditions("api-gateway", "gw1");
    expect(find(gw, "Accepted")).toMatchObject({ Status: "False", Reason: "InvalidCertificates", Message: "gateway references invalid certificates" });
    expect(find(gw, "ResolvedRefs", "http")).toMatchObject({ Status: "False", Reason: "InvalidCertificateRef", Message: `certificate "cert" not found` });
    cs = await conditions("http-route", "r1");
    expect(find(cs, "Bound")).toMatchObject({ Status: "False", Reason: "FailedToBind", Message: "failed to bind route r1 to gateway gw1 with listener 'https'" });

    await write({ Kind: "inline-certificate", Name: "cert", Certificate: CERT, PrivateKey: KEY });
    gw = await conditions("api-gateway", "gw1");
    expect(find(gw, "Accepted")).toMatchObject({ Status: "True", Reason: "Accepted", Message: "gateway is valid" });
    expect(find(gw, "ResolvedRefs", "http")).toMatchObject({ Status: "True", Reason: "ResolvedRefs" });
    expect(find(gw, "Conflicted", "http")).toMatchObject({ Status: "False", Reason: "NoConflict" });
    expect(find(await conditions("http-route", "r1"), "Bound")!.Reason).toBe("FailedToBind");

    // Fixing the listener name binds the route.
    await write({ Kind: "http-route", Name: "r1", Parents: [{ Name: "gw1", SectionName: "http" }], Rules: [{ Services: [{ Name: "api" }] }] });
    cs = await conditions("http-route", "r1");
    expect(find(cs, "Bound")).toMatchObject({ Status: "True", Reason: "Bound", Message: "successfully bound route", Resource: { Name: "gw1", SectionName: "http" } });

    // A user's write cannot set the status: the controller's stays.
    const before = await read("http-route", "r1");
    await write({ ...before, Status: { Conditions: [{ Type: "Bound", Status: "False", Reason: "Forged", Message: "x" }] }, CreateIndex: undefined, ModifyIndex: undefined });
    expect(find(await conditions("http-route", "r1"), "Bound")!.Reason).toBe("Bound");

    // Deleting the gateway turns the route back to GatewayNotFound; a tcp listener refuses an http route by name.
    await h.request("/v1/config/api-gateway/gw1", { method: "DELETE" });
    expect(find(await conditions("http-route", "r1"), "Bound")!.Reason).toBe("GatewayNotFound");
    await write({ Kind: "api-gateway", Name: "gw1", Listeners: [{ Name: "http", Port: 8080, Protocol: "tcp" }] });
    expect(find(await conditions("http-route", "r1"), "Bound")!.Message).toBe("failed to bind route r1 to gateway gw1: listener http is not a http listener");
  });

  test("route Accepted reflects its services' protocols and missing JWT providers", async () => {
    await write({ Kind: "api-gateway", Name: "gw2", Listeners: [{ Name: "l", Port: 9090, Protocol: "http", Default: { JWT: { Providers: [{ Name: "missing" }] } } }] });
    const gw = await conditions("api-gateway", "gw2");
    expect(find(gw, "Accepted")).toMatchObject({ Status: "False", Reason: "InvalidJWTProviders" });
    expect(find(gw, "ResolvedRefs", "l")).toMatchObject({ Status: "False", Reason: "InvalidJWTProviderRef" });
    await write({ Kind: "http-route", Name: "tcp-svc", Parents: [{ Name: "gw2" }], Rules: [{ Services: [{ Name: "plain-tcp" }] }] });
    expect(find(await conditions("http-route", "tcp-svc"), "Accepted")).toMatchObject({ Status: "False", Reason: "InvalidDiscoveryChain" });
    await write({ Kind: "http-route", Name: "none", Parents: [{ Name: "gw2" }], Rules: [] });
    expect(find(await conditions("http-route", "none"), "Accepted")).toMatchObject({ Status: "False", Reason: "NoUpstreamServicesTargeted", Message: "route must target at least one upstream service" });
    await write({ Kind: "jwt-provider", Name: "missing", JSONWebKeySet: { Local: { JWKS } } });
    expect(find(await conditions("api-gateway", "gw2"), "Accepted")!.Status).toBe("True");
  });
});
