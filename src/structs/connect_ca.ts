/**
 * Connect CA wire types (Consul's agent/structs/connect_ca.go): roots,
 * CA configuration and issued certificates, with their JSON renderings.
 * The stored root row carries the signing key; the rendering never does.
 */

/** A root as kept in the replicated state. `SigningKey` never leaves the servers. */
export interface CARootRow {
  readonly ID: string;
  readonly Name: string;
  /** uint64 as a decimal string (imported roots may use all 64 bits). */
  readonly SerialNumber: string;
  readonly SigningKeyID: string;
  readonly ExternalTrustDomain: string;
  /** RFC 3339, whole seconds. */
  readonly NotBefore: string;
  readonly NotAfter: string;
  readonly RootCert: string;
  readonly IntermediateCerts: string[];
  readonly Active: boolean;
  /** When the root stopped being active (ms since epoch), 0 while active. */
  readonly RotatedOutAt: number;
  readonly PrivateKeyType: string;
  readonly PrivateKeyBits: number;
  /** PKCS#8 PEM of the key that signs leaves for this root; server-only. */
  readonly SigningKey: string;
  /** Identity of the provider configuration that made this root (Consul's provider ID). */
  readonly ProviderID: string;
  /**
   * In a secondary datacenter: the intermediate (signed by this primary root)
   * whose key, `SigningKey`, signs the datacenter's leaves (Consul's
   * CARoot.SigningCert). Absent in the primary: the root signs itself.
   */
  readonly SigningCert?: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** A root inside a command, before apply assigns its indexes. */
export type CARootBody = Omit<CARootRow, "CreateIndex" | "ModifyIndex">;

export interface CAConfigRow {
  /** Not part of the JSON (`json:"-"` in Consul); the trust domain is `<ClusterID>.consul`. */
  readonly ClusterID: string;
  readonly Provider: string;
  readonly Config: Record<string, unknown>;
  readonly State: Record<string, string> | null;
  readonly ForceWithoutCrossSigning: boolean;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export type CAConfigBody = Omit<CAConfigRow, "CreateIndex" | "ModifyIndex">;

/** Go's time.Time JSON for whole-second UTC times. */
export function goTime(ms: number | Date): string {
  const d = typeof ms === "number" ? new Date(ms) : ms;
  return d.toISOString().replace(/\.000Z$/, "Z");
}

export interface CARootJson {
  ID: string;
  Name: string;
  SerialNumber: bigint;
  SigningKeyID: string;
  ExternalTrustDomain: string;
  NotBefore: string;
  NotAfter: string;
  RootCert: string;
  IntermediateCerts: string[] | null;
  Active: boolean;
  PrivateKeyType: string;
  PrivateKeyBits: number;
  CreateIndex: number;
  ModifyIndex: number;
}

/** The public fields of a root, in Consul's order; the signing key is left out on purpose. */
export function caRootJson(r: CARootRow): CARootJson {
  return {
    ID: r.ID,
    Name: r.Name,
    SerialNumber: BigInt(r.SerialNumber),
    SigningKeyID: r.SigningKeyID,
    ExternalTrustDomain: r.ExternalTrustDomain,
    NotBefore: r.NotBefore,
    NotAfter: r.NotAfter,
    RootCert: r.RootCert,
    IntermediateCerts: r.IntermediateCerts.length > 0 ? [...r.IntermediateCerts] : null,
    Active: r.Active,
    PrivateKeyType: r.PrivateKeyType,
    PrivateKeyBits: r.PrivateKeyBits,
    CreateIndex: r.CreateIndex,
    ModifyIndex: r.ModifyIndex,
  };
}

export interface IndexedCARoots {
  readonly ActiveRootID: string;
  readonly TrustDomain: string;
  readonly Roots: CARootJson[];
}

export interface CAConfigJson {
  Provider: string;
  Config: Record<string, unknown>;
  State: Record<string, string> | null;
  ForceWithoutCrossSigning: boolean;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Config keys whose values are secrets: kept in state, never answered. */
const SECRET_KEYS = new Set(["privatekey"]);

export function caConfigJson(c: CAConfigRow): CAConfigJson {
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c.Config)) if (!SECRET_KEYS.has(k.toLowerCase().replaceAll("_", ""))) config[k] = v;
  return {
    Provider: c.Provider,
    Config: config,
    State: c.State,
    ForceWithoutCrossSigning: c.ForceWithoutCrossSigning,
    CreateIndex: c.CreateIndex,
    ModifyIndex: c.ModifyIndex,
  };
}

/** A certificate issued by the CA (Consul's structs.IssuedCert). */
export interface IssuedCert {
  /** Colon hex of the serial number. */
  readonly SerialNumber: string;
  readonly CertPEM: string;
  /** Only the agent's leaf endpoint fills this: the key never leaves the agent that made it. */
  readonly PrivateKeyPEM?: string;
  readonly Service?: string;
  readonly ServiceURI?: string;
  readonly Agent?: string;
  readonly AgentURI?: string;
  readonly Kind?: string;
  readonly KindURI?: string;
  readonly ValidAfter: string;
  readonly ValidBefore: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** Consul's CASignRequest. */
export interface CASignRequest {
  readonly Datacenter: string;
  readonly CSR: string;
}

/** An IssuedCert with its fields in Consul's order (Go marshals struct fields in declaration order). */
export function issuedCertJson(c: IssuedCert): IssuedCert {
  const out: Record<string, unknown> = { SerialNumber: c.SerialNumber, CertPEM: c.CertPEM };
  const optional = ["PrivateKeyPEM", "Service", "ServiceURI", "Agent", "AgentURI", "Kind", "KindURI"] as const;
  for (const k of optional) if (c[k] !== undefined && c[k] !== "") out[k] = c[k];
  Object.assign(out, { ValidAfter: c.ValidAfter, ValidBefore: c.ValidBefore, CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex });
  return out as unknown as IssuedCert;
}
