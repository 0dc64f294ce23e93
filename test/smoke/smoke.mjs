// Smoke test of the dev agent under a given runtime: start it (with an HCL config file), write and
// read a key, see header names in Go's canonical case, register and look up a service, read through
// the agent cache, load the web UI, then stop it with SIGTERM and expect a clean exit.
// Usage: node test/smoke/smoke.mjs <command...>
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cmd = process.argv.slice(2);
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
const port = await freePort();
const dnsPort = await freePort();
// Gossip and the RPC port too, so the smoke test never fights another agent for 8300-8302.
const clusterPorts = ["-serf-lan-port", String(await freePort()), "-serf-wan-port", String(await freePort()), "-server-port", String(await freePort())];

// HCL goes through HashiCorp's parser compiled to WebAssembly: load a file on this runtime.
const confDir = mkdtempSync(join(tmpdir(), "consulate-smoke-"));
const hclFile = join(confDir, "smoke.hcl");
writeFileSync(hclFile, 'node_meta {\n  smoke = "hcl"\n}\n');
process.on("exit", () => rmSync(confDir, { recursive: true, force: true }));

const child = spawn(cmd[0], [...cmd.slice(1), "agent", "-dev", "-config-file", hclFile, "-http-port", String(port), "-dns-port", String(dnsPort), ...clusterPorts, "-log-level", "warn"], {
  stdio: ["ignore", "pipe", "pipe"],
});
let output = "";
child.stdout.on("data", (d) => (output += d));
child.stderr.on("data", (d) => (output += d));
const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));

function fail(msg) {
  console.error(`smoke failed: ${msg}\n--- agent output ---\n${output}`);
  child.kill("SIGKILL");
  process.exit(1);
}
const timer = setTimeout(() => fail("timed out after 60s"), 60_000);

const deadline = Date.now() + 45_000;
while (!output.includes("agent running!")) {
  if (Date.now() > deadline) fail("agent did not start");
  if (child.exitCode !== null) fail(`agent exited with ${child.exitCode}`);
  await new Promise((r) => setTimeout(r, 100));
}
const base = `http://127.0.0.1:${port}`;
const put = await fetch(`${base}/v1/kv/smoke/key`, { method: "PUT", body: "hello" });
if ((await put.text()).trim() !== "true") fail("KV PUT did not answer true");
const raw = await fetch(`${base}/v1/kv/smoke/key?raw`);
if ((await raw.text()) !== "hello") fail("KV GET ?raw did not return the value");
const idx = Number(raw.headers.get("x-consul-index"));
if (!(idx > 0)) fail("X-Consul-Index missing");
// Header names as Go writes them (scripts match them case-sensitively), seen on the wire.
const head = await new Promise((resolve, reject) => {
  const socket = connect(port, "127.0.0.1", () => socket.write("GET /v1/kv/smoke/key HTTP/1.1\r\nHost: smoke\r\nConnection: close\r\n\r\n"));
  let text = "";
  socket.on("data", (d) => (text += d));
  socket.on("end", () => resolve(text.split("\r\n\r\n")[0] ?? ""));
  socket.on("error", reject);
});
if (!head.includes("\r\nX-Consul-Index: ") || !head.includes("\r\nContent-Type: application/json")) fail(`header names not canonical: ${head}`);
const self = await (await fetch(`${base}/v1/agent/self`)).json();
if (self.Meta?.smoke !== "hcl") fail(`the HCL config file was not applied: Meta ${JSON.stringify(self.Meta)}`);
const reg = await fetch(`${base}/v1/catalog/register`, {
  method: "PUT",
  body: JSON.stringify({ Node: "n1", Address: "10.0.0.1", Service: { Service: "web", Port: 80 } }),
});
if ((await reg.text()).trim() !== "true") fail("catalog register failed");
// Registration goes through the direct lane with a Content-Length and through the app when chunked: byte for byte alike.
const exchange = (bytes) =>
  new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let text = "";
    socket.on("data", (d) => (text += d));
    socket.on("end", () => resolve(text.replace(/\r\nDate: [^\r]*/, "")));
    socket.on("error", reject);
  });
for (const body of [JSON.stringify({ Node: "n2", Address: "10.0.0.2" }), '{"Node":', JSON.stringify({ Node: "n3" }), "[]"]) {
  const head = "PUT /v1/catalog/register?pretty HTTP/1.1\r\nHost: smoke\r\nConnection: close\r\n";
  const direct = await exchange(`${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  const viaApp = await exchange(`${head}Transfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`);
  if (direct !== viaApp || !direct.startsWith("HTTP/1.1 ")) fail(`registration lanes differ for ${body}:\n${direct}\n---\n${viaApp}`);
}
const health = await (await fetch(`${base}/v1/health/service/web`)).json();
if (health.length !== 1 || health[0].Service.Port !== 80) fail(`health lookup wrong: ${JSON.stringify(health)}`);
// The agent cache: a miss, then a hit; its background refresh must not hold the exit below.
const cacheState = [];
for (let i = 0; i < 2; i++) {
  const res = await fetch(`${base}/v1/health/service/web?cached`);
  await res.text();
  cacheState.push(res.headers.get("x-cache"));
}
if (cacheState.join() !== "MISS,HIT") fail(`?cached answered X-Cache ${cacheState.join()}`);

// The web UI: GET / redirects to it, its pages and modules are found from this runtime's entry point (sources or the bundle).
const root = await fetch(`${base}/`, { redirect: "manual" });
if (root.status !== 301 || root.headers.get("location") !== "/ui/") fail(`GET / answered ${root.status} ${root.headers.get("location")}`);
const page = await fetch(`${base}/ui/dc1/services`);
if (page.status !== 200 || !(await page.text()).includes('<base href="/ui/">')) fail(`GET /ui/dc1/services answered ${page.status}`);
const mod = await fetch(`${base}/ui/consulate-ui.js`);
if (mod.status !== 200 || !(mod.headers.get("content-type") ?? "").includes("javascript")) fail(`GET /ui/consulate-ui.js answered ${mod.status}`);
await mod.text();
const summaries = await (await fetch(`${base}/v1/internal/ui/services`)).json();
if (!summaries.some((s) => s.Name === "web" && s.InstanceCount === 1)) fail(`ui services wrong: ${JSON.stringify(summaries)}`);

child.kill("SIGTERM");
const { code, signal } = await exited;
clearTimeout(timer);
if (code !== 0) fail(`agent exit code ${code} signal ${signal}`);
console.log(`smoke ok under: ${cmd.join(" ")}`);
