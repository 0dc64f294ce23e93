/**
 * A client agent's DNS: the handler's catalog questions go to a server over
 * the RPC port (real sockets, dig as the client).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { resolveDnsConfig, type RunningDns, startAgentDns } from "../../src/dns/mod.ts";
import { MemoryLog } from "../../src/log/mod.ts";
import { defaultOptions, listenRpc, type RpcListener, ServerRouter, staticServers } from "../../src/rpc/mod.ts";
import { Server } from "../../src/server/mod.ts";
import { defaultDnsOptions } from "../../src/dns/mod.ts";
import { freePort } from "../e2e/_agent.ts";
import { digAt } from "./_dig.ts";

let server: Server;
let listener: RpcListener;
let router: ServerRouter;
let dns: RunningDns;
let orphan: RunningDns;
let orphanRouter: ServerRouter;

function dnsConfig() {
  return resolveDnsConfig({ domain: "consul.", altDomain: "", datacenter: "dc1", nodeName: "client1", recursors: [], translateWanAddrs: false, options: defaultDnsOptions() });
}

beforeAll(async () => {
  server = new Server({ datacenter: "dc1", nodeName: "srv", nodeId: crypto.randomUUID(), advertiseAddr: "127.0.0.1", serverPort: 8300, log: new MemoryLog() });
  await server.start();
  listener = await listenRpc({ host: "127.0.0.1", port: 0, server });
  router = new ServerRouter({ source: staticServers([{ name: "srv", host: "127.0.0.1", port: listener.port }]) });
  const o = defaultOptions("dc1");
  for (const [node, addr, port] of [["web-a", "10.0.0.1", 80], ["web-b", "10.0.0.2", 81]] as const) {
    await router.call(
      "Catalog.Register",
      {
        ID: "",
        Node: node,
        Address: addr,
        Datacenter: "dc1",
        TaggedAddresses: {},
        NodeMeta: {},
        Service: { Kind: "", ID: "web", Service: "web", Tags: ["v1"], Address: "", TaggedAddresses: {}, Meta: {}, Port: port, SocketPath: "", Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {}, Locality: null },
        Checks: [],
        SkipNodeUpdate: false,
      },
      o,
    );
  }
  dns = (await startAgentDns({ host: "127.0.0.1", port: await freePort(), config: dnsConfig(), rpc: router, serverPort: 8300 }))!;
  orphanRouter = new ServerRouter({ source: staticServers([]) });
  orphan = (await startAgentDns({ host: "127.0.0.1", port: await freePort(), config: dnsConfig(), rpc: orphanRouter, serverPort: 8300 }))!;
});

afterAll(async () => {
  await dns?.stop();
  await orphan?.stop();
  router?.close();
  orphanRouter?.close();
  await listener?.stop();
  await server?.stop();
});

const dig = digAt;

test("service A and SRV answers come from the server's catalog", async () => {
  const a = await dig(dns.port, "web.service.consul", "A", "+short");
  expect(a.trim().split("\n").sort()).toEqual(["10.0.0.1", "10.0.0.2"]);
  const srv = await dig(dns.port, "_web._v1.service.consul", "SRV");
  expect(srv).toContain("status: NOERROR");
  expect(srv).toMatch(/SRV\s+1 1 80 /);
  expect(srv).toMatch(/SRV\s+1 1 81 /);
});

test("node lookups and unknown names", async () => {
  expect((await dig(dns.port, "web-b.node.consul", "A", "+short")).trim()).toBe("10.0.0.2");
  expect(await dig(dns.port, "nope.service.consul", "A")).toContain("status: NXDOMAIN");
});

test("with no server to ask, the answer is SERVFAIL for the same question", async () => {
  const out = await dig(orphan.port, "web.service.consul", "A");
  expect(out).toContain("status: SERVFAIL");
  expect(out).toMatch(/QUESTION SECTION:\n;web\.service\.consul\.\s+IN\s+A/);
});
