/**
 * Session TTL timers as a leader duty: only the leader runs them, a new
 * leader restarts every one at full TTL (as Consul's does), and they follow
 * the applied commands (armed at create, dropped when the session is gone).
 */
import { type Command, MessageType, type StateStore } from "../state/mod.ts";
import { ApplyError } from "./errors.ts";
import type { SessionTimers } from "./session_timers.ts";

export class SessionDuty {
  readonly #timers: SessionTimers;
  readonly #state: StateStore;
  readonly #isLeader: () => boolean;

  constructor(timers: SessionTimers, state: StateStore, isLeader: () => boolean) {
    this.#timers = timers;
    this.#state = state;
    this.#isLeader = isLeader;
  }

  /** Restarts every session's timer at full TTL when leading; stops them all otherwise. */
  rearm(): void {
    this.#timers.stopAll();
    if (!this.#isLeader()) return;
    for (const s of this.#state.t.sessions.values()) this.#timers.arm(s.ID, s.TTL);
  }

  /** Follows an applied command (other than a restore, after which `rearm`). */
  applied(cmd: Command): void {
    const sessions = this.#state.t.sessions;
    if (cmd.Type === MessageType.Session && cmd.Op === "create") {
      if (sessions.has(cmd.Session.ID) && this.#isLeader()) this.#timers.arm(cmd.Session.ID, cmd.Session.TTL);
      return;
    }
    if (cmd.Type === MessageType.Barrier) return;
    // Sessions vanish by destroy, and by node/check removal in catalog and txn commands.
    if (cmd.Type === MessageType.KVS || cmd.Type === MessageType.Tombstone) return;
    for (const id of this.#timers.armedIds()) if (!sessions.has(id)) this.#timers.disarm(id);
  }

  /** A Session.Renew another server forwarded to this leader. */
  serveRenew(args: unknown): true {
    const a = args as { SessionID?: unknown; TTL?: unknown };
    if (typeof a.SessionID !== "string" || typeof a.TTL !== "string") throw new ApplyError("rpc error: bad Session.Renew arguments");
    this.#timers.arm(a.SessionID, a.TTL);
    return true;
  }
}
