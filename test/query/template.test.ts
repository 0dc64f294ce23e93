// Mirrors Consul's agent/consul/prepared_query/template_test.go and walk_test.go.
import { describe, expect, test } from "bun:test";
import { compileTemplate, isTemplate, renderTemplate } from "../../src/query/template.ts";
import { decodePreparedQuery, type PreparedQuery } from "../../src/structs/prepared_query.ts";

function query(body: Record<string, unknown>): PreparedQuery {
  return decodePreparedQuery(body);
}

describe("compile", () => {
  test("a query without a template type is refused; a basic template renders without changing its definition", () => {
    const q = query({});
    expect(() => compileTemplate(q)).toThrow("Bad Template");
    expect(isTemplate(q)).toBe(false);

    const t = query({
      Template: { Type: "name_prefix_match", Regexp: "^(hello)there$" },
      Service: { Service: "${name.full}", IgnoreCheckIDs: ["${match(1)}", "${agent.segment}"], Tags: ["${match(1)}", "${agent.segment}"] },
    });
    const backup = structuredClone(t);
    const ct = compileTemplate(t);
    expect(isTemplate(t)).toBe(true);
    const r = renderTemplate(ct, "hellothere", { segment: "segment-foo" });
    expect(r.Service.Service).toBe("hellothere");
    expect(r.Service.IgnoreCheckIDs).toEqual(["hello", "segment-foo"]);
    expect(r.Service.Tags).toEqual(["hello", "segment-foo"]);
    expect(t).toEqual(backup);
  });

  test("syntax errors, unknown variables and bad regexps are refused with Consul's words", () => {
    const base = { Template: { Type: "name_prefix_match" }, Service: { Service: "${name.full" } };
    expect(() => compileTemplate(query(base))).toThrow("Bad format");
    expect(() => compileTemplate(query({ ...base, Service: { Service: "${name.nope}" } }))).toThrow("unknown variable");
    expect(() => compileTemplate(query({ Template: { Type: "name_prefix_match", Regexp: "^(nope$" }, Service: { Service: "${name.full}" } }))).toThrow("Bad Regexp");
  });
});

describe("render", () => {
  test("an all-static template renders to itself", () => {
    const q = query({ Template: { Type: "name_prefix_match" }, Service: { Service: "hellothere" } });
    expect(renderTemplate(compileTemplate(q), "unused", {})).toEqual(q);
  });

  const all = {
    Name: "hello-",
    Template: { Type: "name_prefix_match", Regexp: "^(.*?)-(.*?)-(.*)$" },
    Service: {
      Service: "${name.prefix} xxx ${name.full} xxx ${name.suffix} xxx ${agent.segment}",
      Tags: ["${match(-1)}", "${match(0)}", "${match(1)}", "${match(2)}", "${match(3)}", "${match(4)}", "${40 + 2}"],
      NodeMeta: { foo: "${match(1)}" },
    },
  };

  test("every variable and function, with a name the regexp matches", () => {
    const r = renderTemplate(compileTemplate(query(all)), "hello-foo-bar-none", { segment: "segment-bar" });
    expect(r.Service.Service).toBe("hello- xxx hello-foo-bar-none xxx foo-bar-none xxx segment-bar");
    expect(r.Service.Tags).toEqual(["", "hello-foo-bar-none", "hello", "foo", "bar-none", "", "42"]);
    expect(r.Service.NodeMeta).toEqual({ foo: "hello" });
    expect(r.Name).toBe("hello-");
  });

  test("a name the regexp does not match gives empty matches", () => {
    const r = renderTemplate(compileTemplate(query(all)), "hello-nope", { segment: "segment-bar" });
    expect(r.Service.Service).toBe("hello- xxx hello-nope xxx nope xxx segment-bar");
    expect(r.Service.Tags).toEqual(["", "", "", "", "", "", "42"]);
    expect(r.Service.NodeMeta).toEqual({ foo: "" });
  });

  test("RemoveEmptyTags drops the tags that rendered empty", () => {
    const q = query({ ...all, Template: { ...all.Template, RemoveEmptyTags: true } });
    const ct = compileTemplate(q);
    expect(renderTemplate(ct, "hello-foo-bar-none", { segment: "segment-baz" }).Service.Tags).toEqual(["hello-foo-bar-none", "hello", "foo", "bar-none", "42"]);
    expect(renderTemplate(ct, "hello-nope", { segment: "segment-baz" }).Service.Tags).toEqual(["42"]);
  });

  test("every string of Service is rendered: failover datacenters, Near, ServiceMeta values, tiers", () => {
    const q = query({
      Name: "geo-db-",
      Template: { Type: "name_prefix_match", Regexp: "^geo-db-(.*?)-([^\\-]+?)$" },
      Service: {
        Service: "mysql-${match(1)}",
        Failover: { Datacenters: ["${match(2)}", "dc9"] },
        Near: "${match(2)}-node",
        ServiceMeta: { version: "${match(2)}" },
        Tiers: [{ Service: "${match(1)}-replica" }],
      },
    });
    const r = renderTemplate(compileTemplate(q), "geo-db-customer-primary", {});
    expect(r.Service.Service).toBe("mysql-customer");
    expect(r.Service.Failover.Datacenters).toEqual(["primary", "dc9"]);
    expect(r.Service.Near).toBe("primary-node");
    expect(r.Service.ServiceMeta).toEqual({ version: "primary" });
    expect(r.Service.Tiers?.[0]?.Service).toBe("customer-replica");
  });

  test("$${ is a literal ${", () => {
    const q = query({ Template: { Type: "name_prefix_match" }, Service: { Service: "$${name.full}-${name.full}" } });
    expect(renderTemplate(compileTemplate(q), "x", {}).Service.Service).toBe("${name.full}-x");
  });
});
