/** `service-intentions` (agent/structs/config_entry_intentions.go). */
import { meta } from "./common.ts";
import { arr, b, type EntryBody, EntryValidationError, fail, HTTP_METHODS, type KindDef, META_KEY_MAX_LENGTH, META_MAX_KEY_PAIRS, META_VALUE_MAX_LENGTH, metaProblems, o, type Obj, s, smap, strs, WILDCARD } from "./kind.ts";
import { intentionPrecedence } from "../../connect/intentions.ts";
import { bool, int, list, ptr, str, strMap, struct, time } from "../schema.ts";
import { DEFAULT_NAMESPACE, IntentionSourceConsul } from "../../structs/intention.ts";

const jwtProvider = struct(["Name", str, "o"], ["VerifyClaims", list(struct(["Path", list(str), "o"], ["Value", str, "o"])), "o"]);
const jwtRequirement = struct(["Providers", list(jwtProvider), "o"]);
const headerPermission = struct(
  ["Name", str],
  ["Present", bool, "o"],
  ["Exact", str, "o"],
  ["Prefix", str, "o"],
  ["Suffix", str, "o"],
  ["Regex", str, "o"],
  ["Invert", bool, "o"],
);
const httpPermission = struct(["PathExact", str, "o"], ["PathPrefix", str, "o"], ["PathRegex", str, "o"], ["Header", list(headerPermission), "o"], ["Methods", list(str), "o"]);
const permission = struct(["Action", str], ["HTTP", ptr(httpPermission), "o"], ["JWT", ptr(jwtRequirement), "o"]);

export const sourceIntentionSchema = struct(
  ["Name", str],
  ["Action", str, "o"],
  ["Permissions", list(ptr(permission)), "o"],
  ["Precedence", int],
  ["LegacyID", str, "o"],
  ["Type", str],
  ["Description", str, "o"],
  ["LegacyMeta", strMap, "o"],
  ["LegacyCreateTime", ptr(time), "o"],
  ["LegacyUpdateTime", ptr(time), "o"],
  ["Peer", str, "o"],
  ["SamenessGroup", str, "o"],
);

export const serviceIntentionsSchema = struct(["Kind", str], ["Name", str], ["Sources", list(ptr(sourceIntentionSchema))], ["JWT", ptr(jwtRequirement), "o"], meta);

function wildcardProblem(name: string): string | null {
  if (name !== WILDCARD && name.includes(WILDCARD)) return "Name: wildcard character '*' cannot be used with partial values";
  return null;
}

/** Consul's normalize: default Type, precedence, upper-case methods, legacy fields cleared (unless a legacy write), sorted. */
export function normalizeIntentions(e: EntryBody, legacy: boolean): void {
  e.Kind = "service-intentions";
  const sources = arr(e, "Sources");
  for (const src of sources) {
    if (s(src, "Type") === "") src.Type = IntentionSourceConsul;
    src.Precedence = intentionPrecedence(DEFAULT_NAMESPACE, s(src, "Name"), DEFAULT_NAMESPACE, e.Name);
    if (legacy) {
      if (src.LegacyMeta === undefined) src.LegacyMeta = {};
    } else {
      delete src.LegacyID;
      delete src.LegacyCreateTime;
      delete src.LegacyUpdateTime;
    }
    for (const perm of arr(src, "Permissions")) {
      const http = o(perm, "HTTP");
      if (http && Array.isArray(http.Methods)) http.Methods = strs(http, "Methods").map((m) => m.toUpperCase());
    }
  }
  // Highest precedence first; a stable sort keeps the given order among equals.
  e.Sources = sources.map((src, i) => ({ src, i })).sort((a, c) => (c.src.Precedence as number) - (a.src.Precedence as number) || a.i - c.i).map((x) => x.src);
}

function permissionProblem(i: number, j: number, perm: Obj): string | null {
  const action = s(perm, "Action");
  if (action !== "allow" && action !== "deny") return `Sources[${i}].Permissions[${j}].Action must be set to 'allow' or 'deny'`;
  const prefix = `Sources[${i}].Permissions[${j}].HTTP`;
  const http = o(perm, "HTTP");
  if (!http) return `${prefix} is required`;
  let pathParts = 0;
  const exact = s(http, "PathExact");
  const pre = s(http, "PathPrefix");
  if (exact !== "") {
    pathParts++;
    if (!exact.startsWith("/")) return `${prefix}.PathExact doesn't start with '/': ${JSON.stringify(exact)}`;
  }
  if (pre !== "") {
    pathParts++;
    if (!pre.startsWith("/")) return `${prefix}.PathPrefix doesn't start with '/': ${JSON.stringify(pre)}`;
  }
  if (s(http, "PathRegex") !== "") pathParts++;
  if (pathParts > 1) return `${prefix} should only contain at most one of PathExact, PathPrefix, or PathRegex`;
  let permParts = pathParts;
  const headers = arr(http, "Header");
  for (let k = 0; k < headers.length; k++) {
    const h = headers[k]!;
    if (s(h, "Name") === "") return `${prefix}.Header[${k}] missing required Name field`;
    const parts = [b(h, "Present"), s(h, "Exact") !== "", s(h, "Regex") !== "", s(h, "Prefix") !== "", s(h, "Suffix") !== ""].filter(Boolean).length;
    if (parts !== 1) return `${prefix}.Header[${k}] should only contain one of Present, Exact, Prefix, Suffix, or Regex`;
    permParts++;
  }
  const methods = strs(http, "Methods");
  if (methods.length > 0) {
    const found = new Set<string>();
    for (const m of methods) {
      if (!HTTP_METHODS.has(m)) return `${prefix}.Methods contains an invalid method ${JSON.stringify(m)}`;
      if (found.has(m)) return `${prefix}.Methods contains ${JSON.stringify(m)} more than once`;
      found.add(m);
    }
    permParts++;
  }
  if (permParts === 0) return `${prefix} should not be empty`;
  for (const p of arr(o(perm, "JWT"), "Providers")) if (s(p, "Name") === "") return "JWT provider name is required";
  return null;
}

/** Consul's validate, in the order it checks; throws the first problem. */
export function validateIntentions(e: EntryBody, legacy: boolean): void {
  if (e.Name === "") fail("Name is required");
  const w = wildcardProblem(e.Name);
  if (w) fail(w);
  const destIsWild = e.Name === WILDCARD;
  for (const p of arr(o(e, "JWT"), "Providers")) if (s(p, "Name") === "") fail("JWT provider name is required");
  if (legacy) {
    if (Object.keys(smap(e, "Meta")).length > 0) fail("Meta must be omitted for legacy intention writes");
  } else {
    const mp = metaProblems(smap(e, "Meta"));
    if (mp.length > 0) throw new EntryValidationError(mp, true);
  }
  const sources = arr(e, "Sources");
  if (sources.length === 0) fail("At least one source is required");
  const seen = new Set<string>();
  sources.forEach((src, i) => {
    const name = s(src, "Name");
    if (name === "") fail(`Sources[${i}].Name is required`);
    const sg = s(src, "SamenessGroup");
    const peer = s(src, "Peer");
    const sw = wildcardProblem(name);
    if (sw) fail(`Sources[${i}].${sw}`);
    if (peer.includes(WILDCARD)) fail(`Sources[${i}].Peer: cannot use wildcard '*' in peer`);
    if (sg.includes(WILDCARD)) fail(`Sources[${i}].SamenessGroup: cannot use wildcard '*' in sameness group`);
    if (sg !== "" && peer !== "") fail(`Sources[${i}].SamenessGroup: cannot set SamenessGroup and Peer at the same time`);
    if (s(src, "Description").length > META_VALUE_MAX_LENGTH) fail(`Sources[${i}].Description exceeds maximum length ${META_VALUE_MAX_LENGTH}`);
    if (legacy) {
      if (peer !== "") fail(`Sources[${i}].Peer cannot be set by legacy intentions`);
      if (sg !== "") fail(`Sources[${i}].SamenessGroup cannot be set by legacy intentions`);
      const lm = smap(src, "LegacyMeta");
      if (Object.keys(lm).length > META_MAX_KEY_PAIRS) fail(`Sources[${i}].Meta exceeds maximum element count ${META_MAX_KEY_PAIRS}`);
      for (const [k, v] of Object.entries(lm)) {
        if (k.length > META_KEY_MAX_LENGTH) fail(`Sources[${i}].Meta key ${JSON.stringify(k)} exceeds maximum length ${META_KEY_MAX_LENGTH}`);
        if (v.length > META_VALUE_MAX_LENGTH) fail(`Sources[${i}].Meta value for key ${JSON.stringify(k)} exceeds maximum length ${META_VALUE_MAX_LENGTH}`);
      }
      if (!src.LegacyCreateTime) fail(`Sources[${i}].LegacyCreateTime must be set`);
      if (!src.LegacyUpdateTime) fail(`Sources[${i}].LegacyUpdateTime must be set`);
      if (s(src, "LegacyID") === "") fail(`Sources[${i}].LegacyID must be set`);
    } else {
      if (Object.keys(smap(src, "LegacyMeta")).length > 0) fail(`Sources[${i}].LegacyMeta must be omitted`);
      delete src.LegacyMeta;
      if (src.LegacyCreateTime) fail(`Sources[${i}].LegacyCreateTime must be omitted`);
      if (src.LegacyUpdateTime) fail(`Sources[${i}].LegacyUpdateTime must be omitted`);
      if (s(src, "LegacyID") !== "") fail(`Sources[${i}].LegacyID must be omitted`);
    }
    const perms = arr(src, "Permissions");
    const action = s(src, "Action");
    if ((legacy || perms.length === 0) && action !== "allow" && action !== "deny") fail(`Sources[${i}].Action must be set to 'allow' or 'deny'`);
    if (perms.length > 0 && action !== "") fail(`Sources[${i}].Action must be omitted if Permissions are specified`);
    if (destIsWild && perms.length > 0) fail(`Sources[${i}].Permissions cannot be specified on intentions with wildcarded destinations`);
    if (s(src, "Type") !== IntentionSourceConsul) fail(`Sources[${i}].Type must be set to 'consul'`);
    perms.forEach((perm, j) => {
      const problem = permissionProblem(i, j, perm);
      if (problem) fail(problem);
    });
    const key = `${peer}\u0000${sg}\u0000${name}`;
    if (seen.has(key)) {
      if (peer !== "") fail(`Sources[${i}] defines peer(${JSON.stringify(peer)}) ${JSON.stringify(name)} more than once`);
      if (sg !== "") fail(`Sources[${i}] defines sameness-group(${JSON.stringify(sg)}) ${JSON.stringify(name)} more than once`);
      fail(`Sources[${i}] defines ${JSON.stringify(name)} more than once`);
    }
    seen.add(key);
  });
}

export const serviceIntentions: KindDef = {
  kind: "service-intentions",
  schema: serviceIntentionsSchema,
  normalize(e) {
    normalizeIntentions(e, false);
  },
  validate(e) {
    validateIntentions(e, false);
  },
};

/** Whether any source has L7 permissions (they need an HTTP-like destination). */
export function hasPermissions(e: EntryBody): boolean {
  return arr(e, "Sources").some((src) => arr(src, "Permissions").length > 0);
}

/** JWT providers an entry refers to (none can exist: jwt-provider entries are not supported here). */
export function referencedJwtProviders(e: EntryBody): string[] {
  const out = new Set<string>();
  for (const p of arr(o(e, "JWT"), "Providers")) out.add(s(p, "Name"));
  for (const src of arr(e, "Sources")) for (const perm of arr(src, "Permissions")) for (const p of arr(o(perm, "JWT"), "Providers")) out.add(s(p, "Name"));
  return [...out].sort();
}
