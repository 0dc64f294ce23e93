/**
 * `/v1/snapshot` (Consul's agent/snapshot_endpoint.go): GET saves the state as
 * a gzipped tar archive, PUT restores one. A restore is all or nothing: the
 * archive is opened, its SHA-256 sums checked and its state decoded before a
 * single Restore entry goes to the log; a bad archive gets a 400 and changes
 * nothing.
 */
import type { Hono } from "hono";
import { type ApiContext, checkDatacenter, localServer, queryOptions, readBytes, setMeta, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import { SnapshotStateError } from "../server/mod.ts";
import { type RaftServerEntry, readArchive, SnapshotArchiveError, snapshotMeta, writeArchive } from "../snapshot/mod.ts";

/** Largest archive a restore reads (compressed); the Restore log entry must fit LocalLog's record limit. */
export const MAX_SNAPSHOT_UPLOAD_BYTES = 128 * 1024 * 1024;

/** The servers as the catalog lists them (each server registers itself as the "consul" service). */
function serversOf(api: ApiContext): RaftServerEntry[] {
  const t = localServer(api).state.t;
  const servers = t.instancesOf("consul").map((row) => {
    const node = t.nodes.get(row.Node);
    const address = row.Service.Address || node?.Address || "";
    return { Suffrage: 0, ID: node?.ID || row.Node, Address: `${address}:${row.Service.Port}` };
  });
  if (servers.length > 0) return servers;
  return [{ Suffrage: 0, ID: api.agent.nodeId, Address: `${api.agent.advertiseAddr}:${api.agent.serverPort}` }];
}

export function snapshotRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/snapshot", (c) => {
    const q = queryOptions(c, api);
    checkDatacenter(api, q.datacenter);
    const server = localServer(api);
    const index = server.state.lastApplied;
    const state = server.state.snapshot();
    const now = Date.now();
    const archive = writeArchive(snapshotMeta({ index, servers: serversOf(api), size: state.length, nowMs: now }), state, now);
    setMeta(c, { index, value: null }, q);
    return c.body(archive as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/x-gzip" });
  });

  app.put("/v1/snapshot", async (c) => {
    const q = queryOptions(c, api);
    checkDatacenter(api, q.datacenter);
    if (urlOf(c).searchParams.has("stale")) throw new HttpError(400, "stale not allowed for restore");
    const body = await readBytes(c, MAX_SNAPSHOT_UPLOAD_BYTES, (n) => `Snapshot too large, max size: ${MAX_SNAPSHOT_UPLOAD_BYTES} bytes (got ${n})`);
    try {
      const { state } = readArchive(body);
      await localServer(api).restore(state);
    } catch (err) {
      if (err instanceof SnapshotArchiveError || err instanceof SnapshotStateError) throw new HttpError(400, err.message, { cause: err });
      throw err;
    }
    return c.body(null, 200);
  });

  app.on(["POST", "DELETE", "PATCH"], "/v1/snapshot", (c) => c.body(null, 405));
}
