/**
 * The `Stats` of `/v1/agent/self` (what `consulate info` prints): Consul's
 * sections and key names, every value a string. Only figures this agent
 * really has are given; Go-runtime ones (goroutines, max_procs) are left out.
 */
import type { ApiContext } from "./context.ts";
import type { GossipPool } from "../gossip/mod.ts";

type Section = Record<string, string>;

function serfStats(pool: GossipPool, encrypted: boolean): Section {
  const members = pool.members();
  const count = (status: string) => String(members.filter((m) => m.Status === status).length);
  const s = pool.stats();
  return {
    members: String(members.length),
    failed: count("failed"),
    left: count("left"),
    encrypted: String(encrypted),
    health_score: String(s.health),
  };
}

/** Datacenters seen in the WAN pool (servers carry a `dc` tag); 1 without one. */
function knownDatacenters(api: ApiContext): number {
  const dcs = new Set((api.wan?.members() ?? []).map((m) => m.Tags.dc).filter((dc) => dc));
  return Math.max(1, dcs.size);
}

export function agentStats(api: ApiContext): Record<string, Section> {
  const a = api.agent;
  const checks = api.localAgent?.local.liveChecks() ?? [];
  const stats: Record<string, Section> = {
    agent: {
      check_monitors: String(checks.filter((c) => c.Type === "script").length),
      check_ttls: String(checks.filter((c) => c.Type === "ttl").length),
      checks: String(checks.length),
      services: String(api.localAgent?.local.liveServices().length ?? 0),
    },
    build: { prerelease: "", revision: a.revision, version: a.version, version_metadata: "" },
    consul: api.server
      ? {
          server: "true",
          leader: String(api.server.isLeader()),
          leader_addr: api.server.leaderAddress(),
          bootstrap: "false",
          known_datacenters: String(knownDatacenters(api)),
          last_log_index: String(api.server.lastIndex()),
        }
      : { server: "false", known_servers: String(api.knownServers?.() ?? 0) },
    runtime: { uptime_seconds: String(Math.floor((Date.now() - a.startedAt) / 1000)) },
  };
  // A server's log position and role, under Consul's raft key names (the log is ours or JetStream's, not hashicorp/raft).
  if (api.server) stats.raft = { applied_index: String(api.server.lastIndex()), state: api.server.isLeader() ? "Leader" : "Follower" };
  const encrypted = a.gossipEncrypted ?? false;
  if (api.lan) stats.serf_lan = serfStats(api.lan, encrypted);
  if (api.wan) stats.serf_wan = serfStats(api.wan, encrypted);
  return stats;
}
