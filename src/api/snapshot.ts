/** Snapshots (`/v1/snapshot`), as the Go client's `api.Snapshot`. */
import type { Client, RawRequest } from "./client.ts";
import { parseQueryMeta, type QueryMeta, type QueryOptions, type WriteOptions } from "./options.ts";

export class Snapshot {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  /** Takes a snapshot: the archive bytes (gzipped tar) and the meta (`lastIndex` is the snapshot's index). */
  async save(q?: QueryOptions): Promise<[Uint8Array, QueryMeta]> {
    const request: RawRequest = { method: "GET", path: "/v1/snapshot", query: q ?? {} };
    const response = await this.c.send(request);
    this.c.requireStatus(request, response);
    return [response.body, parseQueryMeta(response.headers, response.requestTime)];
  }

  /** Restores the state from an archive `save` returned. */
  async restore(archive: Uint8Array<ArrayBuffer>, w?: WriteOptions): Promise<void> {
    const request: RawRequest = { method: "PUT", path: "/v1/snapshot", write: w ?? {}, body: archive };
    const response = await this.c.send(request);
    this.c.requireStatus(request, response);
  }
}
