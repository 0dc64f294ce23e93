import { afterAll, describe, expect, test } from "bun:test";
import { allowedMethods } from "../../src/http/methods.ts";
import { startHarness } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

describe("Go ServeMux matching of Consul's endpoint table", () => {
  test("exact patterns match only themselves, subtree patterns their subtree, the longest wins", () => {
    expect(allowedMethods("/v1/kv/a/b")).toEqual(["GET", "PUT", "DELETE"]);
    expect(allowedMethods("/v1/agent/service/register")).toEqual(["PUT"]);
    expect(allowedMethods("/v1/agent/service/web")).toEqual(["GET"]);
    expect(allowedMethods("/v1/acl/token/self")).toEqual(["GET"]);
    expect(allowedMethods("/v1/acl/token/abc")).toEqual(["GET", "PUT", "DELETE"]);
    expect(allowedMethods("/v1/catalog/nodes/extra")).toBeNull();
    expect(allowedMethods("/v1/query/abc")).toBeNull();
  });
});

describe("405 with Allow, and OPTIONS, as Consul's handler wrapper answers", () => {
  test("POST /v1/kv/x is refused with Consul's text and Allow, and writes nothing", async () => {
    const res = await h.request("/v1/kv/x", { method: "POST", body: "v" });
    expect(res.status).toBe(405);
    expect(await res.text()).toBe("method POST not allowed");
    expect(res.headers.get("Allow")).toBe("OPTIONS,GET,PUT,DELETE");
    expect((await h.get("/v1/kv/x")).status).toBe(404);
  });

  test("GET on check/pass (python-consul 0.7.1) is 405: Consul registers pass/warn/fail for PUT only", async () => {
    for (const verb of ["pass", "warn", "fail", "update"]) {
      const res = await h.get(`/v1/agent/check/${verb}/some-check`);
      expect(res.status).toBe(405);
      expect(await res.text()).toBe("method GET not allowed");
      expect(res.headers.get("Allow")).toBe("OPTIONS,PUT");
    }
  });

  test("a read-only endpoint refuses PUT and DELETE; HEAD too, as Consul does", async () => {
    for (const method of ["PUT", "DELETE", "HEAD"]) {
      const res = await h.request("/v1/catalog/nodes", { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("Allow")).toBe("OPTIONS,GET");
    }
  });

  test("OPTIONS answers 200 with Allow and no body, on exact and subtree endpoints", async () => {
    for (const [path, allow] of [
      ["/v1/kv/any/key", "OPTIONS,GET,PUT,DELETE"],
      ["/v1/txn", "OPTIONS,PUT"],
      ["/v1/agent/check/pass/c1", "OPTIONS,PUT"],
      ["/v1/connect/ca/configuration", "OPTIONS,GET,PUT"],
    ] as const) {
      const res = await h.request(path, { method: "OPTIONS" });
      expect(res.status).toBe(200);
      expect(res.headers.get("Allow")).toBe(allow);
      expect(await res.text()).toBe("");
    }
  });

  test("the right method still reaches the handler; unknown paths stay 404", async () => {
    expect((await h.put("/v1/kv/x", "v")).status).toBe(200);
    expect((await h.get("/v1/kv/x?raw")).status).toBe(200);
    expect((await h.request("/v1/nothing", { method: "POST" })).status).toBe(404);
  });
});
