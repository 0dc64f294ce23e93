/** `consulate rtt`: the estimated round trip between two nodes from their network coordinates. */
import type { Coord } from "../api/mod.ts";
import { defineCommand, errorText } from "./command.ts";
import { boolFlag, usage } from "./flags.ts";
import { connectAgent, clientFlags } from "./http_flags.ts";
import { computeDistance, type CoordinateSet, intersect } from "../structs/coordinate.ts";

const help = `
Usage: consulate rtt [options] node1 [node2]

  Estimates the round trip time between two nodes using Consul's network
  coordinate model of the cluster.

  At least one node name is required. If the second node name isn't given, it
  is set to the agent's node name. Note that these are node names as known to
  Consul as "consul members" would show, not IP addresses.

  By default, the two nodes are assumed to be nodes in the local datacenter
  and the LAN coordinates are used. If the -wan option is given, then the WAN
  coordinates are used, and the node names must be suffixed by a period and
  the datacenter (eg. "myserver.dc1").

  It is not possible to measure between LAN coordinates and WAN coordinates
  because they are maintained by independent Serf gossip areas, so they are
  not compatible.
`;

const flags = {
  ...clientFlags,
  wan: boolFlag(false, "Use WAN coordinates instead of LAN coordinates."),
};

const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export const rttCommand = defineCommand({
  synopsis: "Estimates network round trip time between nodes",
  help,
  flags,
  async run({ values, args }, ui) {
    const nodes = [...args];
    if (nodes.length < 1 || nodes.length > 2) {
      ui.error("One or two node names must be specified");
      ui.error("");
      ui.error(usage(help, flags));
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;

    let source: string;
    let coord1: Coord | null = null;
    let coord2: Coord | null = null;
    if (values.wan) {
      source = "WAN";
      if (nodes.length < 2) {
        try {
          const self = await client.agent().self();
          nodes.push(`${String(self.Config?.NodeName)}.${String(self.Config?.Datacenter)}`);
        } catch (err) {
          ui.error(`Unable to look up agent info: ${errorText(err)}`);
          return 1;
        }
      }
      const parts1 = nodes[0]!.split(".");
      const parts2 = nodes[1]!.split(".");
      if (parts1.length !== 2 || parts2.length !== 2) {
        ui.error("Node names must be specified as <node name>.<datacenter> with -wan");
        return 1;
      }
      const [node1, dc1] = parts1 as [string, string];
      const [node2, dc2] = parts2 as [string, string];
      let dcs;
      try {
        dcs = await client.coordinate().datacenters();
      } catch (err) {
        ui.error(`Error getting coordinates: ${errorText(err)}`);
        return 1;
      }
      // Only coordinates of one area compare; nothing is shown across areas.
      let area1: string | null = null;
      let area2: string | null = null;
      let found = false;
      search: for (const dc of dcs) {
        for (const entry of dc.Coordinates ?? []) {
          if (dc.Datacenter === dc1 && sameName(entry.Node, node1)) {
            area1 = dc.AreaID;
            coord1 = entry.Coord;
          }
          if (dc.Datacenter === dc2 && sameName(entry.Node, node2)) {
            area2 = dc.AreaID;
            coord2 = entry.Coord;
          }
          if (area1 === area2 && coord1 !== null && coord2 !== null) {
            found = true;
            break search;
          }
        }
      }
      if (!found) {
        coord1 = null;
        coord2 = null;
      }
    } else {
      source = "LAN";
      if (nodes.length < 2) {
        try {
          nodes.push(await client.agent().nodeName());
        } catch (err) {
          ui.error(`Unable to look up agent info: ${errorText(err)}`);
          return 1;
        }
      }
      let entries;
      try {
        [entries] = await client.coordinate().nodes();
      } catch (err) {
        ui.error(`Error getting coordinates: ${errorText(err)}`);
        return 1;
      }
      const cs1 = new Map<string, Coord>();
      const cs2 = new Map<string, Coord>();
      for (const entry of entries) {
        if (sameName(entry.Node, nodes[0]!)) cs1.set(entry.Segment ?? "", entry.Coord);
        if (sameName(entry.Node, nodes[1]!)) cs2.set(entry.Segment ?? "", entry.Coord);
      }
      [coord1, coord2] = intersect(cs1 as CoordinateSet, cs2 as CoordinateSet);
    }

    if (coord1 === null) {
      ui.error(`Could not find a coordinate for node "${nodes[0]}"`);
      return 1;
    }
    if (coord2 === null) {
      ui.error(`Could not find a coordinate for node "${nodes[1]}"`);
      return 1;
    }
    const ms = computeDistance(coord1, coord2) * 1000;
    ui.output(`Estimated ${nodes[0]} <-> ${nodes[1]} rtt: ${ms.toFixed(3)} ms (using ${source} coordinates)`);
    return 0;
  },
});
