/**
 * Connections that never send a byte, on a Bun.serve listener (which shows a
 * connection only at its first request): past the client's cap the newest are
 * answered 429 and closed, the rest are closed at the request-head deadline
 * instead of Bun's own ~12 s (a silent connection reaches the process only
 * after Bun's listener has deferred it ~1 s in the kernel), as is a first
 * request head begun and never finished, while a request parked past the
 * deadline, and another client, are left alone. (Linux: the sweep reads the process's descriptors.)
 */
import { expect, test } from "bun:test";
import { serveHttp } from "../../src/runtime/mod.ts";
import { watchSilentConnections } from "../../src/runtime/silent_conns_bun.ts";
import { openRaw, type RawConn } from "../_raw_conn.ts";

type Conn = RawConn;
const open = (port: number, localAddress: string) => openRaw(port, localAddress);

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

test.skipIf(process.platform !== "linux")("silent connections past the cap get 429, the rest and an unfinished head close at the deadline; a parked request and another client are untouched", async () => {
  const listener = await serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    maxConnsPerClient: 5,
    tooManyConnections: "too many\n",
    headerTimeoutMs: 2000,
    fetch: async (req) => {
      const wait = Number(new URL(req.url).searchParams.get("wait") ?? 0);
      await new Promise((r) => setTimeout(r, wait));
      return new Response("ok");
    },
  });
  const all: Conn[] = [];
  try {
    const silent = await Promise.all(Array.from({ length: 20 }, () => open(listener.port, "127.0.0.1")));
    all.push(...silent);
    // Another client's request is parked past the deadline; it has sent its bytes, so no sweep touches it.
    const parked = await open(listener.port, "127.0.0.2");
    all.push(parked);
    parked.socket.write("GET /?wait=3000 HTTP/1.1\r\nHost: x\r\n\r\n");
    // A first request head begun and never finished: nothing has gone back on it either.
    const partial = await open(listener.port, "127.0.0.2");
    all.push(partial);
    partial.socket.write("GET /?wait=0 HT");
    expect(await until(() => silent.filter((c) => c.closedAt() !== null).length >= 15, 3000)).toBe(true);
    const refused = silent.filter((c) => c.text().startsWith("HTTP/1.1 429"));
    expect(refused.length).toBe(15);
    expect(refused[0]!.text()).toEndWith("\r\n\r\ntoo many\n");
    expect(refused.every((c) => c.closedAt() !== null)).toBe(true);
    // The 5 within the cap stay until the deadline, then close unanswered.
    expect(await until(() => silent.every((c) => c.closedAt() !== null), 4000)).toBe(true);
    const kept = silent.filter((c) => c.text() === "");
    const lived = kept.map((c) => c.closedAt()! - c.opened);
    console.log(`20 silent connections (cap 5, deadline 2 s): ${refused.length} refused with 429 after ${Math.max(...refused.map((c) => c.closedAt()! - c.opened)).toFixed(0)} ms at most, ${kept.length} closed after ${Math.min(...lived).toFixed(0)}-${Math.max(...lived).toFixed(0)} ms`);
    expect(kept.length).toBe(5);
    expect(Math.min(...lived)).toBeGreaterThanOrEqual(1900);
    expect(Math.max(...lived)).toBeLessThan(3000);
    expect(await until(() => partial.closedAt() !== null, 2000)).toBe(true);
    expect(partial.text()).toBe("");
    expect(partial.closedAt()! - partial.opened).toBeLessThan(3000);
    expect(await until(() => parked.text().startsWith("HTTP/1.1 200"), 4000)).toBe(true);
    expect(parked.closedAt()).toBeNull();
  } finally {
    for (const c of all) c.socket.destroy();
    await listener.stop();
  }
});

test.skipIf(process.platform !== "linux")("a sweep counts the listener's connections by client and reads which have sent bytes", async () => {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
  const watch = watchSilentConnections({ port: server.port!, maxPerClient: 3, deadlineMs: 0, refusal: "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", intervalMs: 60_000 })!;
  const all: Conn[] = [];
  try {
    expect(watch).not.toBeNull();
    for (let i = 0; i < 4; i++) all.push(await open(server.port!, "127.0.0.1"));
    all[0]!.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    all.push(await open(server.port!, "127.0.0.3"));
    expect(await until(() => all[0]!.text().includes("ok"), 2000)).toBe(true);
    // Wait until the server has accepted all five.
    let report = watch.sweep();
    for (let i = 0; i < 40 && report.open < 5; i++) {
      await new Promise((r) => setTimeout(r, 25));
      report = watch.sweep();
    }
    // 127.0.0.1 holds 4 (one has sent a request): its newest silent one is refused; 127.0.0.3 holds 1.
    expect(report).toEqual({ open: 5, silent: 4, expired: 0, refused: 1, unfinished: 0 });
    expect(await until(() => all[3]!.closedAt() !== null, 2000)).toBe(true);
    expect(all[3]!.text()).toStartWith("HTTP/1.1 429");
    expect(watch.sweep()).toEqual({ open: 4, silent: 3, expired: 0, refused: 0, unfinished: 0 });
  } finally {
    watch.stop();
    for (const c of all) c.socket.destroy();
    await server.stop(true);
  }
});
