import { describe, expect, test } from "bun:test";
import {
  checkServiceNodeSchema,
  compileFilter,
  type FieldSchema,
  FilterError,
  FilterErrorKind,
  serviceNodeSchema,
} from "../../src/filter/mod.ts";

function rejection(expression: string, schema: FieldSchema): FilterError {
  try {
    compileFilter(expression, schema);
  } catch (e) {
    if (e instanceof FilterError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(expression)} to be rejected`);
}

const passing = { CheckID: "serfHealth", Status: "passing", ServiceTags: [] };
const critical = { CheckID: "service:web", Status: "critical", ServiceTags: ["primary"] };

function row(checks: unknown[]): unknown {
  return { Node: { Node: "n1" }, Service: { Service: "web" }, Checks: checks };
}

describe("lists of structs mean any element", () => {
  test("a field of a list element matches when any element matches", () => {
    const mixed = row([passing, critical]);
    expect(compileFilter("Checks.Status == passing", checkServiceNodeSchema)(mixed)).toBe(true);
    expect(compileFilter("Checks.Status == critical", checkServiceNodeSchema)(mixed)).toBe(true);
    expect(compileFilter("Checks.Status == warning", checkServiceNodeSchema)(mixed)).toBe(false);
    expect(compileFilter('"primary" in Checks.ServiceTags', checkServiceNodeSchema)(mixed)).toBe(true);
  });

  test("negated operators are applied per element, then any", () => {
    const notPassing = compileFilter("Checks.Status != passing", checkServiceNodeSchema);
    const allPassing = compileFilter("not Checks.Status != passing", checkServiceNodeSchema);
    expect(notPassing(row([passing, critical]))).toBe(true);
    expect(allPassing(row([passing, critical]))).toBe(false);
    expect(notPassing(row([passing, passing]))).toBe(false);
    expect(allPassing(row([passing, passing]))).toBe(true);
  });

  test("with no elements nothing matches, not even !=", () => {
    const empty = row([]);
    expect(compileFilter("Checks.Status == passing", checkServiceNodeSchema)(empty)).toBe(false);
    expect(compileFilter("Checks.Status != passing", checkServiceNodeSchema)(empty)).toBe(false);
    expect(compileFilter("Checks is empty", checkServiceNodeSchema)(empty)).toBe(true);
    expect(compileFilter("Checks is not empty", checkServiceNodeSchema)(row([passing]))).toBe(true);
    expect(compileFilter("Checks.Status != passing", checkServiceNodeSchema)({})).toBe(false);
  });

  test("list elements are reached through nested structs too", () => {
    const f = compileFilter("ServiceProxy.Upstreams.DestinationName == db", serviceNodeSchema);
    expect(f({ ServiceProxy: { Upstreams: [{ DestinationName: "cache" }, { DestinationName: "db" }] } })).toBe(true);
    expect(f({ ServiceProxy: { Upstreams: [{ DestinationName: "cache" }] } })).toBe(false);
    expect(f({ ServiceProxy: null })).toBe(false);
    const g = compileFilter("ServiceProxy.Upstreams.MeshGateway.Mode == local", serviceNodeSchema);
    expect(g({ ServiceProxy: { Upstreams: [{ MeshGateway: { Mode: "local" } }] } })).toBe(true);
  });
});

describe("maps of structs", () => {
  test("a key then a field of the value", () => {
    const f = compileFilter("ServiceTaggedAddresses.lan.Port == 8000", serviceNodeSchema);
    expect(f({ ServiceTaggedAddresses: { lan: { Address: "10.0.0.1", Port: 8000 } } })).toBe(true);
    expect(f({ ServiceTaggedAddresses: { lan: { Address: "10.0.0.1", Port: 80 } } })).toBe(false);
    expect(f({ ServiceTaggedAddresses: {} })).toBe(false);
    const g = compileFilter('ServiceTaggedAddresses["wan_ipv4"].Address != "1.2.3.4"', serviceNodeSchema);
    expect(g({ ServiceTaggedAddresses: {} })).toBe(true);
  });
});

describe("unknown selectors", () => {
  test("are refused with the first unknown part named, as Consul does", () => {
    const e = rejection("Foo == bar", serviceNodeSchema);
    expect(e.name).toBe("FilterError");
    expect(e).toBeInstanceOf(Error);
    expect(e.kind).toBe(FilterErrorKind.Selector);
    expect(e.expression).toBe("Foo == bar");
    expect(e.message).toBe('Failed to create boolean expression evaluator: Selector "Foo" is not valid');
    expect(rejection("Service.Foo == bar", checkServiceNodeSchema).reason).toBe('Selector "Service.Foo" is not valid');
    expect(rejection("Service.Meta.a.b == c", checkServiceNodeSchema).reason).toBe(
      'Selector "Service.Meta.a.b" is not valid',
    );
    expect(rejection("ServiceTags.x == y", serviceNodeSchema).reason).toBe('Selector "ServiceTags.x" is not valid');
    expect(rejection("Checks.Definition.HTTP == x", checkServiceNodeSchema).reason).toBe(
      'Selector "Checks.Definition" is not valid',
    );
  });

  test("names are case-sensitive", () => {
    expect(rejection("serviceName == web", serviceNodeSchema).reason).toBe('Selector "serviceName" is not valid');
  });

  test("fields Consul hides from filtering are unknown", () => {
    expect(rejection("CreateIndex == 1", serviceNodeSchema).reason).toBe('Selector "CreateIndex" is not valid');
    expect(rejection("ServiceProxy.Config.x == y", serviceNodeSchema).reason).toBe(
      'Selector "ServiceProxy.Config" is not valid',
    );
  });

  test("the first problem from the left is the one reported", () => {
    expect(rejection("Foo == a and Bar == b", serviceNodeSchema).reason).toBe('Selector "Foo" is not valid');
    expect(rejection("ServiceName == a or ServicePort == x", serviceNodeSchema).reason).toBe(
      'Failed to coerce value "x" for selector "ServicePort": strconv.ParseInt: parsing "x": invalid syntax',
    );
  });

  test("a schema that is not a struct or map is a caller bug", () => {
    expect(() => compileFilter("a == b", { kind: "string" })).toThrow(TypeError);
  });
});
