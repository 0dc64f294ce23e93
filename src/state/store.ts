/**
 * The state machine. `apply(index, command)` is the only way state changes;
 * it is deterministic (time comes inside the command), all-or-nothing (a
 * journal undoes a command that fails half-way), and fires the watch topics
 * of what it changed once it has committed.
 */
import { applyDeregister, applyRegister } from "./catalog.ts";
import { applyCoordinateBatch } from "./coordinates.ts";
import { applyConfigEntry, applyIntentionMutation } from "./config_entries.ts";
import { type Command, type FencedCommand, MessageType } from "./commands.ts";
import { bump, StateError, type WriteContext } from "./context.ts";
import { applyConnectCA } from "./connect_ca.ts";
import { applyAutopilotSet } from "./autopilot.ts";
import { applyACL } from "./acl.ts";
import { Journal } from "./journal.ts";
import { applyKvVerb, reapTombstones } from "./kv.ts";
import { pruneLockDelays } from "./lock_delay.ts";
import { sessionCreate, sessionDestroy } from "./session.ts";
import { applyPreparedQuery } from "./prepared_query.ts";
import { decodeSnapshot, encodeSnapshot } from "./snapshot.ts";
import { Tables } from "./tables.ts";
import { decodeBase64 } from "../structs/json.ts";
import { runTxn, type TxnOutcome } from "./txn.ts";
import { WatchHub } from "./watch.ts";

export type ApplyResult =
  | { readonly ok: true; readonly value: boolean | string | TxnOutcome | null }
  | { readonly ok: false; readonly error: string };

export class StateStore {
  readonly hub = new WatchHub();
  private tables = new Tables();
  private applied = 0;
  private restoreCount = 0;

  /** Read access to the tables (never write through it). */
  get t(): Tables {
    return this.tables;
  }

  /** Index of the last applied log entry. */
  get lastApplied(): number {
    return this.applied;
  }

  /** How many snapshot restores replaced the state (blocking queries end when it changes, as Consul's abandon channel). */
  get restores(): number {
    return this.restoreCount;
  }

  /**
   * `continuing`: another command of the same log entry (a batch from a
   * replicated log, whose commands share the entry's index).
   */
  apply(index: number, cmd: Command, continuing = false): ApplyResult {
    if (continuing ? index !== this.applied : index <= this.applied) {
      throw new RangeError(`Log index ${index} already applied (at ${this.applied})`);
    }
    if (cmd.Type === MessageType.Restore) return this.applyRestore(index, cmd.State);
    const journal = new Journal();
    const ctx: WriteContext = { t: this.tables, index, now: cmd.Now, journal };
    this.tables.ref.current = journal;
    let result: ApplyResult;
    try {
      checkFence(ctx, cmd);
      const value = dispatch(ctx, cmd);
      if (typeof value === "object" && value !== null && value.errors.length > 0) {
        journal.rollback();
        result = { ok: true, value: { results: [], errors: value.errors } };
      } else {
        result = { ok: true, value };
      }
    } catch (err) {
      journal.rollback();
      if (!(err instanceof StateError)) {
        this.tables.ref.current = null;
        throw err;
      }
      result = { ok: false, error: err.message };
    }
    this.tables.ref.current = null;
    this.applied = index;
    for (const topic of journal.topics) this.hub.fire(topic);
    for (const key of journal.changedKeys) this.hub.fireKey(key);
    return result;
  }

  /**
   * Runs a read-only transaction against current state without a log entry
   * (Consul's fast path); anything it might touch is rolled back.
   */
  readTxn(ops: Parameters<typeof runTxn>[1]): TxnOutcome {
    const journal = new Journal();
    this.tables.ref.current = journal;
    try {
      const out = runTxn({ t: this.tables, index: this.applied, now: Date.now(), journal }, ops);
      return out.errors.length > 0 ? { results: [], errors: out.errors } : out;
    } finally {
      journal.rollback();
      this.tables.ref.current = null;
    }
  }

  snapshot(): Uint8Array {
    return encodeSnapshot(this.tables, this.applied);
  }

  /**
   * A Restore entry: the snapshot replaces every table at once, or, when it
   * does not decode, nothing changes. The log index moves on to `index`; the
   * tables keep the indexes the snapshot holds (they may go back, as after a
   * restore in Consul).
   */
  private applyRestore(index: number, state: string): ApplyResult {
    let tables: Tables;
    try {
      const bytes = decodeBase64(state);
      if (bytes === null) throw new RangeError("the state is not base64");
      tables = decodeSnapshot(bytes).tables;
    } catch (err) {
      this.applied = index;
      return { ok: false, error: `failed to restore snapshot: ${(err as Error).message}` };
    }
    this.tables = tables;
    this.applied = index;
    this.restoreCount++;
    this.hub.fireAll();
    return { ok: true, value: null };
  }

  /** Replaces all state with a snapshot; every watcher wakes to re-read. */
  restore(data: Uint8Array): void {
    const { tables, index } = decodeSnapshot(data);
    this.tables = tables;
    this.applied = index;
    this.hub.fireAll();
  }
}

/**
 * The "leader" index is the index of the newest fence entry (a Barrier with
 * `Leader`); a command issued under an older fence is refused.
 */
export const LEADER_TABLE = "leader";

function checkFence(ctx: WriteContext, cmd: Command): void {
  const fence = (cmd as FencedCommand).Fence;
  if (fence === undefined) return;
  const current = ctx.t.index(LEADER_TABLE);
  if (fence !== current) throw new StateError(`leadership lost: command issued under the leader fenced at ${fence}, but the leader fenced at ${current} leads now`);
}

function dispatch(ctx: WriteContext, cmd: Command): boolean | string | TxnOutcome | null {
  switch (cmd.Type) {
    case MessageType.Register:
      applyRegister(ctx, cmd.Req);
      return null;
    case MessageType.Deregister:
      applyDeregister(ctx, cmd.Req);
      return null;
    case MessageType.KVS:
      return applyKvVerb(ctx, cmd.Op, cmd.Entry);
    case MessageType.Session:
      return cmd.Op === "create" ? sessionCreate(ctx, cmd.Session) : sessionDestroy(ctx, cmd.ID);
    case MessageType.Tombstone:
      reapTombstones(ctx, cmd.ReapIndex);
      pruneLockDelays(ctx);
      return null;
    case MessageType.Txn:
      return runTxn(ctx, cmd.Ops);
    case MessageType.CoordinateBatchUpdate:
      applyCoordinateBatch(ctx, cmd.Coordinates);
      return null;
    case MessageType.Barrier:
      if (cmd.Leader) bump(ctx, LEADER_TABLE);
      return null;
    case MessageType.ConfigEntry:
      return applyConfigEntry(ctx, cmd);
    case MessageType.Intention:
      return applyIntentionMutation(ctx, cmd.Mutation);
    case MessageType.ConnectCA:
      return applyConnectCA(ctx, cmd);
    case MessageType.Autopilot:
      return applyAutopilotSet(ctx, cmd.Config, cmd.CAS);
    case MessageType.PreparedQuery:
      return applyPreparedQuery(ctx, cmd);
    case MessageType.ACLBootstrap:
    case MessageType.ACLTokenSet:
    case MessageType.ACLTokenDelete:
    case MessageType.ACLPolicySet:
    case MessageType.ACLPolicyDelete:
    case MessageType.ACLRoleSet:
    case MessageType.ACLRoleDelete:
    case MessageType.ACLBindingRuleSet:
    case MessageType.ACLBindingRuleDelete:
    case MessageType.ACLAuthMethodSet:
    case MessageType.ACLAuthMethodDelete:
      return applyACL(ctx, cmd);
    default:
      throw new StateError(`Unknown command type ${(cmd as { Type: unknown }).Type}`);
  }
}
