/**
 * Answers drawn from a large healthy set (answer.ts SAMPLE_ABOVE, the
 * store's incrementally kept healthy sets): only healthy instances, as many
 * as the transport carries, every healthy instance reachable, and a check
 * that turns critical leaves the next answer at once.
 */
import { describe, expect, test } from "bun:test";
import { ask, Catalog, check, dataOf, env, seeded, service } from "./_fixture.ts";

const N = 400;
const addr = (i: number): string => `10.1.${i >> 8}.${i & 255}`;
/** Instance i is critical when i % 10 === 0, warning when i % 10 === 1, passing otherwise. */
const status = (i: number): string => (i % 10 === 0 ? "critical" : i % 10 === 1 ? "warning" : "passing");

function catalog(): Catalog {
  const c = new Catalog();
  for (let i = 0; i < N; i++) {
    c.service(`n${i}`, addr(i), service("web", "web"), [check(`n${i}`, "web-check", { ServiceID: "web", Status: status(i) })]);
  }
  return c;
}

describe("answers drawn from a large healthy set", () => {
  const c = catalog();
  const healthy = new Set(Array.from({ length: N }, (_, i) => i).filter((i) => status(i) !== "critical").map(addr));
  const passing = new Set(Array.from({ length: N }, (_, i) => i).filter((i) => status(i) === "passing").map(addr));

  test("UDP A: udp_answer_limit healthy answers, spread over the whole set", async () => {
    const e = { ...env(c), random: seeded(3) };
    const seen = new Set<string>();
    for (let q = 0; q < 600; q++) {
      const r = await ask(e, "web.service.consul", "A");
      expect(r.rcode).toBe("NOERROR");
      expect(r.answers.length).toBe(3);
      const ips = r.answers.map((a) => dataOf<string>(a));
      expect(new Set(ips).size).toBe(3);
      for (const ip of ips) {
        expect(healthy.has(ip)).toBe(true);
        seen.add(ip);
      }
    }
    // 1,800 draws from 360: a fair draw misses any one instance with probability ~0.7 %.
    expect(seen.size).toBeGreaterThan(healthy.size * 0.95);
  });

  test("only_passing draws from the passing set", async () => {
    const e = { ...env(c, { onlyPassing: true }), random: seeded(5) };
    for (let q = 0; q < 100; q++) {
      const r = await ask(e, "web.service.consul", "A");
      for (const a of r.answers) expect(passing.has(dataOf<string>(a))).toBe(true);
    }
  });

  test("TCP SRV carries every healthy instance once", async () => {
    const r = await ask({ ...env(c), random: seeded(9) }, "web.service.consul", "SRV", { transport: "tcp" });
    expect(r.answers.length).toBe(healthy.size);
    const targets = new Set(r.answers.map((a) => dataOf<{ target: string }>(a).target));
    expect(targets.size).toBe(healthy.size);
  });

  test("a check that turns critical leaves the set; a tag query still filters the whole list", async () => {
    const c2 = catalog();
    c2.checks("n2", addr(2), [check("n2", "web-check", { ServiceID: "web", Status: "critical" })]);
    const e = { ...env(c2), random: seeded(11) };
    const r = await ask(e, "web.service.consul", "SRV", { transport: "tcp" });
    expect(r.answers.length).toBe(healthy.size - 1);
    expect(r.additionals.map((a) => dataOf<string>(a))).not.toContain(addr(2));
    const tagged = await ask(e, "nope.web.service.consul", "A");
    expect(tagged.rcode).toBe("NXDOMAIN");
  });
});
