import { afterEach, expect, test } from "bun:test";
import dgram from "node:dgram";
import net from "node:net";
import { createRunner, decodeCheckDefinition } from "../../../src/agent/checks/mod.ts";
import { recorder, waitStatus } from "./_helpers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function run(raw: Record<string, unknown>) {
  const rec = recorder();
  const runner = createRunner(decodeCheckDefinition(raw), rec.env);
  runner.start();
  cleanups.push(() => runner.stop());
  return { rec, runner };
}

async function tcpListener(port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  let closed = false;
  const close = () =>
    new Promise<void>((r) => {
      if (closed) return r();
      closed = true;
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  cleanups.push(close);
  return { port: (server.address() as net.AddressInfo).port, close };
}

test("TCP: passing while the port listens, critical once it closes, passing when it is back", async () => {
  const l = await tcpListener();
  const addr = `127.0.0.1:${l.port}`;
  const { rec, runner } = run({ TCP: addr, Interval: "30ms" });
  expect((await waitStatus(rec, "passing")).output).toBe(`TCP connect ${addr}: Success`);
  await l.close();
  expect((await waitStatus(rec, "critical")).output).toBe(`dial tcp ${addr}: connect: connection refused`);
  const since = runner.criticalSince;
  expect(since).not.toBeNull();
  await tcpListener(l.port);
  await waitStatus(rec, "passing");
  expect(runner.criticalSince).toBeNull();
});

test("TCP+TLS: a listener that never completes the handshake is critical within Timeout", async () => {
  const l = await tcpListener();
  const addr = `127.0.0.1:${l.port}`;
  const started = Date.now();
  const { rec } = run({ TCP: addr, TCPUseTLS: true, Interval: "1s", Timeout: "150ms", Status: "passing" });
  expect((await waitStatus(rec, "critical")).output).toBe(`dial tcp ${addr}: i/o timeout`);
  expect(Date.now() - started).toBeGreaterThanOrEqual(140);
});

test("TCP: an address without a port is critical with Go's text", async () => {
  const { rec } = run({ TCP: "127.0.0.1", Interval: "1s", Status: "passing" });
  expect((await waitStatus(rec, "critical")).output).toBe("dial tcp: address 127.0.0.1: missing port in address");
});

async function udpServer(reply: boolean): Promise<{ port: number; received: () => number; close(): Promise<void> }> {
  const sock = dgram.createSocket("udp4");
  let received = 0;
  sock.on("message", (_m, rinfo) => {
    received++;
    if (reply) sock.send("healthy", rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  let closed = false;
  const close = () =>
    new Promise<void>((r) => {
      if (closed) return r();
      closed = true;
      sock.close(() => r());
    });
  cleanups.push(close);
  return { port: sock.address().port, received: () => received, close };
}

test("UDP: a target that answers is passing at once", async () => {
  const srv = await udpServer(true);
  const addr = `127.0.0.1:${srv.port}`;
  const started = Date.now();
  const { rec } = run({ UDP: addr, Interval: "1s", Timeout: "2s" });
  expect((await waitStatus(rec, "passing")).output).toBe(`UDP connect ${addr}: Success`);
  expect(Date.now() - started).toBeLessThan(1500);
  expect(srv.received()).toBe(1);
});

test("UDP: a silent target is passing after the timeout, as in Consul", async () => {
  const srv = await udpServer(false);
  const started = Date.now();
  const { rec } = run({ UDP: `127.0.0.1:${srv.port}`, Interval: "1s", Timeout: "150ms" });
  await waitStatus(rec, "passing");
  expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  expect(srv.received()).toBe(1);
});

test("UDP: a closed port (ICMP unreachable) is critical, then passing when a server returns", async () => {
  const srv = await udpServer(true);
  const port = srv.port;
  await srv.close();
  const addr = `127.0.0.1:${port}`;
  const { rec } = run({ UDP: addr, Interval: "30ms", Timeout: "1s", Status: "passing" });
  const u = await waitStatus(rec, "critical");
  expect(u.output).toMatch(new RegExp(`^read udp 127\\.0\\.0\\.1:\\d+->${addr.replace(/\./g, "\\.")}: read: connection refused$`));
  const again = dgram.createSocket("udp4");
  again.on("message", (_m, r) => again.send("ok", r.port, r.address));
  await new Promise<void>((r) => again.bind(port, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => again.close(() => r())));
  await waitStatus(rec, "passing");
});
