/**
 * The floor for the KV bench: the same wire work as `/v1/kv/<key>` with no
 * logic, on Bun.serve (a bench, so it may name the runtime). GET answers the
 * stored value as Consul-shaped JSON with X-Consul-Index; `?index=<current>`
 * parks the request until the next PUT, which stores the body, bumps the index
 * and wakes every parked request.
 *
 *     bun bench/kv/bare_server.ts <port>
 */
import { args } from "../../src/runtime/process.ts";

const store = new Map<string, string>();
let index = 1;
let parked: Array<() => void> = [];

Bun.serve({
  hostname: "127.0.0.1",
  port: Number(args()[0] ?? "28600"),
  idleTimeout: 0,
  async fetch(req) {
    const url = new URL(req.url);
    const key = url.pathname.slice("/v1/kv/".length);
    if (req.method === "PUT") {
      store.set(key, await req.text());
      index++;
      const woken = parked;
      parked = [];
      for (const wake of woken) wake();
      return Response.json(true);
    }
    if (Number(url.searchParams.get("index") ?? "0") >= index) await new Promise<void>((r) => parked.push(r));
    const headers = { "X-Consul-Index": String(index) };
    const value = store.get(key);
    if (value === undefined) return new Response(null, { status: 404, headers });
    return Response.json([{ Key: key, Value: btoa(value), Flags: 0, CreateIndex: index, ModifyIndex: index, LockIndex: 0 }], { headers });
  },
});
