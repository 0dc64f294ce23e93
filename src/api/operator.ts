/** Operator endpoints (`/v1/operator/raft/*`), as the Go client's `api.Operator`. */
import type { AutopilotConfigBody, AutopilotConfigRow } from "../structs/autopilot.ts";
import type { AutopilotStateReply } from "../server/endpoints/autopilot.ts";
import type { Client } from "./client.ts";
import type { QueryOptions } from "./options.ts";
import { asArray } from "./types.ts";
import { type KeyringOptions, keyringList, type KeyringResponse, keyringWrite } from "./keyring.ts";
import type { WriteOptions } from "./options.ts";

/** One server of the raft configuration (Go's `api.RaftServer`). */
export interface RaftServer {
  ID: string;
  Node: string;
  Address: string;
  Leader: boolean;
  ProtocolVersion: string;
  Voter: boolean;
  /** Index of the last log entry the server holds; absent from older servers. */
  LastIndex?: number;
}

export interface RaftConfiguration {
  Servers: RaftServer[];
  Index: number;
}

function toServer(j: unknown): RaftServer {
  const o = (j ?? {}) as Record<string, unknown>;
  const s: RaftServer = {
    ID: String(o.ID ?? ""),
    Node: String(o.Node ?? ""),
    Address: String(o.Address ?? ""),
    Leader: o.Leader === true,
    ProtocolVersion: String(o.ProtocolVersion ?? ""),
    Voter: o.Voter === true,
  };
  if (typeof o.LastIndex === "number") s.LastIndex = o.LastIndex;
  return s;
}

/** `GET /v1/operator/federation` (Consulate's own). */
export interface FederationStatus {
  Datacenter: string;
  PrimaryDatacenter: string;
  /** Promotions so far (0: the configured primary). */
  Epoch: number;
  Federated: boolean;
  Datacenters: { Datacenter: string; RTTMs: number | null }[];
}

export type { AutopilotConfigBody, AutopilotConfigRow, AutopilotStateReply };

export class Operator {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  /** The current raft peer set (`GET /v1/operator/raft/configuration`). */
  async raftGetConfiguration(q?: QueryOptions): Promise<RaftConfiguration> {
    const [config] = await this.c.query("/v1/operator/raft/configuration", q, (j) => {
      const o = (j ?? {}) as Record<string, unknown>;
      return { Servers: asArray<unknown>(o.Servers ?? []).map(toServer), Index: typeof o.Index === "number" ? o.Index : 0 };
    });
    return config;
  }

  /** The autopilot configuration (`GET /v1/operator/autopilot/configuration`). */
  async autopilotGetConfiguration(q?: QueryOptions): Promise<AutopilotConfigRow> {
    const [config] = await this.c.query("/v1/operator/autopilot/configuration", q, (j) => j as AutopilotConfigRow);
    return config;
  }

  /** Stores it; with `cas`, only if its ModifyIndex is still `cas`. Answers whether it was stored. */
  async autopilotSetConfiguration(config: AutopilotConfigBody, cas?: number, w?: WriteOptions): Promise<boolean> {
    const params: [string, string][] = cas === undefined ? [] : [["cas", String(cas)]];
    return (await this.c.write("PUT", "/v1/operator/autopilot/configuration", JSON.stringify(config), w, params)) === true;
  }

  /** Autopilot's view of the servers (`GET /v1/operator/autopilot/state`). */
  async autopilotState(q?: QueryOptions): Promise<AutopilotStateReply> {
    const [state] = await this.c.query("/v1/operator/autopilot/state", q, (j) => j as AutopilotStateReply);
    return state;
  }

  /** Gossip keys on every ring (`GET /v1/operator/keyring`). */
  keyringList(o?: KeyringOptions, q?: QueryOptions): Promise<KeyringResponse[]> {
    return keyringList(this.c, o, q);
  }

  /** Installs a gossip key on every member (`POST`). */
  keyringInstall(key: string, o?: KeyringOptions, w?: WriteOptions): Promise<void> {
    return keyringWrite(this.c, "POST", key, o, w);
  }

  /** Makes an installed key the primary one (`PUT`). */
  keyringUse(key: string, o?: KeyringOptions, w?: WriteOptions): Promise<void> {
    return keyringWrite(this.c, "PUT", key, o, w);
  }

  /** Removes a key that is not the primary one (`DELETE`). */
  keyringRemove(key: string, o?: KeyringOptions, w?: WriteOptions): Promise<void> {
    return keyringWrite(this.c, "DELETE", key, o, w);
  }

  /** This datacenter's view of the federation (`GET /v1/operator/federation`). */
  async federation(q?: QueryOptions): Promise<FederationStatus> {
    const [status] = await this.c.query("/v1/operator/federation", q, (j) => j as FederationStatus);
    return status;
  }

  /** Makes the agent's datacenter the primary (`PUT /v1/operator/federation/promote`). */
  async federationPromote(w?: WriteOptions): Promise<{ PrimaryDatacenter: string; Epoch: number }> {
    return (await this.c.write("PUT", "/v1/operator/federation/promote", undefined, w)) as { PrimaryDatacenter: string; Epoch: number };
  }
}
