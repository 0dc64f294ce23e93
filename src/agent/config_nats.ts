/**
 * The `nats` block of an agent config file (Consulate's own; Consul has no
 * NATS): where a clustered server finds the NATS cluster holding its log.
 *
 * ```json
 * "nats": {
 *   "urls": ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"],
 *   "tls": { "ca_file": "ca.pem", "cert_file": "client.pem", "key_file": "client-key.pem" },
 *   "creds_file": "server.creds",
 *   "replicas": 3,
 *   "lease_ttl": "3s"
 * }
 * ```
 * `user`/`password` or `token` may replace `creds_file`.
 */
import { defaultNatsSettings, type NatsSettings } from "../cluster/nats.ts";
import { parseGoDuration } from "../structs/duration.ts";
import { isObject } from "../structs/json.ts";

export { defaultNatsSettings, type NatsSettings };

/** A `nats` block that cannot be used; the message names the key. */
export class NatsConfigError extends Error {
  override readonly name = "NatsConfigError";
}

const str = (file: string, key: string, v: unknown): string => {
  if (typeof v !== "string") throw new NatsConfigError(`${file}: nats.${key} must be a string, got ${JSON.stringify(v)}`);
  return v;
};

/** Splits `-nats` values and `nats.urls` entries given as comma lists. */
export function splitUrls(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(",")).map((u) => u.trim()).filter((u) => u !== "");
}

export function mergeNatsBlock(prev: NatsSettings, raw: unknown, file: string): NatsSettings {
  if (!isObject(raw)) throw new NatsConfigError(`${file}: nats must be an object`);
  let next: NatsSettings = { ...prev };
  for (const [key, v] of Object.entries(raw)) {
    switch (key) {
      case "urls":
      case "servers": {
        const list = typeof v === "string" ? [v] : v;
        if (!Array.isArray(list) || !list.every((u) => typeof u === "string")) {
          throw new NatsConfigError(`${file}: nats.${key} must be a list of URLs, got ${JSON.stringify(v)}`);
        }
        next = { ...next, urls: splitUrls(list as string[]) };
        break;
      }
      case "tls": {
        if (!isObject(v)) throw new NatsConfigError(`${file}: nats.tls must be an object`);
        const t = v as Record<string, unknown>;
        next = {
          ...next,
          tls: {
            caFile: t.ca_file === undefined ? "" : str(file, "tls.ca_file", t.ca_file),
            certFile: t.cert_file === undefined ? "" : str(file, "tls.cert_file", t.cert_file),
            keyFile: t.key_file === undefined ? "" : str(file, "tls.key_file", t.key_file),
          },
        };
        if ((next.tls!.certFile === "") !== (next.tls!.keyFile === "")) {
          throw new NatsConfigError(`${file}: nats.tls needs both cert_file and key_file, or neither`);
        }
        break;
      }
      case "creds_file": next = { ...next, credsFile: str(file, key, v) }; break;
      case "user": next = { ...next, user: str(file, key, v) }; break;
      case "password": next = { ...next, password: str(file, key, v) }; break;
      case "token": next = { ...next, token: str(file, key, v) }; break;
      case "replicas": {
        if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 5) {
          throw new NatsConfigError(`${file}: nats.replicas must be an integer from 1 to 5, got ${JSON.stringify(v)}`);
        }
        next = { ...next, replicas: v };
        break;
      }
      case "lease_ttl": {
        const ms = typeof v === "string" ? parseGoDuration(v) : null;
        if (ms === null || ms < 300) throw new NatsConfigError(`${file}: nats.lease_ttl must be a duration of at least "300ms", got ${JSON.stringify(v)}`);
        next = { ...next, leaseTtlMs: ms };
        break;
      }
      default:
        throw new NatsConfigError(`${file}: unknown key nats.${key}`);
    }
  }
  return next;
}
