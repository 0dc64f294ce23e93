import { afterAll, describe, expect, test } from "bun:test";
import { cleanPath } from "../../src/http/clean_path.ts";
import { startHarness } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

describe("Go's cleanPath", () => {
  test("collapses slashes, dots and dot-dots, keeps a trailing slash", () => {
    expect(cleanPath("/v1/kv//a/b")).toBe("/v1/kv/a/b");
    expect(cleanPath("/v1/kv/a/./b/")).toBe("/v1/kv/a/b/");
    expect(cleanPath("/v1/kv/x/../a")).toBe("/v1/kv/a");
    expect(cleanPath("/../..//")).toBe("/");
    expect(cleanPath("")).toBe("/");
    expect(cleanPath("/v1/kv/a/b")).toBe("/v1/kv/a/b");
  });
});

describe("unclean paths redirect 301 like Go's ServeMux", () => {
  test("GET /v1/kv//a/b goes to /v1/kv/a/b with the query kept, and the target answers", async () => {
    await h.putJson("/v1/kv/a/b", "v");
    const res = await h.get("/v1/kv//a/b?raw");
    expect(res.status).toBe(301);
    expect(res.headers.get("Location")).toBe("/v1/kv/a/b?raw");
    expect(await res.text()).toContain("Moved Permanently");
    const target = await h.get(res.headers.get("Location") ?? "");
    expect(target.status).toBe(200);
    expect(await target.text()).toBe("v");
  });

  test("a PUT is redirected too and writes nothing", async () => {
    const res = await h.put("/v1/kv//c//d", "x");
    expect(res.status).toBe(301);
    expect(res.headers.get("Location")).toBe("/v1/kv/c/d");
    expect((await h.get("/v1/kv/c/d")).status).toBe(404);
  });

  test("every route, including unknown ones, and a trailing slash is kept", async () => {
    for (const [path, location] of [
      ["//v1/catalog/nodes", "/v1/catalog/nodes"],
      ["/v1//agent/self", "/v1/agent/self"],
      ["/v1/kv//dir/?keys", "/v1/kv/dir/?keys"],
      ["/v1/nothing//here", "/v1/nothing/here"],
    ] as const) {
      const res = await h.get(path);
      expect(res.status).toBe(301);
      expect(res.headers.get("Location")).toBe(location);
    }
  });

  test("a clean path is not redirected", async () => {
    expect((await h.get("/v1/kv/a/b")).status).toBe(200);
  });
});
