/**
 * End to end: `consulate agent` as a process, catalog entries registered over
 * HTTP, and every DNS form asked with dig (Debian dnsutils) over UDP and TCP,
 * including a truncated UDP answer that dig retries over TCP.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type AgentProcess, freePort, startAgent, tempDir } from "../e2e/_agent.ts";
import { startUpstream, type Upstream } from "./_upstream.ts";

interface Dig {
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  additional: string[];
  output: string;
}

let agent: AgentProcess;
let dnsPort = 0;
let upstream: Upstream;
let removeDir: () => Promise<void> = async () => {};

/** Runs dig without blocking: the upstream recursor lives in this process. */
async function dig(name: string, type: string, ...opts: string[]): Promise<Dig> {
  const child = spawn("dig", [`@127.0.0.1`, "-p", String(dnsPort), name, type, "+time=2", "+tries=1", ...opts]);
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  await new Promise<void>((r) => child.once("close", () => r()));
  const status = /status: (\w+)/.exec(output)?.[1] ?? "NONE";
  const flags = (/;; flags: ([a-z ]+);/.exec(output)?.[1] ?? "").trim().split(/\s+/);
  const sections: Record<string, string[]> = { ANSWER: [], AUTHORITY: [], ADDITIONAL: [] };
  let current: string | null = null;
  for (const line of output.split("\n")) {
    const header = /^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line);
    if (header) {
      current = header[1]!;
      continue;
    }
    if (line.trim() === "" || line.startsWith(";")) {
      if (line.trim() === "") current = null;
      continue;
    }
    if (current) sections[current]!.push(line.split(/\s+/).filter((_, i) => i !== 1).join(" "));
  }
  return { status, flags, answer: sections.ANSWER!, authority: sections.AUTHORITY!, additional: sections.ADDITIONAL!, output };
}

async function put(path: string, body: unknown): Promise<void> {
  const r = await fetch(`${agent.base}${path}`, { method: "PUT", body: JSON.stringify(body) });
  expect(r.status).toBe(200);
}

beforeAll(async () => {
  expect(spawnSync("dig", ["-v"]).status).toBe(0);
  upstream = await startUpstream();
  const dir = await tempDir("consulate-dns-e2e-");
  removeDir = dir.remove;
  const config = join(dir.path, "dns.json");
  await writeFile(config, JSON.stringify({ dns_config: { enable_truncate: true, node_ttl: "10s", service_ttl: { "*": "5s" } } }));
  dnsPort = await freePort();
  agent = await startAgent(["-dev", "-node", "dns-e2e", "-dns-port", String(dnsPort), "-alt-domain", "alt.test", "-recursor", `127.0.0.1:${upstream.port}`, "-config-file", config]);
  await put("/v1/catalog/register", { Node: "web1", Address: "10.0.0.1", NodeMeta: { rack: "r1" }, Service: { Service: "web", Port: 80, Tags: ["blue"] } });
  await put("/v1/catalog/register", { Node: "web2", Address: "10.0.0.2", Service: { Service: "web", Port: 81 } });
  await put("/v1/catalog/register", {
    Node: "web3",
    Address: "10.0.0.3",
    Service: { Service: "web", Port: 82 },
    Checks: [{ CheckID: "down", Name: "down", Status: "critical", ServiceID: "web" }],
  });
  await put("/v1/catalog/register", { Node: "web1", Address: "10.0.0.1", NodeMeta: { rack: "r1" }, Service: { ID: "web-proxy", Service: "web-sidecar-proxy", Kind: "connect-proxy", Port: 21000, Proxy: { DestinationServiceName: "web" } } });
  await put("/v1/catalog/register", { Node: "gw", Address: "10.0.0.9", Service: { Service: "ingress-gateway", Kind: "ingress-gateway", Port: 8080 } });
  await put("/v1/config", { Kind: "ingress-gateway", Name: "ingress-gateway", Listeners: [{ Port: 8080, Protocol: "tcp", Services: [{ Name: "web" }] }] });
  await put("/v1/catalog/register", { Node: "ext", Address: "api.example.com" });
  for (let i = 1; i <= 10; i++) await put("/v1/catalog/register", { Node: `big${i}`, Address: `10.1.0.${i}`, Service: { Service: "big", Port: 9000 + i } });
}, 30_000);

afterAll(async () => {
  await agent?.stop();
  await upstream?.stop();
  await removeDir();
});

for (const transport of ["udp", "tcp"] as const) {
  describe(`dig over ${transport}`, () => {
    const opt = transport === "tcp" ? ["+tcp"] : [];

    test("service A, tag, datacenter, alt domain; critical instances left out; service_ttl", async () => {
      const a = await dig("web.service.consul", "A", ...opt);
      expect(a.status).toBe("NOERROR");
      expect(a.flags).toContain("aa");
      expect(a.answer.sort()).toEqual(["web.service.consul. IN A 10.0.0.1", "web.service.consul. IN A 10.0.0.2"]);
      expect(a.output).toMatch(/web\.service\.consul\.\s+5\s+IN\s+A/);
      expect((await dig("blue.web.service.consul", "A", ...opt)).answer).toEqual(["blue.web.service.consul. IN A 10.0.0.1"]);
      expect((await dig("web.service.dc1.consul", "A", ...opt)).answer).toHaveLength(2);
      expect((await dig("web.service.alt.test", "A", ...opt)).answer.sort()).toEqual(["web.service.alt.test. IN A 10.0.0.1", "web.service.alt.test. IN A 10.0.0.2"]);
    });

    test("SRV and RFC 2782 forms with glue", async () => {
      const srv = await dig("web.service.consul", "SRV", ...opt);
      expect(srv.answer.sort()).toEqual(["web.service.consul. IN SRV 1 1 80 web1.node.dc1.consul.", "web.service.consul. IN SRV 1 1 81 web2.node.dc1.consul."]);
      expect(srv.additional.filter((l) => !l.includes("OPT")).sort()).toEqual([
        'web1.node.dc1.consul. IN TXT "rack=r1"',
        "web1.node.dc1.consul. IN A 10.0.0.1",
        "web2.node.dc1.consul. IN A 10.0.0.2",
      ].sort());
      expect((await dig("_web._tcp.service.consul", "SRV", ...opt)).answer).toHaveLength(2);
      expect((await dig("_web._blue.service.dc1.consul", "SRV", ...opt)).answer).toEqual(["_web._blue.service.dc1.consul. IN SRV 1 1 80 web1.node.dc1.consul."]);
    });

    test("nodes: A with meta TXT, TXT, CNAME for a hostname, node_ttl", async () => {
      const a = await dig("web1.node.consul", "A", ...opt);
      expect(a.answer).toEqual(["web1.node.consul. IN A 10.0.0.1"]);
      expect(a.additional).toContain('web1.node.consul. IN TXT "rack=r1"');
      expect(a.output).toMatch(/web1\.node\.consul\.\s+10\s+IN\s+A/);
      expect((await dig("web1.node.dc1.consul", "TXT", ...opt)).answer).toEqual(['web1.node.dc1.consul. IN TXT "rack=r1"']);
      expect((await dig("ext.node.consul", "A", ...opt)).answer).toEqual(["ext.node.consul. IN CNAME api.example.com.", "api.example.com. IN A 203.0.113.7"]);
    });

    test("connect, ingress, virtual, addr, query", async () => {
      expect((await dig("web.connect.consul", "SRV", ...opt)).answer).toEqual(["web.connect.consul. IN SRV 1 1 21000 web1.node.dc1.consul."]);
      expect((await dig("web.ingress.consul", "A", ...opt)).answer).toEqual(["web.ingress.consul. IN A 10.0.0.9"]);
      // web's proxy got web a virtual IP: the catalog shows it on the proxy, DNS answers it
      const [proxy] = (await (await fetch(`${agent.base}/v1/catalog/service/web-sidecar-proxy`)).json()) as { ServiceTaggedAddresses: Record<string, { Address: string; Port: number }> }[];
      expect(proxy!.ServiceTaggedAddresses["consul-virtual"]).toEqual({ Address: "240.0.0.1", Port: 21000 });
      expect((await dig("web.virtual.consul", "A", ...opt)).answer).toEqual(["web.virtual.consul. IN A 240.0.0.1"]);
      expect((await dig("0a000001.addr.dc1.consul", "A", ...opt)).answer).toEqual(["0a000001.addr.dc1.consul. IN A 10.0.0.1"]);
      const q = await dig("web.query.consul", "A", ...opt);
      expect(q.status).toBe("NXDOMAIN");
      expect(q.authority[0]).toMatch(/^consul\. IN SOA ns\.consul\. hostmaster\.consul\. \d+ 3600 600 86400 0$/);
    });

    test("NXDOMAIN vs NODATA, other datacenters, SOA, NS, PTR", async () => {
      expect((await dig("nope.service.consul", "A", ...opt)).status).toBe("NXDOMAIN");
      expect((await dig("web.service.dc2.consul", "A", ...opt)).status).toBe("NXDOMAIN");
      const nodata = await dig("web.service.consul", "AAAA", ...opt);
      expect(nodata.status).toBe("NOERROR");
      expect(nodata.answer).toEqual([]);
      expect(nodata.authority).toHaveLength(1);
      expect((await dig("consul", "SOA", ...opt)).answer[0]).toMatch(/^consul\. IN SOA ns\.consul\. hostmaster\.consul\./);
      expect((await dig("consul", "NS", ...opt)).answer).toEqual(["consul. IN NS dns-e2e.node.dc1.consul."]);
      expect((await dig("-x", "10.0.0.2", ...opt)).answer).toEqual(["2.0.0.10.in-addr.arpa. IN PTR web2.node.dc1.consul."]);
    });

    test("0x20: the reply keeps the case the client asked in; matching ignores it", async () => {
      const a = await dig("WeB.SeRvIcE.CoNsUl", "A", ...opt);
      expect(a.output).toMatch(/^;WeB\.SeRvIcE\.CoNsUl\.\s+IN\s+A$/m);
      expect(a.answer.sort()).toEqual(["WeB.SeRvIcE.CoNsUl. IN A 10.0.0.1", "WeB.SeRvIcE.CoNsUl. IN A 10.0.0.2"]);
      const srv = await dig("wEb.service.DC1.consul", "SRV", ...opt);
      expect(srv.answer.sort()).toEqual(["wEb.service.DC1.consul. IN SRV 1 1 80 web1.node.dc1.consul.", "wEb.service.DC1.consul. IN SRV 1 1 81 web2.node.dc1.consul."]);
      expect((await dig("WEB1.NODE.CONSUL", "A", ...opt)).answer).toEqual(["WEB1.NODE.CONSUL. IN A 10.0.0.1"]);
      const nx = await dig("NoPe.SeRvIcE.CoNsUl", "A", ...opt);
      expect(nx.status).toBe("NXDOMAIN");
      expect(nx.output).toMatch(/^;NoPe\.SeRvIcE\.CoNsUl\.\s+IN\s+A$/m);
    });

    test("names outside the domain go to the recursor", async () => {
      const r = await dig("www.example.com", "A", ...opt);
      expect(r.status).toBe("NOERROR");
      expect(r.flags).toContain("ra");
      expect(r.answer).toEqual(["www.example.com. IN A 203.0.113.7"]);
      expect((await dig("missing.test", "A", ...opt)).status).toBe("NXDOMAIN");
    });
  });
}

test("a truncated UDP answer (TC, 3 records) is retried over TCP in full", async () => {
  const udpOnly = await dig("big.service.consul", "A", "+noedns", "+ignore");
  expect(udpOnly.flags).toContain("tc");
  expect(udpOnly.answer).toHaveLength(3);
  const retried = await dig("big.service.consul", "A", "+noedns");
  expect(retried.output).toContain("Truncated, retrying in TCP mode");
  expect(retried.flags).not.toContain("tc");
  expect(retried.answer).toHaveLength(10);
  // With EDNS the whole answer fits in one UDP datagram.
  expect((await dig("big.service.consul", "A", "+bufsize=4096")).answer).toHaveLength(10);
});
