/** Examples from Consul's filtering documentation, run against the schemas Consul filters over. */
import { expect, test } from "bun:test";
import {
  agentServiceSchema,
  checkServiceNodeSchema,
  compileFilter,
  FilterError,
  FilterErrorKind,
  healthCheckSchema,
  nodeSchema,
  nodeServicesSchema,
  serviceNodeSchema,
} from "../../src/filter/mod.ts";

const weights = { Passing: 1, Warning: 1 };

test("agent services: Meta.env == \"qa\"", () => {
  const services = {
    redis1: { ID: "redis1", Service: "redis", Tags: ["primary", "production"], Meta: { env: "production", foo: "bar" }, Port: 1234, Address: "", Weights: weights, EnableTagOverride: false },
    redis2: { ID: "redis2", Service: "redis", Tags: ["secondary", "production"], Meta: { env: "production", foo: "bar" }, Port: 1235, Address: "", Weights: weights, EnableTagOverride: false },
    redis3: { ID: "redis3", Service: "redis", Tags: ["primary", "qa"], Meta: { env: "qa" }, Port: 1234, Address: "", Weights: weights, EnableTagOverride: false },
  };
  const keep = compileFilter('Meta.env == "qa"', agentServiceSchema);
  const kept = Object.entries(services).filter(([, s]) => keep(s)).map(([id]) => id);
  expect(kept).toEqual(["redis3"]);
  // AgentService.Datacenter is tagged bexpr:"-" in Consul's api package.
  expect(() => compileFilter("Datacenter == dc1", agentServiceSchema)).toThrow(
    'Failed to create boolean expression evaluator: Selector "Datacenter" is not valid',
  );
});

test("catalog service: NodeMeta.os == \"linux\" and \"tag\" in ServiceTags", () => {
  const rows = [
    { ID: "b4f64e8c", Node: "node-1", Address: "198.18.0.1", Datacenter: "dc1", TaggedAddresses: null, NodeMeta: { agent: "true", arch: "i386", os: "darwin" }, ServiceKind: "", ServiceID: "api-internal", ServiceName: "api-internal", ServiceTags: ["tag"], ServiceAddress: "", ServiceWeights: weights, ServiceMeta: { environment: "qa" }, ServicePort: 9090, ServiceEnableTagOverride: false, ServiceProxy: {}, ServiceConnect: {} },
    { ID: "b4faf93a", Node: "node-2", Address: "198.18.0.2", Datacenter: "dc1", TaggedAddresses: null, NodeMeta: { arch: "arm", os: "linux" }, ServiceKind: "", ServiceID: "api-internal", ServiceName: "api-internal", ServiceTags: ["test", "tag"], ServiceAddress: "", ServiceWeights: weights, ServiceMeta: { environment: "production" }, ServicePort: 9090, ServiceEnableTagOverride: false, ServiceProxy: {}, ServiceConnect: {} },
    { ID: "b4fbe7f4", Node: "node-4", Address: "198.18.0.4", Datacenter: "dc1", TaggedAddresses: null, NodeMeta: { arch: "i386", os: "freebsd" }, ServiceKind: "", ServiceID: "api-internal", ServiceName: "api-internal", ServiceTags: [], ServiceAddress: "", ServiceWeights: weights, ServiceMeta: { environment: "qa" }, ServicePort: 9090, ServiceEnableTagOverride: false, ServiceProxy: {}, ServiceConnect: {} },
  ];
  const nodes = (expression: string) => rows.filter(compileFilter(expression, serviceNodeSchema)).map((r) => r.Node);
  expect(nodes('NodeMeta.os == "linux"')).toEqual(["node-2"]);
  expect(nodes('"tag" in ServiceTags')).toEqual(["node-1", "node-2"]);
  expect(nodes("ServiceTags is empty")).toEqual(["node-4"]);
  expect(nodes("ServiceMeta.environment == qa and NodeMeta.arch == i386")).toEqual(["node-1", "node-4"]);
  expect(nodes("ServicePort == 9090 and ServiceWeights.Passing == 1")).toEqual(["node-1", "node-2", "node-4"]);
  expect(nodes("ServiceEnableTagOverride == true")).toEqual([]);
  expect(nodes('TaggedAddresses is empty and ServiceConnect.Native == false')).toHaveLength(3);
  expect(nodes('Node matches "^node-[12]$"')).toEqual(["node-1", "node-2"]);
});

test("health node: ServiceName != \"\"", () => {
  const checks = [
    { Node: "node-1", CheckID: "node-health", Name: "Node level check", Status: "critical", Notes: "", Output: "", ServiceID: "", ServiceName: "", ServiceTags: [] },
    { Node: "node-1", CheckID: "svc-web-health", Name: "Service level check - web", Status: "warning", Notes: "", Output: "", ServiceID: "", ServiceName: "web", ServiceTags: [] },
  ];
  expect(checks.filter(compileFilter('ServiceName != ""', healthCheckSchema)).map((c) => c.CheckID)).toEqual([
    "svc-web-health",
  ]);
  expect(checks.filter(compileFilter('CheckID == "node-health"', healthCheckSchema))).toHaveLength(1);
});

test("health service rows: Service.Meta.version == v1, Checks.Status != passing", () => {
  const row = (id: string, version: string, statuses: string[]) => ({
    Node: { ID: "40e4a748", Node: `node-${id}`, Address: "10.1.10.12", Datacenter: "dc1", TaggedAddresses: { lan: "10.1.10.12" }, Meta: { env: "prod" } },
    Service: {
      ID: `redis-${id}`,
      Service: "redis",
      Tags: ["primary"],
      Address: "10.1.10.12",
      TaggedAddresses: { lan: { Address: "10.1.10.12", Port: 8000 } },
      Meta: { version },
      Port: 8000,
      Weights: { Passing: 10, Warning: 1 },
    },
    Checks: statuses.map((Status, i) => ({ Node: `node-${id}`, CheckID: `c${i}`, Name: "check", Status, ServiceTags: [] })),
  });
  const rows = [row("a", "v1", ["passing", "passing"]), row("b", "v2", ["passing"]), row("c", "v1", ["passing", "critical"])];
  const ids = (expression: string) =>
    rows.filter(compileFilter(expression, checkServiceNodeSchema)).map((r) => r.Service.ID);
  expect(ids("Service.Meta.version == v1")).toEqual(["redis-a", "redis-c"]);
  expect(ids("Checks.Status != passing")).toEqual(["redis-c"]);
  // What Consul's xDS code builds for a subset with OnlyPassing.
  expect(ids("(Service.Meta.version == v1) and not Checks.Status != passing")).toEqual(["redis-a"]);
  expect(ids('"primary" in Service.Tags and Node.Meta.env == prod')).toEqual(["redis-a", "redis-b", "redis-c"]);
  expect(ids("Service.TaggedAddresses.lan.Port == 8000 and Service.Weights.Passing == 10")).toHaveLength(3);
  expect(ids('Node.TaggedAddresses.lan == "10.1.10.12"')).toHaveLength(3);
});

test("comparisons such as > are not part of the language", () => {
  let caught: unknown;
  try {
    compileFilter("NodeMeta.env == prod and ServicePort > 8000", serviceNodeSchema);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(FilterError);
  expect((caught as FilterError).kind).toBe(FilterErrorKind.Syntax);
  expect((caught as FilterError).message).toStartWith(
    "Failed to create boolean expression evaluator: 1:38 (37): no match found, expected:",
  );
});

test("node-services and nodes", () => {
  const services = [
    { ID: "consul", Service: "consul", Tags: null, Meta: {}, Port: 8300 },
    { ID: "redis", Service: "redis", Tags: ["v1"], Meta: { redis_version: "4.0" }, Port: 8000, Connect: { Native: true } },
  ];
  expect(services.filter(compileFilter('Meta.redis_version == "4.0"', nodeServicesSchema)).map((s) => s.ID)).toEqual(["redis"]);
  expect(services.filter(compileFilter("Connect.Native == true", nodeServicesSchema)).map((s) => s.ID)).toEqual(["redis"]);
  expect(services.filter(compileFilter("Tags is empty", nodeServicesSchema)).map((s) => s.ID)).toEqual(["consul"]);
  const node = { ID: "40e4a748", Node: "baz", Address: "10.1.10.11", Datacenter: "dc1", TaggedAddresses: { lan: "10.1.10.11", wan: "10.1.10.11" }, Meta: { instance_type: "t2.medium" } };
  expect(compileFilter('Meta.instance_type == "t2.medium" and "wan" in TaggedAddresses', nodeSchema)(node)).toBe(true);
});
