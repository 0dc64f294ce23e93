/** `consulate members`: the gossip pool as the agent sees it. */
import { MemberTag, type AgentMember } from "../api/mod.ts";
import { defineCommand, errorText } from "./command.ts";
import { boolFlag, stringFlag } from "./flags.ts";
import { columnize } from "./format/columnize.ts";
import { connectAgent, clientFlags } from "./http_flags.ts";
import { byCodeUnits } from "./catalog/nodes.ts";

const help = `
Usage: consulate members [options]

  Outputs the members of a running Consul agent.
`;

/** `segment` value meaning "every segment" (Go's `api.AllSegments`). */
const ALL_SEGMENTS = "_all";

const flags = {
  ...clientFlags,
  detailed: boolFlag(false, "Provides detailed information about nodes."),
  filter: stringFlag("", "Filter to use with the request"),
  segment: stringFlag(ALL_SEGMENTS, "(Enterprise-only) If provided, output is filtered to only nodes in the given segment."),
  status: stringFlag(".*", "If provided, output is filtered to only nodes matching the regular expression for status."),
  wan: boolFlag(false, "If the agent is in server mode, this can be used to return the other peers in the WAN pool."),
};

export const membersCommand = defineCommand({
  synopsis: "Lists the members of a Consul cluster",
  help,
  flags,
  async run({ values }, ui) {
    let statusRe: RegExp;
    try {
      statusRe = new RegExp(values.status);
    } catch (err) {
      ui.error(`Failed to compile status regexp: ${errorText(err)}`);
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    let members: AgentMember[];
    try {
      members = await client.agent().membersOpts({ segment: values.segment, wan: values.wan, filter: values.filter });
    } catch (err) {
      ui.error(`Error retrieving members: ${errorText(err)}`);
      return 1;
    }
    const shown = normalizeMembers(members, values.segment).filter((m) => statusRe.test(memberStatusString(m.Status)));
    // Consul signals "nothing matched" with exit code 2 and no output.
    if (shown.length === 0) return 2;
    shown.sort(compareMembers);
    ui.output(values.detailed ? detailedOutput(shown) : standardOutput(shown));
    return 0;
  },
});

/** Fills in the partition and segment columns the way Consul's CLI does. */
export function normalizeMembers(members: readonly AgentMember[], segmentFlag: string): AgentMember[] {
  return members.map((m) => {
    const tags = { ...(m.Tags ?? {}) };
    if (!tags[MemberTag.Partition]) tags[MemberTag.Partition] = "default";
    if (isDefaultPartition(tags[MemberTag.Partition])) {
      if (segmentFlag === ALL_SEGMENTS && tags[MemberTag.Role] === MemberTag.RoleServer) tags[MemberTag.Segment] = "<all>";
      else if (!tags[MemberTag.Segment]) tags[MemberTag.Segment] = "<default>";
    } else {
      tags[MemberTag.Segment] = "";
    }
    return { ...m, Tags: tags };
  });
}

/** Servers first, then the default partition, then by segment, partition and name. */
export function compareMembers(a: AgentMember, b: AgentMember): number {
  const ta = a.Tags;
  const tb = b.Tags;
  const aServer = ta[MemberTag.Role] === MemberTag.RoleServer;
  const bServer = tb[MemberTag.Role] === MemberTag.RoleServer;
  if (aServer !== bServer) return aServer ? -1 : 1;
  const aDefault = isDefaultPartition(ta[MemberTag.Partition]);
  const bDefault = isDefaultPartition(tb[MemberTag.Partition]);
  if (aDefault !== bDefault) return aDefault ? -1 : 1;
  return (
    byCodeUnits(ta[MemberTag.Segment] ?? "", tb[MemberTag.Segment] ?? "") ||
    byCodeUnits(ta[MemberTag.Partition] ?? "", tb[MemberTag.Partition] ?? "") ||
    byCodeUnits(a.Name, b.Name)
  );
}

function isDefaultPartition(p: string | undefined): boolean {
  return p === undefined || p === "" || p === "default";
}

/** Serf's `MemberStatus.String()`. */
export function memberStatusString(status: number): string {
  return ["none", "alive", "leaving", "left", "failed"][status] ?? "unknown";
}

/** Go's `net.TCPAddr.String()`: IPv6 hosts in brackets. */
export function memberAddress(m: AgentMember): string {
  return m.Addr.includes(":") ? `[${m.Addr}]:${m.Port}` : `${m.Addr}:${m.Port}`;
}

export function standardOutput(members: readonly AgentMember[]): string {
  const rows = ["Node\x1fAddress\x1fStatus\x1fType\x1fBuild\x1fProtocol\x1fDC\x1fPartition\x1fSegment"];
  for (const m of members) {
    const t = m.Tags;
    let build = t[MemberTag.Build] ?? "";
    if (build === "") build = "< 0.3";
    else if (build.includes(":")) build = build.slice(0, build.indexOf(":"));
    const status = memberStatusString(m.Status);
    const role = t[MemberTag.Role];
    if (role === MemberTag.RoleClient || role === MemberTag.RoleServer) {
      rows.push(
        [
          m.Name,
          memberAddress(m),
          status,
          role === MemberTag.RoleServer ? "server" : "client",
          build,
          t[MemberTag.Version] ?? "",
          t[MemberTag.Datacenter] ?? "",
          t[MemberTag.Partition] ?? "",
          t[MemberTag.Segment] ?? "",
        ].join("\x1f"),
      );
    } else {
      rows.push([m.Name, memberAddress(m), status, "unknown", "", "", "", "", ""].join("\x1f"));
    }
  }
  return columnize(rows);
}

export function detailedOutput(members: readonly AgentMember[]): string {
  const rows = ["Node\x1fAddress\x1fStatus\x1fTags"];
  for (const m of members) {
    const tags = Object.keys(m.Tags)
      .sort(byCodeUnits)
      .map((k) => `${k}=${m.Tags[k]}`)
      .join(",");
    rows.push([m.Name, memberAddress(m), memberStatusString(m.Status), tags].join("\x1f"));
  }
  return columnize(rows);
}
