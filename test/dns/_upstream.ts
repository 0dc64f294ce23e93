/**
 * A tiny upstream DNS server on loopback (UDP and TCP) for recursor tests:
 * answers `*.example.com A` with 203.0.113.7, `broken.example.com` with
 * SERVFAIL, ignores `slow.example.com`, and NXDOMAIN for anything else.
 */
import { createSocket } from "node:dgram";
import { createServer, type Socket } from "node:net";
import dnsPacket from "dns-packet";

export interface Upstream {
  readonly port: number;
  /** Questions seen, as "name type". */
  readonly seen: string[];
  stop(): Promise<void>;
}

function answer(query: Buffer): Buffer | null {
  const q = dnsPacket.decode(query);
  const question = q.questions?.[0];
  if (!question) return null;
  const name = question.name.toLowerCase();
  if (name === "slow.example.com") return null;
  const base = { type: "response" as const, id: q.id, flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED, questions: q.questions };
  if (name === "broken.example.com") return dnsPacket.encode({ ...base, flags: base.flags | 2 });
  if (name.endsWith("example.com") && (question.type === "A" || (question.type as string) === "ANY")) {
    return dnsPacket.encode({ ...base, answers: [{ type: "A", name: question.name, ttl: 60, data: "203.0.113.7" }] });
  }
  return dnsPacket.encode({ ...base, flags: base.flags | 3 });
}

export async function startUpstream(): Promise<Upstream> {
  const seen: string[] = [];
  const note = (m: Buffer) => {
    try {
      const q = dnsPacket.decode(m).questions?.[0];
      if (q) seen.push(`${q.name} ${q.type}`);
    } catch {}
  };
  // UDP takes a free port; TCP then needs the same one, which another process may hold: try again.
  for (let attempt = 0; ; attempt++) {
    const bound = await bindBoth(note);
    if (bound) return bound(seen);
    if (attempt === 20) throw new Error("no port free for both UDP and TCP");
  }
}

async function bindBoth(note: (m: Buffer) => void): Promise<((seen: string[]) => Upstream) | null> {
  const udp = createSocket("udp4");
  udp.on("error", () => {});
  udp.on("message", (m, r) => {
    note(m);
    const out = answer(m);
    if (out) udp.send(out, r.port, r.address);
  });
  await new Promise<void>((res) => udp.bind(0, "127.0.0.1", () => res()));
  const port = udp.address().port;
  const conns = new Set<Socket>();
  const tcp = createServer((s) => {
    conns.add(s);
    s.on("close", () => conns.delete(s));
    s.on("error", () => {});
    let buf = Buffer.alloc(0);
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + m.length);
        note(m);
        const out = answer(m);
        if (out) s.write(Buffer.concat([Buffer.from([out.length >> 8, out.length & 0xff]), out]));
      }
    });
  });
  const listening = await new Promise<boolean>((res) => {
    tcp.once("error", () => res(false));
    tcp.listen(port, "127.0.0.1", () => res(true));
  });
  if (!listening) {
    await new Promise<void>((res) => udp.close(() => res()));
    return null;
  }
  return (seen) => ({
    port,
    seen,
    async stop() {
      for (const c of conns) c.destroy();
      await new Promise<void>((res) => udp.close(() => res()));
      await new Promise<void>((res) => tcp.close(() => res()));
    },
  });
}
