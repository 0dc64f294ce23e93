/** Recursors: forwarding names outside the domain, SERVFAIL when every upstream fails, CNAME chasing. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { UpstreamRecursor } from "../../src/dns/mod.ts";
import { AA, ask, Catalog, env, RA, rows, service } from "./_fixture.ts";
import { startUpstream, type Upstream } from "./_upstream.ts";

let up: Upstream;
const recursors: UpstreamRecursor[] = [];
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(async () => {
  for (const r of recursors) r.close();
  await up.stop();
});

function withRecursor(catalog: Catalog, servers: string[], timeoutMs = 300) {
  const e = env(catalog, { recursorTimeoutMs: timeoutMs }, { recursors: servers });
  const r = new UpstreamRecursor({ servers: e.config.recursors, timeoutMs, strategy: "sequential" });
  recursors.push(r);
  e.recursor = r;
  return e;
}

test("a name outside the domain is forwarded (UDP and TCP) and the upstream reply returned", async () => {
  const e = withRecursor(new Catalog(), [`127.0.0.1:${up.port}`]);
  for (const transport of ["udp", "tcp"] as const) {
    const r = await ask(e, "www.example.com", "A", { transport, id: 777 });
    expect(r.id).toBe(777);
    expect(r.rcode).toBe("NOERROR");
    expect(rows(r.answers)).toEqual(["www.example.com A 203.0.113.7"]);
    expect(r.flags & RA).toBe(RA);
  }
  const nx = await ask(e, "nothing.test", "A");
  expect(nx.rcode).toBe("NXDOMAIN");
});

test("SERVFAIL when the upstream fails or times out; a failing recursor is skipped for the next", async () => {
  const dead = withRecursor(new Catalog(), [`127.0.0.1:${up.port}`], 200);
  const started = Date.now();
  const slow = await ask(dead, "slow.example.com", "A");
  expect(slow.rcode).toBe("SERVFAIL");
  expect(slow.flags & RA).toBe(RA);
  expect(Date.now() - started).toBeGreaterThanOrEqual(180);
  expect(Date.now() - started).toBeLessThan(2000);
  expect((await ask(dead, "broken.example.com", "A")).rcode).toBe("SERVFAIL");

  // 127.0.0.1:9 has nobody listening: the next recursor answers.
  const fallback = withRecursor(new Catalog(), ["127.0.0.1:9", `127.0.0.1:${up.port}`], 200);
  expect(rows((await ask(fallback, "www.example.com", "A")).answers)).toEqual(["www.example.com A 203.0.113.7"]);
});

test("with recursors, our answers advertise recursion; PTR misses are forwarded", async () => {
  const e = withRecursor(new Catalog().service("n1", "10.0.0.1", service("web", "web")), [`127.0.0.1:${up.port}`]);
  const r = await ask(e, "web.service.consul", "A");
  expect(r.flags & (AA | RA)).toBe(AA | RA);
  const ptr = await ask(e, "9.9.9.9.in-addr.arpa", "PTR");
  expect(ptr.rcode).toBe("NXDOMAIN");
  expect(up.seen).toContain("9.9.9.9.in-addr.arpa PTR");
});

test("a service on an external hostname: CNAME plus the upstream's A records", async () => {
  const e = withRecursor(new Catalog().service("n1", "10.0.0.1", service("ext", "ext", { Address: "api.example.com", Port: 443 })), [`127.0.0.1:${up.port}`]);
  expect(rows((await ask(e, "ext.service.consul", "A")).answers)).toEqual(["ext.service.consul CNAME api.example.com", "api.example.com A 203.0.113.7"]);
  const srv = await ask(e, "ext.service.consul", "SRV");
  expect(rows(srv.answers)).toEqual(["ext.service.consul SRV 1 1 443 api.example.com"]);
  expect(rows(srv.additionals)).toEqual(["api.example.com A 203.0.113.7"]);
});
