/**
 * Floods a DNS server with UDP queries as fast as it can send, and reports on
 * stdout, as JSON, how many were answered and how long the answers took:
 * `bun _flood.ts <port> <count>` (count at most 65536, one ID each).
 */
import { createSocket } from "node:dgram";
import dnsPacket from "dns-packet";

const [port, count] = [Number(process.argv[2]), Math.min(65536, Number(process.argv[3]))];
const query = dnsPacket.encode({ type: "query", id: 0, questions: [{ type: "A", name: "web.service.consul" }] });
const sentAt = new Float64Array(65536);
const latencies: number[] = [];
const sock = createSocket({ type: "udp4", recvBufferSize: 4 << 20 });
sock.on("message", (m: Buffer) => {
  if (m.length >= 2) latencies.push(performance.now() - sentAt[m.readUInt16BE(0)]!);
});
await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
const started = performance.now();
for (let i = 0; i < count; i++) {
  const q = Buffer.from(query);
  q.writeUInt16BE(i, 0);
  sentAt[i] = performance.now();
  sock.send(q, port, "127.0.0.1");
  if (i % 100 === 99) await new Promise((r) => setImmediate(r));
}
const sendMs = performance.now() - started;
await new Promise((r) => setTimeout(r, 500));
sock.close();
latencies.sort((a, b) => a - b);
const pick = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? null;
process.stdout.write(JSON.stringify({ sent: count, sendMs, answered: latencies.length, p50: pick(0.5), p99: pick(0.99), max: latencies[latencies.length - 1] ?? null }));
