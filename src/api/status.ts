/** Raft status (`/v1/status`), as the Go client's `api.Status`. */
import type { Client } from "./client.ts";
import type { QueryOptions } from "./options.ts";
import { asArray } from "./types.ts";

export class Status {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  /** The leader's RPC address (`ip:port`), or "" when there is none. */
  async leader(q?: QueryOptions): Promise<string> {
    const [leader] = await this.c.query("/v1/status/leader", q, (j) => (typeof j === "string" ? j : ""));
    return leader;
  }

  /** RPC addresses of the raft peers. */
  async peers(q?: QueryOptions): Promise<string[]> {
    const [peers] = await this.c.query("/v1/status/peers", q, (j) => asArray<unknown>(j).map(String));
    return peers;
  }
}
