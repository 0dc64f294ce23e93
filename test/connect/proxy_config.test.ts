/** Sidecar configuration from a proxy registration and from Consul's flags, and -log-json lines. */
import { expect, test } from "bun:test";
import { configFromRegistration, parseHostPort, parseUpstreamFlag, SidecarConfigError } from "../../gateways/sidecar/mod.ts";
import { hclogJson } from "../../src/cli/connect/proxy.ts";

test("a connect-proxy registration becomes listeners: the catalog's address, the local app, upstreams on loopback", () => {
  const cfg = configFromRegistration(
    {
      ID: "web-sidecar-proxy",
      Service: "web-sidecar-proxy",
      Kind: "connect-proxy",
      Address: "",
      Port: 21000,
      Proxy: {
        DestinationServiceName: "web",
        LocalServiceAddress: "127.0.0.1",
        LocalServicePort: 8080,
        Config: { protocol: "http" },
        MeshGateway: { Mode: "local" },
        Upstreams: [
          { DestinationType: "service", DestinationName: "db", LocalBindPort: 9191 },
          { DestinationType: "prepared_query", DestinationName: "q", LocalBindPort: 9192 },
          { DestinationName: "cache", Datacenter: "dc2", LocalBindAddress: "127.0.0.2", LocalBindPort: 9193, MeshGateway: { mode: "Remote" } },
        ],
      },
    },
    "10.0.0.5",
  );
  expect(cfg).toEqual({
    service: "web",
    public: { bindAddress: "10.0.0.5", bindPort: 21000, localAddress: "127.0.0.1", localPort: 8080 },
    upstreams: [
      { destinationName: "db", destinationNamespace: "", datacenter: "", bindAddress: "127.0.0.1", bindPort: 9191, meshGatewayMode: "" },
      { destinationName: "cache", destinationNamespace: "", datacenter: "dc2", bindAddress: "127.0.0.2", bindPort: 9193, meshGatewayMode: "remote" },
    ],
    protocol: "http",
    meshGatewayMode: "local",
  });
  expect(() => configFromRegistration({ ID: "x", Service: "x", Address: "", Port: 1 }, "")).toThrow(SidecarConfigError);
  expect(() => configFromRegistration({ ID: "p", Service: "p", Kind: "connect-proxy", Address: "", Port: 1, Proxy: {} }, "")).toThrow("has no Proxy.DestinationServiceName");
});

test("-upstream and -listen take Consul's forms", () => {
  expect(parseUpstreamFlag("db:8181")).toMatchObject({ destinationName: "db", bindAddress: "127.0.0.1", bindPort: 8181 });
  expect(parseUpstreamFlag("db:0.0.0.0:8181")).toMatchObject({ bindAddress: "0.0.0.0", bindPort: 8181 });
  expect(() => parseUpstreamFlag("db")).toThrow("name:addr");
  expect(() => parseUpstreamFlag("db:99999")).toThrow("out of range");
  expect(parseHostPort(":8443", "-listen", "")).toEqual({ host: "", port: 8443 });
  expect(parseHostPort("[::1]:8443", "-listen", "")).toEqual({ host: "::1", port: 8443 });
});

test("-log-json writes hclog's JSON fields", () => {
  expect(JSON.parse(hclogJson("2026-01-02T03:04:05.000Z [WARN] proxy: inbound: refused web: no\n"))).toEqual({
    "@level": "warn",
    "@message": "inbound: refused web: no",
    "@module": "proxy",
    "@timestamp": "2026-01-02T03:04:05.000Z",
  });
});
