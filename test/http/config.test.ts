import { afterAll, describe, expect, test } from "bun:test";
import { index, sleep, startHarness, track } from "./_harness.ts";
import { configEntryGet, StateStore } from "../../src/state/mod.ts";

const h = await startHarness();
afterAll(() => h.stop());

async function write(body: unknown, query = ""): Promise<Response> {
  return h.put(`/v1/config${query}`, JSON.stringify(body));
}

async function expectError(res: Response, status: number, text: string): Promise<void> {
  expect(await res.text()).toBe(text);
  expect(res.status).toBe(status);
}

describe("PUT /v1/config", () => {
  test("accepts snake_case and any key case, and stores the entry as Consul returns it", async () => {
    const res = await write({ kind: "service-defaults", name: "web", protocol: "HTTP", mesh_gateway: { mode: "local" }, max_inbound_connections: "12" });
    expect(res.status).toBe(200);
    expect(await res.json()).toBe(true);
    const get = await h.get("/v1/config/service-defaults/web");
    expect(get.status).toBe(200);
    const entry = await get.json();
    expect(entry).toEqual({
      Kind: "service-defaults",
      Name: "web",
      Protocol: "http",
      TransparentProxy: {},
      MeshGateway: { Mode: "local" },
      Expose: {},
      MaxInboundConnections: 12,
      CreateIndex: entry.CreateIndex,
      ModifyIndex: entry.ModifyIndex,
    });
    expect(entry.CreateIndex).toBeGreaterThan(0);
    expect(index(get)).toBeGreaterThanOrEqual(entry.ModifyIndex);
  });

  test("refuses unknown fields with their path, as Consul's decoder does", async () => {
    await expectError(await write({ Kind: "service-defaults", Name: "x", Foo: 1 }), 400, 'Request decoding failed: 1 error occurred:\n\t* invalid config key "Foo"\n\n');
    await expectError(
      await write({ Kind: "service-intentions", Name: "db", Sources: [{ Name: "web", Action: "allow", Bogus: true }], Namespace: "x" }),
      400,
      'Request decoding failed: 2 errors occurred:\n\t* invalid config key "Namespace", namespaces are a consul enterprise feature\n\t* invalid config key "Sources[0].Bogus"\n\n',
    );
    // CreateIndex/ModifyIndex read back from a GET may be sent again
    expect((await write({ Kind: "service-defaults", Name: "y", CreateIndex: 5, ModifyIndex: 5 })).status).toBe(200);
  });

  test("refuses values of the wrong type, kinds it does not know, bodies without a kind", async () => {
    await expectError(
      await write({ Kind: "ingress-gateway", Name: "ig", Listeners: [{ Port: "eighty", Protocol: "tcp", Services: [{ Name: "a" }] }] }),
      400,
      `Request decoding failed: 1 error(s) decoding:\n\n* cannot parse 'Listeners[0].Port' as int: strconv.ParseInt: parsing "eighty": invalid syntax`,
    );
    await expectError(await write({ Kind: "service-defaults", Name: ["a", "b"] }), 400, "Request decoding failed: 1 error(s) decoding:\n\n* 'Name' expected type 'string', got unconvertible type '[]interface {}', value: '[a b]'");
    await expectError(await write({ Kind: "nope", Name: "x" }), 400, "Request decoding failed: invalid config entry kind: nope");
    await expectError(await write({ Name: "x" }), 400, "Request decoding failed: Payload does not contain a kind/Kind key at the top level");
    await expectError(await h.put("/v1/config", "{not json"), 400, `Request decoding failed: ${(() => {
      try {
        JSON.parse("{not json");
      } catch (e) {
        return (e as Error).message;
      }
    })()}`);
  });

  test("validates each kind with Consul's texts; nothing is stored on a refusal", async () => {
    await expectError(await write({ Kind: "proxy-defaults", Name: "other" }), 500, 'invalid name ("other"), only "global" is supported');
    await expectError(await write({ Kind: "service-defaults", Name: "" }), 500, "Name is required");
    await expectError(await write({ Kind: "service-defaults", Name: "z", Protocol: "https" }), 500, "1 error occurred:\n\t* invalid value for protocol: https\n\n");
    await expectError(
      await write({ Kind: "service-intentions", Name: "db", Sources: [{ Name: "web", Action: "allow", Permissions: [{ Action: "deny", HTTP: { PathExact: "/x" } }] }] }),
      500,
      "Sources[0].Action must be omitted if Permissions are specified",
    );
    await expectError(
      await write({ Kind: "service-intentions", Name: "db", Sources: [{ Name: "web", Action: "allow" }, { Name: "web", Action: "deny" }] }),
      500,
      'Sources[1] defines "web" more than once',
    );
    await expectError(await write({ Kind: "service-splitter", Name: "web", Splits: [{ Weight: 60 }, { Weight: 30, Service: "b" }] }), 500, "the sum of all split weights must be 100, not 90.00");
    await expectError(await write({ Kind: "exported-services", Name: "other", Services: [] }), 500, 'exported-services Name must be "default"');
    // UpstreamConfig: each override and the defaults validated as Consul's UpstreamConfig.Validate (a multierror inside the entry's).
    await expectError(
      await write({
        Kind: "service-defaults",
        Name: "upcfg",
        UpstreamConfig: {
          Overrides: [
            { Name: "db", PassiveHealthCheck: { MaxEjectionPercent: 150, BaseEjectionTime: "-1s" }, Limits: { MaxPendingRequests: -1, MaxConcurrentRequests: -2 }, BalanceOutboundConnections: "round_robin" },
            { Limits: { MaxConnections: 3 } },
            { Name: "ok", PassiveHealthCheck: { Interval: "1s", EnforcingConsecutive5xx: 100 }, ConnectTimeoutMs: 250 },
          ],
          Defaults: { Name: "x" },
        },
      }),
      500,
      "3 errors occurred:\n" +
        "\t* error in upstream override for db: 3 errors occurred:\n\t* passive health check max_ejection_percent must be a percentage between 0 and 100\n\t* max pending requests cannot be negative\n\t* invalid value for balance_outbound_connections: round_robin\n\n\n" +
        "\t* error in upstream override for : Name is required\n" +
        "\t* error in upstream defaults: Name must be empty\n\n",
    );
    await expectError(
      await write({ Kind: "service-defaults", Name: "upcfg", UpstreamConfig: { Defaults: { PassiveHealthCheck: { EnforcingConsecutive5xx: 101 } } } }),
      500,
      "1 error occurred:\n\t* error in upstream defaults: 1 error occurred:\n\t* passive health check enforcing_consecutive_5xx must be a percentage between 0 and 100\n\n\n\n",
    );
    expect((await h.get("/v1/config/service-defaults/upcfg")).status).toBe(404);
    expect((await h.get("/v1/config/service-intentions/db")).status).toBe(404);
    // proxy-defaults without a name becomes "global"
    expect((await write({ Kind: "proxy-defaults", Config: { local_connect_timeout_ms: 1000 } })).status).toBe(200);
    const pd = await h.getJson<Record<string, unknown>>("/v1/config/proxy-defaults/global");
    expect(pd.Name).toBe("global");
    expect(pd.Config).toEqual({ local_connect_timeout_ms: 1000 });
  });

  test("?cas=0 creates only when absent; ?cas=N writes only over ModifyIndex N", async () => {
    const entry = { Kind: "service-defaults", Name: "cas", Protocol: "tcp" };
    expect(await (await write(entry, "?cas=0")).json()).toBe(true);
    expect(await (await write(entry, "?cas=0")).json()).toBe(false);
    const { ModifyIndex } = await h.getJson<{ ModifyIndex: number }>("/v1/config/service-defaults/cas");
    expect(await (await write({ ...entry, Protocol: "http" }, `?cas=${ModifyIndex + 1000}`)).json()).toBe(false);
    expect(await (await write({ ...entry, Protocol: "http" }, `?cas=${ModifyIndex}`)).json()).toBe(true);
    const after = await h.getJson<{ Protocol: string; CreateIndex: number; ModifyIndex: number }>("/v1/config/service-defaults/cas");
    expect(after.Protocol).toBe("http");
    expect(after.ModifyIndex).toBeGreaterThan(ModifyIndex);
    expect(after.CreateIndex).toBeLessThan(after.ModifyIndex);
    await expectError(await write(entry, "?cas=abc"), 500, 'strconv.ParseUint: parsing "abc": invalid syntax');
  });
});

describe("GET and DELETE", () => {
  test("lists by kind (with ?filter), 404s a missing entry with Consul's text", async () => {
    await write({ Kind: "service-defaults", Name: "list-a", Protocol: "grpc" });
    const all = await h.getJson<{ Name: string }[]>("/v1/config/service-defaults");
    expect(all.map((e) => e.Name)).toContain("list-a");
    const grpc = await h.getJson<{ Name: string }[]>(`/v1/config/service-defaults?filter=${encodeURIComponent('Protocol == "grpc"')}`);
    expect(grpc.map((e) => e.Name)).toEqual(["list-a"]);
    expect((await h.get(`/v1/config/service-defaults?filter=${encodeURIComponent("Nope == 1")}`)).status).toBe(400);
    await expectError(await h.get("/v1/config/service-defaults/missing"), 404, 'Config entry not found for "service-defaults" / "missing"');
    await expectError(await h.get("/v1/config/bogus"), 400, "invalid config entry kind: bogus");
  });

  test("a list blocks until an entry of its kind changes", async () => {
    const first = await h.get("/v1/config/terminating-gateway");
    const idx = index(first);
    const parked = track(h.getJson<{ Name: string }[]>(`/v1/config/terminating-gateway?index=${idx}&wait=5s`));
    await sleep(50);
    expect(parked.settled).toBe(false);
    await write({ Kind: "service-defaults", Name: "unrelated" });
    await sleep(50);
    expect(parked.settled).toBe(false);
    await write({ Kind: "terminating-gateway", Name: "tgw", Services: [{ Name: "legacy-db" }] });
    const rows = await parked.promise;
    expect(rows.map((r) => r.Name)).toEqual(["tgw"]);
  });

  test("DELETE answers {} (or the CAS outcome) and removes the entry", async () => {
    await write({ Kind: "service-defaults", Name: "gone", Protocol: "tcp" });
    const { ModifyIndex } = await h.getJson<{ ModifyIndex: number }>("/v1/config/service-defaults/gone");
    const wrong = await h.del(`/v1/config/service-defaults/gone?cas=${ModifyIndex - 1}`);
    expect(await wrong.json()).toBe(false);
    const right = await h.del(`/v1/config/service-defaults/gone?cas=${ModifyIndex}`);
    expect(await right.json()).toBe(true);
    expect((await h.get("/v1/config/service-defaults/gone")).status).toBe(404);
    const plain = await h.del("/v1/config/service-defaults/never-there");
    expect(plain.status).toBe(200);
    expect(await plain.json()).toEqual({});
  });
});

describe("validation across entries", () => {
  test("routers need an HTTP-like protocol, and the protocol cannot be taken away from under them", async () => {
    const router = { Kind: "service-router", Name: "shop", Routes: [{ Match: { HTTP: { PathPrefix: "/api" } }, Destination: { Service: "shop" } }] };
    await expectError(await write(router), 500, 'discovery chain "shop" uses a protocol "tcp" that does not permit advanced routing or splitting behavior');
    expect((await write({ Kind: "service-defaults", Name: "shop", Protocol: "http" })).status).toBe(200);
    expect((await write(router)).status).toBe(200);
    await expectError(
      await write({ Kind: "service-defaults", Name: "shop", Protocol: "tcp" }),
      500,
      'discovery chain "shop" uses a protocol "tcp" that does not permit advanced routing or splitting behavior',
    );
    expect((await h.getJson<{ Protocol: string }>("/v1/config/service-defaults/shop")).Protocol).toBe("http");
  });

  test("L7 intentions need an HTTP-like destination; proxy-defaults can provide it", async () => {
    const l7 = { Kind: "service-intentions", Name: "api", Sources: [{ Name: "web", Permissions: [{ Action: "allow", HTTP: { PathPrefix: "/", Methods: ["get"] } }] }] };
    await expectError(await write(l7), 500, 'service "api" has protocol "tcp", which is incompatible with L7 intentions permissions');
    expect((await write({ Kind: "proxy-defaults", Name: "global", Config: { protocol: "http" } })).status).toBe(200);
    expect((await write(l7)).status).toBe(200);
    const stored = await h.getJson<{ Sources: { Permissions: { HTTP: { Methods: string[] } }[]; Precedence: number; Type: string }[] }>("/v1/config/service-intentions/api");
    expect(stored.Sources[0]!.Permissions[0]!.HTTP.Methods).toEqual(["GET"]);
    expect(stored.Sources[0]!.Precedence).toBe(9);
    expect(stored.Sources[0]!.Type).toBe("consul");
    // proxy-defaults may not drop the protocol while the L7 intention needs it
    await expectError(await write({ Kind: "proxy-defaults", Name: "global" }), 500, 'service "api" has protocol "tcp", which is incompatible with L7 intentions permissions');
    await expectError(await h.del("/v1/config/proxy-defaults/global"), 500, 'service "api" has protocol "tcp", which is incompatible with L7 intentions permissions');
  });

  test("ingress listeners must match their services' protocols; ingress and terminating gateways cannot share a name", async () => {
    await expectError(
      await write({ Kind: "ingress-gateway", Name: "edge", Listeners: [{ Port: 8080, Protocol: "tcp", Services: [{ Name: "api" }] }] }),
      500,
      'service "api" has protocol "http", which does not match defined listener protocol "tcp"',
    );
    expect((await write({ Kind: "ingress-gateway", Name: "edge", Listeners: [{ Port: 8080, Protocol: "http", Services: [{ Name: "api" }, { Name: "*" }] }] })).status).toBe(200);
    await expectError(
      await write({ Kind: "terminating-gateway", Name: "edge", Services: [{ Name: "x" }] }),
      500,
      'cannot create a "terminating-gateway" config entry with name "edge", a "ingress-gateway" config entry with that name already exists',
    );
  });

  test("permissive mTLS needs the mesh entry's consent", async () => {
    await expectError(
      await write({ Kind: "service-defaults", Name: "legacy", MutualTLSMode: "permissive" }),
      500,
      "cannot set MutualTLSMode=permissive because AllowEnablingPermissiveMutualTLS=false in the mesh config entry",
    );
    expect((await write({ Kind: "mesh", AllowEnablingPermissiveMutualTLS: true })).status).toBe(200);
    expect((await write({ Kind: "service-defaults", Name: "legacy", MutualTLSMode: "permissive" })).status).toBe(200);
    const m = await h.getJson<Record<string, unknown>>("/v1/config/mesh/mesh");
    expect(m).toMatchObject({ Kind: "mesh", TransparentProxy: { MeshDestinationsOnly: false }, AllowEnablingPermissiveMutualTLS: true });
    expect("Name" in m).toBe(false);
  });
});

test("config entries survive a snapshot and restore", async () => {
  const store = new StateStore();
  store.restore(h.server.state.snapshot());
  const row = configEntryGet(store.t, "service-defaults", "web").value;
  expect(row?.Entry.Protocol).toBe("http");
  expect(row?.CreateIndex).toBe(configEntryGet(h.server.state.t, "service-defaults", "web").value?.CreateIndex);
});
