/**
 * Intention.* endpoints (Consul's agent/consul/intention_endpoint.go) over
 * `service-intentions` config entries: the legacy ID API (create, update,
 * delete by ID), upsert and delete by name, reads, match and check.
 */
import { blockingRead } from "./read.ts";
import { ApplyError, type Server } from "../server.ts";
import { NotFoundError } from "../../rpc/errors.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { authorizeConnection } from "../../connect/intentions.ts";
import { type IntentionInput, legacyIntentionProblems, toSourceIntention } from "../../configentry/intention_view.ts";
import { configKindTopic, intentionGet, intentionGetExact, intentionList, intentionMatch, intentionMatchOne, type IntentionMutation, MessageType } from "../../state/mod.ts";
import { DEFAULT_NAMESPACE, type Intention } from "../../structs/intention.ts";
import { compileFilter, intentionSchema } from "../../filter/mod.ts";

export type IntentionApplyArgs =
  | { readonly Op: "create" | "update" | "upsert" | "delete"; readonly Intention: IntentionInput };

export type IntentionGetArgs = { readonly IntentionID: string } | { readonly Exact: { readonly SourceName: string; readonly DestinationName: string } };

export interface IntentionCheckArgs {
  readonly SourceName: string;
  readonly DestinationName: string;
  readonly SourceType: string;
  readonly SourceNS?: string;
  readonly DestinationNS?: string;
}

/** Consul's error for a lookup that found nothing (answered 404 over HTTP). */
export const INTENTION_NOT_FOUND = "Intention not found";

const TOPICS = () => [configKindTopic("service-intentions")];

function multi(problems: readonly string[]): string {
  const head = problems.length === 1 ? "1 error occurred:" : `${problems.length} errors occurred:`;
  return `${head}\n\t* ${problems.join("\n\t* ")}\n\n`;
}

/** CE knows only the default namespace (and the wildcard where one is allowed). */
function checkNamespace(which: "source" | "destination", ns: string): void {
  if (ns === "" || ns === DEFAULT_NAMESPACE || ns === "*") return;
  throw new ApplyError(`Invalid ${which} namespace ${JSON.stringify(ns)}: Namespaces is a Consul Enterprise feature`);
}

function filled(ixn: IntentionInput): IntentionInput {
  return {
    ...ixn,
    SourceNS: ixn.SourceNS || DEFAULT_NAMESPACE,
    DestinationNS: ixn.DestinationNS || DEFAULT_NAMESPACE,
    SourceType: ixn.SourceType || "consul",
  };
}

function legacyValidate(ixn: IntentionInput): void {
  checkNamespace("source", ixn.SourceNS);
  checkNamespace("destination", ixn.DestinationNS);
  const problems = legacyIntentionProblems(ixn);
  if (problems.length > 0) throw new ApplyError(multi(problems));
}

function isoNow(s: Server): string {
  return new Date(s.clock.now()).toISOString();
}

/** Returns the legacy ID for create/update, "" otherwise. */
export async function apply(s: Server, a: IntentionApplyArgs): Promise<string> {
  const ixn = filled(a.Intention);
  if (ixn.SourcePeer !== "") throw new ApplyError("SourcePeer field is not supported on this endpoint. Use config entries instead");
  let mutation: IntentionMutation | null;
  let id = "";
  switch (a.Op) {
    case "create": {
      if (ixn.ID !== "") throw new ApplyError("ID must be empty when creating a new intention");
      id = crypto.randomUUID();
      const withId = { ...ixn, ID: id };
      legacyValidate(withId);
      mutation = { Op: "create", Destination: ixn.DestinationName, Value: toSourceIntention(withId, true, isoNow(s)) };
      break;
    }
    case "update": {
      const prev = intentionGet(s.state.t, ixn.ID).value;
      if (!prev) throw new ApplyError(`Cannot modify non-existent intention: '${ixn.ID}'`);
      if (prev.DestinationName !== ixn.DestinationName || prev.DestinationNS !== ixn.DestinationNS) {
        throw new ApplyError("Cannot modify Destination partition/namespace/name for an intention once it exists.");
      }
      legacyValidate(ixn);
      id = ixn.ID;
      mutation = { Op: "update", ID: ixn.ID, Value: toSourceIntention(ixn, true, isoNow(s)) };
      break;
    }
    case "upsert": {
      if (ixn.ID !== "") throw new ApplyError("ID must not be specified");
      const entry = s.state.t.configEntries.get(`service-intentions\u0000${ixn.DestinationName}`);
      if (Object.keys(ixn.Meta).length > 0) {
        const prevMeta = (entry?.Entry.Meta as Record<string, string> | undefined) ?? {};
        const same = Object.keys(prevMeta).length === Object.keys(ixn.Meta).length && Object.entries(ixn.Meta).every(([k, v]) => prevMeta[k] === v);
        if (!entry) throw new ApplyError("Meta must not be specified");
        if (!same) throw new ApplyError("Meta must not be specified, or should be unchanged during an update.");
      }
      mutation = { Op: "upsert", Destination: ixn.DestinationName, Source: ixn.SourceName, Value: toSourceIntention(ixn, false, isoNow(s)) };
      break;
    }
    case "delete":
      if (ixn.ID === "") {
        // By-name deletes are idempotent: nothing to do when it is not there.
        if (!intentionGetExact(s.state.t, ixn.SourceName, ixn.DestinationName).value) return "";
        mutation = { Op: "delete", Destination: ixn.DestinationName, Source: ixn.SourceName };
      } else {
        if (!intentionGet(s.state.t, ixn.ID).value) throw new ApplyError(`Cannot delete non-existent intention: '${ixn.ID}'`);
        mutation = { Op: "delete-id", ID: ixn.ID };
      }
      break;
  }
  await s.mustWrite({ Type: MessageType.Intention, Now: s.clock.now(), Mutation: mutation });
  return id;
}

export function get(s: Server, a: IntentionGetArgs, o: RequestOptions): MaybePromise<QueryReply<Intention>> {
  const run = (): QueryReply<Intention> => {
    const r = "IntentionID" in a ? intentionGet(s.state.t, a.IntentionID) : intentionGetExact(s.state.t, a.Exact.SourceName, a.Exact.DestinationName);
    if (!r.value) throw new NotFoundError(INTENTION_NOT_FOUND);
    return { index: r.index, value: r.value };
  };
  if (o.minIndex <= 0) return run();
  // A blocking get waits for a change even while the intention is missing, then answers (or 404s).
  return s.query(o, TOPICS(), () => {
    const r = "IntentionID" in a ? intentionGet(s.state.t, a.IntentionID) : intentionGetExact(s.state.t, a.Exact.SourceName, a.Exact.DestinationName);
    return { index: r.index, value: r.value };
  }).then((r) => {
    if (!r.value) throw new NotFoundError(INTENTION_NOT_FOUND);
    return { index: r.index, value: r.value };
  });
}

export function list(s: Server, a: { readonly Filter: string }, o: RequestOptions): MaybePromise<QueryReply<Intention[]>> {
  const pred = a.Filter === "" ? null : compileFilter(a.Filter, intentionSchema);
  return blockingRead(s, o, TOPICS, () => {
    const r = intentionList(s.state.t);
    return { index: r.index, value: pred ? r.value.filter((x) => pred(x)) : r.value };
  });
}

export function match(
  s: Server,
  a: { readonly Type: "source" | "destination"; readonly Names: readonly string[] },
  o: RequestOptions,
): MaybePromise<QueryReply<Intention[][]>> {
  return blockingRead(s, o, TOPICS, () => intentionMatch(s.state.t, a.Type, a.Names));
}

/**
 * Whether a connection would be allowed (Consul's Intention.Check): the
 * source's matching intentions decide; L7 intentions count as deny; with no
 * match the default applies (allow while ACLs are off).
 */
export function check(s: Server, a: IntentionCheckArgs): { Allowed: boolean } {
  checkNamespace("source", a.SourceNS ?? "");
  checkNamespace("destination", a.DestinationNS ?? "");
  if (a.SourceType !== "consul") throw new ApplyError(`unsupported SourceType: ${JSON.stringify(a.SourceType)}`);
  const ixns = intentionMatchOne(s.state.t, "source", a.SourceName);
  const policy = s.config.defaultIntentionPolicy;
  const decision = authorizeConnection(ixns, { name: a.SourceName }, { name: a.DestinationName }, { defaultAllow: policy !== "deny" });
  return { Allowed: decision.allowed };
}
