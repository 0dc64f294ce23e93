/**
 * `/v1/snapshot` (Consul's agent/snapshot_endpoint.go): GET saves the state as
 * a gzipped tar archive, PUT restores one, both through the Snapshot.* RPC
 * endpoints, so a client agent forwards them to a server. A restore is all or
 * nothing: the server opens the archive, checks its SHA-256 sums and decodes
 * its state before a single Restore entry goes to the log; a bad archive gets
 * a 400 and changes nothing.
 */
import type { Hono } from "hono";
import { type ApiContext, checkDatacenter, queryOptions, readBytes, setMeta } from "./context.ts";

/** Largest archive a restore reads (compressed), so the RPC frame that carries it fits. */
export const MAX_SNAPSHOT_UPLOAD_BYTES = 120 * 1024 * 1024;

export function snapshotRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/snapshot", async (c) => {
    const q = queryOptions(c, api);
    checkDatacenter(api, q.datacenter);
    const r = await api.rpc.call("Snapshot.Save", {}, q);
    setMeta(c, r, q);
    return c.body(r.value as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/x-gzip" });
  });

  app.put("/v1/snapshot", async (c) => {
    const q = queryOptions(c, api);
    checkDatacenter(api, q.datacenter);
    const body = await readBytes(c, MAX_SNAPSHOT_UPLOAD_BYTES, (n) => `Snapshot too large, max size: ${MAX_SNAPSHOT_UPLOAD_BYTES} bytes (got ${n})`);
    await api.rpc.call("Snapshot.Restore", { Archive: body }, q);
    return c.body(null, 200);
  });

  app.on(["POST", "DELETE", "PATCH"], "/v1/snapshot", (c) => c.body(null, 405));
}
