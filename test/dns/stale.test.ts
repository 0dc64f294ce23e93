/**
 * allow_stale / max_stale on a client agent's DNS (Consul's agent/dns.go):
 * stale reads bounded by max_stale, asked again without stale when the
 * server's answer is older than that, and default reads without allow_stale.
 */
import { describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { dnsReadOptions } from "../../src/dns/agent_dns.ts";
import { defaultDnsOptions, resolveDnsConfig, startAgentDns } from "../../src/dns/mod.ts";
import { resolveOverRpc } from "../../src/dns/rpc_lookup.ts";
import { freePort } from "../e2e/_agent.ts";
import { Catalog, decode, queryBytes, rows, service } from "./_fixture.ts";
import type { ArgsOf, Method, ReplyOf, RequestOptions, Rpc } from "../../src/rpc/mod.ts";

class StaleServer implements Rpc {
  readonly asked: RequestOptions[] = [];
  /** LastContact of a stale answer (ms); default reads always come back fresh. */
  lag = 0;
  call<M extends Method>(method: M, args: ArgsOf<M>, opts: RequestOptions): Promise<ReplyOf<M>> {
    expect(method).toBe("Internal.DNSLookup" as M);
    this.asked.push(opts);
    const fresh = opts.consistency !== "stale";
    const ops = (args as ArgsOf<"Internal.DNSLookup">).Ops;
    const value = ops.map(() => (fresh ? "10.0.0.1" : "10.9.9.9"));
    return Promise.resolve({ index: 7, value, lastContact: fresh ? 0 : this.lag } as ReplyOf<M>);
  }
}

const ask = (rpc: Rpc, stale?: { allowStale: boolean; maxStaleMs: number }) => resolveOverRpc(rpc, "dc1", (l) => l.virtualIp("dc1", "web"), stale);

test("allow_stale: one stale read, bounded by max_stale, while the server is recent enough", async () => {
  const s = new StaleServer();
  s.lag = 4000;
  expect(await ask(s, { allowStale: true, maxStaleMs: 5000 })).toBe("10.9.9.9");
  expect(s.asked).toEqual([{ datacenter: "dc1", minIndex: 0, waitMs: 0, consistency: "stale", maxStaleMs: 5000 }]);
});

test("an answer older than max_stale is asked again without stale", async () => {
  const s = new StaleServer();
  s.lag = 6000;
  expect(await ask(s, { allowStale: true, maxStaleMs: 5000 })).toBe("10.0.0.1");
  expect(s.asked.map((o) => o.consistency)).toEqual(["stale", "default"]);
});

test("without allow_stale every read is a default one", async () => {
  const s = new StaleServer();
  s.lag = 60_000;
  expect(await ask(s, { allowStale: false, maxStaleMs: 5000 })).toBe("10.0.0.1");
  expect(s.asked.map((o) => o.consistency)).toEqual(["default"]);
});

describe("a server agent's DNS in a cluster", () => {
  async function ask(port: number, name: string): Promise<{ rcode: string; rows: string[] }> {
    const sock = createSocket("udp4");
    const reply = await new Promise<Buffer | null>((resolve) => {
      const t = setTimeout(() => resolve(null), 2000);
      sock.on("message", (m) => {
        clearTimeout(t);
        resolve(m);
      });
      sock.send(queryBytes(name, "A"), port, "127.0.0.1");
    });
    sock.close();
    if (!reply) throw new Error("no answer");
    const d = decode(reply);
    return { rcode: d.rcode, rows: rows(d.answers) };
  }

  test("asks the read gate with allow_stale/max_stale, waits for it, and answers SERVFAIL when it fails", async () => {
    const catalog = new Catalog().service("a1", "10.1.0.1", service("api", "api"));
    const seen: RequestOptions[] = [];
    let gate: Promise<void> | null = null;
    const stale = resolveDnsConfig({ datacenter: "dc1", nodeName: "server1", options: { ...defaultDnsOptions(), maxStaleMs: 5000 } });
    const dns = (await startAgentDns({
      host: "127.0.0.1",
      port: await freePort(),
      config: stale,
      state: catalog.store,
      serverPort: 8300,
      readGate: (o) => {
        seen.push(o);
        return gate;
      },
    }))!;
    try {
      expect(await ask(dns.port, "api.service.consul")).toEqual({ rcode: "NOERROR", rows: ["api.service.consul A 10.1.0.1"] });
      expect(seen[0]).toMatchObject({ consistency: "stale", maxStaleMs: 5000 });
      // Behind the leader: the answer waits until the replica has applied what it had (here, a2).
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      const pending = ask(dns.port, "api.service.consul");
      await new Promise((r) => setTimeout(r, 50));
      catalog.service("a2", "10.1.0.2", service("api", "api"));
      release();
      expect((await pending).rows.sort()).toEqual(["api.service.consul A 10.1.0.1", "api.service.consul A 10.1.0.2"]);
      gate = Promise.reject(new Error("No cluster leader"));
      gate.catch(() => {});
      expect((await ask(dns.port, "api.service.consul")).rcode).toBe("SERVFAIL");
    } finally {
      await dns.stop();
    }
    const strict = resolveDnsConfig({ datacenter: "dc1", nodeName: "server1", options: { ...defaultDnsOptions(), allowStale: false } });
    expect(dnsReadOptions(strict)).toMatchObject({ consistency: "default" });
  });
});
