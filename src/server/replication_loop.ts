/**
 * The loop of a secondary's replicator (ACLs, config entries, the CA's
 * roots): while the server holds the duty, one blocking round on the primary
 * after another; a failed round is logged and retried after a backoff of
 * 200 ms doubling to 2 s, and while there is no primary to replicate from
 * (this datacenter is the primary) it looks again every 500 ms.
 */
import { Backoff } from "../util/mod.ts";
import { BackgroundLoop } from "./background_loop.ts";

const BACKOFF = { initialMs: 200, maxMs: 2_000 } as const;
const IDLE_MS = 500;

export type ReplicationLog = (level: "debug" | "info" | "warn" | "error", message: string) => void;

export abstract class ReplicationLoop extends BackgroundLoop {
  /** Rounds that succeeded since this run started (0: the first round is still to come). */
  protected roundsThisRun = 0;

  readonly #what: string;
  readonly #log: ReplicationLog | undefined;

  /** `what` names the round in the log: "<what> failed (retrying in N ms): <error>". */
  constructor(what: string, log: ReplicationLog | undefined) {
    super();
    this.#what = what;
    this.#log = log;
  }

  /** The datacenter to replicate from, or null while there is none (this one is the primary). */
  protected abstract source(): string | null;

  /** One round: a blocking call on `primary` that takes `signal`, then what it answered applied. */
  protected abstract replicate(primary: string, signal: AbortSignal): Promise<void>;

  /** Records a failed round (for the replication status). */
  protected abstract failed(message: string): void;

  protected async run(): Promise<void> {
    const backoff = new Backoff(BACKOFF);
    this.roundsThisRun = 0;
    while (this.running) {
      const primary = this.source();
      if (primary === null) {
        await sleep(IDLE_MS);
        continue;
      }
      const signal = this.roundSignal();
      try {
        await this.replicate(primary, signal);
        if (!this.running) break;
        this.roundsThisRun++;
        backoff.reset();
      } catch (err) {
        if (!this.running) break;
        const message = (err as Error).message;
        this.failed(message);
        const delay = backoff.next();
        this.#log?.("debug", `${this.#what} failed (retrying in ${delay} ms): ${message}`);
        await sleep(delay);
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
