import { afterAll, describe, expect, test } from "bun:test";
import { index, sleep, startHarness, track } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

interface Ixn {
  ID?: string;
  Description?: string;
  SourceNS: string;
  SourceName: string;
  DestinationNS: string;
  DestinationName: string;
  SourceType: string;
  Action?: string;
  Permissions?: unknown[];
  Meta?: Record<string, string>;
  Precedence: number;
  CreatedAt?: string;
  UpdatedAt?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

async function post(body: unknown): Promise<Response> {
  return h.request("/v1/connect/intentions", { method: "POST", body: JSON.stringify(body) });
}

async function upsert(source: string, destination: string, body: unknown): Promise<Response> {
  return h.put(`/v1/connect/intentions/exact?source=${source}&destination=${destination}`, JSON.stringify(body));
}

async function errorText(res: Response, status: number): Promise<string> {
  const text = await res.text();
  expect(res.status).toBe(status);
  return text;
}

describe("by name (Consul 1.9+)", () => {
  test("PUT exact upserts a source of the destination's service-intentions entry", async () => {
    const res = await upsert("web", "db", { Action: "allow", Description: "web may read" });
    expect(res.status).toBe(200);
    expect(await res.json()).toBe(true);
    const ixn = await h.getJson<Ixn>("/v1/connect/intentions/exact?source=web&destination=db");
    expect(ixn).toEqual({
      Description: "web may read",
      SourceNS: "default",
      SourceName: "web",
      DestinationNS: "default",
      DestinationName: "db",
      SourceType: "consul",
      Action: "allow",
      Precedence: 9,
      CreateIndex: ixn.CreateIndex,
      ModifyIndex: ixn.ModifyIndex,
    });
    const entry = await h.getJson<{ Sources: { Name: string; Action: string }[] }>("/v1/config/service-intentions/db");
    expect(entry.Sources.map((s) => [s.Name, s.Action])).toEqual([["web", "allow"]]);
    // a second upsert replaces it in place
    await upsert("web", "db", { Action: "deny" });
    await upsert("*", "db", { Action: "allow" });
    const again = await h.getJson<{ Sources: { Name: string; Action: string; Precedence: number }[] }>("/v1/config/service-intentions/db");
    expect(again.Sources.map((s) => [s.Name, s.Action, s.Precedence])).toEqual([
      ["web", "deny", 9],
      ["*", "allow", 8],
    ]);
  });

  test("refusals: missing parameters, IDs, Meta on a new entry", async () => {
    expect(await errorText(await h.put("/v1/connect/intentions/exact?source=web", "{}"), 500)).toBe("required query parameter 'destination' not set");
    // an ID in the body is cleared, as Consul does: the URL names the intention
    expect((await upsert("web", "x", { ID: "abc", Action: "allow" })).status).toBe(200);
    expect((await h.getJson<Ixn>("/v1/connect/intentions/exact?source=web&destination=x")).ID).toBeUndefined();
    await h.del("/v1/connect/intentions/exact?source=web&destination=x");
    expect(await errorText(await upsert("web", "x", { Action: "allow", Meta: { a: "b" } }), 500)).toBe("Meta must not be specified");
    expect(await errorText(await upsert("web", "x", { Action: "maybe" }), 500)).toBe("Sources[0].Action must be set to 'allow' or 'deny'");
    expect(await errorText(await h.get("/v1/connect/intentions/exact?source=a/b/c/d&destination=x"), 500)).toBe(`source "a/b/c/d" is invalid: input can contain at most two '/'`);
    expect(await errorText(await h.get("/v1/connect/intentions/exact?source=nobody&destination=db"), 404)).toBe("Intention not found");
  });

  test("DELETE exact removes the source (and the entry with its last source); deleting again is fine", async () => {
    await upsert("tmp", "scratch", { Action: "allow" });
    expect((await h.get("/v1/config/service-intentions/scratch")).status).toBe(200);
    const del = await h.del("/v1/connect/intentions/exact?source=tmp&destination=scratch");
    expect(await del.json()).toBe(true);
    expect((await h.get("/v1/config/service-intentions/scratch")).status).toBe(404);
    expect((await h.del("/v1/connect/intentions/exact?source=tmp&destination=scratch")).status).toBe(200);
  });
});

describe("legacy IDs", () => {
  test("POST creates an intention with an ID; GET/PUT/DELETE by ID", async () => {
    const res = await post({ SourceName: "api", DestinationName: "cache", Action: "deny", Meta: { team: "a" } });
    expect(res.status).toBe(200);
    const { ID } = (await res.json()) as { ID: string };
    expect(ID).toMatch(/^[0-9a-f-]{36}$/);
    const ixn = await h.getJson<Ixn>(`/v1/connect/intentions/${ID}`);
    expect(ixn).toMatchObject({ ID, SourceName: "api", DestinationName: "cache", Action: "deny", Meta: { team: "a" }, Precedence: 9 });
    expect(ixn.CreatedAt).toBe(new Date(h.clock.now()).toISOString());
    const created = ixn.CreatedAt;

    h.clock.advance(60_000);
    const put = await h.put(`/v1/connect/intentions/${ID}`, JSON.stringify({ SourceName: "api", DestinationName: "cache", Action: "allow" }));
    expect(put.status).toBe(200);
    const updated = await h.getJson<Ixn>(`/v1/connect/intentions/${ID}`);
    expect(updated.Action).toBe("allow");
    expect(updated.CreatedAt).toBe(created);
    expect(updated.UpdatedAt).toBe(new Date(h.clock.now()).toISOString());
    expect(updated.Meta).toEqual({});

    expect(await errorText(await h.put(`/v1/connect/intentions/${ID}`, JSON.stringify({ SourceName: "api", DestinationName: "other", Action: "allow" })), 500)).toBe(
      "Cannot modify Destination partition/namespace/name for an intention once it exists.",
    );
    expect(await errorText(await post({ SourceName: "api", DestinationName: "cache", Action: "deny" }), 500)).toBe('Sources[1] defines "api" more than once');
    expect(await errorText(await post({ SourceName: "api", DestinationName: "cache" }), 500)).toBe("1 error occurred:\n\t* Action must be set to 'allow' or 'deny'\n\n");
    expect(await errorText(await post({ ID: "x", SourceName: "api", DestinationName: "cache", Action: "deny" }), 500)).toBe("ID must be empty when creating a new intention");

    const del = await h.request(`/v1/connect/intentions/${ID}`, { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(await errorText(await h.get(`/v1/connect/intentions/${ID}`), 404)).toBe("Intention not found");
    expect(await errorText(await h.request(`/v1/connect/intentions/${ID}`, { method: "DELETE" }), 500)).toBe(`Cannot delete non-existent intention: '${ID}'`);
    expect(await errorText(await h.get("/v1/connect/intentions/not-a-uuid"), 400)).toBe("failed config entry lookup: UUID must be 36 characters");
  });

  test("the legacy API will not edit an entry written as a config entry", async () => {
    expect(await errorText(await post({ SourceName: "api", DestinationName: "db", Action: "deny" }), 500)).toBe(
      'cannot use legacy intention API to edit intentions with a destination of "db" after editing them via a service-intentions config entry',
    );
  });
});

describe("reads", () => {
  test("list (precedence order, ?filter), match by source and destination", async () => {
    await upsert("web", "*", { Action: "deny" });
    const all = await h.getJson<Ixn[]>("/v1/connect/intentions");
    const precedences = all.map((i) => i.Precedence);
    expect([...precedences].sort((a, b) => b - a)).toEqual(precedences);
    const webOnly = await h.getJson<Ixn[]>(`/v1/connect/intentions?filter=${encodeURIComponent('SourceName == "web"')}`);
    expect(webOnly.map((i) => `${i.SourceName}->${i.DestinationName}`)).toEqual(["web->db", "web->*"]);

    const byDest = await h.getJson<Record<string, Ixn[]>>("/v1/connect/intentions/match?by=destination&name=db&name=nothing");
    expect(byDest.db!.map((i) => `${i.SourceName}->${i.DestinationName}`)).toEqual(["web->db", "*->db", "web->*"]);
    expect(byDest.nothing!.map((i) => `${i.SourceName}->${i.DestinationName}`)).toEqual(["web->*"]);
    const bySource = await h.getJson<Record<string, Ixn[]>>("/v1/connect/intentions/match?by=source&name=web");
    expect(bySource.web!.map((i) => `${i.SourceName}->${i.DestinationName}`)).toEqual(["web->db", "*->db", "web->*"]);
    expect(await errorText(await h.get("/v1/connect/intentions/match?by=sideways&name=web"), 500)).toBe("'by' parameter must be one of 'source' or 'destination'");
    expect(await errorText(await h.get("/v1/connect/intentions/match?by=source"), 500)).toBe("required query parameter 'name' not set");
  });

  test("a blocking match wakes when an intention for the name changes", async () => {
    const first = await h.get("/v1/connect/intentions/match?by=destination&name=orders");
    const parked = track(h.getJson<Record<string, Ixn[]>>(`/v1/connect/intentions/match?by=destination&name=orders&index=${index(first)}&wait=5s`));
    await sleep(30);
    expect(parked.settled).toBe(false);
    await upsert("billing", "orders", { Action: "allow" });
    const woke = await parked.promise;
    expect(woke.orders!.map((i) => i.SourceName)).toContain("billing");
  });

  test("check follows precedence, treats L7 as deny, and allows by default", async () => {
    const check = async (s: string, d: string) => (await h.getJson<{ Allowed: boolean }>(`/v1/connect/intentions/check?source=${s}&destination=${d}`)).Allowed;
    expect(await check("web", "db")).toBe(false); // exact deny beats *->db allow
    expect(await check("billing", "db")).toBe(true); // *->db allow
    expect(await check("web", "orders")).toBe(false); // web->* deny
    expect(await check("billing", "orders")).toBe(true);
    expect(await check("x", "y")).toBe(true); // no intention: allow while ACLs are off
    await h.put("/v1/config", JSON.stringify({ Kind: "service-defaults", Name: "api", Protocol: "http" }));
    expect((await upsert("web", "api", { Permissions: [{ Action: "allow", HTTP: { PathPrefix: "/" } }] })).status).toBe(200);
    expect(await check("web", "api")).toBe(false); // an L7 intention counts as deny here
  });
});

describe("POST /v1/agent/connect/authorize", () => {
  const uri = (svc: string) => `spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/${svc}`;
  const authorize = (body: unknown) => h.request("/v1/agent/connect/authorize", { method: "POST", body: JSON.stringify(body) });

  test("answers with Consul's reasons", async () => {
    const denied = await (await authorize({ Target: "db", ClientCertURI: uri("web"), ClientCertSerial: "01" })).json();
    expect(denied).toEqual({ Authorized: false, Reason: "Matched L4 intention: default/web => default/db (Precedence: 9, Action: DENY)" });
    const allowed = await (await authorize({ Target: "db", ClientCertURI: uri("billing") })).json();
    expect(allowed).toEqual({ Authorized: true, Reason: "Matched L4 intention: default/* => default/db (Precedence: 8, Action: ALLOW)" });
    const byDefault = await (await authorize({ Target: "lonely", ClientCertURI: uri("billing") })).json();
    expect(byDefault).toEqual({ Authorized: true, Reason: "Default behavior configured by ACLs" });
  });

  test("refuses bad requests with 400", async () => {
    expect(await errorText(await authorize({ ClientCertURI: uri("web") }), 400)).toBe("Target service must be specified");
    expect(await errorText(await authorize({ Target: "db", ClientCertURI: "https://example.com/x" }), 400)).toBe("ClientCertURI not a valid Connect identifier");
    expect(await errorText(await authorize({ Target: "db", ClientCertURI: "spiffe://td.consul/agent/server/dc/dc1" }), 400)).toBe("ClientCertURI not a valid Service identifier");
    expect((await authorize({ Target: 5 })).status).toBe(400);
  });
});
