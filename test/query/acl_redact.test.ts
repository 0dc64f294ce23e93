/** With ACLs on, a query's token reads as "<hidden>" unless the caller holds acl:write (Consul's redactPreparedQueryTokens). */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type AclHarness, ROOT, startAclHarness } from "../acl/_acl_harness.ts";

let h: AclHarness;
let id = "";
beforeAll(async () => {
  h = await startAclHarness({ defaultPolicy: "allow" });
  id = (await h.json<{ ID: string }>("POST", "/v1/query", { token: ROOT, body: { Name: "q", Token: "secret-token", Service: { Service: "db" } } })).ID;
});
afterAll(() => h.stop());

test("management sees the token; others see <hidden> in read, list and explain", async () => {
  expect((await h.json<{ Token: string }[]>("GET", `/v1/query/${id}`, { token: ROOT }))[0]!.Token).toBe("secret-token");
  expect((await h.json<{ Token: string }[]>("GET", `/v1/query/${id}`))[0]!.Token).toBe("<hidden>");
  expect((await h.json<{ Token: string }[]>("GET", "/v1/query"))[0]!.Token).toBe("<hidden>");
  expect((await h.json<{ Query: { Token: string } }>("GET", "/v1/query/q/explain")).Query.Token).toBe("<hidden>");
  expect((await h.json<{ Query: { Token: string } }>("GET", "/v1/query/q/explain", { token: ROOT })).Query.Token).toBe("secret-token");
  // Writing the redacted token back is refused, as in Consul.
  const res = await h.req("PUT", `/v1/query/${id}`, { token: ROOT, body: { Name: "q", Token: "<hidden>", Service: { Service: "db" } } });
  expect(res.status).toBe(500);
  expect(await res.text()).toContain("it looks like a query definition with a redacted token was submitted");
});
