/**
 * Decoding of ACL objects sent by clients (Consul's ACLToken, ACLPolicy and
 * ACLRole request bodies): field names case-insensitively, as Go's decoder
 * reads them; links by ID or by Name.
 */
import { BadRequestError } from "../../rpc/errors.ts";
import type { ACLLink, ACLNodeIdentity, ACLServiceIdentity } from "../../structs/acl.ts";

type Obj = Record<string, unknown>;

/** A request body with its keys folded to lower case (one level). */
export function folded(v: unknown, what: string): Obj {
  if (v === null || v === undefined) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new BadRequestError(`${what} decoding failed: body must be a JSON object`);
  const out: Obj = {};
  for (const [k, val] of Object.entries(v as Obj)) out[k.toLowerCase()] = val;
  return out;
}

export function str(o: Obj, key: string, what: string): string {
  const v = o[key.toLowerCase()];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new BadRequestError(`${what} decoding failed: ${key} must be a string`);
  return v;
}

export function bool(o: Obj, key: string, what: string): boolean {
  const v = o[key.toLowerCase()];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw new BadRequestError(`${what} decoding failed: ${key} must be a boolean`);
  return v;
}

function list(o: Obj, key: string, what: string): Obj[] {
  const v = o[key.toLowerCase()];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new BadRequestError(`${what} decoding failed: ${key} must be a list`);
  return v.map((x) => folded(x, what));
}

export function strings(o: Obj, key: string, what: string): string[] {
  const v = o[key.toLowerCase()];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new BadRequestError(`${what} decoding failed: ${key} must be a list of strings`);
  return v as string[];
}

/** `Policies` / `Roles`: each {ID} or {Name}. */
export function links(o: Obj, key: string, what: string): { ID: string; Name: string }[] {
  return list(o, key, what).map((l) => ({ ID: str(l, "ID", what), Name: str(l, "Name", what) }));
}

const SERVICE_NAME = /^[a-z0-9]([a-z0-9\-_]*[a-z0-9])?$/;
const NODE_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9\-_.]*[a-zA-Z0-9])?$/;

export function serviceIdentities(o: Obj, what: string): ACLServiceIdentity[] {
  return list(o, "ServiceIdentities", what).map((s) => {
    const name = str(s, "ServiceName", what);
    if (name === "") throw new BadRequestError("Service identity is missing the service name field on this token");
    if (!SERVICE_NAME.test(name)) throw new BadRequestError(`Service identity "${name}" has an invalid name. Only lowercase alphanumeric characters, '-' and '_' are allowed`);
    const dcs = strings(s, "Datacenters", what);
    return dcs.length > 0 ? { ServiceName: name, Datacenters: dcs } : { ServiceName: name };
  });
}

export function nodeIdentities(o: Obj, what: string): ACLNodeIdentity[] {
  return list(o, "NodeIdentities", what).map((n) => {
    const name = str(n, "NodeName", what);
    const dc = str(n, "Datacenter", what);
    if (name === "") throw new BadRequestError("Node identity is missing the node name field on this token");
    if (dc === "") throw new BadRequestError("Node identity is missing the datacenter field on this token");
    if (!NODE_NAME.test(name)) throw new BadRequestError(`Node identity has an invalid name. Only alphanumeric characters, '-' and '_' are allowed`);
    return { NodeName: name, Datacenter: dc };
  });
}

/** Resolves links by ID or name to stored objects, dropping duplicates (Consul's link resolution). */
export function resolveLinks(
  given: { ID: string; Name: string }[],
  byId: (id: string) => { ID: string; Name: string } | undefined,
  byName: (name: string) => { ID: string; Name: string } | undefined,
  kind: "policy" | "role",
): ACLLink[] {
  const out: ACLLink[] = [];
  const seen = new Set<string>();
  for (const l of given) {
    const found = l.ID !== "" ? byId(l.ID) : byName(l.Name);
    if (!found) {
      throw new BadRequestError(l.ID !== "" ? `ACL ${kind} with ID "${l.ID}" not found` : `No such ACL ${kind} with name "${l.Name}"`);
    }
    if (seen.has(found.ID)) continue;
    seen.add(found.ID);
    out.push({ ID: found.ID, Name: found.Name });
  }
  return out;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => UUID.test(s);

/** The ID an update names: the URL's, which the body may repeat but not contradict. */
export function updatedId(bodyId: string, urlId: string | undefined, what: string): string {
  if (bodyId !== "" && urlId !== undefined && bodyId !== urlId) throw new BadRequestError(`${what} ID in URL and payload do not match`);
  return bodyId || (urlId ?? "");
}
