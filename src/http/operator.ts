/** `/v1/operator/raft/*` (Consul's agent/operator_endpoint.go): the servers of the datacenter. */
import type { Hono } from "hono";
import { type ApiContext, isPretty, json, jsonText, queryOptions, readJson, reply, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import { AutopilotConfigError, decodeAutopilotConfig } from "../structs/autopilot.ts";
import { formatGoDuration, parseGoDuration } from "../structs/duration.ts";

export function operatorRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/operator/raft/configuration", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Operator.RaftGetConfiguration", {}, q), (value) => json(c, value, q));
  });
  app.delete("/v1/operator/raft/peer", async (c) => {
    const q = queryOptions(c, api);
    const p = urlOf(c).searchParams;
    const id = p.get("id") ?? "";
    const address = p.get("address") ?? "";
    if ((id === "") === (address === "")) {
      throw new HttpError(400, "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove");
    }
    await api.rpc.call("Operator.RaftRemovePeer", { ID: id, Address: address }, q);
    return c.body(null, 200);
  });
  app.get("/v1/operator/autopilot/configuration", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Operator.AutopilotGetConfiguration", {}, q), (value) => json(c, value, q));
  });
  app.put("/v1/operator/autopilot/configuration", async (c) => {
    const q = queryOptions(c, api);
    const casText = urlOf(c).searchParams.get("cas");
    let cas: number | undefined;
    if (casText !== null) {
      if (!/^[0-9]+$/.test(casText) || !Number.isSafeInteger(Number(casText))) {
        throw new HttpError(400, `Error parsing cas value: strconv.ParseUint: parsing ${JSON.stringify(casText)}: invalid syntax`);
      }
      cas = Number(casText);
    }
    let config;
    try {
      config = decodeAutopilotConfig(await readJson(c, 64 * 1024), parseGoDuration, formatGoDuration);
    } catch (err) {
      if (err instanceof AutopilotConfigError) throw new HttpError(400, err.message);
      throw err;
    }
    const stored = await api.rpc.call("Operator.AutopilotSetConfiguration", cas === undefined ? { Config: config } : { Config: config, CAS: cas }, q);
    return json(c, stored, q);
  });
  app.get("/v1/operator/autopilot/health", async (c) => {
    const q = queryOptions(c, api);
    const health = await api.rpc.call("Operator.ServerHealth", {}, q);
    // Consul answers 429 while the cluster is unhealthy, with the same body.
    return c.body(jsonText(health, isPretty(c)), health.Healthy ? 200 : 429, { "Content-Type": "application/json" });
  });
  app.get("/v1/operator/autopilot/state", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("Operator.AutopilotState", {}, q), q);
  });
}
