import { describe, expect, test } from "bun:test";
import {
  authorizeConnection,
  authorizeRequest,
  findIntention,
  headerMatches,
  type HttpRequestInfo,
  intentionPrecedence,
  intentionString,
  sortByPrecedence,
} from "../../src/connect/mod.ts";
import type { Intention, IntentionPermission } from "../../src/structs/intention.ts";

function ixn(src: string, dst: string, action: "allow" | "deny" | null, perms?: IntentionPermission[]): Intention {
  const [sns, sname] = src.includes("/") ? src.split("/") as [string, string] : ["default", src];
  const [dns, dname] = dst.includes("/") ? dst.split("/") as [string, string] : ["default", dst];
  return {
    SourceNS: sns,
    SourceName: sname,
    DestinationNS: dns,
    DestinationName: dname,
    SourceType: "consul",
    ...(action ? { Action: action } : {}),
    ...(perms ? { Permissions: perms } : {}),
    Precedence: intentionPrecedence(sns, sname, dns, dname),
    CreateIndex: 1,
    ModifyIndex: 1,
  };
}

function req(method: string, path: string, headers: Record<string, string> = {}): HttpRequestInfo {
  return { method, path, headers: new Headers(headers) };
}

const allowDefault = { defaultAllow: true };
const denyDefault = { defaultAllow: false };

describe("precedence", () => {
  test("Consul's table: exact beats wildcard, destination counts more than source", () => {
    const cases: [string, string, string, string, number][] = [
      ["default", "web", "default", "db", 9],
      ["default", "*", "default", "db", 8],
      ["*", "*", "default", "db", 7],
      ["default", "web", "default", "*", 6],
      ["default", "*", "default", "*", 5],
      ["*", "*", "default", "*", 4],
      ["default", "web", "*", "*", 3],
      ["default", "*", "*", "*", 2],
      ["*", "*", "*", "*", 1],
    ];
    for (const [sns, s, dns, d, want] of cases) expect(intentionPrecedence(sns, s, dns, d)).toBe(want);
  });

  test("sorting puts higher precedence first and breaks ties by names", () => {
    const list = [ixn("*", "*", "allow"), ixn("web", "*", "allow"), ixn("b", "db", "deny"), ixn("a", "db", "deny"), ixn("*", "db", "allow")];
    const sorted = sortByPrecedence(list).map((i) => `${i.SourceName}->${i.DestinationName}:${i.Precedence}`);
    expect(sorted).toEqual(["a->db:9", "b->db:9", "*->db:8", "web->*:6", "*->*:5"]);
    // the input is left alone
    expect(list[0]!.SourceName).toBe("*");
  });
});

describe("L4 authorization", () => {
  test("an exact deny wins over a wildcard allow, and the reason names it", () => {
    const list = [ixn("*", "db", "allow"), ixn("web", "db", "deny")];
    const d = authorizeConnection(list, { name: "web" }, { name: "db" }, allowDefault);
    expect(d.allowed).toBe(false);
    expect(d.intention?.SourceName).toBe("web");
    expect(d.reason).toBe("Matched L4 intention: default/web => default/db (Precedence: 9, Action: DENY)");
    const other = authorizeConnection(list, { name: "api" }, { name: "db" }, denyDefault);
    expect(other.allowed).toBe(true);
    expect(other.reason).toBe("Matched L4 intention: default/* => default/db (Precedence: 8, Action: ALLOW)");
  });

  test("no match falls back to the default, worded as Consul words it", () => {
    const list = [ixn("web", "db", "deny")];
    expect(authorizeConnection(list, { name: "web" }, { name: "cache" }, allowDefault)).toMatchObject({
      allowed: true,
      intention: null,
      reason: "Default behavior configured by ACLs",
    });
    expect(authorizeConnection([], { name: "web" }, { name: "db" }, { defaultAllow: false, defaultFromIntentionPolicy: true })).toMatchObject({
      allowed: false,
      reason: "Default intention policy",
    });
  });

  test("a matching L7 intention counts as deny when there is no request to judge", () => {
    const list = [ixn("web", "db", null, [{ Action: "allow", HTTP: { PathPrefix: "/" } }])];
    const d = authorizeConnection(list, { name: "web" }, { name: "db" }, allowDefault);
    expect(d.allowed).toBe(false);
    expect(d.hasPermissions).toBe(true);
    expect(d.reason).toBe("Matched L7 intention: default/web => default/db (Precedence: 9, Permissions: 1)");
  });

  test("namespaces and partitions must match; legacy IDs appear in the wording", () => {
    const list = [{ ...ixn("web", "db", "deny"), ID: "abc" }];
    expect(findIntention(list, { name: "web", namespace: "other" }, { name: "db" })).toBeNull();
    expect(findIntention(list, { name: "web" }, { name: "db", partition: "p2" })).toBeNull();
    expect(intentionString(list[0]!)).toBe("default/web => default/db (ID: abc, Precedence: 9, Action: DENY)");
  });
});

describe("L7 authorization", () => {
  const perms: IntentionPermission[] = [
    { Action: "deny", HTTP: { PathExact: "/admin", Methods: ["POST"] } },
    { Action: "allow", HTTP: { PathPrefix: "/" } },
  ];
  const list = [ixn("web", "db", null, perms), ixn("*", "db", "deny")];

  test("the first matching permission is terminal", () => {
    const post = authorizeRequest(list, { name: "web" }, { name: "db" }, req("POST", "/admin?x=1"), denyDefault);
    expect(post.allowed).toBe(false);
    expect(post.permissionIndex).toBe(0);
    const get = authorizeRequest(list, { name: "web" }, { name: "db" }, req("GET", "/admin"), denyDefault);
    expect(get.allowed).toBe(true);
    expect(get.permissionIndex).toBe(1);
  });

  test("a lower-precedence intention never applies to a source a higher one matched", () => {
    const only = [ixn("web", "db", null, [{ Action: "allow", HTTP: { PathExact: "/ok" } }]), ixn("*", "db", "deny")];
    const d = authorizeRequest(only, { name: "web" }, { name: "db" }, req("GET", "/other"), allowDefault);
    // no permission matched: the default (allow) decides, not the *->db deny
    expect(d.allowed).toBe(true);
    expect(d.permission).toBeNull();
    expect(d.intention?.SourceName).toBe("web");
    const api = authorizeRequest(only, { name: "api" }, { name: "db" }, req("GET", "/ok"), allowDefault);
    expect(api.allowed).toBe(false);
  });

  test("an L4 intention decides every request", () => {
    const d = authorizeRequest([ixn("web", "db", "allow")], { name: "web" }, { name: "db" }, req("DELETE", "/x"), denyDefault);
    expect(d.allowed).toBe(true);
    expect(d.reason).toContain("Matched L4 intention");
  });

  test("path regex is a full RE2 match", () => {
    const l = [ixn("web", "db", null, [{ Action: "allow", HTTP: { PathRegex: "/v[0-9]+/items" } }])];
    expect(authorizeRequest(l, { name: "web" }, { name: "db" }, req("GET", "/v2/items"), denyDefault).allowed).toBe(true);
    expect(authorizeRequest(l, { name: "web" }, { name: "db" }, req("GET", "/v2/items/1"), denyDefault).allowed).toBe(false);
  });

  test("header matchers: present, exact, prefix, suffix, regex, invert; absent headers", () => {
    const r = req("GET", "/", { "x-env": "prod-eu", "content-type": "application/json" });
    expect(headerMatches({ Name: "X-Env", Present: true }, r)).toBe(true);
    expect(headerMatches({ Name: "x-missing", Present: true }, r)).toBe(false);
    expect(headerMatches({ Name: "x-missing", Present: true, Invert: true }, r)).toBe(true);
    expect(headerMatches({ Name: "x-missing", Exact: "a", Invert: true }, r)).toBe(false);
    expect(headerMatches({ Name: "x-env", Exact: "prod-eu" }, r)).toBe(true);
    expect(headerMatches({ Name: "x-env", Exact: "prod" }, r)).toBe(false);
    expect(headerMatches({ Name: "x-env", Prefix: "prod-" }, r)).toBe(true);
    expect(headerMatches({ Name: "x-env", Suffix: "-us" }, r)).toBe(false);
    expect(headerMatches({ Name: "x-env", Suffix: "-us", Invert: true }, r)).toBe(true);
    expect(headerMatches({ Name: "x-env", Regex: "prod-(eu|us)" }, r)).toBe(true);
    expect(headerMatches({ Name: "x-env", Regex: "prod" }, r)).toBe(false);
    expect(headerMatches({ Name: ":method", Exact: "GET" }, r)).toBe(true);
    expect(headerMatches({ Name: ":path", Exact: "/" }, r)).toBe(true);
  });

  test("all conditions of a permission must hold", () => {
    const l = [
      ixn("web", "db", null, [
        { Action: "allow", HTTP: { PathPrefix: "/api", Methods: ["GET", "HEAD"], Header: [{ Name: "x-user", Present: true }] } },
      ]),
    ];
    const ok = (r: HttpRequestInfo) => authorizeRequest(l, { name: "web" }, { name: "db" }, r, denyDefault).allowed;
    expect(ok(req("GET", "/api/x", { "x-user": "1" }))).toBe(true);
    expect(ok(req("GET", "/api/x"))).toBe(false);
    expect(ok(req("POST", "/api/x", { "x-user": "1" }))).toBe(false);
    expect(ok(req("HEAD", "/other", { "x-user": "1" }))).toBe(false);
  });
});
