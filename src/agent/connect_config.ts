/**
 * The agent config's `connect` block, as far as the CA goes: `enabled`,
 * `ca_provider` ("consul" only) and `ca_config`, whose snake_case keys
 * become the CamelCase ones the CA configuration stores (Consul's builder
 * translates them the same way). `ca_config.cluster_id` fixes the cluster ID
 * at bootstrap (Consul allows it for tests; it must be a UUID).
 */

export interface ConnectSettings {
  /** `connect.enabled`; servers have it on by default. */
  readonly enabled: boolean;
  readonly caConfig: Record<string, unknown>;
  readonly clusterId: string;
}

export const defaultConnectSettings = (): ConnectSettings => ({ enabled: true, caConfig: {}, clusterId: "" });

const TRANSLATE: Record<string, string> = {
  private_key: "PrivateKey",
  root_cert: "RootCert",
  leaf_cert_ttl: "LeafCertTTL",
  intermediate_cert_ttl: "IntermediateCertTTL",
  root_cert_ttl: "RootCertTTL",
  csr_max_per_second: "CSRMaxPerSecond",
  csr_max_concurrent: "CSRMaxConcurrent",
  private_key_type: "PrivateKeyType",
  private_key_bits: "PrivateKeyBits",
  rotation_period: "RotationPeriod",
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class ConnectConfigError extends Error {
  override readonly name = "ConnectConfigError";
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function mergeConnectBlock(current: ConnectSettings, v: unknown, file: string): ConnectSettings {
  if (!isObject(v)) throw new ConnectConfigError(`${file}: connect must be an object, got ${JSON.stringify(v)}`);
  let { enabled, clusterId } = current;
  const caConfig = { ...current.caConfig };
  if (v.enabled !== undefined) {
    if (typeof v.enabled !== "boolean") throw new ConnectConfigError(`${file}: connect.enabled must be a boolean, got ${JSON.stringify(v.enabled)}`);
    enabled = v.enabled;
  }
  if (v.ca_provider !== undefined && v.ca_provider !== "consul") {
    throw new ConnectConfigError(`${file}: connect.ca_provider ${JSON.stringify(v.ca_provider)} is not supported; the built-in "consul" provider is the only one`);
  }
  if (v.ca_config !== undefined) {
    if (!isObject(v.ca_config)) throw new ConnectConfigError(`${file}: connect.ca_config must be an object, got ${JSON.stringify(v.ca_config)}`);
    for (const [k, val] of Object.entries(v.ca_config)) {
      if (k === "cluster_id") {
        if (typeof val !== "string") throw new ConnectConfigError("cluster_id was supplied but was not a string");
        if (!UUID.test(val)) throw new ConnectConfigError("cluster_id was supplied but was not a valid UUID");
        clusterId = val;
        continue;
      }
      caConfig[TRANSLATE[k] ?? k] = val;
    }
  }
  return { enabled, caConfig, clusterId };
}
