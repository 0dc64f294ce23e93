import { afterAll, describe, expect, test } from "bun:test";
import { index, register, startHarness } from "./_harness.ts";

const UI = { enabled: true, contentPath: "/ui/", dir: "", metricsProxy: { baseUrl: "", pathAllowlist: [], addHeaders: [] }, dnsDomains: ["consul."] };

const h = await startHarness({ ui: UI });
const off = await startHarness();
afterAll(async () => {
  await h.stop();
  await off.stop();
});

// web: two instances (one critical), a sidecar with upstream api; api: one instance; an ingress and a terminating gateway.
await register(h, {
  Node: "n1",
  Address: "10.0.0.1",
  Service: { Service: "web", ID: "web-1", Port: 80, Tags: ["v2", "blue"] },
  Checks: [{ CheckID: "web-1-http", Name: "http", Status: "passing", ServiceID: "web-1" }],
});
await register(h, {
  Node: "n2",
  Address: "10.0.0.2",
  Service: { Service: "web", ID: "web-2", Port: 80, Tags: ["blue"], Meta: { "external-source": "kubernetes" } },
  Checks: [
    { CheckID: "web-2-http", Name: "http", Status: "critical", ServiceID: "web-2", Output: "connection refused" },
    { CheckID: "mem", Name: "mem", Status: "warning" },
  ],
});
await register(h, {
  Node: "n1",
  Address: "10.0.0.1",
  Service: {
    Kind: "connect-proxy",
    Service: "web-sidecar-proxy",
    ID: "web-1-sidecar",
    Port: 21000,
    Proxy: { DestinationServiceName: "web", DestinationServiceID: "web-1", Upstreams: [{ DestinationName: "api", LocalBindPort: 9191 }] },
  },
  Checks: [{ CheckID: "sidecar-alive", Name: "alive", Status: "passing", ServiceID: "web-1-sidecar" }],
});
await register(h, { Node: "n3", Address: "10.0.0.3", Service: { Service: "api", ID: "api-1", Port: 8080 } });
await register(h, { Node: "n3", Address: "10.0.0.3", Service: { Kind: "ingress-gateway", Service: "edge", ID: "edge-1", Port: 8443 } });
await h.putJson("/v1/config", { Kind: "service-defaults", Name: "web", Protocol: "http" });
await h.putJson("/v1/config", { Kind: "ingress-gateway", Name: "edge", Listeners: [{ Port: 8080, Protocol: "http", Services: [{ Name: "web" }] }] });
await h.putJson("/v1/config", { Kind: "terminating-gateway", Name: "legacy-gw", Services: [{ Name: "mainframe", SNI: "mf.example" }] });

interface Listing {
  Kind?: string;
  Name: string;
  Datacenter: string;
  Tags: string[] | null;
  Nodes: string[];
  ExternalSources: string[] | null;
  InstanceCount: number;
  ChecksPassing: number;
  ChecksWarning: number;
  ChecksCritical: number;
  GatewayConfig: { AssociatedServiceCount?: number; Addresses?: string[] };
  TransparentProxy: boolean;
  ConnectNative: boolean;
  ConnectedWithProxy: boolean;
  ConnectedWithGateway: boolean;
}

describe("/v1/internal/ui/services", () => {
  test("one summary per service with Consul's fields, health counts and mesh flags", async () => {
    const rows = await h.getJson<Listing[]>("/v1/internal/ui/services");
    expect(rows.map((r) => r.Name)).toEqual(["api", "consul", "edge", "web", "web-sidecar-proxy"]);
    const web = rows.find((r) => r.Name === "web")!;
    expect(Object.keys(web)).toEqual([
      "Name", "Datacenter", "Tags", "Nodes", "ExternalSources", "InstanceCount", "ChecksPassing", "ChecksWarning", "ChecksCritical",
      "GatewayConfig", "TransparentProxy", "ConnectNative", "ConnectedWithProxy", "ConnectedWithGateway",
    ]);
    expect(web).toMatchObject({ Datacenter: "dc1", Tags: ["blue", "v2"], Nodes: ["n1", "n2"], ExternalSources: ["kubernetes"], InstanceCount: 2 });
    // web-1 http + the sidecar's check (counted for web) pass; n2's mem warns; web-2 http is critical.
    expect([web.ChecksPassing, web.ChecksWarning, web.ChecksCritical]).toEqual([2, 1, 1]);
    expect(web.ConnectedWithProxy).toBe(true);
    // Linked by the ingress gateway `edge`, which has an instance.
    expect(web.ConnectedWithGateway).toBe(true);
    const proxy = rows.find((r) => r.Name === "web-sidecar-proxy")!;
    expect(proxy.Kind).toBe("connect-proxy");
    expect(proxy.Tags).toBeNull();
    const api = rows.find((r) => r.Name === "api")!;
    expect(api).toMatchObject({ ConnectedWithProxy: false, ConnectedWithGateway: false, ChecksPassing: 0, InstanceCount: 1 });
    const edge = rows.find((r) => r.Name === "edge")!;
    expect(edge).toMatchObject({ Kind: "ingress-gateway", GatewayConfig: { AssociatedServiceCount: 1 } });
  });

  test("a blocking read wakes when a check changes", async () => {
    const first = await h.get("/v1/internal/ui/services");
    const at = index(first);
    const waiting = h.get(`/v1/internal/ui/services?index=${at}&wait=5s`);
    await register(h, { Node: "n3", Address: "10.0.0.3", Service: { Service: "api", ID: "api-1", Port: 8080 }, Checks: [{ CheckID: "api-up", Name: "up", Status: "critical", ServiceID: "api-1" }] });
    const res = await waiting;
    expect(index(res)).toBeGreaterThan(at);
    const api = ((await res.json()) as Listing[]).find((r) => r.Name === "api")!;
    expect(api.ChecksCritical).toBe(1);
  });
});

interface NodeInfo {
  ID: string;
  Node: string;
  Address: string;
  Services: { ID: string; Service: string; Kind?: string }[];
  Checks: { CheckID: string; Status: string; Output: string }[];
}

describe("/v1/internal/ui/nodes and /node/:node", () => {
  test("every node with its services and checks", async () => {
    const nodes = await h.getJson<NodeInfo[]>("/v1/internal/ui/nodes");
    expect(nodes.map((n) => n.Node)).toEqual(["n1", "n2", "n3", "node1"]);
    const n1 = nodes[0]!;
    expect(Object.keys(n1)).toEqual(["ID", "Node", "Address", "TaggedAddresses", "Meta", "Services", "Checks"]);
    expect(n1.Services.map((s) => s.ID).sort()).toEqual(["web-1", "web-1-sidecar"]);
    expect(n1.Services.find((s) => s.ID === "web-1-sidecar")!.Kind).toBe("connect-proxy");
    expect((await h.getJson<NodeInfo[]>("/v1/internal/ui/nodes?filter=" + encodeURIComponent('Node == "n2"'))).map((n) => n.Node)).toEqual(["n2"]);
  });

  test("one node as an object; 404 for an unknown one; 400 without a name", async () => {
    const n2 = await h.getJson<NodeInfo>("/v1/internal/ui/node/n2");
    expect(n2.Node).toBe("n2");
    expect(n2.Checks.find((c) => c.CheckID === "web-2-http")).toMatchObject({ Status: "critical", Output: "connection refused" });
    expect((await h.get("/v1/internal/ui/node/nope")).status).toBe(404);
    const missing = await h.get("/v1/internal/ui/node/");
    expect(missing.status).toBe(400);
    expect(await missing.text()).toBe("Missing node name");
    expect((await h.get("/v1/internal/ui/node/%ZZ")).status).toBe(400);
    // A huge name is looked up and not found, nothing more.
    expect((await h.get(`/v1/internal/ui/node/${"a".repeat(200_000)}`)).status).toBe(404);
    expect((await h.get(`/v1/internal/ui/service-topology/${"%2e".repeat(50_000)}?kind=`)).status).toBe(200);
  });
});

interface Topology {
  Protocol: string;
  TransparentProxy: boolean;
  Upstreams: (Listing & { Source: string; Intention: { Allowed: boolean; HasExact: boolean; DefaultAllow: boolean; HasPermissions: boolean } })[];
  Downstreams: (Listing & { Source: string; Intention: { Allowed: boolean; HasExact: boolean } })[];
  FilteredByACLs: boolean;
}

describe("/v1/internal/ui/service-topology/:service", () => {
  test("upstreams from the proxy registration, downstreams, and the intention between each pair", async () => {
    const web = await h.getJson<Topology>("/v1/internal/ui/service-topology/web?kind=");
    expect(web.Protocol).toBe("http");
    expect(web.TransparentProxy).toBe(false);
    expect(web.Upstreams.map((u) => [u.Name, u.Source, u.Intention.Allowed, u.Intention.HasExact])).toEqual([["api", "proxy-registration", true, false]]);
    // The ingress gateway routes to web.
    expect(web.Downstreams.map((d) => d.Name)).toEqual(["edge"]);
    // The gateway's own view: its services are its upstreams; http since every listener is HTTP-like.
    const edge = await h.getJson<Topology>("/v1/internal/ui/service-topology/edge?kind=ingress-gateway");
    expect(edge.Upstreams.map((u) => [u.Name, u.Source])).toEqual([["web", "proxy-registration"]]);
    expect(edge.Protocol).toBe("http");

    await h.put("/v1/connect/intentions/exact?source=web&destination=api", { Action: "deny" });
    const denied = await h.getJson<Topology>("/v1/internal/ui/service-topology/web?kind=");
    expect(denied.Upstreams[0]!.Intention).toMatchObject({ Allowed: false, HasExact: true, DefaultAllow: true, HasPermissions: false });
    const api = await h.getJson<Topology>("/v1/internal/ui/service-topology/api?kind=");
    expect(api.Downstreams.map((d) => [d.Name, d.Intention.Allowed])).toEqual([["web", false]]);
    expect(api.Protocol).toBe("tcp");
  });

  test("transparent proxies get upstreams and downstreams from intentions; routing config links through discovery chains", async () => {
    // cart: a transparent sidecar without explicit upstreams; it may reach api only.
    await register(h, { Node: "n4", Address: "10.0.0.4", Service: { Service: "cart", ID: "cart-1", Port: 81 } });
    await register(h, {
      Node: "n4",
      Address: "10.0.0.4",
      Service: { Kind: "connect-proxy", Service: "cart-sidecar-proxy", ID: "cart-1-sidecar", Port: 21001, Proxy: { DestinationServiceName: "cart", DestinationServiceID: "cart-1", Mode: "transparent" } },
    });
    await h.put("/v1/connect/intentions/exact?source=cart&destination=*", { Action: "deny" });
    await h.put("/v1/connect/intentions/exact?source=cart&destination=api", { Action: "allow" });
    // shop's sidecar names "checkout", which has no instances: a resolver redirects it to api.
    await register(h, { Node: "n4", Address: "10.0.0.4", Service: { Service: "shop", ID: "shop-1", Port: 82 } });
    await register(h, {
      Node: "n4",
      Address: "10.0.0.4",
      Service: { Kind: "connect-proxy", Service: "shop-sidecar-proxy", ID: "shop-1-sidecar", Port: 21002, Proxy: { DestinationServiceName: "shop", DestinationServiceID: "shop-1", Upstreams: [{ DestinationName: "checkout", LocalBindPort: 9292 }] } },
    });
    await h.putJson("/v1/config", { Kind: "service-resolver", Name: "checkout", Redirect: { Service: "api" } });
    // plain: no proxy at all; an intention allows it, but it cannot dial by intentions, so it is no downstream.
    await register(h, { Node: "n4", Address: "10.0.0.4", Service: { Service: "plain", ID: "plain-1", Port: 83 } });

    const cart = await h.getJson<Topology>("/v1/internal/ui/service-topology/cart?kind=");
    expect(cart.TransparentProxy).toBe(true);
    expect(cart.Upstreams.map((u) => [u.Name, u.Source, u.Intention.Allowed, u.Intention.HasExact])).toEqual([["api", "specific-intention", true, true]]);

    const shop = await h.getJson<Topology>("/v1/internal/ui/service-topology/shop?kind=");
    expect(shop.TransparentProxy).toBe(false);
    expect(shop.Upstreams.map((u) => [u.Name, u.Source, u.InstanceCount, u.Intention.Allowed])).toEqual([["checkout", "routing-config", 0, true]]);

    const api = await h.getJson<Topology>("/v1/internal/ui/service-topology/api?kind=");
    // web names api itself (denied earlier), shop reaches it through checkout's resolver, cart by its intention.
    expect(api.Downstreams.map((d) => [d.Name, d.Source, d.Intention.Allowed])).toEqual([
      ["cart", "specific-intention", true],
      ["shop", "proxy-registration", true],
      ["web", "proxy-registration", false],
    ]);

    // An L7 intention still makes cart -> web an upstream (some requests may pass), shown as not allowed at L4.
    await h.putJson("/v1/config", { Kind: "service-defaults", Name: "web", Protocol: "http" });
    await h.put("/v1/connect/intentions/exact?source=cart&destination=web", { Permissions: [{ Action: "allow", HTTP: { PathPrefix: "/ok" } }] });
    const l7 = await h.getJson<Topology>("/v1/internal/ui/service-topology/cart?kind=");
    expect(l7.Upstreams.map((u) => [u.Name, u.Source, u.Intention.Allowed, u.Intention.HasPermissions])).toEqual([
      ["api", "specific-intention", true, false],
      ["web", "specific-intention", false, true],
    ]);
  });

  test("kind is required and must be typical or ingress-gateway", async () => {
    const res = await h.get("/v1/internal/ui/service-topology/web");
    expect(res.status).toBe(400);
    expect(await res.text()).toBe("Missing service kind");
    const bad = await h.get("/v1/internal/ui/service-topology/web?kind=mesh-gateway");
    expect(await bad.text()).toBe('Unsupported service kind "mesh-gateway"');
    expect((await h.get("/v1/internal/ui/service-topology/?kind=")).status).toBe(400);
  });
});

describe("/v1/internal/ui/gateway-services-nodes/:gateway", () => {
  test("an ingress gateway's services with their addresses", async () => {
    const rows = await h.getJson<Listing[]>("/v1/internal/ui/gateway-services-nodes/edge");
    expect(rows.map((r) => r.Name)).toEqual(["web"]);
    expect(rows[0]!.GatewayConfig.Addresses).toEqual(["web.ingress.dc1.consul:8080"]);
    expect(rows[0]!.InstanceCount).toBe(2);
  });

  test("a terminating gateway's linked service without instances is still listed", async () => {
    const rows = await h.getJson<Listing[]>("/v1/internal/ui/gateway-services-nodes/legacy-gw");
    expect(rows.map((r) => [r.Name, r.InstanceCount])).toEqual([["mainframe", 0]]);
    expect(await h.getJson("/v1/internal/ui/gateway-services-nodes/unknown")).toEqual([]);
  });
});

describe("/v1/internal/ui/metrics-proxy", () => {
  test("404 with Consul's reasons when the UI or the proxy is off", async () => {
    const noUi = await off.get("/v1/internal/ui/metrics-proxy/api/v1/query");
    expect([noUi.status, await noUi.text()]).toEqual([404, "UI is not enabled"]);
    const noProxy = await h.get("/v1/internal/ui/metrics-proxy/api/v1/query");
    expect([noProxy.status, await noProxy.text()]).toEqual([404, "Metrics proxy is not enabled"]);
  });

  test("passes GETs to the backend under the allowlist, without the token, with the configured headers", async () => {
    const seen: { path: string; token: string | null; extra: string | null }[] = [];
    const backend = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => {
        const u = new URL(req.url);
        seen.push({ path: u.pathname + u.search, token: req.headers.get("x-consul-token"), extra: req.headers.get("x-extra") });
        return Response.json({ status: "success" });
      },
    });
    const base = `http://127.0.0.1:${backend.port}/prom`;
    const p = await startHarness({ ui: { ...UI, metricsProxy: { baseUrl: base, pathAllowlist: ["/prom/api/v1/query"], addHeaders: [{ name: "X-Extra", value: "yes" }] } } });
    try {
      const ok = await p.get("/v1/internal/ui/metrics-proxy/api/v1/query?query=up", { "X-Consul-Token": "secret" });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ status: "success" });
      expect(seen).toEqual([{ path: "/prom/api/v1/query?query=up", token: null, extra: "yes" }]);
      expect((await p.get("/v1/internal/ui/metrics-proxy/api/v1/admin")).status).toBe(403);
      // Escapes that would climb out of the base path end outside the allowlist.
      expect((await p.get("/v1/internal/ui/metrics-proxy/api/v1/query/%2e%2e/%2e%2e/%2e%2e/secret")).status).toBe(403);
      expect((await p.request("/v1/internal/ui/metrics-proxy/api/v1/query", { method: "POST" })).status).toBe(405);
      expect(seen.length).toBe(1);
    } finally {
      await p.stop();
      backend.stop(true);
    }
  });
});

describe("the UI's files", () => {
  test("GET / redirects to /ui/; app pages get index.html with the mount point; files are served", async () => {
    const root = await h.get("/");
    expect([root.status, root.headers.get("location")]).toEqual([301, "/ui/"]);
    expect((await h.get("/ui")).headers.get("location")).toBe("/ui/");
    for (const page of ["/ui/", "/ui/dc1/services", "/ui/dc1/services/web/instances", "/ui/dc1/kv/app/config.json/edit"]) {
      const res = await h.get(page);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/html");
      const html = await res.text();
      expect(html).toContain('<base href="/ui/">');
      expect(html).toContain('"datacenter":"dc1"');
    }
    const js = await h.get("/ui/consulate-ui.js");
    expect(js.headers.get("content-type")).toContain("text/javascript");
    expect((await h.get("/ui/nope.js")).status).toBe(404);
  });

  test("no path leaves the UI folder", async () => {
    for (const p of ["/ui/assets/%2e%2e/%2e%2e/package.json", "/ui/assets/..%2f..%2fpackage.json", "/ui/%2e%2e%2fpackage.json"]) {
      const res = await h.get(p);
      expect(res.status === 404 || (res.status === 200 && (await res.text()).includes("<base href"))).toBe(true);
    }
    expect((await h.get("/ui/assets/%ZZ")).status).toBe(400);
  });

  test("with the UI off: GET / says so, /ui/ is not found", async () => {
    const root = await off.get("/");
    expect(root.status).toBe(200);
    expect(await root.text()).toContain("UI disabled");
    expect((await off.get("/ui/")).status).toBe(404);
  });
});
