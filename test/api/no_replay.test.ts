/**
 * The api Client never sends a write twice. The server here drops a kept-alive
 * connection after reading its second request, as an agent that applied a
 * write and died before answering: Bun's and Deno's fetch would then resend
 * the PUT on a new connection (three arrivals for two creates). Writes go on
 * connections of their own, so each create arrives once, as with Go's client.
 */
import { afterEach, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Client } from "../../src/api/mod.ts";
import { type BreakingServer, startBreakingServer } from "./_breaking_server.ts";

let server: BreakingServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

test("Bun: two session creates arrive once each (a write never rides a kept-alive connection that could break under it)", async () => {
  server = await startBreakingServer();
  const client = new Client({ address: `127.0.0.1:${server.port}` });
  const first = await client.session().create({});
  expect(first).toBe("9f1a1b8e-0000-4000-8000-000000000001");
  const second = await client.session().create({}).then(
    () => "answered",
    (err: Error) => err.name,
  );
  // Each write on a connection of its own: the second never meets a broken kept-alive one.
  expect(server.arrivals).toEqual(["PUT /v1/session/create", "PUT /v1/session/create"]);
  expect(second).toBe("answered");
});

test("Deno: the same two session creates arrive once each", async () => {
  server = await startBreakingServer();
  // Spawned, not spawnSync: the server answering it lives in this process.
  const child = spawn(`${ROOT}node_modules/.bin/deno`, ["run", "-A", "--quiet", `${ROOT}test/api/_no_replay_client.ts`, String(server.port)]);
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  await new Promise<void>((r) => child.once("close", () => r()));
  expect(err).toBe("");
  expect(JSON.parse(out)).toEqual(["ok 9f1a1b8e-0000-4000-8000-000000000001", "ok 9f1a1b8e-0000-4000-8000-000000000001"]);
  expect(server.arrivals).toEqual(["PUT /v1/session/create", "PUT /v1/session/create"]);
}, 40_000);
