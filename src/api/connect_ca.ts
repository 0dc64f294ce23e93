/**
 * The Connect CA (`/v1/connect/ca/*` and the agent's `/v1/agent/connect/ca/*`),
 * as the Go client's `api.Connect` CA methods and `api.Agent` ConnectCARoots /
 * ConnectCALeaf. Field names are the wire's.
 */
import type { Client } from "./client.ts";
import { encodeJson } from "./json.ts";
import type { QueryMeta, QueryOptions, WriteOptions } from "./options.ts";
import { asArray } from "./types.ts";

export interface CARoot {
  ID: string;
  Name: string;
  /** uint64; a bigint when it does not fit a double. */
  SerialNumber: number | bigint;
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

export interface CARootList {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: CARoot[];
}

export interface LeafCert {
  SerialNumber: string;
  CertPEM: string;
  PrivateKeyPEM: string;
  Service: string;
  ServiceURI: string;
  ValidAfter: string;
  ValidBefore: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface CAConfig {
  Provider: string;
  Config: Record<string, unknown>;
  State?: Record<string, string> | null;
  ForceWithoutCrossSigning?: boolean;
  CreateIndex?: number;
  ModifyIndex?: number;
}

function rootList(j: unknown): CARootList {
  const o = (j ?? {}) as Partial<CARootList>;
  return { ActiveRootID: o.ActiveRootID ?? "", TrustDomain: o.TrustDomain ?? "", Roots: asArray<CARoot>(o.Roots) };
}

export class ConnectCA {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  /** GET /v1/connect/ca/roots (blocking). */
  async caRoots(q?: QueryOptions): Promise<[CARootList, QueryMeta]> {
    return this.c.query("/v1/connect/ca/roots", q, rootList);
  }

  /** GET /v1/connect/ca/roots?pem=true: every root and intermediate as one PEM chain. */
  async caRootsPem(q?: QueryOptions): Promise<string> {
    const request = { method: "GET" as const, path: "/v1/connect/ca/roots", query: q ?? {}, params: [["pem", "true"]] as const };
    const response = await this.c.send(request);
    this.c.requireStatus(request, response);
    return new TextDecoder().decode(response.body);
  }

  /** GET /v1/connect/ca/configuration. */
  async caGetConfig(q?: QueryOptions): Promise<[CAConfig, QueryMeta]> {
    return this.c.query("/v1/connect/ca/configuration", q, (j) => j as CAConfig);
  }

  /** PUT /v1/connect/ca/configuration; new key material rotates the root. */
  async caSetConfig(conf: CAConfig, w?: WriteOptions): Promise<void> {
    await this.c.write("PUT", "/v1/connect/ca/configuration", encodeJson(conf), w);
  }
}

/** GET /v1/agent/connect/ca/roots: the agent's cached roots (blocking on the cache). */
export async function agentConnectCARoots(c: Client, q?: QueryOptions): Promise<[CARootList, QueryMeta]> {
  return c.query("/v1/agent/connect/ca/roots", q, rootList);
}

/** GET /v1/agent/connect/ca/leaf/:service: the service's leaf and its private key (blocking until renewal). */
export async function agentConnectCALeaf(c: Client, service: string, q?: QueryOptions): Promise<[LeafCert, QueryMeta]> {
  return c.query(`/v1/agent/connect/ca/leaf/${service}`, q, (j) => j as LeafCert);
}
