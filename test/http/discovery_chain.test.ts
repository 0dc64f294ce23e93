import { afterAll, describe, expect, test } from "bun:test";
import { index, startHarness, track } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

const put = (body: object) => h.putJson("/v1/config", body);
const post = (path: string, body: string) => h.request(path, { method: "POST", body });

describe("/v1/discovery-chain/:service", () => {
  test("a service with no entries compiles to its default resolver", async () => {
    const res = await h.get("/v1/discovery-chain/web");
    expect(res.status).toBe(200);
    expect(index(res)).toBeGreaterThan(0);
    const { Chain } = await res.json();
    expect(Chain.ServiceName).toBe("web");
    expect(Chain.Datacenter).toBe("dc1");
    expect(Chain.Default).toBe(true);
    expect(Chain.Protocol).toBe("tcp");
    expect(Chain.StartNode).toBe("resolver:web.default.default.dc1");
    const t = Chain.Targets["web.default.default.dc1"];
    expect(t.ConnectTimeout).toBe("5s");
    expect(t.SNI).toMatch(/^web\.default\.dc1\.internal\.[0-9a-f-]{36}\.consul$/);
  });

  test("the 50/50 splitter over Service.Meta.version subsets, and compile-dc", async () => {
    await put({ Kind: "service-defaults", Name: "expense", Protocol: "http" });
    await put({ Kind: "service-resolver", Name: "expense", Subsets: { v1: { Filter: "Service.Meta.version == v1" }, v2: { Filter: "Service.Meta.version == v2" } } });
    await put({ Kind: "service-splitter", Name: "expense", Splits: [{ Weight: 50, ServiceSubset: "v1" }, { Weight: 50, ServiceSubset: "v2" }] });
    const { Chain } = await h.getJson<{ Chain: Record<string, any> }>("/v1/discovery-chain/expense");
    expect(Chain.Protocol).toBe("http");
    expect(Chain.Default).toBeUndefined();
    expect(Chain.StartNode).toBe("splitter:expense.default.default");
    expect(Chain.Nodes["splitter:expense.default.default"].Splits).toEqual([
      { Definition: { Weight: 50, ServiceSubset: "v1" }, Weight: 50, NextNode: "resolver:v1.expense.default.default.dc1" },
      { Definition: { Weight: 50, ServiceSubset: "v2" }, Weight: 50, NextNode: "resolver:v2.expense.default.default.dc1" },
    ]);
    expect(Chain.Targets["v2.expense.default.default.dc1"].Subset).toEqual({ Filter: "Service.Meta.version == v2" });
    const other = await h.getJson<{ Chain: Record<string, any> }>("/v1/discovery-chain/expense?compile-dc=dc7");
    expect(other.Chain.Datacenter).toBe("dc7");
    expect(Object.keys(other.Chain.Targets).sort()).toEqual(["v1.expense.default.default.dc7", "v2.expense.default.default.dc7"]);
  });

  test("POST overrides: tcp protocol drops the splitter, timeouts and mesh gateway mode apply", async () => {
    const res = await post("/v1/discovery-chain/expense", JSON.stringify({ override_protocol: "tcp", OverrideConnectTimeout: "250ms", overridemeshgateway: { mode: "local" } }));
    expect(res.status).toBe(200);
    const { Chain } = await res.json();
    expect(Chain.Protocol).toBe("tcp");
    expect(Chain.StartNode).toBe("resolver:expense.default.default.dc1");
    expect(Chain.CustomizationHash).toMatch(/^[0-9a-f]{8}$/);
    expect(Chain.Targets["expense.default.default.dc1"].ConnectTimeout).toBe("250ms");
    expect(Chain.Targets["expense.default.default.dc1"].MeshGateway).toEqual({ Mode: "local" });
    const ns = await post("/v1/discovery-chain/expense", JSON.stringify({ OverrideConnectTimeout: 2e9 }));
    const targets = Object.values((await ns.json()).Chain.Targets) as { ConnectTimeout: string }[];
    expect(targets.map((x) => x.ConnectTimeout)).toEqual(["2s", "2s"]);
  });

  test("bad input is a 400 with Consul's text", async () => {
    const bad = async (body: string, text: string, status = 400) => {
      const res = await post("/v1/discovery-chain/web", body);
      expect(res.status).toBe(status);
      expect(await res.text()).toContain(text);
    };
    await bad("{", "Request decoding failed");
    await bad("[1,2]", "Request decoding failed");
    await bad(JSON.stringify({ OverrideConnectTimeout: "soon" }), 'Request decoding failed: time: invalid duration "soon"');
    await bad(JSON.stringify({ OverrideMeshGateway: { Mode: "sideways" } }), "Invalid OverrideMeshGateway.Mode parameter");
    await bad(JSON.stringify({ OverrideProtocol: { deep: { deeper: [1] } } }), "Request decoding failed");
    await bad(JSON.stringify({ x: "a".repeat(100_000) }), "Request body too large", 413);
    const missing = await h.get("/v1/discovery-chain/");
    expect(missing.status).toBe(400);
    expect(await missing.text()).toBe("Missing chain name");
  });

  test("a blocking query wakes when an entry of the chain changes", async () => {
    const first = await h.get("/v1/discovery-chain/expense");
    const idx = index(first);
    const waiting = track(h.get(`/v1/discovery-chain/expense?index=${idx}&wait=5s`));
    await new Promise((r) => setTimeout(r, 100));
    expect(waiting.settled).toBe(false);
    await put({ Kind: "service-splitter", Name: "expense", Splits: [{ Weight: 90, ServiceSubset: "v1" }, { Weight: 10, ServiceSubset: "v2" }] });
    const res = await waiting.promise;
    expect(index(res)).toBeGreaterThan(idx);
    const { Chain } = await res.json();
    expect(Chain.Nodes["splitter:expense.default.default"].Splits.map((s: { Weight: number }) => s.Weight)).toEqual([90, 10]);
  });
});
