/**
 * ACL replication from the primary datacenter (Consul's ACL replication,
 * a leader duty of a secondary): a blocking `ACL.ReplicationRead` on the
 * primary with the `replication` token, then the difference written into the
 * local log: policies and roles always (ReplicationType "policies"), global
 * tokens too with `enable_token_replication` ("tokens"). Local tokens are
 * never touched. What was replicated stays while the primary is away, so
 * tokens keep resolving (beyond extend-cache: they are local state).
 */
import { deepEqual } from "../state/equal.ts";
import { ACL_OP_TYPE, type ACLCommandBody, aclIndex, type ACLPolicyBody, type ACLRoleBody, type ACLTokenBody } from "../state/mod.ts";
import type { Rpc } from "../rpc/types.ts";
import type { ACLPolicyRow, ACLRole, ACLToken } from "../structs/acl.ts";
import type { Server } from "./server.ts";
import { ReplicationLoop, type ReplicationLog } from "./replication_loop.ts";

const WAIT_MS = 60_000;
const ZERO_TIME = "0001-01-01T00:00:00Z";

/** What the primary hands a secondary. */
export interface ACLReplicationData {
  readonly Policies: ACLPolicyRow[];
  readonly Roles: ACLRole[];
  /** Global tokens, with their secrets (only when asked for, with acl:write). */
  readonly Tokens: ACLToken[];
}

/** `/v1/acl/replication` (Consul's ACLReplicationStatus). */
export interface ACLReplicationStatus {
  readonly Enabled: boolean;
  readonly Running: boolean;
  readonly SourceDatacenter: string;
  readonly ReplicationType: string;
  readonly ReplicatedIndex: number;
  readonly ReplicatedRoleIndex: number;
  readonly ReplicatedTokenIndex: number;
  readonly LastSuccess: string;
  readonly LastError: string;
  readonly LastErrorMessage: string;
}

export interface AclReplicatorOptions {
  readonly server: Server;
  /** Routes by datacenter (the federation's RPC). */
  readonly rpc: Rpc;
  readonly primary: () => string;
  /** The `replication` token (acl:read for policies and roles, acl:write with tokens). */
  readonly token: () => string;
  /** `enable_token_replication`. */
  readonly tokens: boolean;
  readonly log?: ReplicationLog;
}

type Indexed = { CreateIndex: number; ModifyIndex: number };
function body<T extends Indexed>(row: T): Omit<T, "CreateIndex" | "ModifyIndex"> {
  const { CreateIndex: _c, ModifyIndex: _m, ...rest } = row;
  return rest;
}

export class AclReplicator extends ReplicationLoop {
  private readonly o: AclReplicatorOptions;
  private index = 0;
  private lastSuccess = 0;
  private lastError = 0;
  private lastErrorMessage = "";

  constructor(o: AclReplicatorOptions) {
    super("acl: replication round", o.log);
    this.o = o;
  }

  private get secondary(): boolean {
    const p = this.o.primary();
    return p !== "" && p !== this.o.server.config.datacenter;
  }

  status(): ACLReplicationStatus {
    const iso = (t: number) => (t === 0 ? ZERO_TIME : new Date(t).toISOString());
    const enabled = this.secondary;
    return {
      Enabled: enabled,
      Running: enabled && this.running,
      SourceDatacenter: enabled ? this.o.primary() : "",
      ReplicationType: enabled ? (this.o.tokens ? "tokens" : "policies") : "",
      ReplicatedIndex: this.index,
      ReplicatedRoleIndex: this.index,
      ReplicatedTokenIndex: this.o.tokens ? this.index : 0,
      LastSuccess: iso(this.lastSuccess),
      LastError: iso(this.lastError),
      LastErrorMessage: this.lastErrorMessage,
    };
  }

  protected source(): string | null {
    return this.secondary ? this.o.primary() : null;
  }

  protected async replicate(primary: string, signal: AbortSignal): Promise<void> {
    const first = this.roundsThisRun === 0;
    const reply = await this.o.rpc.call("ACL.ReplicationRead", { Tokens: this.o.tokens }, {
      datacenter: primary,
      minIndex: first ? 0 : Math.max(1, this.index),
      waitMs: WAIT_MS,
      consistency: "default",
      maxStaleMs: 0,
      token: this.o.token(),
      signal,
    });
    if (!this.running) return;
    if (reply.index < this.index) this.index = 0;
    if (reply.index !== this.index || first) {
      const n = await this.apply(reply.value);
      if (n > 0) this.o.log?.("info", `acl: replicated ${n} ACL changes from ${primary} (index ${reply.index})`);
    }
    this.index = reply.index;
    this.lastSuccess = Date.now();
  }

  protected failed(message: string): void {
    this.lastError = Date.now();
    this.lastErrorMessage = message;
  }

  private async write(cmd: ACLCommandBody): Promise<void> {
    const s = this.o.server;
    await s.mustWrite({ Type: ACL_OP_TYPE[cmd.Op], Now: s.clock.now(), ...cmd } as never);
  }

  /** Writes what differs from the primary's; answers the number of objects written or deleted. */
  async apply(remote: ACLReplicationData): Promise<number> {
    const t = this.o.server.state.t;
    let n = 0;
    const policies = new Map(remote.Policies.map((p) => [p.ID, body(p) as ACLPolicyBody]));
    const roles = new Map(remote.Roles.map((r) => [r.ID, body(r) as ACLRoleBody]));
    // Tokens first out, policies last out: links never point at what is gone for long.
    if (this.o.tokens) {
      const tokens = new Map(remote.Tokens.filter((x) => !x.Local).map((x) => [x.AccessorID, body(x) as ACLTokenBody]));
      const stale = [...t.aclTokens.values()].filter((x) => !x.Local && !tokens.has(x.AccessorID)).map((x) => x.AccessorID);
      // A local token holding a replicated token's secret under another accessor (a secondary's own initial management token) gives way.
      for (const x of tokens.values()) {
        const holder = t.aclTokenBySecret.get(x.SecretID);
        if (holder !== undefined && holder !== x.AccessorID && !stale.includes(holder)) stale.push(holder);
      }
      if (stale.length > 0) {
        await this.write({ Op: "token-delete", AccessorIDs: stale });
        n += stale.length;
      }
      const changedTokens = [...tokens.values()].filter((x) => !deepEqual(rowBody(t.aclTokens.get(x.AccessorID)), x));
      if (changedTokens.length > 0) {
        await this.write({ Op: "token-set", Tokens: changedTokens });
        n += changedTokens.length;
      }
    }
    const staleRoles = [...t.aclRoles.keys()].filter((id) => !roles.has(id));
    if (staleRoles.length > 0) {
      await this.write({ Op: "role-delete", IDs: staleRoles });
      n += staleRoles.length;
    }
    const stalePolicies = [...t.aclPolicies.keys()].filter((id) => !policies.has(id));
    if (stalePolicies.length > 0) {
      await this.write({ Op: "policy-delete", IDs: stalePolicies });
      n += stalePolicies.length;
    }
    // A renamed policy may take a name another local one still holds: those go first.
    const changedPolicies = [...policies.values()].filter((p) => !deepEqual(rowBody(t.aclPolicies.get(p.ID)), p));
    const clashes = changedPolicies.map((p) => t.aclPolicyByName.get(p.Name)).filter((id): id is string => id !== undefined && !policies.has(id));
    if (clashes.length > 0) await this.write({ Op: "policy-delete", IDs: clashes });
    if (changedPolicies.length > 0) {
      await this.write({ Op: "policy-set", Policies: changedPolicies });
      n += changedPolicies.length;
    }
    const changedRoles = [...roles.values()].filter((r) => !deepEqual(rowBody(t.aclRoles.get(r.ID)), r));
    if (changedRoles.length > 0) {
      await this.write({ Op: "role-set", Roles: changedRoles });
      n += changedRoles.length;
    }
    return n;
  }
}

function rowBody<T extends Indexed>(row: T | undefined): Omit<T, "CreateIndex" | "ModifyIndex"> | undefined {
  return row === undefined ? undefined : body(row);
}

/** The primary's side: its policies, roles and (with acl:write) global tokens, as one blocking read. */
export function replicationData(s: Server, withTokens: boolean): { index: number; value: ACLReplicationData } {
  const t = s.state.t;
  return {
    index: aclIndex(t),
    value: {
      Policies: [...t.aclPolicies.values()],
      Roles: [...t.aclRoles.values()],
      Tokens: withTokens ? [...t.aclTokens.values()].filter((x) => !x.Local) : [],
    },
  };
}

/** Runs the replicator while this server leads (a secondary's leader duty); answers a stop function. */
export function followLeadership(server: Server, replicator: AclReplicator): () => Promise<void> {
  const follow = (leader: boolean) => {
    if (leader) replicator.start();
    else void replicator.stop();
  };
  const off = server.leadership.onChange(follow);
  follow(server.isLeader());
  server.acl.replication = () => replicator.status();
  return async () => {
    off();
    await replicator.stop();
  };
}
