/** Discovery-chain kinds: `service-router`, `service-splitter`, `service-resolver` (config_entry_discoverychain.go). */
import { failoverPolicy, headerModifiers, meta, prioritizeByLocality } from "./common.ts";
import { arr, b, type EntryBody, fail, HTTP_METHODS, type KindDef, metaProblems, n, o, type Obj, Problems, s, smap, strs } from "./kind.ts";
import { bool, durationNs, durationText, float, list, map, ptr, str, struct, uint } from "../schema.ts";

const headerMatch = struct(
  ["Name", str],
  ["Present", bool, "o"],
  ["Exact", str, "o"],
  ["Prefix", str, "o"],
  ["Suffix", str, "o"],
  ["Regex", str, "o"],
  ["Invert", bool, "o"],
);
const queryMatch = struct(["Name", str], ["Present", bool, "o"], ["Exact", str, "o"], ["Regex", str, "o"]);
const httpMatch = struct(
  ["PathExact", str, "o"],
  ["PathPrefix", str, "o"],
  ["PathRegex", str, "o"],
  ["CaseInsensitive", bool, "o"],
  ["Header", list(headerMatch), "o"],
  ["QueryParam", list(queryMatch), "o"],
  ["Methods", list(str), "o"],
);
const routeDestination = struct(
  ["Service", str, "o"],
  ["ServiceSubset", str, "o"],
  ["Namespace", str, "o"],
  ["Partition", str, "o"],
  ["PrefixRewrite", str, "o"],
  ["RequestTimeout", durationText, "o"],
  ["IdleTimeout", durationText, "o"],
  ["NumRetries", uint, "o"],
  ["RetryOnConnectFailure", bool, "o"],
  ["RetryOnStatusCodes", list(uint), "o"],
  ["RetryOn", list(str), "o"],
  ["RequestHeaders", ptr(headerModifiers), "o"],
  ["ResponseHeaders", ptr(headerModifiers), "o"],
);
export const serviceRouteSchema = struct(["Match", ptr(struct(["HTTP", ptr(httpMatch), "o"])), "o"], ["Destination", ptr(routeDestination), "o"]);

export const serviceRouterSchema = struct(["Kind", str], ["Name", str], ["Routes", list(serviceRouteSchema)], meta);

export const serviceSplitSchema = struct(
  ["Weight", float],
  ["Service", str, "o"],
  ["ServiceSubset", str, "o"],
  ["Namespace", str, "o"],
  ["Partition", str, "o"],
  ["RequestHeaders", ptr(headerModifiers), "o"],
  ["ResponseHeaders", ptr(headerModifiers), "o"],
);
export const serviceSplitterSchema = struct(["Kind", str], ["Name", str], ["Splits", list(serviceSplitSchema)], meta);

const subset = struct(["Filter", str, "o"], ["OnlyPassing", bool, "o"]);
const redirect = struct(
  ["Service", str, "o"],
  ["ServiceSubset", str, "o"],
  ["Namespace", str, "o"],
  ["Partition", str, "o"],
  ["Datacenter", str, "o"],
  ["Peer", str, "o"],
  ["SamenessGroup", str, "o"],
);
const failoverTarget = struct(
  ["Service", str, "o"],
  ["ServiceSubset", str, "o"],
  ["Partition", str, "o"],
  ["Namespace", str, "o"],
  ["Datacenter", str, "o"],
  ["Peer", str, "o"],
);
const failover = struct(
  ["Service", str, "o"],
  ["ServiceSubset", str, "o"],
  ["Namespace", str, "o"],
  ["Datacenters", list(str), "o"],
  ["Targets", list(failoverTarget), "o"],
  ["Policy", ptr(failoverPolicy), "o"],
  ["SamenessGroup", str, "o"],
);
const cookieConfig = struct(["Session", bool, "o"], ["TTL", durationNs, "o", ["ttl"]], ["Path", str, "o"]);
const hashPolicy = struct(
  ["Field", str, "o"],
  ["FieldValue", str, "o"],
  ["CookieConfig", ptr(cookieConfig), "o"],
  ["SourceIP", bool, "o", ["source_ip"]],
  ["Terminal", bool, "o"],
);
export const loadBalancerSchema = struct(
  ["Policy", str, "o"],
  ["RingHashConfig", ptr(struct(["MinimumRingSize", uint, "o"], ["MaximumRingSize", uint, "o"])), "o"],
  ["LeastRequestConfig", ptr(struct(["ChoiceCount", uint, "o"])), "o"],
  ["HashPolicies", list(hashPolicy), "o"],
);
export const serviceResolverSchema = struct(
  ["Kind", str],
  ["Name", str],
  ["DefaultSubset", str, "o"],
  ["Subsets", map(subset), "o"],
  ["Redirect", ptr(redirect), "o"],
  ["Failover", map(failover), "o"],
  ["ConnectTimeout", durationText, "o"],
  ["RequestTimeout", durationText, "o"],
  ["PrioritizeByLocality", ptr(prioritizeByLocality), "o"],
  ["LoadBalancer", ptr(loadBalancerSchema), "o"],
  meta,
);

function requireName(e: EntryBody): void {
  if (e.Name === "") fail("Name is required");
}

function headerProblems(prefix: string, headers: Obj[], p: Problems): void {
  headers.forEach((h, j) => {
    if (s(h, "Name") === "") p.add(`${prefix} Header[${j}] missing required Name field`);
    const parts = [b(h, "Present"), s(h, "Exact") !== "", s(h, "Regex") !== "", s(h, "Prefix") !== "", s(h, "Suffix") !== ""].filter(Boolean).length;
    if (parts > 1) p.add(`${prefix} Header[${j}] should only contain one of Present, Exact, Prefix, Suffix, or Regex`);
  });
}

export const serviceRouter: KindDef = {
  kind: "service-router",
  schema: serviceRouterSchema,
  normalize(e) {
    e.Kind = "service-router";
    for (const r of arr(e, "Routes")) {
      const http = o(o(r, "Match"), "HTTP");
      if (http && Array.isArray(http.Methods)) http.Methods = strs(http, "Methods").map((m) => m.toUpperCase());
    }
  },
  validate(e) {
    requireName(e);
    const p = new Problems();
    p.addAll(metaProblems(smap(e, "Meta")));
    arr(e, "Routes").forEach((r, i) => {
      const prefix = `Route[${i}]`;
      const http = o(o(r, "Match"), "HTTP");
      if (http) {
        const exact = s(http, "PathExact");
        const pre = s(http, "PathPrefix");
        const pathParts = [exact, pre, s(http, "PathRegex")].filter((x) => x !== "").length;
        if (pathParts > 1) p.add(`${prefix} should only contain at most one of PathExact, PathPrefix, or PathRegex`);
        if (exact !== "" && !exact.startsWith("/")) p.add(`${prefix} PathExact doesn't start with '/': ${JSON.stringify(exact)}`);
        if (pre !== "" && !pre.startsWith("/")) p.add(`${prefix} PathPrefix doesn't start with '/': ${JSON.stringify(pre)}`);
        headerProblems(prefix, arr(http, "Header"), p);
        arr(http, "QueryParam").forEach((q, j) => {
          if (s(q, "Name") === "") p.add(`${prefix} QueryParam[${j}] missing required Name field`);
          const parts = [b(q, "Present"), s(q, "Exact") !== "", s(q, "Regex") !== ""].filter(Boolean).length;
          if (parts > 1) p.add(`${prefix} QueryParam[${j}] should only contain one of Present, Exact, or Regex`);
        });
        const seen = new Set<string>();
        for (const m of strs(http, "Methods")) {
          if (!HTTP_METHODS.has(m)) p.add(`${prefix} Methods contains an invalid method ${JSON.stringify(m)}`);
          if (seen.has(m)) p.add(`${prefix} Methods contains ${JSON.stringify(m)} more than once`);
          seen.add(m);
        }
      }
      const dest = o(r, "Destination");
      if (dest) {
        if (s(dest, "PrefixRewrite") !== "" && (!http || (s(http, "PathPrefix") === "" && s(http, "PathExact") === ""))) {
          p.add(`${prefix} cannot make use of PrefixRewrite without configuring either PathExact or PathPrefix`);
        }
        for (const code of (dest.RetryOnStatusCodes as number[] | undefined) ?? []) {
          if (code < 100 || code > 599) p.add(`${prefix}, RetryOnStatusCodes contains an invalid status code ${code}`);
        }
      }
    });
    p.throwIfAny();
  },
};

export const serviceSplitter: KindDef = {
  kind: "service-splitter",
  schema: serviceSplitterSchema,
  normalize(e) {
    e.Kind = "service-splitter";
    // Weights are kept to two decimal places, as Consul rounds them.
    for (const sp of arr(e, "Splits")) sp.Weight = Math.round(n(sp, "Weight") * 100) / 100;
  },
  validate(e) {
    requireName(e);
    const splits = arr(e, "Splits");
    if (splits.length === 0) fail("no splits configured");
    const seen = new Set<string>();
    let total = 0;
    for (const sp of splits) {
      const key = `${s(sp, "Service") || e.Name}/${s(sp, "ServiceSubset")}`;
      if (seen.has(key)) {
        const svc = s(sp, "Service") || e.Name;
        const sub = s(sp, "ServiceSubset");
        fail(`split destination occurs more than once: service=${JSON.stringify(svc)}${sub ? `, subset=${JSON.stringify(sub)}` : ""}`);
      }
      seen.add(key);
      total += Math.round(n(sp, "Weight") * 100);
    }
    if (total !== 10000) fail(`the sum of all split weights must be 100, not ${(total / 100).toFixed(2)}`);
    const p = new Problems();
    p.addAll(metaProblems(smap(e, "Meta")));
    p.throwIfAny();
  },
};

const SUBSET_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const LB_POLICIES = new Set(["", "random", "round_robin", "least_request", "ring_hash", "maglev"]);

export const serviceResolver: KindDef = {
  kind: "service-resolver",
  schema: serviceResolverSchema,
  normalize(e) {
    e.Kind = "service-resolver";
  },
  validate(e) {
    requireName(e);
    const subsets = o(e, "Subsets") ?? {};
    for (const name of Object.keys(subsets)) {
      if (name === "") fail("Subset defined with empty name");
      if (!SUBSET_NAME.test(name)) fail(`Subset ${JSON.stringify(name)} is invalid`);
    }
    const def = s(e, "DefaultSubset");
    if (def !== "" && !(def in subsets)) fail(`DefaultSubset ${JSON.stringify(def)} is not a valid subset`);
    const redir = o(e, "Redirect");
    if (redir) {
      if (o(e, "Failover") && Object.keys(o(e, "Failover")!).length > 0) fail("Redirect and Failover cannot both be set");
      if (Object.keys(subsets).length > 0) fail("Redirect and Subsets cannot both be set");
      if (Object.values(redir).every((v) => v === "" || v === undefined)) fail("Redirect is empty");
      if (s(redir, "Service") === "" && s(redir, "ServiceSubset") !== "") fail("Redirect.ServiceSubset defined without Redirect.Service");
      if (s(redir, "Service") === e.Name && s(redir, "ServiceSubset") !== "" && !(s(redir, "ServiceSubset") in subsets)) {
        fail(`Redirect.ServiceSubset ${JSON.stringify(s(redir, "ServiceSubset"))} is not a valid subset of ${JSON.stringify(e.Name)}`);
      }
    }
    for (const [subsetName, fo] of Object.entries(o(e, "Failover") ?? {})) {
      const f = fo as Obj;
      if (subsetName !== "*" && !(subsetName in subsets)) fail(`Bad Failover[${JSON.stringify(subsetName)}]: not a valid subset`);
      const hasTargets = arr(f, "Targets").length > 0;
      if (!hasTargets && s(f, "Service") === "" && s(f, "ServiceSubset") === "" && s(f, "Namespace") === "" && strs(f, "Datacenters").length === 0 && s(f, "SamenessGroup") === "") {
        fail(`Bad Failover[${JSON.stringify(subsetName)}] one of Service, ServiceSubset, Namespace, Targets, SamenessGroup, or Datacenters is required`);
      }
      if (hasTargets && (s(f, "Service") !== "" || s(f, "ServiceSubset") !== "" || strs(f, "Datacenters").length > 0)) {
        fail(`Bad Failover[${JSON.stringify(subsetName)}]: Targets cannot be set with: Service, ServiceSubset, Namespace, Datacenters`);
      }
      for (const dc of strs(f, "Datacenters")) if (dc === "") fail(`Bad Failover[${JSON.stringify(subsetName)}].Datacenters: found empty datacenter`);
    }
    if (n(e, "ConnectTimeout") < 0) fail(`Bad ConnectTimeout '${n(e, "ConnectTimeout")}ns', must be >= 0`);
    if (n(e, "RequestTimeout") < 0) fail(`Bad RequestTimeout '${n(e, "RequestTimeout")}ns', must be >= 0`);
    const lb = o(e, "LoadBalancer");
    if (lb) {
      const policy = s(lb, "Policy");
      if (!LB_POLICIES.has(policy)) fail(`Bad LoadBalancer policy: ${JSON.stringify(policy)} is not supported`);
      if (policy !== "ring_hash" && o(lb, "RingHashConfig")) fail(`Bad LoadBalancer configuration. RingHashConfig specified for incompatible load balancing policy ${JSON.stringify(policy)}`);
      if (policy !== "least_request" && o(lb, "LeastRequestConfig")) fail(`Bad LoadBalancer configuration. LeastRequestConfig specified for incompatible load balancing policy ${JSON.stringify(policy)}`);
      if (policy !== "ring_hash" && policy !== "maglev" && arr(lb, "HashPolicies").length > 0) {
        fail(`Bad LoadBalancer configuration: HashPolicies specified for non-hash-based Policy: ${JSON.stringify(policy)}`);
      }
    }
    const p = new Problems();
    p.addAll(metaProblems(smap(e, "Meta")));
    p.throwIfAny();
  },
};

/** Services a router or splitter sends traffic to (other than itself). */
export function chainTargets(e: EntryBody): string[] {
  const out = new Set<string>();
  if (e.Kind === "service-router") for (const r of arr(e, "Routes")) out.add(s(o(r, "Destination"), "Service") || e.Name);
  if (e.Kind === "service-splitter") for (const sp of arr(e, "Splits")) out.add(s(sp, "Service") || e.Name);
  if (e.Kind === "service-resolver") {
    const redir = o(e, "Redirect");
    if (redir && s(redir, "Service") !== "") out.add(s(redir, "Service"));
  }
  out.delete(e.Name);
  return [...out].sort();
}
