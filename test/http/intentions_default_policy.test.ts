/** default_intention_policy: the decision when no intention matches, on the server (check) and the agent (authorize). */
import { afterAll, expect, test } from "bun:test";
import { devConfig, mergeConfigObject } from "../../src/agent/config.ts";
import { ConfigError } from "../../src/agent/config_error.ts";
import { allowAll, createApp } from "../../src/http/mod.ts";
import { MemoryLog } from "../../src/log/mod.ts";
import { inProcessRpc } from "../../src/rpc/mod.ts";
import { Server } from "../../src/server/mod.ts";

const server = new Server({ datacenter: "dc1", nodeName: "n1", nodeId: "5bd7bb38-9e23-4f5a-8c2b-1d8a7b3f7e10", advertiseAddr: "10.0.0.1", serverPort: 8300, log: new MemoryLog(), defaultIntentionPolicy: "deny" });
await server.start();
afterAll(() => server.stop());
const app = createApp({
  server,
  rpc: inProcessRpc(server),
  agent: {
    nodeName: "n1",
    nodeId: "5bd7bb38-9e23-4f5a-8c2b-1d8a7b3f7e10",
    datacenter: "dc1",
    primaryDatacenter: "dc1",
    advertiseAddr: "10.0.0.1",
    bindAddr: "127.0.0.1",
    serverPort: 8300,
    serfLanPort: 8301,
    httpPort: () => 8500,
    server: true,
    version: "1.21.0",
    revision: "",
    startedAt: Date.now(),
    defaultIntentionPolicy: "deny",
  },
  limits: { kvMaxValueSize: 512 * 1024, txnMaxReqLen: 512 * 1024, txnMaxOps: 128 },
  authorizer: allowAll,
});
const req = (path: string, init?: RequestInit) => app.request(`http://consul.test${path}`, init);

test("with default_intention_policy = deny, an unmatched connection is denied, a matching allow still allows", async () => {
  expect(await (await req("/v1/connect/intentions/check?source=web&destination=db")).json()).toEqual({ Allowed: false });
  const authz = await req("/v1/agent/connect/authorize", { method: "POST", body: JSON.stringify({ Target: "db", ClientCertURI: "spiffe://t.consul/ns/default/dc/dc1/svc/web" }) });
  expect(await authz.json()).toEqual({ Authorized: false, Reason: "Default intention policy" });
  await req("/v1/connect/intentions/exact?source=web&destination=db", { method: "PUT", body: JSON.stringify({ Action: "allow" }) });
  expect(await (await req("/v1/connect/intentions/check?source=web&destination=db")).json()).toEqual({ Allowed: true });
});

test("the agent config key takes allow or deny only", () => {
  const cfg = devConfig();
  expect(cfg.defaultIntentionPolicy).toBe("");
  mergeConfigObject(cfg, { default_intention_policy: "deny" }, "a.json");
  expect(cfg.defaultIntentionPolicy).toBe("deny");
  expect(() => mergeConfigObject(cfg, { default_intention_policy: "maybe" }, "b.json")).toThrow(new ConfigError('b.json: default_intention_policy must be "allow" or "deny", got "maybe"'));
});
