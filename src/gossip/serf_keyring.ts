/**
 * Keyring operations as Serf runs them (keymanager.go): an internal query
 * every member answers from its own keyring, and the tally of the answers.
 */
import { decodeKey, encodeKey, type Keyring, KeyringError } from "./keyring.ts";
import { decodeKeyResponse, encodeKeyResponse } from "./serf_messages.ts";
import type { KeyringResponse } from "./types.ts";

export type KeyOp = "install-key" | "use-key" | "remove-key" | "list-keys";

/** The query payload of an operation: the raw key, or nothing for list-keys. */
export function keyQueryPayload(key: string | null): Uint8Array {
  return key === null ? new Uint8Array(0) : decodeKey(key);
}

/** Tallies the members' answers: errors with their messages, and how many hold each key and primary key. */
export function tallyKeyResponses(numNodes: number, responses: ReadonlyMap<string, Uint8Array>): KeyringResponse {
  const out: KeyringResponse = { Messages: {}, NumNodes: numNodes, NumResp: 0, NumErr: 0, Keys: {}, PrimaryKeys: {} };
  for (const [from, payload] of responses) {
    out.NumResp++;
    let r;
    try {
      r = decodeKeyResponse(payload);
    } catch {
      out.Messages[from] = "Failed to decode key query response";
      out.NumErr++;
      continue;
    }
    if (!r.result) {
      out.Messages[from] = r.message;
      out.NumErr++;
    }
    for (const k of r.keys) out.Keys[k] = (out.Keys[k] ?? 0) + 1;
    if (r.primaryKey !== "") out.PrimaryKeys[r.primaryKey] = (out.PrimaryKeys[r.primaryKey] ?? 0) + 1;
  }
  return out;
}

/** This member's answer to a keyring query; `onChange` hears of a changed keyring. */
export function answerKeyQuery(kr: Keyring | null, op: string, payload: Uint8Array, onChange: ((keys: string[], primary: string) => void) | undefined): Uint8Array {
  const fail = (message: string): Uint8Array => encodeKeyResponse({ result: false, message, keys: [], primaryKey: "" });
  if (!kr) return fail(op === "list-keys" ? "Keyring is empty (encryption not enabled)" : "No keyring to modify (encryption not enabled)");
  try {
    switch (op) {
      case "install-key":
        kr.addKey(payload);
        break;
      case "use-key":
        kr.useKey(payload);
        break;
      case "remove-key":
        kr.removeKey(payload);
        break;
      case "list-keys":
        return encodeKeyResponse({ result: true, message: "", keys: kr.keys().map(encodeKey), primaryKey: encodeKey(kr.primary()) });
      default:
        return fail(`Unhandled internal query '${op}'`);
    }
  } catch (e) {
    if (e instanceof KeyringError) return fail(e.message);
    throw e;
  }
  onChange?.(kr.keys().map(encodeKey), encodeKey(kr.primary()));
  return encodeKeyResponse({ result: true, message: "", keys: [], primaryKey: "" });
}
