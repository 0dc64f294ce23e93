/**
 * The JetStream floor for bench/cluster: what the NATS cluster itself gives
 * when 32 writers each publish one entry at a time (with a Nats-Msg-Id, as
 * JetStreamLog does) to an R3 file stream and wait for its ack. Consulate's
 * cluster can at best approach this: it adds HTTP, the state machine and
 * three readers of the stream.
 *
 *     bun bench/cluster/js_floor.ts <nats-urls> <seconds> <writers> <bytes>
 *
 * Prints one line: JSFLOOR {"count":..,"seconds":..,"p50Ms":..,"p99Ms":..}
 */
import { jetstream, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { args, exit, writeStdout } from "../../src/runtime/process.ts";

const [urls = "nats://127.0.0.1:4222", secondsArg = "4", writersArg = "32", bytesArg = "160"] = args();
const seconds = Number(secondsArg);
const writers = Number(writersArg);
const payload = new TextEncoder().encode('{"Type":2,"Now":1700000000000,"Op":"set","Entry":{"Key":"foo","Value":"YmFy"}}'.padEnd(Number(bytesArg), " "));

const nc = await connect({ servers: urls.split(",") });
const jsm = await jetstreamManager(nc);
const stream = `floor${Date.now()}`;
await jsm.streams.add({ name: stream, subjects: [`${stream}.log`], num_replicas: 3, storage: StorageType.File, retention: RetentionPolicy.Limits, duplicate_window: 120_000_000_000 });
const js = jetstream(nc);
// Warm-up: the stream's Raft group elects a leader.
for (let i = 0; i < 50; i++) await js.publish(`${stream}.log`, payload, { msgID: `warm-${i}` });

const latencies: number[] = [];
let seq = 0;
const end = performance.now() + seconds * 1000;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: writers }, async () => {
    while (performance.now() < end) {
      const start = performance.now();
      await js.publish(`${stream}.log`, payload, { msgID: `w-${++seq}` });
      latencies.push(performance.now() - start);
    }
  }),
);
const elapsed = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
writeStdout(`JSFLOOR ${JSON.stringify({ count: latencies.length, seconds: elapsed, p50Ms: pct(50), p99Ms: pct(99) })}\n`);
await jsm.streams.delete(stream);
await nc.close();
exit(0);
