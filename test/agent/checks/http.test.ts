import { afterEach, expect, test } from "bun:test";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type CheckRunner, createRunner, decodeCheckDefinition } from "../../../src/agent/checks/mod.ts";
import { recorder, sleep, waitFor, waitStatus } from "./_helpers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

async function serve(handler: Handler, server: http.Server = http.createServer()): Promise<number> {
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = "";
    req.on("data", (c) => (body += String(c)));
    req.on("end", () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return (server.address() as AddressInfo).port;
}

function run(raw: Record<string, unknown>, overrides: Parameters<typeof recorder>[0] = {}) {
  const rec = recorder(overrides);
  const runner: CheckRunner = createRunner(decodeCheckDefinition(raw), rec.env);
  runner.start();
  cleanups.push(() => runner.stop());
  return { rec, runner };
}

test("a server that flips 200 → 429 → 500 → 200 moves the check passing → warning → critical → passing", async () => {
  let code = 200;
  const port = await serve((_req, res) => {
    res.writeHead(code, { "content-type": "text/plain" });
    res.end(`status ${code}`);
  });
  const url = `http://127.0.0.1:${port}/health`;
  const { rec, runner } = run({ Name: "web", HTTP: url, Interval: "30ms" });
  expect((await waitStatus(rec, "passing")).output).toBe(`HTTP GET ${url}: 200 OK Output: status 200`);
  code = 429;
  expect((await waitStatus(rec, "warning")).output).toBe(`HTTP GET ${url}: 429 Too Many Requests Output: status 429`);
  code = 500;
  expect((await waitStatus(rec, "critical")).output).toBe(`HTTP GET ${url}: 500 Internal Server Error Output: status 500`);
  code = 204;
  await waitStatus(rec, "passing");
  expect(runner.status).toBe("passing");
  expect(runner.criticalSince).toBeNull();
});

test("method, headers, body and Host are sent; User-Agent and Accept default to Consul's", async () => {
  const seen: { method?: string; headers?: http.IncomingHttpHeaders; body?: string; raw?: string[] } = {};
  const port = await serve((req, res, body) => {
    Object.assign(seen, { method: req.method, headers: req.headers, body, raw: req.rawHeaders });
    res.end("ok");
  });
  const { rec } = run({
    HTTP: `http://127.0.0.1:${port}/h`,
    Method: "PUT",
    Header: { "X-Multi": ["a", "b"], Host: ["api.example"] },
    Body: '{"ping":1}',
    Interval: "1s",
  });
  expect((await waitStatus(rec, "passing")).output).toStartWith(`HTTP PUT http://127.0.0.1:${port}/h: 200 OK`);
  expect(seen.method).toBe("PUT");
  expect(seen.body).toBe('{"ping":1}');
  expect(seen.headers?.host).toBe("api.example");
  expect(seen.headers?.["user-agent"]).toBe("Consul Health Check");
  expect(seen.headers?.accept).toBe("text/plain, text/*, */*");
  const multi = seen.raw!.filter((_v, i, a) => i % 2 === 1 && a[i - 1]!.toLowerCase() === "x-multi");
  expect(multi).toEqual(["a", "b"]);
});

test("a caller's User-Agent is kept", async () => {
  let ua = "";
  const port = await serve((req, res) => {
    ua = req.headers["user-agent"] ?? "";
    res.end();
  });
  const { rec } = run({ HTTP: `http://127.0.0.1:${port}/`, Header: { "User-Agent": ["probe/1"] }, Interval: "1s" });
  await waitStatus(rec, "passing");
  expect(ua).toBe("probe/1");
});

test("a server that never answers is critical within Timeout", async () => {
  const port = await serve(() => {
    // never respond
  });
  const url = `http://127.0.0.1:${port}/slow`;
  const started = Date.now();
  const { rec } = run({ HTTP: url, Interval: "1s", Timeout: "150ms", Status: "passing" });
  const u = await waitStatus(rec, "critical");
  const took = Date.now() - started;
  expect(took).toBeGreaterThanOrEqual(140);
  expect(took).toBeLessThan(2000);
  expect(u.output).toBe(`Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`);
});

test("a closed port is critical with Go's dial error", async () => {
  const port = await serve((_q, res) => res.end());
  // Close it again so the port refuses connections.
  await cleanups.pop()!();
  const url = `http://127.0.0.1:${port}/`;
  const { rec } = run({ HTTP: url, Interval: "1s", Status: "passing" });
  expect((await waitStatus(rec, "critical")).output).toBe(
    `Get "${url}": dial tcp 127.0.0.1:${port}: connect: connection refused`,
  );
});

test("the body in the output keeps its last OutputMaxSize bytes", async () => {
  const body = "a".repeat(5000) + "b".repeat(50) + "END";
  const port = await serve((_q, res) => res.end(body));
  const { rec } = run({ HTTP: `http://127.0.0.1:${port}/`, Interval: "1s", OutputMaxSize: 100 });
  const out = (await waitStatus(rec, "passing")).output;
  const tail = out.slice(out.indexOf("Output: ") + "Output: ".length);
  expect(tail).toBe(body.slice(-100));
});

test("the agent-wide output limit applies when the check sets none", async () => {
  const port = await serve((_q, res) => res.end("x".repeat(300) + "tail"));
  const { rec } = run({ HTTP: `http://127.0.0.1:${port}/`, Interval: "1s" }, { outputMaxSize: 10 });
  expect((await waitStatus(rec, "passing")).output).toEndWith("Output: xxxxxxtail");
});

test("redirects are followed unless DisableRedirects", async () => {
  const port = await serve((req, res) => {
    if (req.url === "/old") {
      res.writeHead(302, { location: "/new" });
      return res.end();
    }
    res.end("moved here");
  });
  const url = `http://127.0.0.1:${port}/old`;
  const followed = run({ HTTP: url, Interval: "1s" });
  expect((await waitStatus(followed.rec, "passing")).output).toBe(`HTTP GET ${url}: 200 OK Output: moved here`);
  const kept = run({ HTTP: url, Interval: "1s", DisableRedirects: true, Status: "passing" });
  expect((await waitStatus(kept.rec, "critical")).output).toBe(`HTTP GET ${url}: 302 Found Output: `);
});

test("SuccessBeforePassing, FailuresBeforeWarning and FailuresBeforeCritical count probes", async () => {
  const script = [200, 500, 500, 500, 200, 200];
  let hits = 0;
  const port = await serve((_q, res) => {
    const code = script[hits] ?? 200;
    hits++;
    res.writeHead(code);
    res.end();
  });
  const atHit: [string, number][] = [];
  const rec = recorder();
  const runner = createRunner(
    decodeCheckDefinition({
      HTTP: `http://127.0.0.1:${port}/`,
      Interval: "20ms",
      SuccessBeforePassing: 2,
      FailuresBeforeWarning: 2,
      FailuresBeforeCritical: 3,
    }),
    { ...rec.env, onUpdate: (u) => atHit.push([u.status, hits]) },
  );
  runner.start();
  cleanups.push(() => runner.stop());
  await waitFor(() => hits >= 8, "eight probes");
  runner.stop();
  expect(atHit.slice(0, 4)).toEqual([
    ["passing", 1],
    ["warning", 3],
    ["critical", 4],
    ["passing", 6],
  ]);
});

test("the first probe waits a random stagger within the interval", async () => {
  let hits = 0;
  const port = await serve((_q, res) => {
    hits++;
    res.end();
  });
  const started = Date.now();
  const { rec } = run({ HTTP: `http://127.0.0.1:${port}/`, Interval: "1s" }, { random: () => 0.5 });
  await sleep(150);
  expect(hits).toBe(0);
  await waitStatus(rec, "passing", 3000);
  expect(Date.now() - started).toBeGreaterThanOrEqual(490);
  expect(hits).toBe(1);
});

test("an interval below the minimum is raised to it", async () => {
  let hits = 0;
  const port = await serve((_q, res) => {
    hits++;
    res.end();
  });
  const warnings: string[] = [];
  const logger = { trace() {}, debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {}, named: () => logger };
  run({ HTTP: `http://127.0.0.1:${port}/`, Interval: "10ms" }, { minIntervalMs: 200, logger });
  await sleep(300);
  expect(hits).toBeGreaterThanOrEqual(1);
  expect(hits).toBeLessThanOrEqual(2);
  expect(warnings[0]).toContain("check has interval below minimum");
});

test("HTTPS: an untrusted certificate is critical unless TLSSkipVerify", async () => {
  const dir = await mkdtemp(join(tmpdir(), "consulate-checks-tls-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await promisify(execFile)("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
  ]);
  const server = https.createServer({ key: await readFile(join(dir, "key.pem")), cert: await readFile(join(dir, "cert.pem")) });
  const port = await serve((_q, res) => res.end("secure"), server as unknown as http.Server);
  const url = `https://127.0.0.1:${port}/`;
  const strict = run({ HTTP: url, Interval: "1s", Status: "passing" });
  expect((await waitStatus(strict.rec, "critical")).output).toContain("certificate signed by unknown authority");
  const skip = run({ HTTP: url, Interval: "1s", TLSSkipVerify: true });
  expect((await waitStatus(skip.rec, "passing")).output).toBe(`HTTP GET ${url}: 200 OK Output: secure`);
});
