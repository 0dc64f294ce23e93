/**
 * allow_stale / max_stale on a client agent's DNS (Consul's agent/dns.go):
 * stale reads bounded by max_stale, asked again without stale when the
 * server's answer is older than that, and default reads without allow_stale.
 */
import { expect, test } from "bun:test";
import { resolveOverRpc } from "../../src/dns/rpc_lookup.ts";
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

const ask = (rpc: Rpc, stale?: { allowStale: boolean; maxStaleMs: number }) => resolveOverRpc(rpc, "dc1", (l) => l.virtualIp("web"), stale);

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
