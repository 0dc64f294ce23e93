/** The prepared-queries table driven through `apply` with explicit indexes (log command type 7). */
import { describe, expect, test } from "bun:test";
import { type Command, MessageType, queryResolve, StateStore } from "../../src/state/mod.ts";
import { decodePreparedQuery } from "../../src/structs/prepared_query.ts";
import { check, createSession, expectUnchanged, register, registration, sessionBody, sessionDestroyCmd, storeWithNode } from "./helpers.ts";

const ID1 = "11111111-1111-4111-8111-111111111111";
const ID2 = "22222222-2222-4222-8222-222222222222";
const SESSION = "33333333-3333-4333-8333-333333333333";

function put(op: "create" | "update" | "delete", body: Record<string, unknown>): Command {
  return { Type: MessageType.PreparedQuery, Now: 0, Op: op, Query: decodePreparedQuery(body) };
}

describe("writes", () => {
  test("create, update keeps CreateIndex, names are unique case-insensitively, a name may not look like another query's ID", () => {
    const s = storeWithNode();
    expect(s.apply(2, put("create", { ID: ID1, Name: "web", Service: { Service: "web" } }))).toEqual({ ok: true, value: ID1 });
    expect(s.apply(3, put("update", { ID: ID1, Name: "web", Service: { Service: "web2" } })).ok).toBe(true);
    expect(s.t.preparedQueries.get(ID1)).toMatchObject({ CreateIndex: 2, ModifyIndex: 3, Service: { Service: "web2" } });
    expect(expectUnchanged(s, 4, put("create", { ID: ID2, Name: "WEB", Service: { Service: "x" } }))).toEqual({ ok: false, error: "name 'WEB' aliases an existing query name" });
    expect(expectUnchanged(s, 5, put("create", { ID: ID2, Name: ID1, Service: { Service: "x" } }))).toEqual({ ok: false, error: `name '${ID1}' aliases an existing query ID` });
    expect(expectUnchanged(s, 6, put("update", { ID: ID2, Name: "y", Service: { Service: "x" } })).ok).toBe(false);
    expect(s.apply(7, put("delete", { ID: ID1 })).ok).toBe(true);
    expect(s.t.preparedQueries.size).toBe(0);
    expect(s.t.queriesByName.size).toBe(0);
  });

  test("one catch-all template; a bad template is refused whole", () => {
    const s = storeWithNode();
    expect(s.apply(2, put("create", { ID: ID1, Name: "", Template: { Type: "name_prefix_match" }, Service: { Service: "${name.full}" } })).ok).toBe(true);
    expect(expectUnchanged(s, 3, put("create", { ID: ID2, Name: "", Template: { Type: "name_prefix_match" }, Service: { Service: "x" } })).ok).toBe(false);
    const bad = expectUnchanged(s, 4, put("create", { ID: ID2, Name: "t-", Template: { Type: "name_prefix_match", Regexp: "(" }, Service: { Service: "x" } }));
    expect(bad.ok ? "" : bad.error).toStartWith("failed compiling template: Bad Regexp");
  });

  test("a query bound to a session goes with it (destroyed, or invalidated by its check), in the same entry", () => {
    const s = new StateStore();
    register(s, 1, registration("n1", { Checks: [check("n1", "serfHealth")] }));
    createSession(s, 2, sessionBody(SESSION, "n1"));
    expect(s.apply(3, put("create", { ID: ID1, Session: SESSION, Service: { Service: "web" } })).ok).toBe(true);
    expect(s.apply(4, put("create", { ID: ID2, Session: "44444444-4444-4444-8444-444444444444", Service: { Service: "web" } }))).toEqual({
      ok: false,
      error: 'invalid session "44444444-4444-4444-8444-444444444444"',
    });
    s.apply(5, sessionDestroyCmd(SESSION));
    expect(s.t.preparedQueries.has(ID1)).toBe(false);
    createSession(s, 6, sessionBody(SESSION, "n1", { NodeChecks: ["serfHealth"] }));
    s.apply(7, put("create", { ID: ID1, Session: SESSION, Service: { Service: "web" } }));
    register(s, 8, registration("n1", { Checks: [check("n1", "serfHealth", { Status: "critical" })] }));
    expect(s.t.preparedQueries.has(ID1)).toBe(false);
    expect(s.t.queriesBySession.size).toBe(0);
  });
});

test("a snapshot keeps the queries, their indexes and resolution; a malformed one is refused whole", () => {
  const s = storeWithNode();
  s.apply(2, put("create", { ID: ID1, Name: "web", Service: { Service: "web" } }));
  s.apply(3, put("create", { ID: ID2, Name: "geo-", Template: { Type: "name_prefix_match", Regexp: "^geo-(.*)$" }, Service: { Service: "${match(1)}" } }));
  const copy = new StateStore();
  copy.restore(s.snapshot());
  expect(queryResolve(copy.t, "WEB", {}).value?.ID).toBe(ID1);
  expect(queryResolve(copy.t, "geo-db", {}).value?.Service.Service).toBe("db");
  expect(queryResolve(copy.t, "other", {}).value).toBeNull();
  const file = JSON.parse(new TextDecoder().decode(s.snapshot())) as { PreparedQueries: Record<string, unknown>[] };
  file.PreparedQueries[0]!.Template = 5;
  expect(() => new StateStore().restore(new TextEncoder().encode(JSON.stringify(file)))).toThrow("PreparedQueries[0] is malformed");
});
