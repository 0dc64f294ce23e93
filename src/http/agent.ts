/** `/v1/agent/self`, `/version`, `/host` and `/members` (the rest of /v1/agent is in the neighbouring files). */
import type { Hono } from "hono";
import { type ApiContext, json, urlOf } from "./context.ts";
import { compileFilter, type FieldSchema } from "../filter/mod.ts";
import { agentMember } from "../gossip/mod.ts";
import { agentStats } from "./agent_stats.ts";
import { collectHostInfo } from "../agent/host_info.ts";

/** `?filter=` selectors of `/v1/agent/members` (api.AgentMember). */
const memberSchema: FieldSchema = {
  kind: "struct",
  fields: {
    Name: { kind: "string" },
    Addr: { kind: "string" },
    Port: { kind: "number" },
    Tags: { kind: "map", elem: { kind: "string" } },
    Status: { kind: "number" },
    ProtocolMin: { kind: "number" },
    ProtocolMax: { kind: "number" },
    ProtocolCur: { kind: "number" },
    DelegateMin: { kind: "number" },
    DelegateMax: { kind: "number" },
    DelegateCur: { kind: "number" },
  },
};

const SERF_WAN_PORT = 8302;

function memberTags(api: ApiContext): Record<string, string> {
  const a = api.agent;
  const tags: Record<string, string> = {
    build: `${a.version}:${a.revision}`,
    dc: a.datacenter,
    id: a.nodeId,
    role: a.server ? "consul" : "node",
    segment: "",
    vsn: "2",
    vsn_max: "3",
    vsn_min: "2",
    wan_join_port: String(SERF_WAN_PORT),
  };
  if (a.server) {
    tags.port = String(a.serverPort);
    tags.bootstrap = "1";
    tags.expect = "1";
    tags.raft_vsn = "3";
  }
  return tags;
}

function member(api: ApiContext): Record<string, unknown> {
  return {
    Name: api.agent.nodeName,
    Addr: api.agent.advertiseAddr,
    Port: api.agent.serfLanPort,
    Tags: memberTags(api),
    Status: 1,
    ProtocolMin: 1,
    ProtocolMax: 5,
    ProtocolCur: 2,
    DelegateMin: 2,
    DelegateMax: 5,
    DelegateCur: 4,
  };
}

export function agentRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/agent/self", (c) => {
    const a = api.agent;
    return json(c, {
      Config: {
        Datacenter: a.datacenter,
        PrimaryDatacenter: a.primaryDatacenter,
        NodeName: a.nodeName,
        NodeID: a.nodeId,
        Partition: "",
        Revision: a.revision,
        Server: a.server,
        Version: a.version,
        BuildDate: "",
      },
      DebugConfig: api.debugConfig?.() ?? {
        Datacenter: a.datacenter,
        NodeName: a.nodeName,
        NodeID: a.nodeId,
        ServerMode: a.server,
        BindAddr: a.bindAddr,
        AdvertiseAddrLAN: a.advertiseAddr,
        HTTPPort: a.httpPort(),
        KVMaxValueSize: api.limits.kvMaxValueSize,
        TxnMaxReqLen: api.limits.txnMaxReqLen,
        Version: a.version,
      },
      // The agent's LAN coordinate, as Consul gives it (null with coordinates off).
      Coord: a.disableCoordinates ? null : (api.lan?.coordinate() ?? null),
      Member: api.lan ? agentMember(api.lan.localMember()) : member(api),
      Stats: agentStats(api),
      // The node meta this agent registers (Consul's State.Metadata()).
      Meta: api.localAgent?.identity.meta ?? {},
      xDS: null,
    });
  });

  // Consul's version.GetBuildInfo: the Consul release Consulate answers as.
  app.get("/v1/agent/version", (c) =>
    json(c, { SHA: api.agent.revision, BuildDate: "", HumanVersion: api.agent.version, FIPS: "" }),
  );

  app.get("/v1/agent/host", async (c) => json(c, await collectHostInfo(api.agent.dataDir ?? "")));

  app.get("/v1/agent/members", (c) => {
    const url = urlOf(c);
    const wan = url.searchParams.has("wan");
    const filter = url.searchParams.get("filter") ?? "";
    const pool = wan ? api.wan : api.lan;
    if (pool) {
      const rows = pool.members().map(agentMember);
      if (filter === "") return json(c, rows);
      const pred = compileFilter(filter, memberSchema);
      return json(c, rows.filter((m) => pred(m)));
    }
    if (api.lan && wan) return json(c, []);
    if (!wan) return json(c, [member(api)]);
    // The WAN pool holds servers only, named <node>.<dc>, on the serf WAN port.
    if (!api.agent.server) return json(c, []);
    return json(c, [{ ...member(api), Name: `${api.agent.nodeName}.${api.agent.datacenter}`, Port: SERF_WAN_PORT }]);
  });
}
