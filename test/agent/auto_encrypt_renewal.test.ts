/** When auto_encrypt renews: 60-90% of the life left when the certificate arrived (Consul's leaf cache window). */
import { expect, test } from "bun:test";
import { renewalTime } from "../../src/agent/auto_encrypt.ts";

const HOUR = 3_600_000;

test("a 72 h certificate renews between 43.2 h and 64.8 h after it arrived; one already expired renews at once", () => {
  const now = 1_000_000;
  expect(renewalTime(now, now + 72 * HOUR, 0)).toBe(now + 43.2 * HOUR);
  expect(renewalTime(now, now + 72 * HOUR, 1)).toBeCloseTo(now + 64.8 * HOUR, 0);
  expect(renewalTime(now, now + 72 * HOUR, 0.5)).toBeCloseTo(now + 54 * HOUR, 0);
  // A backdated NotBefore does not matter: a 68 s TTL issued a minute in the past leaves 8 s, renewed after 4.8-7.2 s.
  expect(renewalTime(now, now + 8000, 0)).toBe(now + 4800);
  expect(renewalTime(now, now + 8000, 1)).toBeCloseTo(now + 7200, 6);
  expect(renewalTime(now, now - 5000, 0.3)).toBe(now);
});
