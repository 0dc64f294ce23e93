/** The query parser and the encoder: rejections, EDNS, compression, escapes. */
import { describe, expect, test } from "bun:test";
import dnsPacket from "dns-packet";
import { encodeMessage } from "../../src/dns/encode.ts";
import type { Message } from "../../src/dns/message.ts";
import { parseQuery, RType } from "../../src/dns/mod.ts";
import { dataOf, queryBytes } from "./_fixture.ts";

function header(id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0): number[] {
  return [id >> 8, id & 0xff, flags >> 8, flags & 0xff, 0, qd, 0, an, 0, ns, 0, ar];
}
const WEB = [3, 119, 101, 98, 7, 115, 101, 114, 118, 105, 99, 101, 6, 99, 111, 110, 115, 117, 108, 0];

describe("parseQuery", () => {
  test("reads the question lower-cased, and EDNS with its client subnet", () => {
    const p = parseQuery(queryBytes("Web.Service.CONSUL", "SRV", { edns: 1400, subnet: "198.51.100.0" }));
    expect(p.kind).toBe("query");
    if (p.kind !== "query") return;
    expect(p.query.name).toBe("web.service.consul.");
    expect(p.query.asked).toBe("Web.Service.CONSUL.");
    expect(p.query.qtype).toBe(RType.SRV);
    expect(p.query.edns?.udpSize).toBe(1400);
    expect(p.query.edns?.subnet).toMatchObject({ family: 1, sourcePrefix: 24 });
    expect([...p.query.edns!.subnet!.address]).toEqual([198, 51, 100, 0]);
  });

  test("drops what cannot be answered, rejects what miekg/dns rejects", () => {
    expect(parseQuery(new Uint8Array(5)).kind).toBe("drop");
    expect(parseQuery(new Uint8Array([...header(1, 0x8000, 1), ...WEB, 0, 1, 0, 1])).kind).toBe("drop");
    expect(parseQuery(new Uint8Array([...header(1, 0x2000, 1), ...WEB, 0, 1, 0, 1]))).toEqual({ kind: "reject", id: 1, flags: 0x2000, rcode: 4 });
    for (const bad of [header(2, 0, 2), header(2, 0, 0), header(2, 0, 1, 2), header(2, 0, 1, 0, 0, 3)]) {
      expect(parseQuery(new Uint8Array([...bad, ...WEB, 0, 1, 0, 1]))).toMatchObject({ kind: "reject", rcode: 1 });
    }
    // Truncated question, compression pointer in the question, a 64-byte label type.
    expect(parseQuery(new Uint8Array([...header(3, 0, 1), 3, 119, 101]))).toMatchObject({ rcode: 1 });
    expect(parseQuery(new Uint8Array([...header(3, 0, 1), 0xc0, 12, 0, 1, 0, 1]))).toMatchObject({ rcode: 1 });
    expect(parseQuery(new Uint8Array([...header(3, 0, 1), 0x40, 0, 0, 1, 0, 1]))).toMatchObject({ rcode: 1 });
  });

  test("names longer than 255 bytes and compression loops in other sections are refused", () => {
    const long: number[] = [];
    for (let i = 0; i < 5; i++) long.push(63, ...new Array(63).fill(97));
    expect(parseQuery(new Uint8Array([...header(4, 0, 1), ...long, 0, 0, 1, 0, 1]))).toMatchObject({ rcode: 1 });
    // An authority record whose name points at itself.
    const q = [...header(5, 0, 1, 0, 1), ...WEB, 0, 1, 0, 1];
    const loopAt = q.length;
    const withLoop = [...q, 0xc0 | (loopAt >> 8), loopAt & 0xff, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0];
    const p = parseQuery(new Uint8Array(withLoop));
    expect(p.kind === "query" || (p.kind === "reject" && p.rcode === 1)).toBe(true);
  });

  test("odd bytes in labels are escaped the way miekg/dns prints them", () => {
    const p = parseQuery(new Uint8Array([...header(6, 0, 1), 3, 97, 46, 0x80, 6, 99, 111, 110, 115, 117, 108, 0, 0, 1, 0, 1]));
    expect(p.kind === "query" && p.query.name).toBe("a\\.\\128.consul.");
  });
});

describe("encodeMessage", () => {
  const msg = (): Message => ({
    id: 9,
    flags: 0x8400,
    rcode: 0,
    question: { name: "web.service.consul.", qtype: RType.SRV, qclass: 1 },
    answer: [
      { type: RType.SRV, name: "web.service.consul.", ttl: 5, priority: 1, weight: 1, port: 80, target: "n1.node.dc1.consul." },
      { type: RType.SRV, name: "web.service.consul.", ttl: 5, priority: 1, weight: 1, port: 81, target: "n2.node.dc1.consul." },
    ],
    authority: [],
    additional: [
      { type: RType.A, name: "n1.node.dc1.consul.", ttl: 5, ip: new Uint8Array([10, 0, 0, 1]) },
      { type: RType.TXT, name: "n1.node.dc1.consul.", ttl: 5, texts: ["k=v", "x".repeat(300).slice(0, 255)] },
    ],
  });

  test("compressed and uncompressed encodings decode to the same message", () => {
    const a = encodeMessage(msg(), true);
    const b = encodeMessage(msg(), false);
    expect(a.length).toBeLessThan(b.length);
    const da = dnsPacket.decode(Buffer.from(a));
    const db = dnsPacket.decode(Buffer.from(b));
    expect(da.answers).toEqual(db.answers);
    expect(da.additionals).toEqual(db.additionals);
    expect(da.answers!.map((x) => dataOf<{ target: string }>(x).target)).toEqual(["n1.node.dc1.consul", "n2.node.dc1.consul"]);
  });

  test("owners equal to the question are written as it was asked (0x20), with or without compression", () => {
    for (const compress of [true, false]) {
      const m: Message = { ...msg(), question: { name: "WeB.sErViCe.consul.", qtype: RType.SRV, qclass: 1 } };
      const d = dnsPacket.decode(Buffer.from(encodeMessage(m, compress)));
      expect(d.questions![0]!.name).toBe("WeB.sErViCe.consul");
      expect(d.answers!.map((a) => a.name)).toEqual(["WeB.sErViCe.consul", "WeB.sErViCe.consul"]);
      expect(d.additionals!.map((a) => a.name)).toEqual(["n1.node.dc1.consul", "n1.node.dc1.consul"]);
    }
  });

  test("escaped labels round-trip", () => {
    const m = msg();
    m.answer = [{ type: RType.CNAME, name: "web.service.consul.", ttl: 0, target: "a\\.b.example." }];
    m.additional = [];
    const raw = encodeMessage(m, true);
    const p = parseQuery(new Uint8Array([...raw.subarray(0, 2), 0, 0, ...raw.subarray(4)]));
    expect(p.kind).toBe("query");
    // The CNAME target keeps its literal dot as one label: a\.b + example.
    const d = dnsPacket.decode(Buffer.from(raw));
    expect(dataOf<string>(d.answers![0]!)).toBe("a.b.example");
  });
});
