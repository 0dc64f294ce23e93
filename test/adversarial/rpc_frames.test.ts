/**
 * Finding 2 of the hardening issue: the server RPC port joined its buffer on
 * every chunk, so one connection sending a 96 MiB frame burned ~100 CPU
 * seconds and stalled HTTP and gossip. Reassembly is linear now, request
 * frames are capped, and a peer sending garbage is cut off at once.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { RPC_MAGIC } from "../../src/rpc/codec.ts";
import { probeBoth, probeHttp, sleep, startTarget, type Target } from "./_agent.ts";

let agent: Target;
beforeAll(async () => {
  agent = await startTarget();
}, 60_000);
afterAll(async () => {
  await agent?.stop();
});

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.once("error", reject);
  });
}

const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once("close", () => r())));

function header(len: number): Uint8Array {
  const h = new Uint8Array(4);
  new DataView(h.buffer).setUint32(0, len);
  return h;
}

function drainedOrClosed(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      s.off("drain", done);
      s.off("close", done);
      resolve();
    };
    s.once("drain", done);
    s.once("close", done);
  });
}

/** Writes `total` bytes of `fill` in 1 MiB pieces, stopping when the server closes the socket. */
async function stream(s: Socket, total: number, fill: number): Promise<number> {
  const piece = new Uint8Array(1 << 20).fill(fill);
  let sent = 0;
  while (sent < total && !s.destroyed) {
    const n = Math.min(piece.length, total - sent);
    const ok = s.write(piece.subarray(0, n));
    sent += n;
    if (!ok) await drainedOrClosed(s);
  }
  return sent;
}

test("a 96 MiB frame is refused from its header while HTTP and DNS keep answering, and garbage from its first bytes", async () => {
  const idle = await probeBoth(agent.base, agent.dnsPort, 3);
  const big = await open(agent.rpcPort);
  big.on("error", () => {});
  big.write(RPC_MAGIC);
  big.write(header(96 << 20));
  const t = performance.now();
  // The whole 96 MiB body is pushed after the header while status and DNS are probed (before the fix: 105 CPU-seconds, HTTP p50 9.6 s).
  const sending = stream(big, 96 << 20, 0x61);
  const during = await probeBoth(agent.base, agent.dnsPort, 3);
  await closed(big);
  const cutMs = performance.now() - t;
  const sent = await sending;
  console.log(
    `96 MiB frame: connection cut ${cutMs.toFixed(0)} ms after its header, ${(sent / 1048576).toFixed(1)} MiB written by then; ` +
      `[leader ms, dig ms] idle ${JSON.stringify(idle.figures)}, during ${JSON.stringify(during.figures)} (goal 100 ms)`,
  );
  expect(cutMs).toBeLessThan(5000);
  expect(sent).toBeLessThan(96 << 20);
  expect(during.failed).toEqual([]);
  // A loaded CI machine can take longer than 100 ms for any one probe; the figures above are the record.
  for (const [http, dns] of during.figures) {
    expect(http).toBeLessThan(5000);
    expect(dns).toBeLessThan(5000);
  }

  const junk = await open(agent.rpcPort);
  junk.on("error", () => {});
  junk.write(RPC_MAGIC);
  junk.write(header(32 << 20));
  const junkSent = await stream(junk, 32 << 20, 0x41);
  await closed(junk);
  // Cut off long before the 32 MiB it announced were taken in.
  expect(junkSent).toBeLessThan(32 << 20);
});

test("a large frame (16 MiB) streams in while HTTP and DNS keep answering, and is answered", async () => {
  const size = (16 << 20) - 1024;
  const s = await open(agent.rpcPort);
  s.on("error", () => {});
  let reply = "";
  s.on("data", (d: Buffer) => (reply += d.toString("latin1")));
  s.write(RPC_MAGIC);
  const start = new TextEncoder().encode('{"i":7,"m":"Status.Leader","o":{},"a":"');
  const end = new TextEncoder().encode('"}');
  s.write(header(size));
  s.write(start);
  const t = performance.now();
  const sending = stream(s, size - start.length - end.length, 0x61).then(() => s.write(end));
  const during = await probeBoth(agent.base, agent.dnsPort, 3);
  expect(during.failed).toEqual([]);
  await sending;
  for (let i = 0; i < 400 && !reply.includes('"i":7'); i++) await sleep(25);
  console.log(`${(size / 1048576).toFixed(0)} MiB frame sent in ${(performance.now() - t).toFixed(0)} ms; [leader ms, dig ms] during it: ${JSON.stringify(during.figures)}`);
  expect(reply).toContain('"i":7');
  // Every probe was answered (each has its own timeout); how fast depends on the machine's load, so the figures are printed, not asserted.
  s.destroy();
  expect((await probeHttp(agent.base)).ok).toBe(true);
});
