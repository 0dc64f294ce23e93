/**
 * The `federation` block of a server's agent config (Consulate's own):
 *
 * ```json
 * "federation": {
 *   "nats": ["nats://127.0.0.1:4222"],
 *   "datacenters": { "dc2": ["nats://10.1.0.1:4222"] }
 * }
 * ```
 * `wan_gossip`: "udp" (default) or "nats" (WAN gossip over NATS subjects,
 * wan_gossip.ts). `nats`: this datacenter's NATS servers, where the server answers requests
 * from other datacenters and which it advertises to them in its WAN gossip
 * tags; unset, the `nats` block's URLs (the log's cluster) are used. A server
 * on the embedded LocalLog federates by naming NATS here: NATS then carries
 * only federation traffic. `datacenters`: NATS URLs of other datacenters, for
 * links made before (or without) WAN gossip. Flags: `-federation-nats`.
 */
import { isObject } from "../src/structs/json.ts";
import { isDatacenterName } from "./subjects.ts";

export interface FederationSettings {
  readonly natsUrls: readonly string[];
  readonly datacenters: Readonly<Record<string, readonly string[]>>;
  /** How WAN gossip travels: Serf's UDP/TCP (the default), or NATS subjects (wan_gossip.ts). */
  readonly wanGossip: "udp" | "nats";
}

export function defaultFederationSettings(): FederationSettings {
  return { natsUrls: [], datacenters: {}, wanGossip: "udp" };
}

/** A `federation` block that cannot be used; the message names the key. */
export class FederationConfigError extends Error {
  override readonly name = "FederationConfigError";
}

const URL_RE = /^(nats|tls):\/\/[^\s,]+$/;

function urlList(file: string, key: string, v: unknown): string[] {
  const list = typeof v === "string" ? v.split(",") : v;
  if (!Array.isArray(list) || !list.every((u) => typeof u === "string")) throw new FederationConfigError(`${file}: ${key} must be a list of NATS URLs, got ${JSON.stringify(v)}`);
  const urls = (list as string[]).map((u) => u.trim()).filter((u) => u !== "");
  for (const u of urls) if (!URL_RE.test(u)) throw new FederationConfigError(`${file}: ${key} has "${u}", which is not a nats:// or tls:// URL`);
  return urls;
}

export function mergeFederationBlock(prev: FederationSettings, raw: unknown, file: string): FederationSettings {
  if (!isObject(raw)) throw new FederationConfigError(`${file}: federation must be an object`);
  let next = prev;
  for (const [key, v] of Object.entries(raw)) {
    switch (key) {
      case "nats":
        next = { ...next, natsUrls: urlList(file, "federation.nats", v) };
        break;
      case "datacenters": {
        if (!isObject(v)) throw new FederationConfigError(`${file}: federation.datacenters must be an object of datacenter -> NATS URLs`);
        const dcs: Record<string, readonly string[]> = { ...next.datacenters };
        for (const [dc, urls] of Object.entries(v as Record<string, unknown>)) {
          if (!isDatacenterName(dc)) throw new FederationConfigError(`${file}: federation.datacenters has "${dc}", which is not a datacenter name (letters, digits, - and _)`);
          dcs[dc] = urlList(file, `federation.datacenters.${dc}`, urls);
        }
        next = { ...next, datacenters: dcs };
        break;
      }
      case "wan_gossip":
        if (v !== "udp" && v !== "nats") throw new FederationConfigError(`${file}: federation.wan_gossip must be "udp" or "nats", got ${JSON.stringify(v)}`);
        next = { ...next, wanGossip: v };
        break;
      default:
        throw new FederationConfigError(`${file}: unknown key federation.${key}`);
    }
  }
  return next;
}

/** Parses `-federation-nats` values (comma lists allowed). */
export function federationNatsFlag(values: readonly string[]): string[] {
  return urlList("-federation-nats", "-federation-nats", values.join(","));
}

/** This datacenter's NATS URLs for federation: the `federation.nats` ones, else the log's. */
export function ownNatsUrls(settings: FederationSettings, logUrls: readonly string[]): readonly string[] {
  return settings.natsUrls.length > 0 ? settings.natsUrls : logUrls;
}
