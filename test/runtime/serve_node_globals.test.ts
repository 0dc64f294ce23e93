/**
 * A node:http listener (node-server) and the runtime's own listener in one
 * process: the first must leave the global Response as the runtime made it, or
 * the second refuses every answer (seen when test files share a process).
 */
import { expect, test } from "bun:test";
import { serveHttp } from "../../src/runtime/mod.ts";
import { serveNode } from "../../src/runtime/serve_node.ts";

test("the runtime's listener still answers after a node:http listener started in the same process", async () => {
  const before = globalThis.Response;
  const viaNode = await serveNode({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("node") }, null);
  const native = await serveHttp({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("native", { headers: { "x-consul-index": "7" } }) });
  try {
    expect((await (await fetch(`http://127.0.0.1:${viaNode.port}/`)).text())).toBe("node");
    const res = await fetch(`http://127.0.0.1:${native.port}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("native");
    expect(res.headers.get("x-consul-index")).toBe("7");
    expect(globalThis.Response).toBe(before);
  } finally {
    await viaNode.stop();
    await native.stop();
  }
});
