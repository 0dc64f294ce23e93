/** Config entries (`/v1/config`), as the Go client's `api.ConfigEntries`. */
import type { Client } from "./client.ts";
import { encodeJson } from "./json.ts";
import type { QueryMeta, QueryOptions, WriteOptions } from "./options.ts";
import { asArray } from "./types.ts";

/**
 * A config entry as the agent returns it: `Kind`, `Name` (absent for `mesh`),
 * the kind's own fields, then `CreateIndex` and `ModifyIndex`.
 */
export type ConfigEntry = Record<string, unknown> & {
  Kind: string;
  Name?: string;
  CreateIndex?: number;
  ModifyIndex?: number;
};

export class ConfigEntries {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  /** One entry; a missing one is an ApiError with status 404. */
  async get(kind: string, name: string, q?: QueryOptions): Promise<[ConfigEntry, QueryMeta]> {
    if (kind === "" || name === "") throw new TypeError("Both kind and name parameters must not be empty");
    return this.c.query(`/v1/config/${kind}/${name}`, q, (j) => j as ConfigEntry);
  }

  async list(kind: string, q?: QueryOptions): Promise<[ConfigEntry[], QueryMeta]> {
    if (kind === "") throw new TypeError("The kind parameter must not be empty");
    return this.c.query(`/v1/config/${kind}`, q, (j) => asArray<ConfigEntry>(j));
  }

  /** Creates or replaces an entry; true when written. */
  async set(entry: ConfigEntry, w?: WriteOptions): Promise<boolean> {
    return (await this.c.write("PUT", "/v1/config", encodeJson(entry), w)) === true;
  }

  /** Check-and-set: writes only if the entry's ModifyIndex is `index` (0: only if absent). */
  async cas(entry: ConfigEntry, index: number, w?: WriteOptions): Promise<boolean> {
    return (await this.c.write("PUT", "/v1/config", encodeJson(entry), w, [["cas", String(index)]])) === true;
  }

  async delete(kind: string, name: string, w?: WriteOptions): Promise<void> {
    if (kind === "" || name === "") throw new TypeError("Both kind and name parameters must not be empty");
    await this.c.write("DELETE", `/v1/config/${kind}/${name}`, undefined, w);
  }

  /** Deletes only if the entry's ModifyIndex is `index`; true when it did. */
  async deleteCAS(kind: string, name: string, index: number, w?: WriteOptions): Promise<boolean> {
    if (kind === "" || name === "") throw new TypeError("Both kind and name parameters must not be empty");
    return (await this.c.write("DELETE", `/v1/config/${kind}/${name}`, undefined, w, [["cas", String(index)]])) === true;
  }
}
