import { urlOf } from "./context.ts";
/**
 * Agent operations: node maintenance, reload, leave, and the membership
 * verbs join and force-leave. There is no gossip layer yet, so the pool is
 * this one agent: joining itself succeeds, force-leaving itself is a no-op
 * (Consul ignores force-leave of a live member), anything else fails with a
 * message that says why.
 */
import type { Hono } from "hono";
import { localAgent } from "./agent_local.ts";
import { enableParam, syncChanges } from "./agent_services.ts";
import type { ApiContext } from "./context.ts";
import { HttpError } from "./errors.ts";

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

  app.put("/v1/agent/join/:addr{.+}", (c) => {
    const addr = c.req.param("addr");
    const wan = (urlOf(c).searchParams.get("wan") ?? "") !== "";
    if (!isSelf(api, addr, wan)) {
      throw new HttpError(
        500,
        `1 error occurred:\n\t* Failed to join ${addr}: this agent has no ${wan ? "WAN" : "LAN"} gossip layer yet, so its pool holds only itself (${api.agent.nodeName})\n\n`,
      );
    }
    return c.body(null, 200);
  });

  app.put("/v1/agent/force-leave/:node{.+}", (c) => {
    const node = c.req.param("node");
    const wan = urlOf(c).searchParams.has("wan");
    const own = wan ? `${api.agent.nodeName}.${api.agent.datacenter}` : api.agent.nodeName;
    if (node !== own) {
      throw new HttpError(500, `agent: No node found with name '${node}': the ${wan ? "WAN" : "LAN"} pool holds only ${own} until gossip exists`);
    }
    return c.body(null, 200);
  });
}
