/**
 * A Connect-native hono app, the same file on Bun, Deno and Node.
 *
 *   consulate agent -dev &
 *   bun examples/native/app.ts db 9090          # serves "db" over mutual TLS, registered as Connect native
 *   deno run -A examples/native/app.ts web 8080 # serves plain HTTP on 8080; GET / calls db through the mesh
 *   curl localhost:8080/                        # -> web got from db: {"rows":[1,2,3]}
 *   consulate intention create -deny web db     # -> the next call fails
 *
 * Node 20 runs it bundled: npx esbuild examples/native/app.ts --bundle --platform=node --format=esm --packages=external --outfile=/tmp/app.mjs && node /tmp/app.mjs db 9090
 * CONSUL_HTTP_ADDR picks the agent (default 127.0.0.1:8500).
 */
import { Hono } from "hono";
import { Client } from "../../src/api/mod.ts";
import { connect } from "../../gateways/native/mod.ts";
import { serveHttp } from "../../src/runtime/mod.ts";
import { args, env, onSignal } from "../../src/runtime/process.ts";

const [role = "db", portText = "9090"] = args();
const port = Number(portText);
const client = new Client({ address: env("CONSUL_HTTP_ADDR") || "127.0.0.1:8500" });
const log = { debug() {}, info: (m: string) => console.log(m), warn: (m: string) => console.warn(m), error: (m: string) => console.error(m) };

const svc = await connect.service({ service: role, client, logger: log });
const stops: (() => Promise<void>)[] = [];

if (role === "db") {
  const app = new Hono();
  app.get("/", (c) => c.json({ rows: [1, 2, 3] }));
  app.post("/admin", (c) => c.text("dropped everything"));
  const served = await connect.serve(svc, app.fetch, { port });
  await client.agent().serviceRegister({ Name: "db", Port: served.port, Address: "127.0.0.1", Connect: { Native: true } });
  stops.push(() => served.close(), () => client.agent().serviceDeregister("db"));
  console.log(`db: serving over mutual TLS on 127.0.0.1:${served.port}`);
} else {
  const app = new Hono();
  app.get("/", async (c) => {
    try {
      const res = await connect.fetch(svc, "db", "/");
      return c.text(`web got from db: ${await res.text()}\n`, res.status === 200 ? 200 : 502);
    } catch (err) {
      return c.text(`db unreachable through the mesh: ${(err as Error).message}\n`, 502);
    }
  });
  const listener = await serveHttp({ port, hostname: "127.0.0.1", fetch: (req) => app.fetch(req) });
  stops.push(() => listener.stop());
  console.log(`web: plain HTTP on 127.0.0.1:${listener.port}, calling db through the mesh`);
}

const shutdown = async () => {
  for (const s of stops) await s().catch(() => {});
  await svc.close();
  console.log(`${role}: stopped`);
};
let stopping = false;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  onSignal(sig, () => {
    if (stopping) return;
    stopping = true;
    void shutdown();
  });
}
