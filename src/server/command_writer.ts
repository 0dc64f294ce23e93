/**
 * A server's write path: a command is encoded, appended to the log, and its
 * outcome (what `apply` decided) handed back once the entry is applied. A
 * replicated log returns the outcome with the append; a local one commits
 * synchronously into `committed`, where the outcome waits for its writer.
 */
import { LogUnavailableError } from "../log/errors.ts";
import type { Log } from "../log/log.ts";
import { type ApplyResult, type Command, encodeCommand } from "../state/mod.ts";
import { ApplyError } from "./errors.ts";

export class CommandWriter {
  readonly #log: Log;
  readonly #stopped: () => boolean;
  readonly #afterWrite: () => void;
  readonly #results = new Map<number, ApplyResult>();

  /** `afterWrite` runs after each applied write (the server checks for compaction there). */
  constructor(log: Log, stopped: () => boolean, afterWrite: () => void) {
    this.#log = log;
    this.#stopped = stopped;
    this.#afterWrite = afterWrite;
  }

  /** Keeps the outcome of an entry a local log applied until its writer collects it. */
  committed(index: number, result: ApplyResult): void {
    if (!this.#log.appendResult) this.#results.set(index, result);
  }

  /** Drops uncollected outcomes (the state was replaced by a snapshot). */
  forget(): void {
    this.#results.clear();
  }

  /** Appends a command and answers its index and what `apply` decided. */
  async writeIndexed(cmd: Command): Promise<{ index: number; result: ApplyResult }> {
    if (this.#stopped()) throw new ApplyError("No cluster leader");
    let index: number;
    let outcome: ApplyResult | undefined;
    try {
      if (this.#log.appendResult) {
        const r = await this.#log.appendResult(encodeCommand(cmd));
        index = r.index;
        outcome = r.result as ApplyResult | undefined;
      } else {
        index = await this.#log.append(encodeCommand(cmd));
      }
    } catch (err) {
      if (err instanceof LogUnavailableError) throw new ApplyError(err.message, { cause: err });
      throw err;
    }
    if (outcome !== undefined) {
      this.#afterWrite();
      return { index, result: outcome };
    }
    const result = this.#results.get(index);
    this.#results.delete(index);
    this.#afterWrite();
    if (!result) throw new ApplyError(`rpc error: entry ${index} was not applied`);
    return { index, result };
  }

  /** Appends a command whose outcome nobody reads (a leader's fence) and answers its index. */
  async appendOnly(cmd: Command): Promise<number> {
    if (this.#stopped()) throw new ApplyError("No cluster leader");
    const index = await this.#log.append(encodeCommand(cmd));
    this.#results.delete(index);
    return index;
  }
}
