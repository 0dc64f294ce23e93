/** trimTcp / trimUdp cut an answer to the largest prefix that fits, sized without encoding every cut whole. */
import { describe, expect, test } from "bun:test";
import { AnswerCuts, messageLength } from "../../src/dns/encode.ts";
import type { Message, Rr } from "../../src/dns/message.ts";
import { trimTcp, trimUdp } from "../../src/dns/trim.ts";
import { RClass, RType } from "../../src/dns/wire.ts";

const MAX_TCP = 65523;

/**
 * n SRV answers for `name`; instance i targets node i (an A and a TXT in the
 * additional section, only the A kept) or, every seventh, a hostname reached
 * through a CNAME to its A.
 */
function srvMessage(n: number, name = "Web.Service.Consul."): { msg: Message; extrasOf: (answers: readonly Rr[]) => Rr[] } {
  const answer: Rr[] = [];
  const additional: Rr[] = [];
  const extrasByTarget = new Map<string, Rr[]>();
  for (let i = 0; i < n; i++) {
    const ip = new Uint8Array([10, (i >> 16) & 255, (i >> 8) & 255, i & 255]);
    if (i % 7 === 0) {
      const target = `host-${i}.example.com.`;
      const cname: Rr = { type: RType.CNAME, name: target, ttl: 0, target: `real-${i}.example.com.` };
      const a: Rr = { type: RType.A, name: `real-${i}.example.com.`, ttl: 0, ip };
      answer.push({ type: RType.SRV, name: name.toLowerCase(), ttl: 0, priority: 1, weight: 1, port: 8080, target });
      additional.push(cname, a);
      extrasByTarget.set(target, [cname, a]);
    } else {
      const target = `node-${String(i).padStart(5, "0")}.node.dc1.consul.`;
      const a: Rr = { type: RType.A, name: target, ttl: 0, ip };
      answer.push({ type: RType.SRV, name: name.toLowerCase(), ttl: 0, priority: 1, weight: 1, port: 20000 + (i % 10), target });
      additional.push(a, { type: RType.TXT, name: target, ttl: 0, texts: [`rack=${i % 8}`] });
      extrasByTarget.set(target, [a]);
    }
  }
  const msg: Message = { id: 7, flags: 0x8400, rcode: 0, question: { name, qtype: RType.SRV, qclass: RClass.IN }, answer, authority: [], additional };
  return { msg, extrasOf: (answers) => answers.flatMap((rr) => (rr.type === RType.SRV ? extrasByTarget.get(rr.target)! : [])) };
}

/** The message cut after k of `answers`, with the extras those keep. */
function cut(msg: Message, answers: readonly Rr[], extrasOf: (a: readonly Rr[]) => Rr[], k: number): Message {
  const kept = answers.slice(0, k);
  return { ...msg, answer: kept, authority: [], additional: extrasOf(kept) };
}

describe("trimming", () => {
  for (const compress of [true, false]) {
    for (const [n, reserve] of [[1500, 0], [1500, 11], [900, 0], [300, 0]] as const) {
      test(`TCP, ${n} SRV answers, compress ${compress}, reserve ${reserve}: the largest prefix that fits, its extras synced`, () => {
        const { msg, extrasOf } = srvMessage(n);
        const answers = [...msg.answer];
        const additional = [...msg.additional];
        const trimmed = trimTcp(msg, compress, reserve);
        const k = msg.answer.length;
        const max = MAX_TCP - reserve;
        expect(msg.answer).toEqual(answers.slice(0, k));
        // An answer that fits is left whole; a cut one keeps only its SRV targets' records.
        expect(msg.additional).toEqual(k < answers.length ? extrasOf(msg.answer) : additional);
        const size = messageLength(msg, compress);
        expect(size).toBeLessThanOrEqual(max);
        if (k < answers.length) {
          expect(trimmed).toBe(true);
          // The search stops within 10 bytes of the limit, or at the last cut that fits.
          const next = messageLength(cut(msg, answers, extrasOf, k + 1), compress);
          expect(next > max || max - size < 10).toBe(true);
        } else {
          expect(trimmed).toBe(false);
        }
      });
    }
  }

  test("AnswerCuts sizes any cut past the compression window exactly, from one encoding", () => {
    for (const compress of [true, false]) {
      const { msg, extrasOf } = srvMessage(1500);
      const answers = [...msg.answer];
      const cuts = new AnswerCuts(msg, compress);
      let checked = 0;
      for (let k = 0; k <= answers.length; k += 37) {
        if (!cuts.pastWindow(k)) continue;
        const sized = cuts.ends[k]! + extrasOf(answers.slice(0, k)).reduce((n, rr) => n + cuts.recordLength(rr), 0);
        expect(sized).toBe(messageLength(cut(msg, answers, extrasOf, k), compress));
        checked++;
      }
      expect(checked).toBeGreaterThan(20);
    }
  });

  test("UDP with a large EDNS size: the same rule, within the datagram", () => {
    const { msg, extrasOf } = srvMessage(400);
    const answers = [...msg.answer];
    trimUdp(msg, 16384, 3, true, 11);
    const k = msg.answer.length;
    expect(k).toBeGreaterThan(0);
    expect(k).toBeLessThan(answers.length);
    expect(msg.additional).toEqual(extrasOf(msg.answer));
    const max = 16384 - 8 - 11;
    const size = messageLength(msg, true);
    expect(size).toBeLessThanOrEqual(max);
    expect(messageLength(cut(msg, answers, extrasOf, k + 1), true) > max || max - size < 10).toBe(true);
  });
});
