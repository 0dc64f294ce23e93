import { afterEach, expect, test } from "bun:test";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import {
  createRunner,
  decodeCheckDefinition,
  decodeHealthRequest,
  encodeHealthRequest,
  encodeHealthResponse,
  HEALTH_CHECK_PATH,
} from "../../../src/agent/checks/mod.ts";
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

const SERVING = 1;
const NOT_SERVING = 2;

/**
 * A gRPC health server: `statuses` maps service name ("" = whole server) to
 * its ServingStatus; an unknown name answers NOT_FOUND as grpc-go's does.
 */
async function healthServer(statuses: Map<string, number>, opts: { silent?: boolean } = {}) {
  const asked: string[] = [];
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("stream", (stream, headers) => {
    const chunks: Uint8Array[] = [];
    stream.on("data", (c: Uint8Array) => chunks.push(c));
    stream.on("end", () => {
      if (opts.silent) return;
      if (headers[":path"] !== HEALTH_CHECK_PATH || headers["content-type"] !== "application/grpc") {
        stream.respond({ ":status": 404 });
        return stream.end();
      }
      const service = decodeHealthRequest(Buffer.concat(chunks));
      asked.push(service);
      const status = statuses.get(service);
      if (status === undefined) {
        stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "5", "grpc-message": "unknown%20service" }, { endStream: true });
        return;
      }
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(encodeHealthResponse(status));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.destroy();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as AddressInfo).port, asked };
}

test("the health messages are encoded as protobuf by hand", () => {
  expect([...encodeHealthRequest("")]).toEqual([0, 0, 0, 0, 0]);
  expect([...encodeHealthRequest("ab")]).toEqual([0, 0, 0, 0, 4, 0x0a, 2, 0x61, 0x62]);
  expect(decodeHealthRequest(encodeHealthRequest("my.pkg.Service"))).toBe("my.pkg.Service");
  expect([...encodeHealthResponse(SERVING)]).toEqual([0, 0, 0, 0, 2, 0x08, 1]);
});

test("SERVING is passing, NOT_SERVING critical, and back", async () => {
  const statuses = new Map([["", SERVING]]);
  const srv = await healthServer(statuses);
  const target = `127.0.0.1:${srv.port}`;
  const { rec } = run({ GRPC: target, Interval: "30ms" });
  expect((await waitStatus(rec, "passing")).output).toBe(`gRPC check ${target}: success`);
  statuses.set("", NOT_SERVING);
  expect((await waitStatus(rec, "critical")).output).toBe(`gRPC ${target} serving status: NOT_SERVING`);
  statuses.set("", SERVING);
  await waitStatus(rec, "passing");
  expect(srv.asked.every((s) => s === "")).toBe(true);
});

test("the service after the slash is the one asked about; an unknown one fails with the gRPC status", async () => {
  const srv = await healthServer(new Map([["pkg.Billing", SERVING]]));
  const known = `127.0.0.1:${srv.port}/pkg.Billing`;
  const a = run({ GRPC: known, Interval: "1s" });
  expect((await waitStatus(a.rec, "passing")).output).toBe(`gRPC check ${known}: success`);
  expect(srv.asked).toContain("pkg.Billing");
  const b = run({ GRPC: `127.0.0.1:${srv.port}/pkg.Other`, Interval: "1s", Status: "passing" });
  expect((await waitStatus(b.rec, "critical")).output).toBe("rpc error: code = NotFound desc = unknown service");
});

test("a closed port is critical with grpc-go's Unavailable text", async () => {
  const srv = await healthServer(new Map());
  const port = srv.port;
  await cleanups.pop()!();
  const { rec } = run({ GRPC: `127.0.0.1:${port}`, Interval: "1s", Status: "passing" });
  expect((await waitStatus(rec, "critical")).output).toBe(
    `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:${port}: connect: connection refused"`,
  );
});

test("a server that never answers is critical within Timeout", async () => {
  const srv = await healthServer(new Map([["", SERVING]]), { silent: true });
  const started = Date.now();
  const { rec } = run({ GRPC: `127.0.0.1:${srv.port}`, Interval: "1s", Timeout: "150ms", Status: "passing" });
  expect((await waitStatus(rec, "critical")).output).toBe("rpc error: code = DeadlineExceeded desc = context deadline exceeded");
  expect(Date.now() - started).toBeGreaterThanOrEqual(140);
});

test("H2PING over h2c: passing while the server is up, critical once it is gone", async () => {
  const srv = await healthServer(new Map());
  const target = `127.0.0.1:${srv.port}`;
  const { rec } = run({ H2PING: target, H2PingUseTLS: false, Interval: "30ms" });
  expect((await waitStatus(rec, "passing")).output).toBe("HTTP2 ping was successful");
  await cleanups.shift()!();
  expect((await waitStatus(rec, "critical")).output).toBe(`Failed to dial to ${target}: dial tcp ${target}: connect: connection refused`);
});
