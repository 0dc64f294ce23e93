/**
 * `/v1/operator/keyring` (Consul's agent/operator_endpoint.go): list, install,
 * use and remove gossip encryption keys on every member of the rings. A
 * server runs the operation itself; a client agent forwards it to a server
 * (Internal.KeyringOperation), as Consul does.
 */
import type { Context, Hono } from "hono";
import { type ApiContext, json, queryOptions, readJson, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import type { KeyringEntry, KeyringOp } from "../rpc/mod.ts";
import { field, isObject } from "../structs/json.ts";

async function keyParam(c: Context): Promise<string> {
  const body = await readJson(c);
  const key = isObject(body) ? field(body, "Key") : undefined;
  if (typeof key !== "string" || key === "") throw new HttpError(400, "Request decode failed: missing Key");
  return key;
}

/** Consul's keyringErrorsOrNil: one line per ring that reported errors, naming the members. */
function errorsOf(entries: readonly KeyringEntry[]): string | null {
  const lines: string[] = [];
  for (const e of entries) {
    if (e.NumErr === 0 && Object.keys(e.Messages).length === 0) continue;
    const ring = e.WAN ? "WAN" : "LAN";
    const msgs = Object.entries(e.Messages).map(([node, m]) => `${node}: ${m}`);
    lines.push(`${e.Datacenter} (${ring}) error: ${msgs.length > 0 ? msgs.join(", ") : `${e.NumErr} nodes reported failure`}`);
  }
  if (lines.length === 0) return null;
  return `${lines.length} error${lines.length === 1 ? "" : "s"} occurred:\n${lines.map((l) => `\t* ${l}`).join("\n")}\n\n`;
}

export function operatorKeyringRoutes(app: Hono, api: ApiContext): void {
  const run = async (c: Context, op: KeyringOp, key: string) => {
    const localOnly = op === "list" && (urlOf(c).searchParams.get("local-only") ?? "false") !== "false";
    const relay = urlOf(c).searchParams.get("relay-factor");
    if (relay !== null && relay !== "" && (!/^\d+$/.test(relay) || Number(relay) > 5)) {
      throw new HttpError(400, `Invalid relay-factor: ${relay === "" ? "empty" : relay} (must be 0 to 5)`);
    }
    const q = queryOptions(c, api);
    return api.rpc.call("Internal.KeyringOperation", { Operation: op, Key: key, LocalOnly: localOnly }, q);
  };

  app.get("/v1/operator/keyring", async (c) => {
    const entries = await run(c, "list", "");
    return json(c, entries.map(({ WAN, Datacenter, Segment, Keys, PrimaryKeys, NumNodes, Messages }) => ({ WAN, Datacenter, Segment, Messages, Keys, PrimaryKeys, NumNodes })));
  });

  const write = (op: KeyringOp) => async (c: Context) => {
    const entries = await run(c, op, await keyParam(c));
    const err = errorsOf(entries);
    if (err !== null) throw new HttpError(500, err);
    return c.body(null, 200);
  };
  app.post("/v1/operator/keyring", write("install"));
  app.put("/v1/operator/keyring", write("use"));
  app.delete("/v1/operator/keyring", write("remove"));
}
