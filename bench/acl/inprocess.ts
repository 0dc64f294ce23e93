/**
 * What ACLs cost a KV GET without sockets: the HTTP API answered in-process
 * (`app.request()`, the same routes, middleware and RPC table as an agent)
 * by one server with ACLs off and one with ACLs on (default deny, a token
 * whose policy has 50 rules), alternated in rounds; CPU time of this process
 * per request, median of the rounds. Quieter than bench/acl/run.ts on a
 * shared machine, since no other process's load lands in the figure.
 *
 *     bun bench/acl/inprocess.ts [requests-per-round=5000] [rounds=7]
 */
import { ROOT, startAclHarness } from "../../test/acl/_acl_harness.ts";
import { benchRules } from "./rules.ts";

const [perRound = 5000, rounds = 7] = process.argv.slice(2).map(Number);

async function side(enabled: boolean) {
  const h = await startAclHarness({ enabled });
  let token = "";
  if (enabled) {
    // The leader writes the management token just after start.
    for (let attempt = 0; token === ""; attempt++) {
      const p = await h.req("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "bench", Rules: benchRules().join("\n") } });
      if (p.status === 200) {
        const id = ((await p.json()) as { ID: string }).ID;
        token = (await h.json<{ SecretID: string }>("PUT", "/v1/acl/token", { token: ROOT, body: { Policies: [{ ID: id }] } })).SecretID;
      } else if (attempt > 50) throw new Error(`policy: ${p.status} ${await p.text()}`);
      else await Bun.sleep(100);
    }
  }
  await h.json("PUT", "/v1/kv/bench/key", { token: ROOT, body: "x".repeat(64) });
  return { h, opts: enabled ? { token } : {} };
}

/** CPU time of this process per GET, in µs. */
async function round(s: Awaited<ReturnType<typeof side>>, n: number): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const r = await s.h.req("GET", "/v1/kv/bench/key", s.opts);
    if (r.status !== 200) throw new Error(`GET: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const off = await side(false);
const on = await side(true);
try {
  // Warm-up (JIT, caches): a few rounds each, not counted.
  for (let w = 0; w < 3; w++) {
    await round(off, perRound);
    await round(on, perRound);
  }
  const offs: number[] = [];
  const ons: number[] = [];
  for (let r = 0; r < rounds; r++) {
    offs.push(await round(off, perRound));
    ons.push(await round(on, perRound));
  }
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(", ");
  console.log(`KV GET in-process, ${rounds} rounds of ${perRound} requests, CPU µs per request (median)`);
  console.log(`  ACLs off:                       ${median(offs).toFixed(1)}  (rounds: ${fmt(offs)})`);
  console.log(`  ACLs on, token with ${benchRules().length} rules:  ${median(ons).toFixed(1)}  (rounds: ${fmt(ons)})`);
  const pairs = offs.map((x, i) => x / ons[i]!);
  console.log(`  requests per CPU-second on/off: ${(median(offs) / median(ons)).toFixed(3)} (medians); ${median(pairs).toFixed(3)} (median of paired rounds: ${pairs.map((x) => x.toFixed(2)).join(", ")})`);
} finally {
  await off.h.stop();
  await on.h.stop();
}
