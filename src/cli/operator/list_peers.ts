/** `consulate operator raft list-peers`: the servers of the datacenter and who leads. */
import type { RaftConfiguration } from "../../api/mod.ts";
import { defineCommand, errorText } from "../command.ts";
import { columnize } from "../format/columnize.ts";
import { clientFlags, connectAgent, serverFlags } from "../http_flags.ts";

const help = `
Usage: consulate operator raft list-peers [options]

  Displays the current Raft peer configuration.
`;

/**
 * Consul's table. With the servers' last log indexes (newer servers report
 * them) it adds "Commit Index" and how far each follower trails the leader.
 */
export function formatPeers(config: RaftConfiguration): string {
  const withIndex = config.Servers.some((s) => s.LastIndex !== undefined);
  const leaderIndex = config.Servers.find((s) => s.Leader)?.LastIndex ?? 0;
  const header = ["Node", "ID", "Address", "State", "Voter", "RaftProtocol", ...(withIndex ? ["Commit Index", "Trails Leader By"] : [])];
  const rows = config.Servers.map((s) => {
    const cells = [s.Node, s.ID, s.Address, s.Leader ? "leader" : "follower", String(s.Voter), s.ProtocolVersion || "<=1"];
    if (withIndex) {
      if (s.LastIndex === undefined) cells.push("_");
      else {
        const behind = Math.max(0, leaderIndex - s.LastIndex);
        cells.push(String(s.LastIndex), s.Leader ? "_" : `${behind} ${behind <= 1 ? "Commit" : "Commits"}`);
      }
    }
    return cells.join("\x1f");
  });
  return columnize([header.join("\x1f"), ...rows]);
}

export const operatorRaftListPeersCommand = defineCommand({
  synopsis: "Display the current Raft peer configuration",
  help,
  flags: { ...clientFlags, ...serverFlags },
  async run({ values }, ui) {
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    let config: RaftConfiguration;
    try {
      config = await client.operator().raftGetConfiguration({ stale: values.stale });
    } catch (err) {
      ui.error(`Error getting peers: Failed to retrieve raft configuration: ${errorText(err)}`);
      return 1;
    }
    ui.output(formatPeers(config));
    return 0;
  },
});
