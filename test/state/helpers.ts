/** Builders for driving `StateStore.apply` with explicit indexes and clocks. */
import { expect } from "bun:test";
import { type ApplyResult, type Command, MessageType, type SessionCommandBody, StateStore, type TxnOp, type TxnOutcome, WatchHub } from "../../src/state/mod.ts";
import type { HealthCheck, NodeService, RegisterRequest } from "../../src/structs/catalog.ts";
import { encodeBase64 } from "../../src/structs/json.ts";
import type { KvVerb } from "../../src/structs/kv.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const NOW = 1_700_000_000_000;

export function b64(text: string): string {
  return encodeBase64(encoder.encode(text));
}

export function str(bytes: Uint8Array | null | undefined): string | null {
  return bytes === null || bytes === undefined ? null : decoder.decode(bytes);
}

export interface KvOpts {
  value?: string | null;
  flags?: bigint | string;
  session?: string;
  index?: number;
  now?: number;
}

export function kvCmd(verb: KvVerb, key: string, o: KvOpts = {}): Command {
  return { Type: MessageType.KVS, Now: o.now ?? NOW, Op: verb, Entry: kvEntry(key, o) };
}

export function kvEntry(key: string, o: KvOpts = {}) {
  return {
    Key: key,
    Value: o.value === undefined ? null : o.value === null ? null : b64(o.value),
    Flags: (o.flags ?? 0n).toString(),
    Session: o.session ?? "",
    ModifyIndex: o.index ?? 0,
  };
}

export function set(store: StateStore, index: number, key: string, value: string, o: KvOpts = {}): void {
  expect(store.apply(index, kvCmd("set", key, { ...o, value }))).toEqual({ ok: true, value: true });
}

export function service(id: string, name: string, extra: Partial<Omit<NodeService, "CreateIndex" | "ModifyIndex">> = {}): Omit<NodeService, "CreateIndex" | "ModifyIndex"> {
  return {
    Kind: "",
    ID: id,
    Service: name,
    Tags: [],
    Address: "",
    TaggedAddresses: {},
    Meta: {},
    Port: 0,
    SocketPath: "",
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
    Proxy: {},
    Connect: {},
    Locality: null,
    ...extra,
  };
}

export function check(node: string, id: string, extra: Partial<Omit<HealthCheck, "CreateIndex" | "ModifyIndex">> = {}): Omit<HealthCheck, "CreateIndex" | "ModifyIndex"> {
  return {
    Node: node,
    CheckID: id,
    Name: id,
    Status: "passing",
    Notes: "",
    Output: "",
    ServiceID: "",
    ServiceName: "",
    ServiceTags: [],
    Type: "",
    Interval: "",
    Timeout: "",
    ExposedPort: 0,
    Definition: {},
    ...extra,
  };
}

export function registration(node: string, extra: Partial<RegisterRequest> = {}): RegisterRequest {
  return {
    ID: "",
    Node: node,
    Address: "10.0.0.1",
    Datacenter: "dc1",
    TaggedAddresses: {},
    NodeMeta: {},
    Service: null,
    Checks: [],
    SkipNodeUpdate: false,
    ...extra,
  };
}

export function registerCmd(req: RegisterRequest, now = NOW): Command {
  return { Type: MessageType.Register, Now: now, Req: req };
}

export function deregisterCmd(node: string, serviceId = "", checkId = "", now = NOW): Command {
  return { Type: MessageType.Deregister, Now: now, Req: { Node: node, ServiceID: serviceId, CheckID: checkId } };
}

export function register(store: StateStore, index: number, req: RegisterRequest): void {
  expect(store.apply(index, registerCmd(req))).toEqual({ ok: true, value: null });
}

export function sessionBody(id: string, node: string, extra: Partial<SessionCommandBody> = {}): SessionCommandBody {
  return {
    ID: id,
    Name: "",
    Node: node,
    LockDelayMs: 15_000,
    Behavior: "release",
    TTL: "",
    NodeChecks: [],
    ServiceChecks: [],
    ...extra,
  };
}

export function sessionCreateCmd(body: SessionCommandBody, now = NOW): Command {
  return { Type: MessageType.Session, Now: now, Op: "create", Session: body };
}

export function sessionDestroyCmd(id: string, now = NOW): Command {
  return { Type: MessageType.Session, Now: now, Op: "destroy", ID: id };
}

export function createSession(store: StateStore, index: number, body: SessionCommandBody): void {
  expect(store.apply(index, sessionCreateCmd(body))).toEqual({ ok: true, value: body.ID });
}

export function txnCmd(ops: TxnOp[], now = NOW): Command {
  return { Type: MessageType.Txn, Now: now, Ops: ops };
}

export function kvOp(verb: KvVerb, key: string, o: KvOpts = {}): TxnOp {
  return { KV: { Verb: verb, Entry: kvEntry(key, o) } };
}

export function txn(store: StateStore, index: number, ops: TxnOp[], now = NOW): TxnOutcome {
  const r = store.apply(index, txnCmd(ops, now));
  if (!r.ok) throw new Error(`txn ${index} failed: ${r.error}`);
  return r.value as TxnOutcome;
}

/**
 * The snapshot text without its applied-index header: a failed command still
 * consumes its log index, everything else must stay byte for byte the same.
 */
export function stateText(store: StateStore): string {
  return decoder.decode(store.snapshot()).replace(/^\{"Version":1,"Index":\d+,/, "{");
}

/** Applies a command that must fail (error or rolled-back txn) and change nothing. */
export function expectUnchanged(store: StateStore, index: number, cmd: Command): ApplyResult {
  const before = stateText(store);
  const r = store.apply(index, cmd);
  expect(stateText(store)).toBe(before);
  expect(store.lastApplied).toBe(index);
  return r;
}

/** Records which of `topics` fire; `fired()` lets pending promise callbacks run first. */
export function spy(hub: WatchHub, topics: string[]): () => Promise<string[]> {
  const seen = new Set<string>();
  for (const topic of topics) void hub.wait(topic).then(() => seen.add(topic));
  return async () => {
    await new Promise((r) => setTimeout(r, 0));
    return topics.filter((t) => seen.has(t));
  };
}

/** A store with node `n1` (index 1) holding a passing `serfHealth` check. */
export function storeWithNode(): StateStore {
  const store = new StateStore();
  register(store, 1, registration("n1", { Checks: [check("n1", "serfHealth")] }));
  return store;
}
