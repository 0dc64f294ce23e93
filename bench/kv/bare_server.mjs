// The floor for the KV bench: the same wire work as `/v1/kv/<key>` with no
// logic, on the runtime's own HTTP server (Bun.serve, Deno.serve or node:http:
// the ones Consulate's agent uses there; a bench, so it may name runtimes).
// GET answers the stored value as Consul-shaped JSON with X-Consul-Index;
// `?index=<current>` parks the request until the next PUT, which stores the
// body, bumps the index and wakes every parked request.
//
//     <node|bun|deno run -A> bench/kv/bare_server.mjs <port> [<cert.pem> <key.pem>]
//
// With a certificate and key it serves HTTPS instead (the floor of the HTTPS case).
const g = globalThis;
const argv = g.Deno ? g.Deno.args : process.argv.slice(2);
const port = Number(argv[0] ?? "28600");
const { readFileSync } = await import("node:fs");
const tls = argv[2] ? { cert: readFileSync(argv[1], "utf8"), key: readFileSync(argv[2], "utf8") } : null;
const store = new Map();
let index = 1;
let parked = [];

function put(key, value) {
  store.set(key, value);
  index++;
  const woken = parked;
  parked = [];
  for (const wake of woken) wake();
}

const body = (key, value) => JSON.stringify([{ Key: key, Value: btoa(value), Flags: 0, CreateIndex: index, ModifyIndex: index, LockIndex: 0 }]);

async function fetchHandler(req) {
  const url = new URL(req.url);
  const key = url.pathname.slice("/v1/kv/".length);
  if (req.method === "PUT") {
    put(key, await req.text());
    return Response.json(true);
  }
  if (Number(url.searchParams.get("index") ?? "0") >= index) await new Promise((r) => parked.push(r));
  const headers = { "X-Consul-Index": String(index) };
  const value = store.get(key);
  if (value === undefined) return new Response(null, { status: 404, headers });
  return new Response(body(key, value), { headers: { ...headers, "Content-Type": "application/json" } });
}

if (g.Bun) {
  g.Bun.serve({ hostname: "127.0.0.1", port, idleTimeout: 0, fetch: fetchHandler, ...(tls ? { tls } : {}) });
} else if (g.Deno) {
  g.Deno.serve({ hostname: "127.0.0.1", port, onListen() {}, ...(tls ?? {}) }, fetchHandler);
} else {
  const handler = (req, res) => {
    const url = new URL(req.url, "http://x");
    const key = url.pathname.slice("/v1/kv/".length);
    if (req.method === "PUT") {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        put(key, Buffer.concat(chunks).toString());
        res.writeHead(200, { "Content-Type": "application/json" }).end("true");
      });
      return;
    }
    const answer = () => {
      const value = store.get(key);
      if (value === undefined) res.writeHead(404, { "X-Consul-Index": String(index) }).end();
      else res.writeHead(200, { "X-Consul-Index": String(index), "Content-Type": "application/json" }).end(body(key, value));
    };
    if (Number(url.searchParams.get("index") ?? "0") >= index) parked.push(answer);
    else answer();
  };
  const server = tls ? (await import("node:https")).createServer(tls, handler) : (await import("node:http")).createServer(handler);
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 0;
  server.listen(port, "127.0.0.1");
}
