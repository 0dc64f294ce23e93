import type { Journal } from "./journal.ts";
import type { Tables } from "./tables.ts";
import { kvKeyTopic } from "./watch.ts";

/** What one `apply` works with: the tables, its log index and the proposer's clock. */
export interface WriteContext {
  readonly t: Tables;
  readonly index: number;
  readonly now: number;
  readonly journal: Journal;
}

/** Sets the modify index of each named table to this entry's index. */
export function bump(ctx: WriteContext, ...tables: string[]): void {
  for (const table of tables) ctx.t.indexes.set(table, ctx.index);
}

export function touch(ctx: WriteContext, ...topics: string[]): void {
  for (const topic of topics) ctx.journal.topics.add(topic);
}

export function touchKey(ctx: WriteContext, key: string): void {
  ctx.journal.changedKeys.add(key);
  ctx.journal.topics.add(kvKeyTopic(key));
}

/**
 * A command that cannot be applied as asked. Thrown inside `apply` (which then
 * rolls back); the HTTP layer answers 500 with the message, as Consul does for
 * errors that come back from its FSM (`invalid session "<id>"`).
 */
export class StateError extends Error {
  override readonly name = "StateError";
}
