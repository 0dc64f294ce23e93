/**
 * The client side of a run: several KvClients, each on its own server,
 * issuing get/put/CAS on a few keys until told to stop. Keys rotate every
 * `keyEpochMs`, so each register's history (and the checker's search) stays
 * small while the run is long, as Jepsen's independent keys do.
 */
import { KvClient } from "./kv_client.ts";
import type { History } from "./history.ts";

export interface WorkloadOptions {
  readonly history: History;
  /** One base URL getter per client (clients on different servers). */
  readonly servers: readonly (() => string)[];
  readonly clients: number;
  readonly keys: number;
  readonly keyEpochMs: number;
  readonly timeoutMs: number;
  /** Pause between one client's operations (ms), to keep the rate modest. */
  readonly thinkMs: number;
  readonly rand: () => number;
  readonly prefix: string;
  readonly consistency?: "" | "consistent";
}

export interface Workload {
  /** Stops issuing and waits for every client's last operation. */
  stop(): Promise<void>;
  /** Every key the clients used. */
  readonly keys: Set<string>;
}

export function startWorkload(o: WorkloadOptions): Workload {
  let running = true;
  const keys = new Set<string>();
  const t0 = performance.now();
  const loops: Promise<void>[] = [];
  for (let id = 0; id < o.clients; id++) {
    const client = new KvClient({
      id,
      base: o.servers[id % o.servers.length]!,
      history: o.history,
      timeoutMs: o.timeoutMs,
      ...(o.consistency !== undefined ? { consistency: o.consistency } : {}),
    });
    loops.push(
      (async () => {
        while (running) {
          const epoch = Math.floor((performance.now() - t0) / o.keyEpochMs);
          const key = `${o.prefix}/e${epoch}/k${Math.floor(o.rand() * o.keys)}`;
          keys.add(key);
          const r = o.rand();
          if (r < 0.4) await client.get(key);
          else if (r < 0.7) await client.put(key);
          else await client.cas(key);
          if (o.thinkMs > 0) await new Promise((res) => setTimeout(res, o.rand() * 2 * o.thinkMs));
        }
      })(),
    );
  }
  return {
    keys,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** After the faults: one more read of every key (retrying until a server answers), appended to the history. */
export async function finalReads(history: History, keys: Iterable<string>, base: () => string, consistency: "" | "consistent" = ""): Promise<void> {
  const client = new KvClient({ id: 1_000_000, base, history, timeoutMs: 5_000, consistency });
  for (const key of keys) {
    for (let attempt = 0; ; attempt++) {
      const before = history.stats.ok;
      await client.get(key);
      if (history.stats.ok > before) break;
      if (attempt > 50) throw new Error(`final read of ${key} kept failing`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
