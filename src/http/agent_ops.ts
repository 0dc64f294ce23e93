import { urlOf } from "./context.ts";
/**
 * Agent operations: node maintenance, reload, leave, and the membership
 * verbs join and force-leave on the agent's gossip pools (LAN, or WAN with
 * `?wan`). An agent started without gossip (embedded in tests) has a pool of
 * itself: joining itself succeeds, anything else fails with a message that
 * says why.
 */
import type { Hono } from "hono";
import { localAgent } from "./agent_local.ts";
import { enableParam, syncChanges } from "./agent_services.ts";
import type { ApiContext } from "./context.ts";
import { HttpError } from "./errors.ts";
import { JoinError } from "../gossip/mod.ts";

const SERF_WAN_PORT = 8302;

/** Whether `addr` (host, host:port or [v6]:port) names this agent's own gossip address. */
function isSelf(api: ApiContext, addr: string, wan: boolean): boolean {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(addr) ?? /^([^:]+)(?::(\d+))?$/.exec(addr);
  if (!m) return false;
  const host = m[1]!;
  const port = m[2] === undefined ? null : Number(m[2]);
  const own = new Set([api.agent.advertiseAddr, api.agent.bindAddr, "127.0.0.1", "localhost", "::1"]);
  const gossipPort = wan ? SERF_WAN_PORT : api.agent.serfLanPort;
  return own.has(host) && (port === null || port === gossipPort);
}

export function agentOpsRoutes(app: Hono, api: ApiContext): void {
  app.put("/v1/agent/maintenance", async (c) => {
    const agent = localAgent(api);
    const enable = enableParam(c);
    agent.setNodeMaintenance(enable, urlOf(c).searchParams.get("reason") ?? "");
    await syncChanges(agent);
    return c.body(null, 200);
  });

  app.put("/v1/agent/reload", async (c) => {
    if (!api.hooks?.reload) throw new HttpError(500, "Agent was started without configuration to reload");
    try {
      await api.hooks.reload();
    } catch (err) {
      throw new HttpError(500, `Failed to reload configs: ${(err as Error).message}`, { cause: err });
    }
    return c.body(null, 200);
  });

  app.put("/v1/agent/leave", (c) => {
    const leave = api.hooks?.leave;
    if (!leave) throw new HttpError(500, "Agent cannot leave: it was started without a shutdown hook");
    // The answer goes out first; the shutdown closes the listener.
    setTimeout(leave, 0);
    return c.body(null, 200);
  });

  app.put("/v1/agent/join/:addr{.+}", async (c) => {
    const addr = c.req.param("addr");
    const wan = (urlOf(c).searchParams.get("wan") ?? "") !== "";
    const pool = wan ? api.wan : api.lan;
    if (!pool) {
      if (!api.lan && isSelf(api, addr, wan)) return c.body(null, 200);
      throw new HttpError(500, wan ? "Must be a server to join WAN cluster" : `1 error occurred:\n\t* Failed to join ${addr}: this agent has no gossip pool\n\n`);
    }
    try {
      await pool.join([addr]);
    } catch (err) {
      if (err instanceof JoinError) throw new HttpError(500, joinErrorText(err, addr), { cause: err });
      throw err;
    }
    return c.body(null, 200);
  });

  app.put("/v1/agent/force-leave/:node{.+}", async (c) => {
    const node = c.req.param("node");
    const p = urlOf(c).searchParams;
    const wan = p.has("wan");
    const prune = p.has("prune");
    const pool = wan ? api.wan : api.lan;
    if (!pool) {
      const own = wan ? `${api.agent.nodeName}.${api.agent.datacenter}` : api.agent.nodeName;
      if (node !== own) throw new HttpError(500, `agent: No node found with name '${node}'`);
      return c.body(null, 200);
    }
    if (!pool.members().some((m) => m.Name === node)) throw new HttpError(500, `agent: No node found with name '${node}'`);
    await pool.forceLeave(node, prune);
    return c.body(null, 200);
  });
}

/** Consul's multierror text for a join that reached nobody. */
function joinErrorText(err: JoinError, addr: string): string {
  const reasons = err.causes.length > 0 ? err.causes : [err.message];
  const lines = reasons.map((r: string) => `\t* Failed to join ${r.startsWith(addr) ? r : `${addr}: ${r}`}`);
  return `${lines.length} error${lines.length === 1 ? "" : "s"} occurred:\n${lines.join("\n")}\n\n`;
}
