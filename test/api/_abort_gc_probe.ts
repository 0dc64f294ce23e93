// Run by abort_node.test.ts under Node with --expose-gc: a blocking read
// aborted after a garbage collection must end at once (nodejs/node#55428).
import { createServer } from "node:http";
import { Client } from "../../src/api/mod.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const server = createServer(() => {}); // takes the request, never answers
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const { port } = server.address() as { port: number };
const client = new Client({ address: `127.0.0.1:${port}` });
const ac = new AbortController();
const read = client.kv().get("k", { index: 5, wait: 60_000, signal: ac.signal }).then(
  () => "answered",
  (err: Error) => `rejected: ${err.name}`,
);
await sleep(100);
for (let i = 0; i < 3; i++) {
  (globalThis as { gc?: () => void }).gc?.();
  await sleep(20);
}
const t0 = Date.now();
ac.abort();
const out = await Promise.race([read, sleep(3000).then(() => "hung")]);
console.log(JSON.stringify({ out, ms: Date.now() - t0 }));
server.closeAllConnections();
server.close();
process.exit(0);
