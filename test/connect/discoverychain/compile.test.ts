/** Mirrors the cases of Consul's agent/consul/discoverychain/compile_test.go that apply without partitions and peering. */
import { describe, expect, test } from "bun:test";
import { type EntryLookup, GraphError } from "../../../src/configentry/graph.ts";
import type { EntryBody } from "../../../src/configentry/kinds/kind.ts";
import { decodeConfigEntry, normalizeAndValidate } from "../../../src/configentry/registry.ts";
import { compileChain, type CompiledChain, renderChain } from "../../../src/connect/discoverychain/mod.ts";

const TD = "11111111-2222-3333-4444-555555555555.consul";

function lookup(raw: Record<string, unknown>[]): EntryLookup {
  const entries = raw.map((r) => {
    const e = decodeConfigEntry(r);
    normalizeAndValidate(e);
    return e;
  });
  return {
    get: (kind, name) => entries.find((e) => e.Kind === kind && e.Name === name),
    list: (kind) => entries.filter((e: EntryBody) => e.Kind === kind),
  };
}

function compile(raw: Record<string, unknown>[], extra: Partial<Parameters<typeof compileChain>[0]> = {}): CompiledChain {
  return compileChain({ serviceName: "main", datacenter: "dc1", trustDomain: TD, entries: lookup(raw), ...extra });
}

const http = (name: string) => ({ Kind: "service-defaults", Name: name, Protocol: "http" });

describe("discovery chain compile", () => {
  test("resolver with no entries and inferring defaults", () => {
    const c = compile([]);
    expect(c.Protocol).toBe("tcp");
    expect(c.Default).toBe(true);
    expect(c.StartNode).toBe("resolver:main.default.default.dc1");
    expect(Object.keys(c.Nodes)).toEqual(["resolver:main.default.default.dc1"]);
    const t = c.Targets["main.default.default.dc1"]!;
    expect(t.SNI).toBe(`main.default.dc1.internal.${TD}`);
    expect(t.ConnectTimeout).toBe(5e9);
    expect(renderChain(c)).toEqual({
      ServiceName: "main",
      Namespace: "default",
      Partition: "default",
      Datacenter: "dc1",
      Default: true,
      Protocol: "tcp",
      StartNode: "resolver:main.default.default.dc1",
      Nodes: {
        "resolver:main.default.default.dc1": {
          Type: "resolver",
          Name: "main.default.default.dc1",
          Resolver: { ConnectTimeout: "5s", Default: true, Target: "main.default.default.dc1" },
        },
      },
      Targets: {
        "main.default.default.dc1": {
          ConnectTimeout: "5s",
          ID: "main.default.default.dc1",
          Service: "main",
          Namespace: "default",
          Partition: "default",
          Datacenter: "dc1",
          MeshGateway: {},
          Subset: {},
          TransparentProxy: {},
          SNI: `main.default.dc1.internal.${TD}`,
          Name: `main.default.dc1.internal.${TD}`,
        },
      },
    });
  });

  test("default resolver with proxy defaults", () => {
    const c = compile([{ Kind: "proxy-defaults", Name: "global", Config: { protocol: "grpc" }, MeshGateway: { Mode: "remote" } }]);
    expect(c.Protocol).toBe("grpc");
    expect(c.Default).toBe(true);
    expect(c.Targets["main.default.default.dc1"]!.MeshGateway.Mode).toBe("remote");
  });

  test("router with defaults", () => {
    const c = compile([http("main"), { Kind: "service-router", Name: "main" }]);
    expect(c.Protocol).toBe("http");
    expect(c.Default).toBe(false);
    expect(c.StartNode).toBe("router:main.default.default");
    const r = c.Nodes["router:main.default.default"]!;
    expect(r.Routes).toHaveLength(1);
    expect(r.Routes![0]!.Definition).toEqual({ Match: { HTTP: { PathPrefix: "/" } }, Destination: { Service: "main", Namespace: "default", Partition: "default" } });
    expect(r.Routes![0]!.NextNode).toBe("resolver:main.default.default.dc1");
  });

  test("router with defaults and resolver", () => {
    const c = compile([http("main"), { Kind: "service-router", Name: "main" }, { Kind: "service-resolver", Name: "main", ConnectTimeout: "33s" }]);
    const res = c.Nodes["resolver:main.default.default.dc1"]!.Resolver!;
    expect(res.Default).toBe(false);
    expect(res.ConnectTimeout).toBe(33e9);
    expect(c.Targets["main.default.default.dc1"]!.ConnectTimeout).toBe(33e9);
  });

  test("router with defaults and noop split", () => {
    const c = compile([http("main"), { Kind: "service-router", Name: "main" }, { Kind: "service-splitter", Name: "main", Splits: [{ Weight: 100 }] }]);
    expect(c.Nodes["router:main.default.default"]!.Routes![0]!.NextNode).toBe("splitter:main.default.default");
    const sp = c.Nodes["splitter:main.default.default"]!;
    expect(sp.Splits!.map((x) => [x.Weight, x.NextNode])).toEqual([[100, "resolver:main.default.default.dc1"]]);
  });

  test("route bypasses splitter", () => {
    const c = compile([
      http("main"),
      http("other"),
      {
        Kind: "service-router",
        Name: "main",
        Routes: [{ Match: { HTTP: { PathPrefix: "/" } }, Destination: { Service: "other", ServiceSubset: "bypass" } }],
      },
      { Kind: "service-splitter", Name: "other", Splits: [{ Weight: 100, Service: "ignored" }] },
      { Kind: "service-resolver", Name: "other", Subsets: { bypass: { Filter: "Service.Meta.version == bypass" } } },
    ]);
    const r = c.Nodes["router:main.default.default"]!;
    expect(r.Routes!.map((x) => x.NextNode)).toEqual(["resolver:bypass.other.default.default.dc1", "resolver:main.default.default.dc1"]);
    expect(Object.keys(c.Targets).sort()).toEqual(["bypass.other.default.default.dc1", "main.default.default.dc1"]);
    expect(c.Targets["bypass.other.default.default.dc1"]!.Subset).toEqual({ Filter: "Service.Meta.version == bypass" });
    expect(c.Targets["bypass.other.default.default.dc1"]!.SNI).toBe(`bypass.other.default.dc1.internal.${TD}`);
  });

  test("noop split with protocol from proxy defaults", () => {
    const c = compile([{ Kind: "proxy-defaults", Name: "global", Config: { protocol: "http" } }, { Kind: "service-splitter", Name: "main", Splits: [{ Weight: 100 }] }]);
    expect(c.Protocol).toBe("http");
    expect(c.StartNode).toBe("splitter:main.default.default");
  });

  test("subset split (the 50/50 canary) and the resolver's hash-based LB on the splitter", () => {
    const c = compile([
      http("main"),
      { Kind: "service-splitter", Name: "main", Splits: [{ Weight: 60, ServiceSubset: "v2" }, { Weight: 40, ServiceSubset: "v1" }] },
      {
        Kind: "service-resolver",
        Name: "main",
        Subsets: { v1: { Filter: "Service.Meta.version == 1" }, v2: { Filter: "Service.Meta.version == 2" } },
        LoadBalancer: { Policy: "ring_hash", HashPolicies: [{ Field: "header", FieldValue: "x-user" }] },
      },
    ]);
    const sp = c.Nodes["splitter:main.default.default"]!;
    expect(sp.Splits!.map((x) => [x.Weight, x.NextNode])).toEqual([
      [60, "resolver:v2.main.default.default.dc1"],
      [40, "resolver:v1.main.default.default.dc1"],
    ]);
    expect(sp.LoadBalancer).toEqual({ Policy: "ring_hash", HashPolicies: [{ Field: "header", FieldValue: "x-user" }] });
    expect(c.Targets["v1.main.default.default.dc1"]!.Subset.Filter).toBe("Service.Meta.version == 1");
  });

  test("service split", () => {
    const c = compile([http("main"), http("foo"), http("bar"), { Kind: "service-splitter", Name: "main", Splits: [{ Weight: 60, Service: "foo" }, { Weight: 40, Service: "bar" }] }]);
    expect(c.Nodes["splitter:main.default.default"]!.Splits!.map((x) => x.NextNode)).toEqual(["resolver:foo.default.default.dc1", "resolver:bar.default.default.dc1"]);
  });

  test("split bypasses next splitter; adjacent splitters flatten with merged headers", () => {
    const c = compile([
      http("main"),
      http("next"),
      {
        Kind: "service-splitter",
        Name: "main",
        Splits: [
          { Weight: 50, Service: "next", RequestHeaders: { Set: { "x-a": "1" } } },
          { Weight: 50, Service: "main", ServiceSubset: "v1" },
        ],
      },
      { Kind: "service-splitter", Name: "next", Splits: [{ Weight: 50, ServiceSubset: "x" }, { Weight: 50, Service: "next", ServiceSubset: "y", RequestHeaders: { Set: { "x-b": "2" } } }] },
      { Kind: "service-resolver", Name: "main", Subsets: { v1: { Filter: "Service.Meta.v == 1" } } },
      { Kind: "service-resolver", Name: "next", Subsets: { x: {}, y: {} } },
    ]);
    const sp = c.Nodes["splitter:main.default.default"]!;
    expect(sp.Splits!.map((x) => [x.Weight, x.NextNode])).toEqual([
      [25, "resolver:x.next.default.default.dc1"],
      [25, "resolver:y.next.default.default.dc1"],
      [50, "resolver:v1.main.default.default.dc1"],
    ]);
    expect(sp.Splits![1]!.Definition.RequestHeaders).toEqual({ Add: {}, Set: { "x-a": "1", "x-b": "2" }, Remove: [] });
    // The inner splitter node is gone once flattened.
    expect(c.Nodes["splitter:next.default.default"]).toBeUndefined();
  });

  test("service redirect", () => {
    const c = compile([{ Kind: "service-resolver", Name: "main", Redirect: { Service: "other" } }]);
    expect(c.StartNode).toBe("resolver:other.default.default.dc1");
    expect(Object.keys(c.Targets)).toEqual(["other.default.default.dc1"]);
    // "service redirect to service with default resolver is not a default chain"
    expect(c.Default).toBe(false);
  });

  test("service and subset redirect", () => {
    const c = compile([
      { Kind: "service-resolver", Name: "main", Redirect: { Service: "other", ServiceSubset: "v2" } },
      { Kind: "service-resolver", Name: "other", Subsets: { v1: { Filter: "Service.Meta.version == 1" }, v2: { Filter: "Service.Meta.version == 2" } } },
    ]);
    expect(c.StartNode).toBe("resolver:v2.other.default.default.dc1");
  });

  test("datacenter redirect", () => {
    const c = compile([{ Kind: "service-resolver", Name: "main", Redirect: { Datacenter: "dc9" } }]);
    expect(c.StartNode).toBe("resolver:main.default.default.dc9");
    expect(c.Targets["main.default.default.dc9"]!.SNI).toBe(`main.default.dc9.internal.${TD}`);
  });

  test("service failover", () => {
    const c = compile([{ Kind: "service-resolver", Name: "main", Failover: { "*": { Service: "backup" } } }]);
    expect(c.Nodes["resolver:main.default.default.dc1"]!.Resolver!.Failover).toEqual({ Targets: ["backup.default.default.dc1"], Policy: null });
    expect(Object.keys(c.Targets).sort()).toEqual(["backup.default.default.dc1", "main.default.default.dc1"]);
    // A failover target is not a node of its own.
    expect(Object.keys(c.Nodes)).toEqual(["resolver:main.default.default.dc1"]);
  });

  test("service and subset failover; failover to yourself is dropped", () => {
    const c = compile([
      {
        Kind: "service-resolver",
        Name: "main",
        Subsets: { primary: { Filter: "Service.Meta.p == 1" }, backup: { Filter: "Service.Meta.p == 0" } },
        DefaultSubset: "primary",
        Failover: { primary: { ServiceSubset: "backup" }, backup: { ServiceSubset: "backup" } },
      },
    ]);
    expect(c.StartNode).toBe("resolver:primary.main.default.default.dc1");
    expect(c.Nodes[c.StartNode]!.Resolver!.Failover!.Targets).toEqual(["backup.main.default.default.dc1"]);
  });

  test("datacenter failover and failover Targets", () => {
    const c = compile([{ Kind: "service-resolver", Name: "main", Failover: { "*": { Datacenters: ["dc2", "dc4"] } } }]);
    expect(c.Nodes[c.StartNode]!.Resolver!.Failover!.Targets).toEqual(["main.default.default.dc2", "main.default.default.dc4"]);
    const c2 = compile([{ Kind: "service-resolver", Name: "main", Failover: { "*": { Targets: [{ Service: "a" }, { Datacenter: "dc3" }, { Service: "main" }] } } }]);
    expect(c2.Nodes[c2.StartNode]!.Resolver!.Failover!.Targets).toEqual(["a.default.default.dc1", "main.default.default.dc3"]);
  });

  test("failover target follows the target's own redirect", () => {
    const c = compile([
      { Kind: "service-resolver", Name: "main", Failover: { "*": { Service: "b" } } },
      { Kind: "service-resolver", Name: "b", Redirect: { Service: "c" } },
    ]);
    expect(c.Nodes[c.StartNode]!.Resolver!.Failover!.Targets).toEqual(["c.default.default.dc1"]);
  });

  test("noop split to resolver with default subset; resolver with default subset", () => {
    const c = compile([
      http("main"),
      { Kind: "service-splitter", Name: "main", Splits: [{ Weight: 100 }] },
      { Kind: "service-resolver", Name: "main", DefaultSubset: "v2", Subsets: { v1: { Filter: "Service.Meta.version == 1" }, v2: { Filter: "Service.Meta.version == 2", OnlyPassing: true } } },
    ]);
    expect(c.Nodes["splitter:main.default.default"]!.Splits![0]!.NextNode).toBe("resolver:v2.main.default.default.dc1");
    expect(c.Targets["v2.main.default.default.dc1"]!.Subset).toEqual({ Filter: "Service.Meta.version == 2", OnlyPassing: true });
  });

  test("RequestTimeout and LoadBalancer land on the resolver node", () => {
    const c = compile([{ Kind: "service-resolver", Name: "main", RequestTimeout: "200ms", LoadBalancer: { Policy: "least_request", LeastRequestConfig: { ChoiceCount: 3 } } }]);
    const node = c.Nodes[c.StartNode]!;
    expect(node.Resolver!.RequestTimeout).toBe(200e6);
    expect(renderChain(c).Nodes).toMatchObject({
      [c.StartNode]: { Resolver: { ConnectTimeout: "5s", RequestTimeout: 200000000 }, LoadBalancer: { Policy: "least_request", LeastRequestConfig: { ChoiceCount: 3 } } },
    });
  });

  test("overrides: tcp drops routers and splitters, timeout and mesh gateway customize the hash", () => {
    const entries = [http("main"), { Kind: "service-splitter", Name: "main", Splits: [{ Weight: 100 }] }];
    const c = compile(entries, { overrideProtocol: "tcp" });
    expect(c.StartNode).toBe("resolver:main.default.default.dc1");
    expect(c.Protocol).toBe("tcp");
    expect(c.CustomizationHash).toMatch(/^[0-9a-f]{8}$/);
    const d = compile([], { overrideConnectTimeout: 66e9, overrideMeshGatewayMode: "local" });
    expect(d.Targets["main.default.default.dc1"]!.ConnectTimeout).toBe(66e9);
    expect(d.Targets["main.default.default.dc1"]!.MeshGateway.Mode).toBe("local");
    expect(d.CustomizationHash).not.toBe("");
    expect(compile([]).CustomizationHash).toBe("");
  });

  describe("errors", () => {
    const graphErr = (raw: Record<string, unknown>[], text: string) => {
      let err: unknown;
      try {
        compile(raw);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(GraphError);
      expect((err as Error).message).toContain(text);
    };
    test("splitter requires valid protocol", () => {
      graphErr([{ Kind: "service-splitter", Name: "main", Splits: [{ Weight: 100 }] }], 'discovery chain "main" uses a protocol "tcp" that does not permit advanced routing or splitting behavior');
    });
    test("router requires valid protocol", () => {
      graphErr([{ Kind: "service-router", Name: "main" }], "does not permit advanced routing");
    });
    test("split to unsplittable protocol", () => {
      graphErr([http("main"), { Kind: "service-splitter", Name: "main", Splits: [{ Weight: 90 }, { Weight: 10, Service: "other" }] }], 'uses inconsistent protocols; service "other" has "tcp" which is not "http"');
    });
    test("route to unroutable protocol", () => {
      graphErr([http("main"), { Kind: "service-router", Name: "main", Routes: [{ Match: { HTTP: { PathPrefix: "/x" } }, Destination: { Service: "other" } }] }], 'service "other" has "tcp" which is not "http"');
    });
    test("failover crosses protocols", () => {
      graphErr([http("main"), { Kind: "service-resolver", Name: "main", Failover: { "*": { Service: "backup" } } }], 'service "backup" has "tcp" which is not "http"');
    });
    test("redirect crosses protocols", () => {
      graphErr([http("main"), { Kind: "service-resolver", Name: "main", Redirect: { Service: "other" } }], 'service "other" has "tcp" which is not "http"');
    });
    test("redirect to missing subset", () => {
      graphErr([{ Kind: "service-resolver", Name: "main", Redirect: { Service: "other", ServiceSubset: "v1" } }, { Kind: "service-resolver", Name: "other" }], 'service "other" does not have a subset named "v1"');
    });
    test("circular resolver redirect", () => {
      graphErr(
        [{ Kind: "service-resolver", Name: "main", Redirect: { Service: "other" } }, { Kind: "service-resolver", Name: "other", Redirect: { Service: "main" } }],
        "detected circular resolver redirect: [main.default.default.dc1 -> other.default.default.dc1 -> main.default.default.dc1]",
      );
    });
    test("circular split", () => {
      graphErr(
        [http("main"), http("other"), { Kind: "service-splitter", Name: "main", Splits: [{ Weight: 100, Service: "other" }] }, { Kind: "service-splitter", Name: "other", Splits: [{ Weight: 100, Service: "main" }] }],
        "detected circular reference",
      );
    });
  });
});
